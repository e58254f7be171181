//! `lakehunt explain HUNT --data PATH... [--analyze]`: the plan a hunt becomes,
//! and with `--analyze` what it read and skipped.

use std::fmt::Write as _;

use clap::Args;
use lakehunt::params::{format_duration, format_instant};
use lakehunt::{Engine, hunt};

use super::progress::{LiveLine, opening};
use super::run::ParamArgs;
use super::{Outcome, as_of_or_now};

const EXPLAIN_EXAMPLES: &str = "\
Examples:
  lakehunt explain egress-bytes --data /lake/endpoint/ --as-of 2026-03-01T08:00:00Z
  lakehunt explain egress-bytes --data /lake/endpoint/ --as-of 2026-03-01T08:00:00Z --analyze

With --analyze the hunt runs (its findings are not printed) and the report says
how many files were not opened (date folders outside the window), how many row
groups lay wholly outside the window by their footers (not read; files of only
those not opened), how many file ranges, row groups and pages the @timestamp
statistics pruned, how many row groups lay wholly inside the window (read
without the time filter), how many rows and bytes were read, and each
operator's rows and time.";

#[derive(Debug, Args)]
#[command(after_long_help = EXPLAIN_EXAMPLES)]
pub struct ExplainArgs {
    /// The hunt (see `lakehunt hunts`).
    #[arg(value_name = "HUNT")]
    hunt: String,
    #[command(flatten)]
    data: super::DataArgs,
    /// Show the stages a cluster runs the plan in (nothing runs, and the
    /// cluster is not contacted: the plan is cut as its scheduler cuts it).
    #[arg(long, value_name = "df://HOST:PORT", value_parser = |s: &str| s.parse::<lakehunt::cluster::ClusterUrl>(), conflicts_with = "analyze")]
    cluster: Option<lakehunt::cluster::ClusterUrl>,
    /// Run as of this RFC 3339 instant. Default: now.
    #[arg(long, value_name = "TIME")]
    as_of: Option<String>,
    /// Look-back window before --as-of. Default: the hunt's.
    #[arg(long, value_name = "DURATION")]
    window: Option<String>,
    #[command(flatten)]
    params: ParamArgs,
    /// Run the hunt and report what was read and pruned, per operator.
    #[arg(long)]
    analyze: bool,
}

pub async fn run(args: ExplainArgs) -> anyhow::Result<Outcome> {
    let hunt = hunt::find(&args.hunt)?;
    let as_of = as_of_or_now(args.as_of.as_deref())?;
    let bound = hunt.bind(as_of, args.window.as_deref(), &args.params.overrides()?)?;
    let mut options = args.data.engine_options_in(bound.window_start, bound.as_of);
    options.cluster.clone_from(&args.cluster);
    let engine = opening(
        &LiveLine::new(false),
        Engine::open(&args.data.data, &options),
    )
    .await?;
    if args.cluster.is_some() {
        println!("{}", engine.explain_stages(&bound).await?);
        return Ok(Outcome::Clean);
    }
    let explained = engine.explain(&bound, args.analyze).await?;
    let source = engine.source();
    let on_disk = source.bytes();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} over ({}, {}] ({})",
        hunt.id(),
        format_instant(bound.window_start),
        format_instant(bound.as_of),
        format_duration(bound.window)
    );
    let _ = writeln!(
        out,
        "files: {} in range, {} not opened (date folders outside the window){}; {} rows, {:.1} MB on disk",
        source.files.len(),
        source.skipped_by_date,
        match source.folders_unlisted {
            0 => String::new(),
            n => format!(", {n} date folders in object stores not listed"),
        },
        source.rows,
        on_disk as f64 / 1e6
    );
    if let Some(scans) = &explained.scans {
        let _ = writeln!(out, "scans:");
        let (groups, files) = scans.outside_bounds;
        if groups > 0 {
            let _ = writeln!(
                out,
                "  row groups wholly outside the window: {groups} by their footers (not read; {files} \
                 files of only those, not opened)"
            );
        }
        // DataFusion's pruning metrics, in the order a scan applies them.
        for (metric, words) in [
            (
                "files_ranges_pruned_statistics",
                "file ranges, by statistics",
            ),
            ("row_groups_pruned_statistics", "row groups, by statistics"),
            (
                "row_groups_pruned_bloom_filter",
                "row groups, by bloom filters",
            ),
            ("page_index_pages_pruned", "pages, by the page index"),
            ("page_index_rows_pruned", "rows, by the page index"),
        ] {
            if let Some((_, pruned, matched)) = scans
                .pruning
                .iter()
                .find(|(name, _, _)| name == metric)
                .filter(|(_, p, m)| p + m > 0)
            {
                let _ = writeln!(
                    out,
                    "  {words}: {pruned} skipped, {matched} kept of {}",
                    pruned + matched
                );
            }
        }
        if scans.inside_bounds > 0 {
            let _ = writeln!(
                out,
                "  row groups wholly inside the window: {} (read without the time filter, \
                 and without the time column unless selected)",
                scans.inside_bounds
            );
        }
        let _ = writeln!(
            out,
            "  read: {} of {} rows, {:.1} of {:.1} MB",
            scans.rows,
            source.rows,
            scans.bytes as f64 / 1e6,
            on_disk as f64 / 1e6
        );
    }
    let _ = writeln!(out, "\n{}", explained.plan);
    print!("{out}");
    Ok(Outcome::Clean)
}
