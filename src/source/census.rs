//! `lakehunt schema`: a census of a dataset before hunting it.
//!
//! Per distinct schema: how many files and rows, an example file, the layout,
//! every leaf field with its type, and the fields other schemas have and this one
//! lacks. Per shipped hunt: whether it can run on the dataset, and if not, which
//! fields are missing or mistyped and why data may lack them.

use std::path::PathBuf;

use serde::Serialize;

use crate::error::Result;
use crate::hunt::{self, Hunt};
use crate::source::remote::StoreOptions;
use crate::source::{self, SchemaGroup, SchemaMode};

/// The census of one dataset.
#[derive(Clone, Debug, Serialize)]
pub struct Census {
    /// Files read.
    pub files: usize,
    /// Rows, from the footers.
    pub rows: u64,
    /// One entry per distinct schema, in order of first appearance.
    pub schemas: Vec<SchemaReport>,
    /// Why the schemas cannot be read as one dataset, if they cannot.
    pub conflict: Option<String>,
    /// One entry per shipped hunt.
    pub hunts: Vec<HuntReport>,
}

/// One distinct schema.
#[derive(Clone, Debug, Serialize)]
pub struct SchemaReport {
    /// Files with this schema.
    pub files: usize,
    /// Rows in them.
    pub rows: u64,
    /// The first of them.
    pub example: PathBuf,
    /// `nested`, `flat` or `mixed`.
    pub layout: String,
    /// Every leaf field, with its type as stored.
    pub fields: Vec<FieldReport>,
    /// Fields other schemas of the dataset have and this one lacks (NULL here).
    pub absent: Vec<String>,
}

/// A field and its type.
#[derive(Clone, Debug, Serialize)]
pub struct FieldReport {
    /// Dotted name.
    pub name: String,
    /// Arrow type.
    #[serde(rename = "type")]
    pub data_type: String,
}

/// Whether a hunt can run on the dataset.
#[derive(Clone, Debug, Serialize)]
pub struct HuntReport {
    /// Hunt id.
    pub id: String,
    /// True when every field it needs is present with a usable type.
    pub can_run: bool,
    /// Missing or mistyped fields, as sentences.
    pub problems: Vec<String>,
    /// Needed fields some schemas lack: the hunt runs, but sees NULL there.
    pub partial: Vec<String>,
}

impl Census {
    /// Reads every footer under `paths` and takes the census.
    pub fn take(paths: &[String], mode: SchemaMode, stores: &StoreOptions) -> Result<Census> {
        let (files, groups) = source::scan(paths, mode, stores)?;
        Ok(Census::of(files.len(), &groups, &hunt::catalog()?))
    }

    /// The census of already scanned groups, against `hunts`.
    #[must_use]
    pub fn of(files: usize, groups: &[SchemaGroup], hunts: &[Hunt]) -> Census {
        let merged = source::canonical_schema(groups);
        // Every leaf, in order of first appearance (the order of `events`).
        let mut all_fields: Vec<String> = vec![];
        for leaf in groups.iter().flat_map(|g| &g.leaves) {
            if !all_fields.contains(&leaf.name) {
                all_fields.push(leaf.name.clone());
            }
        }
        let has = |g: &SchemaGroup, name: &str| g.leaves.iter().any(|l| l.name == name);
        let schemas = groups
            .iter()
            .map(|g| SchemaReport {
                files: g.files.len(),
                rows: g.rows,
                example: g.files[0].clone(),
                layout: g.layout.to_string(),
                fields: g
                    .leaves
                    .iter()
                    .map(|l| FieldReport {
                        name: l.name.clone(),
                        data_type: l.data_type.to_string(),
                    })
                    .collect(),
                absent: all_fields
                    .iter()
                    .filter(|name| !has(g, name))
                    .cloned()
                    .collect(),
            })
            .collect();
        let hunts = hunts
            .iter()
            .map(|h| match &merged {
                Err(conflict) => HuntReport {
                    id: h.id().to_owned(),
                    can_run: false,
                    problems: vec![conflict.to_string()],
                    partial: vec![],
                },
                Ok(schema) => {
                    let problems: Vec<String> = h
                        .field_problems(schema)
                        .iter()
                        .map(ToString::to_string)
                        .collect();
                    // Per schema, the needed fields it lacks that others have.
                    let partial = groups
                        .iter()
                        .enumerate()
                        .filter_map(|(i, g)| {
                            let lacking: Vec<&str> = h
                                .lakehunt
                                .fields
                                .keys()
                                .filter(|name| {
                                    !has(g, name) && schema.field_with_name(name).is_ok()
                                })
                                .map(String::as_str)
                                .collect();
                            (!lacking.is_empty()).then(|| {
                                format!(
                                    "schema {} ({} {}, {} rows) lacks {}: NULL there",
                                    i + 1,
                                    g.files.len(),
                                    if g.files.len() == 1 { "file" } else { "files" },
                                    g.rows,
                                    lacking.join(", ")
                                )
                            })
                        })
                        .collect();
                    HuntReport {
                        id: h.id().to_owned(),
                        can_run: problems.is_empty(),
                        problems,
                        partial,
                    }
                }
            })
            .collect();
        Census {
            files,
            rows: groups.iter().map(|g| g.rows).sum(),
            schemas,
            conflict: merged.err().map(|e| e.to_string()),
            hunts,
        }
    }

    /// The census as text for a terminal.
    #[must_use]
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        let _ = writeln!(
            out,
            "{}, {} rows, {}",
            plural(self.files, "file"),
            self.rows,
            plural(self.schemas.len(), "schema")
        );
        if let Some(conflict) = &self.conflict {
            let _ = writeln!(out, "cannot be read as one dataset: {conflict}");
        }
        for (i, s) in self.schemas.iter().enumerate() {
            let _ = writeln!(
                out,
                "\nschema {}: {}, {} rows, {}, e.g. {}",
                i + 1,
                plural(s.files, "file"),
                s.rows,
                if s.layout == "ocsf" {
                    "OCSF read as ECS".to_owned()
                } else {
                    format!("{} ECS", s.layout)
                },
                s.example.display()
            );
            let width = s.fields.iter().map(|f| f.name.len()).max().unwrap_or(0);
            for f in &s.fields {
                let _ = writeln!(out, "  {:width$}  {}", f.name, f.data_type);
            }
            if !s.absent.is_empty() {
                let _ = writeln!(out, "  absent here (NULL): {}", s.absent.join(", "));
            }
        }
        let _ = writeln!(out, "\nhunts:");
        let width = self.hunts.iter().map(|h| h.id.len()).max().unwrap_or(0);
        for h in &self.hunts {
            let verdict = if h.can_run {
                "can run".to_owned()
            } else {
                format!("cannot run: {}", h.problems.join("; "))
            };
            let _ = writeln!(out, "  {:width$}  {verdict}", h.id);
            for note in &h.partial {
                let _ = writeln!(out, "  {:width$}  note: {note}", "");
            }
        }
        out
    }
}
