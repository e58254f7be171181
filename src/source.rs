//! Finding event files, reading their footers once, and exposing them as the
//! `events` view with flat ECS column names.
//!
//! Lakes hold ECS in two layouts: nested structs (`destination.ip` is field `ip`
//! of struct column `destination`) and flat columns literally named
//! `destination.ip`. The view `events` shows both the same way, one column per
//! leaf, named with dots, so a hunt is written once. The raw table stays
//! available as `events_raw`.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::functions::core::expr_fn::get_field;
use datafusion::prelude::{Expr, SessionContext, ident};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::error::{Error, Result};

/// How a dataset stores ECS fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Struct columns (`destination` with field `ip`).
    Nested,
    /// Dotted column names (`destination.ip`).
    Flat,
    /// Both in one dataset.
    Mixed,
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layout::Nested => "nested",
            Layout::Flat => "flat",
            Layout::Mixed => "mixed",
        })
    }
}

/// The event files of one run, with their merged schema.
#[derive(Clone, Debug)]
pub struct Source {
    /// Every Parquet file, sorted, without duplicates.
    pub files: Vec<PathBuf>,
    /// The files' schemas merged (raw: structs and all).
    pub schema: SchemaRef,
    /// Detected layout.
    pub layout: Layout,
    /// Total rows according to the footers.
    pub rows: u64,
}

fn is_glob(text: &str) -> bool {
    text.contains(['*', '?', '['])
}

/// Hidden and bookkeeping files (`.crc`, Spark's `_SUCCESS`, `_temporary/`) are skipped
/// when walking directories and expanding globs.
fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.') || n.starts_with('_'))
}

/// Collects `*.parquet` below `dir`, skipping hidden entries; `seen` holds the
/// canonical directories visited, so a symlink loop is walked once.
/// The folder part of a glob before its first wildcard (`lake/2026-*/x` -> `lake`).
fn glob_root(pattern: &str) -> &Path {
    let wildcard = pattern.find(['*', '?', '[']).unwrap_or(pattern.len());
    match pattern[..wildcard].rfind('/') {
        Some(slash) => Path::new(&pattern[..slash]),
        None => Path::new(""),
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, seen: &mut HashSet<PathBuf>) -> Result<()> {
    if !seen.insert(std::fs::canonicalize(dir)?) {
        return Ok(());
    }
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error::UnreadableFile {
            path: dir.to_owned(),
            message: e.to_string(),
        })?
        .collect::<std::result::Result<_, _>>()?;
    entries.sort_by_key(std::fs::DirEntry::path);
    for entry in entries {
        let path = entry.path();
        if is_hidden(&path) {
            continue;
        }
        if path.is_dir() {
            walk(&path, out, seen)?;
        } else if path.extension().is_some_and(|x| x == "parquet") {
            out.push(path);
        }
    }
    Ok(())
}

/// Expands `--data` arguments: files as given, directories recursively (`*.parquet`),
/// globs by pattern. Each argument must yield at least one file.
pub fn discover(paths: &[String]) -> Result<Vec<PathBuf>> {
    let mut files = vec![];
    for arg in paths {
        let before = files.len();
        // Per argument: two arguments naming one folder are not an error.
        let mut seen_dirs = HashSet::new();
        let path = Path::new(arg);
        if path.is_file() {
            files.push(path.to_owned());
        } else if path.is_dir() {
            walk(path, &mut files, &mut seen_dirs)?;
        } else if is_glob(arg) {
            let matches = glob::glob(arg).map_err(|e| Error::InvalidGlob {
                pattern: arg.clone(),
                message: e.to_string(),
            })?;
            for m in matches {
                let m = m.map_err(|e| Error::UnreadableFile {
                    path: e.path().to_owned(),
                    message: e.error().to_string(),
                })?;
                // Hidden anywhere below the pattern's fixed folder: `_temporary/`, `.git/`.
                let below = m.strip_prefix(glob_root(arg)).unwrap_or(&m);
                if below
                    .components()
                    .any(|c| is_hidden(Path::new(c.as_os_str())))
                {
                    continue;
                }
                if m.is_dir() {
                    walk(&m, &mut files, &mut seen_dirs)?;
                } else {
                    files.push(m);
                }
            }
        } else {
            return Err(Error::MissingPath(path.to_owned()));
        }
        if files.len() == before {
            return Err(Error::NoParquetFiles(arg.clone()));
        }
    }
    let mut seen = HashSet::new();
    files.retain(|f| seen.insert(std::fs::canonicalize(f).unwrap_or_else(|_| f.clone())));
    Ok(files)
}

