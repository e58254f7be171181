//! Finding event files, reading their footers once, and exposing them as the
//! `events` view with flat ECS column names.
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

use std::collections::HashSet;
use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, FieldRef, Fields, Schema, SchemaRef, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::functions::core::expr_fn::get_field;
use datafusion::logical_expr::ScalarUDF;
use datafusion::prelude::{DataFrame, Expr, SessionContext, cast, ident, lit, when};
use parquet::arrow::{parquet_column, parquet_to_arrow_schema};
use parquet::errors::ParquetError;
use parquet::file::metadata::{
    FooterTail, KeyValue, ParquetMetaData, ParquetMetaDataOptions, ParquetMetaDataReader,
    ParquetStatisticsPolicy,
};
use parquet::schema::types::TypePtr;

use crate::error::{Error, Result};
use crate::mapping::FieldMap;
use crate::table::{FileSetTable, FileStats, OutsideBounds, hive_partitions};

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

/// One leaf column of a group: its dotted name, type, and how to read it.
#[derive(Clone, Debug)]
pub struct Leaf {
    /// Dotted ECS name (`destination.ip`).
    pub name: String,
    /// Type in this group's files.
    pub data_type: DataType,
    /// Expression over the group's raw table.
    pub(crate) expr: Expr,
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
    /// With `--index PATTERN=PATH`: the index pattern each file answers, shown
    /// as the column `_index` (see [`Source::open_indexed`]).
    pub index_of: Option<std::collections::HashMap<PathBuf, String>>,
    /// Row groups and files the tables' scans left out, their footers putting
    /// them wholly outside a query's time bounds (counted at planning).
    pub outside_bounds: Arc<OutsideBounds>,
}

/// The column naming the index pattern a row's file was given for.
pub const INDEX_COLUMN: &str = "_index";

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

/// The folder part of a glob before its first wildcard (`lake/2026-*/x` -> `lake`).
fn glob_root(pattern: &str) -> &Path {
    let wildcard = pattern.find(['*', '?', '[']).unwrap_or(pattern.len());
    match pattern[..wildcard].rfind('/') {
        Some(slash) => Path::new(&pattern[..slash]),
        None => Path::new(""),
    }
}

/// Every file named `*.{extension}` below `dir`, in path order, skipping hidden
/// entries, each folder walked once (a symlink loop ends).
pub fn files_under(dir: &Path, extension: &str) -> Result<Vec<PathBuf>> {
    let mut out = vec![];
    walk(dir, extension, &mut out, &mut HashSet::new())?;
    Ok(out)
}

/// Collects `*.{extension}` below `dir`, skipping hidden entries; `seen` holds
/// the canonical directories visited, so a symlink loop is walked once.
fn walk(
    dir: &Path,
    extension: &str,
    out: &mut Vec<PathBuf>,
    seen: &mut HashSet<PathBuf>,
) -> Result<()> {
    let canonical = std::fs::canonicalize(dir).map_err(|e| Error::UnreadableFile {
        path: dir.to_owned(),
        message: e.to_string(),
    })?;
    if !seen.insert(canonical) {
        return Ok(());
    }
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error::UnreadableFile {
            path: dir.to_owned(),
            message: e.to_string(),
        })?
        .collect::<std::result::Result<_, _>>()?;
    entries.sort_by_cached_key(std::fs::DirEntry::path);
    for entry in entries {
        let path = entry.path();
        if is_hidden(&path) {
            continue;
        }
        // The entry's type comes with the listing; only a symlink needs a `stat`.
        let is_dir = match entry.file_type() {
            Ok(kind) if !kind.is_symlink() => kind.is_dir(),
            _ => path.is_dir(),
        };
        if is_dir {
            walk(&path, extension, out, seen)?;
        } else if path.extension().is_some_and(|x| x == extension) {
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
            walk(path, "parquet", &mut files, &mut seen_dirs)?;
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
                    walk(&m, "parquet", &mut files, &mut seen_dirs)?;
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
    files.retain(|f| seen.insert(FileKey::of(f)));
    Ok(files)
}

/// The same for two paths to one file (through `..`, a symlink, a hard link).
#[derive(PartialEq, Eq, Hash)]
enum FileKey {
    /// Its device and inode: one `stat`, where a canonical path takes a
    /// `readlink` per path component.
    Inode(u64, u64),
    /// Its canonical path (or the path as given, if that fails).
    Path(PathBuf),
}

impl FileKey {
    fn of(path: &Path) -> FileKey {
        #[cfg(unix)]
        if let Ok(meta) = std::fs::metadata(path) {
            use std::os::unix::fs::MetadataExt;
            return FileKey::Inode(meta.dev(), meta.ino());
        }
        FileKey::Path(std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned()))
    }
}

