//! `lakehunt esql QUERY --data PATH...`: an ES|QL query, as written, over Parquet.

use anyhow::{Context, bail};
use clap::Args;
use lakehunt::Engine;

use super::progress::{LiveLine, opening};
use super::{DataArgs, Outcome, OutputArgs, as_of_or_now, check_out_path, emit};

const ESQL_EXAMPLES: &str = "\
Examples:
  lakehunt esql 'FROM logs-endpoint.events.network-* | WHERE @timestamp > now() - 8 hour
      | STATS n = COUNT(*) BY event.action' --data /lake/endpoint/ --as-of 2026-03-01T08:00:00Z
  lakehunt esql --file hunt.esql --data /lake/endpoint/ --out findings.parquet
  lakehunt esql 'ROW a = [3, 7, 1, 6] | EVAL m = MV_MEDIAN(a)'      (no data needed)
  lakehunt esql 'FROM logs-* | LOOKUP JOIN threats ON destination.ip' \
      --data /lake/endpoint/ --index threats=/lake/intel/threats.parquet
  lakehunt esql 'FROM logs-* | ENRICH nets ON source.ip WITH zone' \
      --data /lake/endpoint/ --enrich-range nets=networks.csv

FROM's index patterns all read --data, or each its own --index PATTERN=PATH
(beside --data, an --index is a lookup index for LOOKUP JOIN only).
NOW() is --as-of (default: now), and events
after --as-of are not visible, so a query over an archive answers as it would
have at that instant. Supported so far: FROM (with METADATA _index, _id), ROW and
[list] literals, `SET unmapped_fields = \"nullify\";` before the query, WHERE, KEEP,
DROP, RENAME, EVAL, STATS (SUM, COUNT, COUNT_DISTINCT, MIN, MAX, AVG, MEDIAN, VALUES,
STD_DEV, PERCENTILE, WEIGHTED_AVG, TOP, FIRST, LAST,
MEDIAN_ABSOLUTE_DEVIATION, and expressions over them) BY (an aggregate may have its
own WHERE), SORT, LIMIT, DISSECT, GROK (common
patterns), MV_EXPAND, ENRICH (--enrich POLICY=PATH), LOOKUP JOIN (--index
NAME=PATH), INLINE STATS; comparisons, AND/OR/NOT,
IS [NOT] NULL, IN, LIKE, RLIKE, CASE, arithmetic, `::` casts, TO_DOUBLE, TO_INTEGER,
TO_LONG, TO_STRING, TO_DATETIME, TO_IP, TO_BOOLEAN, STARTS_WITH, ENDS_WITH, TO_LOWER,
TO_UPPER, LENGTH, TRIM, CONCAT, REPLACE, SUBSTRING, LEFT, RIGHT, SPLIT, COALESCE,
FROM_BASE64, DATE_TRUNC, DATE_FORMAT, MV_COUNT, MV_CONCAT, MV_FIRST, MV_LAST, MV_MIN,
MV_MAX, MV_DEDUPE, MV_SLICE, MV_SORT, MV_AVG, MV_SUM, MV_MEDIAN, MV_APPEND, MV_ZIP,
MV_PERCENTILE, MV_CONTAINS, ROUND_TO, COPY_SIGN, SCALB, TO_VERSION (versions compare
as versions), TO_UNSIGNED_LONG, TO_DATE_NANOS, math,
hash (MD5, SHA1, SHA256, HASH) and string functions (LOCATE, REPEAT, ...),
DATE_EXTRACT, DATE_PARSE, IP_PREFIX, CIDR_MATCH, NOW() and time spans,
comments, MATCH and `field : query`. Not yet (each an error naming the
construct and its position): METADATA _score and _version, index-qualified
field names, TO_AGGREGATE_METRIC_DOUBLE, GROK patterns beyond the common
ones, spatial and vector functions. Every construct, its status and how it
differs from Elasticsearch: docs/esql.md (generated from the code).
Unlike ES|QL, all rows are returned unless --esql-default-limit (ES|QL's implicit
LIMIT 1000).";

#[derive(Debug, Args)]
#[command(after_long_help = ESQL_EXAMPLES)]
pub struct EsqlArgs {
    /// The ES|QL query (or --file, or --hunt).
    #[arg(
        value_name = "QUERY",
        required_unless_present_any = ["file", "hunt"],
        conflicts_with_all = ["file", "hunt"]
    )]
    query: Option<String>,
    /// Read the query from this file.
    #[arg(long, value_name = "FILE", conflicts_with = "hunt")]
    file: Option<std::path::PathBuf>,
    /// Run every ES|QL query of a hunt file of Elastic's hunting library
    /// (`[hunt]` table with `query = [...]`); with --out, query N of several
    /// goes to FILE with `.N` before the extension.
    #[arg(long, value_name = "FILE.toml")]
    hunt: Option<std::path::PathBuf>,
    /// Print the SQL the query becomes and DataFusion's plan, instead of running it.
    #[arg(long)]
    explain: bool,
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    cluster: super::cluster::ClusterArgs,
    #[command(flatten)]
    lookups: LookupArgs,
    /// Run as of this RFC 3339 instant: NOW() is it, later events are invisible.
    #[arg(long, value_name = "TIME")]
    as_of: Option<String>,
    /// Return at most 1000 rows, as Elasticsearch does for a query without a
    /// final LIMIT (lakehunt returns every row by default: batch jobs want them all).
    #[arg(long)]
    esql_default_limit: bool,
    #[command(flatten)]
    out: OutputArgs,
}

