//! Runs every `tests/slt/**/*.slt` file as one named test (libtest-compatible, so
//! `cargo test` and `cargo nextest` both list and filter them).
//!
//! Each file gets a fresh lakehunt session (its functions, planner and physical
//! rules, as `lakehunt::engine::session` builds it) and its own
//! scratch folder (`__TEST_DIR__`). Besides SQL, the files may use these commands
//! that reach the lakehunt engine:
//!
//! - `lakehunt events PATH`: read PATH (Parquet files or folder) the way `--data`
//!   does; `events` and `events_raw` then refer to it;
//! - `lakehunt hunt ID as_of=TIME [window=DURATION] [NAME=VALUE ...]`: run a shipped
//!   hunt on those events and return its findings;
//! - `lakehunt warnings ID as_of=TIME ...`: the same, returning (warning, count).
//! - `lakehunt esql as_of=TIME QUERY`: an ES|QL query (the rest of the record,
//!   over several lines if need be) over the events;
//! - `lakehunt esql_warnings as_of=TIME QUERY`: the same, returning ES|QL's
//!   warnings (name, count);
//! - `lakehunt esql_columns as_of=TIME QUERY`: the same, returning the
//!   result's column names, one per row;
//! - `lakehunt lookup NAME PATH`: PATH is the lookup index NAME for ES|QL's
//!   `LOOKUP JOIN` (as `--index NAME=PATH` beside `--data`);
//! - `lakehunt enrich NAME PATH`, `lakehunt enrich_range NAME PATH`: PATH is
//!   the (range) policy NAME for `ENRICH` (`--enrich`, `--enrich-range`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, RecordBatch};
use arrow::datatypes::{DataType, Schema};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::prelude::SessionContext;
use lakehunt::{Engine, EngineOptions};
use libtest_mimic::{Arguments, Failed, Trial};
use sqllogictest::{AsyncDB, ColumnType, DBOutput};

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct SltError(String);

impl From<lakehunt::Error> for SltError {
    fn from(e: lakehunt::Error) -> Self {
        SltError(e.to_string())
    }
}

impl From<datafusion::error::DataFusionError> for SltError {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        SltError(e.to_string())
    }
}

/// Column types as the files write them: T text, I integer, R float or decimal,
/// B boolean. Checked strictly.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Col {
    Text,
    Integer,
    Float,
    Boolean,
}

impl ColumnType for Col {
    fn from_char(value: char) -> Option<Self> {
        match value {
            'T' => Some(Col::Text),
            'I' => Some(Col::Integer),
            'R' => Some(Col::Float),
            'B' => Some(Col::Boolean),
            _ => None,
        }
    }

    fn to_char(&self) -> char {
        match self {
            Col::Text => 'T',
            Col::Integer => 'I',
            Col::Float => 'R',
            Col::Boolean => 'B',
        }
    }
}

struct Db {
    ctx: SessionContext,
    engine: Option<Engine>,
    /// This file's scratch folder, substituted for `__TEST_DIR__`.
    scratch: tempfile::TempDir,
    /// `lakehunt lookup|enrich|enrich_range NAME PATH` so far, for every
    /// engine.
    lookups: Vec<(String, String, String)>,
}

impl Db {
    fn new() -> Result<Self, SltError> {
        // lakehunt's own session (its rules, planner and functions), also
        // before `lakehunt events`: a query here meets what a hunt meets.
        let ctx = lakehunt::engine::session(&EngineOptions::default())?;
        let scratch = tempfile::tempdir().map_err(|e| SltError(e.to_string()))?;
        Ok(Db {
            ctx,
            engine: None,
            scratch,
            lookups: vec![],
        })
    }

