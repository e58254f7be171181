//! Command-line types (clap derive) and the handlers behind them.
//!
//! Two stages, as in ripgrep: clap structs hold what was typed; each handler
//! validates it into library values before any data is read.

mod backfill;
mod cluster;
mod esql;
mod explain;
mod hunts;
mod ingest;
mod pivot;
mod progress;
mod run;
mod sample;
mod schema;
mod sweep;

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use lakehunt::Table;
use lakehunt::output::{self, Format};

const EXIT_CODES: &str = "\
Exit codes:
  0    ran (with or without findings)
  1    findings, with --fail-on-findings
  2    any error (bad flags, unreadable data, a field the hunt needs is missing)
  130  stopped by SIGINT (Ctrl-C), 143 by SIGTERM: nothing half-written is left";

/// Run threat hunts over archived security telemetry stored as Parquet.
///
/// Hunts are Elastic-style threat hunts ported to SQL over Apache DataFusion. Events
/// are read from Parquet in ECS layout (nested structs or flat dotted columns) and
/// exposed as the table `events` with flat ECS column names ("destination.ip").
#[derive(Debug, Parser)]
#[command(name = "lakehunt", version, after_help = EXIT_CODES, after_long_help = format!("\
Examples:
  lakehunt run egress-bytes --sample
  lakehunt run egress-bytes --data /lake/endpoint/ --as-of 2026-03-01T08:00:00Z --out findings.parquet
  lakehunt backfill egress-bytes --data /lake/endpoint/ --from 2026-03-01T00:00:00Z --to 2026-06-01T00:00:00Z --out findings/
  lakehunt hunts show egress-bytes
  lakehunt schema --data /lake/endpoint/
  lakehunt sql 'SELECT \"event.action\", count(*) FROM events GROUP BY 1' --data /lake/endpoint/
  lakehunt sample --out ./sample --rows 1000000
  lakehunt ingest export.ndjson.gz --out /lake/endpoint/
  lakehunt sweep --library detection-rules/hunting --data /lake/endpoint/ --out sweep/
  lakehunt pivot --findings findings.parquet --data /lake/endpoint/ --out around.parquet
  lakehunt run egress-bytes --data /shared/lake/ --cluster df://scheduler:50050

{EXIT_CODES}"))]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a shipped hunt over Parquet events.
    #[command(after_help = EXIT_CODES, after_long_help = run::RUN_EXAMPLES)]
    Run(run::RunArgs),
    /// Run a hunt over every window of a stretch of archive; resumable.
    #[command(after_long_help = backfill::BACKFILL_EXAMPLES)]
    Backfill(backfill::BackfillArgs),
    /// Run an ES|QL query, as Elastic's hunts are written, over Parquet.
    Esql(esql::EsqlArgs),
    /// Show the plan a hunt becomes; with --analyze, what it read and pruned.
    Explain(explain::ExplainArgs),
    /// List the shipped hunts, or show one.
    Hunts(hunts::HuntsArgs),
    /// Run ad-hoc SQL over the table `events`, with every lakehunt function registered.
    #[command(after_help = EXIT_CODES, after_long_help = run::SQL_EXAMPLES)]
    Sql(run::SqlArgs),
    /// The events around a hunt's leads: each process found, its parent, its children.
    #[command(after_long_help = pivot::PIVOT_EXAMPLES)]
    Pivot(pivot::PivotArgs),
    /// Run every query of a hunt library (and shipped hunts) over one dataset.
    #[command(after_long_help = sweep::SWEEP_EXAMPLES)]
    Sweep(sweep::SweepArgs),
    /// Convert Elasticsearch exports (NDJSON, _bulk, _search) into day-partitioned ECS Parquet.
    #[command(after_long_help = ingest::INGEST_EXAMPLES)]
    Ingest(ingest::IngestArgs),
    /// Generate synthetic Elastic Endpoint network events as Parquet.
    Sample(sample::SampleArgs),
    /// Census of a dataset: its schemas, their fields, and which hunts can run.
    Schema(schema::SchemaArgs),
    /// Run a cluster's scheduler (Apache DataFusion Ballista's, with lakehunt's functions).
    #[command(after_long_help = cluster::CLUSTER_EXAMPLES)]
    Scheduler(cluster::SchedulerArgs),
    /// Run a cluster's executor: it registers with a scheduler and runs tasks.
    #[command(after_long_help = cluster::CLUSTER_EXAMPLES)]
    Executor(cluster::ExecutorArgs),
}

