//! Sorted streams of string views compacted before they are merged.
//!
//! A sort's output batches take their rows from many input batches, so a
//! string-view column keeps a reference to every data buffer it came from:
//! 8,192 sorted rows of `process.entity_id` were accounted at 22.6 MB, and
//! `SortPreservingMergeExec`, which reserves each batch it holds and cannot
//! spill, failed a full sort of 10M events under a 128 MiB cap (with integer
//! keys the same sort finished in 172 MiB). [`CompactViewsExec`] copies each
//! batch's view columns into buffers of their own when those buffers would be
//! less than half the size of the ones they reference; the rule puts one
//! above every input of a merge whose rows hold views, and below every full
//! sort (which spills a run by what it holds: the shared buffers overstated
//! it, and a 10M-event sort at 128 MiB wrote 94 runs instead of 28).
//!
//! A streaming window keeps its rows by concatenating what it still needs
//! with each new batch, and a concatenation of views takes every data buffer
//! of both sides, whether or not a view still points into it: a row_number()
//! over a sorted 10M events held every string it had seen (190 MB at a
//! 128 MiB cap). The rule has such a window read plain strings (casts below
//! it, and back above it), which a concatenation copies.

use std::fmt;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, GenericByteViewArray, RecordBatch, RecordBatchOptions,
};
use arrow::datatypes::ByteViewType;
use arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::DataFusionError;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::config::ConfigOptions;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::{CastExpr, Column};
use datafusion::physical_expr::utils::collect_columns;
use datafusion::physical_expr::window::StandardWindowExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::projection::{ProjectionExec, ProjectionExpr};
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::sorts::sort_preserving_merge::SortPreservingMergeExec;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::windows::BoundedWindowAggExec;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use futures::StreamExt;

/// Puts a [`CompactViewsExec`] above each input of a sort-preserving merge
/// whose rows hold string or binary views.
#[derive(Debug)]
pub(crate) struct CompactViewsRule;

fn holds_views(schema: &SchemaRef) -> bool {
    schema
        .fields()
        .iter()
        .any(|f| matches!(f.data_type(), DataType::Utf8View | DataType::BinaryView))
}

impl PhysicalOptimizerRule for CompactViewsRule {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            if let Some(window) = node.downcast_ref::<BoundedWindowAggExec>() {
                return Ok(match plain_window(&node, window)? {
                    Some(rewritten) => Transformed::yes(rewritten),
                    None => Transformed::no(node),
                });
            }
            // A full sort holds what it reads and spills runs by what it
            // holds: views over shared buffers overstate it (see the module).
            let full_sort = node
                .downcast_ref::<SortExec>()
                .is_some_and(|s| s.fetch().is_none());
            if node.downcast_ref::<SortPreservingMergeExec>().is_none() && !full_sort {
                return Ok(Transformed::no(node));
            }
            // Inputs that hold views and are not compacted yet.
            let wants = |i: &Arc<dyn ExecutionPlan>| {
                holds_views(&i.schema()) && i.downcast_ref::<CompactViewsExec>().is_none()
            };
            let inputs: Vec<Arc<dyn ExecutionPlan>> =
                node.children().into_iter().map(Arc::clone).collect();
            if !inputs.iter().any(wants) {
                return Ok(Transformed::no(node));
            }
            let compacted = inputs
                .into_iter()
                .map(|input| {
                    if wants(&input) {
                        Arc::new(CompactViewsExec::new(input)) as Arc<dyn ExecutionPlan>
                    } else {
                        input
                    }
                })
                .collect();
            #[expect(deprecated, reason = "DataFusion 55's replace_children needs options")]
            let node = node.with_new_children(compacted)?;
            Ok(Transformed::yes(node))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &'static str {
        "compact_views"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// The plain string type for a view type.
fn plain(data_type: &DataType) -> Option<DataType> {
    match data_type {
        DataType::Utf8View => Some(DataType::Utf8),
        DataType::BinaryView => Some(DataType::Binary),
        _ => None,
    }
}

/// `node` (the streaming `window`) reading its input's view columns as
/// plain strings, cast back above it; `None` where its input holds no views,
/// a window function is an aggregate or reads one (its result would change
/// type), or it has a `PARTITION BY`: a partition's rows go when it ends,
/// and the casts would hide from the window that its input is ordered by the
/// partition keys. Above the casts DataFusion no longer knows the plan is
/// ordered by a string key (a cast from views is not order-preserving to
/// it): the rule runs after every rule that reads orderings.
fn plain_window(
    node: &Arc<dyn ExecutionPlan>,
    window: &BoundedWindowAggExec,
) -> datafusion::common::Result<Option<Arc<dyn ExecutionPlan>>> {
    let input = window.input();
    let schema = input.schema();
    let views: Vec<usize> = (0..schema.fields().len())
        .filter(|&i| plain(schema.field(i).data_type()).is_some())
        .collect();
    let view = |e: &Arc<dyn PhysicalExpr>| {
        collect_columns(e)
            .iter()
            .any(|c| views.contains(&c.index()))
    };
    // Only ranking-like functions (row_number, rank, lag of a number, ...):
    // an aggregate window may carry a FILTER over a view column, which the
    // casts would leave comparing plain strings with view literals. A view
    // may be read only as a sort key itself, which the casts keep in order.
    let fits = window.window_expr().iter().all(|w| {
        w.as_any().downcast_ref::<StandardWindowExpr>().is_some()
            && w.partition_by().is_empty()
            && !w.expressions().iter().any(view)
            && w.order_by()
                .iter()
                .all(|s| s.expr.downcast_ref::<Column>().is_some() || !view(&s.expr))
    });
    if views.is_empty() || !fits {
        return Ok(None);
    }
    // Each column as `to` types it: `None` keeps the type.
    let cast_all = |over: &SchemaRef, to: &dyn Fn(usize) -> Option<DataType>| {
        (0..over.fields().len())
            .map(|i| {
                let field = over.field(i);
                let column = Arc::new(Column::new(field.name(), i)) as Arc<dyn PhysicalExpr>;
                let expr = match to(i) {
                    Some(data_type) => Arc::new(CastExpr::new(column, data_type, None)),
                    None => column,
                };
                ProjectionExpr::new(expr, field.name().clone())
            })
            .collect::<Vec<_>>()
    };
    let below = cast_all(&schema, &|i| plain(schema.field(i).data_type()));
    let below = Arc::new(ProjectionExec::try_new(below, Arc::clone(input))?);
    #[expect(deprecated, reason = "DataFusion 55's replace_children needs options")]
    let plain_window = Arc::clone(node).with_new_children(vec![below])?;
    let out = node.schema();
    let above = cast_all(&plain_window.schema(), &|i| {
        views.contains(&i).then(|| out.field(i).data_type().clone())
    });
    Ok(Some(Arc::new(ProjectionExec::try_new(
        above,
        plain_window,
    )?)))
}

/// Passes its input's batches on, each view column in buffers of its own
/// where that at least halves what it references (see the module).
#[derive(Debug)]
pub(crate) struct CompactViewsExec {
    input: Arc<dyn ExecutionPlan>,
    properties: Arc<PlanProperties>,
}

impl CompactViewsExec {
    fn new(input: Arc<dyn ExecutionPlan>) -> CompactViewsExec {
        CompactViewsExec {
            properties: Arc::clone(input.properties()),
            input,
        }
    }
}

impl DisplayAs for CompactViewsExec {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "CompactViewsExec")
    }
}

