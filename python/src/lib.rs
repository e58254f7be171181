//! `lakehunt._lakehunt`: the native half of the Python module.
//!
//! A thin face over the library, beside the CLI: the same [`Engine`], hunts,
//! ES|QL and SQL; results handed to Python as Arrow through the C stream
//! interface (`__arrow_c_stream__`), without a copy. The Python package
//! (`python/lakehunt/__init__.py`) wraps these functions with keyword
//! arguments, docstrings and Python warnings.
//!
//! Every run happens on a worker thread with a large stack (deep ES|QL plans
//! recurse), while the calling thread waits without the GIL and checks for
//! Ctrl-C every 50 ms: an interrupt cancels the run, waits for it to clean up
//! (spill files, half-written outputs), then raises `KeyboardInterrupt`.
//! Each run has its own async runtime, as each command has: dropping it
//! waits for the run's last task, so nothing of a cancelled run lingers.

// Functions called from Python take what pyo3 extracts (owned values) and as
// many keyword arguments and switches as the command has flags.
#![allow(
    clippy::needless_pass_by_value,
    clippy::too_many_arguments,
    clippy::fn_params_excessive_bools,
    clippy::struct_excessive_bools,
    reason = "pyfunction signatures mirror the command's flags"
)]

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, mpsc};
use std::time::Duration;

use arrow::array::{RecordBatch, RecordBatchIterator};
use arrow::ffi::FFI_ArrowSchema;
use arrow::ffi_stream::FFI_ArrowArrayStream;
use lakehunt::backfill::{BackfillSpec, backfill as run_backfill};
use lakehunt::output::Format;
use lakehunt::params::{format_instant, parse_bytes, parse_duration, parse_instant};
use lakehunt::sample::{SampleLayout, SampleSpec};
use lakehunt::source::SchemaMode;
use lakehunt::source::census::Census;
use lakehunt::source::remote::StoreOptions;
use lakehunt::{Engine, EngineOptions, Table, hunt};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

mod functions;
mod stream;

create_exception!(
    _lakehunt,
    LakehuntError,
    PyException,
    "Any lakehunt error; the message is the CLI's one line."
);
create_exception!(
    _lakehunt,
    InputError,
    LakehuntError,
    "Bad input: a path, a file, a flag, a parameter, a hunt or a query that cannot be used."
);
create_exception!(
    _lakehunt,
    RunError,
    LakehuntError,
    "A run that failed: the engine, an object store, a cluster, or writing the output."
);

/// The worker thread's stack: room for deep plans, reserved, used as it grows.
const STACK: usize = 256 << 20;

/// How long a cancelled run's tasks get to stop.
const CLEANUP: Duration = Duration::from_secs(5);

/// How often the waiting thread looks for Ctrl-C.
const SIGNAL_POLL: Duration = Duration::from_millis(50);

/// A library error as the Python exception for its kind.
fn to_py(err: &lakehunt::Error) -> PyErr {
    use lakehunt::Error as E;
    let message = err.to_string().replace('\n', " ");
    match err {
        E::Query(_)
        | E::HuntFailed { .. }
        | E::ObjectStore { .. }
        | E::Cluster { .. }
        | E::OutputWrite { .. }
        | E::Io(_)
        | E::Arrow(_)
        | E::Parquet(_) => RunError::new_err(message),
        _ => InputError::new_err(message),
    }
}

/// Bad input named by its argument.
fn bad(name: &str, message: impl std::fmt::Display) -> PyErr {
    InputError::new_err(format!("invalid value for {name}: {message}"))
}

