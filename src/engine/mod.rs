//! The session: lakehunt's functions, the `events` view over the source, and
//! hunts bound to typed parameter values.
//!
//! Parameters are values, never text: a hunt's SQL names `$threshold`,
//! `$window_start`, ...; the engine reads the type DataFusion inferred for each
//! placeholder and binds a literal of exactly that type. The time bounds are
//! literals in the time column's own unit and zone, so Parquet statistics prune
//! row groups and files.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::{DataFrame, SessionConfig, SessionContext};

mod batch;
mod esql;
mod events;
mod metrics;
mod options;
mod pool;

pub use batch::{Prepared, SharedRun};
pub use esql::EsqlCounts;
use metrics::summarize;
pub use metrics::{Explained, ScanStats, ScanSummary};
pub(crate) use metrics::{collect_observed, scan_stats};
pub use options::{EngineOptions, default_memory_limit};

use crate::error::{Error, Result};
use crate::hunt::{BoundHunt, Hunt, Value};
use crate::optimizer::{RuleSwitches, TapCounts, TapPlanner, tap_diagnostics};
use crate::scan::{OutsideBounds, row_groups_inside_bounds};
use crate::source::Source;

/// What user-given SQL may do: read. A hunt is shared as a file and `sql`
/// runs whatever it is given, so neither may create or drop tables, write
/// files (`COPY ... TO`, `INSERT`) or change settings (`SET`): findings leave
/// only through `--out`.
#[must_use]
pub fn read_only() -> datafusion::execution::context::SQLOptions {
    datafusion::execution::context::SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
}

