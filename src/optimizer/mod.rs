//! lakehunt's own rules and nodes, listed once, in the order they run.
//!
//! Each physical rule rewrites a plan shape DataFusion executes correctly but
//! slowly for hunts, keeps the plan's answer (each has a test that compares
//! findings with the rule on and off), and leaves every other shape alone. All
//! of them run after DataFusion's own physical rules, in [`rules`]' order. The
//! one logical rule ([`logical_rules`]) corrects an answer instead: it runs
//! before DataFusion's simplifier, whose cast unwrapping would truncate a
//! timestamp literal. The tap is not a
//! rule but a logical node with its own planner ([`TapPlanner`]): a hunt's data
//! checks counted in the hunt's own scan. Nor is [`share_tests`]: it rewrites
//! the plans of a sweep's queries together, once each is planned, so that
//! their shared scan evaluates the filter tests they have in common.

mod compact_views;
mod exact_casts;
mod list_filter;
mod null_as_false;
mod regex_once;
mod repeated_projections;
mod shared_tests;
mod split_scan;
pub(crate) mod tap;
mod threshold;
mod view_eq;

use std::sync::Arc;

use arrow::datatypes::Schema;
use datafusion::common::Result;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::optimizer::{Optimizer, OptimizerRule};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::filter::{FilterExec, FilterExecBuilder};

pub(crate) use list_filter::ListFilterExec;
pub(crate) use shared_tests::share_tests;
pub(crate) use tap::{TapCounts, TapPlanner, tap_diagnostics};
pub(crate) use view_eq::ViewEq;

/// Which of the optional rules to run (each has an off switch in the CLI).
#[derive(Clone, Copy, Debug)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent off switches, one a rule"
)]
pub(crate) struct RuleSwitches {
    /// [`threshold::ThresholdRule`] (`LAKEHUNT_NO_THRESHOLD` turns it off),
    /// its execs spilling what they hold past 64 MiB where `Some(true)`
    /// (`LAKEHUNT_NO_THRESHOLD_SPILL` turns that off).
    pub(crate) threshold: Option<bool>,
    /// Plans for a cluster (see [`crate::cluster`]): no threshold pruning.
    pub(crate) for_cluster: bool,
    /// [`compact_views::CompactViewsRule`] (`LAKEHUNT_NO_COMPACT_VIEWS`
    /// turns it off).
    pub(crate) compact_views: bool,
    /// [`null_as_false::NullAsFalseRule`] (`LAKEHUNT_NO_NULL_AS_FALSE` turns
    /// it off).
    pub(crate) null_as_false: bool,
    /// [`regex_once::RegexOnceRule`] (`LAKEHUNT_NO_REGEX_ONCE` turns it off).
    pub(crate) regex_once: bool,
}

/// The logical rules: lakehunt's first (each pass runs them in this order),
/// then DataFusion's own, with lakehunt's fix for repeated projections
/// before each projection pass.
pub(crate) fn logical_rules() -> Vec<Arc<dyn OptimizerRule + Send + Sync>> {
    let mut rules: Vec<Arc<dyn OptimizerRule + Send + Sync>> = vec![
        // Before the simplifier, which would unwrap the view's timestamp
        // casts with a truncated literal.
        Arc::new(exact_casts::ExactTimestampCasts),
    ];
    for rule in Optimizer::new().rules {
        // Before each projection pass, which would drop one of two equal
        // projections in a row.
        if rule.name() == "optimize_projections" {
            rules.push(Arc::new(repeated_projections::KeepRepeatedProjections));
        }
        rules.push(rule);
    }
    rules
}

/// lakehunt's physical rules, in the order they run after DataFusion's.
pub(crate) fn rules(switches: RuleSwitches) -> Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>> {
    let split_scan: Arc<dyn PhysicalOptimizerRule + Send + Sync> =
        Arc::new(split_scan::SplitScanProjectionRule);
    let mut rules: Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>> = vec![
        // First: it moves the `events` view's struct-field projection into
        // both halves of a time-split scan, which DataFusion's projection
        // pushdown (already run) cannot do through the union.
        split_scan,
        // Before the list filter: it rewrites `FilterExec` predicates, which
        // the list filter then carries over into its own node unchanged.
        Arc::new(view_eq::ViewEqRule),
    ];
    // Not on a cluster (the codec does not ship their expressions); both
    // before the list filter, which carries the predicate over.
    if !switches.for_cluster && switches.regex_once {
        rules.push(Arc::new(regex_once::RegexOnceRule));
    }
    if !switches.for_cluster && switches.null_as_false {
        // After the view comparisons, whose NULLs it turns into false
        // where a filter drops both; before the list filter, which carries
        // the predicate over.
        rules.push(Arc::new(null_as_false::NullAsFalseRule));
    }
    // Swaps each `FilterExec` over list columns for `ListFilterExec`.
    rules.push(Arc::new(list_filter::ListFilterRule));
    // On a cluster the exec would gather every row that passes the filters
    // into one task; the hash-partitioned aggregation spreads them out.
    if let (Some(spill), false) = (switches.threshold, switches.for_cluster) {
        // It inspects the final aggregation and its `HAVING` filter,
        // and puts its exec under the aggregation's first stage.
        rules.push(Arc::new(threshold::ThresholdRule { spill }));
    }
    // Not on a cluster: the codec does not ship its node, and executors
    // keep their own caps.
    if switches.compact_views && !switches.for_cluster {
        // After DataFusion's sorting rules, which place the merges, and
        // after the others, which never add a merge.
        rules.push(Arc::new(compact_views::CompactViewsRule));
    }
    rules
}