/// What a file's footer says.
#[derive(Clone, Debug)]
pub struct Footer {
    /// The file's Arrow schema.
    pub schema: SchemaRef,
    /// Its rows.
    pub rows: u64,
    /// Its row count and its timestamp columns' range in each row group (see
    /// [`FileStats::from_footer`]), so a scan can skip the file or row groups
    /// without opening it, and skip filters its row groups are known to pass.
    pub statistics: FileStats,
}

/// Reads the footers of `files`, in their order, on up to one thread per
/// core, each with 16 files or more. The first unreadable file, in `files`'
/// order, is the error.
///
/// Archives are many small files: a 30-day set of 8-hour files is 90
/// footers read before the first row, which is most of what an 8-hour hunt
/// over it costs beyond one over those 8 hours alone.
pub fn read_footers(files: &[PathBuf]) -> Result<Vec<Footer>> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    read_footers_on(files, cores.min(files.len() / 16))
}

/// [`read_footers`] on `threads` threads (at least one).
fn read_footers_on(files: &[PathBuf], threads: usize) -> Result<Vec<Footer>> {
    let threads = threads.max(1);
    if threads == 1 {
        let mut reader = FooterReader::default();
        return files.iter().map(|f| reader.read(f)).collect();
    }
    // Contiguous runs of files, so each thread's schema cache sees neighbours.
    let run = files.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let runs: Vec<_> = files
            .chunks(run)
            .map(|run| {
                scope.spawn(move || {
                    let mut reader = FooterReader::default();
                    run.iter()
                        .map(|f| reader.read(f))
                        .collect::<Result<Vec<Footer>>>()
                })
            })
            .collect();
        let mut footers = Vec::with_capacity(files.len());
        for run in runs {
            let run = run
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
            footers.extend(run);
        }
        Ok(footers)
    })
}

/// Reads footers one after another, reusing what the previous file's footer
/// gave when the next one's schema and key/value metadata are the same (files
/// of one dataset almost always are): its Arrow schema, converted once, and which columns are
/// timestamps, so only those columns' statistics are decoded.
#[derive(Default)]
struct FooterReader {
    last: Option<LastSchema>,
    /// The last footer's bytes; its allocation is reused.
    buf: Vec<u8>,
}

/// What a footer's schema gave, and what it was.
struct LastSchema {
    /// The Parquet schema, as written.
    root: TypePtr,
    /// The footer's key/value metadata: the Arrow schema an Arrow writer
    /// stores there, and notes that become the Arrow schema's metadata.
    key_values: Option<Vec<KeyValue>>,
    /// The schema lakehunt reads the file as (see [`with_string_views`]).
    schema: SchemaRef,
    /// The Parquet leaf columns of the top-level timestamp columns.
    time_leaves: Vec<usize>,
}

impl FooterReader {
    /// `path`'s footer: schema, row count, statistics. Names the file on failure.
    fn read(&mut self, path: &Path) -> Result<Footer> {
        let unreadable = |message: String| Error::UnreadableFile {
            path: path.to_owned(),
            message,
        };
        let file = File::open(path).map_err(|e| unreadable(e.to_string()))?;
        // The statistics of the last schema's timestamp columns only; if
        // this file's schema differs, it is read again whole.
        let guess = self.last.as_ref().map(|l| l.time_leaves.as_slice());
        let mut metadata =
            parse_footer(&file, &mut self.buf, guess).map_err(|e| unreadable(e.to_string()))?;
        let same = self.last.as_ref().is_some_and(|l| {
            *l.root == *metadata.file_metadata().schema_descr().root_schema()
                && l.key_values.as_ref() == metadata.file_metadata().key_value_metadata()
        });
        if !same {
            if guess.is_some() {
                metadata = parse_footer(&file, &mut self.buf, None)
                    .map_err(|e| unreadable(e.to_string()))?;
            }
            let descr = metadata.file_metadata().schema_descr();
            let schema =
                parquet_to_arrow_schema(descr, metadata.file_metadata().key_value_metadata())
                    .map_err(|e| unreadable(e.to_string()))?;
            let schema = Arc::new(with_string_views(&schema));
            let time_leaves = schema
                .fields()
                .iter()
                .filter(|f| matches!(f.data_type(), DataType::Timestamp(_, _)))
                .filter_map(|f| parquet_column(descr, &schema, f.name()).map(|(i, _)| i))
                .collect();
            self.last = Some(LastSchema {
                root: descr.root_schema_ptr(),
                key_values: metadata.file_metadata().key_value_metadata().cloned(),
                schema,
                time_leaves,
            });
        }
        let schema = self
            .last
            .as_ref()
            .map(|l| Arc::clone(&l.schema))
            .ok_or_else(|| unreadable("no schema".into()))?;
        let rows = metadata.file_metadata().num_rows();
        let statistics = FileStats::from_footer(&metadata, &schema);
        Ok(Footer {
            schema,
            rows: u64::try_from(rows).unwrap_or(0),
            statistics,
        })
    }
}

