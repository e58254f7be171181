//! The session: lakehunt's functions, the `events` view over the source, and
//! hunts bound to typed parameter values.
//!
//! Parameters are values, never text: a hunt's SQL names `$threshold`,
//! `$window_start`, ...; the engine reads the type DataFusion inferred for each
//! placeholder and binds a literal of exactly that type. The time bounds are
//! literals in the time column's own unit and zone, so Parquet statistics prune
//! row groups and files.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::{DataFrame, SessionConfig, SessionContext};

use crate::error::{Error, Result};
use crate::esql_warnings::EsqlWarnings;
use crate::hunt::{BoundHunt, Hunt, Value};
use crate::source::{SchemaMode, Source};
use crate::tap::{TapPlanner, tap_diagnostics};

/// Session settings; `None` keeps DataFusion's default.
#[derive(Clone, Debug, Default)]
pub struct EngineOptions {
    /// Rows per batch.
    pub batch_size: Option<usize>,
    /// Parallelism of scans and aggregations.
    pub target_partitions: Option<usize>,
    /// Whether files are read as ECS, OCSF, or detected.
    pub schema: SchemaMode,
    /// Cap on the memory of the engine's operators, in bytes; aggregations and
    /// sorts spill to disk beyond it. `None`: [`default_memory_limit`].
    pub memory_limit: Option<u64>,
    /// The only time range (ns, `(lo, hi]`) the session will query: files in
    /// date folders (`date=`, `eventDay=`) wholly outside it are not opened.
    pub time_range: Option<(i64, i64)>,
    /// Where spill files go (default: the system's temporary folder). They are
    /// removed when the session ends, also on error.
    pub tmp_dir: Option<PathBuf>,
}

/// Half of the machine's memory (from `/proc/meminfo`), else 4 GiB.
#[must_use]
pub fn default_memory_limit() -> u64 {
    let total_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|rest| {
                    rest.trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<u64>()
                        .ok()
                })
        });
    total_kib.map_or(4 << 30, |kib| kib * 1024 / 2)
}

/// A query's result: schema and batches.
#[derive(Clone, Debug)]
pub struct Table {
    /// Column names and types, also when there are no rows.
    pub schema: SchemaRef,
    /// The rows.
    pub batches: Vec<RecordBatch>,
}

impl Table {
    /// Number of rows.
    #[must_use]
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// A counted data-quality warning from a hunt's diagnostics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// Column name in the diagnostics query.
    pub name: String,
    /// How many events it concerns.
    pub count: u64,
    /// The message with the count filled in.
    pub message: String,
}

/// What a hunt produced.
#[derive(Clone, Debug)]
pub struct HuntOutput {
    /// The findings.
    pub findings: Table,
    /// Non-zero warnings, sorted by name.
    pub warnings: Vec<Warning>,
}

/// A session over one source.
pub struct Engine {
    ctx: SessionContext,
    source: Source,
    /// Lookup tables for ES|QL's ENRICH.
    enrich: Vec<crate::esql::EnrichPolicy>,
}

impl Engine {
    /// Opens the data (reading every footer) and builds the session.
    pub async fn open(paths: &[String], options: &EngineOptions) -> Result<Engine> {
        let source = match options.time_range {
            Some((lo, hi)) => Source::open_in_range(paths, options.schema, lo, hi)?,
            None => Source::open_as(paths, options.schema)?,
        };
        Self::with_source(source, options).await
    }

    /// Opens named datasets (`--index PATTERN=PATH`) as one source whose rows
    /// carry their pattern in `_index` (see [`Source::open_indexed`]).
    pub async fn open_indexed(
        indexes: &[(String, Vec<String>)],
        options: &EngineOptions,
    ) -> Result<Engine> {
        Self::with_source(Source::open_indexed(indexes, options.schema)?, options).await
    }

