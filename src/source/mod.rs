//! Which files a run reads: found ([`mod@discover`]), their footers read once
//! ([`footer`]), grouped by schema, each group's leaves resolved to ECS names
//! ([`crate::resolve`]); and the dataset's census ([`census`]).
//!
//! Lakes hold ECS in two layouts: nested structs (`destination.ip` is field `ip`
//! of struct column `destination`) and flat columns literally named
//! `destination.ip`. And archives drift: over the years a column appears, bytes
//! go from Int32 to Int64, timestamps change unit, IPs are stored as bytes,
//! `event.category` is a string in some files and a list in others.
//!
//! So files are grouped by schema. Each group is its own table
//! (`events_raw` when there is one group, `events_raw_1`, `events_raw_2`, ...
//! otherwise) and is projected onto one canonical set of leaf columns, named
//! with dots, each with one type that every group's type widens to (see
//! [`unify`]). The view `events` is the union of those projections, so a hunt is
//! written once. Types that cannot be reconciled are an error naming a file of
//! each side and the field.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::prelude::ident;

pub mod census;
pub mod discover;
pub mod footer;
pub mod remote;

use crate::error::{Error, Result};
use crate::resolve::{FieldMap, Leaf, leaves, unify};
pub use discover::{DAY_FOLDERS, day_folder_keys};
use discover::{DayWindow, in_range_files};
pub use discover::{discover, files_under, hive_partitions};
pub use footer::{
    FileStats, Footer, TimeRange, TimeRanges, file_identity, read_footers, with_string_views,
};
use remote::{Listed, StoreOptions};

/// How a dataset stores ECS fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Struct columns (`destination` with field `ip`).
    Nested,
    /// Dotted column names (`destination.ip`).
    Flat,
    /// Both, in different files or in one file (or ECS and OCSF files together).
    Mixed,
    /// OCSF, read as ECS through the shipped field map.
    Ocsf,
}

/// How `--schema` says to read the files.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SchemaMode {
    /// OCSF where a schema has the map's `detect` columns, ECS otherwise.
    #[default]
    Auto,
    /// Every file as ECS.
    Ecs,
    /// Every file as OCSF, through the map.
    Ocsf,
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layout::Nested => "nested",
            Layout::Flat => "flat",
            Layout::Mixed => "mixed",
            Layout::Ocsf => "ocsf",
        })
    }
}

/// Files that share one schema.
#[derive(Clone, Debug)]
pub struct SchemaGroup {
    /// The shared schema as lakehunt reads it: the files' own, with every string
    /// (at any depth) as `Utf8View`, which `lakehunt schema` therefore shows.
    pub schema: SchemaRef,
    /// The files, in discovery order.
    pub files: Vec<PathBuf>,
    /// Each file's statistics, in the order of `files`.
    pub statistics: Vec<FileStats>,
    /// Rows in all of them, from the footers.
    pub rows: u64,
    /// How the files lay out ECS fields.
    pub layout: Layout,
    /// Leaf columns, in schema order, then the partition columns.
    pub leaves: Vec<Leaf>,
    /// Hive-style partition keys (`eventDay` from `eventDay=20260115/`) of any of
    /// the files, in order of first appearance; Utf8 columns of the table.
    pub partition_keys: Vec<String>,
    /// The object store the files are in (`s3://bucket`); `None` for local
    /// files. A group's files are all in one place.
    pub store: Option<String>,
}

/// The event files of one run, grouped by schema.
#[derive(Clone, Debug)]
pub struct Source {
    /// Every Parquet file, sorted, without duplicates.
    pub files: Vec<PathBuf>,
    /// Files grouped by schema, in order of first appearance.
    pub groups: Vec<SchemaGroup>,
    /// The `events` view's columns: every leaf of every group, with its
    /// canonical type.
    pub schema: SchemaRef,
    /// Layout over all files.
    pub layout: Layout,
    /// Total rows according to the footers.
    pub rows: u64,
    /// The OCSF version of the field map, when some files are read as OCSF.
    pub ocsf_version: Option<String>,
    /// Files found but not opened: their date folders lie outside the queried range.
    pub skipped_by_date: usize,
    /// Date folders in object stores not even listed: wholly outside the
    /// queried range.
    pub folders_unlisted: usize,
    /// With `--index PATTERN=PATH`: the index pattern each file answers, shown
    /// as the column `_index` (see [`Source::open_indexed`]).
    pub index_of: Option<std::collections::HashMap<PathBuf, String>>,
    /// With `--index`: each pattern, sorted, with the columns of its files'
    /// schemas (what ES|QL's FROM of that pattern can name); found once, when
    /// the source opens, for every query translated over it.
    pub datasets: Option<std::sync::Arc<[crate::esql::Dataset]>>,
}