/// How much of a file's end the first read takes: a footer up to this size
/// (17 columns in a few row groups take about 6 KiB) needs no second read.
const TAIL_READ: u64 = 16 * 1024;

/// A footer, read with one `read` where it fits in [`TAIL_READ`] (the Parquet
/// crate's own reader takes two reads through two duplicated handles), into
/// `buf`, which is reused from file to file. Only the `keep` leaf columns'
/// statistics are decoded when given (all when `None`); page encoding and size
/// statistics never are (the scan reads the footer again, whole, when it opens
/// the file).
fn parse_footer(
    mut file: &File,
    buf: &mut Vec<u8>,
    keep: Option<&[usize]>,
) -> parquet::errors::Result<ParquetMetaData> {
    use std::io::{Read, Seek, SeekFrom};
    const TAIL: usize = 8;
    let size = file.metadata()?.len();
    let first = size.min(TAIL_READ);
    if first < TAIL as u64 {
        return Err(ParquetError::General(format!(
            "{size} bytes is too small for a Parquet file"
        )));
    }
    let read = |file: &mut &File, buf: &mut Vec<u8>, at: u64| -> std::io::Result<()> {
        let len = usize::try_from(size - at).unwrap_or(usize::MAX);
        buf.resize(len, 0);
        file.seek(SeekFrom::Start(at))?;
        file.read_exact(buf)
    };
    read(&mut file, buf, size - first)?;
    let mut tail = [0; TAIL];
    tail.copy_from_slice(&buf[buf.len() - TAIL..]);
    let tail = FooterTail::try_new(&tail)?;
    if tail.is_encrypted_footer() {
        return Err(ParquetError::General(
            "the footer is encrypted; lakehunt reads unencrypted Parquet".into(),
        ));
    }
    let wanted = tail.metadata_length() as u64 + TAIL as u64;
    if wanted > size {
        return Err(ParquetError::General(format!(
            "the footer says its metadata is {wanted} bytes, in a file of {size}"
        )));
    }
    if wanted > first {
        read(&mut file, buf, size - wanted)?;
    }
    let metadata = &buf[buf.len() - usize::try_from(wanted).unwrap_or(0)..buf.len() - TAIL];
    let stats = keep.map_or(
        ParquetStatisticsPolicy::KeepAll,
        ParquetStatisticsPolicy::skip_except,
    );
    let options = ParquetMetaDataOptions::new()
        .with_column_stats_policy(stats)
        .with_encoding_stats_policy(ParquetStatisticsPolicy::SkipAll)
        .with_size_stats_policy(ParquetStatisticsPolicy::SkipAll);
    ParquetMetaDataReader::decode_metadata_with_options(metadata, Some(&options))
}

/// `schema` with every string column, also inside structs and lists, read as
/// `Utf8View`. The Parquet reader then points into its decoded pages instead
/// of copying each value into one contiguous buffer: the copy was the largest
/// single cost of a hunt's scan (see `benches/peers/README.md`).
#[must_use]
pub fn with_string_views(schema: &Schema) -> Schema {
    fn view(t: &DataType) -> DataType {
        match t {
            DataType::Utf8 | DataType::LargeUtf8 => DataType::Utf8View,
            DataType::Struct(fields) => DataType::Struct(fields.iter().map(view_field).collect()),
            DataType::List(f) => DataType::List(view_field(f)),
            DataType::LargeList(f) => DataType::LargeList(view_field(f)),
            other => other.clone(),
        }
    }
    fn view_field(f: &FieldRef) -> FieldRef {
        Arc::new(f.as_ref().clone().with_data_type(view(f.data_type())))
    }
    Schema::new_with_metadata(
        schema.fields().iter().map(view_field).collect::<Fields>(),
        schema.metadata().clone(),
    )
}

