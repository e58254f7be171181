//! `lakehunt run` and `lakehunt sql`.

use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use lakehunt::params::{format_duration, format_instant};
use lakehunt::resolve::FieldMap;
use lakehunt::source::Layout;
use lakehunt::{Engine, ScanStats, hunt};

use super::progress::{LiveLine, opening};
use super::{DataArgs, Outcome, OutputArgs, as_of_or_now, check_out_path, emit};

pub const RUN_EXAMPLES: &str = "\
Examples:
  # The first hunt, on a generated sample (no data needed):
  lakehunt run egress-bytes --sample

  # Over an archive, as the hunt would have run at an instant, into Parquet:
  lakehunt run egress-bytes --data /lake/endpoint/ --as-of 2026-03-01T08:00:00Z --out findings.parquet

  # Other platforms, a longer window, a lower threshold:
  lakehunt run egress-bytes --data 'lake/**/*.parquet' --os any --window 24h --threshold 500MB

The window is (as-of - window, as-of]: the lower edge is excluded, as in ES|QL's
`@timestamp > now() - 8 hour`, and events after --as-of are not counted.

Exit codes:
  0    ran (with or without findings)
  1    findings, with --fail-on-findings
  2    any error (bad flags, unreadable data, a field the hunt needs is missing)
  130  stopped by SIGINT (143: SIGTERM): no output file, spill files removed";

pub const SQL_EXAMPLES: &str = "\
The table `events` has one column per ECS field, named with dots whatever the
files' layout; quote such names: \"destination.ip\", \"@timestamp\". The files as
they are stay available as `events_raw`. lakehunt's functions: cidr_match(ip,
block, ...), mv_single(field), mv_count(field).

Examples:
  lakehunt sql 'SELECT \"event.action\", count(*) FROM events GROUP BY 1 ORDER BY 2 DESC' --data lake/
  lakehunt sql \"SELECT * FROM events WHERE NOT cidr_match(\\\"destination.ip\\\", '10.0.0.0/8') LIMIT 10\" --data lake/

Exit codes:
  0    ran
  2    any error
  130  stopped by SIGINT (143: SIGTERM)";

/// The hunt's parameters as flags, shared by `run` and `backfill`.
#[derive(Debug, Args)]
pub struct ParamArgs {
    /// Report totals at or above this many bytes (1073741824, 1GiB, 500MB, 1.5GiB).
    #[arg(long, value_name = "BYTES")]
    threshold: Option<String>,
    /// host.os.family to hunt on (windows, macos, debian, ...) or 'any'.
    #[arg(long, value_name = "FAMILY")]
    os: Option<String>,
    /// Public destinations: 'list' (outside the hunt's private/reserved blocks, as
    /// Elastic) or 'global' (globally routable unicast per IANA, ip_is_global).
    #[arg(long, value_name = "list|global")]
    public_only: Option<String>,
    /// Set any hunt parameter (see `lakehunt hunts show HUNT`). Repeatable.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
}