    async fn lakehunt_command(&mut self, words: &[&str]) -> Result<DBOutput<Col>, SltError> {
        match words {
            ["events", path] => {
                let mut engine =
                    Engine::open(&[(*path).to_owned()], &EngineOptions::default()).await?;
                for (kind, name, path) in &self.lookups {
                    add_table(&mut engine, kind, name, path).await?;
                }
                self.engine = Some(engine);
                Ok(DBOutput::StatementComplete(0))
            }
            [kind @ ("lookup" | "enrich" | "enrich_range"), name, path] => {
                let engine = match &mut self.engine {
                    Some(engine) => engine,
                    None => self
                        .engine
                        .insert(Engine::without_data(&EngineOptions::default())?),
                };
                add_table(engine, kind, name, path).await?;
                self.lookups
                    .push(((*kind).to_owned(), (*name).to_owned(), (*path).to_owned()));
                Ok(DBOutput::StatementComplete(0))
            }
            [cmd @ ("hunt" | "warnings"), id, params @ ..] => {
                let engine = self
                    .engine
                    .as_ref()
                    .ok_or_else(|| SltError("run `lakehunt events PATH` first".into()))?;
                let hunt = lakehunt::hunt::find(id)?;
                let mut as_of = None;
                let mut window = None;
                let mut overrides = vec![];
                for p in params {
                    let (k, v) = p
                        .split_once('=')
                        .ok_or_else(|| SltError(format!("bad argument {p}")))?;
                    match k {
                        "as_of" => {
                            as_of = Some(lakehunt::params::parse_instant(v).map_err(SltError)?);
                        }
                        "window" => window = Some(v.to_owned()),
                        _ => overrides.push((k.to_owned(), v.to_owned())),
                    }
                }
                let as_of = as_of.ok_or_else(|| SltError("as_of=TIME is required".into()))?;
                let bound = hunt.bind(as_of, window.as_deref(), &overrides)?;
                let out = engine.run_hunt(&bound).await?;
                if *cmd == "hunt" {
                    Ok(rows(&out.findings.schema, &out.findings.batches)?)
                } else {
                    let rows = out
                        .warnings
                        .iter()
                        .map(|w| vec![w.name.clone(), w.count.to_string()])
                        .collect();
                    Ok(DBOutput::Rows {
                        types: vec![Col::Text, Col::Integer],
                        rows,
                    })
                }
            }
            _ => Err(SltError(format!(
                "unknown lakehunt command: {}",
                words.join(" ")
            ))),
        }
    }
}

/// A lookup index, an enrich policy or a range policy, as the flags add them.
async fn add_table(
    engine: &mut Engine,
    kind: &str,
    name: &str,
    path: &str,
) -> Result<(), SltError> {
    match kind {
        "lookup" => engine.add_lookup_index(name, &[path.to_owned()])?,
        "enrich" => engine.add_enrich(name, Path::new(path)).await?,
        _ => engine.add_enrich_range(name, Path::new(path)).await?,
    }
    Ok(())
}

impl Db {
    async fn esql(
        &mut self,
        as_of: &str,
        query: &str,
        what: &str,
    ) -> Result<DBOutput<Col>, SltError> {
        let as_of = as_of
            .strip_prefix("as_of=")
            .ok_or_else(|| SltError("lakehunt esql as_of=TIME QUERY".into()))?;
        let as_of = lakehunt::params::parse_instant(as_of).map_err(SltError)?;
        // ROW reads no index: it runs without events.
        let without;
        let engine = match &self.engine {
            Some(engine) => engine,
            None if lakehunt::esql::reads_no_index(query) => {
                without = Engine::without_data(&EngineOptions::default())?;
                &without
            }
            None => return Err(SltError("run `lakehunt events PATH` first".into())),
        };
        let (table, said) = engine.esql_observed(query, as_of, &mut |_| {}).await?;
        if what == "esql_columns" {
            let rows = table
                .schema
                .fields()
                .iter()
                .map(|f| vec![f.name().clone()])
                .collect();
            return Ok(DBOutput::Rows {
                types: vec![Col::Text],
                rows,
            });
        }
        if what == "esql_warnings" {
            let mut out: Vec<Vec<String>> = said
                .iter()
                .map(|w| vec![w.name.clone(), w.count.to_string()])
                .collect();
            out.sort();
            return Ok(DBOutput::Rows {
                types: vec![Col::Text, Col::Integer],
                rows: out,
            });
        }
        rows(&table.schema, &table.batches)
    }
}

