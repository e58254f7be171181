//! DataFusion's filter, with list columns moved by index.
//!
//! arrow's `filter` kernel copies a list column (`event.category`) one selected
//! run of rows at a time through the generic `MutableArrayData`, and
//! `FilterExec` then concatenates its small outputs the same way. On the
//! shipped hunt that was 4.3% of all instructions, more than filtering its four
//! string columns together. A specialized list filter is open upstream
//! (apache/arrow-rs#10236); until it lands, [`ListFilterRule`] swaps each
//! `FilterExec` whose output holds a list for [`ListFilterExec`], which takes
//! list columns by the selected rows' indices (one pass over the offsets, then
//! one `take` of the child values: arrow's own `take` of a list still extends a
//! `MutableArrayData` row by row) and filters the other columns as
//! `FilterExec` does. The predicate, projection, partitioning and ordering are
//! the `FilterExec`'s own; its output batches are not coalesced.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use arrow::array::{
    Array, ArrayRef, AsArray, GenericListArray, OffsetSizeTrait, RecordBatch, RecordBatchOptions,
    UInt32Array,
};
use arrow::buffer::{BooleanBuffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::compute::{FilterBuilder, prep_null_mask_filter, take};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::error::ArrowError;
use datafusion::common::DataFusionError;
use datafusion::common::Result;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::config::ConfigOptions;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::filter::{FilterExec, FilterExecBuilder};
use datafusion::physical_plan::metrics::{BaselineMetrics, ExecutionPlanMetricsSet, MetricsSet};
use datafusion::physical_plan::statistics::StatisticsArgs;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, RecordBatchStream, Statistics,
};
use futures::{Stream, StreamExt};

fn is_list(data_type: &DataType) -> bool {
    matches!(data_type, DataType::List(_) | DataType::LargeList(_))
}

/// Replaces each `FilterExec` whose output has a list column (and no row
/// limit) with a [`ListFilterExec`]; runs after DataFusion's own rules.
#[derive(Debug, Default)]
pub(crate) struct ListFilterRule;

impl PhysicalOptimizerRule for ListFilterRule {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let Some(filter) = node.downcast_ref::<FilterExec>() else {
                return Ok(Transformed::no(node));
            };
            let lists = node
                .schema()
                .fields()
                .iter()
                .any(|f| is_list(f.data_type()));
            if !lists || filter.fetch().is_some() {
                return Ok(Transformed::no(node));
            }
            let list_filter = ListFilterExec::new(filter.clone());
            Ok(Transformed::yes(Arc::new(list_filter) as _))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &'static str {
        "lakehunt_list_filter"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// A `FilterExec` whose list columns are taken by index (see the module).
#[derive(Debug)]
pub(crate) struct ListFilterExec {
    /// The `FilterExec` replaced: its predicate, projection and properties.
    filter: FilterExec,
    metrics: ExecutionPlanMetricsSet,
}

impl ListFilterExec {
    pub(crate) fn new(filter: FilterExec) -> Self {
        ListFilterExec {
            filter,
            metrics: ExecutionPlanMetricsSet::new(),
        }
    }

    /// The `FilterExec` it runs as.
    pub(crate) fn filter(&self) -> &FilterExec {
        &self.filter
    }
}

impl DisplayAs for ListFilterExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ListFilterExec (lists taken by index) ")?;
        self.filter.fmt_as(t, f)
    }
}

impl ExecutionPlan for ListFilterExec {
    fn name(&self) -> &'static str {
        "ListFilterExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.filter.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![self.filter.input()]
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        self.filter.apply_expressions(f)
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        self.filter.maintains_input_order()
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let (Some(input), true) = (children.pop(), children.is_empty()) else {
            return Err(DataFusionError::Internal(
                "ListFilterExec takes one input".into(),
            ));
        };
        // As FilterExec itself does, with its properties recomputed.
        let filter = FilterExecBuilder::from(&self.filter)
            .with_input(input)
            .build()?;
        Ok(Arc::new(ListFilterExec::new(filter)))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }

    fn statistics_from_inputs(
        &self,
        input_stats: &[Arc<Statistics>],
        args: &StatisticsArgs,
    ) -> Result<Arc<Statistics>> {
        self.filter.statistics_from_inputs(input_stats, args)
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let filter = &self.filter;
        Ok(Box::pin(ListFilterStream {
            input: filter.input().execute(partition, context)?,
            predicate: Arc::clone(filter.predicate()),
            projection: filter.projection().as_ref().map(|p| p.to_vec()),
            schema: self.schema(),
            baseline: BaselineMetrics::new(&self.metrics, partition),
        }))
    }
}