impl ParamArgs {
    /// (name, text) overrides of the hunt's defaults.
    pub fn overrides(&self) -> anyhow::Result<Vec<(String, String)>> {
        let mut overrides = vec![];
        if let Some(t) = &self.threshold {
            overrides.push(("threshold".to_owned(), t.clone()));
        }
        if let Some(os) = &self.os {
            overrides.push(("os".to_owned(), os.clone()));
        }
        if let Some(mode) = &self.public_only {
            overrides.push(("public_only".to_owned(), mode.clone()));
        }
        for p in &self.params {
            let (name, value) = p
                .split_once('=')
                .with_context(|| format!("--param '{p}' must look like NAME=VALUE"))?;
            overrides.push((name.trim().to_owned(), value.to_owned()));
        }
        Ok(overrides)
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The hunt to run (see `lakehunt hunts`).
    #[arg(value_name = "HUNT")]
    hunt: String,
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    cluster: super::cluster::ClusterArgs,
    /// Run on a generated synthetic sample instead of --data, and say so.
    #[arg(long, conflicts_with = "data")]
    sample: bool,
    /// Run as of this RFC 3339 instant (2026-03-01T08:00:00Z). Default: now; with
    /// --sample, the end of the sample.
    #[arg(long, value_name = "TIME")]
    as_of: Option<String>,
    /// Look-back window before --as-of (8h, 30m, 1d, 1h30m). Default: the hunt's.
    #[arg(long, value_name = "DURATION")]
    window: Option<String>,
    #[command(flatten)]
    params: ParamArgs,
    #[command(flatten)]
    out: OutputArgs,
    /// Exit 1 when the hunt reports findings (for schedulers and CI gates).
    #[arg(long)]
    fail_on_findings: bool,
    /// Print only results and errors: no progress or summary on stderr.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Debug, Args)]
pub struct SqlArgs {
    /// The query, over the table `events`.
    #[arg(value_name = "QUERY")]
    query: String,
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    cluster: super::cluster::ClusterArgs,
    #[command(flatten)]
    out: OutputArgs,
}

macro_rules! note {
    ($quiet:expr, $($arg:tt)*) => {
        if !$quiet {
            eprintln!($($arg)*);
        }
    };
}

#[expect(
    clippy::too_many_lines,
    reason = "flags to a bound hunt, the run, then its report, in order"
)]
pub async fn run(args: RunArgs) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let hunt = hunt::find(&args.hunt)?;
    let as_of = match (&args.as_of, args.sample) {
        (None, true) => lakehunt::sample::embedded().as_of,
        (given, _) => as_of_or_now(given.as_deref())?,
    };
    let overrides = args.params.overrides()?;
    let bound = hunt.bind(as_of, args.window.as_deref(), &overrides)?;
    check_out_path(&args.out)?;

    // Keeps the generated sample alive until the run ends.
    let mut _sample_dir = None;
    let paths = if args.sample {
        let dir = lakehunt::sample::write_embedded().context("cannot write the sample")?;
        note!(
            args.quiet,
            "lakehunt: {}. Pass --data PATH to hunt your own Parquet.",
            lakehunt::sample::embedded_note()
        );
        let path = dir.path().to_string_lossy().into_owned();
        _sample_dir = Some(dir);
        vec![path]
    } else {
        if args.data.data.is_empty() {
            bail!(
                "no events given: add --data PATH (Parquet files, folders or globs), or --sample"
            );
        }
        args.data.data.clone()
    };

    let mut options = args.data.engine_options_in(bound.window_start, bound.as_of);
    options.cluster.clone_from(&args.cluster.cluster);
    let engine = opening(&LiveLine::new(args.quiet), Engine::open(&paths, &options)).await?;
    engine.check_fields(&hunt).await?;
    let source = engine.source();
    let params: Vec<String> = bound
        .values
        .iter()
        .map(|(k, v)| format!("{k} {}", v.display()))
        .collect();
    let layout = match (&source.ocsf_version, source.layout) {
        (Some(version), Layout::Ocsf) => format!("OCSF {version} read as ECS"),
        (Some(version), _) => format!("ECS and OCSF {version}"),
        (None, layout) => format!("{layout} layout"),
    };
    note!(
        args.quiet,
        "{}: {} events in {} file{} ({layout}); window ({}, {}] ({}); {}",
        hunt.id(),
        source.rows,
        source.files.len(),
        if source.files.len() == 1 { "" } else { "s" },
        format_instant(bound.window_start),
        format_instant(bound.as_of),
        format_duration(bound.window),
        params.join(", ")
    );
    if let Some(skipped) = args.data.skipped_note(source) {
        note!(args.quiet, "{skipped}");
    }
    if source.ocsf_version.is_some() {
        let map = FieldMap::find("ocsf")?;
        for (field, lossy) in map.lossy(hunt.lakehunt.fields.keys().map(String::as_str)) {
            note!(args.quiet, "note: on OCSF data, {field}: {lossy}");
        }
    }
    // A live line on a terminal: rows and bytes the scans have read so far.
    let live = LiveLine::new(args.quiet);
    let total_rows = source.rows;
    let mut show = |read: ScanStats| {
        live.show(format_args!(
            "{}: {} read {} of at most {} rows, {:.1} MB, {:.1}s",
            hunt.id(),
            if read.checks { "data checks" } else { "hunt" },
            read.rows,
            total_rows,
            read.bytes as f64 / 1e6,
            started.elapsed().as_secs_f64()
        ));
    };
    // Into a file, the findings stream into it, however many.
    let (n, warnings) = if let Some(path) = &args.out.out {
        let written = write_findings(&engine, &bound, &args.out, path, &mut show).await;
        live.clear();
        written?
    } else {
        let output = engine.run_hunt_observed(&bound, &mut show).await;
        live.clear();
        let output = output?;
        let metadata = output.metadata(&bound, engine.source());
        emit(&output.findings, &args.out, &metadata)?;
        (output.findings.num_rows(), output.warnings)
    };
    for warning in &warnings {
        note!(args.quiet, "warning: {}", warning.message);
    }
    note!(
        args.quiet,
        "{}: {n} finding{} in {:.2}s{}",
        hunt.id(),
        if n == 1 { "" } else { "s" },
        started.elapsed().as_secs_f64(),
        args.out
            .out
            .as_ref()
            .map(|p| format!(", written to {}", p.display()))
            .unwrap_or_default()
    );
    Ok(if args.fail_on_findings && n > 0 {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}

/// A hunt's findings streamed into `path` (renamed into place when complete,
/// its warning counts in the footer); the number written and the warnings.
async fn write_findings(
    engine: &Engine,
    bound: &lakehunt::BoundHunt,
    out: &OutputArgs,
    path: &std::path::Path,
    show: &mut (dyn FnMut(ScanStats) + Send),
) -> anyhow::Result<(usize, Vec<lakehunt::Warning>)> {
    let format = super::resolve_format(out)?;
    let mut findings = engine.run_hunt_stream(bound).await?;
    let metadata = lakehunt::engine::hunt_metadata(bound, engine.source());
    let mut sink =
        lakehunt::output::FileSink::create(path, format, &findings.rows.schema(), &metadata)?;
    let mut written = 0;
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            batch = futures::StreamExt::next(&mut findings.rows) => {
                let Some(batch) = batch else { break };
                let batch = batch
                    .map_err(|e| lakehunt::engine::hunt_failed(&bound.hunt, e.into()))?;
                written += batch.num_rows();
                sink.write(&batch)?;
            }
            _ = tick.tick() => show(findings.read()),
        }
    }
    show(findings.read());
    let warnings = engine.stream_warnings(bound, findings, show).await?;
    sink.add_metadata(&lakehunt::engine::warning_metadata(&warnings));
    sink.finish()?;
    Ok((written, warnings))
}

pub async fn sql(args: SqlArgs) -> anyhow::Result<Outcome> {
    if args.data.data.is_empty() {
        bail!("no events given: add --data PATH (Parquet files, folders or globs)");
    }
    check_out_path(&args.out)?;
    let mut options = args.data.engine_options();
    options.cluster.clone_from(&args.cluster.cluster);
    let engine = opening(
        &LiveLine::new(false),
        Engine::open(&args.data.data, &options),
    )
    .await?;
    let metadata = lakehunt::engine::sql_metadata(&args.query);
    let Some(path) = &args.out.out else {
        let table = engine.sql(&args.query).await?;
        emit(&table, &args.out, &metadata)?;
        return Ok(Outcome::Clean);
    };
    let stream = engine.sql_stream(&args.query).await?;
    super::stream_to_file(stream, &args.out, path, &metadata).await?;
    Ok(Outcome::Clean)
}