/// The leaf columns of one schema: struct fields become `parent.child`. A leaf
/// that is both a flat column and a struct field is an error naming `file`.
fn leaves(schema: &Schema, file: &Path) -> Result<Vec<Leaf>> {
    fn walk(
        parent: Option<&Expr>,
        prefix: &str,
        fields: &Fields,
        out: &mut Vec<Leaf>,
        names: &mut HashSet<String>,
        file: &Path,
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
                walk(Some(&expr), &name, children, out, names, file)?;
            } else {
                if !names.insert(name.clone()) {
                    return Err(Error::DuplicateField {
                        field: name,
                        path: file.to_owned(),
                    });
                }
                out.push(Leaf {
                    name,
                    data_type: field.data_type().clone(),
                    expr,
                });
            }
        }
        Ok(())
    }
    let mut out = vec![];
    walk(
        None,
        "",
        schema.fields(),
        &mut out,
        &mut HashSet::new(),
        file,
    )?;
    Ok(out)
}

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

fn is_string_like(t: &DataType) -> bool {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, value) => is_string_like(value),
        _ => false,
    }
}

fn is_binary_ip(t: &DataType) -> bool {
    match t {
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(4 | 16) => true,
        DataType::Dictionary(_, value) => is_binary_ip(value),
        _ => false,
    }
}

fn list_item(t: &DataType) -> Option<&DataType> {
    match t {
        DataType::List(f) | DataType::LargeList(f) | DataType::ListView(f) => Some(f.data_type()),
        _ => None,
    }
}

/// An ECS IP field: `source.ip`, `destination.ip`, `related.ip`, ...
fn is_ip_field(name: &str) -> bool {
    name.rsplit('.').next() == Some("ip")
}

/// The type two files' versions of field `name` both widen to, if any.
///
/// - equal types stay;
/// - integers of any width: Int64; integers and floats: Float64;
/// - timestamps: the finer unit, UTC when either has a zone (ECS times are UTC);
/// - strings of any layout (dictionary too): Utf8View (how files are read,
///   see [`with_string_views`]);
/// - an IP field (`*.ip`) stored as text in some files and as 4/16 bytes in
///   others: Utf8View, the bytes shown as text ([`ip_to_string`](lakehunt_udfs::ip_to_string));
/// - a value in some files and a list in others (`event.category`): a list of
///   the unified item type, the lone value becoming a one-item list.
#[must_use]
pub fn unify(name: &str, a: &DataType, b: &DataType) -> Option<DataType> {
    use DataType as T;
    if a == b {
        return Some(a.clone());
    }
    let int = |t: &T| t.is_integer();
    let num = |t: &T| t.is_integer() || t.is_floating();
    Some(match (a, b) {
        (T::Null, other) | (other, T::Null) => other.clone(),
        _ if int(a) && int(b) => T::Int64,
        _ if num(a) && num(b) => T::Float64,
        (T::Timestamp(ua, za), T::Timestamp(ub, zb)) => {
            let finer = |u: &TimeUnit| match u {
                TimeUnit::Second => 0,
                TimeUnit::Millisecond => 1,
                TimeUnit::Microsecond => 2,
                TimeUnit::Nanosecond => 3,
            };
            let unit = if finer(ua) >= finer(ub) { ua } else { ub };
            let zone = (za.is_some() || zb.is_some()).then(|| Arc::from("UTC"));
            T::Timestamp(*unit, zone)
        }
        _ if is_string_like(a) && is_string_like(b) => T::Utf8View,
        _ if is_ip_field(name)
            && (is_string_like(a) || is_binary_ip(a))
            && (is_string_like(b) || is_binary_ip(b)) =>
        {
            T::Utf8View
        }
        _ => match (list_item(a), list_item(b)) {
            (Some(x), Some(y)) => list_of(unify(name, x, y)?),
            (Some(x), None) => list_of(unify(name, x, b)?),
            (None, Some(y)) => list_of(unify(name, a, y)?),
            (None, None) => return None,
        },
    })
}

fn list_of(item: DataType) -> DataType {
    DataType::List(Arc::new(Field::new_list_field(item, true)))
}

/// `expr` (of type `from`) as canonical type `to`.
fn convert(expr: Expr, from: &DataType, to: &DataType, ip_to_string: &Arc<ScalarUDF>) -> Expr {
    if from == to {
        return expr;
    }
    if let Some(item) = list_item(to).filter(|_| list_item(from).is_none()) {
        // One value: a one-item list (NULL stays NULL, not a list holding NULL).
        let item = convert(expr.clone(), from, item, ip_to_string);
        let list = datafusion::functions_nested::expr_fn::make_array(vec![item]);
        return when(expr.is_null(), cast(lit(ScalarValue::Null), to.clone()))
            .otherwise(cast(list, to.clone()))
            .unwrap_or_else(|_| cast(lit(ScalarValue::Null), to.clone()));
    }
    if is_string_like(to) && is_binary_ip(from) {
        return cast(ip_to_string.call(vec![expr]), to.clone());
    }
    cast(expr, to.clone())
}