/// Reads a file's footer: its Arrow schema and row count. Names the file on failure.
pub fn read_footer(path: &Path) -> Result<(SchemaRef, u64)> {
    let unreadable = |message: String| Error::UnreadableFile {
        path: path.to_owned(),
        message,
    };
    let file = File::open(path).map_err(|e| unreadable(e.to_string()))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| unreadable(e.to_string()))?;
    let rows = builder.metadata().file_metadata().num_rows();
    Ok((
        Arc::clone(builder.schema()),
        u64::try_from(rows).unwrap_or(0),
    ))
}

/// Merges file schemas by field name; a field whose type differs between files is
/// an error naming both files.
fn merge_schemas(schemas: &[(PathBuf, SchemaRef)]) -> Result<Schema> {
    let mut fields: Vec<Field> = vec![];
    let mut origin: HashMap<String, (usize, &Path)> = HashMap::new();
    for (path, schema) in schemas {
        for field in schema.fields() {
            match origin.get(field.name()) {
                None => {
                    origin.insert(field.name().clone(), (fields.len(), path));
                    fields.push(field.as_ref().clone().with_nullable(true));
                }
                Some(&(i, first)) => {
                    if !fields[i].data_type().equals_datatype(field.data_type()) {
                        return Err(Error::SchemaConflict {
                            field: field.name().clone(),
                            left_type: fields[i].data_type().to_string(),
                            left: first.to_owned(),
                            right_type: field.data_type().to_string(),
                            right: path.clone(),
                        });
                    }
                }
            }
        }
    }
    Ok(Schema::new(fields))
}

impl Source {
    /// Finds the files and reads every footer.
    pub fn open(paths: &[String]) -> Result<Source> {
        let files = discover(paths)?;
        let mut schemas = Vec::with_capacity(files.len());
        let mut rows = 0;
        for file in &files {
            let (schema, n) = read_footer(file)?;
            rows += n;
            schemas.push((file.clone(), schema));
        }
        let schema = Arc::new(merge_schemas(&schemas)?);
        let nested = schema
            .fields()
            .iter()
            .any(|f| matches!(f.data_type(), DataType::Struct(_)));
        let dotted = schema.fields().iter().any(|f| f.name().contains('.'));
        let layout = match (nested, dotted) {
            (true, true) => Layout::Mixed,
            (true, false) => Layout::Nested,
            (false, _) => Layout::Flat,
        };
        Ok(Source {
            files,
            schema,
            layout,
            rows,
        })
    }

    /// Registers `events_raw` (the files as they are) and `events` (flat ECS names).
    pub async fn register(&self, ctx: &SessionContext) -> Result<()> {
        let urls = self
            .files
            .iter()
            .map(|f| {
                // A URL built from the path, not parsed from text: a file name with
                // `*`, `?` or `[` must not turn into a glob.
                let absolute = std::path::absolute(f)?;
                let url =
                    url::Url::from_file_path(&absolute).map_err(|()| Error::UnreadableFile {
                        path: absolute.clone(),
                        message: "cannot be expressed as a file URL".into(),
                    })?;
                ListingTableUrl::try_new(url, None).map_err(Error::from)
            })
            .collect::<Result<Vec<_>>>()?;
        // Every URL is one file already chosen by `discover`: no extension filter.
        let options =
            ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension("");
        let config = ListingTableConfig::new_with_multi_paths(urls)
            .with_listing_options(options)
            .with_schema(Arc::clone(&self.schema));
        ctx.register_table("events_raw", Arc::new(ListingTable::try_new(config)?))?;

        let mut columns = vec![];
        let mut names = HashSet::new();
        flatten(None, "", self.schema.fields(), &mut columns, &mut names)?;
        let view = ctx.table("events_raw").await?.select(columns)?;
        ctx.register_table("events", view.into_view())?;
        Ok(())
    }
}

/// One output column per leaf: struct fields become `parent.child`.
fn flatten(
    parent: Option<&Expr>,
    prefix: &str,
    fields: &Fields,
    out: &mut Vec<Expr>,
    names: &mut HashSet<String>,
) -> Result<()> {
    for field in fields {
        let name = if prefix.is_empty() {
            field.name().clone()
        } else {
            format!("{prefix}.{}", field.name())
        };
        let expr = match parent {
            None => ident(field.name()),
            Some(p) => get_field(p.clone(), field.name().as_str()),
        };
        if let DataType::Struct(children) = field.data_type() {
            flatten(Some(&expr), &name, children, out, names)?;
        } else {
            if !names.insert(name.clone()) {
                return Err(Error::InvalidParameter {
                    name: "--data".into(),
                    message: format!(
                        "field '{name}' is both a flat column and a struct field; \
                         mixed layouts in one file set are not supported yet"
                    ),
                });
            }
            out.push(expr.alias(name));
        }
    }
    Ok(())
}