impl ExecutionPlan for CompactViewsExec {
    fn name(&self) -> &'static str {
        "CompactViewsExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> datafusion::common::Result<TreeNodeRecursion>,
    ) -> datafusion::common::Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
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
            return Err(DataFusionError::Internal(
                "CompactViewsExec has one input".into(),
            ));
        };
        Ok(Arc::new(CompactViewsExec::new(input)))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> datafusion::common::Result<SendableRecordBatchStream> {
        let input = self.input.execute(partition, context)?;
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            input.schema(),
            input.map(|batch| batch.and_then(|b| compact_batch(&b))),
        )))
    }
}

/// `column` in buffers of its own, where that at least halves the bytes
/// its buffers hold; other columns as they are.
fn compact(column: &ArrayRef) -> ArrayRef {
    /// The views over buffers of their own, if that halves what they hold
    /// (their capacity: a filter's output is copied into buffers of 1-2 MB
    /// that it may fill a quarter of).
    fn gc<T: ByteViewType>(views: &GenericByteViewArray<T>) -> Option<ArrayRef> {
        let held: usize = views
            .data_buffers()
            .iter()
            .map(arrow::buffer::Buffer::capacity)
            .sum();
        (views.total_bytes_len().saturating_mul(2) <= held)
            .then(|| Arc::new(views.gc()) as ArrayRef)
    }
    let compacted = match column.data_type() {
        DataType::Utf8View => gc(column.as_string_view()),
        DataType::BinaryView => gc(column.as_binary_view()),
        _ => None,
    };
    compacted.unwrap_or_else(|| Arc::clone(column))
}

