//! `HAVING sum(x) >= T`: drop the groups that cannot reach the threshold before
//! they are aggregated.
//!
//! A hunt like the shipped one groups millions of rows into millions of groups
//! (`process.entity_id`, `destination.address`, `process.executable`: at 100M
//! events, 3.8M rows and 3.77M groups) and keeps the handful whose sum reaches a
//! threshold. DataFusion's hash aggregation builds every group, copies its keys
//! and emits them all, only for `HAVING` to drop nearly all of them.
//!
//! [`ThresholdRule`] finds that shape: a `FilterExec` whose predicate includes
//! `sum(x) >= T` or `sum(x) > T` (also `checked_sum`, any integer `x`, `T` a
//! positive integer) over a hash aggregation; also ES|QL's, where the sum is
//! `esql_long_sum` of a sum of `CAST(x AS DECIMAL(38, 0))`, in the filter or
//! in a projection between it and the aggregation (see [`summed`]). It puts
//! a [`ThresholdExec`] under the aggregation's first (partial or single)
//! stage. The exec holds
//! every input batch with a 64-bit hash of each row's group key, and when the
//! input ends it adds each row's value, where positive, into two saturating
//! counters that the hash picks in one cache line (a count-min sketch).
//! A group's sum is at most its positive values' sum, which is at most either
//! of its two counters (other groups sharing a counter only add to it). So a
//! row whose smaller counter is below `T` belongs to a group that `HAVING`
//! drops, whatever its other rows: the exec drops it. Rows of one group share
//! their hash, so a group is kept or dropped whole, and any other aggregate of a
//! kept group is computed over all its rows.
//!
//! The rule leaves the plan alone unless dropping rows can change nothing but
//! the groups `HAVING` drops: the other aggregates must be `count`, `min`,
//! `max`, `avg` or `sum` of columns (none can fail on a row; a failing
//! `CAST` in a dropped group would otherwise go unseen), none with `FILTER` or
//! `ORDER BY`; the keys and the value must not be volatile (the exec evaluates
//! them itself); nothing may need the input in order; and the aggregation
//! must keep its output partitions.
//!
//! Two cases keep every row instead:
//! - negative values summing (over all groups) below -2^63: a group might then
//!   wrap past the `BIGINT` range (`sum`) or fail (`checked_sum`), and dropping
//!   it would hide that;
//! - without spilling (`LAKEHUNT_NO_THRESHOLD_SPILL=1`, or no spill folder),
//!   the input outgrowing half the memory limit (or the pool refusing it):
//!   what is held is passed on and the rest of the input streams through,
//!   leaving the aggregation room to work (and spill) as it would without the
//!   exec. The same where it cannot spill: its rows hold a dictionary (an
//!   Arrow IPC file refuses one that changes between batches), or the disk
//!   manager's files are not local files.
//!
//! The exec holds its input compacted, in memory up to [`HOLD_IN_MEMORY`] (or
//! a quarter of the memory limit, if less). Past that it spills: what it
//! holds and every later row go to a spill file, their key hashes and values
//! to a second one, each value added into a fixed sketch on the way. When
//! the input ends the hashes and values are read back, the rows the sketch
//! keeps sorted again by a second sketch, and of the rows only the batches
//! that hold a row both keep. Its memory then stays the same whatever the
//! archive's size (see [`Prune::spill_rest`] and [`spill`]).
//!
//! The exec needs one input partition (it puts a `CoalescePartitionsExec`
//! under itself where there are several): the scan and the filters below still
//! run in parallel, and the hashing it adds is cheaper than the aggregation it
//! spares. `lakehunt explain --analyze` shows its rows in and kept.
//! `LAKEHUNT_NO_THRESHOLD=1` leaves plans as DataFusion makes them.

use std::fmt;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, BooleanArray, RecordBatch};
use arrow::buffer::BooleanBuffer;
use arrow::compute::{cast, filter_record_batch};
use arrow::datatypes::{DataType, Int64Type, UInt64Type};
use datafusion::common::hash_utils::{RandomState, create_hashes};
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::utils::memory::RecordBatchMemoryCounter;
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::config::ConfigOptions;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryLimit, MemoryReservation};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::Operator;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::ScalarFunctionExpr;
use datafusion::physical_expr::aggregate::AggregateFunctionExpr;
use datafusion::physical_expr::expressions::{BinaryExpr, CastExpr, Column, Literal};
use datafusion::physical_expr::utils::split_conjunction;
use datafusion::physical_expr_common::physical_expr::is_volatile;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::execution_plan::{
    ChildrenPropertiesMode, EmissionType, ReplaceChildrenOptions, apply_expression_roots,
};
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::metrics::{
    BaselineMetrics, Count, ExecutionPlanMetricsSet, MetricBuilder, MetricsSet, RecordOutput,
    SpillMetrics,
};
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, Distribution, ExecutionPlan, ExecutionPlanProperties,
    InputOrderMode, PlanProperties,
};
use futures::stream::{self, BoxStream};
use futures::{StreamExt, TryStreamExt, future};
use lakehunt_udfs::common::pack_bits;

use super::compact_views::compact_batch;
use spill::{Keep, Spill, SpillTo};

mod spill;

/// The aggregates whose sum is bounded by the sum of their positive values.
const SUMS: [&str; 2] = ["sum", "checked_sum"];

/// Seeds the key hash; any fixed value does (the bound holds for every hash).
const HASH_SEED: u64 = 0x6c61_6b65_6875_6e74;

/// Puts a [`ThresholdExec`] under each aggregation that a `HAVING sum(x) >= T`
/// filters (see the module); runs after DataFusion's own rules.
#[derive(Debug)]
pub(crate) struct ThresholdRule {
    /// Whether its execs spill what they hold past [`HOLD_IN_MEMORY`]
    /// (`LAKEHUNT_NO_THRESHOLD_SPILL=1` turns it off).
    pub(crate) spill: bool,
}