    /// Builds the session over an already opened source.
    pub async fn with_source(source: Source, options: &EngineOptions) -> Result<Engine> {
        // DATAFUSION_* variables tune the session (DATAFUSION_EXECUTION_PARQUET_PUSHDOWN_FILTERS=true, ...).
        let mut config = SessionConfig::from_env()?;
        // Hunts group by entity ids, nearly one group per row: a partial
        // aggregation before the repartition would hash every row twice and hold
        // a second table. Decide after the first batch, and skip it when over
        // half the rows are new groups (DataFusion: 100,000 rows and 80%).
        // Measured on the 10M egress hunt: 2.6% fewer instructions and a peak
        // RSS of 193 instead of 214 MiB; a DATAFUSION_* variable still wins.
        let execution = &mut config.options_mut().execution;
        if std::env::var_os("DATAFUSION_EXECUTION_SKIP_PARTIAL_AGGREGATION_PROBE_ROWS_THRESHOLD")
            .is_none()
        {
            execution.skip_partial_aggregation_probe_rows_threshold = 8192;
        }
        if std::env::var_os("DATAFUSION_EXECUTION_SKIP_PARTIAL_AGGREGATION_PROBE_RATIO_THRESHOLD")
            .is_none()
        {
            execution.skip_partial_aggregation_probe_ratio_threshold = 0.5;
        }
        if let Some(rows) = options.batch_size {
            config = config.with_batch_size(rows);
        }
        if let Some(n) = options.target_partitions {
            config = config.with_target_partitions(n);
        }
        let limit = options.memory_limit.unwrap_or_else(default_memory_limit);
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        // Each spilling sort holds this much back for its merge phase (10 MB by
        // default); under a small cap that reservation alone would fail the run.
        config.options_mut().execution.sort_spill_reservation_bytes =
            (limit / 64).clamp(64 << 10, 10 << 20);
        let mut runtime =
            RuntimeEnvBuilder::new().with_memory_pool(Arc::new(FairSpillPool::new(limit)));
        if let Some(dir) = &options.tmp_dir {
            if !dir.is_dir() {
                return Err(Error::InvalidParameter {
                    name: "--tmp-dir".into(),
                    message: format!("{} is not a folder", dir.display()),
                });
            }
            runtime = runtime.with_temp_file_path(dir);
        }
        let mut state = SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(runtime.build_arc()?)
            .with_default_features()
            .with_query_planner(Arc::new(TapPlanner))
            .with_physical_optimizer_rule(Arc::new(crate::split_scan::SplitScanProjectionRule))
            .with_physical_optimizer_rule(Arc::new(crate::view_eq::ViewEqRule))
            .with_physical_optimizer_rule(Arc::new(crate::list_filter::ListFilterRule));
        if !crate::env_switch("LAKEHUNT_NO_THRESHOLD") {
            state = state.with_physical_optimizer_rule(Arc::new(crate::threshold::ThresholdRule));
        }
        let state = state.build();
        let mut ctx = SessionContext::new_with_state(state);
        lakehunt_udfs::register_all(&mut ctx)?;
        source.register(&ctx).await?;
        Ok(Engine {
            ctx,
            source,
            enrich: vec![],
        })
    }

    /// The source the session reads.
    #[must_use]
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// The DataFusion session, for callers that need more than SQL text.
    #[must_use]
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// Runs ad-hoc SQL over `events` (and `events_raw`).
    pub async fn sql(&self, sql: &str) -> Result<Table> {
        collect(self.ctx.sql(sql).await?).await
    }

    /// Checks the hunt's required fields against the data, before any data is
    /// read; returns the time field's unit and zone.
    pub async fn check_fields(&self, hunt: &Hunt) -> Result<(TimeUnit, Option<Arc<str>>)> {
        let events = self.ctx.table("events").await?;
        let schema = events.schema().as_arrow();
        if let Some(problem) = hunt.field_problems(schema).into_iter().next() {
            return Err(problem.into_error(hunt));
        }
        let time_type = schema
            .field_with_name(&hunt.lakehunt.time_field)
            .ok()
            .map(|f| f.data_type().clone());
        match time_type {
            Some(DataType::Timestamp(unit, tz)) => Ok((unit, tz)),
            _ => Err(Error::InvalidHunt {
                hunt: hunt.id().to_owned(),
                message: "time field must be declared with type = \"timestamp\"".into(),
            }),
        }
    }