/// Runs `make()`'s future on a worker thread; see the module's docs.
fn block<T, F, Fut>(py: Python<'_>, make: F) -> PyResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = lakehunt::Result<T>>,
{
    let (cancel, cancelled) = tokio::sync::oneshot::channel::<()>();
    let (done, result) = mpsc::channel();
    let worker = std::thread::Builder::new()
        .name("lakehunt".into())
        .stack_size(STACK)
        .spawn(move || {
            // A runtime per run: shutting it down drops every task of the run,
            // and with them the session and its spill folder. A task busy in
            // one long poll is given CLEANUP to reach its next yield point.
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .thread_stack_size(lakehunt::engine::WORKER_STACK)
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = done.send(Some(Err(lakehunt::Error::Io(e))));
                    return;
                }
            };
            let out = rt.block_on(async move {
                tokio::select! {
                    out = make() => Some(out),
                    _ = cancelled => None,
                }
            });
            rt.shutdown_timeout(CLEANUP);
            // The receiver is gone only when the caller stopped waiting.
            let _ = done.send(out);
        })
        .map_err(|e| RunError::new_err(format!("cannot start a worker thread: {e}")))?;
    let waited = py.detach(move || {
        loop {
            match result.recv_timeout(SIGNAL_POLL) {
                Ok(out) => return Ok(out),
                Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(None),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    Python::attach(pending_signals)?;
                }
            }
        }
    });
    match waited {
        Ok(Some(out)) => {
            let _ = worker.join();
            out.map_err(|e| to_py(&e))
        }
        Ok(None) => match py.detach(|| worker.join()) {
            Err(panic) => Err(RunError::new_err(format!(
                "lakehunt panicked: {}",
                panic_text(panic.as_ref())
            ))),
            Ok(()) => Err(RunError::new_err("the run ended without a result")),
        },
        Err(interrupt) => {
            // Cancel, and wait for the run's cleanup (its spill folder, a
            // temporary output file) before handing the interrupt back.
            let _ = cancel.send(());
            let _ = py.detach(|| worker.join());
            Err(interrupt)
        }
    }
}

/// Runs Python's signal handlers: `KeyboardInterrupt` after a Ctrl-C.
fn pending_signals(py: Python<'_>) -> PyResult<()> {
    py.check_signals()
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned())
}

/// Session settings shared by every function that reads data.
#[pyclass(module = "lakehunt._lakehunt", frozen, from_py_object)]
#[derive(Clone, Debug)]
struct Settings {
    memory_limit: Option<u64>,
    target_partitions: Option<usize>,
    batch_size: Option<usize>,
    tmp_dir: Option<PathBuf>,
    schema: SchemaMode,
    anonymous: bool,
    date_pruning: bool,
    date_folders: Vec<String>,
    mmap: bool,
    threshold_pruning: bool,
    threshold_spill: bool,
    compact_views: bool,
    merge_headroom: bool,
    spill_fan_in: bool,
    hashed_count_distinct: bool,
    null_as_false: bool,
    regex_once: bool,
    shared_tests: bool,
    cluster: Option<lakehunt::cluster::ClusterUrl>,
}

