//! Hunt definitions: TOML files shaped like Elastic's hunting library, extended
//! with lakehunt's SQL, parameters and field requirements.
//!
//! A file has Elastic's `[hunt]` table (`name`, `uuid`, `description`,
//! `integration`, `language`, `license`, `notes`, `mitre`, `query`) so lakehunt can
//! later read Elastic's own files unchanged, and a `[lakehunt]` table:
//!
//! ```toml
//! [lakehunt]
//! id = "egress-bytes"            # file name, kebab-case, never reused
//! time_field = "@timestamp"      # bound as $window_start (exclusive) and $as_of (inclusive)
//! window = "8h"                  # default look-back
//! sql = "SELECT ... FROM events WHERE ... >= $threshold"
//!
//! [lakehunt.parameters.threshold]  # bound as $threshold
//! type = "bytes"                   # bytes | duration | string | integer
//! default = "1GiB"
//! help = "..."
//!
//! [lakehunt.fields."source.bytes"] # checked before any data is read
//! type = "integer"                 # timestamp | integer | string | keyword | ip
//! missing = "why data may lack it"
//!
//! [lakehunt.diagnostics]           # one-row query of counts, each a stderr warning
//! sql = "SELECT count(*) FILTER (WHERE ...) AS dropped FROM events WHERE ..."
//! messages = { dropped = "{n} events were dropped because ..." }
//! ```
//!
//! Shipped hunts are embedded in the binary by `build.rs`; adding one is adding a
//! TOML file under `data/hunts/`.

pub mod library;

use std::collections::BTreeMap;

use arrow::datatypes::{DataType, Schema};
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::params::{format_duration, parse_bytes, parse_duration};

/// Elastic's `[hunt]` table, kept verbatim.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HuntMeta {
    /// Title.
    pub name: String,
    /// Stable identifier.
    pub uuid: String,
    /// What the hunt looks for and why.
    pub description: String,
    /// Data sources (Elastic integrations) the hunt was written for.
    #[serde(default)]
    pub integration: Vec<String>,
    /// Languages of `query`.
    #[serde(default)]
    pub language: Vec<String>,
    /// License of this file.
    #[serde(default)]
    pub license: String,
    /// Caveats for the analyst.
    #[serde(default)]
    pub notes: Vec<String>,
    /// MITRE ATT&CK technique ids.
    #[serde(default)]
    pub mitre: Vec<String>,
    /// The hunt in Elastic's query languages (ES|QL), for reference and the ES|QL front end.
    #[serde(default)]
    pub query: Vec<String>,
    /// Author.
    #[serde(default)]
    pub author: Option<String>,
}

/// The kinds of value a parameter takes.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ParamKind {
    /// Bytes with optional units (`1GiB`), bound as a 64-bit integer.
    Bytes,
    /// A duration (`8h`), bound as an interval in nanoseconds.
    Duration,
    /// Free text, bound as a string.
    String,
    /// A 64-bit integer.
    Integer,
}

/// One declared parameter of a hunt.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    /// Kind of value.
    #[serde(rename = "type")]
    pub kind: ParamKind,
    /// Default, as text.
    pub default: String,
    /// One line for `--help` and `hunts show`.
    pub help: String,
    /// A value that means "no filter": bound as NULL (e.g. `--os any`).
    #[serde(default)]
    pub any: Option<String>,
    /// The only values allowed, when the parameter picks between modes.
    #[serde(default)]
    pub choices: Vec<String>,
}

/// Kinds of field a hunt can require.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FieldKind {
    /// A timestamp of any unit, with or without a time zone.
    Timestamp,
    /// Any integer type.
    Integer,
    /// A string (any Arrow string layout, dictionary-encoded or not).
    String,
    /// A string or a list of strings (an ECS keyword, possibly multi-valued).
    Keyword,
    /// An IP as a string or as 4/16 bytes.
    Ip,
}

impl FieldKind {
    /// How the kind reads in an error message.
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            FieldKind::Timestamp => "a timestamp",
            FieldKind::Integer => "an integer",
            FieldKind::String => "a string",
            FieldKind::Keyword => "a string or a list of strings",
            FieldKind::Ip => "an IP (string or binary)",
        }
    }
}

/// Why a hunt cannot run on some data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldProblem {
    /// A required field is absent.
    Missing {
        /// The ECS field.
        field: String,
        /// Why data may lack it, from the hunt file.
        hint: Option<String>,
    },
    /// A required field has a type the hunt cannot use.
    WrongType {
        /// The ECS field.
        field: String,
        /// Its type in the data.
        actual: String,
        /// What the hunt needs.
        expected: &'static str,
    },
}

