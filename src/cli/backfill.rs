//! `lakehunt backfill HUNT --from T --to T --out DIR`: every window of a stretch
//! of archive, resumable.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::bail;
use clap::Args;
use lakehunt::backfill::{BackfillSpec, Progress, backfill};
use lakehunt::params::{format_duration, parse_duration};
use lakehunt::{Engine, hunt};

use super::progress::{LiveLine, opening};
use super::run::ParamArgs;
use super::{Outcome, instant};

pub const BACKFILL_EXAMPLES: &str = "\
Examples:
  # Every 8-hour window since March, tumbling, into a folder pandas/polars/DuckDB read:
  lakehunt backfill egress-bytes --data /lake/endpoint/ --from 2026-03-01T00:00:00Z \\
      --to 2026-06-01T00:00:00Z --out findings/

  # Overlapping: a 24-hour window every 8 hours, under a memory cap:
  lakehunt backfill egress-bytes --data /lake/ --from 2026-03-01T00:00:00Z --to 2026-04-01T00:00:00Z \\
      --every 8h --window 24h --memory-limit 2GiB --out findings-24h/

  # After a crash or kill: finish the rest, exactly as an uninterrupted run would.
  lakehunt backfill egress-bytes ... --out findings/ --resume
  lakehunt backfill egress-bytes --data s3://lake/ecs/ ... --out s3://lake/findings/egress/

Windows end at from + k*every (k = 1, 2, ...) up to --to and cover (end - window,
end], as `lakehunt run --as-of end` does. Output: DIR/window_date=YYYY-MM-DD/part-00000.parquet
(the UTC day each window starts), with window_start and window_end columns, and
DIR/_lakehunt_backfill.json, the manifest of finished days.

Exit codes:
  0    done (with or without findings)
  2    any error (the manifest keeps every finished day: rerun with --resume)
  130  stopped by SIGINT (143: SIGTERM); the same: rerun with --resume";

#[derive(Debug, Args)]
#[command(after_long_help = BACKFILL_EXAMPLES)]
pub struct BackfillArgs {
    /// The hunt to run (see `lakehunt hunts`).
    #[arg(value_name = "HUNT")]
    hunt: String,
    #[command(flatten)]
    data: super::DataArgs,
    #[command(flatten)]
    cluster: super::cluster::ClusterArgs,
    /// Windows end after this RFC 3339 instant ...
    #[arg(long, value_name = "TIME")]
    from: String,
    /// ... and at or before this one.
    #[arg(long, value_name = "TIME")]
    to: String,
    /// Distance between window ends. Default: the window (tumbling windows).
    #[arg(long, value_name = "DURATION")]
    every: Option<String>,
    /// Window length (8h, 1d, ...). Default: the hunt's.
    #[arg(long, value_name = "DURATION")]
    window: Option<String>,
    #[command(flatten)]
    params: ParamArgs,
    /// Output folder (created if needed), or an object-store prefix
    /// (s3://bucket/findings/, gs://..., az://...) where each day's object and
    /// the manifest appear whole and --resume works the same.
    #[arg(long, value_name = "DIR|URL")]
    out: PathBuf,
    /// Finish an interrupted backfill into --out (same hunt, parameters and input files).
    #[arg(long, conflicts_with = "force")]
    resume: bool,
    /// Start over, removing an earlier backfill's output in --out.
    #[arg(long)]
    force: bool,
    /// No progress or summary on stderr.
    #[arg(long, short)]
    quiet: bool,
}

pub async fn run(args: BackfillArgs) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let hunt = hunt::find(&args.hunt)?;
    let from = instant("--from", &args.from)?;
    let to = instant("--to", &args.to)?;
    if args.data.data.is_empty() {
        bail!("no events given: add --data PATH (Parquet files, folders or globs)");
    }
    let bound = hunt.bind(to, args.window.as_deref(), &args.params.overrides()?)?;
    let every = match &args.every {
        Some(text) => {
            parse_duration(text).map_err(|message| lakehunt::Error::InvalidParameter {
                name: "--every".into(),
                message,
            })?
        }
        None => bound.window,
    };
    let mut options = args.data.engine_options_in(from + every - bound.window, to);
    options.cluster.clone_from(&args.cluster.cluster);
    let engine = opening(
        &LiveLine::new(args.quiet),
        Engine::open(&args.data.data, &options),
    )
    .await?;
    engine.check_fields(&hunt).await?;
    if !args.quiet
        && let Some(skipped) = args.data.skipped_note(engine.source())
    {
        eprintln!("{skipped}");
    }
    let spec = BackfillSpec {
        bound,
        from,
        to,
        every,
        out: args.out.clone(),
        resume: args.resume,
        force: args.force,
    };
    let live = LiveLine::new(args.quiet);
    let report = |p: &Progress| {
        let elapsed = started.elapsed().as_secs_f64();
        let fresh = p.days_done - p.resumed;
        let left = p.days_total - p.days_done;
        let eta = if fresh > 0 {
            format!("{:.0}s", elapsed / fresh as f64 * left as f64)
        } else {
            "?".to_owned()
        };
        live.show(format_args!(
            "backfill {}: day {}/{}, windows {}/{}, {} findings; {} files, {} rows, {:.0} MB read; {:.0}s, ETA {eta}",
            hunt.id(),
            p.days_done,
            p.days_total,
            p.windows_done,
            p.windows_total,
            p.findings,
            p.files,
            p.read.rows,
            p.read.bytes as f64 / 1e6,
            elapsed
        ));
    };
    let summary = backfill(&engine, &spec, report).await;
    live.keep();
    let summary = summary?;
    if !args.quiet {
        let p = &summary.progress;
        eprintln!(
            "backfill {}: {} windows of {} every {} over {} days ({} resumed), {} findings in {} files, {:.2}s, {} rows and {:.1} MB read; output in {}",
            hunt.id(),
            p.windows_total,
            format_duration(spec.bound.window),
            format_duration(every),
            p.days_total,
            p.resumed,
            p.findings,
            summary.files_written,
            started.elapsed().as_secs_f64(),
            p.read.rows,
            p.read.bytes as f64 / 1e6,
            args.out.display()
        );
    }
    Ok(Outcome::Clean)
}