#[pymethods]
impl Settings {
    #[new]
    #[pyo3(signature = (
        *,
        memory_limit = None,
        target_partitions = None,
        batch_size = None,
        tmp_dir = None,
        schema = "auto",
        anonymous = false,
        date_pruning = true,
        date_folders = Vec::new(),
        mmap = true,
        threshold_pruning = true,
        threshold_spill = true,
        compact_views = true,
        merge_headroom = true,
        spill_fan_in = true,
        hashed_count_distinct = true,
        null_as_false = true,
        regex_once = true,
        shared_tests = true,
        cluster = None,
    ))]
    fn new(
        memory_limit: Option<&str>,
        target_partitions: Option<usize>,
        batch_size: Option<usize>,
        tmp_dir: Option<PathBuf>,
        schema: &str,
        anonymous: bool,
        date_pruning: bool,
        date_folders: Vec<String>,
        mmap: bool,
        threshold_pruning: bool,
        threshold_spill: bool,
        compact_views: bool,
        merge_headroom: bool,
        spill_fan_in: bool,
        hashed_count_distinct: bool,
        null_as_false: bool,
        regex_once: bool,
        shared_tests: bool,
        cluster: Option<&str>,
    ) -> PyResult<Settings> {
        let memory_limit = memory_limit
            .map(|text| match parse_bytes(text) {
                Ok(n) if n > 0 => Ok(n as u64),
                Ok(_) => Err(bad(
                    "memory_limit",
                    format!("'{text}' must be more than 0 bytes"),
                )),
                Err(message) => Err(bad("memory_limit", message)),
            })
            .transpose()?;
        if target_partitions == Some(0) {
            return Err(bad("target_partitions", "must be at least 1"));
        }
        if batch_size == Some(0) {
            return Err(bad("batch_size", "must be at least 1"));
        }
        let schema = match schema {
            "auto" => SchemaMode::Auto,
            "ecs" => SchemaMode::Ecs,
            "ocsf" => SchemaMode::Ocsf,
            other => return Err(bad("schema", format!("'{other}': use auto, ecs or ocsf"))),
        };
        let cluster = cluster
            .map(|url| {
                url.parse()
                    .map_err(|message: String| bad("cluster", message))
            })
            .transpose()?;
        Ok(Settings {
            memory_limit,
            target_partitions,
            batch_size,
            tmp_dir,
            schema,
            anonymous,
            date_pruning,
            date_folders,
            mmap,
            threshold_pruning,
            threshold_spill,
            compact_views,
            merge_headroom,
            spill_fan_in,
            hashed_count_distinct,
            null_as_false,
            regex_once,
            shared_tests,
            cluster,
        })
    }
}

impl Settings {
    fn engine_options(&self) -> EngineOptions {
        EngineOptions {
            batch_size: self.batch_size,
            target_partitions: self.target_partitions,
            schema: self.schema,
            memory_limit: self.memory_limit,
            tmp_dir: self.tmp_dir.clone(),
            time_range: None,
            date_folders: lakehunt::source::day_folder_keys(&self.date_folders),
            mmap: self.mmap,
            threshold_pruning: self.threshold_pruning,
            threshold_spill: self.threshold_spill,
            compact_views: self.compact_views,
            merge_headroom: self.merge_headroom,
            spill_fan_in: self.spill_fan_in,
            hashed_count_distinct: self.hashed_count_distinct,
            null_as_false: self.null_as_false,
            regex_once: self.regex_once,
            shared_tests: self.shared_tests,
            settings: vec![],
            stores: self.stores(),
            cluster: self.cluster.clone(),
            share_scans: false,
        }
    }

    /// [`Settings::engine_options`] for a run that only looks at `(lo, hi]`.
    fn engine_options_in(&self, lo: i64, hi: i64) -> EngineOptions {
        let mut options = self.engine_options();
        if self.date_pruning {
            options.time_range = Some((lo, hi));
        }
        options
    }

    fn stores(&self) -> StoreOptions {
        StoreOptions {
            anonymous: self.anonymous,
        }
    }
}

/// A run's result: Arrow batches with the run's metadata and warnings.
#[pyclass(module = "lakehunt._lakehunt", frozen)]
struct Results {
    table: Table,
    metadata: Vec<(String, String)>,
    /// (name, count, message) of each non-zero warning.
    warnings: Vec<(String, u64, String)>,
}

impl Results {
    fn new(table: Table, metadata: Vec<(String, String)>) -> Results {
        Results {
            table,
            metadata,
            warnings: vec![],
        }
    }

    fn warned(mut self, warnings: Vec<lakehunt::Warning>) -> Results {
        self.warnings = warnings
            .into_iter()
            .map(|w| (w.name, w.count, w.message))
            .collect();
        self
    }

    /// The first `limit` rows as a table of their own.
    fn head(&self, limit: usize) -> Table {
        let mut batches = vec![];
        let mut left = limit;
        for batch in &self.table.batches {
            if left == 0 {
                break;
            }
            let take = batch.num_rows().min(left);
            batches.push(batch.slice(0, take));
            left -= take;
        }
        Table {
            schema: Arc::clone(&self.table.schema),
            batches,
        }
    }
}