impl FieldProblem {
    /// The error a run of `hunt` reports.
    #[must_use]
    pub fn into_error(self, hunt: &Hunt) -> Error {
        match self {
            FieldProblem::Missing { field, hint } => Error::MissingField {
                hunt: hunt.id().to_owned(),
                field,
                hint: hint.map(|m| format!("; {m}")).unwrap_or_default(),
            },
            FieldProblem::WrongType {
                field,
                actual,
                expected,
            } => Error::FieldType {
                hunt: hunt.id().to_owned(),
                field,
                actual,
                expected: expected.to_owned(),
            },
        }
    }
}

impl std::fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FieldProblem::Missing { field, hint: None } => write!(f, "no {field}"),
            FieldProblem::Missing {
                field,
                hint: Some(hint),
            } => write!(f, "no {field} ({hint})"),
            FieldProblem::WrongType {
                field,
                actual,
                expected,
            } => write!(f, "{field} is {actual}, expected {expected}"),
        }
    }
}

/// A field the hunt needs.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldRequirement {
    /// What type it must have.
    #[serde(rename = "type")]
    pub kind: FieldKind,
    /// Why data may lack it; appended to the error.
    #[serde(default)]
    pub missing: Option<String>,
}

/// The diagnostics query and the message of each of its columns.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Diagnostics {
    /// A query over `events` returning one row of counts.
    pub sql: String,
    /// Column name -> message; `{n}` is replaced by the count.
    pub messages: BTreeMap<String, String>,
}

/// The `[lakehunt]` table.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LakehuntSection {
    /// Hunt id, equal to the file name.
    pub id: String,
    /// Where the hunt comes from, when adapted.
    #[serde(default)]
    pub adapted_from: Option<String>,
    /// The time field the window applies to.
    pub time_field: String,
    /// Default window.
    pub window: String,
    /// The hunt as SQL over the `events` view.
    pub sql: String,
    /// Declared parameters by name.
    #[serde(default)]
    pub parameters: BTreeMap<String, Parameter>,
    /// Required fields by ECS name.
    #[serde(default)]
    pub fields: BTreeMap<String, FieldRequirement>,
    /// Optional warnings query.
    #[serde(default)]
    pub diagnostics: Option<Diagnostics>,
}

/// A validated hunt.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hunt {
    /// Elastic's metadata.
    pub hunt: HuntMeta,
    /// lakehunt's extension.
    pub lakehunt: LakehuntSection,
}

/// Placeholders every hunt gets from its time window.
pub const TIME_PLACEHOLDERS: [&str; 2] = ["window_start", "as_of"];

impl Hunt {
    /// Parses and validates a hunt file; `origin` names it in errors.
    pub fn from_toml(origin: &str, text: &str) -> Result<Hunt> {
        let invalid = |message: String| Error::InvalidHunt {
            hunt: origin.to_owned(),
            message,
        };
        let hunt: Hunt = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let l = &hunt.lakehunt;
        if l.id.is_empty()
            || !l
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(invalid(format!("id '{}' must be kebab-case", l.id)));
        }
        parse_duration(&l.window).map_err(|e| invalid(format!("window: {e}")))?;
        for (name, p) in &l.parameters {
            if TIME_PLACEHOLDERS.contains(&name.as_str()) {
                return Err(invalid(format!("parameter '{name}' is reserved")));
            }
            parse_value(name, p, &p.default).map_err(|e| invalid(e.to_string()))?;
        }
        for sql in std::iter::once(&l.sql).chain(l.diagnostics.as_ref().map(|d| &d.sql)) {
            for used in placeholders(sql) {
                if !TIME_PLACEHOLDERS.contains(&used) && !l.parameters.contains_key(used) {
                    return Err(invalid(format!(
                        "SQL uses ${used}, which is not a parameter"
                    )));
                }
            }
        }
        if !l.fields.contains_key(&l.time_field) {
            return Err(invalid(format!(
                "time field '{}' is not under [lakehunt.fields]",
                l.time_field
            )));
        }
        Ok(hunt)
    }

    /// The hunt's id.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.lakehunt.id
    }

    /// Every reason the hunt cannot run on data with this (`events`) schema, in
    /// field order; empty when it can.
    #[must_use]
    pub fn field_problems(&self, schema: &Schema) -> Vec<FieldProblem> {
        let mut problems = vec![];
        for (name, req) in &self.lakehunt.fields {
            match schema.field_with_name(name) {
                Err(_) => problems.push(FieldProblem::Missing {
                    field: name.clone(),
                    hint: req.missing.clone(),
                }),
                Ok(field) if !kind_matches(req.kind, field.data_type()) => {
                    problems.push(FieldProblem::WrongType {
                        field: name.clone(),
                        actual: field.data_type().to_string(),
                        expected: req.kind.describe(),
                    });
                }
                Ok(_) => {}
            }
        }
        problems
    }

    /// Binds parameters: the defaults, overridden by `overrides` (name, text).
    pub fn bind(
        &self,
        as_of: i64,
        window: Option<&str>,
        overrides: &[(String, String)],
    ) -> Result<BoundHunt> {
        let window_text = window.unwrap_or(&self.lakehunt.window);
        let window = parse_duration(window_text).map_err(|message| Error::InvalidParameter {
            name: "--window".into(),
            message,
        })?;
        let window_start = as_of
            .checked_sub(window)
            .ok_or_else(|| Error::InvalidParameter {
                name: "--window".into(),
                message: format!("'{window_text}' reaches before the year 1677"),
            })?;
        let mut values = BTreeMap::new();
        for (name, p) in &self.lakehunt.parameters {
            values.insert(name.clone(), parse_value(name, p, &p.default)?);
        }
        for (name, text) in overrides {
            let Some(p) = self.lakehunt.parameters.get(name) else {
                let known: Vec<_> = self
                    .lakehunt
                    .parameters
                    .keys()
                    .map(String::as_str)
                    .collect();
                return Err(Error::UnknownParameter {
                    hunt: self.id().to_owned(),
                    name: name.clone(),
                    known: known.join(", "),
                });
            };
            values.insert(name.clone(), parse_value(name, p, text)?);
        }
        Ok(BoundHunt {
            hunt: self.clone(),
            as_of,
            window,
            window_start,
            values,
        })
    }
}