/// The column naming the index pattern a row's file was given for.
pub const INDEX_COLUMN: &str = "_index";

fn layout_of(schema: &Schema) -> Layout {
    let nested = schema
        .fields()
        .iter()
        .any(|f| matches!(f.data_type(), DataType::Struct(_)));
    let dotted = schema.fields().iter().any(|f| f.name().contains('.'));
    match (nested, dotted) {
        (true, true) => Layout::Mixed,
        (true, false) => Layout::Nested,
        (false, _) => Layout::Flat,
    }
}
/// Files found for a run: local paths and objects listed in stores, in one
/// list, with the listing entry of each object.
#[derive(Default)]
struct Found {
    files: Vec<PathBuf>,
    objects: std::collections::HashMap<PathBuf, Listed>,
    /// Date folders in stores not listed: wholly outside the run's range.
    folders_unlisted: usize,
}

impl Found {
    /// The files `paths` name: local paths, folders and globs (see
    /// [`discover`]), then object-store URLs (see [`remote`]), whose date
    /// folders wholly outside `range` are not listed.
    fn of(paths: &[String], stores: &StoreOptions, range: Option<DayWindow<'_>>) -> Result<Found> {
        let (urls, local): (Vec<&String>, Vec<&String>) =
            paths.iter().partition(|p| remote::is_url(p));
        let local: Vec<String> = local.into_iter().cloned().collect();
        let mut files = if local.is_empty() {
            vec![]
        } else {
            discover(&local)?
        };
        let urls: Vec<&str> = urls.into_iter().map(String::as_str).collect();
        let (listed, folders_unlisted) = if urls.is_empty() {
            (vec![], 0)
        } else {
            remote::list_all(&urls, stores, range)?
        };
        files.extend(listed.iter().map(|l| l.path.clone()));
        let objects = listed.into_iter().map(|l| (l.path.clone(), l)).collect();
        Ok(Found {
            files,
            objects,
            folders_unlisted,
        })
    }
}

/// Finds the files, reads every footer and groups the files by schema; a
/// schema is read through the OCSF field map when `mode` says so.
pub fn scan(
    paths: &[String],
    mode: SchemaMode,
    stores: &StoreOptions,
) -> Result<(Vec<PathBuf>, Vec<SchemaGroup>)> {
    scan_files(Found::of(paths, stores, None)?, mode, stores)
}

/// The footers of `found`'s files, in its order: local ones read from disk,
/// remote ones from their fetched tails.
fn footers_of(found: &Found, stores: &StoreOptions) -> Result<Vec<Footer>> {
    let (remote, local): (Vec<&PathBuf>, Vec<&PathBuf>) = found
        .files
        .iter()
        .partition(|f| found.objects.contains_key(*f));
    let local: Vec<PathBuf> = local.into_iter().cloned().collect();
    let mut local = read_footers(&local)?.into_iter();
    let listed: Vec<Listed> = remote
        .iter()
        .filter_map(|f| found.objects.get(*f).cloned())
        .collect();
    let tails = if listed.is_empty() {
        vec![]
    } else {
        remote::fetch_tails(&listed, stores)?
    };
    let mut remote = footer::remote_footers(&listed, &tails)?.into_iter();
    found
        .files
        .iter()
        .map(|f| {
            let next = if found.objects.contains_key(f) {
                remote.next()
            } else {
                local.next()
            };
            next.ok_or_else(|| Error::UnreadableFile {
                path: f.clone(),
                message: "no footer was read".into(),
            })
        })
        .collect()
}