#[pymethods]
impl Results {
    /// The Arrow C stream of the rows (the Arrow PyCapsule interface): the
    /// batches are shared, not copied. `requested_schema` is not applied.
    #[pyo3(signature = (requested_schema = None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let _ = requested_schema;
        let batches: Vec<Result<RecordBatch, arrow::error::ArrowError>> =
            self.table.batches.iter().cloned().map(Ok).collect();
        let reader = RecordBatchIterator::new(batches, Arc::clone(&self.table.schema));
        let stream = FFI_ArrowArrayStream::new(Box::new(reader));
        PyCapsule::new_with_value(py, stream, c"arrow_array_stream")
    }

    /// The Arrow C schema of the rows.
    fn __arrow_c_schema__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        let schema = FFI_ArrowSchema::try_from(self.table.schema.as_ref())
            .map_err(|e| RunError::new_err(e.to_string()))?;
        PyCapsule::new_with_value(py, schema, c"arrow_schema")
    }

    #[getter]
    fn num_rows(&self) -> usize {
        self.table.num_rows()
    }

    #[getter]
    fn column_names(&self) -> Vec<String> {
        self.table
            .schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    }

    #[getter]
    fn metadata(&self) -> Vec<(String, String)> {
        self.metadata.clone()
    }

    #[getter]
    fn warnings(&self) -> Vec<(String, u64, String)> {
        self.warnings.clone()
    }

    /// The first `limit` rows as the CLI's text table.
    fn text(&self, limit: usize) -> PyResult<String> {
        lakehunt::output::render_table(&self.head(limit)).map_err(|e| to_py(&e))
    }

    /// The first `limit` rows as an HTML table, every value escaped.
    fn html(&self, limit: usize) -> PyResult<String> {
        lakehunt::output::render_html_table(&self.head(limit)).map_err(|e| to_py(&e))
    }

    /// Writes the rows with the run's metadata, as the CLI's `--out` does:
    /// under a temporary name, renamed (or uploaded) when complete.
    #[pyo3(signature = (path, format = None))]
    fn write(&self, py: Python<'_>, path: PathBuf, format: Option<&str>) -> PyResult<()> {
        let format = match format {
            Some("parquet") => Format::Parquet,
            Some("csv") => Format::Csv,
            Some(other) => return Err(bad("format", format!("'{other}': use parquet or csv"))),
            None => Format::from_path(&path).ok_or_else(|| {
                bad(
                    "path",
                    format!(
                        "cannot tell the format of {} from its extension; pass format='parquet' or 'csv'",
                        path.display()
                    ),
                )
            })?,
        };
        if format == Format::Table {
            return Err(bad(
                "format",
                "a text table is not a file format: use parquet or csv",
            ));
        }
        let table = self.table.clone();
        let metadata = self.metadata.clone();
        block(py, move || async move {
            lakehunt::output::write_file(&path, format, &table, &metadata)
        })
    }
}

fn instant(name: &str, text: &str) -> PyResult<i64> {
    parse_instant(text).map_err(|message| bad(name, message))
}

fn now() -> PyResult<i64> {
    chrono::Utc::now()
        .timestamp_nanos_opt()
        .ok_or_else(|| RunError::new_err("the clock is past 2262"))
}

fn need_data(data: &[String]) -> PyResult<()> {
    if data.is_empty() {
        return Err(InputError::new_err(
            "no events given: pass data= (Parquet files, folders, globs or object-store URLs)",
        ));
    }
    Ok(())
}