    /// The SQL an ES|QL query becomes over this session's `events`, and the
    /// counters of its warnings (registered afresh in the session).
    async fn esql_sql(&self, query: &str, as_of: i64) -> Result<(String, EsqlWarnings)> {
        let events = self.ctx.table("events").await?;
        let time_type = match events
            .schema()
            .as_arrow()
            .field_with_name("@timestamp")
            .map(|f| f.data_type().clone())
        {
            Ok(DataType::Timestamp(unit, tz)) => format!(
                "Timestamp({unit:?}, {})",
                tz.map_or("None".to_owned(), |z| format!("Some(\"{z}\")"))
            ),
            _ => {
                return Err(Error::InvalidEsql {
                    line: 1,
                    column: 1,
                    message: "the data has no @timestamp of a timestamp type".into(),
                });
            }
        };
        let columns: Vec<(String, DataType)> = events
            .schema()
            .fields()
            .iter()
            .map(|f| (f.name().clone(), f.data_type().clone()))
            .collect();
        let indexes: Option<Vec<String>> = self.source.index_of.as_ref().map(|m| {
            let mut names: Vec<String> = m.values().cloned().collect();
            names.sort();
            names.dedup();
            names
        });
        let sql = crate::esql::translate_for(
            query,
            &crate::esql::Target {
                now: as_of,
                time_field: "@timestamp",
                time_type: &time_type,
                columns: Some(&columns),
                indexes: indexes.as_deref(),
                policies: &self.enrich,
            },
        )?;
        Ok((sql, EsqlWarnings::register(&self.ctx)))
    }

    /// Registers a lookup table (Parquet, or CSV with a header) as the ES|QL
    /// enrich policy `name`: its first column is the key, the others the
    /// fields ENRICH adds. A key that appears twice is an error naming the file.
    pub async fn add_enrich(&mut self, name: &str, path: &std::path::Path) -> Result<()> {
        let unreadable = |message: String| Error::UnreadableFile {
            path: path.to_owned(),
            message,
        };
        if self.enrich.iter().any(|p| p.name == name) {
            return Err(Error::InvalidParameter {
                name: "--enrich".into(),
                message: format!("policy {name} is given twice"),
            });
        }
        let table = format!("enrich_{}", self.enrich.len() + 1);
        let location = path.to_string_lossy().into_owned();
        let csv = path
            .extension()
            .is_some_and(|x| x.eq_ignore_ascii_case("csv"));
        if csv {
            self.ctx
                .register_csv(
                    &table,
                    &location,
                    datafusion::prelude::CsvReadOptions::new(),
                )
                .await
        } else {
            self.ctx
                .register_parquet(
                    &table,
                    &location,
                    datafusion::prelude::ParquetReadOptions::default(),
                )
                .await
        }
        .map_err(|e| unreadable(e.to_string()))?;
        let fields: Vec<String> = self
            .ctx
            .table(&table)
            .await?
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let Some((key, rest)) = fields.split_first() else {
            return Err(unreadable("the lookup table has no columns".into()));
        };
        let check = format!(
            "SELECT count(*) FROM (SELECT 1 FROM \"{table}\" WHERE \"{k}\" IS NOT NULL \
             GROUP BY \"{k}\" HAVING count(*) > 1)",
            k = key.replace('"', "\"\"")
        );
        let dupes = collect(self.ctx.sql(&check).await?).await?;
        let dupes = dupes
            .batches
            .first()
            .and_then(|b| ScalarValue::try_from_array(b.column(0), 0).ok());
        if let Some(ScalarValue::Int64(Some(n))) = dupes
            && n > 0
        {
            self.ctx.deregister_table(&table)?;
            return Err(unreadable(format!(
                "{n} values of the key column {key} appear more than once; ENRICH needs one row per key"
            )));
        }
        self.enrich.push(crate::esql::EnrichPolicy {
            name: name.to_owned(),
            table,
            match_field: key.clone(),
            fields: rest.to_vec(),
        });
        Ok(())
    }

    /// Runs an ES|QL query (see [`crate::esql`]) as of `as_of` (ns).
    pub async fn esql(&self, query: &str, as_of: i64) -> Result<Table> {
        Ok(self.esql_observed(query, as_of, &mut |_| {}).await?.0)
    }

    /// [`Engine::esql`], calling `observe` as the scans read (for progress
    /// displays), with ES|QL's warnings (see [`crate::esql_warnings`]).
    pub async fn esql_observed(
        &self,
        query: &str,
        as_of: i64,
        observe: &mut (dyn FnMut(ScanStats) + Send),
    ) -> Result<(Table, Vec<Warning>)> {
        let (sql, warnings) = self.esql_sql(query, as_of).await?;
        let (table, _) =
            collect_observed(self.ctx.sql(&sql).await?, ScanStats::default(), observe).await?;
        Ok((table, warnings.report()))
    }

