//! A table over an exact list of Parquet files, with hive-style partition values.
//!
//! DataFusion's `ListingTable` lists a folder itself and reads partition values
//! relative to it; lakehunt has already chosen its files (grouped by schema,
//! hidden ones skipped) and reads `key=value` folders anywhere in a file's path.
//! So each schema group is this table: the given files, each with its partition
//! values, scanned by DataFusion's own Parquet reader. Filters on partition
//! columns alone skip whole files before any is opened; everything else (row
//! group pruning on statistics, projection) is the Parquet reader's, except
//! bounds on a timestamp column (a hunt's window): the table applies those
//! itself. Row groups whose footer shows every row outside them are not
//! scanned (a file with only such row groups is not opened), and the bounds are
//! evaluated only on row groups whose footer does not already show every row
//! inside them (see [`FileSetTable`]'s `scan`).

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow::array::{Array, ArrayRef, BooleanArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef, TimeUnit};
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{DFSchema, DataFusionError, ScalarValue, project_schema};
use datafusion::datasource::TableType;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::parquet::ParquetAccessPlan;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::datasource::table_schema::TableSchema;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{BinaryExpr, Expr, Operator, TableProviderFilterPushDown};
use datafusion::object_store::ObjectMeta;
use datafusion::object_store::path::Path as StorePath;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::{BinaryExpr as PhysicalBinary, Column, Literal};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::filter::FilterExecBuilder;
use datafusion::physical_plan::union::UnionExec;
use parquet::arrow::RowNumber;

use super::reader::ViewReaderFactory;
use crate::error::{Error, Result};
use crate::source::{FileStats, INDEX_COLUMN, TimeRange, TimeRanges, hive_partitions};

/// A local file's entry as DataFusion's local store lists it: its absolute
/// path (without the leading slash), size and modification time; its e-tag
/// is `identity`, the file's identity when its footer was read, which the
/// reader checks before it reads anything (see `reader.rs`).
fn local_meta(path: &std::path::Path, identity: Option<&String>) -> std::io::Result<ObjectMeta> {
    let absolute = std::path::absolute(path)?;
    let stat = std::fs::metadata(&absolute)?;
    let location = StorePath::from_absolute_path(&absolute).map_err(std::io::Error::other)?;
    Ok(ObjectMeta {
        location,
        last_modified: stat
            .modified()
            .map(chrono::DateTime::<chrono::Utc>::from)
            .unwrap_or_default(),
        size: stat.len(),
        e_tag: identity.cloned(),
        version: None,
    })
}

/// One file and its partition values, in the table's partition column order.
#[derive(Clone, Debug)]
struct FileEntry {
    meta: ObjectMeta,
    statistics: FileStats,
    partition_values: Vec<Option<String>>,
}

/// Marks a file part that reads only row groups known to meet the scan's
/// bounds (see [`FileSetTable`]'s `scan`), so `explain` can count them.
#[derive(Clone, Copy, Debug)]
struct InsideBounds;

/// The file parts of `plan`'s Parquet scans that read only row groups inside
/// their bounds, with the row groups they read.
fn parts_inside_bounds(plan: &dyn ExecutionPlan) -> Vec<(&PartitionedFile, &ParquetAccessPlan)> {
    let mut parts = vec![];
    let mut stack = vec![plan];
    while let Some(node) = stack.pop() {
        if let Some(scan) = node.downcast_ref::<DataSourceExec>()
            && let Some((config, _)) = scan.downcast_to_file_source::<ParquetSource>()
        {
            for file in config.file_groups.iter().flat_map(FileGroup::iter) {
                if let (Some(_), Some(access)) = (
                    file.extensions.get::<InsideBounds>(),
                    file.extensions.get::<ParquetAccessPlan>(),
                ) {
                    parts.push((file, access));
                }
            }
        }
        stack.extend(node.children().into_iter().map(AsRef::as_ref));
    }
    parts
}

/// Row groups that `plan`'s scans read without evaluating their bounds on a
/// timestamp column (each row group once, however the file was split).
#[must_use]
pub fn row_groups_inside_bounds(plan: &dyn ExecutionPlan) -> usize {
    let seen: HashSet<(&StorePath, usize)> = parts_inside_bounds(plan)
        .into_iter()
        .flat_map(|(file, access)| {
            access
                .row_group_indexes()
                .into_iter()
                .map(move |i| (&file.object_meta.location, i))
        })
        .collect();
    seen.len()
}