#[expect(
    clippy::too_many_lines,
    reason = "the query sources (text, file, library hunt), then one run per query; to split when sweep reuses them"
)]
pub async fn run(args: EsqlArgs) -> anyhow::Result<Outcome> {
    let mut header = None;
    let queries: Vec<String> = match (&args.query, &args.file, &args.hunt) {
        (Some(q), _, _) => vec![q.clone()],
        (None, Some(path), _) => vec![
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?,
        ],
        (None, None, Some(path)) => {
            let file = lakehunt::hunt::library::read_hunt_file(path)?;
            if file.hunt.query.is_empty() {
                bail!("{} has no query", path.display());
            }
            // Said once the queries are checked: a hunt that cannot run is
            // one error line naming its file.
            header = Some(format!(
                "{}: {} ({})",
                path.display(),
                file.hunt.name,
                file.hunt.uuid
            ));
            file.hunt
                .query
                .iter()
                .enumerate()
                .map(|(i, q)| {
                    let (q, stray) = lakehunt::hunt::library::strip_stray_sql(q);
                    if stray {
                        eprintln!(
                            "warning: query {} starts with a stray line `sql`; skipped it",
                            i + 1
                        );
                    }
                    q
                })
                .collect()
        }
        (None, None, None) => bail!("give the query, or --file, or --hunt"),
    };
    // `ROW` queries read no index: they run without data.
    let no_data = args.data.data.is_empty()
        && args.lookups.index.is_empty()
        && !queries.is_empty()
        && queries.iter().all(|q| lakehunt::esql::reads_no_index(q));
    let indexes = if no_data {
        vec![]
    } else {
        args.lookups.indexes(&args.data)?
    };
    // Checked before any data is read. A hunt file's queries that cannot run
    // are reported; the others still run.
    if queries.len() > 1
        && let Some(header) = header.take()
    {
        eprintln!("{header}");
    }
    let mut failed = vec![];
    let mut skipped = vec![];
    for (i, q) in queries.iter().enumerate() {
        // The library mixes languages; only its ES|QL queries are ours to run.
        let language = lakehunt::hunt::library::query_language(q);
        if args.hunt.is_some() && language != "ES|QL" {
            eprintln!(
                "query {} of {}: {language}, not ES|QL: skipped",
                i + 1,
                queries.len()
            );
            skipped.push(i);
            continue;
        }
        if let Err(e) = lakehunt::esql::check(q) {
            if queries.len() == 1 {
                return Err(match &args.hunt {
                    Some(path) => anyhow::anyhow!("{}: {e}", path.display()),
                    None => e.into(),
                });
            }
            eprintln!("query {} of {}: cannot run yet: {e}", i + 1, queries.len());
            failed.push(i);
        }
    }
    // ES|QL's implicit limit is a LIMIT 1000 after the last command.
    let queries: Vec<String> = if args.esql_default_limit {
        queries
            .into_iter()
            .map(|q| format!("{q}\n| LIMIT {}", lakehunt::esql::DEFAULT_LIMIT))
            .collect()
    } else {
        queries
    };
    if let Some(header) = header {
        eprintln!("{header}");
    }
    let as_of = as_of_or_now(args.as_of.as_deref())?;
    check_out_path(&args.out)?;
    let options = lakehunt::EngineOptions {
        cluster: args.cluster.cluster.clone(),
        ..args.data.engine_options()
    };
    let engine = args
        .lookups
        .open(&indexes, &args.data, &options, &LiveLine::new(false))
        .await?;
    let many = queries.len() > 1;
    for (i, query) in queries.iter().enumerate() {
        if failed.contains(&i) || skipped.contains(&i) {
            continue;
        }
        if many {
            eprintln!("query {} of {}", i + 1, queries.len());
        }
        if args.explain {
            println!("{}", engine.esql_explain(query, as_of).await?);
            continue;
        }
        let metadata =
            lakehunt::engine::esql_metadata(query, as_of, args.esql_default_limit, engine.source());
        let mut out = args.out.clone();
        if many && let Some(path) = &args.out.out {
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("findings");
            let name = match path.extension().and_then(|e| e.to_str()) {
                Some(ext) => format!("{stem}.{}.{ext}", i + 1),
                None => format!("{stem}.{}", i + 1),
            };
            out.out = Some(path.with_file_name(name));
        }
        if let Some(path) = &out.out {
            let (stream, counts) = engine.esql_stream(query, as_of).await?;
            super::stream_to_file(stream, &out, path, &metadata).await?;
            for warning in counts.warnings() {
                eprintln!("warning: {}", warning.message);
            }
            continue;
        }
        // A live line on a terminal: rows and bytes read so far.
        let live = LiveLine::new(false);
        let started = std::time::Instant::now();
        let mut show = |read: lakehunt::ScanStats| {
            live.show(format_args!(
                "esql: read {} rows, {:.1} MB, {:.1}s",
                read.rows,
                read.bytes as f64 / 1e6,
                started.elapsed().as_secs_f64()
            ));
        };
        let table = engine.esql_observed(query, as_of, &mut show).await;
        live.clear();
        let (table, warnings) = table?;
        for warning in &warnings {
            eprintln!("warning: {}", warning.message);
        }
        emit(&table, &out, &metadata)?;
    }
    if !failed.is_empty() {
        bail!(
            "{} of {} queries could not run (see above)",
            failed.len(),
            queries.len()
        );
    }
    Ok(Outcome::Clean)
}

