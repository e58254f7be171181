//! Results as a stream: batches handed to Python as the engine makes them.
//!
//! `sql(..., stream=True)` and `esql(..., stream=True)` return a [`Stream`]
//! instead of collected [`Results`](crate): a worker thread with its own
//! runtime runs the query and passes each batch through a channel that holds
//! two, so a result larger than memory flows through pyarrow, polars or
//! DuckDB a batch at a time. The call itself waits only for the plan (a bad
//! query raises there). Dropping or closing the stream, or stopping reading,
//! ends the run: the worker's next send fails, the query is dropped and its
//! runtime shut down, spill files with it.

use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};

use arrow::array::{RecordBatch, RecordBatchReader};
use arrow::datatypes::SchemaRef;
use arrow::error::ArrowError;
use arrow::ffi::FFI_ArrowSchema;
use arrow::ffi_stream::FFI_ArrowArrayStream;
use futures::StreamExt;
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

use crate::{CLEANUP, InputError, RunError, SIGNAL_POLL, STACK, pending_signals, to_py};

/// What the worker sends: the schema first, then batches, then the end.
enum Message {
    Schema(SchemaRef, Vec<(String, String)>),
    Batch(RecordBatch),
    Failed(lakehunt::Error),
    /// The stream is exhausted; ES|QL's warnings, now counted.
    End(Vec<lakehunt::Warning>),
}

/// A query started: its rows to come and what a file of them would say.
pub struct Started {
    pub rows: datafusion::execution::SendableRecordBatchStream,
    /// ES|QL's warning counters, complete once `rows` is.
    pub counts: Option<lakehunt::engine::EsqlCounts>,
    pub metadata: Vec<(String, String)>,
    /// Kept alive while the rows are made.
    pub engine: lakehunt::Engine,
}

/// ES|QL's warnings as (name, count, message), set when the stream ends.
type Counted = Arc<Mutex<Option<Vec<(String, u64, String)>>>>;

/// A query being started, on the worker's runtime.
pub type Run =
    std::pin::Pin<Box<dyn std::future::Future<Output = lakehunt::Result<Started>> + Send>>;

/// Starts `run` on a worker thread and waits (without the GIL, Ctrl-C
/// honoured) for its schema or its error.
pub fn start(py: Python<'_>, run: impl FnOnce() -> Run + Send + 'static) -> PyResult<Stream> {
    let (tx, rx) = sync_channel::<Message>(2);
    std::thread::Builder::new()
        .name("lakehunt-stream".into())
        .stack_size(STACK)
        .spawn(move || work(&tx, run))
        .map_err(|e| RunError::new_err(format!("cannot start a worker thread: {e}")))?;
    let (first, rx) = py.detach(move || (receive(&rx, true), rx));
    let (schema, metadata) = match first? {
        Some(Message::Schema(schema, metadata)) => (schema, metadata),
        Some(Message::Failed(e)) => return Err(to_py(&e)),
        _ => return Err(RunError::new_err("the run ended before its first batch")),
    };
    Ok(Stream {
        schema,
        metadata,
        warnings: Arc::new(Mutex::new(None)),
        receiver: Mutex::new(Some(rx)),
    })
}

fn work(tx: &SyncSender<Message>, run: impl FnOnce() -> Run) {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(lakehunt::engine::WORKER_STACK)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = tx.send(Message::Failed(lakehunt::Error::Io(e)));
            return;
        }
    };
    rt.block_on(async {
        let Started {
            mut rows,
            counts,
            metadata,
            engine: _engine,
        } = match run().await {
            Ok(started) => started,
            Err(e) => {
                let _ = tx.send(Message::Failed(e));
                return;
            }
        };
        if tx.send(Message::Schema(rows.schema(), metadata)).is_err() {
            return;
        }
        while let Some(batch) = rows.next().await {
            let message = match batch {
                Ok(batch) => Message::Batch(batch),
                Err(e) => Message::Failed(e.into()),
            };
            let failed = matches!(message, Message::Failed(_));
            // A send fails once the reader is gone: stop running.
            if tx.send(message).is_err() || failed {
                return;
            }
        }
        let warnings = counts.map(|c| c.warnings()).unwrap_or_default();
        let _ = tx.send(Message::End(warnings));
    });
    rt.shutdown_timeout(CLEANUP);
}