/// The one child handed to a one-child expression's `with_new_children`;
/// an error naming `what` otherwise.
fn only_child(
    mut children: Vec<Arc<dyn PhysicalExpr>>,
    what: &str,
) -> Result<Arc<dyn PhysicalExpr>> {
    match (children.pop(), children.is_empty()) {
        (Some(child), true) => Ok(child),
        _ => Err(datafusion::common::DataFusionError::Internal(format!(
            "{what} takes one child"
        ))),
    }
}

/// The field of a string test over `expr` (`ViewEq`, `RegexOnce`): a
/// boolean named `name`, NULL where `expr` is.
fn string_test_field(
    expr: &Arc<dyn PhysicalExpr>,
    name: String,
    input_schema: &Schema,
) -> Result<arrow::datatypes::FieldRef> {
    let nullable = expr.nullable(input_schema)?;
    Ok(Arc::new(arrow::datatypes::Field::new(
        name,
        arrow::datatypes::DataType::Boolean,
        nullable,
    )))
}

/// A string test of one value: `test` of the text, NULL for NULL; an error
/// naming `what` for a value that is not a string.
fn string_test_scalar(
    what: &dyn std::fmt::Display,
    scalar: datafusion::common::ScalarValue,
    test: impl Fn(&str) -> bool,
) -> Result<datafusion::logical_expr::ColumnarValue> {
    use datafusion::common::ScalarValue;
    let out = match scalar {
        ScalarValue::Utf8View(v) | ScalarValue::Utf8(v) | ScalarValue::LargeUtf8(v) => {
            v.map(|v| test(&v))
        }
        ScalarValue::Null => None,
        other => {
            return Err(datafusion::common::DataFusionError::Internal(format!(
                "{what}: expected a string, got {}",
                other.data_type()
            )));
        }
    };
    Ok(datafusion::logical_expr::ColumnarValue::Scalar(
        ScalarValue::Boolean(out),
    ))
}

/// A rewrite of one expression, given its input schema.
type ExprRewrite = fn(Arc<dyn PhysicalExpr>, &Schema) -> Result<Transformed<Arc<dyn PhysicalExpr>>>;

/// `plan` with each expression of each `FilterExec` predicate rewritten by
/// `rewrite` (given the filter's input schema), bottom up.
fn rewrite_filter_exprs(
    plan: Arc<dyn ExecutionPlan>,
    rewrite: ExprRewrite,
) -> Result<Arc<dyn ExecutionPlan>> {
    rewrite_filters(
        plan,
        |_| true,
        |predicate, schema| predicate.transform_up(|expr| rewrite(expr, schema)),
    )
}

/// `plan` with the predicate of each `FilterExec` that `wanted` takes
/// rewritten by `rewrite` (given the filter's input schema); the other
/// filters and nodes as they were.
fn rewrite_filters(
    plan: Arc<dyn ExecutionPlan>,
    wanted: impl Fn(&FilterExec) -> bool,
    rewrite: impl Fn(Arc<dyn PhysicalExpr>, &Schema) -> Result<Transformed<Arc<dyn PhysicalExpr>>>,
) -> Result<Arc<dyn ExecutionPlan>> {
    plan.transform_up(|node| {
        let Some(filter) = node.downcast_ref::<FilterExec>() else {
            return Ok(Transformed::no(node));
        };
        if !wanted(filter) {
            return Ok(Transformed::no(node));
        }
        let predicate = rewrite(Arc::clone(filter.predicate()), &filter.input().schema())?;
        if !predicate.transformed {
            return Ok(Transformed::no(node));
        }
        let filter = FilterExecBuilder::from(filter)
            .with_predicate(predicate.data)
            .build()?;
        Ok(Transformed::yes(Arc::new(filter) as _))
    })
    .map(|t| t.data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(switches: RuleSwitches) -> Vec<String> {
        rules(switches)
            .iter()
            .map(|r| r.name().to_owned())
            .collect()
    }

    /// Each switch adds or leaves out its rule; a cluster's plans get none
    /// of the rules whose nodes its codec does not ship.
    #[test]
    fn switches_choose_the_rules() {
        let all = RuleSwitches {
            threshold: Some(true),
            for_cluster: false,
            compact_views: true,
            null_as_false: true,
            regex_once: true,
        };
        let on = names(all);
        for rule in [
            "lakehunt_regex_once",
            "lakehunt_null_as_false",
            "lakehunt_view_eq",
        ] {
            assert!(on.iter().any(|r| r == rule), "{rule} in {on:?}");
        }
        let off = names(RuleSwitches {
            regex_once: false,
            ..all
        });
        assert!(!off.iter().any(|r| r == "lakehunt_regex_once"), "{off:?}");
        assert_eq!(off.len() + 1, on.len(), "{off:?}");
        let cluster = names(RuleSwitches {
            for_cluster: true,
            ..all
        });
        assert!(
            !cluster.iter().any(|r| r == "lakehunt_regex_once"),
            "{cluster:?}"
        );
    }
}