/// `batch` with [`compact`] applied to each column.
pub(super) fn compact_batch(batch: &RecordBatch) -> datafusion::common::Result<RecordBatch> {
    let columns: Vec<ArrayRef> = batch.columns().iter().map(compact).collect();
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    Ok(RecordBatch::try_new_with_options(
        batch.schema(),
        columns,
        &options,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::StringViewArray;

    #[test]
    fn a_few_views_over_large_buffers_get_buffers_of_their_own() {
        // 2,000 long strings in one array; two of them taken: their views
        // still reference the whole buffer.
        let long: Vec<String> = (0..2000).map(|i| format!("{i:0>40}")).collect();
        let all = StringViewArray::from_iter_values(long.iter());
        let two: ArrayRef = Arc::new(all.slice(10, 2));
        let compacted = compact(&two);
        let held = |a: &ArrayRef| -> usize {
            a.as_string_view()
                .data_buffers()
                .iter()
                .map(arrow::buffer::Buffer::len)
                .sum()
        };
        assert!(held(&two) >= 2000 * 40, "{}", held(&two));
        assert_eq!(held(&compacted), 80);
        assert_eq!(compacted.as_string_view().value(1), long[11]);
        // Already compact: left as it is.
        let again = compact(&compacted);
        assert!(Arc::ptr_eq(&again, &compacted));
    }
}

#[cfg(test)]
mod window_tests {
    use super::*;
    use std::sync::Mutex;

    use arrow::array::{Int64Array, StringViewArray};
    use arrow::buffer::Buffer;
    use arrow::datatypes::{Field, Schema, UInt64Type};
    use datafusion::datasource::MemTable;
    use datafusion::physical_expr::{LexOrdering, PhysicalSortExpr};
    use datafusion::physical_plan::streaming::{PartitionStream, StreamingTableExec};
    use datafusion::prelude::{SessionContext, col};

    const ROWS: i64 = 8_192;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int64, false),
            Field::new("s", DataType::Utf8View, false),
        ]))
    }

    /// Batch `b`: keys `b * ROWS ..`, each with a 40-byte string.
    fn batch(b: i64) -> RecordBatch {
        let keys: Vec<i64> = (b * ROWS..(b + 1) * ROWS).collect();
        let strings = StringViewArray::from_iter_values(keys.iter().map(|k| format!("{k:0>40}")));
        RecordBatch::try_new(
            schema(),
            vec![Arc::new(Int64Array::from(keys)), Arc::new(strings)],
        )
        .unwrap()
    }

    /// 50 sorted batches made as they are read and kept by nobody but the
    /// plan; the first one's string buffers also go to `first`.
    #[derive(Debug)]
    struct Made {
        schema: SchemaRef,
        first: Arc<Mutex<Vec<Buffer>>>,
    }

    impl PartitionStream for Made {
        fn schema(&self) -> &SchemaRef {
            &self.schema
        }

        fn execute(&self, _: Arc<TaskContext>) -> SendableRecordBatchStream {
            let first = Arc::clone(&self.first);
            let batches = futures::stream::iter(0..50_i64).map(move |b| {
                let batch = batch(b);
                if b == 0 {
                    let strings = batch.column(1).as_string_view().data_buffers().to_vec();
                    *first.lock().unwrap() = strings;
                }
                Ok(batch)
            });
            Box::pin(RecordBatchStreamAdapter::new(
                Arc::clone(&self.schema),
                batches,
            ))
        }
    }

    /// For `row_number()` over the 50 batches (400 KB of strings), with the
    /// rule or without: once the window has given 40 batches, how many of
    /// the first batch's string buffers something beyond this test holds.
    async fn buffers_held(rule: bool) -> usize {
        // The plan DataFusion makes over a sorted table, its scan then
        // swapped for batches nobody else keeps.
        let table = MemTable::try_new(schema(), vec![vec![batch(0)]])
            .unwrap()
            .with_sort_order(vec![vec![col("k").sort(true, false)]]);
        let ctx = SessionContext::new();
        ctx.register_table("t", Arc::new(table)).unwrap();
        let df = ctx
            .sql("SELECT s, row_number() OVER (ORDER BY k) AS r FROM t")
            .await
            .unwrap();
        let first = Arc::new(Mutex::new(vec![]));
        let made: Arc<dyn PartitionStream> = Arc::new(Made {
            schema: schema(),
            first: Arc::clone(&first),
        });
        let ordering = LexOrdering::new(vec![PhysicalSortExpr::new_default(Arc::new(
            Column::new("k", 0),
        ))]);
        let scan = Arc::new(
            StreamingTableExec::try_new(schema(), vec![made], None, ordering, false, None).unwrap(),
        ) as Arc<dyn ExecutionPlan>;
        let mut plan = df
            .create_physical_plan()
            .await
            .unwrap()
            .transform_up(|node| {
                Ok(if node.children().is_empty() {
                    Transformed::yes(Arc::clone(&scan))
                } else {
                    Transformed::no(node)
                })
            })
            .unwrap()
            .data;
        if rule {
            plan = CompactViewsRule
                .optimize(plan, &ConfigOptions::default())
                .unwrap();
        }
        let mut stream = plan.execute(0, ctx.task_ctx()).unwrap();
        let (mut batches, mut last, mut held) = (0, 0, None);
        while let Some(out) = stream.next().await {
            let out = out.unwrap();
            batches += 1;
            last = out.column(1).as_primitive::<UInt64Type>().values()[out.num_rows() - 1];
            if batches == 40 {
                drop(out);
                let first = first.lock().unwrap();
                held = Some(first.iter().filter(|b| b.strong_count() > 1).count());
            }
        }
        assert_eq!(last, 50 * 8_192);
        held.unwrap()
    }

    /// DataFusion's streaming window keeps the rows it still needs by
    /// concatenating them with each new batch, and a concatenation of views
    /// takes every buffer of both sides: without the rule it still holds the
    /// first batch's strings 40 batches on. Read as plain strings, none.
    #[tokio::test]
    async fn a_window_over_views_holds_only_the_rows_it_needs() {
        assert!(buffers_held(false).await > 0);
        assert_eq!(buffers_held(true).await, 0);
    }
}