/// Whether `plan` holds a scan split by [`FileSetTable`] (see
/// the split-scan rule in `crate::optimizer`).
#[must_use]
pub fn is_split_scan(plan: &dyn ExecutionPlan) -> bool {
    !parts_inside_bounds(plan).is_empty()
}

/// A filter conjunct `column op literal` on a top-level timestamp column of the
/// files, which row-group ranges can decide.
#[derive(Clone, Debug)]
pub(super) struct TimeBound {
    /// The column's index in the file (and table) schema.
    pub(super) index: usize,
    pub(super) op: Operator,
    pub(super) literal: ScalarValue,
    /// The literal's value, in the column's unit.
    pub(super) value: i64,
}

impl TimeBound {
    /// Whether `v` meets the bound; `None` for an operator that is not one.
    fn meets(&self, v: i64) -> Option<bool> {
        match self.op {
            Operator::Gt => Some(v > self.value),
            Operator::GtEq => Some(v >= self.value),
            Operator::Lt => Some(v < self.value),
            Operator::LtEq => Some(v <= self.value),
            _ => None,
        }
    }

    /// Whether every value in `[min, max]` meets the bound: a bound keeps a
    /// half-line, so both ends do.
    fn holds_for(&self, range: TimeRange) -> bool {
        self.meets(range.min) == Some(true) && self.meets(range.max) == Some(true)
    }

    /// Whether every value in `[min, max]` fails the bound (as a NULL does):
    /// what it drops is a half-line too, so both ends fail.
    fn fails_for(&self, range: TimeRange) -> bool {
        self.meets(range.min) == Some(false) && self.meets(range.max) == Some(false)
    }
}

/// Where a row group lies against a scan's bounds, by its footer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    /// Every row meets every bound: read without evaluating them.
    Inside,
    /// No row meets them: not read.
    Outside,
    /// Either not known or both: read and filtered.
    Across,
}

/// Row groups and files that scans left out because their footers put them
/// wholly outside the scans' bounds; counted at planning, for `explain`.
#[derive(Debug, Default)]
pub struct OutsideBounds {
    /// Row groups not read.
    pub row_groups: AtomicUsize,
    /// Files not opened: all their row groups were outside.
    pub files: AtomicUsize,
}

impl OutsideBounds {
    /// The counts so far: `(row groups, files)`.
    #[must_use]
    pub fn get(&self) -> (usize, usize) {
        (
            self.row_groups.load(Ordering::Relaxed),
            self.files.load(Ordering::Relaxed),
        )
    }
}

/// With provenance: the column holding each file's path.
pub const FILE_COLUMN: &str = "_lakehunt_file";
/// With provenance: the column holding each row's position in its file (from 0).
pub const ROW_COLUMN: &str = "_lakehunt_row";

/// The files of one schema, as a table.
#[derive(Clone, Debug)]
pub struct FileSetTable {
    file_schema: SchemaRef,
    partition_cols: Vec<FieldRef>,
    /// Columns the Parquet reader makes up (row numbers), after the partition columns.
    virtual_cols: Vec<FieldRef>,
    schema: SchemaRef,
    files: Vec<FileEntry>,
    outside: Arc<OutsideBounds>,
    /// Whether local files' column chunks are read through a memory map.
    mmap: bool,
    /// The object store the files are in (`s3://bucket`), registered in the
    /// session; `None` for local files.
    store: Option<String>,
}