/// The next message, checking for Ctrl-C while it is awaited when `signals`;
/// `None` when the worker is gone.
fn receive(rx: &Receiver<Message>, signals: bool) -> PyResult<Option<Message>> {
    loop {
        match rx.recv_timeout(SIGNAL_POLL) {
            Ok(message) => return Ok(Some(message)),
            Err(RecvTimeoutError::Disconnected) => return Ok(None),
            Err(RecvTimeoutError::Timeout) if signals => Python::attach(pending_signals)?,
            Err(RecvTimeoutError::Timeout) => {}
        }
    }
}

/// A query's rows as they are made: read it once, through the Arrow
/// PyCapsule interface (`pyarrow.RecordBatchReader.from_stream`,
/// `polars.from_arrow`, DuckDB).
#[pyclass(module = "lakehunt._lakehunt", frozen)]
pub struct Stream {
    schema: SchemaRef,
    metadata: Vec<(String, String)>,
    /// Filled when the stream is read to its end.
    warnings: Counted,
    receiver: Mutex<Option<Receiver<Message>>>,
}

#[pymethods]
impl Stream {
    /// The Arrow C stream of the rows; a stream can be read once.
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let _ = requested_schema;
        let rx = self
            .receiver
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .ok_or_else(|| InputError::new_err("this stream was already read (a stream is read once; collect it, or run again)"))?;
        let reader = ChannelReader {
            schema: Arc::clone(&self.schema),
            rx: Some(rx),
            warnings: Arc::clone(&self.warnings),
            python_thread: std::thread::current().id(),
        };
        PyCapsule::new_with_value(
            py,
            FFI_ArrowArrayStream::new(Box::new(reader)),
            c"arrow_array_stream",
        )
    }

    /// The Arrow C schema of the rows.
    fn __arrow_c_schema__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        let schema = FFI_ArrowSchema::try_from(self.schema.as_ref())
            .map_err(|e| RunError::new_err(e.to_string()))?;
        PyCapsule::new_with_value(py, schema, c"arrow_schema")
    }

    /// Stops the run if it is still going; the stream can no longer be read.
    fn close(&self) {
        drop(
            self.receiver
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
    }

    /// Whether the stream was read (or closed).
    #[getter]
    fn consumed(&self) -> bool {
        self.receiver
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none()
    }

    #[getter]
    fn column_names(&self) -> Vec<String> {
        self.schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    }

    /// The run's metadata, as the command writes it into a Parquet footer.
    #[getter]
    fn metadata(&self) -> Vec<(String, String)> {
        self.metadata.clone()
    }

    /// ES|QL's warnings as (name, count, message), once the stream was read
    /// to its end; `None` before.
    #[getter]
    fn warnings(&self) -> Option<Vec<(String, u64, String)>> {
        self.warnings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The Rust side of the C stream: each `next` takes the worker's next batch.
struct ChannelReader {
    schema: SchemaRef,
    /// `None` once the end or an error was seen.
    rx: Option<Receiver<Message>>,
    warnings: Counted,
    /// The thread that asked for the stream. Ctrl-C is checked for only
    /// there: a consumer reading on threads of its own (DuckDB) may hold
    /// the GIL on this one while it waits for them.
    python_thread: std::thread::ThreadId,
}

impl Iterator for ChannelReader {
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rx = self.rx.as_ref()?;
        let message = match receive(rx, std::thread::current().id() == self.python_thread) {
            Ok(message) => message,
            Err(interrupt) => {
                // Ctrl-C while waiting: the run stops with the reader.
                self.rx = None;
                return Some(Err(ArrowError::ExternalError(Box::new(interrupt))));
            }
        };
        match message {
            Some(Message::Batch(batch)) => Some(Ok(batch)),
            Some(Message::End(warnings)) => {
                *self.warnings.lock().unwrap_or_else(PoisonError::into_inner) = Some(
                    warnings
                        .into_iter()
                        .map(|w| (w.name, w.count, w.message))
                        .collect(),
                );
                self.rx = None;
                None
            }
            Some(Message::Failed(e)) => {
                self.rx = None;
                Some(Err(ArrowError::ExternalError(Box::new(e))))
            }
            Some(Message::Schema(..)) | None => {
                self.rx = None;
                Some(Err(ArrowError::ExternalError(
                    "the run ended without finishing its stream".into(),
                )))
            }
        }
    }
}

impl RecordBatchReader for ChannelReader {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
}