/// How a successful command ended.
pub enum Outcome {
    /// Exit 0.
    Clean,
    /// Exit 1: findings were reported and `--fail-on-findings` was given.
    Findings,
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Hunts(args) => hunts::run(&args),
        Command::Sample(args) => sample::run(&args),
        Command::Ingest(args) => ingest::run(&args),
        Command::Schema(args) => schema::run(&args),
        Command::Scheduler(args) => cluster::scheduler(&args),
        Command::Executor(args) => cluster::executor(&args),
        Command::Run(args) => until_stopped(run::run(args)),
        Command::Sql(args) => until_stopped(run::sql(args)),
        Command::Backfill(args) => until_stopped(backfill::run(args)),
        Command::Explain(args) => until_stopped(explain::run(args)),
        Command::Esql(args) => until_stopped(esql::run(args)),
        Command::Sweep(args) => until_stopped(sweep::run(args)),
        Command::Pivot(args) => until_stopped(pivot::run(args)),
    }
}

/// A run ended by a signal: exit 128 + its number (130 for SIGINT, 143 for
/// SIGTERM), as a shell reports a process the signal killed.
#[derive(Debug, thiserror::Error)]
#[error("stopped by {name} (nothing half-written is left; backfill and sweep go on with --resume)")]
pub struct Stopped {
    /// SIGINT or SIGTERM.
    pub name: &'static str,
    /// The exit code.
    pub code: u8,
}

/// How long a stopped run's tasks get to reach their next yield point.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Runs a command to its end, or until SIGINT or SIGTERM. On a signal the
/// command's future is dropped: its session goes, and with it the spill
/// folder; outputs are written under temporary names and renamed whole, and
/// backfills and sweeps record each finished day or window, so nothing
/// half-written is left and `--resume` goes on. The runtime's tasks then get
/// [`STOP_GRACE`] to stop.
fn until_stopped(
    command: impl std::future::Future<Output = anyhow::Result<Outcome>>,
) -> anyhow::Result<Outcome> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(lakehunt::engine::WORKER_STACK)
        .build()
        .context("cannot start the async runtime")?;
    let ended = runtime.block_on(async {
        tokio::select! {
            // The signals first: they listen before the command starts, and a
            // run woken by one stops at once.
            biased;
            stopped = stop_signal() => Err(stopped?.into()),
            ended = command => ended,
        }
    });
    runtime.shutdown_timeout(STOP_GRACE);
    ended
}

/// The first SIGINT or SIGTERM.
#[cfg(unix)]
async fn stop_signal() -> anyhow::Result<Stopped> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    Ok(tokio::select! {
        _ = interrupt.recv() => Stopped { name: "SIGINT", code: 130 },
        _ = terminate.recv() => Stopped { name: "SIGTERM", code: 143 },
    })
}

/// Ctrl-C, where there are no Unix signals.
#[cfg(not(unix))]
async fn stop_signal() -> anyhow::Result<Stopped> {
    tokio::signal::ctrl_c()
        .await
        .context("cannot listen for Ctrl-C")?;
    Ok(Stopped {
        name: "Ctrl-C",
        code: 130,
    })
}

/// True when the error is a closed stdout (`lakehunt ... | head`): exit quietly.
/// The CSV writer keeps only the text of its I/O errors, hence the text check.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            || cause.to_string().contains("Broken pipe")
    })
}

/// The error and its causes on one line, each cause once: library errors already
/// include their source's text, so a cause whose text the line holds is skipped.
pub fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
    }
    line.replace(['\n', '\t'], " ")
}

/// `--format` values.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum FormatArg {
    /// Apache Parquet (zstd), for pandas, polars, DuckDB, Spark.
    Parquet,
    /// CSV with a header row.
    Csv,
    /// An aligned text table.
    Table,
    /// A self-contained HTML page (`pivot` only: a timeline per lead).
    Html,
}

impl FormatArg {
    fn format(self) -> anyhow::Result<Format> {
        Ok(match self {
            FormatArg::Parquet => Format::Parquet,
            FormatArg::Csv => Format::Csv,
            FormatArg::Table => Format::Table,
            FormatArg::Html => {
                bail!(
                    "--format html is for `lakehunt pivot` (a timeline per lead); use parquet, csv or table"
                )
            }
        })
    }
}