impl PhysicalOptimizerRule for ThresholdRule {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_down(|node| {
            let Some(filter) = node.downcast_ref::<FilterExec>() else {
                return Ok(Transformed::no(node));
            };
            match rewrite(filter, self.spill)? {
                Some(children) => Ok(Transformed::yes(recompute(node, children)?)),
                None => Ok(Transformed::no(node)),
            }
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &'static str {
        "lakehunt_threshold"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// What the filter keeps: rows whose aggregate `index` (among the
/// aggregation's outputs) is at least `threshold`.
struct Having {
    index: usize,
    threshold: u64,
}

/// `column >= T`, `column > T`, `T <= column` or `T < column` with `T` an
/// integer literal, as the column and the smallest value kept; the column may
/// be ES|QL's `esql_long_sum` of one (see [`summed`]).
fn at_least(expr: &Arc<dyn PhysicalExpr>) -> Option<(usize, i128)> {
    let binary = expr.downcast_ref::<BinaryExpr>()?;
    let (column, op, literal) = match (
        summed(binary.left()),
        binary.right().downcast_ref::<Literal>(),
    ) {
        (Some(column), Some(literal)) => (column, *binary.op(), literal),
        _ => (
            summed(binary.right())?,
            binary.op().swap()?,
            binary.left().downcast_ref::<Literal>()?,
        ),
    };
    let value: i128 = match literal.value() {
        ScalarValue::Int8(Some(v)) => (*v).into(),
        ScalarValue::Int16(Some(v)) => (*v).into(),
        ScalarValue::Int32(Some(v)) => (*v).into(),
        ScalarValue::Int64(Some(v)) => (*v).into(),
        ScalarValue::UInt8(Some(v)) => (*v).into(),
        ScalarValue::UInt16(Some(v)) => (*v).into(),
        ScalarValue::UInt32(Some(v)) => (*v).into(),
        ScalarValue::UInt64(Some(v)) => (*v).into(),
        _ => return None,
    };
    match op {
        Operator::GtEq => Some((column, value)),
        Operator::Gt => Some((column, value + 1)),
        _ => None,
    }
}

/// The filter's new children when it filters a sum over a hash aggregation
/// by a positive threshold; `None` where the plan has another shape.
fn rewrite(filter: &FilterExec, spill: bool) -> Result<Option<Vec<Arc<dyn ExecutionPlan>>>> {
    // ES|QL's STATS puts a projection between: `esql_long_sum(sum(x))`, the
    // exact sum as a long or NULL with a warning (see `through_projection`).
    let projection = filter.input().downcast_ref::<ProjectionExec>();
    let aggregation = match projection {
        Some(projection) => projection.input(),
        None => filter.input(),
    };
    let Some(upper) = aggregation.downcast_ref::<AggregateExec>() else {
        return Ok(None);
    };
    let groups = upper.group_expr();
    if !groups.is_single() || groups.is_empty() {
        return Ok(None);
    }
    let conjuncts = split_conjunction(filter.predicate());
    // A dropped group never meets the HAVING: none of its other conditions
    // may be able to fail on it (a CAST of text, arithmetic that overflows).
    if !conjuncts
        .iter()
        .all(|c| at_least(c).is_some() || cannot_fail_on(c))
    {
        return Ok(None);
    }
    let candidates = conjuncts
        .into_iter()
        .filter_map(at_least)
        .filter_map(|(index, threshold)| {
            let index = match projection {
                Some(projection) => through_projection(projection, index)?,
                None => index,
            };
            let index = index.checked_sub(groups.expr().len())?;
            let threshold = u64::try_from(threshold).ok().filter(|&t| t > 0)?;
            Some(Having { index, threshold })
        });
    let Some(first) = first_stage(aggregation)? else {
        return Ok(None);
    };
    for having in candidates {
        if let Some(new_upper) = with_threshold(aggregation, &first, &having, spill)? {
            return Ok(Some(vec![match projection {
                Some(_) => recompute(Arc::clone(filter.input()), vec![new_upper])?,
                None => new_upper,
            }]));
        }
    }
    Ok(None)
}

/// The aggregation's output that projection column `index` is, where the
/// projection passes every column on as it is but that one, which may be
/// `esql_long_sum` of one ([`summed`]); `None` for any other projection, which
/// a dropped group could make fail or warn.
fn through_projection(projection: &ProjectionExec, index: usize) -> Option<usize> {
    let exprs = projection.expr();
    // Every other column passed on as it is: esql_long_sum of another
    // aggregate could warn on a dropped group.
    let plain = exprs
        .iter()
        .enumerate()
        .all(|(i, p)| i == index || p.expr.is::<Column>());
    if !plain {
        return None;
    }
    summed(&exprs.get(index)?.expr)
}

/// The column `e` is, or that `e` is ES|QL's `esql_long_sum` of: the exact
/// sum as a long, NULL (with a warning) outside the long range. Where `T` is
/// positive, `esql_long_sum(s) >= T` holds only where `s >= T`, and a group
/// below `T` lies in the long range (or every row is kept, see the module),
/// so dropping it drops no warning either.
fn summed(e: &Arc<dyn PhysicalExpr>) -> Option<usize> {
    if let Some(column) = e.downcast_ref::<Column>() {
        return Some(column.index());
    }
    let call = e.downcast_ref::<ScalarFunctionExpr>()?;
    match (call.name(), call.args()) {
        ("esql_long_sum", [arg]) => arg.downcast_ref::<Column>().map(Column::index),
        _ => None,
    }
}

/// The aggregation's first stage: the node itself when it is a single stage
/// (over one partition: a `SinglePartitioned` one's input partitioning is its
/// output's, which one partition would change), else the partial one below
/// the exchanges.
fn first_stage(upper: &Arc<dyn ExecutionPlan>) -> Result<Option<Arc<dyn ExecutionPlan>>> {
    let Some(aggregate) = upper.downcast_ref::<AggregateExec>() else {
        return Ok(None);
    };
    match aggregate.mode() {
        AggregateMode::Single => Ok(Some(Arc::clone(upper))),
        AggregateMode::Final | AggregateMode::FinalPartitioned => {
            let mut node = Arc::clone(aggregate.input());
            loop {
                if node.is::<RepartitionExec>() || node.is::<CoalescePartitionsExec>() {
                    let [child] = node.children()[..] else {
                        return Ok(None);
                    };
                    node = Arc::clone(child);
                    continue;
                }
                let partial = node
                    .downcast_ref::<AggregateExec>()
                    .is_some_and(|a| *a.mode() == AggregateMode::Partial);
                return Ok(partial.then_some(node));
            }
        }
        AggregateMode::SinglePartitioned
        | AggregateMode::Partial
        | AggregateMode::PartialReduce => Ok(None),
    }
}

/// `upper` with a [`ThresholdExec`] under `first`, or `None` where the
/// aggregate filtered is not a plain sum of integers.
fn with_threshold(
    upper: &Arc<dyn ExecutionPlan>,
    first: &Arc<dyn ExecutionPlan>,
    having: &Having,
    spill: bool,
) -> Result<Option<Arc<dyn ExecutionPlan>>> {
    let Some(aggregate) = first.downcast_ref::<AggregateExec>() else {
        return Ok(None);
    };
    let Some(sum) = aggregate.aggr_expr().get(having.index) else {
        return Ok(None);
    };
    let [value] = &sum.expressions()[..] else {
        return Ok(None);
    };
    let input = aggregate.input();
    // A whole decimal cast from an integer (ES|QL sums longs exactly in
    // DECIMAL(38, 0)) sums the integers themselves; a narrower decimal could
    // fail the cast on a dropped row.
    let value = match value.downcast_ref::<CastExpr>() {
        Some(cast)
            if matches!(cast.cast_type(), DataType::Decimal128(38, 0))
                && cast.expr().data_type(&input.schema())?.is_integer() =>
        {
            cast.expr()
        }
        _ => value,
    };
    let integer = value.data_type(&input.schema())?.is_integer();
    let keys = aggregate.group_expr().input_exprs();
    let plain = SUMS.contains(&sum.fun().name())
        && !sum.is_distinct()
        && integer
        && aggregate.group_expr().is_single()
        && aggregate.limit_options().is_none()
        && *aggregate.input_order_mode() == InputOrderMode::Linear
        // Nothing that needs its input in order (the exec merges partitions).
        && aggregate.required_input_ordering().iter().all(Option::is_none)
        // The exec evaluates keys and value itself: they must give what the
        // aggregation would.
        && !keys.iter().chain([value]).any(is_volatile)
        // Dropped rows never reach the other aggregates: none of them may be
        // able to fail on one (nor have a `FILTER`, the pruned sum included).
        && aggregate
            .aggr_expr()
            .iter()
            .zip(aggregate.filter_expr())
            .all(|(other, filter)| cannot_fail(other, filter.as_ref(), sum, &input.schema()));
    if !plain {
        return Ok(None);
    }
    let input = if input.output_partitioning().partition_count() > 1 {
        Arc::new(CoalescePartitionsExec::new(Arc::clone(input))) as _
    } else {
        Arc::clone(input)
    };
    let threshold = Arc::new(ThresholdExec::new(
        input,
        keys,
        Arc::clone(value),
        having.threshold,
        sum.name().to_owned(),
        spill,
    ));
    let new_first = recompute(Arc::clone(first), vec![threshold])?;
    let new_upper = replace(upper, first, new_first)?;
    // The aggregation's output keeps its partitions (an exchange sits between
    // the stages), as parents planned for.
    let partitions = |plan: &Arc<dyn ExecutionPlan>| plan.output_partitioning().partition_count();
    Ok((partitions(&new_upper) == partitions(upper)).then_some(new_upper))
}

/// The aggregates that pruning may leave alone, none with `FILTER` or
/// `ORDER BY`: `count`, `min` and `max` of columns and literals of any type,
/// `avg` and `sum` of integer and float ones (DataFusion's `sum` wraps
/// integers and `avg` adds them as floats; decimal sums can overflow and
/// fail), and the pruned sum itself (the exec evaluates its argument on every
/// row, and a dropped group's sum lies between -2^63 and the threshold, so
/// its `checked_sum` cannot fail). None of these can fail on a dropped row,
/// so dropping rows of a group `HAVING` drops hides no error.
fn cannot_fail(
    aggregate: &Arc<AggregateFunctionExpr>,
    filter: Option<&Arc<dyn PhysicalExpr>>,
    pruned: &Arc<AggregateFunctionExpr>,
    input: &arrow::datatypes::Schema,
) -> bool {
    if filter.is_some() || !aggregate.order_bys().is_empty() {
        return false;
    }
    if Arc::ptr_eq(aggregate, pruned) {
        return true;
    }
    let number = |e: &Arc<dyn PhysicalExpr>| {
        e.data_type(input)
            .is_ok_and(|t| t.is_integer() || t.is_floating() || t.is_null())
    };
    // A column or literal, or one cast from a number to a float (as `avg`
    // of an integer is planned), which cannot fail.
    let plain = |e: &Arc<dyn PhysicalExpr>| {
        let direct = |e: &Arc<dyn PhysicalExpr>| e.is::<Column>() || e.is::<Literal>();
        direct(e)
            || e.downcast_ref::<datafusion::physical_expr::expressions::CastExpr>()
                .is_some_and(|cast| {
                    direct(cast.expr()) && number(cast.expr()) && cast.cast_type().is_floating()
                })
    };
    let plain_arguments = aggregate.expressions().iter().all(plain);
    let numeric = aggregate.expressions().iter().all(number);
    match aggregate.fun().name() {
        "count" | "min" | "max" => plain_arguments,
        "avg" | "sum" => plain_arguments && numeric,
        _ => false,
    }
}

/// Whether a `HAVING` condition cannot fail on any group: columns, literals,
/// comparisons and `IS [NOT] NULL` of them, joined by `AND`/`OR`/`NOT`.
/// Anything else (a cast, arithmetic, a function) may.
fn cannot_fail_on(expr: &Arc<dyn PhysicalExpr>) -> bool {
    use datafusion::logical_expr::Operator;
    use datafusion::physical_expr::expressions::{BinaryExpr, IsNotNullExpr, IsNullExpr, NotExpr};
    if expr.is::<Column>() || expr.is::<Literal>() {
        return true;
    }
    if let Some(binary) = expr.downcast_ref::<BinaryExpr>() {
        return matches!(
            binary.op(),
            Operator::Eq
                | Operator::NotEq
                | Operator::Lt
                | Operator::LtEq
                | Operator::Gt
                | Operator::GtEq
                | Operator::And
                | Operator::Or
                | Operator::IsDistinctFrom
                | Operator::IsNotDistinctFrom
        ) && cannot_fail_on(binary.left())
            && cannot_fail_on(binary.right());
    }
    if let Some(not) = expr.downcast_ref::<NotExpr>() {
        return cannot_fail_on(not.arg());
    }
    if let Some(is_null) = expr.downcast_ref::<IsNullExpr>() {
        return cannot_fail_on(is_null.arg());
    }
    if let Some(is_not_null) = expr.downcast_ref::<IsNotNullExpr>() {
        return cannot_fail_on(is_not_null.arg());
    }
    false
}

/// `node` with `old` (somewhere along its first children) replaced by `new`.
fn replace(
    node: &Arc<dyn ExecutionPlan>,
    old: &Arc<dyn ExecutionPlan>,
    new: Arc<dyn ExecutionPlan>,
) -> Result<Arc<dyn ExecutionPlan>> {
    if Arc::ptr_eq(node, old) {
        return Ok(new);
    }
    let [child] = node.children()[..] else {
        return Err(DataFusionError::Internal(
            "threshold rewrite: expected one child".into(),
        ));
    };
    let child = replace(child, old, new)?;
    recompute(Arc::clone(node), vec![child])
}

fn recompute(
    node: Arc<dyn ExecutionPlan>,
    children: Vec<Arc<dyn ExecutionPlan>>,
) -> Result<Arc<dyn ExecutionPlan>> {
    node.replace_children(
        children,
        ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute),
    )
}

/// Drops the rows of groups whose sum cannot reach a threshold (see the
/// module). One input partition, one output partition, input order kept.
#[derive(Debug)]
pub(crate) struct ThresholdExec {
    input: Arc<dyn ExecutionPlan>,
    /// The group key, evaluated on the input.
    keys: Vec<Arc<dyn PhysicalExpr>>,
    /// The summed value, evaluated on the input.
    value: Arc<dyn PhysicalExpr>,
    /// The smallest sum kept (at least 1).
    threshold: u64,
    /// The pruned aggregate, for display.
    sum: String,
    /// The most counters the sketch may have (tests narrow it to force
    /// collisions).
    max_width: usize,
    /// Whether to spill what it holds past [`HOLD_IN_MEMORY`] (else it holds
    /// up to half the memory limit, then passes every row on).
    spill: bool,
    properties: Arc<PlanProperties>,
    metrics: ExecutionPlanMetricsSet,
}

impl ThresholdExec {
    fn new(
        input: Arc<dyn ExecutionPlan>,
        keys: Vec<Arc<dyn PhysicalExpr>>,
        value: Arc<dyn PhysicalExpr>,
        threshold: u64,
        sum: String,
        spill: bool,
    ) -> Self {
        let mut properties = input.properties().as_ref().clone();
        properties.emission_type = EmissionType::Final;
        ThresholdExec {
            input,
            keys,
            value,
            threshold,
            sum,
            max_width: MAX_WIDTH,
            spill,
            properties: Arc::new(properties),
            metrics: ExecutionPlanMetricsSet::new(),
        }
    }
}

impl DisplayAs for ThresholdExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<String> = self.keys.iter().map(ToString::to_string).collect();
        write!(
            f,
            "ThresholdExec: only groups that can reach {} >= {} (bound: sum of positive {} per hash of [{}])",
            self.sum,
            self.threshold,
            self.value,
            keys.join(", ")
        )
    }
}