fn scan_files(
    found: Found,
    mode: SchemaMode,
    stores: &StoreOptions,
) -> Result<(Vec<PathBuf>, Vec<SchemaGroup>)> {
    let ocsf = FieldMap::find("ocsf")?;
    let mut groups: Vec<SchemaGroup> = vec![];
    let footers = footers_of(&found, stores)?;
    let Found { files, objects, .. } = found;
    for (file, footer) in files.iter().zip(footers) {
        let Footer {
            schema,
            rows: n,
            statistics,
        } = footer;
        let store = objects.get(file).map(|l| l.store.clone());
        let keys = hive_partitions(file).into_iter().map(|(k, _)| k);
        // Same fields and place, same group; metadata (writer notes) does not matter.
        if let Some(group) = groups
            .iter_mut()
            .find(|g| g.schema.fields() == schema.fields() && g.store == store)
        {
            group.files.push(file.clone());
            group.statistics.push(statistics);
            group.rows += n;
            for key in keys {
                if !group.partition_keys.contains(&key) {
                    group.partition_keys.push(key);
                }
            }
            continue;
        }
        let raw = leaves(&schema, file)?;
        let as_ocsf = match mode {
            SchemaMode::Auto => ocsf.detects(&raw),
            SchemaMode::Ecs => false,
            SchemaMode::Ocsf => true,
        };
        let (layout, leaves) = if as_ocsf {
            (Layout::Ocsf, ocsf.apply(&raw)?)
        } else {
            (layout_of(&schema), raw)
        };
        let mut partition_keys: Vec<String> = vec![];
        for key in keys {
            if !partition_keys.contains(&key) {
                partition_keys.push(key);
            }
        }
        groups.push(SchemaGroup {
            layout,
            leaves,
            schema,
            files: vec![file.clone()],
            statistics: vec![statistics],
            rows: n,
            partition_keys,
            store,
        });
    }
    // Partition columns follow the files' own; a file column of the same name wins.
    for group in &mut groups {
        let schema = Arc::clone(&group.schema);
        group
            .partition_keys
            .retain(|k| schema.field_with_name(k).is_err());
        for key in &group.partition_keys {
            if !group.leaves.iter().any(|l| &l.name == key) {
                group.leaves.push(Leaf {
                    name: key.clone(),
                    data_type: DataType::Utf8,
                    expr: ident(key),
                });
            }
        }
    }
    Ok((files, groups))
}

impl Source {
    /// Finds the files, reads every footer, groups the files by schema and works
    /// out the canonical type of every leaf.
    pub fn open(paths: &[String]) -> Result<Source> {
        Source::open_as(paths, SchemaMode::Auto, &StoreOptions::default())
    }

    /// [`Source::open`], reading the files as `mode` says, object stores as
    /// `stores` says.
    pub fn open_as(paths: &[String], mode: SchemaMode, stores: &StoreOptions) -> Result<Source> {
        let (files, groups) = scan(paths, mode, stores)?;
        Source::from_groups(files, groups)
    }

    /// One source over several named datasets (`--index PATTERN=PATH`): each
    /// file's rows carry their pattern in the column `_index`. A file given for
    /// two patterns is an error naming both.
    pub fn open_indexed(
        indexes: &[(String, Vec<String>)],
        mode: SchemaMode,
        stores: &StoreOptions,
    ) -> Result<Source> {
        let mut index_of: std::collections::HashMap<PathBuf, String> =
            std::collections::HashMap::new();
        // The same file spelled two ways is one file.
        let mut seen: std::collections::HashMap<PathBuf, String> = std::collections::HashMap::new();
        let mut all = Found::default();
        for (pattern, paths) in indexes {
            let found = Found::of(paths, stores, None)?;
            all.objects.extend(found.objects);
            for file in found.files {
                let key = std::fs::canonicalize(&file).unwrap_or_else(|_| file.clone());
                match seen.get(&key) {
                    Some(other) if other == pattern => continue,
                    Some(other) => {
                        return Err(Error::InvalidParameter {
                            name: "--index".into(),
                            message: format!(
                                "{} is given for both {other} and {pattern}",
                                file.display()
                            ),
                        });
                    }
                    None => {}
                }
                seen.insert(key, pattern.clone());
                index_of.insert(file.clone(), pattern.clone());
                all.files.push(file);
            }
        }
        all.files.sort();
        let (files, mut groups) = scan_files(all, mode, stores)?;
        for group in &mut groups {
            if group.schema.field_with_name(INDEX_COLUMN).is_ok()
                || group.leaves.iter().any(|l| l.name == INDEX_COLUMN)
            {
                return Err(Error::InvalidParameter {
                    name: "--index".into(),
                    message: format!(
                        "{} already has a column {INDEX_COLUMN}",
                        group.files[0].display()
                    ),
                });
            }
            group.partition_keys.push(INDEX_COLUMN.to_owned());
            group.leaves.push(Leaf {
                name: INDEX_COLUMN.to_owned(),
                data_type: DataType::Utf8,
                expr: ident(INDEX_COLUMN),
            });
        }
        let mut source = Source::from_groups(files, groups)?;
        source.index_of = Some(index_of);
        source.datasets = source.datasets_of().map(Into::into);
        Ok(source)
    }