/// Finds the files, reads every footer and groups the files by schema; a
/// schema is read through the OCSF field map when `mode` says so.
pub fn scan(paths: &[String], mode: SchemaMode) -> Result<(Vec<PathBuf>, Vec<SchemaGroup>)> {
    scan_files(discover(paths)?, mode)
}

/// The UTC day (ns since the epoch, at midnight) a date folder names:
/// `date=2026-03-01`, `eventDay=20260301`, `dt=...`, `day=...`.
fn folder_day(path: &Path) -> Option<i64> {
    const DAY_NS: i64 = 86_400_000_000_000;
    hive_partitions(path).into_iter().find_map(|(key, value)| {
        let key = key.to_ascii_lowercase();
        if !matches!(
            key.as_str(),
            "date" | "dt" | "day" | "eventday" | "event_date"
        ) {
            return None;
        }
        let digits: String = value.chars().filter(char::is_ascii_digit).collect();
        let (y, m, d) = (
            digits.get(0..4)?.parse().ok()?,
            digits.get(4..6)?.parse().ok()?,
            digits.get(6..8)?.parse().ok()?,
        );
        if digits.len() != 8 {
            return None;
        }
        let date = chrono::NaiveDate::from_ymd_opt(y, m, d)?;
        let midnight = date.and_hms_opt(0, 0, 0)?.and_utc();
        midnight
            .timestamp_nanos_opt()
            .map(|ns| ns - ns.rem_euclid(DAY_NS))
    })
}

/// The files [`discover`] finds, less those in date folders (`date=`,
/// `eventDay=`, ...) wholly outside `(lo, hi]`, and how many were left out. A
/// day's folder is kept when any instant of that UTC day is inside, so events filed under their own
/// day are never lost. When no file would be left, none is skipped (the time
/// filter then finds nothing, and the run still checks its fields).
fn in_range_files(paths: &[String], lo: i64, hi: i64) -> Result<(Vec<PathBuf>, usize)> {
    const DAY_NS: i64 = 86_400_000_000_000;
    let files = discover(paths)?;
    let found = files.len();
    let kept: Vec<PathBuf> = files
        .iter()
        .filter(|f| folder_day(f).is_none_or(|day| day + DAY_NS > lo && day <= hi))
        .cloned()
        .collect();
    let kept = if kept.is_empty() { files } else { kept };
    let skipped = found - kept.len();
    Ok((kept, skipped))
}