    /// The SQL an ES|QL query becomes here, and DataFusion's optimized plan of it.
    pub async fn esql_explain(&self, query: &str, as_of: i64) -> Result<String> {
        let (sql, _) = self.esql_sql(query, as_of).await?;
        let plan = self.ctx.sql(&sql).await?.into_optimized_plan()?;
        Ok(format!(
            "SQL\n{sql}\n\nPlan (optimized)\n{}",
            plan.display_indent()
        ))
    }

    /// The hunt's plan; with `analyze`, runs it and reports what each operator
    /// did and what the scans read and skipped.
    pub async fn explain(&self, bound: &BoundHunt, analyze: bool) -> Result<Explained> {
        use datafusion::physical_plan::display::DisplayableExecutionPlan;
        // The plan `run` executes: with the data checks tapped where they can be.
        let (df, _) = self.plan_hunt(bound).await?;
        let logical = df.clone().into_optimized_plan()?;
        let task = Arc::new(df.task_ctx());
        let before = self.source.outside_bounds.get();
        let plan = df.create_physical_plan().await?;
        let after = self.source.outside_bounds.get();
        if !analyze {
            let text = format!(
                "Logical plan (optimized)\n{}\n\nPhysical plan\n{}",
                logical.display_indent(),
                DisplayableExecutionPlan::new(plan.as_ref()).indent(true)
            );
            return Ok(Explained {
                plan: text,
                scans: None,
            });
        }
        datafusion::physical_plan::collect(Arc::clone(&plan), task).await?;
        let mut scans = ScanSummary::default();
        summarize(&plan, &mut scans);
        scans.inside_bounds = crate::table::row_groups_inside_bounds(plan.as_ref());
        scans.outside_bounds = (after.0 - before.0, after.1 - before.1);
        let text = format!(
            "Physical plan with metrics\n{}",
            DisplayableExecutionPlan::with_metrics(plan.as_ref()).indent(true)
        );
        Ok(Explained {
            plan: text,
            scans: Some(scans),
        })
    }

    /// Checks the hunt's fields, then runs the hunt and its diagnostics.
    pub async fn run_hunt(&self, bound: &BoundHunt) -> Result<HuntOutput> {
        self.run_hunt_observed(bound, &mut |_| {}).await
    }

    /// [`Engine::run_hunt`], calling `observe` a few times a second with how
    /// much the scans have read so far (for progress displays).
    pub async fn run_hunt_observed(
        &self,
        bound: &BoundHunt,
        observe: &mut (dyn FnMut(ScanStats) + Send),
    ) -> Result<HuntOutput> {
        let hunt = &bound.hunt;
        // Name the hunt in engine errors (an overflowing sum, an unreadable file).
        let failed = |e: Error| match e {
            Error::Query(source) => Error::HuntFailed {
                hunt: hunt.id().to_owned(),
                source,
            },
            other => other,
        };
        let (findings, checks) = self.plan_hunt(bound).await.map_err(failed)?;
        let (findings, _) = collect_observed(findings, ScanStats::default(), observe)
            .await
            .map_err(failed)?;
        let counts: Vec<(String, u64)> = match checks {
            Checks::None => vec![],
            Checks::Tapped(names, counts) => names.into_iter().zip(counts.values()).collect(),
            Checks::Query(diagnostics) => {
                let checks = ScanStats {
                    checks: true,
                    ..ScanStats::default()
                };
                let (table, _) = collect_observed(diagnostics, checks, observe)
                    .await
                    .map_err(failed)?;
                count_columns(&table)
            }
        };
        let mut warnings = vec![];
        let messages = hunt.lakehunt.diagnostics.iter().flat_map(|d| &d.messages);
        for (name, template) in messages {
            let Some(&(_, count)) = counts.iter().find(|(n, _)| n == name) else {
                return Err(Error::InvalidHunt {
                    hunt: hunt.id().to_owned(),
                    message: format!("diagnostics query has no column '{name}'"),
                });
            };
            if count > 0 {
                warnings.push(Warning {
                    name: name.clone(),
                    count,
                    message: template.replace("{n}", &count.to_string()),
                });
            }
        }
        Ok(HuntOutput { findings, warnings })
    }