/// A parameter's bound value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// Bytes or integer.
    Int(i64),
    /// A duration in nanoseconds.
    Duration(i64),
    /// Text, or NULL for the parameter's `any` value.
    Str(Option<String>),
}

impl Value {
    /// Human-readable form for metadata and messages.
    #[must_use]
    pub fn display(&self) -> String {
        match self {
            Value::Int(v) => v.to_string(),
            Value::Duration(d) => format_duration(*d),
            Value::Str(Some(s)) => s.clone(),
            Value::Str(None) => "any".into(),
        }
    }
}

fn parse_value(name: &str, p: &Parameter, text: &str) -> Result<Value> {
    let wrap = |message: String| Error::InvalidParameter {
        name: name.to_owned(),
        message,
    };
    Ok(match p.kind {
        ParamKind::Bytes => Value::Int(parse_bytes(text).map_err(wrap)?),
        ParamKind::Duration => Value::Duration(parse_duration(text).map_err(wrap)?),
        ParamKind::Integer => Value::Int(
            text.trim()
                .parse()
                .map_err(|_| wrap(format!("'{text}' is not an integer")))?,
        ),
        ParamKind::String => {
            if !p.choices.is_empty() && !p.choices.iter().any(|c| c == text) {
                return Err(wrap(format!(
                    "'{text}' is not one of: {}",
                    p.choices.join(", ")
                )));
            }
            if p.any.as_deref() == Some(text) {
                Value::Str(None)
            } else if text.is_empty() {
                return Err(wrap("empty value".into()));
            } else {
                Value::Str(Some(text.to_owned()))
            }
        }
    })
}

/// The `$name` placeholders a SQL text uses (outside nothing: a `$` inside a
/// string literal counts too, which only makes validation stricter).
fn placeholders(sql: &str) -> Vec<&str> {
    let mut out = vec![];
    let mut rest = sql;
    while let Some(pos) = rest.find('$') {
        let after = &rest[pos + 1..];
        let len = after
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count();
        if len > 0 && !after.as_bytes()[0].is_ascii_digit() {
            out.push(&after[..len]);
        }
        rest = &after[len..];
    }
    out
}

/// A hunt with every parameter bound, ready to run.
#[derive(Clone, Debug)]
pub struct BoundHunt {
    /// The hunt.
    pub hunt: Hunt,
    /// The instant the hunt runs "as of", in ns since the epoch (inclusive upper edge).
    pub as_of: i64,
    /// Window length in ns.
    pub window: i64,
    /// `as_of - window`, the exclusive lower edge.
    pub window_start: i64,
    /// Parameter values by name.
    pub values: BTreeMap<String, Value>,
}

impl BoundHunt {
    /// Key/value pairs describing the run, for output metadata and logs.
    #[must_use]
    pub fn describe(&self) -> Vec<(String, String)> {
        let mut out = vec![
            ("lakehunt.hunt".to_owned(), self.hunt.id().to_owned()),
            (
                "lakehunt.as_of".to_owned(),
                crate::params::format_instant(self.as_of),
            ),
            ("lakehunt.window".to_owned(), format_duration(self.window)),
        ];
        for (name, value) in &self.values {
            out.push((format!("lakehunt.param.{name}"), value.display()));
        }
        out.push((
            "lakehunt.version".to_owned(),
            env!("CARGO_PKG_VERSION").to_owned(),
        ));
        out
    }
}