/// A shipped hunt over `data` (or the embedded sample).
#[pyfunction]
#[pyo3(signature = (hunt, data, as_of, window, params, sample, settings))]
fn run(
    py: Python<'_>,
    hunt: &str,
    data: Vec<String>,
    as_of: Option<&str>,
    window: Option<String>,
    params: Vec<(String, String)>,
    sample: bool,
    settings: Settings,
) -> PyResult<Results> {
    let hunt = hunt::find(hunt).map_err(|e| to_py(&e))?;
    let as_of = match (as_of, sample) {
        (Some(text), _) => instant("as_of", text)?,
        (None, true) => lakehunt::sample::embedded().as_of,
        (None, false) => now()?,
    };
    if sample && !data.is_empty() {
        return Err(InputError::new_err("give data= or sample=True, not both"));
    }
    if !sample {
        need_data(&data)?;
    }
    let bound = hunt
        .bind(as_of, window.as_deref(), &params)
        .map_err(|e| to_py(&e))?;
    block(py, move || async move {
        // Keeps the generated sample until the run ends.
        let (_sample_dir, paths) = if sample {
            let dir = lakehunt::sample::write_embedded()?;
            let path = dir.path().to_string_lossy().into_owned();
            (Some(dir), vec![path])
        } else {
            (None, data)
        };
        let options = settings.engine_options_in(bound.window_start, bound.as_of);
        let engine = Engine::open(&paths, &options).await?;
        engine.check_fields(&bound.hunt).await?;
        let output = engine.run_hunt(&bound).await?;
        let metadata = output.metadata(&bound, engine.source());
        Ok(Results::new(output.findings, metadata).warned(output.warnings))
    })
}

/// Ad-hoc SQL over `events`.
#[pyfunction]
fn sql(py: Python<'_>, query: String, data: Vec<String>, settings: Settings) -> PyResult<Results> {
    need_data(&data)?;
    block(py, move || async move {
        let engine = Engine::open(&data, &settings.engine_options()).await?;
        let table = engine.sql(&query).await?;
        Ok(Results::new(table, lakehunt::engine::sql_metadata(&query)))
    })
}

/// Ad-hoc SQL, its rows streamed as they are made.
#[pyfunction]
fn sql_stream(
    py: Python<'_>,
    query: String,
    data: Vec<String>,
    settings: Settings,
) -> PyResult<stream::Stream> {
    need_data(&data)?;
    stream::start(py, move || {
        Box::pin(async move {
            let engine = Engine::open(&data, &settings.engine_options()).await?;
            Ok(stream::Started {
                rows: engine.sql_stream(&query).await?,
                counts: None,
                metadata: lakehunt::engine::sql_metadata(&query),
                engine,
            })
        })
    })
}

/// An ES|QL query's checks before anything runs: the events given one way,
/// the query's syntax; its as-of instant and its text with the default limit.
fn esql_prelude(
    query: String,
    data: &[String],
    index: &[(String, Vec<String>)],
    as_of: Option<&str>,
    default_limit: bool,
) -> PyResult<(String, i64)> {
    // ROW reads no index: it runs without data.
    if data.is_empty() && index.is_empty() && !lakehunt::esql::reads_no_index(&query) {
        return Err(InputError::new_err(
            "no events given: pass data= or index={pattern: path} for each index pattern",
        ));
    }
    lakehunt::esql::check(&query).map_err(|e| to_py(&e))?;
    let as_of = match as_of {
        Some(text) => instant("as_of", text)?,
        None => now()?,
    };
    let query = if default_limit {
        format!("{query}\n| LIMIT {}", lakehunt::esql::DEFAULT_LIMIT)
    } else {
        query
    };
    Ok((query, as_of))
}

/// The engine over an ES|QL query's events, with its ENRICH policies
/// (`true`: a range policy) and LOOKUP JOIN's indexes.
async fn esql_engine(
    data: &[String],
    index: &[(String, Vec<String>)],
    enrich: &[(String, PathBuf, bool)],
    options: &EngineOptions,
) -> lakehunt::Result<Engine> {
    let mut engine = if index.is_empty() && data.is_empty() {
        // ROW (esql_prelude let nothing else through without data).
        Engine::without_data(options)?
    } else if data.is_empty() {
        Engine::open_indexed(index, options).await?
    } else {
        // Beside the data, indexes are LOOKUP JOIN's only.
        let mut engine = Engine::open(data, options).await?;
        for (name, paths) in index {
            engine.add_lookup_index(name, paths)?;
        }
        engine
    };
    for (policy, path, range) in enrich {
        if *range {
            engine.add_enrich_range(policy, path).await?;
        } else {
            engine.add_enrich(policy, path).await?;
        }
    }
    Ok(engine)
}

