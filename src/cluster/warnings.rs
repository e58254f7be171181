//! ES|QL's warnings, counted on a cluster's executors and brought back.
//!
//! ES|QL's checking functions (`lakehunt_udfs::esql_warnings`) count rows into
//! their query's counters, which live in the client. On an executor the same
//! functions are decoded from its registry, and one executor runs many tasks
//! of many queries at once: counts there would be mixed and out of reach. So
//! before a plan is sent, each node that evaluates a checking function is
//! wrapped in a [`CountWarnings`]. Wherever it runs, that node executes each
//! partition through a copy of the node whose checking functions count into
//! fresh counters, and adds them to its own operator metrics, one counter per
//! kind of warning and partition. Ballista sends operator metrics back with
//! each task's status and keeps, per partition, those of the attempt that
//! succeeded; the client reads the job's metrics from the scheduler and adds
//! them to its query's counters ([`add_job_counts`]).
//!
//! Projections, filters and aggregates' arguments are the places ES|QL's
//! translation puts the functions. A checking function anywhere else (a sort
//! key, a join, a reversed order-sensitive aggregate) is still evaluated
//! exactly, but its rows are not counted: the query's report says so
//! (`not_counted`) rather than giving too few; so it does when the job's
//! metrics cannot be read. One known excess: a node that Ballista runs whole
//! in every task of a stage (under a single-partition input, such as the
//! left side of a nested-loop join, with no stage cut between) is counted
//! once per task; ES|QL's translation builds no such plan today.

use std::collections::BTreeMap;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::common::Result;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::execution::{RecordBatchStream, SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{PhysicalExpr, ScalarFunctionExpr};
use datafusion::physical_plan::aggregates::AggregateExec;
use datafusion::physical_plan::filter::{FilterExec, FilterExecBuilder};
use datafusion::physical_plan::metrics::{
    Count, ExecutionPlanMetricsSet, MetricBuilder, MetricsSet,
};
use datafusion::physical_plan::projection::{ProjectionExec, ProjectionExpr};
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use futures::Stream;
use lakehunt_udfs::esql_warnings::{counter_of, counting_into, not_counted};

/// Counters of checking functions, by metric name.
pub(crate) type Counters = BTreeMap<&'static str, Arc<AtomicU64>>;

/// The client's counters of a shipped plan's checking functions.
#[derive(Debug, Default)]
pub(crate) struct ClientCounts {
    /// By metric name: what the `CountWarnings` nodes' metrics add to.
    counters: Counters,
    /// The checking functions wrapped, to say that they were not counted
    /// when the job's metrics cannot be read.
    checks: Vec<datafusion::logical_expr::ScalarUDF>,
}

impl ClientCounts {
    /// Whether the plan counts anything.
    pub(crate) fn is_empty(&self) -> bool {
        self.counters.is_empty()
    }

    /// Adds a job's counts (its operators' metrics named as the counters).
    pub(crate) fn add<'a>(&self, metrics: impl IntoIterator<Item = (&'a str, u64)>) {
        add_job_counts(&self.counters, metrics);
    }

    /// Says that the wrapped checks' counts could not be read back.
    pub(crate) fn lost(&self) {
        for check in &self.checks {
            not_counted(check);
        }
    }
}

/// `plan` with each node that evaluates a checking function wrapped in a
/// [`CountWarnings`], and the client's counters those nodes' metrics add to.
pub(crate) fn ship_warnings(
    plan: Arc<dyn ExecutionPlan>,
) -> Result<(Arc<dyn ExecutionPlan>, ClientCounts)> {
    let mut counts = ClientCounts::default();
    let plan = plan
        .transform_up(|node| {
            let checks = own_checks(node.as_ref())?;
            if checks.is_empty() {
                return Ok(Transformed::no(node));
            }
            // Checked on the client first, so that a node that cannot be
            // copied is known before it runs.
            if rebound(&node, &Counters::new())?.is_none() {
                for check in &checks {
                    not_counted(check);
                }
                return Ok(Transformed::no(node));
            }
            for check in checks {
                if let Some((metric, count)) = counter_of(&check) {
                    counts.counters.entry(metric).or_insert(count);
                }
                counts.checks.push(check);
            }
            Ok(Transformed::yes(
                Arc::new(CountWarnings::new(node)) as Arc<dyn ExecutionPlan>
            ))
        })?
        .data;
    Ok((plan, counts))
}