/// Output flags shared by `run` and `sql`.
#[derive(Clone, Debug, Args)]
struct OutputArgs {
    /// Write results to FILE (written under a temporary name, renamed when complete),
    /// or to an object: s3://bucket/findings/x.parquet, gs://..., az://... (uploaded
    /// whole once written: the object appears only when complete). Without it,
    /// results are printed on stdout.
    #[arg(long, value_name = "FILE|URL")]
    out: Option<PathBuf>,
    /// Output format. Default: from the --out extension (.parquet, .csv, .txt), else a table.
    #[arg(long, value_enum)]
    format: Option<FormatArg>,
}

/// Data flags shared by `run` and `sql`.
#[derive(Debug, Args)]
struct DataArgs {
    /// Parquet events: files, directories (read recursively, *.parquet) or globs
    /// ('lake/**/*.parquet'), or the same in an object store: s3://bucket/prefix/,
    /// gs://..., az://container/..., abfss://..., https://host/file.parquet.
    /// Credentials come from each cloud's usual environment (AWS_*, GOOGLE_*,
    /// AZURE_*, instance and workload roles); AWS_ENDPOINT_URL names an
    /// S3-compatible store. Repeatable.
    #[arg(long, value_name = "PATH|URL", num_args = 1.., action = clap::ArgAction::Append)]
    data: Vec<String>,
    /// Read object stores without credentials (public buckets).
    #[arg(long)]
    anonymous: bool,
    /// Rows per batch inside the engine (tuning; default 8192, fewer where the
    /// memory cap is below 128 MiB a partition).
    #[arg(long, hide_short_help = true, value_name = "ROWS", value_parser = at_least_one)]
    batch_size: Option<usize>,
    /// Parallel partitions (default: the number of cores).
    #[arg(long, hide_short_help = true, value_name = "N", value_parser = at_least_one)]
    target_partitions: Option<usize>,
    /// Memory cap for the engine (1GiB, 512MiB, ...); aggregations and sorts
    /// spill to disk beyond it. Default: half of the memory this process may use
    /// (the machine's, or its cgroup's limit in a container, whichever is less).
    /// Given, freed buffers also go back to the system at once (slower, by
    /// 13-39% in benches/memory.py, for a lower peak).
    #[arg(long, value_name = "SIZE", value_parser = byte_size)]
    memory_limit: Option<u64>,
    /// Folder for spill files (default: the system's temporary folder); they are
    /// removed when the run ends, also on error.
    #[arg(long, value_name = "DIR")]
    tmp_dir: Option<PathBuf>,
    /// Open every file, even in day folders (`eventDay=`, and --date-folders)
    /// outside the window.
    #[arg(long)]
    no_date_pruning: bool,
    /// Also take folders `KEY=YYYYMMDD` (or `KEY=YYYY-MM-DD`) as the UTC day of
    /// the events filed under them, and skip those wholly outside the window
    /// (`eventDay`, Security Lake's, always counts). Declare a key only where
    /// it is the event's UTC day: `date=`/`dt=` folders that name an ingest day
    /// or a local-time day would lose events. Repeatable, or comma-separated.
    #[arg(long, value_name = "KEY", value_delimiter = ',')]
    date_folders: Vec<String>,
    /// How to read the files: `auto` reads a schema with OCSF's class_uid,
    /// category_uid and activity_id through the OCSF field map and anything else
    /// as ECS; `ecs` or `ocsf` forces one for every file.
    #[arg(long, value_enum, default_value_t = SchemaArg::Auto)]
    schema: SchemaArg,
}

/// `--schema`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SchemaArg {
    Auto,
    Ecs,
    Ocsf,
}

impl From<SchemaArg> for lakehunt::source::SchemaMode {
    fn from(arg: SchemaArg) -> Self {
        match arg {
            SchemaArg::Auto => Self::Auto,
            SchemaArg::Ecs => Self::Ecs,
            SchemaArg::Ocsf => Self::Ocsf,
        }
    }
}

/// An RFC 3339 instant given to `flag`, in ns; a bad one names the flag.
fn instant(flag: &str, text: &str) -> anyhow::Result<i64> {
    lakehunt::params::parse_instant(text).map_err(|message| {
        lakehunt::Error::InvalidParameter {
            name: flag.into(),
            message,
        }
        .into()
    })
}

