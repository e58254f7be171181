//! `lakehunt sweep`: a whole hunt library over one dataset.

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;
use lakehunt::sweep::{SUMMARY, SweepSpec, library_queries, shipped_queries, sweep, window_ends};

use super::progress::LiveLine;
use super::{DataArgs, Outcome, as_of_or_now, instant};

pub(crate) const SWEEP_EXAMPLES: &str = "\
Examples:
  lakehunt sweep --library detection-rules/hunting --data /lake/endpoint/ \\
      --as-of 2026-03-01T08:00:00Z --out sweep/
  lakehunt sweep --hunts all --library hunting/ --index 'logs-endpoint.events.*=/lake/endpoint/' \\
      --index 'logs-system.*=/lake/system/' --enrich hosts=/lake/hosts.csv --out sweep/

Every query of every hunt file under --library (TOML with a [hunt] table, as in
Elastic's hunting library) and each shipped hunt --hunts names runs as of --as-of.
OUT/summary.json lists each query: ran (findings, output file, seconds), skipped
(EQL or osquery SQL; a field the data lacks; index patterns without --index;
an ENRICH policy without --enrich) or failed (its error, on one line). Findings
go to OUT/PLATFORM/HUNT__N.parquet (the platform is the folder above queries/,
`lakehunt` for shipped hunts), with the query and as-of in the file's metadata.
A query that fails does not stop the sweep; the exit code is 0 once every
query is accounted for.

Queries are planned first, then run together over one scan of the data: the
union of the columns they read, over the hull of their windows, each batch
handed to every query (which applies its own window). --no-shared-scan runs
them one at a time, each with its own scan; the findings are the same.

With --from/--to/--every, every query runs as of each window's end, its
findings in OUT/PLATFORM/HUNT__N/as_of=YYYYMMDDTHHMMSSZ.parquet; summary.json
records each window as it finishes, and --resume finishes an interrupted sweep
(what ran stays, a query whose text changed runs again).";

/// Run every query of a hunt library (and shipped hunts) over one dataset.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// A folder of hunt files: a checkout of Elastic's hunting library
    /// (detection-rules/hunting) or any folder of such TOML files.
    #[arg(long, value_name = "DIR", required_unless_present = "hunts")]
    library: Option<PathBuf>,
    /// Shipped hunts to include: `all`, or ids (comma-separated or repeated).
    #[arg(long, value_name = "all|ID", value_delimiter = ',')]
    hunts: Vec<String>,
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    lookups: super::esql::LookupArgs,
    /// Run every query as of this RFC 3339 instant (default: now).
    #[arg(long, value_name = "TIME", conflicts_with = "from")]
    as_of: Option<String>,
    /// Sweep windows instead: every query runs as of from + every, from + 2 *
    /// every, ... up to --to (RFC 3339 instants), each window's findings in
    /// its own file.
    #[arg(long, value_name = "TIME", requires = "to")]
    from: Option<String>,
    /// End of the windows (see --from).
    #[arg(long, value_name = "TIME", requires = "from")]
    to: Option<String>,
    /// Distance between window ends (1d, 8h, ...).
    #[arg(long, value_name = "DURATION", default_value = "1d", requires = "from")]
    every: String,
    /// Finish the sweep --out holds (same data, same instants): what ran is
    /// kept, the rest runs.
    #[arg(long)]
    resume: bool,
    /// Output folder (created if needed): summary.json and the findings.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Let each query scan the data for itself, one query at a time,
    /// instead of one scan per dataset feeding every query at once (the
    /// findings are the same; this is slower and holds one query's state at
    /// a time).
    #[arg(long)]
    no_shared_scan: bool,
    /// No progress line and no summary on stderr.
    #[arg(long, short)]
    quiet: bool,
}

pub async fn run(args: SweepArgs) -> anyhow::Result<Outcome> {
    let mut queries = shipped_queries(&args.hunts)?;
    if let Some(dir) = &args.library {
        queries.extend(library_queries(dir)?);
    }
    if queries.is_empty() {
        bail!("no hunts to sweep: --library holds no hunt files and --hunts names none");
    }
    let indexes = args.lookups.indexes(&args.data)?;
    let as_of = match (&args.from, &args.to) {
        (Some(from), Some(to)) => {
            let every = lakehunt::params::parse_duration(&args.every).map_err(|message| {
                lakehunt::Error::InvalidParameter {
                    name: "--every".into(),
                    message,
                }
            })?;
            window_ends(instant("--from", from)?, instant("--to", to)?, every)?
        }
        _ => vec![as_of_or_now(args.as_of.as_deref())?],
    };
    let live = LiveLine::new(args.quiet);
    let options = lakehunt::EngineOptions {
        share_scans: !args.no_shared_scan,
        ..args.data.engine_options()
    };
    let engine = args
        .lookups
        .open(&indexes, &args.data, &options, &live)
        .await?;
    let mut data = args.data.data.clone();
    data.extend(args.lookups.index.iter().cloned());
    let spec = SweepSpec {
        queries,
        as_of,
        data,
        out: args.out.clone(),
        resume: args.resume,
    };
    let started = std::time::Instant::now();
    let mut last_progress = lakehunt::sweep::SweepProgress::default();
    let summary = sweep(&engine, &spec, |p, last| {
        last_progress = *p;
        // Queries run together: "last" is the last to finish.
        let last = last.map_or_else(String::new, |q| format!("; last {}", q.hunt));
        live.show(format_args!(
            "sweep: {} of {} queries ({} ran, {} skipped, {} failed), {} findings, {:.1} MB read, {:.0}s{last}",
            p.done,
            p.total,
            p.ran,
            p.skipped,
            p.failed,
            p.findings,
            p.read.bytes as f64 / 1e6,
            started.elapsed().as_secs_f64(),
        ));
    })
    .await;
    live.clear();
    let summary = summary?;
    if !args.quiet {
        tell(
            &summary,
            &last_progress,
            &args.out,
            started.elapsed().as_secs_f64(),
        );
    }
    Ok(Outcome::Clean)
}

/// The sweep's account on stderr: failures, counts, the shared scans.
fn tell(
    summary: &lakehunt::sweep::SweepSummary,
    progress: &lakehunt::sweep::SweepProgress,
    out: &std::path::Path,
    seconds: f64,
) {
    for failed in summary.hunts.iter().filter(|h| h.status == "failed") {
        eprintln!(
            "failed: {} query {}: {}",
            failed.file, failed.query_index, failed.reason
        );
    }
    let count = |status: &str| summary.hunts.iter().filter(|h| h.status == status).count();
    let with_findings = summary
        .hunts
        .iter()
        .filter(|h| h.findings.is_some_and(|n| n > 0))
        .count();
    let findings: u64 = summary.hunts.iter().filter_map(|h| h.findings).sum();
    eprintln!(
        "sweep: {} queries: {} ran ({with_findings} with findings, {findings} findings), {} skipped, {} failed, in {:.1}s; {}",
        summary.hunts.len(),
        count("ran"),
        count("skipped"),
        count("failed"),
        seconds,
        out.join(SUMMARY).display()
    );
    if progress.scans > 0 {
        let again = match progress.again {
            0 => String::new(),
            n => format!("; {n} met the memory cap beside the others and ran again alone"),
        };
        let tests = match progress.shared_tests {
            0 => String::new(),
            n => format!(", {n} filter tests evaluated there once for the queries that share them"),
        };
        eprintln!(
            "sweep: {} query runs read the data through shared scans ({} in all, {:.1} MB read{tests}){again}",
            progress.shared,
            progress.scans,
            progress.read.bytes as f64 / 1e6
        );
    }
}
