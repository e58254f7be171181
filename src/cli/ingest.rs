//! `lakehunt ingest`: Elasticsearch exports into the lake.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use lakehunt::ingest::{IngestOptions, ingest};
use lakehunt::source::remote::StoreOptions;

use super::Outcome;
use super::progress::LiveLine;

pub(crate) const INGEST_EXAMPLES: &str = "\
Examples:
  lakehunt ingest export.ndjson --out /lake/endpoint/
  lakehunt ingest dump-*.json.gz --out s3://security-lake/ecs/
  curl -s 'es:9200/logs-*/_search?size=10000' | lakehunt ingest - --out lake/

Reads, and tells apart per value:
  _search responses     {\"hits\": {\"hits\": [{\"_index\", \"_id\", \"_source\"}]}}, also pretty-printed
  elasticdump lines     {\"_index\", \"_id\", \"_source\"}
  _bulk bodies          an action line, then the document (`update` takes its `doc`)
  bare documents        one _source a line
gzip is recognised by its content. Documents are normalised as Elasticsearch indexes them:
dotted keys (\"host.name\") expand next to objects, a field that is an array anywhere is a list,
numbers and booleans in a text field become text, nulls and {} are absent. `@timestamp` is
RFC 3339 text (a missing zone is UTC) or epoch milliseconds; each document lands in
eventDay=YYYYMMDD/ of its UTC day, sorted by time. A field that is an object in one
document and a value in another stops the ingest, naming the field and both lines.

Files are named from a hash of the inputs: ingesting the same export again replaces its
files rather than doubling the events.";

/// Convert Elasticsearch exports (NDJSON, _bulk, _search responses, elasticdump;
/// gzip or not) into ECS Parquet partitioned by day, ready for every other command.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Export files; `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    inputs: Vec<PathBuf>,
    /// Folder (created if missing) or object-store prefix (s3://bucket/lake/,
    /// gs://..., az://...) the eventDay=YYYYMMDD/ folders go under.
    #[arg(long, value_name = "DIR|URL")]
    out: String,
    /// Write to object stores without credentials.
    #[arg(long)]
    anonymous: bool,
    /// Folder for the temporary day files (default: the system's temporary folder).
    #[arg(long, value_name = "DIR")]
    tmp_dir: Option<PathBuf>,
    /// No progress line and no summary.
    #[arg(long, short)]
    quiet: bool,
}

pub fn run(args: &IngestArgs) -> anyhow::Result<Outcome> {
    // Standard input is read twice (once to type, once to write): keep a copy.
    let mut stdin_copy = None;
    let mut inputs = Vec::with_capacity(args.inputs.len());
    for input in &args.inputs {
        if input.as_os_str() == "-" {
            if stdin_copy.is_none() {
                if std::io::stdin().is_terminal() {
                    anyhow::bail!("`-` reads an export from standard input, but it is a terminal");
                }
                let mut file = match &args.tmp_dir {
                    Some(dir) => tempfile::NamedTempFile::new_in(dir),
                    None => tempfile::NamedTempFile::new(),
                }
                .context("cannot make a temporary copy of standard input")?;
                std::io::copy(&mut std::io::stdin().lock(), &mut file)
                    .context("cannot read standard input")?;
                stdin_copy = Some(file);
            }
            if let Some(file) = &stdin_copy {
                inputs.push(file.path().to_owned());
            }
        } else {
            inputs.push(input.clone());
        }
    }
    let options = IngestOptions {
        tmp_dir: args.tmp_dir.clone(),
        stores: StoreOptions {
            anonymous: args.anonymous,
        },
    };
    let live = LiveLine::new(args.quiet);
    let started = std::time::Instant::now();
    let summary = ingest(&inputs, &args.out, &options, &mut |p| match p.pass {
        1 | 2 => live.show(format_args!(
            "ingest: {} {} documents, {} of {} MiB",
            if p.pass == 1 { "typing" } else { "converting" },
            p.docs,
            p.bytes >> 20,
            p.total_bytes >> 20
        )),
        _ => live.show(format_args!("ingest: wrote {} day files", p.days_written)),
    })
    .map_err(|e| match &stdin_copy {
        // Name standard input, not its temporary copy.
        Some(copy) => anyhow::anyhow!(
            "{}",
            e.to_string()
                .replace(&copy.path().display().to_string(), "<stdin>")
        ),
        None => e.into(),
    })?;
    live.clear();
    for (_, _, file) in &summary.days {
        println!("{file}");
    }
    if !args.quiet {
        let first = summary.days.first().map_or("", |d| d.0.as_str());
        let last = summary.days.last().map_or("", |d| d.0.as_str());
        eprintln!(
            "ingested {} documents into {} day{} ({first}..{last}) under {}: {} columns, {} fields, in {:.1} s",
            summary.docs,
            summary.days.len(),
            if summary.days.len() == 1 { "" } else { "s" },
            args.out,
            summary.columns,
            summary.fields,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(Outcome::Clean)
}