/// `--as-of` as given, else now.
fn as_of_or_now(as_of: Option<&str>) -> anyhow::Result<i64> {
    match as_of {
        Some(text) => instant("--as-of", text),
        None => instant("--as-of", &chrono::Utc::now().to_rfc3339()),
    }
}

fn byte_size(text: &str) -> Result<u64, String> {
    let n = lakehunt::params::parse_bytes(text)?;
    u64::try_from(n)
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("'{text}' must be more than 0 bytes"))
}

fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("'{text}' must be a whole number of at least 1")),
    }
}

/// Whether an environment switch such as `LAKEHUNT_NO_MMAP` is on: set to
/// anything but empty or `0`.
fn env_switch(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0")
}

/// DataFusion's settings given as `DATAFUSION_*` variables
/// (`DATAFUSION_EXECUTION_PARQUET_PUSHDOWN_FILTERS=true` sets
/// `datafusion.execution.parquet.pushdown_filters`), as DataFusion's own
/// `SessionConfig::from_env` reads them.
fn datafusion_settings() -> Vec<(String, String)> {
    datafusion::config::ConfigOptions::new()
        .entries()
        .into_iter()
        .filter_map(|entry| {
            let var = entry.key.to_uppercase().replace('.', "_");
            let value = std::env::var_os(var)?;
            Some((entry.key, value.to_string_lossy().into_owned()))
        })
        .collect()
}

impl DataArgs {
    fn engine_options(&self) -> lakehunt::EngineOptions {
        if self.memory_limit.is_some() {
            return_freed_memory();
        }
        lakehunt::EngineOptions {
            batch_size: self.batch_size,
            target_partitions: self.target_partitions,
            schema: self.schema.into(),
            memory_limit: self.memory_limit,
            tmp_dir: self.tmp_dir.clone(),
            time_range: None,
            date_folders: lakehunt::source::day_folder_keys(&self.date_folders),
            mmap: !env_switch("LAKEHUNT_NO_MMAP"),
            threshold_pruning: !env_switch("LAKEHUNT_NO_THRESHOLD"),
            threshold_spill: !env_switch("LAKEHUNT_NO_THRESHOLD_SPILL"),
            compact_views: !env_switch("LAKEHUNT_NO_COMPACT_VIEWS"),
            merge_headroom: !env_switch("LAKEHUNT_NO_MERGE_HEADROOM"),
            spill_fan_in: !env_switch("LAKEHUNT_NO_SPILL_FAN_IN"),
            hashed_count_distinct: !env_switch("LAKEHUNT_NO_HASHED_COUNT_DISTINCT"),
            null_as_false: !env_switch("LAKEHUNT_NO_NULL_AS_FALSE"),
            regex_once: !env_switch("LAKEHUNT_NO_REGEX_ONCE"),
            shared_tests: !env_switch("LAKEHUNT_NO_SHARED_TESTS"),
            settings: datafusion_settings(),
            stores: lakehunt::source::remote::StoreOptions {
                anonymous: self.anonymous,
            },
            cluster: None,
            share_scans: false,
        }
    }

    /// What a run skipped by folder name, for stderr: day folders outside the
    /// window, whose files were not opened or, in a store, not even listed.
    fn skipped_note(&self, source: &lakehunt::source::Source) -> Option<String> {
        let (files, folders) = (source.skipped_by_date, source.folders_unlisted);
        if files == 0 && folders == 0 {
            return None;
        }
        let mut said = vec![];
        if files > 0 {
            said.push(format!(
                "{files} file{} not opened",
                if files == 1 { "" } else { "s" }
            ));
        }
        if folders > 0 {
            said.push(format!(
                "{folders} folder{} not listed",
                if folders == 1 { "" } else { "s" }
            ));
        }
        let keys = lakehunt::source::day_folder_keys(&self.date_folders).join("=, ");
        Some(format!(
            "note: {} in day folders ({keys}=) outside the window (--no-date-pruning reads them)",
            said.join(", ")
        ))
    }

    /// [`DataArgs::engine_options`] for a run that only looks at `(lo, hi]`.
    fn engine_options_in(&self, lo: i64, hi: i64) -> lakehunt::EngineOptions {
        let mut options = self.engine_options();
        if !self.no_date_pruning {
            options.time_range = Some((lo, hi));
        }
        options
    }
}

