//! `lakehunt sample`: synthetic events for trying hunts and for tests.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use lakehunt::params::format_instant;
use lakehunt::sample::{SampleLayout, SampleSpec, planted_groups, write};

use super::Outcome;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LayoutArg {
    /// Struct columns: `destination` with field `ip` (Elastic's own exports).
    Nested,
    /// Dotted column names: `destination.ip`.
    Flat,
    /// The same events as OCSF 1.1 Network Activity (class 4001), nested, as
    /// Amazon Security Lake writes it.
    Ocsf,
}

/// Generate seeded, realistic Elastic Endpoint network events as Parquet.
///
/// Events span 24 hours before --as-of and one hour after, in time order, with a
/// few planted exfiltration groups that `lakehunt run egress-bytes --as-of` must
/// find and near-miss decoys that it must not.
#[derive(Debug, Args)]
pub struct SampleArgs {
    /// Folder to write part-NNNNN.parquet files into (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Number of events.
    #[arg(long, default_value_t = 1_000_000)]
    rows: usize,
    /// Seed: the same seed gives the same events everywhere.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Column layout.
    #[arg(long, value_enum, default_value_t = LayoutArg::Nested)]
    layout: LayoutArg,
    /// Instant the planted groups are placed before (RFC 3339). Default: now.
    #[arg(long, value_name = "TIME")]
    as_of: Option<String>,
    /// Events per file.
    #[arg(long, default_value_t = 1_000_000)]
    rows_per_file: usize,
    /// Also write the processes behind the network events (processes-NNNNN.parquet):
    /// a start event for each process with its parent (the host's root process),
    /// and for each planted exfiltration a child that stages an archive (a
    /// process start and a file creation), so `sweep` and `pivot` have
    /// process trees to read. Each carries the fields Elastic Defend's process
    /// and file events carry (agent and host ids, user, parent executable and
    /// name, command line, hash, code signature, file name and extension), so
    /// most of Elastic's endpoint hunts find theirs. The network files stay the
    /// same; ECS layouts only.
    #[arg(long)]
    processes: bool,
}

pub fn run(args: &SampleArgs) -> anyhow::Result<Outcome> {
    let as_of = match &args.as_of {
        Some(t) => super::instant("--as-of", t)?,
        None => chrono::Utc::now()
            .timestamp_nanos_opt()
            .context("the clock is past 2262")?,
    };
    let layout = match args.layout {
        LayoutArg::Nested => SampleLayout::Nested,
        LayoutArg::Flat => SampleLayout::Flat,
        LayoutArg::Ocsf => SampleLayout::Ocsf,
    };
    let mut spec = SampleSpec::new(args.rows, args.seed, as_of, layout);
    spec.rows_per_file = args.rows_per_file.max(1);
    let summary = write(&spec, &args.out)?;
    let processes = if args.processes {
        Some(lakehunt::sample::write_processes(&spec, &args.out)?)
    } else {
        None
    };
    let groups = planted_groups(&spec);
    eprintln!(
        "wrote {} events in {} file{} to {} (as-of {}); planted {} findings and {} decoys{}",
        summary.rows,
        summary.files.len(),
        if summary.files.len() == 1 { "" } else { "s" },
        args.out.display(),
        format_instant(as_of),
        groups.iter().filter(|g| g.finding).count(),
        groups.iter().filter(|g| !g.finding).count(),
        if spec.rows < groups.iter().map(|g| g.events.len()).sum() {
            " (too few rows: none planted)"
        } else {
            ""
        }
    );
    if let Some((files, events)) = processes {
        eprintln!(
            "wrote {events} process and file events in {} file{} beside them",
            files.len(),
            if files.len() == 1 { "" } else { "s" }
        );
    }
    Ok(Outcome::Clean)
}
