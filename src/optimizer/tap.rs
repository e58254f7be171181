//! A hunt's data checks counted in the hunt's own scan.
//!
//! A hunt's diagnostics query counts the rows a check finds among the hunt's
//! events (`count(*) FILTER (WHERE check) ... FROM events WHERE scope`). Run
//! on its own it reads the window a second time: a third of a hunt's cost on
//! the shipped one. [`tap_diagnostics`] instead puts a pass-through node into
//! the hunt's plan, just above `events`:
//!
//! ```text
//! Filter: the hunt's other conditions
//!   Tap: counts rows where (the diagnostics' other conditions AND check_i)
//!     Filter: the conditions the hunt and its diagnostics share (the window, ...)
//!       events
//! ```
//!
//! Every row the diagnostics would count passes the shared conditions, so the
//! tap sees it; the counts equal the diagnostics query's. The shared filter is
//! still pushed into the Parquet scan (statistics and page pruning), the
//! optimizer narrows the columns read through the tap, and no filter crosses
//! it. A diagnostics query of any other shape runs as its own query.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::task::{Context, Poll};

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{DFSchemaRef, DataFusionError};
use datafusion::execution::context::QueryPlanner;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::expr::AggregateFunction;
use datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion::logical_expr::utils::{conjunction, split_conjunction_owned};
use datafusion::logical_expr::{
    Expr, Extension, Filter, LogicalPlan, UserDefinedLogicalNode, UserDefinedLogicalNodeCore,
};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::execution_plan::apply_expression_roots;
use datafusion::physical_plan::metrics::{
    BaselineMetrics, Count, ExecutionPlanMetricsSet, MetricBuilder, MetricsSet,
};
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, RecordBatchStream,
};
use datafusion::physical_planner::{DefaultPhysicalPlanner, ExtensionPlanner, PhysicalPlanner};
use datafusion::prelude::DataFrame;
use futures::{Stream, StreamExt};

/// Row counts of a tap, one per check, shared by the logical and physical
/// nodes and read once the plan has run.
#[derive(Debug, Default)]
pub(crate) struct TapCounts(Vec<AtomicU64>);

impl TapCounts {
    /// The count of each check so far.
    #[must_use]
    pub(crate) fn values(&self) -> Vec<u64> {
        self.0
            .iter()
            .map(|c| c.load(AtomicOrdering::Relaxed))
            .collect()
    }
}

/// The hunt's plan with its checks tapped, and where their counts appear.
pub(crate) struct Tapped {
    /// The hunt, counting its checks as it runs.
    pub(crate) plan: DataFrame,
    /// The diagnostics' output columns, in the order of `counts`.
    pub(crate) names: Vec<String>,
    /// Filled in while `plan` runs.
    pub(crate) counts: Arc<TapCounts>,
}