impl ExecutionPlan for ThresholdExec {
    fn name(&self) -> &'static str {
        "ThresholdExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        apply_expression_roots(self.keys.iter().chain([&self.value]), f)
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![false]
    }

    fn required_input_distribution(&self) -> Vec<Distribution> {
        vec![Distribution::SinglePartition]
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let (Some(input), true) = (children.pop(), children.is_empty()) else {
            return Err(DataFusionError::Internal(
                "ThresholdExec takes one input".into(),
            ));
        };
        let mut exec = ThresholdExec::new(
            input,
            self.keys.clone(),
            Arc::clone(&self.value),
            self.threshold,
            self.sum.clone(),
            self.spill,
        );
        exec.max_width = self.max_width;
        Ok(Arc::new(exec))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let input = self.input.execute(partition, Arc::clone(&context))?;
        let pool = context.memory_pool();
        let reservation = MemoryConsumer::new(format!("ThresholdExec[{partition}]")).register(pool);
        let limit = match pool.memory_limit() {
            MemoryLimit::Finite(limit) => limit,
            MemoryLimit::Infinite | MemoryLimit::Unknown => usize::MAX,
        };
        let runtime = context.runtime_env();
        let spill = (self.spill && runtime.disk_manager.tmp_files_enabled()).then(|| SpillTo {
            disk: Arc::clone(&runtime.disk_manager),
            schema: self.input.schema(),
            metrics: SpillMetrics::new(&self.metrics, partition),
            batches: MetricBuilder::new(&self.metrics).counter("spill_batches", partition),
            batches_read: MetricBuilder::new(&self.metrics)
                .counter("spill_batches_read", partition),
        });
        let max_held = if spill.is_some() {
            (limit / 4).min(HOLD_IN_MEMORY)
        } else {
            limit / 2
        };
        let prune = Prune {
            keys: self.keys.clone(),
            value: Arc::clone(&self.value),
            threshold: self.threshold,
            max_width: self.max_width,
            reservation,
            max_held,
            spill,
            threads: context.session_config().target_partitions().max(1),
            baseline: BaselineMetrics::new(&self.metrics, partition),
            rows_in: MetricBuilder::new(&self.metrics).counter("rows_in", partition),
            buckets: MetricBuilder::new(&self.metrics).counter("sketch_buckets", partition),
            kept_all: MetricBuilder::new(&self.metrics).counter("kept_all", partition),
        };
        let stream = stream::once(prune.run(input)).try_flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema(),
            stream,
        )))
    }
}

/// One execution of [`ThresholdExec`].
struct Prune {
    keys: Vec<Arc<dyn PhysicalExpr>>,
    value: Arc<dyn PhysicalExpr>,
    threshold: u64,
    max_width: usize,
    reservation: MemoryReservation,
    /// The most the held batches may take in memory: [`HOLD_IN_MEMORY`] or a
    /// quarter of the memory limit where spilling, else half the limit.
    max_held: usize,
    /// Where what is held past `max_held` is written (`None`: no spilling).
    spill: Option<SpillTo>,
    /// Threads for building and reading the sketch.
    threads: usize,
    baseline: BaselineMetrics,
    rows_in: Count,
    /// The width of each of the sketch's two tables.
    buckets: Count,
    /// 1 where every row was kept (negative values, or memory refused).
    kept_all: Count,
}

/// A batch held until the input ends, with each row's key hash (mixed, see
/// [`mix`]) and summed value (as [`whole_numbers`]).
struct Held {
    batch: RecordBatch,
    hashes: Vec<u64>,
    values: ArrayRef,
    /// What the reservation counts for it, in bytes: see [`Held::new`].
    size: usize,
}

impl Held {
    /// `size` counts the buffers `counter` has not counted yet, each whole:
    /// batches may share their string views' data buffers, and the value may
    /// be one of the batch's columns.
    fn new(
        batch: RecordBatch,
        hashes: Vec<u64>,
        values: ArrayRef,
        counter: &mut RecordBatchMemoryCounter,
    ) -> Result<Self> {
        let value = RecordBatch::try_from_iter([("value", Arc::clone(&values))])?;
        let size = counter.count_batch(&batch)
            + counter.count_batch(&value)
            + hashes.capacity() * size_of::<u64>();
        Ok(Held {
            batch,
            hashes,
            values,
            size,
        })
    }
}

