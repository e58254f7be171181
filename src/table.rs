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
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, FieldRef, Int64Type, Schema, SchemaRef, TimeUnit};
use async_trait::async_trait;
use bytes::Bytes;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::stats::Precision;
use datafusion::common::{DFSchema, DataFusionError, ScalarValue, Statistics, project_schema};
use datafusion::datasource::TableType;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::parquet::{
    CachedParquetFileReaderFactory, ParquetAccessPlan,
};
use datafusion::datasource::physical_plan::{
    FileGroup, FileScanConfigBuilder, ParquetFileReaderFactory, ParquetSource,
};
use datafusion::datasource::source::DataSourceExec;
use datafusion::datasource::table_schema::TableSchema;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{BinaryExpr, Expr, Operator, TableProviderFilterPushDown};
use datafusion::object_store::ObjectMeta;
use datafusion::object_store::local::LocalFileSystem;
use datafusion::object_store::path::Path as StorePath;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::{BinaryExpr as PhysicalBinary, Column, Literal};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::filter::FilterExecBuilder;
use datafusion::physical_plan::metrics::{
    Count, ExecutionPlanMetricsSet, MetricBuilder, MetricCategory, MetricType, RatioMergeStrategy,
    RatioMetrics,
};
use datafusion::physical_plan::union::UnionExec;
use futures::FutureExt;
use futures::future::BoxFuture;
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use parquet::arrow::async_reader::AsyncFileReader;
use parquet::arrow::{
    ARROW_SCHEMA_META_KEY, RowNumber, encode_arrow_schema, parquet_to_arrow_schema,
};
use parquet::errors::ParquetError;
use parquet::file::metadata::{FileMetaData, KeyValue, ParquetMetaData, ParquetMetaDataBuilder};

use crate::error::{Error, Result};
use crate::mapped::{MapError, MappedFile};
use crate::source::with_string_views;

/// The `key=value` folders of a path, outermost first.
#[must_use]
pub fn hive_partitions(path: &Path) -> Vec<(String, String)> {
    let Some(dir) = path.parent() else {
        return vec![];
    };
    dir.components()
        .filter_map(|c| {
            let part = c.as_os_str().to_str()?;
            let (key, value) = part.split_once('=')?;
            (!key.is_empty()).then(|| (key.to_owned(), value.to_owned()))
        })
        .collect()
}

/// One file and its partition values, in the table's partition column order.
#[derive(Clone, Debug)]
struct FileEntry {
    meta: ObjectMeta,
    statistics: FileStats,
    partition_values: Vec<Option<String>>,
}

/// What a file's footer tells a scan before the file is opened.
#[derive(Clone, Debug, Default)]
pub struct FileStats {
    /// Over the whole file: its row count, and each timestamp column's range
    /// (see [`FileStats::from_footer`]).
    pub file: Option<Arc<Statistics>>,
    /// Each top-level timestamp column's range in each row group.
    pub time_ranges: Arc<[TimeRanges]>,
}

/// One timestamp column's values in each row group of a file, from the
/// footer: `Some`, when the footer states its min and max there; `None`
/// otherwise.
#[derive(Clone, Debug)]
pub struct TimeRanges {
    /// The column, as named in the file's Arrow schema.
    pub column: String,
    /// One entry per row group, in file order.
    pub row_groups: Vec<Option<TimeRange>>,
}

/// A timestamp column's values in one row group, as stored (in the column's unit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeRange {
    /// The least value.
    pub min: i64,
    /// The greatest value.
    pub max: i64,
    /// Whether the row group may hold NULLs there (also when the footer does not say).
    pub nulls: bool,
}