    /// The hunt's plan, bound, with its data checks: tapped into the hunt's own
    /// scan where their query allows (see [`crate::tap`]), else a second query.
    async fn plan_hunt(&self, bound: &BoundHunt) -> Result<(DataFrame, Checks)> {
        let hunt = &bound.hunt;
        let (unit, tz) = self.check_fields(hunt).await?;
        let findings = self
            .bind(&hunt.lakehunt.sql, bound, unit, tz.as_ref())
            .await?;
        let Some(diag) = &hunt.lakehunt.diagnostics else {
            return Ok((findings, Checks::None));
        };
        let diagnostics = self.bind(&diag.sql, bound, unit, tz.as_ref()).await?;
        Ok(match tap_diagnostics(&findings, &diagnostics) {
            Some(tapped) => (tapped.plan, Checks::Tapped(tapped.names, tapped.counts)),
            None => (findings, Checks::Query(diagnostics)),
        })
    }

    /// Plans `sql` and binds every placeholder to a literal of its inferred type.
    pub(crate) async fn bind(
        &self,
        sql: &str,
        bound: &BoundHunt,
        unit: TimeUnit,
        tz: Option<&Arc<str>>,
    ) -> Result<DataFrame> {
        let df = self.ctx.sql(sql).await?;
        let inferred = df.logical_plan().get_parameter_types()?;
        let mut values: HashMap<String, ScalarValue> = HashMap::new();
        for (id, data_type) in inferred {
            let name = id.trim_start_matches('$');
            let value = match name {
                "window_start" => timestamp(bound.window_start, unit, tz),
                "as_of" => timestamp(bound.as_of, unit, tz),
                other => match bound.values.get(other) {
                    Some(Value::Int(v)) => ScalarValue::Int64(Some(*v)),
                    Some(Value::Duration(ns)) => ScalarValue::DurationNanosecond(Some(*ns)),
                    Some(Value::Str(s)) => ScalarValue::Utf8(s.clone()),
                    None => {
                        return Err(Error::InvalidHunt {
                            hunt: bound.hunt.id().to_owned(),
                            message: format!("SQL uses {id}, which has no value"),
                        });
                    }
                },
            };
            let value = match data_type {
                Some(t) if t != value.data_type() => value.cast_to(&t)?,
                _ => value,
            };
            values.insert(name.to_owned(), value);
        }
        Ok(df.with_param_values(values)?)
    }
}

/// How a hunt's data checks are counted.
enum Checks {
    /// The hunt has none.
    None,
    /// In the hunt's scan: the checks' names and their counters.
    Tapped(Vec<String>, Arc<crate::tap::TapCounts>),
    /// As a second query, one row of counts.
    Query(DataFrame),
}

/// What `explain` found: the plan, and with `analyze` what its scans read and skipped.
#[derive(Clone, Debug)]
pub struct Explained {
    /// The plan as text: optimized logical and physical plans, or (analyze) the
    /// physical plan with each operator's metrics.
    pub plan: String,
    /// Scan totals, when the hunt was run.
    pub scans: Option<ScanSummary>,
}

/// Totals over every Parquet scan of an analyzed run.
#[derive(Clone, Debug, Default)]
pub struct ScanSummary {
    /// `(name, pruned, matched)` for each pruning step (file ranges, row groups
    /// by statistics and bloom filters, pages), summed over scans.
    pub pruning: Vec<(String, usize, usize)>,
    /// Rows the scans produced.
    pub rows: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Row groups read without the filter on their timestamps (the window):
    /// their footers show every row inside it.
    pub inside_bounds: usize,
    /// Row groups, and files, left out: their footers show every row outside
    /// the window.
    pub outside_bounds: (usize, usize),
}

fn summarize(plan: &Arc<dyn ExecutionPlan>, out: &mut ScanSummary) {
    use datafusion::physical_plan::metrics::MetricValue;
    if plan.name() == "DataSourceExec"
        && let Some(metrics) = plan.metrics()
    {
        for metric in metrics.iter() {
            match metric.value() {
                MetricValue::PruningMetrics {
                    name,
                    pruning_metrics,
                } => {
                    let (pruned, matched) = (pruning_metrics.pruned(), pruning_metrics.matched());
                    match out.pruning.iter_mut().find(|(n, _, _)| n == name) {
                        Some(entry) => {
                            entry.1 += pruned;
                            entry.2 += matched;
                        }
                        None => out.pruning.push((name.to_string(), pruned, matched)),
                    }
                }
                MetricValue::OutputRows(count) => out.rows += count.value() as u64,
                MetricValue::Count { name, count } if name == "bytes_scanned" => {
                    out.bytes += count.value() as u64;
                }
                _ => {}
            }
        }
    }
    for child in plan.children() {
        summarize(child, out);
    }
}