/// An ES|QL query, as written.
#[pyfunction]
#[pyo3(signature = (query, data, index, enrich, as_of, default_limit, settings))]
fn esql(
    py: Python<'_>,
    query: String,
    data: Vec<String>,
    index: Vec<(String, Vec<String>)>,
    enrich: Vec<(String, PathBuf, bool)>,
    as_of: Option<&str>,
    default_limit: bool,
    settings: Settings,
) -> PyResult<Results> {
    let (query, as_of) = esql_prelude(query, &data, &index, as_of, default_limit)?;
    block(py, move || async move {
        let engine = esql_engine(&data, &index, &enrich, &settings.engine_options()).await?;
        let (table, warnings) = engine.esql_observed(&query, as_of, &mut |_| {}).await?;
        let metadata =
            lakehunt::engine::esql_metadata(&query, as_of, default_limit, engine.source());
        Ok(Results::new(table, metadata).warned(warnings))
    })
}

/// An ES|QL query, its rows streamed as they are made.
#[pyfunction]
#[pyo3(signature = (query, data, index, enrich, as_of, default_limit, settings))]
fn esql_stream(
    py: Python<'_>,
    query: String,
    data: Vec<String>,
    index: Vec<(String, Vec<String>)>,
    enrich: Vec<(String, PathBuf, bool)>,
    as_of: Option<&str>,
    default_limit: bool,
    settings: Settings,
) -> PyResult<stream::Stream> {
    let (query, as_of) = esql_prelude(query, &data, &index, as_of, default_limit)?;
    stream::start(py, move || {
        Box::pin(async move {
            let engine = esql_engine(&data, &index, &enrich, &settings.engine_options()).await?;
            let (rows, counts) = engine.esql_stream(&query, as_of).await?;
            Ok(stream::Started {
                rows,
                counts: Some(counts),
                metadata: lakehunt::engine::esql_metadata(
                    &query,
                    as_of,
                    default_limit,
                    engine.source(),
                ),
                engine,
            })
        })
    })
}

/// The census of a dataset, as the JSON of `lakehunt schema --format json`.
#[pyfunction]
fn schema(py: Python<'_>, data: Vec<String>, settings: Settings) -> PyResult<String> {
    need_data(&data)?;
    block(py, move || async move {
        let census = Census::take(&data, settings.schema, &settings.stores())?;
        serde_json::to_string(&census).map_err(|e| lakehunt::Error::Io(e.into()))
    })
}

/// The shipped hunts, as JSON.
#[pyfunction]
fn hunts() -> PyResult<String> {
    let hunts: Vec<serde_json::Value> = hunt::catalog()
        .map_err(|e| to_py(&e))?
        .iter()
        .map(|h| {
            let parameters: serde_json::Map<String, serde_json::Value> = h
                .lakehunt
                .parameters
                .iter()
                .map(|(name, p)| {
                    let mut entry = serde_json::json!({
                        "default": p.default,
                        "help": p.help,
                    });
                    if !p.choices.is_empty() {
                        entry["choices"] = serde_json::json!(p.choices);
                    }
                    (name.clone(), entry)
                })
                .collect();
            serde_json::json!({
                "id": h.id(),
                "name": h.hunt.name,
                "uuid": h.hunt.uuid,
                "description": h.hunt.description.trim(),
                "mitre": h.hunt.mitre,
                "integration": h.hunt.integration,
                "window": h.lakehunt.window,
                "time_field": h.lakehunt.time_field,
                "parameters": parameters,
                "fields": h.lakehunt.fields.keys().collect::<Vec<_>>(),
                "sql": h.lakehunt.sql.trim_end(),
            })
        })
        .collect();
    Ok(serde_json::Value::Array(hunts).to_string())
}

