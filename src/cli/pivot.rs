//! `lakehunt pivot`: the events around a hunt's leads.

use std::path::PathBuf;

use clap::Args;
use lakehunt::Engine;
use lakehunt::params::{format_duration, parse_duration};
use lakehunt::pivot::{ENTITY, describe_range, pivot, read_leads};

use super::progress::{LiveLine, opening};
use super::{DataArgs, Outcome, OutputArgs, check_out_path, emit, instant};

pub(crate) const PIVOT_EXAMPLES: &str = "\
Examples:
  lakehunt run egress-bytes --data /lake/ --as-of 2026-03-01T08:00:00Z --out findings.parquet
  lakehunt pivot --findings findings.parquet --data /lake/ --around 2h --out around.parquet
  lakehunt pivot --findings leads.csv --data /lake/ --from 2026-02-01T00:00:00Z --to 2026-03-01T00:00:00Z

With --out FILE.html (or --format html), a self-contained page: per lead, a
strip of its events over time by relation and its events in order (the first
500 each).

For each process.entity_id in the findings: every event of that process, its
children's start events (process.parent.entity_id), and its parent's start event
(event.type holds \"start\"), with the lead in `finding` and `self`, `child` or
`parent` in `relation`, ordered by lead and time. The window is the findings' own
(a hunt's as-of and window, or a backfill's window_start/window_end) widened by
--around on both sides; --from/--to replace it; a CSV of leads without them reads
all of the data.";

/// Every event around a hunt's leads: the processes it found, their parents
/// and their children.
#[derive(Debug, Args)]
pub struct PivotArgs {
    /// A findings file lakehunt wrote (Parquet: it knows its window), or any
    /// Parquet or CSV file with a process.entity_id column.
    #[arg(long, value_name = "FILE")]
    findings: PathBuf,
    #[command(flatten)]
    data: DataArgs,
    /// Widen the findings' window by this much on both sides.
    #[arg(long, value_name = "DURATION", default_value = "1h")]
    around: String,
    /// Start of the window (RFC 3339), instead of the findings' own.
    #[arg(long, value_name = "TIME", requires = "to")]
    from: Option<String>,
    /// End of the window (RFC 3339).
    #[arg(long, value_name = "TIME", requires = "from")]
    to: Option<String>,
    #[command(flatten)]
    out: OutputArgs,
    /// Only the events, no summary on stderr.
    #[arg(long, short)]
    quiet: bool,
}

pub async fn run(args: PivotArgs) -> anyhow::Result<Outcome> {
    if args.data.data.is_empty() {
        anyhow::bail!("no events given: add --data PATH (Parquet files, folders or globs)");
    }
    let html = wants_html(&args.out);
    if html
        && args
            .out
            .out
            .as_deref()
            .is_none_or(|p| p.to_str().is_some_and(lakehunt::source::remote::is_url))
    {
        anyhow::bail!("--format html writes a local file: add --out FILE.html");
    }
    if !html {
        check_out_path(&args.out)?;
    }
    let around = around(&args.around)?;
    let leads = read_leads(&args.findings).await?;
    let range = match (&args.from, &args.to) {
        (Some(from), Some(to)) => Some((instant("--from", from)?, instant("--to", to)?)),
        _ => leads.window.map(|(lo, hi)| (lo - around, hi + around)),
    };
    let options = match range {
        Some((lo, hi)) => args.data.engine_options_in(lo, hi),
        None => args.data.engine_options(),
    };
    let engine = opening(
        &LiveLine::new(args.quiet),
        Engine::open(&args.data.data, &options),
    )
    .await?;
    if !args.quiet
        && let Some(skipped) = args.data.skipped_note(engine.source())
    {
        eprintln!("{skipped}");
    }
    let table = pivot(&engine, &leads, range).await?;
    if !args.quiet {
        eprintln!(
            "pivot: {} leads ({ENTITY}) from {}{}, {} events in {}",
            leads.entities.len(),
            args.findings.display(),
            leads
                .hunt
                .as_ref()
                .map(|h| format!(" (hunt {h})"))
                .unwrap_or_default(),
            table.num_rows(),
            match range {
                Some(r) => describe_range(r),
                None => "all of the data".to_owned(),
            }
        );
    }
    let mut metadata = vec![
        (
            "lakehunt.version".to_owned(),
            env!("CARGO_PKG_VERSION").to_owned(),
        ),
        (
            "lakehunt.pivot.findings".to_owned(),
            args.findings.display().to_string(),
        ),
        (
            "lakehunt.pivot.leads".to_owned(),
            leads.entities.len().to_string(),
        ),
        ("lakehunt.pivot.around".to_owned(), format_duration(around)),
    ];
    if let Some(r) = range {
        metadata.push(("lakehunt.pivot.window".to_owned(), describe_range(r)));
    }
    if let (true, Some(path)) = (html, &args.out.out) {
        let scope = [
            ("findings", args.findings.display().to_string()),
            ("data", args.data.data.join(", ")),
            (
                "window",
                range.map_or_else(|| "all of the data".to_owned(), describe_range),
            ),
        ]
        .map(|(k, v)| (k.to_owned(), v));
        lakehunt::pivot::write_html(&table, path, &scope)?;
    } else {
        emit(&table, &args.out, &metadata)?;
    }
    Ok(Outcome::Clean)
}

/// `--around` in ns; `0` (or 0s, 0h) keeps the findings' own window.
fn around(text: &str) -> anyhow::Result<i64> {
    let rest = text.trim_start_matches('0');
    if rest.len() < text.len() && rest.chars().all(|c| c.is_ascii_alphabetic()) {
        return Ok(0);
    }
    Ok(
        parse_duration(text).map_err(|message| lakehunt::Error::InvalidParameter {
            name: "--around".into(),
            message,
        })?,
    )
}

/// `--format html`, or an `--out` ending in `.html` without `--format`.
fn wants_html(out: &OutputArgs) -> bool {
    matches!(out.format, Some(super::FormatArg::Html))
        || (out.format.is_none()
            && out
                .out
                .as_deref()
                .and_then(|p| p.extension())
                .is_some_and(|x| x.eq_ignore_ascii_case("html")))
}