/// FROM's index patterns and ENRICH's lookup tables (`esql`, `sweep`).
#[derive(Debug, Args)]
pub(crate) struct LookupArgs {
    /// Read index PATTERN from PATH (Parquet files, folders or globs);
    /// repeatable. Without --data, FROM's patterns read these (`METADATA
    /// _index` names each row's pattern); with --data, FROM reads --data and
    /// these are lookup indexes only. `LOOKUP JOIN PATTERN ON field` joins
    /// with one either way.
    #[arg(long, value_name = "PATTERN=PATH")]
    pub(crate) index: Vec<String>,
    /// A lookup table for `ENRICH POLICY`: a Parquet file, or a CSV file with a
    /// header; its first column is the key, the others the fields it adds.
    /// Repeatable.
    #[arg(long, value_name = "POLICY=PATH")]
    pub(crate) enrich: Vec<String>,
    /// A range policy for `ENRICH POLICY`: a Parquet or CSV file whose first
    /// column holds ranges (10.0.0.0/8, FROM..TO with TO not included, or one
    /// value; of IPs, numbers or dates), the others the fields it adds from
    /// every range that holds the key. Repeatable.
    #[arg(long, value_name = "POLICY=PATH")]
    pub(crate) enrich_range: Vec<String>,
}

impl LookupArgs {
    /// `--index PATTERN=PATH` entries grouped by pattern in the order given;
    /// an error when neither they nor `--data` name any events.
    pub(crate) fn indexes(&self, data: &DataArgs) -> anyhow::Result<Vec<(String, Vec<String>)>> {
        let mut indexes: Vec<(String, Vec<String>)> = vec![];
        for entry in &self.index {
            let Some((pattern, path)) = entry.split_once('=') else {
                bail!("--index takes PATTERN=PATH, got {entry}");
            };
            match indexes.iter_mut().find(|(p, _)| p == pattern) {
                Some((_, paths)) => paths.push(path.to_owned()),
                None => indexes.push((pattern.to_owned(), vec![path.to_owned()])),
            }
        }
        if data.data.is_empty() && indexes.is_empty() {
            bail!(
                "no events given: add --data PATH (Parquet files, folders or globs), \
                 or --index PATTERN=PATH for each index pattern"
            );
        }
        Ok(indexes)
    }

    /// The engine over `--data` or the `indexes` (or over no data, for
    /// `ROW`), with every `--enrich` table.
    pub(crate) async fn open(
        &self,
        indexes: &[(String, Vec<String>)],
        data: &DataArgs,
        options: &lakehunt::EngineOptions,
        live: &LiveLine,
    ) -> anyhow::Result<Engine> {
        let mut engine = if data.data.is_empty() && indexes.is_empty() {
            // ROW reads no index.
            Engine::without_data(options)?
        } else if data.data.is_empty() {
            opening(live, Engine::open_indexed(indexes, options)).await?
        } else {
            let mut engine = opening(live, Engine::open(&data.data, options)).await?;
            for (name, paths) in indexes {
                engine.add_lookup_index(name, paths)?;
            }
            engine
        };
        for entry in &self.enrich {
            let Some((policy, path)) = entry.split_once('=') else {
                bail!("--enrich takes POLICY=PATH, got {entry}");
            };
            engine
                .add_enrich(policy, std::path::Path::new(path))
                .await?;
        }
        for entry in &self.enrich_range {
            let Some((policy, path)) = entry.split_once('=') else {
                bail!("--enrich-range takes POLICY=PATH, got {entry}");
            };
            engine
                .add_enrich_range(policy, std::path::Path::new(path))
                .await?;
        }
        Ok(engine)
    }
}