/// `hunt` counting `diagnostics`' checks in its own scan, or `None` when the
/// diagnostics query is not `SELECT count(*) FILTER (WHERE ...) AS name, ...
/// FROM events WHERE ...` or the hunt does not filter `events` directly.
#[must_use]
pub(crate) fn tap_diagnostics(hunt: &DataFrame, diagnostics: &DataFrame) -> Option<Tapped> {
    // A LIMIT, or a join that may skip its probe side, stops reading before
    // every row has passed the tap: its counts would be short. Subqueries
    // (IN, EXISTS, scalar) become such joins, and are looked into.
    let mut stops_early = false;
    let looked = hunt.logical_plan().apply_with_subqueries(|n| {
        stops_early |= matches!(
            n,
            LogicalPlan::Limit(_) | LogicalPlan::Join(_) | LogicalPlan::Subquery(_)
        );
        Ok(if stops_early {
            TreeNodeRecursion::Stop
        } else {
            TreeNodeRecursion::Continue
        })
    });
    if stops_early || looked.is_err() {
        return None;
    }
    let (names, checks, scope) = checks_of(diagnostics.logical_plan())?;
    let hunt_filter = events_filter(hunt.logical_plan())?;
    let hunt_conditions = split_conjunction_owned(hunt_filter.predicate.clone());
    let scope_conditions = split_conjunction_owned(scope);
    let shared: Vec<Expr> = hunt_conditions
        .iter()
        .filter(|c| scope_conditions.contains(c))
        .cloned()
        .collect();
    // Without a shared condition (the window, at least) the tap would see
    // every event: two scans that each prune are cheaper.
    if shared.is_empty() {
        return None;
    }
    let hunt_rest: Vec<Expr> = hunt_conditions
        .into_iter()
        .filter(|c| !shared.contains(c))
        .collect();
    let scope_rest: Vec<Expr> = scope_conditions
        .into_iter()
        .filter(|c| !shared.contains(c))
        .collect();
    let checks: Vec<Expr> = checks
        .into_iter()
        .map(|check| {
            scope_rest
                .iter()
                .cloned()
                .fold(check, datafusion::logical_expr::and)
        })
        .collect();
    let counts = Arc::new(TapCounts(
        checks.iter().map(|_| AtomicU64::new(0)).collect(),
    ));
    let below = match conjunction(shared) {
        Some(shared) => {
            LogicalPlan::Filter(Filter::try_new(shared, Arc::clone(&hunt_filter.input)).ok()?)
        }
        None => hunt_filter.input.as_ref().clone(),
    };
    let tap = LogicalPlan::Extension(Extension {
        node: Arc::new(Tap {
            input: below,
            names: names.clone(),
            checks,
            counts: Arc::clone(&counts),
        }),
    });
    let above = match conjunction(hunt_rest) {
        Some(rest) => LogicalPlan::Filter(Filter::try_new(rest, Arc::new(tap)).ok()?),
        None => tap,
    };
    let target = LogicalPlan::Filter(hunt_filter);
    let mut above = Some(above);
    let plan = hunt
        .logical_plan()
        .clone()
        .transform_down(|node| {
            if node == target
                && let Some(replacement) = above.take()
            {
                return Ok(Transformed::yes(replacement));
            }
            Ok(Transformed::no(node))
        })
        .ok()?
        .data;
    let (state, _) = hunt.clone().into_parts();
    Some(Tapped {
        plan: DataFrame::new(state, plan),
        names,
        counts,
    })
}

/// The first filter directly over the table `events`.
fn events_filter(plan: &LogicalPlan) -> Option<Filter> {
    let mut found = None;
    plan.apply(|node| {
        if let LogicalPlan::Filter(filter) = node
            && is_events(&filter.input)
        {
            found = Some(filter.clone());
            return Ok(TreeNodeRecursion::Stop);
        }
        Ok(TreeNodeRecursion::Continue)
    })
    .ok()?;
    found
}

/// The view `events`, as planned (inlined under its alias) or not yet.
fn is_events(plan: &LogicalPlan) -> bool {
    match plan {
        LogicalPlan::SubqueryAlias(alias) => alias.alias.table() == "events",
        LogicalPlan::TableScan(scan) => scan.table_name.table() == "events",
        _ => false,
    }
}

/// `(names, checks, scope)` of `SELECT count(*) FILTER (WHERE check) AS name,
/// ... FROM events WHERE scope`.
fn checks_of(plan: &LogicalPlan) -> Option<(Vec<String>, Vec<Expr>, Expr)> {
    let LogicalPlan::Projection(projection) = plan else {
        return None;
    };
    let LogicalPlan::Aggregate(aggregate) = projection.input.as_ref() else {
        return None;
    };
    if !aggregate.group_expr.is_empty() {
        return None;
    }
    let LogicalPlan::Filter(filter) = aggregate.input.as_ref() else {
        return None;
    };
    if !is_events(&filter.input) {
        return None;
    }
    let mut names = vec![];
    let mut checks = vec![];
    for (expr, field) in projection.expr.iter().zip(projection.schema.fields()) {
        let Expr::Column(column) = expr.clone().unalias_nested().data else {
            return None;
        };
        let counted = aggregate
            .aggr_expr
            .iter()
            .find(|a| a.schema_name().to_string() == column.name)?;
        let Expr::AggregateFunction(AggregateFunction { func, params }) = counted.clone().unalias()
        else {
            return None;
        };
        let counts_rows = func.name() == "count"
            && !params.distinct
            && params.order_by.is_empty()
            && params.null_treatment.is_none()
            && matches!(params.args.as_slice(), [Expr::Literal(v, _)] if !v.is_null());
        if !counts_rows {
            return None;
        }
        names.push(field.name().clone());
        checks.push(*params.filter?);
    }
    Some((names, checks, filter.predicate.clone()))
}

/// The logical pass-through node that counts rows meeting each check.
#[derive(Debug)]
struct Tap {
    input: LogicalPlan,
    names: Vec<String>,
    checks: Vec<Expr>,
    counts: Arc<TapCounts>,
}

impl PartialEq for Tap {
    fn eq(&self, other: &Self) -> bool {
        self.input == other.input
            && self.names == other.names
            && self.checks == other.checks
            && Arc::ptr_eq(&self.counts, &other.counts)
    }
}