/// Writes a synthetic sample; returns (files, rows, process files, process events).
#[pyfunction]
#[pyo3(signature = (out, rows, seed, as_of, layout, rows_per_file, processes))]
fn sample(
    py: Python<'_>,
    out: PathBuf,
    rows: usize,
    seed: u64,
    as_of: Option<&str>,
    layout: &str,
    rows_per_file: usize,
    processes: bool,
) -> PyResult<(Vec<PathBuf>, usize, Vec<PathBuf>, usize)> {
    let as_of = match as_of {
        Some(text) => instant("as_of", text)?,
        None => now()?,
    };
    let layout = match layout {
        "nested" => SampleLayout::Nested,
        "flat" => SampleLayout::Flat,
        "ocsf" => SampleLayout::Ocsf,
        other => {
            return Err(bad(
                "layout",
                format!("'{other}': use nested, flat or ocsf"),
            ));
        }
    };
    if rows_per_file == 0 {
        return Err(bad("rows_per_file", "must be at least 1"));
    }
    let mut spec = SampleSpec::new(rows, seed, as_of, layout);
    spec.rows_per_file = rows_per_file;
    block(py, move || async move {
        let summary = lakehunt::sample::write(&spec, &out)?;
        let (process_files, process_events) = if processes {
            lakehunt::sample::write_processes(&spec, &out)?
        } else {
            (vec![], 0)
        };
        Ok((summary.files, summary.rows, process_files, process_events))
    })
}

/// A hunt over every window of a stretch of archive; returns a JSON summary.
#[pyfunction]
#[pyo3(signature = (hunt, data, start, end, out, every, window, params, resume, force, settings))]
fn backfill(
    py: Python<'_>,
    hunt: &str,
    data: Vec<String>,
    start: &str,
    end: &str,
    out: PathBuf,
    every: Option<&str>,
    window: Option<&str>,
    params: Vec<(String, String)>,
    resume: bool,
    force: bool,
    settings: Settings,
) -> PyResult<String> {
    let hunt = hunt::find(hunt).map_err(|e| to_py(&e))?;
    need_data(&data)?;
    let from = instant("start", start)?;
    let to = instant("end", end)?;
    if resume && force {
        return Err(InputError::new_err(
            "give resume=True or force=True, not both",
        ));
    }
    let bound = hunt.bind(to, window, &params).map_err(|e| to_py(&e))?;
    let every = match every {
        Some(text) => parse_duration(text).map_err(|message| bad("every", message))?,
        None => bound.window,
    };
    let options = settings.engine_options_in(from + every - bound.window, to);
    let spec = BackfillSpec {
        bound,
        from,
        to,
        every,
        out,
        resume,
        force,
    };
    block(py, move || async move {
        let engine = Engine::open(&data, &options).await?;
        engine.check_fields(&spec.bound.hunt).await?;
        let summary = run_backfill(&engine, &spec, |_| {}).await?;
        let p = &summary.progress;
        Ok(serde_json::json!({
            "hunt": spec.bound.hunt.id(),
            "start": format_instant(spec.from),
            "end": format_instant(spec.to),
            "windows": p.windows_total,
            "days": p.days_total,
            "resumed_days": p.resumed,
            "findings": p.findings,
            "files_written": summary.files_written,
            "files_read": p.files,
            "rows_read": p.read.rows,
            "bytes_read": p.read.bytes,
            "out": spec.out.to_string_lossy(),
        })
        .to_string())
    })
}