struct ListFilterStream {
    input: SendableRecordBatchStream,
    predicate: Arc<dyn PhysicalExpr>,
    projection: Option<Vec<usize>>,
    schema: SchemaRef,
    baseline: BaselineMetrics,
}

impl ListFilterStream {
    /// The rows of `batch` where the predicate holds (NULL counts as false),
    /// projected; `None` when no row does.
    fn select(&self, batch: &RecordBatch) -> Result<Option<RecordBatch>> {
        let _timer = self.baseline.elapsed_compute().timer();
        let values = self
            .predicate
            .evaluate(batch)?
            .into_array(batch.num_rows())?;
        let Some(mask) = values.as_boolean_opt() else {
            return Err(DataFusionError::Internal(format!(
                "filter {} is not a boolean",
                self.predicate
            )));
        };
        let mask = if mask.null_count() > 0 {
            prep_null_mask_filter(mask)
        } else {
            mask.clone()
        };
        let kept = mask.true_count();
        if kept == 0 {
            return Ok(None);
        }
        let batch = match &self.projection {
            Some(p) => batch.project(p)?,
            None => batch.clone(),
        };
        if kept == batch.num_rows() {
            return Ok(Some(batch));
        }
        let filter = FilterBuilder::new(&mask).optimize().build();
        let indices: Option<UInt32Array> = batch
            .columns()
            .iter()
            .any(|c| is_list(c.data_type()))
            .then(|| {
                mask.values()
                    .set_indices()
                    .map(|i| u32::try_from(i).unwrap_or(u32::MAX))
                    .collect()
            });
        let columns = batch
            .columns()
            .iter()
            .map(|column| match (&indices, is_list(column.data_type())) {
                (Some(indices), true) => take_lists(column.as_ref(), indices),
                _ => filter.filter(column.as_ref()),
            })
            .collect::<std::result::Result<Vec<ArrayRef>, _>>()?;
        let options = RecordBatchOptions::new().with_row_count(Some(kept));
        Ok(Some(RecordBatch::try_new_with_options(
            Arc::clone(&self.schema),
            columns,
            &options,
        )?))
    }
}

/// The rows of `list` (a `List` or `LargeList`) at `indices`.
fn take_lists(list: &dyn Array, indices: &UInt32Array) -> Result<ArrayRef, ArrowError> {
    match list.data_type() {
        DataType::List(_) => take_list_rows(list.as_list::<i32>(), indices),
        DataType::LargeList(_) => take_list_rows(list.as_list::<i64>(), indices),
        _ => take(list, indices, None),
    }
}

/// The rows of `list` at `indices`: their child ranges gathered into one index
/// array and taken from the child values at once.
fn take_list_rows<O: OffsetSizeTrait>(
    list: &GenericListArray<O>,
    indices: &UInt32Array,
) -> Result<ArrayRef, ArrowError> {
    let (DataType::List(field) | DataType::LargeList(field)) = list.data_type() else {
        return take(list, indices, None);
    };
    if u32::try_from(list.values().len()).is_err() {
        return take(list, indices, None);
    }
    let offsets = list.value_offsets();
    let mut children: Vec<u32> = Vec::with_capacity(indices.len());
    let mut taken = Vec::with_capacity(indices.len() + 1);
    taken.push(O::usize_as(0));
    for &row in indices.values() {
        let row = row as usize;
        // Child positions fit in u32: checked above.
        let (start, end) = (
            offsets[row].as_usize() as u32,
            offsets[row + 1].as_usize() as u32,
        );
        children.extend(start..end);
        taken.push(O::usize_as(children.len()));
    }
    let values = take(list.values().as_ref(), &UInt32Array::from(children), None)?;
    let nulls = list.nulls().map(|nulls| {
        NullBuffer::new(BooleanBuffer::collect_bool(indices.len(), |k| {
            nulls.is_valid(indices.value(k) as usize)
        }))
    });
    let taken = GenericListArray::<O>::try_new(
        Arc::clone(field),
        OffsetBuffer::new(ScalarBuffer::from(taken)),
        values,
        nulls,
    )?;
    Ok(Arc::new(taken))
}