fn cell(array: &dyn Array, row: usize) -> Result<String, SltError> {
    // A NULL-typed column has no null buffer: every row is NULL.
    if array.is_null(row) || array.data_type() == &DataType::Null {
        return Ok("NULL".into());
    }
    let formatter = ArrayFormatter::try_new(array, &FormatOptions::default())
        .map_err(|e| SltError(e.to_string()))?;
    let text = formatter.value(row).to_string().trim_end().to_owned();
    Ok(if text.is_empty() {
        "(empty)".into()
    } else {
        text
    })
}

fn column_type(t: &DataType) -> Col {
    if t.is_integer() {
        Col::Integer
    } else if t.is_floating() || matches!(t, DataType::Decimal128(..) | DataType::Decimal256(..)) {
        Col::Float
    } else if *t == DataType::Boolean {
        Col::Boolean
    } else {
        Col::Text
    }
}

fn rows(schema: &Schema, batches: &[RecordBatch]) -> Result<DBOutput<Col>, SltError> {
    let types = schema
        .fields()
        .iter()
        .map(|f| column_type(f.data_type()))
        .collect();
    let mut out = vec![];
    for batch in batches {
        for row in 0..batch.num_rows() {
            out.push(
                batch
                    .columns()
                    .iter()
                    .map(|c| cell(c.as_ref(), row))
                    .collect::<Result<Vec<_>, _>>()?,
            );
        }
    }
    Ok(DBOutput::Rows { types, rows: out })
}

#[async_trait::async_trait]
impl AsyncDB for Db {
    type Error = SltError;
    type ColumnType = Col;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<Col>, SltError> {
        let sql = sql.replace("__TEST_DIR__", &self.scratch.path().to_string_lossy());
        let sql = sql.as_str();
        let words: Vec<&str> = sql.split_whitespace().collect();
        if let [
            "lakehunt",
            command @ ("esql" | "esql_warnings" | "esql_columns"),
            as_of,
            ..,
        ] = words.as_slice()
        {
            // The query is the raw text after `as_of=TIME`, line breaks and all.
            let at = sql.find(as_of).map_or(0, |i| i + as_of.len());
            return self.esql(as_of, sql[at..].trim_start(), command).await;
        }
        if words.first() == Some(&"lakehunt") {
            return self.lakehunt_command(&words[1..]).await;
        }
        let ctx = self.engine.as_ref().map_or(&self.ctx, Engine::context);
        let df = ctx.sql(sql).await?;
        let is_query = !df.schema().fields().is_empty()
            && !sql.trim_start().to_ascii_lowercase().starts_with("create");
        let schema = Arc::clone(df.schema().inner());
        let batches = df.collect().await?;
        if is_query {
            rows(&schema, &batches)
        } else {
            Ok(DBOutput::StatementComplete(0))
        }
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &'static str {
        "lakehunt"
    }
}

fn slt_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("tests/slt exists")
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            slt_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "slt") {
            out.push(path);
        }
    }
}

/// Runs the file as the command runs a query: planning on a thread with
/// the command's 256 MiB of stack, plans on threads with the engine's
/// (see `lakehunt::engine::Engine`), so deep queries test what users get.
fn run_file(path: &Path) -> Result<(), Failed> {
    let path = path.to_path_buf();
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || run_file_here(&path))
        .map_err(|e| e.to_string())?
        .join()
        .map_err(|_| Failed::from("the file's thread panicked"))?
}

fn run_file_here(path: &Path) -> Result<(), Failed> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(lakehunt::engine::WORKER_STACK)
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let mut runner = sqllogictest::Runner::new(|| async { Db::new() });
        runner.with_column_validator(sqllogictest::strict_column_validator);
        runner
            .run_file_async(path)
            .await
            .map_err(|e| Failed::from(e.display(true).to_string()))
    })
}

fn main() {
    let args = Arguments::from_args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slt");
    let mut files = vec![];
    slt_files(&root, &mut files);
    let trials = files
        .into_iter()
        .map(|path| {
            let name = path
                .strip_prefix(&root)
                .unwrap_or(&path)
                .display()
                .to_string();
            let path = Arc::new(path);
            Trial::test(name, move || run_file(&path))
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