impl Eq for Tap {}

impl Hash for Tap {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.input.hash(state);
        self.checks.hash(state);
    }
}

impl PartialOrd for Tap {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        (self == other).then_some(Ordering::Equal)
    }
}

impl UserDefinedLogicalNodeCore for Tap {
    fn name(&self) -> &'static str {
        "Tap"
    }

    fn inputs(&self) -> Vec<&LogicalPlan> {
        vec![&self.input]
    }

    fn schema(&self) -> &DFSchemaRef {
        self.input.schema()
    }

    fn expressions(&self) -> Vec<Expr> {
        self.checks.clone()
    }

    fn fmt_for_explain(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "Tap: count")?;
        for (name, check) in self.names.iter().zip(&self.checks) {
            write!(f, " {name}=[{check}]")?;
        }
        Ok(())
    }

    fn with_exprs_and_inputs(
        &self,
        exprs: Vec<Expr>,
        mut inputs: Vec<LogicalPlan>,
    ) -> datafusion::common::Result<Self> {
        let (Some(input), true) = (inputs.pop(), inputs.is_empty()) else {
            return Err(DataFusionError::Internal("Tap has one input".into()));
        };
        Ok(Tap {
            input,
            names: self.names.clone(),
            checks: exprs,
            counts: Arc::clone(&self.counts),
        })
    }

    fn prevent_predicate_push_down_columns(&self) -> HashSet<String> {
        // A filter pushed below the tap would hide rows from its checks.
        self.input
            .schema()
            .columns()
            .into_iter()
            .map(|c| c.name)
            .collect()
    }

    fn necessary_children_exprs(&self, output_columns: &[usize]) -> Option<Vec<Vec<usize>>> {
        // Rows pass through unchanged; the checks' own columns are added by
        // the optimizer from `expressions`.
        Some(vec![output_columns.to_vec()])
    }
}

/// Plans the tap node as `TapExec`; everything else as DataFusion does.
#[derive(Debug)]
pub(crate) struct TapPlanner;

#[async_trait]
impl QueryPlanner for TapPlanner {
    async fn create_physical_plan(
        &self,
        logical_plan: &LogicalPlan,
        session_state: &dyn Session,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        DefaultPhysicalPlanner::with_extension_planners(vec![Arc::new(TapExtensionPlanner)])
            .create_physical_plan(logical_plan, session_state)
            .await
    }
}

#[derive(Debug)]
struct TapExtensionPlanner;

#[async_trait]
impl ExtensionPlanner for TapExtensionPlanner {
    async fn plan_extension(
        &self,
        planner: &dyn PhysicalPlanner,
        node: &dyn UserDefinedLogicalNode,
        logical_inputs: &[&LogicalPlan],
        physical_inputs: &[Arc<dyn ExecutionPlan>],
        session_state: &dyn Session,
        planning_ctx: &PhysicalPlanningContext,
    ) -> datafusion::common::Result<Option<Arc<dyn ExecutionPlan>>> {
        let Some(tap) = node.as_any().downcast_ref::<Tap>() else {
            return Ok(None);
        };
        let ([logical], [input]) = (logical_inputs, physical_inputs) else {
            return Err(DataFusionError::Internal("Tap has one input".into()));
        };
        let checks = tap
            .checks
            .iter()
            .map(|c| planner.create_physical_expr(c, logical.schema(), session_state, planning_ctx))
            .collect::<datafusion::common::Result<Vec<_>>>()?;
        Ok(Some(Arc::new(TapExec {
            input: Arc::clone(input),
            names: tap.names.clone(),
            checks,
            metrics: ExecutionPlanMetricsSet::new(),
            counts: Arc::clone(&tap.counts),
            properties: Arc::clone(input.properties()),
        })))
    }
}

/// Passes its input's batches on, adding to `counts[i]` the rows where
/// `checks[i]` is true.
#[derive(Debug)]
struct TapExec {
    input: Arc<dyn ExecutionPlan>,
    names: Vec<String>,
    checks: Vec<Arc<dyn PhysicalExpr>>,
    metrics: ExecutionPlanMetricsSet,
    counts: Arc<TapCounts>,
    properties: Arc<PlanProperties>,
}

impl DisplayAs for TapExec {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "TapExec: count")?;
        for (name, check) in self.names.iter().zip(&self.checks) {
            write!(f, " {name}=[{check}]")?;
        }
        Ok(())
    }
}