impl FileStats {
    /// The statistics of a file read from its footer: `metadata`, whose
    /// columns lakehunt reads as `schema` (see [`with_string_views`]).
    ///
    /// Only timestamp columns get a range: it is what skips row groups and
    /// files outside a window before they are opened. Converting every
    /// column's footer statistics (DataFusion's `statistics_from_parquet_metadata`)
    /// cost more than decoding the footer itself, for every file at every run;
    /// the other columns' ranges still prune row groups once a file is opened.
    #[must_use]
    pub fn from_footer(metadata: &ParquetMetaData, schema: &SchemaRef) -> FileStats {
        let time_ranges: Arc<[TimeRanges]> = schema
            .fields()
            .iter()
            .filter(|f| matches!(f.data_type(), DataType::Timestamp(_, _)))
            .filter_map(|f| {
                let converter = StatisticsConverter::try_new(
                    f.name(),
                    schema,
                    metadata.file_metadata().schema_descr(),
                )
                .ok()?;
                let groups = metadata.row_groups();
                let as_i64 = |a: ArrayRef| arrow::compute::cast(&a, &DataType::Int64).ok();
                let mins = as_i64(converter.row_group_mins(groups.iter()).ok()?)?;
                let maxes = as_i64(converter.row_group_maxes(groups.iter()).ok()?)?;
                let nulls = converter.row_group_null_counts(groups.iter()).ok()?;
                let (mins, maxes) = (
                    mins.as_primitive::<Int64Type>(),
                    maxes.as_primitive::<Int64Type>(),
                );
                let row_groups = (0..groups.len())
                    .map(|i| {
                        (mins.is_valid(i) && maxes.is_valid(i)).then(|| TimeRange {
                            min: mins.value(i),
                            max: maxes.value(i),
                            nulls: !nulls.is_valid(i) || nulls.value(i) != 0,
                        })
                    })
                    .collect();
                Some(TimeRanges {
                    column: f.name().clone(),
                    row_groups,
                })
            })
            .collect();
        let file = Some(Arc::new(file_statistics(metadata, schema, &time_ranges)));
        FileStats { file, time_ranges }
    }
}

