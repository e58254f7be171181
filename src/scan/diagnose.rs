//! Naming the file a decoding error came from.
//!
//! The Parquet reader decodes pages far from where they were read, and its
//! errors ("Data corruption detected", "invalid key=50916 for dictionary",
//! "Page CRC checksum mismatch") name no file. The scan's reader notes each
//! file whose column chunks it reads ([`note_read`]); when a query fails with
//! such an error, the files its scans read last are read again, whole, one at
//! a time, and the first that fails is named with its own error (see
//! [`with_named_errors`]).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use datafusion::common::DataFusionError;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::parquet::DefaultParquetFileReaderFactory;
use datafusion::datasource::physical_plan::{FileGroup, ParquetFileReaderFactory, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::object_store::{ObjectMeta, ObjectStore};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::metrics::ExecutionPlanMetricsSet;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::{StreamExt, TryStreamExt};
use parquet::arrow::ParquetRecordBatchStreamBuilder;
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::AsyncFileReader;
use parquet::file::metadata::PageIndexPolicy;

/// Files read last, at most this many.
const RECENT: usize = 64;
/// Files read again to find the one at fault, at most this many.
const CANDIDATES: usize = 8;

/// A file whose column chunks a scan has read.
#[derive(Clone)]
struct Read {
    /// How to name it: its path, or its URL in a store.
    name: String,
    store: Arc<dyn ObjectStore>,
    meta: ObjectMeta,
}

/// The files whose column chunks were read last, newest last.
static READ: Mutex<VecDeque<Read>> = Mutex::new(VecDeque::new());

/// Notes that `meta`'s column chunks are being read from `store`, the file
/// called `name` in errors.
pub(crate) fn note_read(name: &str, store: &Arc<dyn ObjectStore>, meta: &ObjectMeta) {
    let mut read = READ.lock().unwrap_or_else(PoisonError::into_inner);
    if read
        .back()
        .is_some_and(|r| r.meta.location == meta.location)
    {
        return;
    }
    read.retain(|r| r.meta.location != meta.location);
    if read.len() == RECENT {
        read.pop_front();
    }
    read.push_back(Read {
        name: name.to_owned(),
        store: Arc::clone(store),
        meta: meta.clone(),
    });
}

/// Whether `e` is the Parquet reader's, decoding what it read.
fn is_decoding(e: &DataFusionError) -> bool {
    match e.find_root() {
        DataFusionError::ParquetError(_) => true,
        DataFusionError::ArrowError(inner, _) => {
            matches!(inner.as_ref(), arrow::error::ArrowError::ParquetError(_))
        }
        _ => false,
    }
}

/// The files `plan`'s Parquet scans read (their locations).
fn files_of(plan: &dyn ExecutionPlan, out: &mut Vec<String>) {
    if let Some(scan) = plan.downcast_ref::<DataSourceExec>()
        && let Some((config, _)) = scan.downcast_to_file_source::<ParquetSource>()
    {
        out.extend(
            config
                .file_groups
                .iter()
                .flat_map(FileGroup::iter)
                .map(|f| f.object_meta.location.to_string()),
        );
    }
    for child in plan.children() {
        files_of(child.as_ref(), out);
    }
}

/// Reads `file` whole, its page index too: the first error, if any.
async fn first_error(file: &Read) -> Option<String> {
    let factory = DefaultParquetFileReaderFactory::new(Arc::clone(&file.store));
    let part = PartitionedFile::new_from_meta(file.meta.clone());
    let reader: Box<dyn AsyncFileReader> =
        match factory.create_reader(0, part, None, &ExecutionPlanMetricsSet::new()) {
            Ok(reader) => reader,
            Err(e) => return Some(e.to_string()),
        };
    // The page index too: the scan reads it to prune pages.
    let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional);
    let stream = match ParquetRecordBatchStreamBuilder::new_with_options(reader, options).await {
        Ok(builder) => builder.build(),
        Err(e) => return Some(e.to_string()),
    };
    match stream {
        Ok(stream) => stream
            .try_for_each(|_| async { Ok(()) })
            .await
            .err()
            .map(|e| e.to_string()),
        Err(e) => Some(e.to_string()),
    }
}

/// `error`, naming the file at fault when it is a decoding error and one of
/// the files `plan` read last fails when read again.
async fn name_file(plan: &dyn ExecutionPlan, error: DataFusionError) -> DataFusionError {
    if !is_decoding(&error) {
        return error;
    }
    let mut files = vec![];
    files_of(plan, &mut files);
    let candidates: Vec<Read> = {
        let read = READ.lock().unwrap_or_else(PoisonError::into_inner);
        read.iter()
            .rev()
            .filter(|r| files.contains(&r.meta.location.to_string()))
            .take(CANDIDATES)
            .cloned()
            .collect()
    };
    for file in &candidates {
        if let Some(why) = first_error(file).await {
            return DataFusionError::Execution(format!(
                "cannot read Parquet file {}: {why}",
                file.name
            ));
        }
    }
    error
}

/// `stream` of `plan`, its first decoding error naming its file (see
/// [`name_file`]).
pub(crate) fn with_named_errors(
    plan: Arc<dyn ExecutionPlan>,
    stream: SendableRecordBatchStream,
) -> SendableRecordBatchStream {
    let schema = stream.schema();
    let named = stream.then(move |item| {
        let plan = Arc::clone(&plan);
        async move {
            match item {
                Err(e) => Err(name_file(plan.as_ref(), e).await),
                ok => ok,
            }
        }
    });
    Box::pin(RecordBatchStreamAdapter::new(schema, named))
}