impl ExecutionPlan for TapExec {
    fn name(&self) -> &'static str {
        "TapExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> datafusion::common::Result<TreeNodeRecursion>,
    ) -> datafusion::common::Result<TreeNodeRecursion> {
        apply_expression_roots(&self.checks, f)
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![false]
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        let (Some(input), true) = (children.pop(), children.is_empty()) else {
            return Err(DataFusionError::Internal("TapExec has one input".into()));
        };
        Ok(Arc::new(TapExec {
            properties: Arc::clone(input.properties()),
            input,
            names: self.names.clone(),
            checks: self.checks.clone(),
            metrics: ExecutionPlanMetricsSet::new(),
            counts: Arc::clone(&self.counts),
        }))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> datafusion::common::Result<SendableRecordBatchStream> {
        let found = self
            .names
            .iter()
            .map(|name| MetricBuilder::new(&self.metrics).counter(name.clone(), partition))
            .collect();
        Ok(Box::pin(TapStream {
            input: self.input.execute(partition, context)?,
            checks: self.checks.clone(),
            counts: Arc::clone(&self.counts),
            found,
            baseline: BaselineMetrics::new(&self.metrics, partition),
        }))
    }
}

struct TapStream {
    input: SendableRecordBatchStream,
    checks: Vec<Arc<dyn PhysicalExpr>>,
    counts: Arc<TapCounts>,
    /// The same counts, per partition, for `explain --analyze`.
    found: Vec<Count>,
    baseline: BaselineMetrics,
}

impl TapStream {
    fn add_counts(&self, batch: &RecordBatch) -> datafusion::common::Result<()> {
        let _timer = self.baseline.elapsed_compute().timer();
        for ((check, count), found) in self.checks.iter().zip(&self.counts.0).zip(&self.found) {
            let values = check.evaluate(batch)?.into_array(batch.num_rows())?;
            let Some(values) = values.as_boolean_opt() else {
                return Err(DataFusionError::Internal(format!(
                    "check {check} is not a boolean"
                )));
            };
            let n = values.true_count();
            count.fetch_add(n as u64, AtomicOrdering::Relaxed);
            found.add(n);
        }
        Ok(())
    }
}

impl Stream for TapStream {
    type Item = datafusion::common::Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let next = match self.input.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(batch))) => {
                Poll::Ready(Some(self.add_counts(&batch).map(|()| batch)))
            }
            other => other,
        };
        self.baseline.record_poll(next)
    }
}

impl RecordBatchStream for TapStream {
    fn schema(&self) -> SchemaRef {
        self.input.schema()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use datafusion::datasource::MemTable;
    use datafusion::execution::session_state::SessionStateBuilder;
    use datafusion::prelude::SessionContext;

    fn context() -> SessionContext {
        let state = SessionStateBuilder::new()
            .with_default_features()
            .with_query_planner(Arc::new(TapPlanner))
            .build();
        let ctx = SessionContext::new_with_state(state);
        let schema = Arc::new(Schema::new(vec![
            Field::new("t", DataType::Int64, true),
            Field::new("kind", DataType::Utf8, true),
            Field::new("host", DataType::Utf8, true),
            Field::new("bytes", DataType::Int64, true),
        ]));
        let t: Int64Array = (0..100).map(Some).collect();
        let kind: StringArray = (0..100).map(|i| Some(["a", "b", "c"][i % 3])).collect();
        let host: StringArray = (0..100)
            .map(|i| (i % 7 != 0).then(|| format!("h{}", i % 4)))
            .collect();
        let bytes: Int64Array = (0..100).map(|i| (i % 5 != 0).then_some(i)).collect();
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![Arc::new(t), Arc::new(kind), Arc::new(host), Arc::new(bytes)],
        )
        .unwrap();
        // Two partitions, so the counts add up across streams.
        let table = MemTable::try_new(
            schema,
            vec![vec![batch.slice(0, 50)], vec![batch.slice(50, 50)]],
        )
        .unwrap();
        ctx.register_table("events", Arc::new(table)).unwrap();
        ctx
    }

    const HUNT: &str = "SELECT host, sum(bytes) AS b FROM events \
        WHERE t > 10 AND t <= 90 AND kind = 'a' AND bytes > 20 GROUP BY host ORDER BY host";

    async fn counts_of(ctx: &SessionContext, sql: &str) -> Vec<(String, u64)> {
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let batch = &batches[0];
        batch
            .schema()
            .fields()
            .iter()
            .zip(batch.columns())
            .map(|(f, c)| {
                let n = c.as_primitive::<arrow::datatypes::Int64Type>().value(0);
                (f.name().clone(), u64::try_from(n).unwrap())
            })
            .collect()
    }