/// Adds a job's counts (its operators' metrics named as `counters`' keys) to
/// `counters`.
pub(crate) fn add_job_counts<'a>(
    counters: &Counters,
    metrics: impl IntoIterator<Item = (&'a str, u64)>,
) {
    for (name, value) in metrics {
        if let Some(count) = counters.get(name) {
            count.fetch_add(value, Ordering::Relaxed);
        }
    }
}

/// The checking functions in `node`'s own expressions (not its children's).
fn own_checks(node: &dyn ExecutionPlan) -> Result<Vec<datafusion::logical_expr::ScalarUDF>> {
    let mut checks = vec![];
    node.apply_expressions(&mut |expr| {
        expr.apply(|e| {
            if let Some(f) = e.downcast_ref::<ScalarFunctionExpr>()
                && counter_of(f.fun()).is_some()
            {
                checks.push(f.fun().clone());
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
        Ok(TreeNodeRecursion::Continue)
    })?;
    Ok(checks)
}

/// `expr` with its checking functions counting into `sinks` (by metric
/// name; with no sinks, into their own counters: a trial copy).
fn rebind_expr(
    expr: &Arc<dyn PhysicalExpr>,
    schema: &Schema,
    sinks: &Counters,
) -> Result<Arc<dyn PhysicalExpr>> {
    Arc::clone(expr)
        .transform_up(|e| {
            let Some(f) = e.downcast_ref::<ScalarFunctionExpr>() else {
                return Ok(Transformed::no(e));
            };
            let Some((metric, own)) = counter_of(f.fun()) else {
                return Ok(Transformed::no(e));
            };
            let sink = sinks.get(metric).cloned().unwrap_or(own);
            let Some(udf) = counting_into(f.fun(), sink) else {
                return Ok(Transformed::no(e));
            };
            let copy = ScalarFunctionExpr::new(
                f.name(),
                Arc::new(udf),
                f.args().to_vec(),
                e.return_field(schema)?,
                Arc::new(f.config_options().clone()),
            );
            Ok(Transformed::yes(Arc::new(copy) as Arc<dyn PhysicalExpr>))
        })
        .map(|t| t.data)
}

/// A copy of `node` whose checking functions count into `sinks`; `None`
/// where `node` is not a kind this can copy, or holds checking functions
/// outside the expressions it copies.
fn rebound(
    node: &Arc<dyn ExecutionPlan>,
    sinks: &Counters,
) -> Result<Option<Arc<dyn ExecutionPlan>>> {
    if let Some(projection) = node.downcast_ref::<ProjectionExec>() {
        let schema = projection.input().schema();
        let exprs = projection
            .expr()
            .iter()
            .map(|p| {
                Ok(ProjectionExpr {
                    expr: rebind_expr(&p.expr, &schema, sinks)?,
                    alias: p.alias.clone(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let copy = ProjectionExec::try_new(exprs, Arc::clone(projection.input()))?;
        return Ok(Some(Arc::new(copy)));
    }
    if let Some(filter) = node.downcast_ref::<FilterExec>() {
        let schema = filter.input().schema();
        let predicate = rebind_expr(filter.predicate(), &schema, sinks)?;
        let copy = FilterExecBuilder::from(filter)
            .with_predicate(predicate)
            .build()?;
        return Ok(Some(Arc::new(copy)));
    }
    if let Some(aggregate) = node.downcast_ref::<AggregateExec>() {
        // Only the aggregates' arguments are copied: checks in the grouping
        // keys, the filters or an ORDER BY are not.
        let schema = aggregate.input_schema();
        let outside = aggregate
            .group_expr()
            .input_exprs()
            .iter()
            .chain(aggregate.filter_expr().iter().flatten())
            .chain(
                aggregate
                    .aggr_expr()
                    .iter()
                    .flat_map(|a| a.order_bys().iter().map(|s| &s.expr)),
            )
            .any(has_check);
        if outside {
            return Ok(None);
        }
        let mut aggregates = vec![];
        for a in aggregate.aggr_expr() {
            if !a.expressions().iter().any(has_check) {
                aggregates.push(Arc::clone(a));
                continue;
            }
            // `with_new_expressions` drops a reversed aggregate's reversal.
            if a.is_reversed() {
                return Ok(None);
            }
            let args = a
                .expressions()
                .iter()
                .map(|e| rebind_expr(e, &schema, sinks))
                .collect::<Result<Vec<_>>>()?;
            let order = a.order_bys().iter().map(|s| Arc::clone(&s.expr)).collect();
            let Some(copy) = a.with_new_expressions(args, order) else {
                return Ok(None);
            };
            aggregates.push(Arc::new(copy));
        }
        return Ok(Some(Arc::new(aggregate.with_new_aggr_exprs(aggregates))));
    }
    Ok(None)
}

fn has_check(expr: &Arc<dyn PhysicalExpr>) -> bool {
    expr.exists(|e| {
        Ok(e.downcast_ref::<ScalarFunctionExpr>()
            .is_some_and(|f| counter_of(f.fun()).is_some()))
    })
    .unwrap_or(true)
}

/// Runs its input (a node evaluating ES|QL's checking functions) with the
/// functions counting into this node's metrics (see the module).
#[derive(Debug)]
pub(crate) struct CountWarnings {
    input: Arc<dyn ExecutionPlan>,
    metrics: ExecutionPlanMetricsSet,
}

impl CountWarnings {
    pub(crate) fn new(input: Arc<dyn ExecutionPlan>) -> CountWarnings {
        CountWarnings {
            input,
            metrics: ExecutionPlanMetricsSet::new(),
        }
    }
}

impl DisplayAs for CountWarnings {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CountWarnings")
    }
}

impl ExecutionPlan for CountWarnings {
    fn name(&self) -> &'static str {
        "CountWarnings"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let [input] = <[_; 1]>::try_from(children).map_err(|_| {
            datafusion::common::DataFusionError::Internal("CountWarnings takes one input".into())
        })?;
        Ok(Arc::new(CountWarnings::new(input)))
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let mut sinks = Counters::new();
        let mut counts = vec![];
        for check in own_checks(self.input.as_ref())? {
            if let Some((metric, _)) = counter_of(&check)
                && !sinks.contains_key(metric)
            {
                let sink = Arc::new(AtomicU64::new(0));
                sinks.insert(metric, Arc::clone(&sink));
                counts.push((
                    sink,
                    MetricBuilder::new(&self.metrics).counter(metric, partition),
                ));
            }
        }
        let Some(copy) = rebound(&self.input, &sinks)? else {
            return Err(datafusion::common::DataFusionError::Internal(format!(
                "CountWarnings over a {} it cannot copy",
                self.input.name()
            )));
        };
        Ok(Box::pin(Counting {
            input: copy.execute(partition, context)?,
            counts,
        }))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }
}

/// A partition's batches, its checks' counts moved into the node's metrics
/// as they come (and when it is dropped, for a run cut short by a limit).
struct Counting {
    input: SendableRecordBatchStream,
    counts: Vec<(Arc<AtomicU64>, Count)>,
}

impl Counting {
    fn settle(&self) {
        for (sink, metric) in &self.counts {
            let n = sink.swap(0, Ordering::Relaxed);
            if n > 0 {
                metric.add(usize::try_from(n).unwrap_or(usize::MAX));
            }
        }
    }
}

impl Drop for Counting {
    fn drop(&mut self) {
        self.settle();
    }
}

impl Stream for Counting {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.input.as_mut().poll_next(cx);
        if polled.is_ready() {
            self.settle();
        }
        polled
    }
}

impl RecordBatchStream for Counting {
    fn schema(&self) -> SchemaRef {
        self.input.schema()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::physical_plan::{collect, displayable};
    use datafusion::prelude::SessionContext;
    use lakehunt_udfs::esql_warnings::EsqlWarnings;

    /// The plan of `sql` shipped, its client counters, the query's counters
    /// and its session.
    async fn shipped(
        sql: &str,
    ) -> (
        Arc<dyn ExecutionPlan>,
        ClientCounts,
        EsqlWarnings,
        SessionContext,
    ) {
        let ctx = SessionContext::new();
        let warnings = EsqlWarnings::register(&ctx);
        let plan = ctx
            .sql(sql)
            .await
            .unwrap()
            .create_physical_plan()
            .await
            .unwrap();
        let (plan, counts) = ship_warnings(plan).unwrap();
        (plan, counts, warnings, ctx)
    }

    /// The counts in `plan`'s nodes' metrics, by name.
    fn metric_counts(plan: &Arc<dyn ExecutionPlan>) -> Vec<(String, u64)> {
        let mut counts = vec![];
        let _ = plan.apply(|node| {
            for metric in node.metrics().iter().flat_map(MetricsSet::iter) {
                if let datafusion::physical_plan::metrics::MetricValue::Count { name, count } =
                    metric.value()
                {
                    counts.push((name.to_string(), count.value() as u64));
                }
            }
            Ok(TreeNodeRecursion::Continue)
        });
        counts
    }

    #[tokio::test]
    async fn checks_count_into_metrics_that_add_to_the_query() {
        let (plan, counters, warnings, ctx) = shipped(
            "SELECT esql_div(a, 0) AS q FROM (VALUES (1), (2), (NULL)) t(a) \
             WHERE esql_mod(a, 0) IS NULL",
        )
        .await;
        let text = displayable(plan.as_ref()).indent(false).to_string();
        assert_eq!(text.matches("CountWarnings").count(), 2, "{text}");
        assert_eq!(
            counters.counters.keys().copied().collect::<Vec<_>>(),
            ["esql_warnings_division_by_zero"]
        );
        let rows = collect(Arc::clone(&plan), ctx.task_ctx()).await.unwrap();
        assert_eq!(rows.iter().map(RecordBatch::num_rows).sum::<usize>(), 3);
        // Counted where the nodes ran, not in the query's own counters ...
        assert!(warnings.report().is_empty());
        // (one counter per node and partition; two rows in each node)
        let counts = metric_counts(&plan);
        assert!(
            counts
                .iter()
                .all(|(name, _)| name == "esql_warnings_division_by_zero")
        );
        assert_eq!(counts.iter().map(|(_, n)| n).sum::<u64>(), 4, "{counts:?}");
        // ... until the runner adds them: two rows, in each of two places.
        counters.add(counts.iter().map(|(n, v)| (n.as_str(), *v)));
        let report = warnings.report();
        assert_eq!(report.len(), 1);
        assert_eq!((report[0].0, report[0].1), ("division_by_zero", 4));
    }

    #[tokio::test]
    async fn checks_in_aggregates_count_and_other_aggregates_stay() {
        let (plan, counts, warnings, ctx) = shipped(
            "SELECT sum(esql_div(a, 0)) AS s, max(a) AS m FROM (VALUES (1), (2), (3)) t(a)",
        )
        .await;
        let text = displayable(plan.as_ref()).indent(false).to_string();
        assert!(text.contains("CountWarnings"), "{text}");
        let rows = collect(Arc::clone(&plan), ctx.task_ctx()).await.unwrap();
        let batch = datafusion::arrow::compute::concat_batches(&rows[0].schema(), &rows).unwrap();
        // The sum of NULLs is NULL; the unchecked aggregate answers as before.
        assert!(batch.column(0).is_null(0));
        assert_eq!(
            batch
                .column(1)
                .as_any()
                .downcast_ref::<datafusion::arrow::array::Int64Array>()
                .unwrap()
                .value(0),
            3
        );
        let found = metric_counts(&plan);
        counts.add(found.iter().map(|(n, v)| (n.as_str(), *v)));
        let report = warnings.report();
        assert_eq!(
            (report[0].0, report[0].1),
            ("division_by_zero", 3),
            "{report:?}"
        );
    }

    #[tokio::test]
    async fn a_check_where_it_cannot_be_counted_is_said() {
        let (plan, counters, warnings, _ctx) =
            shipped("SELECT a FROM (VALUES (1), (2)) t(a) ORDER BY esql_div(a, 0) NULLS LAST, a")
                .await;
        let text = displayable(plan.as_ref()).indent(false).to_string();
        assert!(text.contains("SortExec"), "{text}");
        assert!(!text.contains("CountWarnings"), "{text}");
        assert!(counters.is_empty());
        let report = warnings.report();
        assert_eq!(report.len(), 1, "{report:?}");
        assert_eq!((report[0].0, report[0].1), ("not_counted", 1));
    }
}