impl Stream for ListFilterStream {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            let next = match self.input.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(batch))) => match self.select(&batch) {
                    Ok(None) => continue,
                    Ok(Some(out)) => Poll::Ready(Some(Ok(out))),
                    Err(e) => Poll::Ready(Some(Err(e))),
                },
                other => other,
            };
            return self.baseline.record_poll(next);
        }
    }
}

impl RecordBatchStream for ListFilterStream {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::execution::session_state::SessionStateBuilder;
    use datafusion::prelude::SessionContext;

    async fn rows(with_rule: bool, sql: &str) -> (String, String) {
        let mut builder = SessionStateBuilder::new().with_default_features();
        if with_rule {
            builder = builder.with_physical_optimizer_rule(Arc::new(ListFilterRule));
        }
        let ctx = SessionContext::new_with_state(builder.build());
        ctx.sql(
            "CREATE TABLE t AS SELECT * FROM (VALUES \
             (1, make_array('a', 'b'), true), (2, make_array('c'), NULL), \
             (3, NULL, true), (4, make_array(), false), (5, make_array('d', NULL), true), \
             (6, make_array('e'), true)) AS v(id, tags, keep)",
        )
        .await
        .unwrap();
        let df = ctx.sql(sql).await.unwrap();
        let plan = df.clone().create_physical_plan().await.unwrap();
        let shown = datafusion::physical_plan::displayable(plan.as_ref())
            .indent(false)
            .to_string();
        let batches = df.collect().await.unwrap();
        let out = arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string();
        (out, shown)
    }

    #[tokio::test]
    async fn lists_taken_by_index_equal_the_filter() {
        // NULL in the predicate drops the row; lists NULL, empty, holding NULL.
        for sql in [
            "SELECT id, tags FROM t WHERE keep ORDER BY id",
            "SELECT tags FROM t WHERE id % 2 = 1 ORDER BY id",
            "SELECT id, tags FROM t WHERE id > 0 ORDER BY id",
            "SELECT id, tags FROM t WHERE id > 99",
        ] {
            let (expected, without) = rows(false, sql).await;
            let (got, plan) = rows(true, sql).await;
            assert_eq!(got, expected, "{sql}");
            assert!(without.contains("FilterExec: "), "{sql}: {without}");
            assert!(plan.contains("ListFilterExec"), "{sql}: {plan}");
        }
        // No list in the output: the FilterExec stays.
        let (_, plan) = rows(true, "SELECT id FROM t WHERE keep").await;
        assert!(!plan.contains("ListFilterExec"), "{plan}");
    }

    /// Against arrow's own `take`: lists of string views and of integers,
    /// `List` and `LargeList`, NULL lists, empty lists, NULL elements, a sliced
    /// input (offsets not starting at 0), repeated and unordered indices.
    #[test]
    fn list_rows_taken_equal_arrows_take() {
        use arrow::array::{Int32Builder, LargeListBuilder, ListBuilder, StringViewBuilder};
        let mut strings = ListBuilder::new(StringViewBuilder::new());
        let mut ints = LargeListBuilder::new(Int32Builder::new());
        for row in 0..40_u32 {
            match row % 5 {
                0 => {
                    strings.append(false);
                    ints.append(false);
                }
                1 => {
                    strings.append(true);
                    ints.append(true);
                }
                _ => {
                    for k in 0..=row % 4 {
                        if (row + k) % 7 == 0 {
                            strings.values().append_null();
                            ints.values().append_null();
                        } else {
                            strings
                                .values()
                                .append_value(format!("value {row} {k}, longer than twelve"));
                            ints.values()
                                .append_value(i32::try_from(row * 10 + k).unwrap());
                        }
                    }
                    strings.append(true);
                    ints.append(true);
                }
            }
        }
        let arrays: Vec<ArrayRef> = vec![Arc::new(strings.finish()), Arc::new(ints.finish())];
        let indices = UInt32Array::from(vec![0, 2, 3, 3, 9, 1, 7, 30, 4, 5, 12, 20]);
        for array in arrays {
            for input in [Arc::clone(&array), array.slice(5, 32)] {
                let got = take_lists(input.as_ref(), &indices).unwrap();
                let expected = take(input.as_ref(), &indices, None).unwrap();
                assert_eq!(&got, &expected, "{}", input.data_type());
                assert_eq!(got.null_count(), expected.null_count());
            }
        }
    }
}