/// A file's row count, exact, and each timestamp column's range when every
/// row group's footer states it; nothing about other columns.
fn file_statistics(
    metadata: &ParquetMetaData,
    schema: &SchemaRef,
    time_ranges: &[TimeRanges],
) -> Statistics {
    let mut statistics = Statistics::new_unknown(schema);
    let rows = metadata.file_metadata().num_rows();
    statistics.num_rows = Precision::Exact(usize::try_from(rows).unwrap_or(0));
    let bytes: i64 = metadata
        .row_groups()
        .iter()
        .map(parquet::file::metadata::RowGroupMetaData::total_byte_size)
        .sum();
    statistics.total_byte_size = Precision::Inexact(usize::try_from(bytes).unwrap_or(0));
    for ranges in time_ranges {
        let Ok(index) = schema.index_of(&ranges.column) else {
            continue;
        };
        let Some(all) = ranges
            .row_groups
            .iter()
            .copied()
            .collect::<Option<Vec<TimeRange>>>()
            .filter(|all| !all.is_empty())
        else {
            continue;
        };
        let data_type = schema.field(index).data_type();
        let value = |v: i64| ScalarValue::Int64(Some(v)).cast_to(data_type).ok();
        let column = &mut statistics.column_statistics[index];
        let min = all.iter().map(|r| r.min).min().and_then(value);
        let max = all.iter().map(|r| r.max).max().and_then(value);
        if let (Some(min), Some(max)) = (min, max) {
            column.min_value = Precision::Exact(min);
            column.max_value = Precision::Exact(max);
        }
        if all.iter().all(|r| !r.nulls) {
            column.null_count = Precision::Exact(0);
        }
    }
    statistics
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
/// [`crate::split_scan`]).
#[must_use]
pub fn is_split_scan(plan: &dyn ExecutionPlan) -> bool {
    !parts_inside_bounds(plan).is_empty()
}

/// A filter conjunct `column op literal` on a top-level timestamp column of the
/// files, which row-group ranges can decide.
#[derive(Clone, Debug)]
struct TimeBound {
    /// The column's index in the file (and table) schema.
    index: usize,
    op: Operator,
    literal: ScalarValue,
    value: i64,
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
                let absolute = std::path::absolute(path).map_err(|e| unreadable(e.to_string()))?;
                let stat = std::fs::metadata(&absolute).map_err(|e| unreadable(e.to_string()))?;
                let location = StorePath::from_absolute_path(&absolute)
                    .map_err(|e| unreadable(e.to_string()))?;
                let mut found = hive_partitions(path);
                if let Some(pattern) = index_of.and_then(|m| m.get(path)) {
                    found.push((crate::source::INDEX_COLUMN.to_owned(), pattern.clone()));
                }
                Ok(FileEntry {
                    statistics: statistics.get(i).cloned().unwrap_or_default(),
                    meta: ObjectMeta {
                        location,
                        last_modified: stat
                            .modified()
                            .map(chrono::DateTime::<chrono::Utc>::from)
                            .unwrap_or_default(),
                        size: stat.len(),
                        e_tag: None,
                        version: None,
                    },
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
        })
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
            // The store's path is the absolute path without its leading slash.
            file.partition_values
                .push(Some(format!("/{}", file.meta.location.as_ref())));
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
    fn prune(
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
    fn time_bound(&self, filter: &Expr) -> Option<TimeBound> {
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
        let url = ObjectStoreUrl::local_filesystem();
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
        let factory = ViewReaderFactory::new(state.runtime_env(), map_local_files())?;
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
        let bounds: Vec<TimeBound> = filters.iter().filter_map(|f| self.time_bound(f)).collect();
        let partitioned = |file: &FileEntry| {
            let mut partitioned = PartitionedFile::new_from_meta(file.meta.clone());
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

/// DataFusion's cached reader factory, with every string column, also inside
/// structs and lists, decoded as `Utf8View`, and column chunks read through a
/// memory map (see [`crate::mapped`]) unless `LAKEHUNT_NO_MMAP` is set.
///
/// DataFusion asks for views only for top-level columns
/// (`schema_force_view_types`); a nested ECS file's strings (all of them are in
/// structs) would be decoded into contiguous `Utf8` buffers, copying every
/// value, and then cast again. The Parquet reader takes its Arrow types from
/// the `ARROW:schema` hint in the file's metadata, so the metadata each reader
/// returns carries a hint asking for views (see [`with_string_views`]).
#[derive(Debug)]
struct ViewReaderFactory {
    inner: CachedParquetFileReaderFactory,
    /// Resolves a file's location to its path, as DataFusion's local object
    /// store does; `None` when files are read with `pread`.
    local: Option<LocalFileSystem>,
}

impl ViewReaderFactory {
    /// Reading local files through `runtime`'s object store and metadata
    /// cache; column chunks through a map of each file when `map`.
    fn new(runtime: &RuntimeEnv, map: bool) -> datafusion::common::Result<ViewReaderFactory> {
        Ok(ViewReaderFactory {
            inner: CachedParquetFileReaderFactory::new(
                runtime.object_store(ObjectStoreUrl::local_filesystem())?,
                runtime.cache_manager.get_file_metadata_cache(),
            ),
            local: map.then(LocalFileSystem::new),
        })
    }
}

/// Whether local files are read through a map: on unix, unless
/// `LAKEHUNT_NO_MMAP` is set (to anything but empty or `0`).
fn map_local_files() -> bool {
    cfg!(unix) && !crate::env_switch("LAKEHUNT_NO_MMAP")
}

impl ParquetFileReaderFactory for ViewReaderFactory {
    fn create_reader(
        &self,
        partition_index: usize,
        file: PartitionedFile,
        metadata_size_hint: Option<usize>,
        metrics: &ExecutionPlanMetricsSet,
    ) -> datafusion::common::Result<Box<dyn AsyncFileReader + Send>> {
        let mapped = match &self.local {
            Some(local) => Some(MappedReads::new(
                local.path_to_filesystem(&file.object_meta.location)?,
                &file.object_meta,
                partition_index,
                metrics,
            )),
            None => None,
        };
        let inner = self
            .inner
            .create_reader(partition_index, file, metadata_size_hint, metrics)?;
        Ok(Box::new(ViewReader { inner, mapped }))
    }
}

struct ViewReader {
    inner: Box<dyn AsyncFileReader + Send>,
    /// Column chunks come from here when set; footers always come from `inner`
    /// (and DataFusion's metadata cache).
    mapped: Option<MappedReads>,
}

/// One file's column chunks, read through a map of it, counted in the scan's
/// metrics as DataFusion's reader counts what it reads.
struct MappedReads {
    path: PathBuf,
    len: u64,
    map: MapState,
    bytes_scanned: Count,
    scan_efficiency_ratio: RatioMetrics,
}

enum MapState {
    Unopened,
    Open(Arc<MappedFile>),
    /// The file system cannot map it: read with `pread` instead.
    Unmappable,
}

impl MappedReads {
    fn new(
        path: PathBuf,
        meta: &ObjectMeta,
        partition: usize,
        metrics: &ExecutionPlanMetricsSet,
    ) -> MappedReads {
        // The labels, types and merge strategy of DataFusion's own
        // `ParquetFileMetrics`, so that explain sums these with its counts.
        let builder = MetricBuilder::new(metrics)
            .with_new_label("filename", meta.location.to_string())
            .with_type(MetricType::Summary);
        MappedReads {
            path,
            len: meta.size,
            map: MapState::Unopened,
            bytes_scanned: builder
                .clone()
                .with_category(MetricCategory::Bytes)
                .counter("bytes_scanned", partition),
            scan_efficiency_ratio: builder.ratio_metrics_with_strategy(
                "scan_efficiency_ratio",
                partition,
                RatioMergeStrategy::AddPartSetTotal,
            ),
        }
    }

    /// `ranges` of the file, mapping it on first use; `None` when it cannot be
    /// mapped, and `pread` must read them.
    fn read(&mut self, ranges: &[Range<u64>]) -> Option<parquet::errors::Result<Vec<Bytes>>> {
        if let MapState::Unopened = self.map {
            self.map = match MappedFile::open(&self.path, self.len) {
                Ok(file) => MapState::Open(file),
                Err(MapError::Changed(e)) => return Some(Err(ParquetError::External(e.into()))),
                Err(MapError::Io(_)) => MapState::Unmappable,
            };
        }
        let MapState::Open(file) = &self.map else {
            return None;
        };
        let read = ranges
            .iter()
            .map(|range| {
                let bytes = file.slice(range.clone()).ok_or_else(|| {
                    ParquetError::EOF(format!(
                        "{}: bytes {}..{} asked for, but the file is {} bytes long",
                        self.path.display(),
                        range.start,
                        range.end,
                        file.len()
                    ))
                })?;
                self.bytes_scanned.add(bytes.len());
                Ok(bytes)
            })
            .collect();
        Some(read)
    }
}

impl Drop for MappedReads {
    fn drop(&mut self) {
        if let MapState::Open(_) = self.map {
            self.scan_efficiency_ratio
                .add_part(self.bytes_scanned.value());
            self.scan_efficiency_ratio.set_total(self.len as usize);
        }
    }
}

impl AsyncFileReader for ViewReader {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        let mapped = self.mapped.as_mut();
        match mapped.and_then(|m| m.read(std::slice::from_ref(&range))) {
            Some(read) => {
                futures::future::ready(read.map(|mut b| b.pop().unwrap_or_default())).boxed()
            }
            None => self.inner.get_bytes(range),
        }
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        let mapped = self.mapped.as_mut();
        match mapped.and_then(|m| m.read(&ranges)) {
            Some(read) => futures::future::ready(read).boxed(),
            None => self.inner.get_byte_ranges(ranges),
        }
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        async move {
            let metadata = self.inner.get_metadata(options).await?;
            with_view_hint(&metadata)
        }
        .boxed()
    }
}

/// `metadata` with an `ARROW:schema` hint whose strings are all `Utf8View`.
fn with_view_hint(metadata: &ParquetMetaData) -> parquet::errors::Result<Arc<ParquetMetaData>> {
    let file = metadata.file_metadata();
    let schema = parquet_to_arrow_schema(file.schema_descr(), file.key_value_metadata())?;
    let hint = KeyValue::new(
        ARROW_SCHEMA_META_KEY.to_owned(),
        encode_arrow_schema(&with_string_views(&schema)),
    );
    let mut key_values: Vec<KeyValue> = file
        .key_value_metadata()
        .into_iter()
        .flatten()
        .filter(|kv| kv.key != ARROW_SCHEMA_META_KEY)
        .cloned()
        .collect();
    key_values.push(hint);
    let file = FileMetaData::new(
        file.version(),
        file.num_rows(),
        file.created_by().map(str::to_owned),
        Some(key_values),
        file.schema_descr_ptr(),
        file.column_orders().cloned(),
    );
    Ok(Arc::new(
        ParquetMetaDataBuilder::new(file)
            .set_row_groups(metadata.row_groups().to_vec())
            .set_column_index(metadata.column_index().cloned())
            .set_offset_index(metadata.offset_index().cloned())
            .build(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_scans_reader_maps_files_only_when_told_to() {
        use datafusion::physical_plan::metrics::MetricValue;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("part.parquet");
        std::fs::write(&path, b"0123456789").unwrap();
        let meta = ObjectMeta {
            location: StorePath::from_filesystem_path(&path).unwrap(),
            last_modified: chrono::DateTime::default(),
            size: 10,
            e_tag: None,
            version: None,
        };
        let runtime = RuntimeEnv::default();
        for map in [true, false] {
            let factory = ViewReaderFactory::new(&runtime, map).unwrap();
            let metrics = ExecutionPlanMetricsSet::new();
            let file = PartitionedFile::new_from_meta(meta.clone());
            let mut reader = factory.create_reader(0, file, None, &metrics).unwrap();
            assert_eq!(reader.get_bytes(2..5).await.unwrap(), &b"234"[..]);
            let ranges = reader.get_byte_ranges(vec![0..1, 9..10]).await.unwrap();
            assert_eq!(ranges, vec![&b"0"[..], &b"9"[..]]);
            // Every `bytes_scanned` counter of the file: DataFusion's reader's,
            // which reads nothing when the file is mapped, and the map's.
            let mut counts: Vec<usize> = metrics
                .clone_inner()
                .iter()
                .filter_map(|m| match m.value() {
                    MetricValue::Count { name, count } if name == "bytes_scanned" => {
                        Some(count.value())
                    }
                    _ => None,
                })
                .collect();
            counts.sort_unstable();
            let expected = if map { vec![0, 5] } else { vec![5] };
            assert_eq!(counts, expected, "map: {map}");
        }
    }

    #[test]
    fn mapped_reads_count_fall_back_and_refuse_a_changed_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("part.parquet");
        std::fs::write(&path, b"0123456789").unwrap();
        let metrics = ExecutionPlanMetricsSet::new();
        let reads = |path: &Path, size: u64| {
            let meta = ObjectMeta {
                location: StorePath::from(path.to_string_lossy().trim_start_matches('/')),
                last_modified: chrono::DateTime::default(),
                size,
                e_tag: None,
                version: None,
            };
            MappedReads::new(path.to_owned(), &meta, 0, &metrics)
        };

        // The error reading `range` gives.
        let error = |mapped: &mut MappedReads, range: Range<u64>| {
            let read = mapped.read(&[range]).expect("mappable");
            read.expect_err("an error").to_string()
        };

        let mut mapped = reads(&path, 10);
        let got = mapped.read(&[2..5, 9..10]).unwrap().unwrap();
        assert_eq!(
            got,
            vec![Bytes::from_static(b"234"), Bytes::from_static(b"9")]
        );
        let err = error(&mut mapped, 8..11);
        assert!(
            err.contains("part.parquet") && err.contains("8..11"),
            "{err}"
        );
        assert_eq!(mapped.bytes_scanned.value(), 4);
        drop(mapped);
        let ratio = metrics.clone_inner().sum_by_name("scan_efficiency_ratio");
        assert_eq!(ratio.map(|r| r.to_string()), Some("40% (4/10)".to_owned()));

        // Listed at another length: refused, naming the file; not mappable
        // (here: gone): `None`, so that DataFusion's reader reads it.
        let err = error(&mut reads(&path, 12), 0..1);
        assert!(
            err.contains("part.parquet") && err.contains("12 when listed"),
            "{err}"
        );
        assert!(
            reads(&dir.path().join("gone.parquet"), 10)
                .read(std::slice::from_ref(&(0..1)))
                .is_none()
        );
    }

    #[test]
    fn key_value_folders_anywhere_in_the_path() {
        let path =
            Path::new("/lake/region=us-east-1/accountId=123/eventDay=20260115/part-0.parquet");
        assert_eq!(
            hive_partitions(path),
            vec![
                ("region".to_owned(), "us-east-1".to_owned()),
                ("accountId".to_owned(), "123".to_owned()),
                ("eventDay".to_owned(), "20260115".to_owned()),
            ]
        );
        assert!(hive_partitions(Path::new("lake/x/part=1.parquet")).is_empty());
        assert!(hive_partitions(Path::new("lake/=1/a.parquet")).is_empty());
    }
}