impl Prune {
    /// Holds the whole input, then builds the sketch from every row and
    /// yields the rows that can reach the threshold.
    async fn run(
        self,
        mut input: SendableRecordBatchStream,
    ) -> Result<BoxStream<'static, Result<RecordBatch>>> {
        let mut held: Vec<Held> = Vec::new();
        let mut counter = RecordBatchMemoryCounter::new();
        let mut rows = 0;
        let mut negative: i128 = 0;
        while let Some(batch) = input.next().await {
            let batch = batch?;
            let timer = self.baseline.elapsed_compute().timer();
            rows += batch.num_rows();
            let (hashes, values) = self.take_in(&batch, &mut negative)?;
            // A filtered batch's string views keep buffers its rows fill a
            // quarter of: at 10M events, 261K held rows counted 66 MB, 29 MB
            // compacted.
            let batch = compact_batch(&batch)?;
            let held_batch = Held::new(batch, hashes, values, &mut counter)?;
            let room = self.reservation.size() + held_batch.size <= self.max_held;
            if !room || self.reservation.try_grow(held_batch.size).is_err() {
                timer.done();
                if let Some(to) = &self.spill
                    && let Some(file) = Spill::create(to)?
                {
                    // The held batches leave memory for the file; the
                    // sketch takes their place.
                    let held_bytes = self.reservation.size();
                    self.reservation.free();
                    if let Some(sketch) = self.spill_sketch() {
                        held.push(held_batch);
                        return self.spill_rest(file, held, sketch, input, negative).await;
                    }
                    self.reservation.grow(held_bytes);
                }
                // No memory to hold the input: pass everything on.
                // The rows passed on unheld count as taken in too.
                let rows_in = self.rows_in.clone();
                let rest = stream::once(async { Ok(held_batch.batch) })
                    .chain(input.inspect_ok(move |b| rows_in.add(b.num_rows())));
                return Ok(self.emit(held, None, Some(rest.boxed())));
            }
            held.push(held_batch);
            timer.done();
        }
        // A group could leave the BIGINT range through its negative values.
        if negative < i128::from(i64::MIN) {
            return Ok(self.emit(held, None, None));
        }
        let timer = self.baseline.elapsed_compute().timer();
        // Past 64K rows, the sketches are built and read on as many threads
        // as the session has partitions (this exec's input has ended; the
        // threads block this worker meanwhile).
        let threads = if rows < 1 << 16 { 1 } else { self.threads };
        // First a small sketch, a counter for 8-16 rows, that the processor
        // caches hold: where most groups are far below the threshold it keeps
        // few rows. Where it keeps more than one in 16 (a low threshold), a
        // second sketch, a counter for 2-4 of those rows, sorts them again:
        // a kept group keeps all its rows, so the second sketch still bounds
        // its sum.
        let mut masks = None;
        let mut survivors = rows;
        for (level, per_counter) in [16, 4].into_iter().enumerate() {
            if level > 0 && survivors * 16 <= rows {
                break;
            }
            let width = Sketch::width_for((survivors / per_counter).min(self.max_width));
            let sketch_size = width * size_of::<u64>();
            if self.reservation.try_grow(sketch_size).is_err() {
                break;
            }
            let mut sketch = Sketch::new(width);
            self.buckets.add(sketch.width());
            sketch.build(&held, masks.as_deref(), threads)?;
            let kept = keep_masks(&sketch, &held, masks.as_deref(), self.threshold, threads)?;
            drop(sketch);
            self.reservation.shrink(sketch_size);
            survivors = kept.iter().map(BooleanBuffer::count_set_bits).sum();
            masks = Some(kept);
        }
        timer.done();
        Ok(self.emit(held, masks, None))
    }

    /// A sketch for [`Prune::spill_rest`]: [`SPILL_WIDTH`] counters or as
    /// many as `max_held` bytes hold, where fewer (at most `max_width`),
    /// narrower where the pool refuses that, `None` where it refuses even
    /// one line.
    fn spill_sketch(&self) -> Option<Sketch> {
        let fits = (self.max_held / size_of::<u64>()).max(LINE);
        let mut width = (1 << fits.ilog2())
            .min(SPILL_WIDTH)
            .min(Sketch::width_for(self.max_width));
        while width >= LINE {
            if self.reservation.try_grow(width * size_of::<u64>()).is_ok() {
                return Some(Sketch::new(width));
            }
            width /= 2;
        }
        None
    }

    /// Where the input outgrows memory: writes `held` and the rest of the
    /// input to `file`, each row with its key hash, adding every value into
    /// `sketch` on the way; once the input ends, reads back the rows whose
    /// bound reaches the threshold, in it and in a second sketch of the
    /// rows it keeps (see [`spill`]). Memory stays at the two sketches and a
    /// batch or two, whatever the input's size.
    async fn spill_rest(
        self,
        mut file: Spill,
        held: Vec<Held>,
        mut sketch: Sketch,
        mut input: SendableRecordBatchStream,
        mut negative: i128,
    ) -> Result<BoxStream<'static, Result<RecordBatch>>> {
        self.buckets.add(sketch.width());
        let mut write = |batch: &RecordBatch, hashes: Vec<u64>, values: &ArrayRef| {
            sketch.add(&hashes, values);
            file.append(batch, &hashes, values)
        };
        let timer = self.baseline.elapsed_compute().timer();
        for h in held {
            write(&h.batch, h.hashes, &h.values)?;
        }
        timer.done();
        while let Some(batch) = input.next().await {
            let batch = batch?;
            let _timer = self.baseline.elapsed_compute().timer();
            let (hashes, values) = self.take_in(&batch, &mut negative)?;
            write(&batch, hashes, &values)?;
        }
        drop(input);
        // A group could leave the BIGINT range through its negative values.
        let keep_all = negative < i128::from(i64::MIN);
        if keep_all {
            self.kept_all.add(1);
        }
        let Prune {
            threshold,
            reservation,
            baseline,
            ..
        } = self;
        // A second sketch for the candidates, where the pool has room; the
        // sketches' memory stays reserved until the files are read.
        let width = sketch.width();
        let second = (!keep_all && reservation.try_grow(width * size_of::<u64>()).is_ok())
            .then(|| Sketch::new(width));
        let keep = (!keep_all).then_some(Keep {
            sketch,
            threshold,
            second,
        });
        let read = file.read_kept(keep, baseline.elapsed_compute().clone(), reservation)?;
        Ok(read.map(move |b| b.record_output(&baseline)).boxed())
    }

    /// Passes on the held batches, each filtered by its mask where there are
    /// masks (all rows kept otherwise, counted in `kept_all`), then `rest`.
    /// Each batch leaves the reservation once passed: one at a time, since a
    /// filtered string view still points into its batch's data.
    fn emit(
        self,
        held: Vec<Held>,
        masks: Option<Vec<BooleanBuffer>>,
        rest: Option<BoxStream<'static, Result<RecordBatch>>>,
    ) -> BoxStream<'static, Result<RecordBatch>> {
        if masks.is_none() {
            self.kept_all.add(1);
        }
        let Prune {
            reservation,
            baseline,
            ..
        } = self;
        let mut masks = masks.map(Vec::into_iter);
        let time = baseline.clone();
        let held = stream::iter(held).filter_map(move |h| {
            let _timer = time.elapsed_compute().timer();
            reservation.shrink(h.size);
            let out = match masks.as_mut().and_then(Iterator::next) {
                None => Some(Ok(h.batch)),
                Some(keep) if keep.count_set_bits() == 0 => None,
                Some(keep) => Some(
                    filter_record_batch(&h.batch, &BooleanArray::new(keep, None))
                        .map_err(Into::into),
                ),
            };
            future::ready(out)
        });
        let all = match rest {
            Some(rest) => held.chain(rest).boxed(),
            None => held.boxed(),
        };
        all.map(move |b| b.record_output(&baseline)).boxed()
    }

    /// A batch taken in: counted in `rows_in`, each row's key hash and
    /// summed value (as [`whole_numbers`]), its negative values added to
    /// `negative`.
    fn take_in(&self, batch: &RecordBatch, negative: &mut i128) -> Result<(Vec<u64>, ArrayRef)> {
        self.rows_in.add(batch.num_rows());
        let hashes = self.hashes(batch)?;
        let values = self.value.evaluate(batch)?.into_array(batch.num_rows())?;
        let values = whole_numbers(&values)?;
        *negative += negative_sum(&values);
        Ok((hashes, values))
    }

    fn hashes(&self, batch: &RecordBatch) -> Result<Vec<u64>> {
        let keys = self
            .keys
            .iter()
            .map(|k| k.evaluate(batch)?.into_array(batch.num_rows()))
            .collect::<Result<Vec<ArrayRef>>>()?;
        let mut hashes = vec![0; batch.num_rows()];
        create_hashes(&keys, &RandomState::with_seed(HASH_SEED), &mut hashes)?;
        // Mixed once here, not each time a sketch reads the row.
        for hash in &mut hashes {
            *hash = mix(*hash);
        }
        Ok(hashes)
    }
}

/// An integer column as `BIGINT`, or as it is when `BIGINT UNSIGNED`.
fn whole_numbers(values: &ArrayRef) -> Result<ArrayRef> {
    match values.data_type() {
        DataType::UInt64 | DataType::Int64 => Ok(Arc::clone(values)),
        _ => Ok(cast(values, &DataType::Int64)?),
    }
}

/// Calls `f(row, value)` for each row of a [`whole_numbers`] column whose
/// value is above zero.
fn for_each_positive(values: &ArrayRef, mut f: impl FnMut(usize, u64)) {
    if let Some(values) = values.as_primitive_opt::<UInt64Type>() {
        for (row, v) in values.iter().enumerate() {
            if let Some(v) = v.filter(|&v| v > 0) {
                f(row, v);
            }
        }
    } else if let Some(values) = values.as_primitive_opt::<Int64Type>() {
        for (row, v) in values.iter().enumerate() {
            if let Some(v) = v.filter(|&v| v > 0) {
                f(row, v as u64);
            }
        }
    }
}