impl FileSetTable {
    /// A table over `files` (with their footers' `statistics`, same order), all
    /// with `file_schema`; `partition_keys` become
    /// Utf8 columns after the file columns (NULL for a file without that folder);
    /// `index_of` gives each file's `_index` value (`--index PATTERN=PATH`).
    pub fn try_new(
        files: &[PathBuf],
        statistics: &[FileStats],
        file_schema: SchemaRef,
        partition_keys: &[String],
        index_of: Option<&std::collections::HashMap<PathBuf, String>>,
        store: Option<&str>,
    ) -> Result<FileSetTable> {
        let partition_cols: Vec<FieldRef> = partition_keys
            .iter()
            .map(|k| Arc::new(Field::new(k, DataType::Utf8, true)))
            .collect();
        let mut fields: Vec<FieldRef> = file_schema.fields().iter().cloned().collect();
        fields.extend(partition_cols.iter().cloned());
        let schema = Arc::new(Schema::new(fields));
        let files = files
            .iter()
            .enumerate()
            .map(|(i, path)| {
                let unreadable = |message: String| Error::UnreadableFile {
                    path: path.clone(),
                    message,
                };
                let statistics = statistics.get(i).cloned().unwrap_or_default();
                let meta = match (store, &statistics.object) {
                    (Some(_), Some(meta)) => meta.clone(),
                    (Some(_), None) => return Err(unreadable("not listed in its store".into())),
                    (None, _) => local_meta(path, statistics.identity.as_ref())
                        .map_err(|e| unreadable(e.to_string()))?,
                };
                let mut found = hive_partitions(path);
                if let Some(pattern) = index_of.and_then(|m| m.get(path)) {
                    found.push((INDEX_COLUMN.to_owned(), pattern.clone()));
                }
                Ok(FileEntry {
                    statistics,
                    meta,
                    partition_values: partition_keys
                        .iter()
                        .map(|k| {
                            found
                                .iter()
                                .find(|(key, _)| key == k)
                                .map(|(_, v)| v.clone())
                        })
                        .collect(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(FileSetTable {
            file_schema,
            partition_cols,
            virtual_cols: vec![],
            schema,
            files,
            outside: Arc::default(),
            mmap: false,
            store: store.map(str::to_owned),
        })
    }

    /// The table reading local files through a memory map when `mmap` (on
    /// unix; elsewhere it always reads with `pread`).
    #[must_use]
    pub fn reading_mapped(mut self, mmap: bool) -> FileSetTable {
        self.mmap = mmap && cfg!(unix);
        self
    }

    /// The table counting what its scans leave out in `outside`.
    #[must_use]
    pub fn counting_into(mut self, outside: Arc<OutsideBounds>) -> FileSetTable {
        self.outside = outside;
        self
    }

    /// The table with two more columns when `provenance`: each file's path
    /// ([`FILE_COLUMN`]) and each row's position in its file ([`ROW_COLUMN`],
    /// the Parquet reader's row numbers). They cost nothing unless selected.
    #[must_use]
    pub fn with_provenance(mut self, provenance: bool) -> FileSetTable {
        if !provenance {
            return self;
        }
        self.partition_cols
            .push(Arc::new(Field::new(FILE_COLUMN, DataType::Utf8, true)));
        for file in &mut self.files {
            // A local store's path is the absolute path without its leading
            // slash; an object's is its key in the store.
            let place = self.store.as_deref().unwrap_or("");
            file.partition_values
                .push(Some(format!("{place}/{}", file.meta.location.as_ref())));
        }
        self.virtual_cols.push(Arc::new(
            Field::new(ROW_COLUMN, DataType::Int64, false).with_extension_type(RowNumber),
        ));
        let mut fields: Vec<FieldRef> = self.file_schema.fields().iter().cloned().collect();
        fields.extend(self.partition_cols.iter().cloned());
        fields.extend(self.virtual_cols.iter().cloned());
        self.schema = Arc::new(Schema::new(fields));
        self
    }

    /// Indexes of the files whose partition values can satisfy `filters` (those
    /// filters that name only partition columns).
    pub(crate) fn prune(
        &self,
        state: &dyn Session,
        filters: &[Expr],
    ) -> datafusion::common::Result<Vec<usize>> {
        let all: Vec<usize> = (0..self.files.len()).collect();
        if self.partition_cols.is_empty() {
            return Ok(all);
        }
        let names: Vec<&str> = self
            .partition_cols
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        let on_partitions: Vec<Expr> = filters
            .iter()
            .filter(|f| {
                let columns = f.column_refs();
                !columns.is_empty() && columns.iter().all(|c| names.contains(&c.name.as_str()))
            })
            .cloned()
            .collect();
        let Some(predicate) = conjunction(on_partitions) else {
            return Ok(all);
        };
        // One row per file, one column per partition key; the predicate keeps rows.
        let schema = Arc::new(Schema::new(self.partition_cols.clone()));
        let columns: Vec<ArrayRef> = (0..self.partition_cols.len())
            .map(|i| {
                Arc::new(
                    self.files
                        .iter()
                        .map(|f| f.partition_values[i].as_deref())
                        .collect::<StringArray>(),
                ) as ArrayRef
            })
            .collect();
        let batch = RecordBatch::try_new(Arc::clone(&schema), columns)?;
        let df_schema = DFSchema::try_from(schema)?;
        let physical = state.create_physical_expr(predicate, &df_schema)?;
        let keep = physical.evaluate(&batch)?.into_array(batch.num_rows())?;
        let keep = keep
            .as_any()
            .downcast_ref::<BooleanArray>()
            .cloned()
            .unwrap_or_else(|| BooleanArray::from(vec![true; batch.num_rows()]));
        Ok(all
            .into_iter()
            .filter(|&i| keep.is_valid(i) && keep.value(i))
            .collect())
    }
}

impl FileSetTable {
    /// `filter` as a bound on a timestamp column of the files, when it is one:
    /// `column op literal` or `literal op column`, with `op` one of `<`, `<=`,
    /// `>`, `>=` and the literal non-NULL and in the column's own unit.
    pub(super) fn time_bound(&self, filter: &Expr) -> Option<TimeBound> {
        let Expr::BinaryExpr(BinaryExpr { left, op, right }) = filter else {
            return None;
        };
        let (column, op, literal) = match (left.as_ref(), right.as_ref()) {
            (Expr::Column(c), Expr::Literal(v, _)) => (c, *op, v),
            (Expr::Literal(v, _), Expr::Column(c)) => (c, op.swap()?, v),
            _ => return None,
        };
        if !matches!(
            op,
            Operator::Gt | Operator::GtEq | Operator::Lt | Operator::LtEq
        ) {
            return None;
        }
        let index = self.file_schema.index_of(&column.name).ok()?;
        let DataType::Timestamp(unit, _) = self.file_schema.field(index).data_type() else {
            return None;
        };
        let value = match (unit, literal) {
            (TimeUnit::Second, ScalarValue::TimestampSecond(Some(v), _))
            | (TimeUnit::Millisecond, ScalarValue::TimestampMillisecond(Some(v), _))
            | (TimeUnit::Microsecond, ScalarValue::TimestampMicrosecond(Some(v), _))
            | (TimeUnit::Nanosecond, ScalarValue::TimestampNanosecond(Some(v), _)) => *v,
            _ => return None,
        };
        Some(TimeBound {
            index,
            op,
            literal: literal.clone(),
            value,
        })
    }

    /// Per row group of `file`: where its footer puts it against all `bounds`
    /// (empty when the footer does not say).
    fn places(&self, file: &FileEntry, bounds: &[TimeBound]) -> Vec<Place> {
        let columns: Option<Vec<&TimeRanges>> = bounds
            .iter()
            .map(|b| {
                let name = self.file_schema.field(b.index).name();
                file.statistics
                    .time_ranges
                    .iter()
                    .find(|r| &r.column == name)
            })
            .collect();
        let Some(columns) = columns.filter(|c| !c.is_empty()) else {
            return vec![];
        };
        (0..columns[0].row_groups.len())
            .map(|i| {
                // Each bound with its column's range in row group `i`.
                let pairs = || {
                    bounds.iter().zip(&columns).map(move |(bound, ranges)| {
                        (bound, ranges.row_groups.get(i).copied().flatten())
                    })
                };
                if pairs().any(|(bound, range)| range.is_some_and(|r| bound.fails_for(r))) {
                    Place::Outside
                } else if pairs()
                    .all(|(bound, range)| range.is_some_and(|r| !r.nulls && bound.holds_for(r)))
                {
                    Place::Inside
                } else {
                    Place::Across
                }
            })
            .collect()
    }

    /// DataFusion's Parquet scan of `files`, dealt round-robin (largest first)
    /// over the session's partitions; the optimizer splits large files further
    /// by byte ranges.
    fn parquet_scan(
        &self,
        state: &dyn Session,
        mut files: Vec<PartitionedFile>,
        projection: Option<Vec<usize>>,
        limit: Option<usize>,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        files.sort_by_key(|f| std::cmp::Reverse(f.object_meta.size));
        let partitions = state.config().target_partitions().max(1).min(files.len());
        let mut groups: Vec<Vec<PartitionedFile>> = vec![vec![]; partitions];
        for (i, file) in files.into_iter().enumerate() {
            groups[i % partitions].push(file);
        }
        let url = match &self.store {
            Some(store) => {
                ObjectStoreUrl::parse(crate::source::remote::ObjectUrl::registry_key(store))?
            }
            None => ObjectStoreUrl::local_filesystem(),
        };
        let format = ParquetFormat::default().with_options(state.table_options().parquet.clone());
        let source = format.file_source(
            TableSchema::builder(Arc::clone(&self.file_schema))
                .with_table_partition_cols(self.partition_cols.clone())
                .with_virtual_columns(self.virtual_cols.clone())
                .build(),
        );
        let Some(source) = source.downcast_ref::<ParquetSource>() else {
            return Err(DataFusionError::Internal(
                "the Parquet format gave a source that is not a ParquetSource".into(),
            ));
        };
        // `ParquetFormat::create_physical_plan` would install its own reader
        // factory; the plan is built here so that ours, which reads strings
        // as views, is the one used.
        let factory =
            ViewReaderFactory::new(state.runtime_env(), &url, self.mmap && self.store.is_none())?;
        let mut source = source
            .clone()
            .with_parquet_file_reader_factory(Arc::new(factory));
        if let Some(hint) = format.metadata_size_hint() {
            source = source.with_metadata_size_hint(hint);
        }
        let config = FileScanConfigBuilder::new(url, Arc::new(source))
            .with_file_groups(groups.into_iter().map(FileGroup::new).collect())
            .with_projection_indices(projection)?
            .with_limit(limit)
            .build();
        Ok(DataSourceExec::from_data_source(config))
    }
}

#[async_trait]
impl TableProvider for FileSetTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> datafusion::common::Result<Vec<TableProviderFilterPushDown>> {
        // Partition filters skip files, other filters prune row groups; rows are
        // filtered again above the scan, except for the bounds on a timestamp
        // column, which the scan applies itself (see `scan`).
        Ok(filters
            .iter()
            .map(|f| match self.time_bound(f) {
                Some(_) => TableProviderFilterPushDown::Exact,
                None => TableProviderFilterPushDown::Inexact,
            })
            .collect())
    }

    /// The files' Parquet scan. Bounds on a timestamp column (the window) are
    /// applied here, and only where they can fail: row groups whose footer
    /// shows every row outside them are left out (a file of only those is not
    /// opened); row groups whose footer shows every row inside them are
    /// scanned on their own, without the bounds and without reading the column
    /// unless the query uses it. The rest (row groups across a bound, or
    /// without statistics) are scanned with the bounds, which also prune them
    /// by page index.
    ///
    /// DataFusion evaluates a filter above the scan on every row group that
    /// its statistics keep (apache/datafusion#15425). Version 55 knows which
    /// row groups are fully matched but uses that only to skip their page
    /// index; skipping the row filter there (apache/datafusion#23696) is newer
    /// and would apply only with `pushdown_filters`, which costs this hunt more
    /// than it saves (see the README's performance section).
    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        let keep = self.prune(state, filters)?;
        self.scan_files(state, &keep, projection, filters, limit)
    }
}

impl FileSetTable {
    /// [`FileSetTable::scan`] of the files `keep` (indexes into the table's
    /// files, as [`FileSetTable::prune`] gives them) instead of those the
    /// filters' partition columns keep.
    #[expect(
        clippy::too_many_lines,
        reason = "pruning by footers, then the split into inside and across parts: one pass over the files"
    )]
    pub(crate) fn scan_files(
        &self,
        state: &dyn Session,
        keep: &[usize],
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        let bounds: Vec<TimeBound> = filters.iter().filter_map(|f| self.time_bound(f)).collect();
        let partitioned = |file: &FileEntry| {
            let mut partitioned = PartitionedFile::new_from_meta(file.meta.clone());
            // An object's footer is fetched once more when the scan opens it:
            // just the footer, not DataFusion's default 512 KiB guess.
            if let Some(len) = file.statistics.footer_len {
                partitioned = partitioned.with_metadata_size_hint(len as usize);
            }
            partitioned.partition_values = file
                .partition_values
                .iter()
                .map(|v| ScalarValue::Utf8(v.clone()))
                .collect();
            partitioned
        };
        let (mut inside, mut rest) = (vec![], vec![]);
        let (mut outside_groups, mut outside_files) = (0, 0);
        for file in keep.iter().map(|&i| &self.files[i]) {
            let places = if bounds.is_empty() {
                vec![]
            } else {
                self.places(file, &bounds)
            };
            let footer = file.statistics.file.as_ref();
            if places.iter().all(|p| *p == Place::Across) {
                // Scanned whole, with the bounds; once DataFusion opens the
                // file it prunes its row groups by their statistics.
                let mut all = partitioned(file);
                if let Some(footer) = footer {
                    all = all.with_statistics(Arc::clone(footer));
                }
                rest.push(all);
                continue;
            }
            outside_groups += places.iter().filter(|p| **p == Place::Outside).count();
            if places.iter().all(|p| *p == Place::Outside) {
                outside_files += 1;
                continue;
            }
            // Each part may read only some row groups, so the file's statistics
            // are only bounds on it: an exact row count would let a plan answer
            // `count(*)` from the footer.
            let part = |groups: &mut dyn Iterator<Item = usize>, wholly_inside: bool| {
                let mut plan = ParquetAccessPlan::new_none(places.len());
                for i in groups {
                    plan.scan(i);
                }
                let mut file = partitioned(file).with_extension(plan);
                if wholly_inside {
                    file = file.with_extension(InsideBounds);
                }
                if let Some(footer) = footer {
                    file = file.with_statistics(Arc::new(footer.as_ref().clone().to_inexact()));
                }
                file
            };
            let at = |place: Place| {
                places
                    .iter()
                    .enumerate()
                    .filter(move |(_, p)| **p == place)
                    .map(|(i, _)| i)
            };
            // One part per row group inside: the scan's partitions take parts
            // from a shared queue, so small parts keep both cores busy to the
            // end where whole files would leave one idle.
            for i in at(Place::Inside) {
                inside.push(part(&mut std::iter::once(i), true));
            }
            if places.contains(&Place::Across) {
                rest.push(part(&mut at(Place::Across), false));
            }
        }
        self.outside
            .row_groups
            .fetch_add(outside_groups, Ordering::Relaxed);
        self.outside
            .files
            .fetch_add(outside_files, Ordering::Relaxed);
        let wanted: Vec<usize> = match projection {
            Some(p) => p.clone(),
            None => (0..self.schema.fields().len()).collect(),
        };
        let mut scans: Vec<Arc<dyn ExecutionPlan>> = vec![];
        if !inside.is_empty() {
            scans.push(self.parquet_scan(state, inside, Some(wanted.clone()), limit)?);
        }
        if !rest.is_empty() && bounds.is_empty() {
            scans.push(self.parquet_scan(state, rest, projection.cloned(), limit)?);
        } else if !rest.is_empty() {
            // The bounds' columns are read too, filtered on, and dropped.
            let mut read = wanted.clone();
            for bound in &bounds {
                if !read.contains(&bound.index) {
                    read.push(bound.index);
                }
            }
            let predicate = bounds
                .iter()
                .map(|bound| {
                    let name = self.file_schema.field(bound.index).name();
                    let at = read.iter().position(|&i| i == bound.index).unwrap_or(0);
                    Arc::new(PhysicalBinary::new(
                        Arc::new(Column::new(name, at)),
                        bound.op,
                        Arc::new(Literal::new(bound.literal.clone())),
                    )) as Arc<dyn PhysicalExpr>
                })
                .reduce(|a, b| Arc::new(PhysicalBinary::new(a, Operator::And, b)))
                .ok_or_else(|| DataFusionError::Internal("no bounds to filter on".into()))?;
            let scan = self.parquet_scan(state, rest, Some(read), None)?;
            let filter = FilterExecBuilder::new(predicate, scan)
                .apply_projection(Some((0..wanted.len()).collect()))?
                .with_fetch(limit)
                .build()?;
            scans.push(Arc::new(filter));
        }
        if scans.is_empty() {
            // No file, or none with a row group that can meet the bounds.
            let projected = project_schema(&self.schema, projection)?;
            return Ok(Arc::new(EmptyExec::new(projected)));
        }
        UnionExec::try_new(scans)
    }
}