    /// [`Source::datasets`], from the files' patterns and their groups' leaves.
    fn datasets_of(&self) -> Option<Vec<crate::esql::Dataset>> {
        let index_of = self.index_of.as_ref()?;
        let mut datasets: std::collections::BTreeMap<&str, std::collections::HashSet<String>> =
            index_of
                .values()
                .map(|p| (p.as_str(), std::collections::HashSet::default()))
                .collect();
        for group in &self.groups {
            // Each pattern of the group's files once: a lake holds thousands
            // of files of a few schemas.
            let patterns: std::collections::HashSet<&str> = group
                .files
                .iter()
                .filter_map(|f| index_of.get(f).map(String::as_str))
                .collect();
            for pattern in patterns {
                if let Some(columns) = datasets.get_mut(pattern) {
                    columns.extend(
                        group
                            .leaves
                            .iter()
                            .filter(|l| l.name != INDEX_COLUMN)
                            .map(|l| l.name.clone()),
                    );
                }
            }
        }
        Some(
            datasets
                .into_iter()
                .map(|(pattern, columns)| crate::esql::Dataset {
                    pattern: pattern.to_owned(),
                    columns,
                })
                .collect(),
        )
    }

    /// [`Source::open_as`] for a run that only looks at `(lo, hi]` (ns): files in
    /// day folders (`key=YYYYMMDD` for a key of `day_keys`, any case) wholly
    /// outside it are skipped unopened.
    pub fn open_in_range(
        paths: &[String],
        mode: SchemaMode,
        stores: &StoreOptions,
        (lo, hi): (i64, i64),
        day_keys: &[String],
    ) -> Result<Source> {
        let window = DayWindow {
            lo,
            hi,
            keys: day_keys,
        };
        let mut found = Found::of(paths, stores, Some(window))?;
        let (files, skipped) = in_range_files(std::mem::take(&mut found.files), window);
        found.files = files;
        let folders_unlisted = found.folders_unlisted;
        let (files, groups) = scan_files(found, mode, stores)?;
        let mut source = Source::from_groups(files, groups)?;
        source.skipped_by_date = skipped;
        source.folders_unlisted = folders_unlisted;
        Ok(source)
    }

    /// Every file with its footer's statistics (and, for an object, its
    /// listing), group by group.
    pub fn files_with_stats(&self) -> impl Iterator<Item = (&Path, &FileStats)> {
        self.groups
            .iter()
            .flat_map(|g| g.files.iter().map(PathBuf::as_path).zip(&g.statistics))
    }

    /// The files' total size in bytes: objects' as listed, local files' as
    /// they are now (0 for one that went away).
    #[must_use]
    pub fn bytes(&self) -> u64 {
        self.files_with_stats()
            .map(|(file, stats)| match &stats.object {
                Some(object) => object.size,
                None => std::fs::metadata(file).map_or(0, |m| m.len()),
            })
            .sum()
    }

    /// The source over already scanned groups; fails when two groups give a
    /// field types that cannot be merged.
    pub fn from_groups(files: Vec<PathBuf>, groups: Vec<SchemaGroup>) -> Result<Source> {
        let schema = Arc::new(canonical_schema(&groups)?);
        let layout = match groups.split_first() {
            Some((first, rest)) if rest.iter().all(|g| g.layout == first.layout) => first.layout,
            Some(_) => Layout::Mixed,
            None => Layout::Flat,
        };
        let rows = groups.iter().map(|g| g.rows).sum();
        let ocsf_version = if groups.iter().any(|g| g.layout == Layout::Ocsf) {
            Some(FieldMap::find("ocsf")?.map.ocsf_version)
        } else {
            None
        };
        Ok(Source {
            files,
            groups,
            schema,
            layout,
            rows,
            ocsf_version,
            skipped_by_date: 0,
            folders_unlisted: 0,
            index_of: None,
            datasets: None,
        })
    }
}

/// Every leaf of every group, in order of first appearance, with the type all
/// its versions widen to; an error names a file of each side of a conflict.
pub fn canonical_schema(groups: &[SchemaGroup]) -> Result<Schema> {
    let mut fields: Vec<(Field, &Path)> = vec![];
    for group in groups {
        let file = group.files[0].as_path();
        for leaf in &group.leaves {
            match fields.iter_mut().find(|(f, _)| f.name() == &leaf.name) {
                None => fields.push((Field::new(&leaf.name, leaf.data_type.clone(), true), file)),
                Some((field, first)) => {
                    let Some(merged) = unify(&leaf.name, field.data_type(), &leaf.data_type) else {
                        return Err(Error::SchemaConflict {
                            field: leaf.name.clone(),
                            left_type: field.data_type().to_string(),
                            left: (*first).to_owned(),
                            right_type: leaf.data_type.to_string(),
                            right: file.to_owned(),
                        });
                    };
                    *field = field.clone().with_data_type(merged);
                }
            }
        }
    }
    Ok(Schema::new(
        fields.into_iter().map(|(f, _)| f).collect::<Vec<_>>(),
    ))
}