    #[tokio::test]
    async fn tapped_counts_equal_the_diagnostics_query_and_findings_are_unchanged() {
        let ctx = context();
        // Shared: the window and kind. Only the checks': host family; only the hunt's: bytes.
        let diagnostics = "SELECT \
            count(*) FILTER (WHERE t > 50) AS late, \
            count(*) FILTER (WHERE bytes IS NULL) AS no_bytes, \
            count(*) FILTER (WHERE host = 'h1' AND bytes < 50) AS small_h1 \
            FROM events WHERE t > 10 AND kind = 'a' AND t <= 90 AND host <> 'h3'";
        let expected_counts = counts_of(&ctx, diagnostics).await;
        let expected = ctx.sql(HUNT).await.unwrap().collect().await.unwrap();

        let hunt = ctx.sql(HUNT).await.unwrap();
        let checks = ctx.sql(diagnostics).await.unwrap();
        let tapped = tap_diagnostics(&hunt, &checks).expect("this shape is tapped");
        let plan = tapped.plan.clone().create_physical_plan().await.unwrap();
        let shown = datafusion::physical_plan::displayable(plan.as_ref())
            .indent(true)
            .to_string();
        assert!(shown.contains("TapExec"), "{shown}");
        let got = datafusion::physical_plan::collect(plan, Arc::new(tapped.plan.task_ctx()))
            .await
            .unwrap();
        assert_eq!(
            arrow::util::pretty::pretty_format_batches(&got)
                .unwrap()
                .to_string(),
            arrow::util::pretty::pretty_format_batches(&expected)
                .unwrap()
                .to_string()
        );
        let counts: Vec<(String, u64)> = tapped
            .names
            .into_iter()
            .zip(tapped.counts.values())
            .collect();
        assert_eq!(counts, expected_counts);
        assert!(counts.iter().all(|(_, n)| *n > 0), "{counts:?}");
    }

    #[tokio::test]
    async fn a_hunt_that_may_stop_reading_early_is_not_tapped() {
        let ctx = context();
        let checks = ctx
            .sql("SELECT count(*) FILTER (WHERE host IS NULL) AS n FROM events WHERE t > 10")
            .await
            .unwrap();
        for hunt in [
            "SELECT host FROM events WHERE t > 10 LIMIT 3",
            "SELECT a.host FROM (SELECT * FROM events WHERE t > 10) a JOIN events b ON a.host = b.host",
            // Subqueries become semi and anti joins, which may stop early too.
            "SELECT host FROM events WHERE t > 10 AND host IN (SELECT host FROM events WHERE bytes > 5)",
            "SELECT host FROM events e WHERE t > 10 AND EXISTS (SELECT 1 FROM events f WHERE f.host = e.host)",
            "SELECT host FROM events WHERE t > 10 AND bytes > (SELECT avg(bytes) FROM events)",
        ] {
            let hunt = ctx.sql(hunt).await.unwrap();
            assert!(tap_diagnostics(&hunt, &checks).is_none());
        }
    }

    #[tokio::test]
    async fn other_shapes_are_not_tapped() {
        let ctx = context();
        let hunt = ctx.sql(HUNT).await.unwrap();
        for diagnostics in [
            // grouped
            "SELECT count(*) FILTER (WHERE host IS NULL) AS n FROM events WHERE t > 10 GROUP BY kind",
            // not a row count
            "SELECT sum(bytes) FILTER (WHERE host IS NULL) AS n FROM events WHERE t > 10",
            "SELECT count(DISTINCT host) FILTER (WHERE bytes > 1) AS n FROM events WHERE t > 10",
            "SELECT count(host) FILTER (WHERE bytes > 1) AS n FROM events WHERE t > 10",
            // unfiltered count, or no WHERE, or no condition shared with the hunt
            "SELECT count(*) AS n FROM events WHERE t > 10",
            "SELECT count(*) FILTER (WHERE host IS NULL) AS n FROM events",
            "SELECT count(*) FILTER (WHERE host IS NULL) AS n FROM events WHERE t > 11",
            // a computed column
            "SELECT count(*) FILTER (WHERE host IS NULL) + 1 AS n FROM events WHERE t > 10",
        ] {
            let checks = ctx.sql(diagnostics).await.unwrap();
            assert!(
                tap_diagnostics(&hunt, &checks).is_none(),
                "{diagnostics} was tapped"
            );
        }
    }
}