/// DataFusion's "DML not supported: COPY" as what it means here.
fn refused_write(e: datafusion::error::DataFusionError) -> Error {
    let text = e.to_string();
    for kind in ["DML", "DDL", "Statement"] {
        if let Some(at) = text.find(&format!("{kind} not supported: ")) {
            let what = &text[at + kind.len() + " not supported: ".len()..];
            return Error::InvalidParameter {
                name: "SQL".into(),
                message: format!(
                    "lakehunt runs SQL read-only: {what} is not allowed (findings leave through --out)"
                ),
            };
        }
    }
    Error::Query(e)
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

impl HuntOutput {
    /// What a findings file says of its run: the hunt, as-of, window and
    /// parameters, the OCSF version read, and each warning's count.
    #[must_use]
    pub fn metadata(&self, bound: &BoundHunt, source: &Source) -> Vec<(String, String)> {
        let mut metadata = hunt_metadata(bound, source);
        metadata.extend(warning_metadata(&self.warnings));
        metadata
    }
}

/// What a results file of ad-hoc SQL says of its run.
#[must_use]
pub fn sql_metadata(query: &str) -> Vec<(String, String)> {
    vec![
        ("lakehunt.sql".to_owned(), query.to_owned()),
        (
            "lakehunt.version".to_owned(),
            env!("CARGO_PKG_VERSION").to_owned(),
        ),
    ]
}

/// What a results file of an ES|QL query says of its run; `default_limit`:
/// whether ES|QL's implicit `LIMIT 1000` was asked for.
#[must_use]
pub fn esql_metadata(
    query: &str,
    as_of: i64,
    default_limit: bool,
    source: &Source,
) -> Vec<(String, String)> {
    let mut metadata = vec![
        ("lakehunt.esql".to_owned(), query.to_owned()),
        (
            "lakehunt.as_of".to_owned(),
            crate::params::format_instant(as_of),
        ),
        (
            "lakehunt.esql_limit".to_owned(),
            if default_limit {
                format!("{} (ES|QL's default)", crate::esql::DEFAULT_LIMIT)
            } else {
                "none: every row".to_owned()
            },
        ),
        (
            "lakehunt.version".to_owned(),
            env!("CARGO_PKG_VERSION").to_owned(),
        ),
    ];
    if let Some(version) = &source.ocsf_version {
        metadata.push(("lakehunt.ocsf_version".to_owned(), version.clone()));
    }
    metadata
}

/// lakehunt's DataFusion session, with no table yet: its settings, memory
/// pool and spill folder from `options`, lakehunt's planner, physical rules and
/// functions. [`Engine`] adds the `events` view over its source; the SQL logic
/// tests plan their own tables on it, so they meet the same rules.
pub fn session(options: &EngineOptions) -> Result<SessionContext> {
    let mut config = SessionConfig::new();
    // Hunts group by entity ids, nearly one group per row: a partial
    // aggregation before the repartition would hash every row twice and hold
    // a second table. Decide after the first batch, and skip it when over
    // half the rows are new groups (DataFusion: 100,000 rows and 80%).
    // Measured on the 10M egress hunt: 2.6% fewer instructions and a peak
    // RSS of 193 instead of 214 MiB; a setting in `options` still wins.
    let execution = &mut config.options_mut().execution;
    execution.skip_partial_aggregation_probe_rows_threshold = 8192;
    execution.skip_partial_aggregation_probe_ratio_threshold = 0.5;
    // Each ES|QL command is a subquery of the next: DataFusion's SQL parser
    // stopped at 50 levels, about 25 commands (or 50 OR terms). Parsing and
    // planning run on the caller's thread, which the command and the Python
    // module give 256 MiB of stack ([`WORKER_STACK`] for the engine's own).
    config
        .options_mut()
        .set("datafusion.sql_parser.recursion_limit", "2000")?;
    for (key, value) in &options.settings {
        config.options_mut().set(key, value)?;
    }
    if let Some(rows) = options.batch_size {
        config = config.with_batch_size(rows);
    }
    if let Some(n) = options.target_partitions {
        config = config.with_target_partitions(n);
    }
    if let Some(url) = &options.cluster {
        config = config
            .with_extension(Arc::new(crate::cluster::OnCluster(url.clone())))
            .with_option_extension(crate::cluster::ClusterSettings {
                anonymous: options.stores.anonymous,
            });
    }
    let limit = memory_limit(options);
    // Each spilling sort holds this much back for its merge phase (10 MB by
    // default); under a small cap that reservation alone would fail the run.
    // A DATAFUSION_* setting of it wins, as the others do.
    if !options
        .settings
        .iter()
        .any(|(key, _)| key == "datafusion.execution.sort_spill_reservation_bytes")
    {
        config.options_mut().execution.sort_spill_reservation_bytes =
            (limit / 64).clamp(64 << 10, 10 << 20);
    }
    // Smaller batches under a small cap (see [`pool::batch_rows`]); a
    // batch size given, as a flag or a DATAFUSION_* setting, wins.
    if options.batch_size.is_none()
        && !options
            .settings
            .iter()
            .any(|(key, _)| key == "datafusion.execution.batch_size")
    {
        let rows = pool::batch_rows(limit, config.target_partitions());
        config = config.with_batch_size(rows);
    }
    let headroom = options.merge_headroom.then(|| pool::Headroom {
        bytes: pool::headroom(limit, config.target_partitions()),
        floor: config.options().execution.sort_spill_reservation_bytes,
    });
    let mut runtime = RuntimeEnvBuilder::new()
        .with_memory_pool(Arc::new(pool::SessionPool::new(limit, headroom)));
    if options.spill_fan_in {
        runtime = runtime.with_max_spill_merge_fan_in(pool::spill_fan_in(limit));
    }
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
        .with_optimizer_rules(crate::optimizer::logical_rules())
        .with_query_planner(Arc::new(TapPlanner));
    let switches = RuleSwitches {
        threshold: options.threshold_pruning.then_some(options.threshold_spill),
        compact_views: options.compact_views,
        null_as_false: options.null_as_false,
        regex_once: options.regex_once,
        for_cluster: options.cluster.is_some(),
    };
    for rule in crate::optimizer::rules(switches) {
        state = state.with_physical_optimizer_rule(rule);
    }
    let state = state.build();
    let mut ctx = SessionContext::new_with_state(state);
    lakehunt_udfs::register_all(&mut ctx)?;
    if !options.hashed_count_distinct {
        ctx.register_udaf(
            lakehunt_udfs::count_distinct::exact_count_distinct_udaf()
                .as_ref()
                .clone(),
        );
    }
    Ok(ctx)
}

/// The engine's memory cap in bytes: `options`' or the default.
fn memory_limit(options: &EngineOptions) -> usize {
    let limit = options.memory_limit.unwrap_or_else(default_memory_limit);
    usize::try_from(limit).unwrap_or(usize::MAX)
}

/// What a findings file says of its run before its warnings are counted: the
/// hunt, as-of, window and parameters, and the OCSF version read.
#[must_use]
pub fn hunt_metadata(bound: &BoundHunt, source: &Source) -> Vec<(String, String)> {
    let mut metadata = bound.describe();
    if let Some(version) = &source.ocsf_version {
        metadata.push(("lakehunt.ocsf_version".to_owned(), version.clone()));
    }
    metadata
}

/// Each warning's count, as a findings file records it.
#[must_use]
pub fn warning_metadata(warnings: &[Warning]) -> Vec<(String, String)> {
    warnings
        .iter()
        .map(|w| (format!("lakehunt.warning.{}", w.name), w.count.to_string()))
        .collect()
}

/// A hunt's findings as they are made ([`Engine::run_hunt_stream`]), and its
/// data checks, counted once the findings are all read.
pub struct HuntStream {
    /// The findings; errors name the hunt.
    pub rows: datafusion::execution::SendableRecordBatchStream,
    plan: Arc<dyn datafusion::physical_plan::ExecutionPlan>,
    checks: Checks,
}

impl HuntStream {
    /// What the hunt's scans have read so far (for progress displays).
    #[must_use]
    pub fn read(&self) -> ScanStats {
        metrics::scan_stats(&self.plan)
    }
}

/// A hunt's engine error with the hunt named (an overflowing sum, an
/// unreadable file); other errors as they are.
#[must_use]
pub fn hunt_failed(hunt: &Hunt, e: Error) -> Error {
    match e {
        Error::Query(source) => Error::HuntFailed {
            hunt: hunt.id().to_owned(),
            source,
        },
        other => other,
    }
}

/// The stack of the async runtime's threads, where plans run: a filter of
/// 500 OR terms evaluates 500 levels deep (tokio's default is 2 MiB).
pub const WORKER_STACK: usize = 32 << 20;

/// A session over one source.
///
/// Planning recurses as deep as the query nests (an ES|QL pipeline is a
/// subquery per command; DataFusion's SQL parser may go 2,000 levels): call
/// it from a thread with a large stack, as the command and the Python module
/// do (256 MiB), and run its plans on a runtime whose threads have
/// [`WORKER_STACK`]. On a 2 MiB thread, a 60-command pipeline overflows it.
pub struct Engine {
    ctx: SessionContext,
    source: Source,
    /// Row groups and files the tables' scans left out, their footers putting
    /// them wholly outside a query's time bounds (counted at planning).
    outside_bounds: Arc<OutsideBounds>,
    /// Lookup tables for ES|QL's ENRICH.
    enrich: Vec<crate::esql::EnrichPolicy>,
    /// Datasets ES|QL's `LOOKUP JOIN` may name, and how to open them.
    lookup_paths: Vec<(String, Vec<String>)>,
    /// Those registered so far (on a query's first use).
    lookups: std::sync::Mutex<Vec<crate::esql::LookupIndex>>,
    options: EngineOptions,
    /// The tables whose scans queries planned together may share (with
    /// `options.share_scans`).
    shared: Vec<Arc<crate::scan::SharedTable>>,
}

impl Engine {
    /// Opens the data (reading every footer) and builds the session.
    pub async fn open(paths: &[String], options: &EngineOptions) -> Result<Engine> {
        let source = match options.time_range {
            Some(range) => Source::open_in_range(
                paths,
                options.schema,
                &options.stores,
                range,
                &options.date_folders,
            )?,
            None => Source::open_as(paths, options.schema, &options.stores)?,
        };
        Self::with_source(source, options).await
    }

    /// Opens named datasets (`--index PATTERN=PATH`) as one source whose rows
    /// carry their pattern in `_index` (see [`Source::open_indexed`]).
    pub async fn open_indexed(
        indexes: &[(String, Vec<String>)],
        options: &EngineOptions,
    ) -> Result<Engine> {
        let source = Source::open_indexed(indexes, options.schema, &options.stores)?;
        let mut engine = Self::with_source(source, options).await?;
        engine.lookup_paths = indexes.to_vec();
        Ok(engine)
    }

    /// Builds the session over an already opened source.
    pub async fn with_source(source: Source, options: &EngineOptions) -> Result<Engine> {
        let ctx = session(options)?;
        let outside_bounds = Arc::default();
        let shared = events::register(&source, &ctx, options, &outside_bounds).await?;
        Ok(Engine {
            ctx,
            source,
            outside_bounds,
            enrich: vec![],
            lookup_paths: vec![],
            lookups: std::sync::Mutex::default(),
            options: options.clone(),
            shared,
        })
    }

    /// A session over no data, for ES|QL's `ROW` (which reads no index).
    pub fn without_data(options: &EngineOptions) -> Result<Engine> {
        Ok(Engine {
            ctx: session(options)?,
            source: Source::from_groups(vec![], vec![])?,
            outside_bounds: Arc::default(),
            enrich: vec![],
            lookup_paths: vec![],
            lookups: std::sync::Mutex::default(),
            options: options.clone(),
            shared: vec![],
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

    /// Runs ad-hoc SQL over `events` (and `events_raw`), read-only (see
    /// [`read_only`]).
    pub async fn sql(&self, sql: &str) -> Result<Table> {
        let df = self
            .ctx
            .sql_with_options(sql, read_only())
            .await
            .map_err(refused_write)?;
        collect(df).await
    }

    /// [`Engine::sql`] as a stream of batches, for results larger than
    /// memory (see [`crate::output::FileSink`]); errors while running arrive
    /// in the stream.
    pub async fn sql_stream(
        &self,
        sql: &str,
    ) -> Result<datafusion::execution::SendableRecordBatchStream> {
        let df = self
            .ctx
            .sql_with_options(sql, read_only())
            .await
            .map_err(refused_write)?;
        execute(df).await
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

    /// The hunt's plan; with `analyze`, runs it and reports what each operator
    /// did and what the scans read and skipped.
    pub async fn explain(&self, bound: &BoundHunt, analyze: bool) -> Result<Explained> {
        use datafusion::physical_plan::display::DisplayableExecutionPlan;
        // The plan `run` executes: with the data checks tapped where they can be.
        let (df, _) = self.plan_hunt(bound).await?;
        let logical = df.clone().into_optimized_plan()?;
        let task = Arc::new(df.task_ctx());
        let before = self.outside_bounds.get();
        let plan = df.create_physical_plan().await?;
        let after = self.outside_bounds.get();
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
        scans.inside_bounds = row_groups_inside_bounds(plan.as_ref());
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

    /// The stages a cluster cuts the hunt's plan into (see
    /// [`crate::cluster::stages`]), as its scheduler would; nothing runs.
    pub async fn explain_stages(&self, bound: &BoundHunt) -> Result<String> {
        let (df, _) = self.plan_hunt(bound).await?;
        let options = Arc::clone(df.task_ctx().session_config().options());
        let plan = df.create_physical_plan().await?;
        crate::cluster::stages(plan, &options)
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
        let failed = |e: Error| hunt_failed(&bound.hunt, e);
        let (findings, checks) = self.plan_hunt(bound).await.map_err(failed)?;
        let (findings, _) = collect_observed(findings, ScanStats::default(), observe)
            .await
            .map_err(failed)?;
        let warnings = self.hunt_warnings(bound, checks, observe).await?;
        Ok(HuntOutput { findings, warnings })
    }

    /// [`Engine::run_hunt`] with the findings as a stream, for results larger
    /// than memory: read them all, then count the warnings with
    /// [`Engine::stream_warnings`].
    pub async fn run_hunt_stream(&self, bound: &BoundHunt) -> Result<HuntStream> {
        let failed = |e: Error| hunt_failed(&bound.hunt, e);
        let (findings, checks) = self.plan_hunt(bound).await.map_err(failed)?;
        let task = Arc::new(findings.task_ctx());
        let plan = findings
            .create_physical_plan()
            .await
            .map_err(|e| failed(e.into()))?;
        let rows = crate::cluster::execute(Arc::clone(&plan), task)
            .await
            .map_err(failed)?;
        Ok(HuntStream { rows, plan, checks })
    }

    /// The data checks' warnings of a hunt whose stream was read to its end.
    pub async fn stream_warnings(
        &self,
        bound: &BoundHunt,
        stream: HuntStream,
        observe: &mut (dyn FnMut(ScanStats) + Send),
    ) -> Result<Vec<Warning>> {
        self.hunt_warnings(bound, stream.checks, observe).await
    }

    /// The hunt's warnings from its data checks, once its findings are in.
    async fn hunt_warnings(
        &self,
        bound: &BoundHunt,
        checks: Checks,
        observe: &mut (dyn FnMut(ScanStats) + Send),
    ) -> Result<Vec<Warning>> {
        let hunt = &bound.hunt;
        let failed = |e: Error| hunt_failed(hunt, e);
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
        warnings_of(hunt, &counts)
    }

    /// The hunt's plan, bound, with its data checks: tapped into the hunt's own
    /// scan where their query allows (see the tap in `crate::optimizer`), else a second query.
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
        // A tap counts where the scan runs: on a cluster, in the executors,
        // out of reach. There the checks are a query of their own.
        if crate::cluster::on_cluster(self.ctx.state().config()) {
            return Ok((findings, Checks::Query(diagnostics)));
        }
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
        let df = self
            .ctx
            .sql_with_options(sql, read_only())
            .await
            .map_err(refused_write)?;
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

/// The warnings a hunt's data checks' `counts` (by column name) give.
fn warnings_of(hunt: &Hunt, counts: &[(String, u64)]) -> Result<Vec<Warning>> {
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
    Ok(warnings)
}

/// How a hunt's data checks are counted.
enum Checks {
    /// The hunt has none.
    None,
    /// In the hunt's scan: the checks' names and their counters.
    Tapped(Vec<String>, Arc<TapCounts>),
    /// As a second query, one row of counts.
    Query(DataFrame),
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
    use futures::TryStreamExt;
    let schema: SchemaRef = Arc::clone(df.schema().inner());
    let batches = execute(df).await?.try_collect().await?;
    Ok(Table { schema, batches })
}

/// Runs `df` where its session says (here, or on its cluster), as a stream.
pub(crate) async fn execute(
    df: DataFrame,
) -> Result<datafusion::execution::SendableRecordBatchStream> {
    let task = Arc::new(df.task_ctx());
    let plan = df.create_physical_plan().await?;
    crate::cluster::execute(plan, task).await
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

    /// The cap sets how many spill files a merge pass opens; the switch
    /// leaves DataFusion's unlimited default; a DATAFUSION_* setting of the
    /// sorts' merge reservation is kept.
    #[test]
    fn the_session_limits_a_merge_by_the_cap() {
        let capped = |cap: u64, fan_in: bool| {
            let options = EngineOptions {
                memory_limit: Some(cap),
                spill_fan_in: fan_in,
                settings: vec![(
                    "datafusion.execution.sort_spill_reservation_bytes".into(),
                    "12345".into(),
                )],
                ..EngineOptions::default()
            };
            session(&options).unwrap()
        };
        let ctx = capped(256 << 20, true);
        assert_eq!(ctx.runtime_env().disk_manager.max_spill_merge_fan_in(), 8);
        assert_eq!(
            ctx.copied_config()
                .options()
                .execution
                .sort_spill_reservation_bytes,
            12345
        );
        let ctx = capped(64 << 20, false);
        assert_eq!(ctx.runtime_env().disk_manager.max_spill_merge_fan_in(), 0);
        let ctx = session(&EngineOptions {
            memory_limit: Some(64 << 20),
            ..EngineOptions::default()
        })
        .unwrap();
        assert_eq!(
            ctx.copied_config()
                .options()
                .execution
                .sort_spill_reservation_bytes,
            1 << 20
        );
        assert_eq!(ctx.runtime_env().disk_manager.max_spill_merge_fan_in(), 4);
    }

    /// A small cap shares its pool among smaller batches; a batch size given
    /// as a flag or a DATAFUSION_* setting wins.
    #[test]
    fn a_small_cap_makes_smaller_batches() {
        let rows = |options: EngineOptions| {
            session(&EngineOptions {
                memory_limit: options.memory_limit.or(Some(64 << 20)),
                target_partitions: Some(2),
                ..options
            })
            .unwrap()
            .copied_config()
            .batch_size()
        };
        assert_eq!(rows(EngineOptions::default()), 2048);
        assert_eq!(
            rows(EngineOptions {
                memory_limit: Some(1 << 30),
                ..EngineOptions::default()
            }),
            8192
        );
        assert_eq!(
            rows(EngineOptions {
                batch_size: Some(100),
                ..EngineOptions::default()
            }),
            100
        );
        assert_eq!(
            rows(EngineOptions {
                settings: vec![("datafusion.execution.batch_size".into(), "8192".into())],
                ..EngineOptions::default()
            }),
            8192
        );
    }
}