fn scan_files(files: Vec<PathBuf>, mode: SchemaMode) -> Result<(Vec<PathBuf>, Vec<SchemaGroup>)> {
    let ocsf = FieldMap::find("ocsf")?;
    let mut groups: Vec<SchemaGroup> = vec![];
    let footers = read_footers(&files)?;
    for (file, footer) in files.iter().zip(footers) {
        let Footer {
            schema,
            rows: n,
            statistics,
        } = footer;
        let keys = hive_partitions(file).into_iter().map(|(k, _)| k);
        // Same fields, same group; metadata (writer notes) does not matter.
        if let Some(group) = groups
            .iter_mut()
            .find(|g| g.schema.fields() == schema.fields())
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
        Source::open_as(paths, SchemaMode::Auto)
    }

    /// [`Source::open`], reading the files as `mode` says.
    pub fn open_as(paths: &[String], mode: SchemaMode) -> Result<Source> {
        let (files, groups) = scan(paths, mode)?;
        Source::from_groups(files, groups)
    }

    /// One source over several named datasets (`--index PATTERN=PATH`): each
    /// file's rows carry their pattern in the column `_index`. A file given for
    /// two patterns is an error naming both.
    pub fn open_indexed(indexes: &[(String, Vec<String>)], mode: SchemaMode) -> Result<Source> {
        let mut index_of: std::collections::HashMap<PathBuf, String> =
            std::collections::HashMap::new();
        // The same file spelled two ways is one file.
        let mut seen: std::collections::HashMap<PathBuf, String> = std::collections::HashMap::new();
        let mut files = vec![];
        for (pattern, paths) in indexes {
            for file in discover(paths)? {
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
                files.push(file);
            }
        }
        files.sort();
        let (files, mut groups) = scan_files(files, mode)?;
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
        Ok(source)
    }

    /// [`Source::open_as`] for a run that only looks at `(lo, hi]` (ns): files in
    /// date folders wholly outside it are skipped unopened.
    pub fn open_in_range(paths: &[String], mode: SchemaMode, lo: i64, hi: i64) -> Result<Source> {
        let (files, skipped) = in_range_files(paths, lo, hi)?;
        let (files, groups) = scan_files(files, mode)?;
        let mut source = Source::from_groups(files, groups)?;
        source.skipped_by_date = skipped;
        Ok(source)
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
            index_of: None,
            outside_bounds: Arc::default(),
        })
    }

    /// Registers the raw tables (`events_raw`, or `events_raw_N` per schema) and
    /// `events`, the union of every group projected onto the canonical columns;
    /// and `events_id`, the same with a column `_id` (`file:row`, the event's
    /// row in its file) for ES|QL's `METADATA _id`.
    pub async fn register(&self, ctx: &SessionContext) -> Result<()> {
        let ip_to_string = lakehunt_udfs::ip_to_string::ip_to_string_udf();
        let (mut events, mut events_id): (Option<DataFrame>, Option<DataFrame>) = (None, None);
        // Files that have columns of the provenance columns' names get no `events_id`.
        let provenance = [crate::table::FILE_COLUMN, crate::table::ROW_COLUMN]
            .iter()
            .all(|c| self.schema.field_with_name(c).is_err());
        for (i, group) in self.groups.iter().enumerate() {
            let suffix = if self.groups.len() == 1 {
                String::new()
            } else {
                format!("_{}", i + 1)
            };
            // One table per group (its files stat'ed once); the `_id` view reads
            // the same table with the provenance columns added.
            let table = FileSetTable::try_new(
                &group.files,
                &group.statistics,
                Arc::clone(&group.schema),
                &group.partition_keys,
                self.index_of.as_ref(),
            )?
            .counting_into(Arc::clone(&self.outside_bounds));
            let (raw, raw_id) = (
                format!("events_raw{suffix}"),
                format!("events_raw_id{suffix}"),
            );
            if provenance {
                ctx.register_table(&raw_id, Arc::new(table.clone().with_provenance(true)))?;
            }
            ctx.register_table(&raw, Arc::new(table))?;
            let columns = self
                .schema
                .fields()
                .iter()
                .map(|field| {
                    let to = field.data_type();
                    let expr = match group.leaves.iter().find(|l| &l.name == field.name()) {
                        Some(leaf) => {
                            convert(leaf.expr.clone(), &leaf.data_type, to, &ip_to_string)
                        }
                        None => cast(lit(ScalarValue::Null), to.clone()),
                    };
                    expr.alias(field.name())
                })
                .collect::<Vec<_>>();
            let mut with_id = columns.clone();
            with_id.push(
                datafusion::functions::string::expr_fn::concat(vec![
                    ident(crate::table::FILE_COLUMN),
                    lit(":"),
                    cast(ident(crate::table::ROW_COLUMN), DataType::Utf8),
                ])
                .alias("_id"),
            );
            let views = [
                (&mut events, &raw, columns),
                (&mut events_id, &raw_id, with_id),
            ];
            for (union, name, columns) in views.into_iter().take(1 + usize::from(provenance)) {
                let projected = ctx.table(name.as_str()).await?.select(columns)?;
                *union = Some(match union.take() {
                    None => projected,
                    Some(all) => all.union(projected)?,
                });
            }
        }
        for (name, union) in [("events", events), ("events_id", events_id)] {
            if let Some(view) = union {
                ctx.register_table(name, view.into_view())?;
            }
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
    use parquet::arrow::ArrowWriter;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::file::properties::{EnabledStatistics, WriterProperties};

    /// Writes `batch` to `path` in row groups of `rows`, with statistics or not.
    fn write(path: &Path, batch: &RecordBatch, rows: usize, statistics: bool) {
        // Some files carry a writer's note in their footer (it becomes the
        // Arrow schema's metadata), one that differs from file to file.
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let spread: u32 = name.bytes().map(u32::from).sum();
        let note = spread
            .is_multiple_of(3)
            .then(|| vec![KeyValue::new("writer.note".into(), name)]);
        let props = WriterProperties::builder()
            .set_key_value_metadata(note)
            .set_max_row_group_row_count(Some(rows))
            .set_statistics_enabled(if statistics {
                EnabledStatistics::Chunk
            } else {
                EnabledStatistics::None
            })
            .build();
        let mut writer =
            ArrowWriter::try_new(File::create(path).unwrap(), batch.schema(), Some(props)).unwrap();
        writer.write(batch).unwrap();
        writer.close().unwrap();
    }

    /// A file of kind `kind` (schemas that differ in column order, in the
    /// Arrow type stored beside the same Parquet type, in their timestamp
    /// columns), with values that depend on `seed`.
    fn file(dir: &Path, i: usize, kind: usize, seed: i64) -> PathBuf {
        let ts = |tz: Option<&str>| {
            let array: TimestampMicrosecondArray = (0..7)
                .map(|r| (r != 3 || seed % 2 == 0).then_some(seed * 1_000 + r * 17))
                .collect();
            Arc::new(match tz {
                Some(tz) => array.with_timezone(tz),
                None => array,
            }) as ArrayRef
        };
        let n = Arc::new(Int64Array::from_iter_values((0..7).map(|r| r * seed))) as ArrayRef;
        let s = Arc::new(StringArray::from_iter_values(
            (0..7).map(|r| format!("{r}")),
        )) as ArrayRef;
        // Every column nullable: the Parquet schema depends on the kind only.
        let batch = match kind {
            0 => RecordBatch::try_from_iter_with_nullable([
                ("@timestamp", ts(Some("UTC")), true),
                ("n", n, true),
            ]),
            1 => RecordBatch::try_from_iter_with_nullable([
                ("n", n, true),
                ("@timestamp", ts(Some("UTC")), true),
            ]),
            // The same Parquet schema as kind 0; another Arrow time zone.
            2 => RecordBatch::try_from_iter_with_nullable([
                ("@timestamp", ts(Some("+00:00")), true),
                ("n", n, true),
            ]),
            3 => RecordBatch::try_from_iter_with_nullable([
                ("s", s, true),
                ("@timestamp", ts(None), true),
                ("event.ingested", ts(Some("UTC")), true),
            ]),
            _ => RecordBatch::try_from_iter_with_nullable([("s", s, true), ("n", n, true)]),
        }
        .unwrap();
        let path = dir.join(format!("part-{i:03}.parquet"));
        write(&path, &batch, 1 + (i % 4), i % 5 != 4);
        path
    }

    /// What the reader gave before it reused schemas: the whole footer,
    /// converted with the Parquet crate's own reader.
    fn footer_the_long_way(path: &Path) -> String {
        let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap()).unwrap();
        let schema = Arc::new(with_string_views(builder.schema()));
        let statistics = FileStats::from_footer(builder.metadata(), &schema);
        let rows = builder.metadata().file_metadata().num_rows();
        format!("{schema:?} {rows} {statistics:?}")
    }

    #[test]
    fn footers_read_in_bulk_equal_footers_read_whole_one_by_one() {
        let dir = tempfile::tempdir().unwrap();
        // Runs of one kind, and kinds changing from one file to the next.
        let kinds = [0, 0, 0, 2, 2, 0, 1, 1, 0, 3, 3, 4, 0, 3, 1, 2, 4, 4, 0, 0];
        let files: Vec<PathBuf> = (0..60)
            .map(|i| file(dir.path(), i, kinds[i % kinds.len()], i as i64 * 3 + 1))
            .collect();
        let expected: Vec<String> = files.iter().map(|f| footer_the_long_way(f)).collect();
        // Kinds 0 and 2 differ only in the Arrow time zone; both must show.
        assert!(expected[2].contains("\"UTC\"") && expected[3].contains("\"+00:00\""));
        for threads in [1, 2, 3, 7] {
            let footers = read_footers_on(&files, threads).unwrap();
            assert_eq!(footers.len(), files.len());
            for (i, (footer, expected)) in footers.iter().zip(&expected).enumerate() {
                let got = format!(
                    "{:?} {} {:?}",
                    footer.schema, footer.rows, footer.statistics
                );
                assert_eq!(&got, expected, "file {i} on {threads} threads");
            }
        }
    }

    #[test]
    fn a_footer_larger_than_the_first_read_is_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let ts: TimestampMicrosecondArray = (0..3000).map(Some).collect();
        let batch = RecordBatch::try_from_iter([
            ("@timestamp", Arc::new(ts.with_timezone("UTC")) as ArrayRef),
            (
                "n",
                Arc::new(Int64Array::from_iter_values(0..3000)) as ArrayRef,
            ),
        ])
        .unwrap();
        let path = dir.path().join("many-row-groups.parquet");
        write(&path, &batch, 10, true);
        let footer_len = {
            let bytes = std::fs::read(&path).unwrap();
            let tail: [u8; 8] = bytes[bytes.len() - 8..].try_into().unwrap();
            FooterTail::try_new(&tail).unwrap().metadata_length() as u64
        };
        assert!(footer_len > TAIL_READ, "{footer_len}");
        let footer = FooterReader::default().read(&path).unwrap();
        let got = format!(
            "{:?} {} {:?}",
            footer.schema, footer.rows, footer.statistics
        );
        assert_eq!(got, footer_the_long_way(&path));
    }

    #[test]
    fn broken_footers_are_errors_that_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let good = std::fs::read(file(dir.path(), 0, 0, 1)).unwrap();
        let mut cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty", vec![]),
            ("short", b"PAR1".to_vec()),
            ("not-parquet", vec![7; 100]),
            ("truncated", good[good.len() / 2..].to_vec()),
        ];
        // A metadata length past the start of the file.
        let mut long = good.clone();
        let at = long.len() - 8;
        long[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        cases.push(("long", long));
        for (name, bytes) in cases {
            let path = dir.path().join(format!("{name}.parquet"));
            std::fs::write(&path, bytes).unwrap();
            let err = FooterReader::default().read(&path).unwrap_err().to_string();
            assert!(
                err.starts_with("cannot read Parquet file")
                    && err.contains(&format!("{name}.parquet")),
                "{name}: {err}"
            );
        }
    }

    #[test]
    fn random_and_mangled_footers_are_errors_not_panics() {
        let dir = tempfile::tempdir().unwrap();
        let good = std::fs::read(file(dir.path(), 0, 3, 1)).unwrap();
        let tail: [u8; 8] = good[good.len() - 8..].try_into().unwrap();
        let meta = FooterTail::try_new(&tail).unwrap().metadata_length();
        let mut rng = crate::TestRng(0x9e37_79b9_7f4a_7c15);
        let mut next = || rng.next();
        let path = dir.path().join("mangled.parquet");
        let mut errors = 0;
        for case in 0..400 {
            let mut bytes = good.clone();
            match case % 4 {
                // Random bytes with a valid magic and a metadata length in range.
                0 => {
                    let len = 8 + (next() % 4096) as usize;
                    bytes = (0..len).map(|_| next() as u8).collect();
                    let claimed = (next() % (len as u64 - 7)) as u32;
                    bytes[len - 8..len - 4].copy_from_slice(&claimed.to_le_bytes());
                    bytes[len - 4..].copy_from_slice(b"PAR1");
                }
                // A real footer with a few bytes of its metadata changed.
                1 | 2 => {
                    let start = bytes.len() - 8 - meta;
                    for _ in 0..=(next() % 4) {
                        let at = start + (next() as usize % meta);
                        bytes[at] = next() as u8;
                    }
                }
                // A real footer cut short.
                _ => {
                    let cut = 1 + next() as usize % meta;
                    let end = bytes.len() - 8;
                    bytes.drain(end - cut..end);
                }
            }
            std::fs::write(&path, &bytes).unwrap();
            // An error naming the file, or a footer; never a panic. A footer
            // cut short cannot be read.
            match FooterReader::default().read(&path) {
                Err(e) => {
                    let e = e.to_string();
                    assert!(e.contains("mangled.parquet"), "case {case}: {e}");
                    errors += 1;
                }
                Ok(_) => assert!(case % 4 != 3, "case {case}: a cut footer was read"),
            }
        }
        assert!(errors >= 200, "{errors} errors of 400");
    }

    #[test]
    fn a_file_reached_by_several_paths_is_found_once() {
        let dir = tempfile::tempdir().unwrap();
        let day = dir.path().join("d01");
        std::fs::create_dir(&day).unwrap();
        let a = file(&day, 0, 0, 1);
        let b = file(&day, 1, 0, 2);
        let arg = |p: &Path| p.to_string_lossy().into_owned();
        let mut paths = vec![
            arg(dir.path()),
            arg(&day.join("..").join("d01").join("part-000.parquet")),
            arg(&b),
            format!("{}/*/*.parquet", dir.path().display()),
        ];
        #[cfg(unix)]
        {
            let link = dir.path().join("link.parquet");
            std::os::unix::fs::symlink(&a, &link).unwrap();
            let hard = dir.path().join("hard.parquet");
            std::fs::hard_link(&b, &hard).unwrap();
            paths.push(arg(&link));
            paths.push(arg(&hard));
        }
        let found = discover(&paths).unwrap();
        // The folder's walk comes first; every later spelling is the same file.
        assert_eq!(found, vec![a, b]);
    }

    #[test]
    fn the_first_unreadable_footer_in_file_order_is_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut files: Vec<PathBuf> = (0..40).map(|i| file(dir.path(), i, i % 2, 5)).collect();
        for i in [23, 31] {
            std::fs::write(&files[i], b"not parquet").unwrap();
        }
        files[35] = dir.path().join("gone.parquet");
        for threads in [1, 2, 4] {
            let err = read_footers_on(&files, threads).unwrap_err().to_string();
            assert!(err.contains("part-023.parquet"), "{threads} threads: {err}");
        }
    }
}
