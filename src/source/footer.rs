//! Footers: each file's schema, rows and timestamp ranges, read once, in bulk.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, FieldRef, Fields, Int64Type, Schema, SchemaRef};
use datafusion::common::stats::Precision;
use datafusion::common::{ScalarValue, Statistics};
use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use parquet::arrow::{parquet_column, parquet_to_arrow_schema};
use parquet::errors::ParquetError;
use parquet::file::metadata::{
    FooterTail, KeyValue, ParquetMetaData, ParquetMetaDataOptions, ParquetMetaDataReader,
    ParquetStatisticsPolicy,
};
use parquet::schema::types::TypePtr;

use crate::error::{Error, Result};

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

/// The footers of files in object stores, from their last bytes (`tails`,
/// in the order of `files`, each holding at least its footer; see
/// [`super::remote::fetch_tails`]).
pub(crate) fn remote_footers(
    files: &[super::remote::Listed],
    tails: &[bytes::Bytes],
) -> Result<Vec<Footer>> {
    let mut reader = FooterReader::default();
    files
        .iter()
        .zip(tails)
        .map(|(file, tail)| {
            let size = file.meta.size;
            // A server that sent more than the object holds is not believed.
            let start =
                size.checked_sub(tail.len() as u64)
                    .ok_or_else(|| Error::UnreadableFile {
                        path: file.path.clone(),
                        message: format!("{} bytes came back from an object of {size}", tail.len()),
                    })?;
            let mut footer = reader.read_with(&file.path, size, |at, buf| {
                let from = usize::try_from(
                    at.checked_sub(start)
                        .ok_or_else(|| std::io::Error::other("a range before the fetched tail"))?,
                )
                .map_err(std::io::Error::other)?;
                buf.clear();
                buf.extend_from_slice(tail.get(from..).unwrap_or_default());
                Ok(())
            })?;
            footer.statistics.object = Some(file.meta.clone());
            footer.statistics.footer_len = super::remote::footer_length(tail).ok();
            Ok(footer)
        })
        .collect()
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
        let mut file = File::open(path).map_err(|e| unreadable(e.to_string()))?;
        let stat = file.metadata().map_err(|e| unreadable(e.to_string()))?;
        let size = stat.len();
        let mut footer = self.read_with(path, size, |at, buf| {
            use std::io::{Read, Seek, SeekFrom};
            buf.resize(usize::try_from(size - at).unwrap_or(usize::MAX), 0);
            file.seek(SeekFrom::Start(at))?;
            file.read_exact(buf)
        })?;
        footer.statistics.identity = Some(file_identity(&stat));
        Ok(footer)
    }

    /// The footer of `path`, a file of `size` bytes, whose bytes from an
    /// offset to its end `read` puts in a buffer.
    fn read_with(
        &mut self,
        path: &Path,
        size: u64,
        mut read: impl FnMut(u64, &mut Vec<u8>) -> std::io::Result<()>,
    ) -> Result<Footer> {
        let unreadable = |message: String| Error::UnreadableFile {
            path: path.to_owned(),
            message,
        };
        // The statistics of the last schema's timestamp columns only; if
        // this file's schema differs, it is read again whole.
        let guess = self.last.as_ref().map(|l| l.time_leaves.as_slice());
        let mut metadata = parse_footer(size, &mut read, &mut self.buf, guess)
            .map_err(|e| unreadable(e.to_string()))?;
        let same = self.last.as_ref().is_some_and(|l| {
            *l.root == *metadata.file_metadata().schema_descr().root_schema()
                && l.key_values.as_ref() == metadata.file_metadata().key_value_metadata()
        });
        if !same {
            if guess.is_some() {
                metadata = parse_footer(size, &mut read, &mut self.buf, None)
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
pub(crate) const TAIL_READ: u64 = 16 * 1024;

/// The footer of a file of `size` bytes, read with one `read` (the bytes from
/// an offset to the end) where it fits in [`TAIL_READ`] (the Parquet crate's
/// own reader takes two reads through two duplicated handles), into `buf`,
/// which is reused from file to file. Only the `keep` leaf columns'
/// statistics are decoded when given (all when `None`); page encoding and size
/// statistics never are (the scan reads the footer again, whole, when it opens
/// the file).
fn parse_footer(
    size: u64,
    read: &mut impl FnMut(u64, &mut Vec<u8>) -> std::io::Result<()>,
    buf: &mut Vec<u8>,
    keep: Option<&[usize]>,
) -> parquet::errors::Result<ParquetMetaData> {
    const TAIL: usize = 8;
    let first = size.min(TAIL_READ);
    if first < TAIL as u64 {
        return Err(ParquetError::General(format!(
            "{size} bytes is too small for a Parquet file"
        )));
    }
    read(size - first, buf)?;
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
        read(size - wanted, buf)?;
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
/// single cost of a hunt's scan (see `benches/peers/README.md`). The schema's
/// metadata is dropped.
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
    // The writer's key/value notes (lakehunt's own findings carry theirs) are
    // not events: kept, they reach the physical plan but not the logical one,
    // and DataFusion rejects `count(*)` over such files as an internal error.
    Schema::new(schema.fields().iter().map(view_field).collect::<Fields>())
}

/// What a file's footer tells a scan before the file is opened.
#[derive(Clone, Debug, Default)]
pub struct FileStats {
    /// Over the whole file: its row count, and each timestamp column's range
    /// (see [`FileStats::from_footer`]).
    pub file: Option<Arc<Statistics>>,
    /// Each top-level timestamp column's range in each row group.
    pub time_ranges: Arc<[TimeRanges]>,
    /// For a file in an object store: its key, size and modification time,
    /// as listed. `None` for a local file.
    pub object: Option<object_store::ObjectMeta>,
    /// For a file in an object store: its footer's length (metadata and the
    /// 8-byte tail), so the scan fetches just that when it opens the file.
    pub footer_len: Option<u64>,
    /// For a local file: its [`file_identity`] when its footer was read. The
    /// scan refuses a file whose identity has changed since: its footer, and
    /// the pruning done with it, would belong to another file.
    pub identity: Option<String>,
}

/// What tells a local file's contents apart without reading them: device,
/// inode, size and modification time (ns). A file replaced by another, even
/// one of the same size, differs in at least one.
#[must_use]
pub fn file_identity(stat: &std::fs::Metadata) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        format!(
            "dev {} inode {} size {} mtime {}.{:09}",
            stat.dev(),
            stat.ino(),
            stat.len(),
            stat.mtime(),
            stat.mtime_nsec()
        )
    }
    #[cfg(not(unix))]
    {
        format!("size {} mtime {:?}", stat.len(), stat.modified().ok())
    }
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
        FileStats {
            file,
            time_ranges,
            object: None,
            footer_len: None,
            identity: None,
        }
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

#[cfg(test)]
pub(crate) mod tests {
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
    pub(crate) fn file(dir: &Path, i: usize, kind: usize, seed: i64) -> PathBuf {
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
        let mut statistics = FileStats::from_footer(builder.metadata(), &schema);
        // The file as the standard library sees it, where the reader records it.
        statistics.identity = Some(file_identity(&std::fs::metadata(path).unwrap()));
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
