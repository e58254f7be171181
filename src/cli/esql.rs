//! `lakehunt esql QUERY --data PATH...`: an ES|QL query, as written, over Parquet.

use anyhow::{Context, bail};
use clap::Args;
use lakehunt::Engine;
use lakehunt::params::parse_instant;

use super::{DataArgs, Outcome, OutputArgs, check_out_path, emit};

const ESQL_EXAMPLES: &str = "\
Examples:
  lakehunt esql 'FROM logs-endpoint.events.network-* | WHERE @timestamp > now() - 8 hour
      | STATS n = COUNT(*) BY event.action' --data /lake/endpoint/ --as-of 2026-03-01T08:00:00Z
  lakehunt esql --file hunt.esql --data /lake/endpoint/ --out findings.parquet

FROM's index patterns all read --data. NOW() is --as-of (default: now), and events
after --as-of are not visible, so a query over an archive answers as it would
have at that instant. Supported so far: FROM, WHERE, KEEP, DROP, RENAME, EVAL,
STATS (SUM, COUNT, COUNT_DISTINCT, MIN, MAX, AVG) BY, SORT, LIMIT, comparisons,
AND/OR/NOT, IS [NOT] NULL, IN, LIKE, RLIKE, CASE, arithmetic, CIDR_MATCH, NOW()
and time spans, comments. Unlike ES|QL, all rows are returned (no implicit
LIMIT 1000).";

#[derive(Debug, Args)]
#[command(after_long_help = ESQL_EXAMPLES)]
pub struct EsqlArgs {
    /// The ES|QL query (or --file).
    #[arg(
        value_name = "QUERY",
        required_unless_present = "file",
        conflicts_with = "file"
    )]
    query: Option<String>,
    /// Read the query from this file.
    #[arg(long, value_name = "FILE")]
    file: Option<std::path::PathBuf>,
    #[command(flatten)]
    data: DataArgs,
    /// Run as of this RFC 3339 instant: NOW() is it, later events are invisible.
    #[arg(long, value_name = "TIME")]
    as_of: Option<String>,
    #[command(flatten)]
    out: OutputArgs,
}

pub async fn run(args: EsqlArgs) -> anyhow::Result<Outcome> {
    let query = match (&args.query, &args.file) {
        (Some(q), _) => q.clone(),
        (None, Some(path)) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?,
        (None, None) => bail!("give the query, or --file"),
    };
    if args.data.data.is_empty() {
        bail!("no events given: add --data PATH (Parquet files, folders or globs)");
    }
    // Checked before any data is read.
    lakehunt::esql::index_patterns(&query)?;
    let as_of_text = args
        .as_of
        .clone()
        .unwrap_or_else(|| chrono::Utc::now().to_rfc3339());
    let as_of =
        parse_instant(&as_of_text).map_err(|message| lakehunt::Error::InvalidParameter {
            name: "--as-of".into(),
            message,
        })?;
    check_out_path(&args.out)?;
    let engine = Engine::open(&args.data.data, &args.data.engine_options()).await?;
    let table = engine.esql(&query, as_of).await?;
    let metadata = vec![
        ("lakehunt.esql".to_owned(), query.clone()),
        (
            "lakehunt.as_of".to_owned(),
            lakehunt::params::format_instant(as_of),
        ),
        (
            "lakehunt.version".to_owned(),
            env!("CARGO_PKG_VERSION").to_owned(),
        ),
    ];
    emit(&table, &args.out, &metadata)?;
    Ok(Outcome::Clean)
}
