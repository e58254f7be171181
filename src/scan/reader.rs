//! The Parquet reader under every scan: string columns decoded as views, and
//! local files' column chunks read through a memory map (see [`super::mmap`]).

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::ParquetFileReaderFactory;
use datafusion::datasource::physical_plan::parquet::CachedParquetFileReaderFactory;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::object_store::local::LocalFileSystem;
use datafusion::object_store::{ObjectMeta, ObjectStore};
use datafusion::physical_plan::metrics::{
    Count, ExecutionPlanMetricsSet, MetricBuilder, MetricCategory, MetricType, RatioMergeStrategy,
    RatioMetrics,
};
use futures::FutureExt;
use futures::future::BoxFuture;
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::AsyncFileReader;
use parquet::arrow::{ARROW_SCHEMA_META_KEY, encode_arrow_schema, parquet_to_arrow_schema};
use parquet::errors::ParquetError;
use parquet::file::metadata::{FileMetaData, KeyValue, ParquetMetaData, ParquetMetaDataBuilder};

use super::mmap::{MapError, MappedFile};
use crate::source::with_string_views;

/// DataFusion's cached reader factory, with every string column, also inside
/// structs and lists, decoded as `Utf8View`, and column chunks read through a
/// memory map (see [`super::mmap`]) when the table is told to map them.
///
/// DataFusion asks for views only for top-level columns
/// (`schema_force_view_types`); a nested ECS file's strings (all of them are in
/// structs) would be decoded into contiguous `Utf8` buffers, copying every
/// value, and then cast again. The Parquet reader takes its Arrow types from
/// the `ARROW:schema` hint in the file's metadata, so the metadata each reader
/// returns carries a hint asking for views (see [`with_string_views`]).
#[derive(Debug)]
pub(crate) struct ViewReaderFactory {
    inner: CachedParquetFileReaderFactory,
    /// Resolves a file's location to its path, as DataFusion's local object
    /// store does; `None` for files in an object store.
    local: Option<LocalFileSystem>,
    /// Whether local files' column chunks are read through a map.
    map: bool,
    /// The store, for naming a file that fails to decode (see
    /// [`super::diagnose`]).
    store: Arc<dyn ObjectStore>,
    /// The store's URL (`s3://bucket/`); empty for local files.
    url: String,
}

impl ViewReaderFactory {
    /// Reading files through `runtime`'s store for `store` and its metadata
    /// cache; local column chunks through a map of each file when `map`.
    pub(crate) fn new(
        runtime: &RuntimeEnv,
        store: &ObjectStoreUrl,
        map: bool,
    ) -> datafusion::common::Result<ViewReaderFactory> {
        let local = *store == ObjectStoreUrl::local_filesystem();
        let object_store = runtime.object_store(store)?;
        Ok(ViewReaderFactory {
            inner: CachedParquetFileReaderFactory::new(
                Arc::clone(&object_store),
                runtime.cache_manager.get_file_metadata_cache(),
            ),
            local: local.then(LocalFileSystem::new),
            map,
            store: object_store,
            url: if local {
                String::new()
            } else {
                store.as_str().to_owned()
            },
        })
    }
}

impl ParquetFileReaderFactory for ViewReaderFactory {
    fn create_reader(
        &self,
        partition_index: usize,
        file: PartitionedFile,
        metadata_size_hint: Option<usize>,
        metrics: &ExecutionPlanMetricsSet,
    ) -> datafusion::common::Result<Box<dyn AsyncFileReader + Send>> {
        let (mut mapped, mut check) = (None, None);
        let mut name = format!("{}{}", self.url, file.object_meta.location);
        if let Some(local) = &self.local {
            let path = local.path_to_filesystem(&file.object_meta.location)?;
            name = path.display().to_string();
            if self.map {
                mapped = Some(MappedReads::new(
                    path.clone(),
                    &file.object_meta,
                    partition_index,
                    metrics,
                ));
            }
            check = Some(Unchecked {
                path,
                len: file.object_meta.size,
                identity: file.object_meta.e_tag.clone(),
            });
        }
        let read = Noted {
            name,
            store: Arc::clone(&self.store),
            meta: file.object_meta.clone(),
        };
        let inner = self
            .inner
            .create_reader(partition_index, file, metadata_size_hint, metrics)?;
        Ok(Box::new(ViewReader {
            inner,
            mapped,
            check,
            read,
        }))
    }
}

struct ViewReader {
    inner: Box<dyn AsyncFileReader + Send>,
    /// Column chunks come from here when set; footers always come from `inner`
    /// (and DataFusion's metadata cache).
    mapped: Option<MappedReads>,
    /// A local file before its first read: checked to be the file whose
    /// footer was read (the map checks again, on the handle it maps).
    check: Option<Unchecked>,
    read: Noted,
}

/// The file a reader reads, noted as read (see [`super::diagnose`]) when its
/// column chunks are.
struct Noted {
    name: String,
    store: Arc<dyn ObjectStore>,
    meta: ObjectMeta,
}

impl Noted {
    fn note(&self) {
        super::diagnose::note_read(&self.name, &self.store, &self.meta);
    }
}

/// A local file not yet checked against its identity when listed.
struct Unchecked {
    path: PathBuf,
    len: u64,
    identity: Option<String>,
}

impl ViewReader {
    /// Checks a local file once, before anything of it is read.
    fn checked(&mut self) -> parquet::errors::Result<()> {
        let Some(file) = self.check.take() else {
            return Ok(());
        };
        // A file gone or unreadable is the reader's own error to give.
        let Ok(stat) = std::fs::metadata(&file.path) else {
            return Ok(());
        };
        super::mmap::unchanged(&file.path, &stat, file.len, file.identity.as_deref())
            .map_err(|e| ParquetError::External(e.into()))
    }
}

/// One file's column chunks, read through a map of it, counted in the scan's
/// metrics as DataFusion's reader counts what it reads.
struct MappedReads {
    path: PathBuf,
    len: u64,
    /// The file's identity when its footer was read.
    identity: Option<String>,
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
            identity: meta.e_tag.clone(),
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
            self.map = match MappedFile::open(&self.path, self.len, self.identity.as_deref()) {
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
        if let Err(e) = self.checked() {
            return futures::future::ready(Err(e)).boxed();
        }
        self.read.note();
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
        if let Err(e) = self.checked() {
            return futures::future::ready(Err(e)).boxed();
        }
        self.read.note();
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
            self.checked()?;
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
    use datafusion::object_store::path::Path as StorePath;
    use std::path::Path;

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
            let factory =
                ViewReaderFactory::new(&runtime, &ObjectStoreUrl::local_filesystem(), map).unwrap();
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
}