/// Which rows of each held batch can reach `threshold` (and are kept by
/// `prior`, where given), on `threads` threads.
fn keep_masks(
    sketch: &Sketch,
    held: &[Held],
    prior: Option<&[BooleanBuffer]>,
    threshold: u64,
    threads: usize,
) -> Result<Vec<BooleanBuffer>> {
    let mask = |(i, h): (usize, &Held)| {
        let keep = pack_bits(&h.hashes, |mixed| sketch.bound(mixed) >= threshold);
        match prior {
            Some(prior) => &keep & &prior[i],
            None => keep,
        }
    };
    if threads <= 1 {
        return Ok(held.iter().enumerate().map(mask).collect());
    }
    let per_thread = held.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let parts: Vec<_> = held
            .chunks(per_thread)
            .enumerate()
            .map(|(part, batches)| {
                scope.spawn(move || {
                    batches
                        .iter()
                        .enumerate()
                        .map(|(i, h)| mask((part * per_thread + i, h)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut masks = Vec::with_capacity(held.len());
        for part in parts {
            masks.extend(part.join().map_err(|_| panicked())?);
        }
        Ok(masks)
    })
}

fn panicked() -> DataFusionError {
    DataFusionError::Internal("a ThresholdExec thread panicked".into())
}

/// The sum of a [`whole_numbers`] column's negative values.
fn negative_sum(values: &ArrayRef) -> i128 {
    values.as_primitive_opt::<Int64Type>().map_or(0, |values| {
        values
            .iter()
            .flatten()
            .filter(|&v| v < 0)
            .map(i128::from)
            .sum()
    })
}

/// Saturating counters in lines of 8 (a cache line): a hash picks a line and
/// two different counters in it, so that adding and bounding touch one line.
struct Sketch {
    lines: Vec<Line>,
    /// Lines minus one (a power of two minus one).
    line_mask: u64,
}

/// Counters per line.
const LINE: usize = 8;

/// One cache line of counters (aligned, so that a hash touches one line).
#[derive(Clone, Copy, Default)]
#[repr(C, align(64))]
struct Line([u64; LINE]);

/// The sketch's widest, in counters (64 MiB): past 8 million rows, rows
/// outnumber counters.
const MAX_WIDTH: usize = 1 << 23;

/// The most a spilling exec holds in memory (a quarter of the memory limit
/// where that is less); past it, what it holds goes to a spill file and its
/// sketch takes its place.
const HOLD_IN_MEMORY: usize = 64 << 20;

/// A spilling exec's sketch width (2 MiB): it is fixed before the input's
/// size is known, and every row touches it twice at random, so it is kept
/// small enough for the processor caches (at 100M events the exec took 595
/// ms with 64 MiB of counters, 451-465 ms with these). A counter for 15 rows
/// at 100M events (54 of 3.8M rows kept), for 145 at 1B (10K of 38M).
const SPILL_WIDTH: usize = 1 << 18;

impl Sketch {
    /// The width [`Sketch::new`] gives for `width`.
    fn width_for(width: usize) -> usize {
        width.next_power_of_two().max(LINE)
    }

    /// `width` counters (a power of two, at least one line).
    fn new(width: usize) -> Self {
        let lines = Self::width_for(width) / LINE;
        Sketch {
            lines: vec![Line::default(); lines],
            line_mask: lines as u64 - 1,
        }
    }

    fn width(&self) -> usize {
        self.lines.len() * LINE
    }

    /// The line and two counters of a mixed hash (see [`mix`]): the line
    /// from its low bits, two different counters in it from its top bits.
    fn slots(&self, mixed: u64) -> (usize, usize, usize) {
        Self::slots_in(self.line_mask, mixed)
    }

    fn slots_in(line_mask: u64, mixed: u64) -> (usize, usize, usize) {
        let line = (mixed & line_mask) as usize;
        let first = (mixed >> 61) as usize;
        let second = (first + 1 + ((mixed >> 48) & 0xff) as usize % (LINE - 1)) % LINE;
        (line, first, second)
    }

    /// Adds each row's positive value (a [`whole_numbers`] column) at its
    /// mixed hash.
    fn add(&mut self, hashes: &[u64], values: &ArrayRef) {
        let line_mask = self.line_mask;
        let lines = &mut self.lines;
        for_each_positive(values, |row, value| {
            let (line, a, b) = Self::slots_in(line_mask, hashes[row]);
            Self::add_to(&mut lines[line], a, b, value);
        });
    }

    /// Adds `value` at the mixed hash `mixed`.
    fn add_one(&mut self, mixed: u64, value: u64) {
        let (line, a, b) = self.slots(mixed);
        Self::add_to(&mut self.lines[line], a, b, value);
    }

    fn add_to(line: &mut Line, a: usize, b: usize, value: u64) {
        line.0[a] = line.0[a].saturating_add(value);
        line.0[b] = line.0[b].saturating_add(value);
    }

    /// Adds every held row's positive value (of the rows `prior` keeps, where
    /// given), on `threads` threads, each owning a range of lines (and reading
    /// every row).
    fn build(
        &mut self,
        held: &[Held],
        prior: Option<&[BooleanBuffer]>,
        threads: usize,
    ) -> Result<()> {
        let line_mask = self.line_mask;
        let fill = |start: usize, lines: &mut [Line]| {
            let end = start + lines.len();
            for (i, h) in held.iter().enumerate() {
                let prior = prior.map(|p| &p[i]);
                for_each_positive(&h.values, |row, value| {
                    let (line, a, b) = Self::slots_in(line_mask, h.hashes[row]);
                    if (start..end).contains(&line) && prior.is_none_or(|p| p.value(row)) {
                        Self::add_to(&mut lines[line - start], a, b, value);
                    }
                });
            }
        };
        if threads <= 1 {
            fill(0, &mut self.lines);
            return Ok(());
        }
        let per_thread = self.lines.len().div_ceil(threads).max(1);
        std::thread::scope(|scope| {
            let parts: Vec<_> = self
                .lines
                .chunks_mut(per_thread)
                .enumerate()
                .map(|(i, lines)| scope.spawn(move || fill(i * per_thread, lines)))
                .collect();
            for part in parts {
                part.join().map_err(|_| panicked())?;
            }
            Ok(())
        })
    }

    /// At least the sum of the positive values of every row with this
    /// mixed hash.
    fn bound(&self, mixed: u64) -> u64 {
        let (line, a, b) = self.slots(mixed);
        let counters = &self.lines[line].0;
        counters[a].min(counters[b])
    }
}

/// SplitMix64's finalizer: every bit of the output depends on every bit of
/// the input.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    use arrow::array::{Int32Array, Int64Array, RecordBatchOptions, StringArray, UInt64Array};
    use arrow::datatypes::{Field, Schema};
    use datafusion::datasource::MemTable;
    use datafusion::execution::memory_pool::FairSpillPool;
    use datafusion::execution::runtime_env::RuntimeEnvBuilder;
    use datafusion::execution::session_state::SessionStateBuilder;
    use datafusion::physical_plan::{collect, displayable};
    use datafusion::prelude::{SessionConfig, SessionContext};

    use crate::TestRng;

    /// A group key and its rows' values, as the test data holds them.
    type Key = (Option<String>, Option<i32>);

    /// `rows` rows over about `keys` keys: a string key (NULL at times), an
    /// integer key (NULL at times) and a value from 0 to 599 (negative or
    /// NULL at times, and `big_negative` on every 50th row when set).
    fn rows(
        seed: u64,
        rows: usize,
        keys: u64,
        big_negative: Option<i64>,
    ) -> Vec<(Key, Option<i64>)> {
        let mut rng = TestRng(seed);
        (0..rows)
            .map(|row| {
                let k = rng.next() % keys;
                let k1 = (!k.is_multiple_of(7)).then(|| format!("process-{}", k / 3));
                let k2 = (!k.is_multiple_of(11)).then_some((k % 3) as i32);
                let r = rng.next();
                let value = match r % 20 {
                    0 => None,
                    1 => Some(-((r >> 8) as i64 % 400)),
                    _ => Some((r >> 8) as i64 % 600),
                };
                let value = match big_negative {
                    Some(v) if row % 50 == 0 => Some(v),
                    _ => value,
                };
                ((k1, k2), value)
            })
            .collect()
    }

    /// The rows as a table of `parts` partitions (one or two) of several
    /// batches.
    fn table(data: &[(Key, Option<i64>)], parts: usize) -> Arc<MemTable> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("k1", DataType::Utf8, true),
            Field::new("k2", DataType::Int32, true),
            Field::new("v", DataType::Int64, true),
        ]));
        let batches: Vec<RecordBatch> = data
            .chunks(97)
            .map(|chunk| {
                let k1: StringArray = chunk.iter().map(|r| r.0.0.as_deref()).collect();
                let k2: Int32Array = chunk.iter().map(|r| r.0.1).collect();
                let v: Int64Array = chunk.iter().map(|r| r.1).collect();
                RecordBatch::try_new(
                    Arc::clone(&schema),
                    vec![Arc::new(k1), Arc::new(k2), Arc::new(v)],
                )
                .unwrap()
            })
            .collect();
        let partitions = if parts == 1 {
            vec![batches]
        } else {
            let (a, b) = batches.split_at(batches.len() / 2);
            vec![a.to_vec(), b.to_vec()]
        };
        Arc::new(MemTable::try_new(schema, partitions).unwrap())
    }

    fn context(rule: bool, pool: Option<usize>, partitions: usize) -> SessionContext {
        let mut runtime = RuntimeEnvBuilder::new();
        if let Some(size) = pool {
            // The engine's pool (src/engine.rs).
            runtime = runtime.with_memory_pool(Arc::new(FairSpillPool::new(size)));
        }
        let mut state = SessionStateBuilder::new()
            .with_config(SessionConfig::new().with_target_partitions(partitions))
            .with_runtime_env(runtime.build_arc().unwrap())
            .with_default_features();
        if rule {
            state = state.with_physical_optimizer_rule(Arc::new(ThresholdRule { spill: true }));
        }
        let mut ctx = SessionContext::new_with_state(state.build());
        lakehunt_udfs::register_all(&mut ctx).unwrap();
        // ES|QL's sums (esql_long_sum).
        let _ = lakehunt_udfs::esql_warnings::EsqlWarnings::register(&ctx);
        ctx
    }

    /// What a query gave: its rows, sorted, as text; the plan it ran; and
    /// the rows the threshold exec took in and kept (`None` without one).
    struct Ran {
        rows: Vec<String>,
        plan: String,
        pruned: Option<(usize, usize, usize)>,
        /// The rows the threshold exec spilled.
        spilled: usize,
        /// The batches it spilled, and those it read back.
        batches_written: usize,
        batches_read: usize,
    }

    /// Runs `sql` over `data` as table `t`, the sketch at most `max_width`
    /// counters a table.
    async fn run(
        data: &[(Key, Option<i64>)],
        sql: &str,
        rule: bool,
        max_width: usize,
        pool: Option<usize>,
    ) -> Result<Ran> {
        run_on(data, sql, rule, max_width, pool, 2, true).await
    }

    /// `sql`'s physical plan on `ctx`, and the plan as text.
    async fn planned(ctx: &SessionContext, sql: &str) -> (Arc<dyn ExecutionPlan>, String) {
        let plan = ctx
            .sql(sql)
            .await
            .unwrap()
            .create_physical_plan()
            .await
            .unwrap();
        let shown = displayable(plan.as_ref()).indent(false).to_string();
        (plan, shown)
    }

    /// [`run`] over `partitions` partitions (one or two), as many targeted.
    async fn run_on(
        data: &[(Key, Option<i64>)],
        sql: &str,
        rule: bool,
        max_width: usize,
        pool: Option<usize>,
        partitions: usize,
        spill: bool,
    ) -> Result<Ran> {
        let ctx = context(rule, pool, partitions);
        ctx.register_table("t", table(data, partitions))?;
        let plan = ctx.sql(sql).await?.create_physical_plan().await?;
        let plan = plan
            .transform_up(|node| {
                let Some(exec) = node.downcast_ref::<ThresholdExec>() else {
                    return Ok(Transformed::no(node));
                };
                let mut narrow = ThresholdExec::new(
                    Arc::clone(&exec.input),
                    exec.keys.clone(),
                    Arc::clone(&exec.value),
                    exec.threshold,
                    exec.sum.clone(),
                    spill,
                );
                narrow.max_width = max_width;
                Ok(Transformed::yes(Arc::new(narrow) as _))
            })?
            .data;
        let batches = collect(Arc::clone(&plan), ctx.task_ctx()).await?;
        let shown = arrow::util::pretty::pretty_format_batches(&batches)?.to_string();
        let mut rows: Vec<String> = shown
            .lines()
            .filter(|l| l.starts_with('|'))
            .skip(1)
            .map(str::to_owned)
            .collect();
        rows.sort();
        let mut pruned = None;
        let (mut spilled, mut batches_written, mut batches_read) = (0, 0, 0);
        plan.apply(|node| {
            if node.is::<ThresholdExec>() {
                let metrics = node.metrics().expect("metrics");
                let count = |name: &str| metrics.sum_by_name(name).map_or(0, |m| m.as_usize());
                let kept = metrics.output_rows().unwrap_or(0);
                pruned = Some((count("rows_in"), kept, count("kept_all")));
                spilled = metrics.spilled_rows().unwrap_or(0);
                batches_written = count("spill_batches");
                batches_read = count("spill_batches_read");
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
        Ok(Ran {
            rows,
            plan: displayable(plan.as_ref()).indent(false).to_string(),
            pruned,
            spilled,
            batches_written,
            batches_read,
        })
    }

    /// The oracle: each key's sum (i128), row count and non-NULL count.
    fn groups(data: &[(Key, Option<i64>)]) -> BTreeMap<Key, (Option<i128>, usize, usize)> {
        let mut out: BTreeMap<Key, (Option<i128>, usize, usize)> = BTreeMap::new();
        for (key, value) in data {
            let group = out.entry(key.clone()).or_default();
            group.1 += 1;
            if let Some(v) = value {
                *group.0.get_or_insert(0) += i128::from(*v);
                group.2 += 1;
            }
        }
        out
    }

    /// A row as the pretty printer shows it, from its cells.
    fn shown(cells: &[String]) -> String {
        cells.join("|")
    }

    fn pretty_row(ran: &Ran) -> Vec<String> {
        ran.rows
            .iter()
            .map(|l| {
                l.trim_matches('|')
                    .split('|')
                    .map(|c| c.trim().to_owned())
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect()
    }

    fn cell<T: ToString>(value: Option<T>) -> String {
        value.map_or_else(String::new, |v| v.to_string())
    }

    /// Sums at or above a threshold (above, with `>`), with their counts,
    /// against the oracle; with wide sketches and sketches of one or two lines. The plan
    /// must hold the exec and, wide, prune most rows.
    #[tokio::test]
    async fn kept_groups_equal_a_brute_force_having() {
        for seed in [1_u64, 2, 3] {
            against_the_oracle(seed, 3000, 700).await;
        }
    }

    /// The same past 64K rows, where the sketch is built and read on two
    /// threads (the session's partitions).
    #[tokio::test]
    async fn kept_groups_equal_a_brute_force_having_on_threads() {
        against_the_oracle(4, 80_000, 18_000).await;
    }

    async fn against_the_oracle(seed: u64, n: usize, keys: u64) {
        let mut data = rows(seed, n, keys, None);
        // Groups at the threshold and one above it, over two rows each.
        for (i, (name, first)) in [("at", 700), ("above", 701)].into_iter().enumerate() {
            let row = seed as usize * 10 + i;
            data[row] = ((Some(name.into()), Some(7)), Some(first));
            data[row + n / 2] = ((Some(name.into()), Some(7)), Some(800));
        }
        let oracle = groups(&data);
        for (sql, strict) in [
            (
                "SELECT k1, k2, sum(v), count(*), count(v) FROM t GROUP BY k1, k2 \
                 HAVING sum(v) >= 1500",
                false,
            ),
            (
                "SELECT k1, k2, checked_sum(v), count(*), count(v) FROM t GROUP BY k1, k2 \
                 HAVING 1500 < checked_sum(v) AND count(*) > 0",
                true,
            ),
        ] {
            let kept_groups: Vec<_> = oracle
                .iter()
                .filter(|(_, (sum, _, _))| {
                    sum.is_some_and(|s| if strict { s > 1500 } else { s >= 1500 })
                })
                .collect();
            let mut want: Vec<String> = kept_groups
                .iter()
                .map(|((k1, k2), (sum, rows, values))| {
                    shown(&[
                        cell(k1.as_ref()),
                        cell(*k2),
                        cell(*sum),
                        rows.to_string(),
                        values.to_string(),
                    ])
                })
                .collect();
            want.sort();
            assert!(
                want.len() > 5,
                "seed {seed}: only {} groups kept",
                want.len()
            );
            let passing: usize = kept_groups.iter().map(|(_, g)| g.1).sum();
            // Last, two that spill: a quarter of a pool of 64 bytes a row
            // holds less than the rows' 40 or more (with hash and value).
            let spilling = Some((n * 64).max(128 << 10));
            for (width, pool) in [
                (8, None),
                (16, None),
                (MAX_WIDTH, None),
                (16, spilling),
                (MAX_WIDTH, spilling),
            ] {
                let ran = run(&data, sql, true, width, pool)
                    .await
                    .unwrap_or_else(|e| panic!("seed {seed}, width {width}, pool {pool:?}: {e}"));
                assert_eq!(ran.spilled > 0, pool.is_some(), "{pool:?}");
                let mut got = pretty_row(&ran);
                got.sort();
                assert_eq!(got, want, "seed {seed}, width {width}: {sql}");
                assert!(ran.plan.contains("ThresholdExec"), "{}", ran.plan);
                let (rows_in, kept, kept_all) = ran.pruned.expect("a threshold exec");
                assert_eq!((rows_in, kept_all), (n, 0));
                let at = shown(&[cell(Some("at")), cell(Some(7)), "1500".into()]);
                assert_eq!(
                    got.iter().any(|r| r.starts_with(&at)),
                    !strict,
                    "{at} {got:?}"
                );
                // Every row of a kept group, and, with counters to spare,
                // most others dropped (this data is hard on a sketch: half
                // its groups are within a third of the threshold, so one
                // other group on both counters can lift a bound over it).
                assert!(kept >= passing, "kept {kept}, passing {passing}");
                if width == MAX_WIDTH {
                    assert!(
                        kept - passing < (rows_in - passing) / 2,
                        "kept {kept}, passing {passing}"
                    );
                }
            }
        }
    }

    /// Negative values that could take a sum below -2^63: every row is kept,
    /// and the result is the one without the rule (here `sum` wraps, as
    /// DataFusion's does).
    #[tokio::test]
    async fn large_negative_values_keep_every_row() {
        let data = rows(9, 2000, 300, Some(i64::MIN / 8));
        let sql = "SELECT k1, k2, sum(v) FROM t GROUP BY k1, k2 HAVING sum(v) >= 1000";
        let without = run(&data, sql, false, 4, None).await.unwrap();
        assert!(!without.rows.is_empty());
        // Held in memory, and spilled past a 32 KiB hold.
        for pool in [None, Some(128 << 10)] {
            let with = run(&data, sql, true, 4, pool).await.unwrap();
            assert_eq!(with.rows, without.rows);
            assert_eq!(with.pruned, Some((2000, 2000, 1)));
            assert_eq!(with.spilled > 0, pool.is_some());
        }
    }

    /// Without spilling, input past half the memory limit passes on whole;
    /// with it (the default), input past a quarter of the limit is spilled
    /// and pruned. Either way the result is the same.
    #[tokio::test]
    async fn memory_refused_passes_every_row_or_spills() {
        let data = rows(4, 20_000, 300, None);
        let sql = "SELECT k1, k2, sum(v) FROM t GROUP BY k1, k2 HAVING sum(v) >= 1500";
        let roomy = run(&data, sql, true, 1 << 24, None).await.unwrap();
        assert!(!roomy.rows.is_empty());
        assert_eq!(roomy.spilled, 0);
        let small = Some(512 << 10);
        let held = run_on(&data, sql, true, 1 << 24, small, 2, false)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(held.rows, roomy.rows);
        assert_eq!(held.pruned, Some((20_000, 20_000, 1)));
        assert_eq!(held.spilled, 0);
        let spilled = run(&data, sql, true, 1 << 24, small)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(spilled.rows, roomy.rows);
        assert_eq!(spilled.spilled, 20_000);
        let (rows_in, _, kept_all) = spilled.pruned.expect("a threshold exec");
        assert_eq!((rows_in, kept_all), (20_000, 0));
    }

    /// A spilling exec reads back only the batches that hold a row it keeps:
    /// here three heavy groups among 20K light ones. Under the smaller pool
    /// its sketch has a counter for about 5 groups, and its candidates lie in
    /// every batch (5,680 rows, all 413 batches, with the first sketch
    /// alone); the second sketch, over the candidates only, keeps the three
    /// heavy rows.
    #[tokio::test]
    async fn a_spill_reads_back_only_batches_with_kept_rows() {
        let mut data: Vec<(Key, Option<i64>)> = (0..40_000_i64)
            .map(|i| {
                let key = (Some(format!("light-{}", i % 20_000)), Some(0));
                (key, Some(i * 7_919 % 600))
            })
            .collect();
        for (i, row) in [3_000, 19_000, 33_000].into_iter().enumerate() {
            data[row] = ((Some(format!("heavy-{i}")), Some(1)), Some(5_000));
        }
        let sql = "SELECT k1, k2, sum(v) FROM t GROUP BY k1, k2 HAVING sum(v) >= 4000";
        let unpruned = run(&data, sql, false, MAX_WIDTH, None).await.unwrap();
        assert_eq!(unpruned.rows.len(), 3, "{:?}", unpruned.rows);
        for pool in [1 << 20, 256 << 10] {
            let spilled = run(&data, sql, true, MAX_WIDTH, Some(pool))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(spilled.rows, unpruned.rows);
            assert_eq!(spilled.spilled, 40_000);
            let (_, kept, _) = spilled.pruned.expect("a threshold exec");
            let (read, written) = (spilled.batches_read, spilled.batches_written);
            // Each batch read holds a kept row; the three heavy rows lie in
            // three batches at least 14K rows apart.
            assert!(
                (3..=kept).contains(&read) && read * 10 < written && kept < 10,
                "pool {pool}: {read} of {written} batches read back, {kept} rows kept"
            );
        }
    }

    /// Rows with a dictionary column, each batch its own dictionary, past
    /// the hold: an IPC file refuses a dictionary that changes, so the exec
    /// passes them on unspilled, and the result is the unpruned one.
    #[tokio::test]
    async fn rows_with_a_changing_dictionary_past_the_hold_are_passed_on() {
        use arrow::array::DictionaryArray;
        use arrow::datatypes::Int32Type;
        let dictionary = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", dictionary, true),
            Field::new("v", DataType::Int64, true),
        ]));
        let batches: Vec<RecordBatch> = (0..200_i64)
            .map(|b| {
                let names: Vec<String> = (0..100_i64)
                    .map(|i| match b * 100 + i {
                        row if row % 4_999 == 0 => "heavy".to_owned(),
                        row => format!("key-{}", row * 37 % 3_000),
                    })
                    .collect();
                let k: DictionaryArray<Int32Type> = names.iter().map(String::as_str).collect();
                let v: Int64Array = names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| Some(if n == "heavy" { 10_000 } else { i as i64 % 50 }))
                    .collect();
                RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(k), Arc::new(v)]).unwrap()
            })
            .collect();
        let (a, b) = batches.split_at(100);
        let table = Arc::new(MemTable::try_new(schema, vec![a.to_vec(), b.to_vec()]).unwrap());
        let sql = "SELECT k, sum(v) FROM t GROUP BY k HAVING sum(v) >= 5000";
        let mut shown = vec![];
        for (rule, pool) in [(false, None), (true, Some(2 << 20))] {
            let ctx = context(rule, pool, 2);
            ctx.register_table("t", Arc::clone(&table) as _).unwrap();
            let (plan, text) = planned(&ctx, sql).await;
            assert_eq!(text.contains("ThresholdExec"), rule, "{text}");
            let batches = collect(Arc::clone(&plan), ctx.task_ctx())
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            shown.push(
                arrow::util::pretty::pretty_format_batches(&batches)
                    .unwrap()
                    .to_string(),
            );
            if rule {
                // Past its hold, every row passed on.
                plan.apply(|node| {
                    if node.is::<ThresholdExec>() {
                        let metrics = node.metrics().expect("metrics");
                        let kept_all = metrics.sum_by_name("kept_all").map(|m| m.as_usize());
                        assert_eq!(kept_all, Some(1), "{metrics}");
                    }
                    Ok(TreeNodeRecursion::Continue)
                })
                .unwrap();
            }
        }
        assert!(shown[0].contains("| heavy | 50000"), "{}", shown[0]);
        assert_eq!(shown[0], shown[1]);
    }

    /// Runs `sql` over `partitions` partitions with the rule and without:
    /// the plan must hold the exec, and the rows (some) must be the same.
    async fn pruned_as_unpruned(data: &[(Key, Option<i64>)], sql: &str, partitions: usize) -> Ran {
        let with = run_on(data, sql, true, 16, None, partitions, true)
            .await
            .unwrap();
        let without = run_on(data, sql, false, 16, None, partitions, true)
            .await
            .unwrap();
        assert!(with.plan.contains("ThresholdExec"), "{sql}\n{}", with.plan);
        assert_eq!(with.rows, without.rows, "{sql}");
        assert!(!with.rows.is_empty(), "{sql}");
        with
    }

    /// `sum(DISTINCT v)` becomes a plain sum over a first grouping by `v`,
    /// which the rule may take.
    #[tokio::test]
    async fn a_distinct_sum_equals_the_unpruned_result() {
        let data = rows(6, 2000, 100, None);
        let sql = "SELECT k1, sum(DISTINCT v) FROM t GROUP BY k1 HAVING sum(DISTINCT v) >= 30000";
        pruned_as_unpruned(&data, sql, 2).await;
    }

    /// A `HAVING` whose first comparison is on another aggregate still prunes
    /// by the sum.
    #[tokio::test]
    async fn the_sum_is_found_among_other_conditions() {
        let data = rows(8, 3000, 700, None);
        for sql in [
            "SELECT k1, k2, sum(v), max(v) FROM t GROUP BY k1, k2 \
             HAVING max(v) >= 100 AND sum(v) >= 1500",
            // The sum of an expression: the exec evaluates it itself.
            "SELECT k1, k2, sum(v + k2) FROM t GROUP BY k1, k2 HAVING sum(v + k2) >= 1500",
        ] {
            pruned_as_unpruned(&data, sql, 2).await;
        }
    }

    /// ES|QL's `STATS s = SUM(v) BY ... | WHERE s >= T`: the exact sum of the
    /// longs through DECIMAL(38, 0), made a long by `esql_long_sum` in a
    /// projection between the filter and the aggregation.
    #[tokio::test]
    async fn an_esql_sum_through_its_projection_is_pruned_too() {
        let data = rows(8, 3000, 700, None);
        for sql in [
            "SELECT * FROM (SELECT esql_long_sum(sum(CAST(v AS DECIMAL(38, 0)))) AS s, k1, k2 \
             FROM t GROUP BY k1, k2) WHERE s >= 1500",
            // Dropping k1 from the output, DataFusion inlines esql_long_sum
            // into the filter, over the aggregation itself.
            "SELECT * FROM (SELECT k2, esql_long_sum(sum(CAST(v AS DECIMAL(38, 0)))) AS s, \
             max(v) AS m FROM t GROUP BY k1, k2) WHERE m > 10 AND s > 1499",
            "SELECT * FROM (SELECT esql_long_sum(sum(CAST(v AS DECIMAL(38, 0)))) AS s, k1, k2 \
             FROM t GROUP BY k1, k2) WHERE 1500 <= s",
        ] {
            pruned_as_unpruned(&data, sql, 2).await;
        }
    }

    /// One partition: DataFusion plans a single-stage aggregation, and the
    /// exec goes under it.
    #[tokio::test]
    async fn a_single_stage_aggregation_is_pruned_too() {
        let data = rows(7, 3000, 700, None);
        let sql = "SELECT k1, k2, sum(v), count(v) FROM t GROUP BY k1, k2 HAVING sum(v) >= 1500";
        let with = pruned_as_unpruned(&data, sql, 1).await;
        assert!(with.plan.contains("mode=Single"), "{}", with.plan);
    }

    /// Shapes the rule must leave alone: no positive threshold, a comparison
    /// the wrong way, a float or filtered or distinct sum, no grouping,
    /// grouping sets, an aggregate that is not a sum.
    #[tokio::test]
    async fn other_shapes_are_left_alone() {
        let data = rows(5, 500, 100, None);
        for sql in [
            "SELECT k1, sum(v) FROM t GROUP BY k1 HAVING sum(v) >= 0",
            "SELECT k1, sum(v) FROM t GROUP BY k1 HAVING sum(v) > -5",
            "SELECT k1, sum(v) FROM t GROUP BY k1 HAVING sum(v) <= 1500",
            "SELECT k1, sum(v) FROM t GROUP BY k1 HAVING sum(v) < 1500 OR sum(v) >= 1500",
            "SELECT k1, sum(CAST(v AS DOUBLE)) FROM t GROUP BY k1 HAVING sum(CAST(v AS DOUBLE)) >= 1500",
            "SELECT k1, sum(v) FILTER (WHERE k2 = 1) FROM t GROUP BY k1 \
             HAVING sum(v) FILTER (WHERE k2 = 1) >= 1500",
            "SELECT sum(v) FROM t HAVING sum(v) >= 1500",
            "SELECT k1, k2, sum(v) FROM t GROUP BY GROUPING SETS ((k1), (k2)) HAVING sum(v) >= 1500",
            "SELECT k1, max(v) FROM t GROUP BY k1 HAVING max(v) >= 500",
            "SELECT k1, sum(v) AS s FROM t GROUP BY k1 HAVING count(*) >= 3",
            // A projection that computes more than esql_long_sum of a sum.
            "SELECT * FROM (SELECT esql_long_sum(sum(CAST(v AS DECIMAL(38, 0)))) AS s, \
             CAST(k1 AS INT) AS i FROM t GROUP BY k1) WHERE s >= 1500",
            "SELECT * FROM (SELECT esql_long_sum(sum(CAST(v AS DECIMAL(38, 0)))) + 1 AS s, k1 \
             FROM t GROUP BY k1) WHERE s >= 1500",
            // A narrower decimal could fail its cast on a dropped row.
            "SELECT * FROM (SELECT esql_long_sum(sum(CAST(v AS DECIMAL(5, 0)))) AS s, k1 \
             FROM t GROUP BY k1) WHERE s >= 1500",
            // esql_long_sum of another sum beside the pruned one.
            "SELECT * FROM (SELECT esql_long_sum(sum(CAST(v AS DECIMAL(38, 0)))) AS s, \
             esql_long_sum(sum(CAST(k2 AS DECIMAL(38, 0)))) AS s2, k1 FROM t GROUP BY k1) \
             WHERE s >= 1500",
            // A decimal with a fraction is not a sum of integers.
            "SELECT * FROM (SELECT sum(CAST(v AS DECIMAL(38, 2))) AS s, k1 FROM t GROUP BY k1) \
             WHERE s >= 1500",
            // Another aggregate that needs its input in order.
            "SELECT k1, sum(v), array_agg(v ORDER BY v) FROM t GROUP BY k1 HAVING sum(v) >= 1500",
            // Volatile keys or values: the exec would draw other values.
            "SELECT k1, sum(v) FROM t GROUP BY k1, random() < 2.0 HAVING sum(v) >= 1500",
            "SELECT k1, sum(v + CAST(random() AS BIGINT)) FROM t GROUP BY k1 \
             HAVING sum(v + CAST(random() AS BIGINT)) >= 1500",
            // Other aggregates that could fail on a dropped row.
            "SELECT k1, sum(v), checked_sum(k2) FROM t GROUP BY k1 HAVING sum(v) >= 1500",
            "SELECT k1, sum(v), count(CAST(k1 AS INT)) FROM t GROUP BY k1 HAVING sum(v) >= 1500",
            "SELECT k1, sum(v), count(*) FILTER (WHERE k2 > 0) FROM t GROUP BY k1 \
             HAVING sum(v) >= 1500",
        ] {
            // The plan, before it runs: a query that fails must not hide it.
            let ctx = context(true, None, 2);
            ctx.register_table("t", table(&data, 2)).unwrap();
            let (_, plan) = planned(&ctx, sql).await;
            assert!(!plan.contains("ThresholdExec"), "{sql}\n{plan}");
            // Rows, or the error (a failing CAST must still fail); the error
            // up to the value it names, which depends on the partition that
            // fails first.
            let outcome = |ran: Result<Ran>| match ran {
                Ok(ran) => Ok(ran.rows),
                Err(e) => Err(e.to_string().split('\'').next().map(str::to_owned)),
            };
            let with = outcome(run(&data, sql, true, 16, None).await);
            let without = outcome(run(&data, sql, false, 16, None).await);
            assert_eq!(with, without, "{sql}");
        }
    }

    /// Queries that fail without the rule fail with it: an aggregate that
    /// overflows, or a `HAVING` condition that fails, on a group the threshold
    /// would drop. The rule stays out of such plans.
    #[tokio::test]
    async fn a_failing_query_still_fails() {
        use arrow::array::Decimal128Array;
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Utf8, false),
            Field::new("v", DataType::Int64, false),
            Field::new("d", DataType::Decimal128(38, 0), false),
            Field::new("s", DataType::Utf8, false),
        ]));
        // "kept" reaches the threshold; "dropped" does not, and holds the
        // values that fail: two decimals whose sum passes 38 digits, text
        // that is no integer.
        let part = |k: &str, v: i64, d: i128, s: &str| {
            let batch = RecordBatch::try_new(
                Arc::clone(&schema),
                vec![
                    Arc::new(StringArray::from(vec![k; 2])),
                    Arc::new(Int64Array::from(vec![v; 2])),
                    Arc::new(
                        Decimal128Array::from(vec![d; 2])
                            .with_precision_and_scale(38, 0)
                            .unwrap(),
                    ),
                    Arc::new(StringArray::from(vec![s; 2])),
                ],
            )
            .unwrap();
            vec![batch]
        };
        let big = 9 * 10i128.pow(37);
        let table = MemTable::try_new(
            Arc::clone(&schema),
            vec![part("kept", 2000, 1, "1"), part("dropped", 1, big, "abc")],
        )
        .unwrap();
        let table = Arc::new(table);
        for sql in [
            "SELECT k, sum(v), avg(d) FROM t GROUP BY k HAVING sum(v) >= 1000",
            "SELECT k, sum(v), max(s) FROM t GROUP BY k \
             HAVING CAST(max(s) AS INT) > 0 AND sum(v) >= 1000",
        ] {
            let mut outcomes = vec![];
            for rule in [false, true] {
                let ctx = context(rule, None, 2);
                ctx.register_table("t", Arc::clone(&table) as _).unwrap();
                let (plan, shown) = planned(&ctx, sql).await;
                assert!(!shown.contains("ThresholdExec"), "{sql}\n{shown}");
                let ran = collect(plan, ctx.task_ctx()).await;
                outcomes.push(ran.map(|_| ()).map_err(|e| e.to_string()));
            }
            assert!(outcomes[0].is_err(), "{sql} should fail: {:?}", outcomes[0]);
            assert_eq!(outcomes[0], outcomes[1], "{sql}");
        }
        // The same shapes over safe types and conditions are still pruned.
        let ctx = context(true, None, 2);
        ctx.register_table("t", Arc::clone(&table) as _).unwrap();
        for sql in [
            "SELECT k, sum(v), avg(v), max(s) FROM t GROUP BY k HAVING sum(v) >= 1000",
            "SELECT k, sum(v), max(s) FROM t GROUP BY k \
             HAVING max(s) IS NOT NULL AND (max(v) >= 1 OR min(v) < 0) AND sum(v) >= 1000",
        ] {
            let (_, shown) = planned(&ctx, sql).await;
            assert!(shown.contains("ThresholdExec"), "{sql}\n{shown}");
        }
    }

    /// The bound is at least the sum of each key's positive values (of the
    /// rows a prior mask keeps, where there is one), also when every key
    /// shares the counters, built on one thread or on four that each own a
    /// range of lines; a key's two counters differ; counters saturate.
    #[test]
    fn the_bound_is_never_below_a_keys_positive_sum() {
        let mut rng = TestRng(77);
        let held_rows = |keys: &[u64], values: ArrayRef| {
            let options = RecordBatchOptions::new().with_row_count(Some(keys.len()));
            let batch =
                RecordBatch::try_new_with_options(Arc::new(Schema::empty()), vec![], &options)
                    .unwrap();
            Held {
                batch,
                hashes: keys.iter().map(|&k| mix(k)).collect(),
                values,
                size: 0,
            }
        };
        let (mut held, mut rows) = (vec![], vec![]);
        for _ in 0..5 {
            let keys: Vec<u64> = (0..1000).map(|_| rng.next() % 300).collect();
            let values: Vec<i64> = (0..1000).map(|_| rng.next() as i64 % 1000).collect();
            let kept: Vec<bool> = (0..1000).map(|_| !rng.next().is_multiple_of(3)).collect();
            held.push(held_rows(&keys, Arc::new(Int64Array::from(values.clone()))));
            rows.push((keys, values, kept));
        }
        let prior: Vec<BooleanBuffer> = rows
            .iter()
            .map(|(_, _, kept)| kept.iter().copied().collect::<BooleanBuffer>())
            .collect();
        for width in [8, 16, 1024] {
            for threads in [1, 4] {
                for with_prior in [false, true] {
                    let mut sums: BTreeMap<u64, u64> = BTreeMap::new();
                    for (keys, values, kept) in &rows {
                        for ((key, value), kept) in keys.iter().zip(values).zip(kept) {
                            if *kept || !with_prior {
                                *sums.entry(*key).or_default() +=
                                    u64::try_from(*value).unwrap_or(0);
                            }
                        }
                    }
                    let mut sketch = Sketch::new(width);
                    let mask = with_prior.then_some(&prior[..]);
                    sketch.build(&held, mask, threads).unwrap();
                    for (key, sum) in sums {
                        let at = format!("width {width}, {threads} threads, key {key}");
                        assert!(sketch.bound(mix(key)) >= sum, "{at}");
                        let (_, a, b) = sketch.slots(mix(key));
                        assert!(a != b && a < LINE && b < LINE, "{at}: {a} {b}");
                    }
                }
            }
        }
        let big = held_rows(&[5, 5], Arc::new(UInt64Array::from(vec![u64::MAX, 10])));
        let mut sketch = Sketch::new(1024);
        sketch.build(&[big], None, 1).unwrap();
        assert_eq!(sketch.bound(mix(5)), u64::MAX);
    }
}