/// The format `--out/--format` ask for; an error when neither says and the
/// extension is unknown, or when Parquet would go to a terminal.
fn resolve_format(out: &OutputArgs) -> anyhow::Result<Format> {
    let format = match (out.format, &out.out) {
        (Some(f), _) => f.format()?,
        (None, Some(path)) => Format::from_path(path).with_context(|| {
            format!(
                "cannot tell the format of {} from its extension; add --format parquet|csv|table",
                path.display()
            )
        })?,
        (None, None) => Format::Table,
    };
    if format == Format::Parquet && out.out.is_none() {
        bail!("Parquet output needs a file: add --out FILE.parquet");
    }
    Ok(format)
}

/// Writes results where `--out/--format` say.
fn emit(table: &Table, out: &OutputArgs, metadata: &[(String, String)]) -> anyhow::Result<()> {
    let format = resolve_format(out)?;
    match &out.out {
        Some(path) => {
            output::write_file(path, format, table, metadata)?;
            Ok(())
        }
        None => print_stdout(table, format),
    }
}

fn print_stdout(table: &Table, format: Format) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut stdout = stdout.lock();
    match format {
        Format::Table => writeln!(stdout, "{}", output::render_table(table)?)?,
        Format::Csv => {
            let table = output::flatten_nested_to_text(&output::normalize(table)?)?;
            let mut writer = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut stdout);
            if table.batches.is_empty() {
                writer.write(&arrow::array::RecordBatch::new_empty(
                    std::sync::Arc::clone(&table.schema),
                ))?;
            }
            for batch in &table.batches {
                writer.write(batch)?;
            }
        }
        Format::Parquet => bail!("Parquet output needs a file: add --out FILE.parquet"),
    }
    stdout.flush()?;
    Ok(())
}

/// Writes a query's batches into `--out`'s file as they come (see
/// [`output::FileSink`]): a result larger than memory is written, and a
/// query that fails half-way leaves nothing.
async fn stream_to_file(
    mut stream: datafusion::execution::SendableRecordBatchStream,
    out: &OutputArgs,
    path: &Path,
    metadata: &[(String, String)],
) -> anyhow::Result<()> {
    let format = resolve_format(out)?;
    let mut sink = output::FileSink::create(path, format, &stream.schema(), metadata)?;
    while let Some(batch) = futures::StreamExt::next(&mut stream).await {
        sink.write(&batch.map_err(lakehunt::Error::from)?)?;
    }
    sink.finish()?;
    Ok(())
}

/// Checks the output flags and folder before any work is done.
fn check_out_path(out: &OutputArgs) -> anyhow::Result<()> {
    if let Some(url) = out
        .out
        .as_deref()
        .and_then(Path::to_str)
        .filter(|p| lakehunt::source::remote::is_url(p))
    {
        // The store itself is reached when the findings are written.
        let target = lakehunt::source::remote::ObjectUrl::parse(url)?;
        if target.key.is_empty() || target.key.ends_with('/') {
            bail!(
                "cannot write {url}: name an object (s3://bucket/findings/x.parquet), not a prefix"
            );
        }
        resolve_format(out)?;
        return Ok(());
    }
    resolve_format(out)?;
    if let Some(path) = &out.out {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        if !dir.is_dir() {
            bail!(
                "cannot write {}: folder {} does not exist",
                path.display(),
                dir.display()
            );
        }
        if path.is_dir() {
            bail!("cannot write {}: it is a directory", path.display());
        }
    }
    Ok(())
}

/// Under an explicit memory cap: buffers of 128 KiB and more are mapped and
/// unmapped on their own, so freeing one returns it to the system. glibc's
/// default raises that threshold as large buffers are freed (up to 32 MiB)
/// and then keeps freed memory for reuse, out of the engine's accounting: a
/// GROUP BY capped at 128 MiB peaked at 423 MiB, at 238 MiB with this, 39%
/// slower (benches/memory.py, 10M events; the runs of the hunt, the GROUP BY
/// and a sort were 13-39% slower: `benches/runs/2026-12-05-2core/README.md`).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn return_freed_memory() {
    // glibc's malloc.h.
    const M_MMAP_THRESHOLD: std::ffi::c_int = -3;
    unsafe extern "C" {
        fn mallopt(param: std::ffi::c_int, value: std::ffi::c_int) -> std::ffi::c_int;
    }
    // SAFETY: mallopt only sets one of glibc's malloc tunables, valid at any
    // time from any thread; the value is in its range (0 to 32 MiB).
    unsafe {
        mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    }
}

/// Other allocators keep their own policy.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_freed_memory() {}