/// A sweep of hunt files and shipped hunts (`lakehunt sweep`): the summary
/// it wrote to `out`, as JSON.
#[pyfunction]
#[pyo3(signature = (
    data, out, library, hunts, index, enrich, as_of, start, end, every, resume, shared_scan,
    settings
))]
fn sweep(
    py: Python<'_>,
    data: Vec<String>,
    out: PathBuf,
    library: Option<PathBuf>,
    hunts: Vec<String>,
    index: Vec<(String, Vec<String>)>,
    enrich: Vec<(String, PathBuf, bool)>,
    as_of: Option<&str>,
    start: Option<&str>,
    end: Option<&str>,
    every: &str,
    resume: bool,
    shared_scan: bool,
    settings: Settings,
) -> PyResult<String> {
    use lakehunt::sweep::{SUMMARY, SweepSpec, library_queries, shipped_queries, window_ends};
    let mut queries = shipped_queries(&hunts).map_err(|e| to_py(&e))?;
    if let Some(dir) = &library {
        queries.extend(library_queries(dir).map_err(|e| to_py(&e))?);
    }
    if queries.is_empty() {
        return Err(InputError::new_err(
            "no hunts to sweep: library= holds no hunt files and hunts= names none",
        ));
    }
    if data.is_empty() && index.is_empty() {
        return Err(InputError::new_err(
            "no events given: pass data= or index={pattern: path} for each index pattern",
        ));
    }
    let as_of = match (start, end, as_of) {
        (Some(start), Some(end), None) => {
            let every = parse_duration(every).map_err(|message| bad("every", message))?;
            window_ends(instant("start", start)?, instant("end", end)?, every)
                .map_err(|e| to_py(&e))?
        }
        (None, None, Some(as_of)) => vec![instant("as_of", as_of)?],
        (None, None, None) => vec![now()?],
        _ => {
            return Err(InputError::new_err(
                "give start= and end= together (windows), or as_of= (one instant), not both",
            ));
        }
    };
    let options = EngineOptions {
        share_scans: shared_scan,
        ..settings.engine_options()
    };
    let mut given = data.clone();
    given.extend(
        index
            .iter()
            .flat_map(|(name, paths)| paths.iter().map(move |path| format!("{name}={path}"))),
    );
    let spec = SweepSpec {
        queries,
        as_of,
        data: given,
        out,
        resume,
    };
    block(py, move || async move {
        let engine = esql_engine(&data, &index, &enrich, &options).await?;
        lakehunt::sweep::sweep(&engine, &spec, |_, _| {}).await?;
        let path = spec.out.join(SUMMARY);
        std::fs::read_to_string(&path).map_err(|e| lakehunt::Error::OutputWrite {
            path,
            message: format!("cannot read the summary back: {e}"),
        })
    })
}

#[pymodule]
fn _lakehunt(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("LakehuntError", py.get_type::<LakehuntError>())?;
    m.add("InputError", py.get_type::<InputError>())?;
    m.add("RunError", py.get_type::<RunError>())?;
    m.add("SAMPLE_AS_OF", lakehunt::sample::EMBEDDED_AS_OF)?;
    m.add_class::<Settings>()?;
    m.add_class::<Results>()?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(sql, m)?)?;
    m.add_function(wrap_pyfunction!(esql, m)?)?;
    m.add_function(wrap_pyfunction!(sql_stream, m)?)?;
    m.add_function(wrap_pyfunction!(esql_stream, m)?)?;
    m.add_class::<stream::Stream>()?;
    m.add_function(wrap_pyfunction!(schema, m)?)?;
    m.add_function(wrap_pyfunction!(hunts, m)?)?;
    m.add_function(wrap_pyfunction!(sample, m)?)?;
    m.add_function(wrap_pyfunction!(backfill, m)?)?;
    m.add_function(wrap_pyfunction!(sweep, m)?)?;
    m.add_class::<functions::ScalarFunction>()?;
    m.add_class::<functions::AggregateFunction>()?;
    m.add_function(wrap_pyfunction!(functions::scalar_functions, m)?)?;
    m.add_function(wrap_pyfunction!(functions::aggregate_functions, m)?)?;
    m.add_function(wrap_pyfunction!(functions::ffi_version, m)?)?;
    Ok(())
}