/// The hunts shipped in the binary, generated by `build.rs` from `data/hunts/*.toml`.
mod shipped {
    include!(concat!(env!("OUT_DIR"), "/shipped_hunts.rs"));
}

/// Every shipped hunt, sorted by id. Fails only if a shipped file is invalid,
/// which the catalogue tests rule out.
pub fn catalog() -> Result<Vec<Hunt>> {
    let mut hunts = vec![];
    for (file, text) in shipped::HUNTS {
        let hunt = Hunt::from_toml(file, text)?;
        let stem = file.trim_end_matches(".toml");
        if hunt.id() != stem {
            return Err(Error::InvalidHunt {
                hunt: (*file).to_owned(),
                message: format!("id '{}' differs from the file name", hunt.id()),
            });
        }
        hunts.push(hunt);
    }
    hunts.sort_by(|a, b| a.id().cmp(b.id()));
    Ok(hunts)
}

/// The shipped hunt with this id.
pub fn find(id: &str) -> Result<Hunt> {
    catalog()?
        .into_iter()
        .find(|h| h.id() == id)
        .ok_or_else(|| Error::UnknownHunt(id.to_owned()))
}

fn is_string(t: &DataType) -> bool {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, v) => is_string(v),
        _ => false,
    }
}

/// True when a column of type `t` can serve as a field of this kind.
pub(crate) fn kind_matches(kind: FieldKind, t: &DataType) -> bool {
    match kind {
        FieldKind::Timestamp => matches!(t, DataType::Timestamp(..)),
        FieldKind::Integer => t.is_integer(),
        FieldKind::String => is_string(t),
        FieldKind::Keyword => match t {
            DataType::List(f) | DataType::LargeList(f) => is_string(f.data_type()),
            other => is_string(other),
        },
        FieldKind::Ip => match t {
            DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
            | DataType::FixedSizeBinary(4 | 16) => true,
            DataType::Dictionary(_, v) => is_string(v),
            other => is_string(other),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_kinds_accept_the_layouts_lakes_use() {
        let list = DataType::List(std::sync::Arc::new(arrow::datatypes::Field::new(
            "item",
            DataType::Utf8,
            true,
        )));
        assert!(kind_matches(FieldKind::Keyword, &list));
        assert!(kind_matches(FieldKind::Keyword, &DataType::Utf8View));
        assert!(!kind_matches(FieldKind::String, &list));
        assert!(kind_matches(FieldKind::Ip, &DataType::FixedSizeBinary(16)));
        assert!(!kind_matches(FieldKind::Integer, &DataType::Utf8));
        assert!(kind_matches(FieldKind::Integer, &DataType::Int32));
    }

    #[test]
    fn placeholders_are_found_by_name() {
        assert_eq!(
            placeholders("a > $window_start AND b <= $as_of AND c >= $threshold AND d = $1"),
            vec!["window_start", "as_of", "threshold"]
        );
    }

    #[test]
    fn shipped_catalog_parses_and_ids_are_unique() {
        let hunts = catalog().unwrap();
        assert!(!hunts.is_empty());
        let mut ids: Vec<_> = hunts.iter().map(Hunt::id).collect();
        ids.dedup();
        assert_eq!(ids.len(), hunts.len());
    }

    #[test]
    fn binding_overrides_defaults_and_rejects_unknown_parameters() {
        let hunt = find("egress-bytes").unwrap();
        let bound = hunt
            .bind(
                10 * 3_600_000_000_000,
                Some("2h"),
                &[("threshold".into(), "1.5GiB".into())],
            )
            .unwrap();
        assert_eq!(bound.window_start, 8 * 3_600_000_000_000);
        assert_eq!(bound.values["threshold"], Value::Int(1_610_612_736));
        assert_eq!(bound.values["os"], Value::Str(Some("windows".into())));
        let any = hunt.bind(0, None, &[("os".into(), "any".into())]).unwrap();
        assert_eq!(any.values["os"], Value::Str(None));
        let err = hunt
            .bind(0, None, &[("nope".into(), "1".into())])
            .unwrap_err();
        assert!(err.to_string().contains("has no such parameter"), "{err}");
    }

    #[test]
    fn sql_using_an_undeclared_parameter_is_rejected() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/data/hunts/egress-bytes.toml"
        ))
        .unwrap()
        .replace("$threshold", "$thresold");
        let err = Hunt::from_toml("test", &text).unwrap_err();
        assert!(err.to_string().contains("$thresold"), "{err}");
    }
}
