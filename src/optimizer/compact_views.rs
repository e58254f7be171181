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
//! above every input of a merge whose rows hold views.

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
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::sorts::sort_preserving_merge::SortPreservingMergeExec;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
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
            if node.downcast_ref::<SortPreservingMergeExec>().is_none() {
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