/// How much the Parquet scans of a query have read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Rows the scans produced (after row-group pruning, before filters).
    pub rows: u64,
    /// Bytes read from files.
    pub bytes: u64,
    /// True while the hunt's data checks run as a second query (when they
    /// cannot share the hunt's scan, see [`crate::tap`]).
    pub checks: bool,
}

impl std::ops::Add for ScanStats {
    type Output = ScanStats;
    fn add(self, other: ScanStats) -> ScanStats {
        ScanStats {
            rows: self.rows + other.rows,
            bytes: self.bytes + other.bytes,
            checks: self.checks || other.checks,
        }
    }
}

/// The live metrics of every scan in a running plan.
fn scan_stats(plan: &Arc<dyn ExecutionPlan>) -> ScanStats {
    let mut out = ScanStats::default();
    if plan.name() == "DataSourceExec"
        && let Some(metrics) = plan.metrics()
    {
        out.rows = metrics.output_rows().unwrap_or(0) as u64;
        out.bytes = metrics
            .sum_by_name("bytes_scanned")
            .map_or(0, |v| v.as_usize() as u64);
    }
    for child in plan.children() {
        out = out + scan_stats(child);
    }
    out
}

/// Runs `df`, calling `observe` with `base` plus what its scans have read, four
/// times a second and once at the end; returns the table and that final count.
pub(crate) async fn collect_observed(
    df: DataFrame,
    base: ScanStats,
    observe: &mut (dyn FnMut(ScanStats) + Send),
) -> Result<(Table, ScanStats)> {
    let schema: SchemaRef = Arc::clone(df.schema().inner());
    let task = Arc::new(df.task_ctx());
    let plan = df.create_physical_plan().await?;
    let run = datafusion::physical_plan::collect(Arc::clone(&plan), task);
    tokio::pin!(run);
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let batches = loop {
        tokio::select! {
            done = &mut run => break done?,
            _ = tick.tick() => observe(base + scan_stats(&plan)),
        }
    };
    let read = base + scan_stats(&plan);
    observe(read);
    Ok((Table { schema, batches }, read))
}

/// Each Int64 column of a one-row table, by name (a diagnostics query's counts;
/// NULL or negative counts as 0).
fn count_columns(table: &Table) -> Vec<(String, u64)> {
    let Some(batch) = table.batches.iter().find(|b| b.num_rows() > 0) else {
        return table
            .schema
            .fields()
            .iter()
            .map(|f| (f.name().clone(), 0))
            .collect();
    };
    batch
        .schema()
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(field, column)| {
            let count = match ScalarValue::try_from_array(column, 0) {
                Ok(ScalarValue::Int64(Some(n))) => u64::try_from(n).unwrap_or(0),
                _ => 0,
            };
            (field.name().clone(), count)
        })
        .collect()
}

pub(crate) async fn collect(df: DataFrame) -> Result<Table> {
    let schema: SchemaRef = Arc::clone(df.schema().inner());
    let batches = df.collect().await?;
    Ok(Table { schema, batches })
}

/// An instant as a literal of the time column's type. Rounds down, so that
/// `ts > start` and `ts <= end` keep exactly the rows they would at full precision.
pub(crate) fn timestamp(nanos: i64, unit: TimeUnit, tz: Option<&Arc<str>>) -> ScalarValue {
    let tz = tz.cloned();
    match unit {
        TimeUnit::Second => ScalarValue::TimestampSecond(Some(nanos.div_euclid(1_000_000_000)), tz),
        TimeUnit::Millisecond => {
            ScalarValue::TimestampMillisecond(Some(nanos.div_euclid(1_000_000)), tz)
        }
        TimeUnit::Microsecond => {
            ScalarValue::TimestampMicrosecond(Some(nanos.div_euclid(1_000)), tz)
        }
        TimeUnit::Nanosecond => ScalarValue::TimestampNanosecond(Some(nanos), tz),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_down_in_every_unit() {
        assert_eq!(
            timestamp(-1, TimeUnit::Second, None),
            ScalarValue::TimestampSecond(Some(-1), None)
        );
        assert_eq!(
            timestamp(1_999_999, TimeUnit::Millisecond, None),
            ScalarValue::TimestampMillisecond(Some(1), None)
        );
    }
}
