//! NULL as false where a filter drops both, so that `AND` short-circuits.
//!
//! DataFusion evaluates `a AND b` by evaluating `a`, then `b` only on the rows
//! where `a` holds when few do, or not at all when none does; but only when
//! `a` has no NULL: with one NULL it evaluates `b` on every row
//! (`check_short_circuit` in datafusion-physical-expr's `binary.rs`). In ECS
//! archives a field is NULL wherever an event type lacks it, so a hunt's
//! cheap first test often has NULLs, and its costly later ones
//! (`CIDR_MATCH` over 27 ranges, regular expressions) ran on every row. One of
//! Elastic's hunts (`suspicious_network_connections_by_unsigned_macho`) over
//! 10M network events, where `process.code_signature.*` is NULL throughout,
//! matched every destination address against 27 ranges.
//!
//! In a filter's predicate a row passes only where the predicate is true, so
//! NULL and false there are the same, and so they are for each side of an
//! `AND` or `OR` the predicate is made of (not under `NOT`, where they
//! differ). [`NullAsFalseRule`] wraps the left side of each such `AND` and
//! `OR` that may be NULL in [`NullAsFalse`] (`IS TRUE`: a bitmap `AND` of
//! values and validity), which lets DataFusion short-circuit again. Filters
//! over an aggregation (`HAVING`, directly or through ES|QL's projection) are
//! left as they are: they see few rows, and the threshold rule reads their
//! conjuncts.
//!
//! Functions on a right side that count warnings per row evaluated (ES|QL's
//! failed conversions, overflows) then see only the rows where the left side
//! holds, as they already did where it had no NULL.
//!
//! The hidden conjuncts are also hidden from what DataFusion reads off a
//! filter's predicate after the rule (constants for equivalences, selectivity
//! estimates); the rule runs after DataFusion's own rules, which used them.

use std::fmt;
use std::hash::Hash;
use std::sync::Arc;

use arrow::array::{Array, AsArray, BooleanArray, RecordBatch};
use arrow::datatypes::{DataType, FieldRef, Schema};
use datafusion::common::tree_node::Transformed;
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::config::ConfigOptions;
use datafusion::logical_expr::{ColumnarValue, Operator};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::BinaryExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::aggregates::AggregateExec;
use datafusion::physical_plan::projection::ProjectionExec;

/// Wraps the nullable left sides of a filter predicate's `AND`s and `OR`s in
/// [`NullAsFalse`] (see the module's docs); runs after DataFusion's rules.
#[derive(Debug, Default)]
pub(crate) struct NullAsFalseRule;

impl PhysicalOptimizerRule for NullAsFalseRule {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        super::rewrite_filters(plan, |filter| !over_aggregation(filter.input()), in_filter)
    }

    fn name(&self) -> &'static str {
        "lakehunt_null_as_false"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// Whether `plan` is an aggregation, or projections of one.
fn over_aggregation(plan: &Arc<dyn ExecutionPlan>) -> bool {
    if plan.downcast_ref::<AggregateExec>().is_some() {
        return true;
    }
    match plan.downcast_ref::<ProjectionExec>() {
        Some(projection) => over_aggregation(projection.input()),
        None => false,
    }
}

/// `expr`, a predicate whose NULL rows a filter drops as it drops false ones,
/// with the left side of each `AND` and `OR` it is made of NULL-free.
fn in_filter(
    expr: Arc<dyn PhysicalExpr>,
    schema: &Schema,
) -> Result<Transformed<Arc<dyn PhysicalExpr>>> {
    let Some(binary) = expr.downcast_ref::<BinaryExpr>() else {
        return Ok(Transformed::no(expr));
    };
    let op = *binary.op();
    if !matches!(op, Operator::And | Operator::Or) {
        return Ok(Transformed::no(expr));
    }
    let left = in_filter(Arc::clone(binary.left()), schema)?;
    let right = in_filter(Arc::clone(binary.right()), schema)?;
    let mut changed = left.transformed || right.transformed;
    let mut left = left.data;
    if left.nullable(schema)? && left.downcast_ref::<NullAsFalse>().is_none() {
        left = Arc::new(NullAsFalse::new(left));
        changed = true;
    }
    if !changed {
        return Ok(Transformed::no(expr));
    }
    Ok(Transformed::yes(Arc::new(BinaryExpr::new(
        left, op, right.data,
    ))))
}

/// `expr IS TRUE`: true where `expr` is true, false where it is false or
/// NULL; never NULL.
#[derive(Debug)]
pub(crate) struct NullAsFalse {
    expr: Arc<dyn PhysicalExpr>,
}

// By hand: the derive would compare `*self.expr == *other.expr`, moving out of
// the `Arc` (as DataFusion's own expressions do it).
impl PartialEq for NullAsFalse {
    fn eq(&self, other: &Self) -> bool {
        self.expr.eq(&other.expr)
    }
}

impl Eq for NullAsFalse {}

impl Hash for NullAsFalse {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.expr.hash(state);
    }
}

impl NullAsFalse {
    /// `expr IS TRUE`; `expr` must give booleans.
    pub(crate) fn new(expr: Arc<dyn PhysicalExpr>) -> NullAsFalse {
        NullAsFalse { expr }
    }

    /// Whether its child is shown in parentheses (an operator's result).
    fn grouped(&self) -> bool {
        self.expr.downcast_ref::<BinaryExpr>().is_some()
            || self
                .expr
                .downcast_ref::<super::regex_once::RegexOnce>()
                .is_some()
    }
}

impl fmt::Display for NullAsFalse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.grouped() {
            write!(f, "({}) IS TRUE", self.expr)
        } else {
            write!(f, "{} IS TRUE", self.expr)
        }
    }
}

impl PhysicalExpr for NullAsFalse {
    fn return_field(&self, _input_schema: &Schema) -> Result<FieldRef> {
        Ok(Arc::new(arrow::datatypes::Field::new(
            self.to_string(),
            DataType::Boolean,
            false,
        )))
    }

    fn evaluate(&self, batch: &RecordBatch) -> Result<ColumnarValue> {
        match self.expr.evaluate(batch)? {
            ColumnarValue::Array(array) => {
                let Some(bools) = array.as_boolean_opt() else {
                    return Err(DataFusionError::Internal(format!(
                        "{self}: expected Boolean, got {}",
                        array.data_type()
                    )));
                };
                let Some(nulls) = bools.nulls() else {
                    return Ok(ColumnarValue::Array(array));
                };
                let values = bools.values() & nulls.inner();
                Ok(ColumnarValue::Array(Arc::new(BooleanArray::new(
                    values, None,
                ))))
            }
            ColumnarValue::Scalar(ScalarValue::Boolean(v)) => Ok(ColumnarValue::Scalar(
                ScalarValue::Boolean(Some(v == Some(true))),
            )),
            ColumnarValue::Scalar(ScalarValue::Null) => {
                Ok(ColumnarValue::Scalar(ScalarValue::Boolean(Some(false))))
            }
            ColumnarValue::Scalar(other) => Err(DataFusionError::Internal(format!(
                "{self}: expected Boolean, got {}",
                other.data_type()
            ))),
        }
    }

    fn children(&self) -> Vec<&Arc<dyn PhysicalExpr>> {
        vec![&self.expr]
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn PhysicalExpr>>,
    ) -> Result<Arc<dyn PhysicalExpr>> {
        let expr = super::only_child(children, "NullAsFalse")?;
        Ok(Arc::new(NullAsFalse { expr }))
    }

    fn fmt_sql(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.grouped() {
            write!(f, "(")?;
            self.expr.fmt_sql(f)?;
            write!(f, ") IS TRUE")
        } else {
            self.expr.fmt_sql(f)?;
            write!(f, " IS TRUE")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::Field;
    use datafusion::physical_expr::expressions::{Column, NotExpr, lit};

    fn schema() -> Schema {
        Schema::new(vec![
            Field::new("a", DataType::Boolean, true),
            Field::new("b", DataType::Boolean, true),
            Field::new("c", DataType::Boolean, false),
        ])
    }

    fn col(name: &str, i: usize) -> Arc<dyn PhysicalExpr> {
        Arc::new(Column::new(name, i))
    }

    fn and(l: Arc<dyn PhysicalExpr>, r: Arc<dyn PhysicalExpr>) -> Arc<dyn PhysicalExpr> {
        Arc::new(BinaryExpr::new(l, Operator::And, r))
    }

    fn or(l: Arc<dyn PhysicalExpr>, r: Arc<dyn PhysicalExpr>) -> Arc<dyn PhysicalExpr> {
        Arc::new(BinaryExpr::new(l, Operator::Or, r))
    }

    fn rewritten(expr: Arc<dyn PhysicalExpr>) -> String {
        in_filter(expr, &schema()).unwrap().data.to_string()
    }

    #[test]
    fn nullable_left_sides_of_ands_and_ors_count_null_as_false() {
        let (a, b, c) = (col("a", 0), col("b", 1), col("c", 2));
        // Each level's left side, the inner AND included: it is NULL where
        // `b` is.
        assert_eq!(
            rewritten(and(and(Arc::clone(&a), Arc::clone(&b)), Arc::clone(&c))),
            "(a@0 IS TRUE AND b@1) IS TRUE AND c@2"
        );
        // Inside an OR that is a conjunct.
        assert_eq!(
            rewritten(and(or(Arc::clone(&a), Arc::clone(&b)), Arc::clone(&c))),
            "(a@0 IS TRUE OR b@1) IS TRUE AND c@2"
        );
        // A left side that cannot be NULL is left alone.
        assert_eq!(
            rewritten(and(Arc::clone(&c), Arc::clone(&a))),
            "c@2 AND a@0"
        );
        // Not under NOT, where NULL and false differ.
        let not: Arc<dyn PhysicalExpr> =
            Arc::new(NotExpr::new(and(Arc::clone(&a), Arc::clone(&b))));
        assert!(!in_filter(not, &schema()).unwrap().transformed);
        // Nor a predicate that is no AND or OR.
        assert!(!in_filter(a, &schema()).unwrap().transformed);
    }

    #[test]
    fn is_true_of_true_false_and_null() {
        let batch = RecordBatch::try_new(
            Arc::new(schema()),
            vec![
                Arc::new(BooleanArray::from(vec![Some(true), Some(false), None])),
                Arc::new(BooleanArray::from(vec![None, None, None])),
                Arc::new(BooleanArray::from(vec![true, false, true])),
            ],
        )
        .unwrap();
        let is_true = |expr: Arc<dyn PhysicalExpr>| {
            let out = NullAsFalse::new(expr).evaluate(&batch).unwrap();
            let out = out.into_array(3).unwrap();
            let out = out.as_boolean();
            assert_eq!(out.null_count(), 0);
            (0..3).map(|i| out.value(i)).collect::<Vec<_>>()
        };
        assert_eq!(is_true(col("a", 0)), [true, false, false]);
        assert_eq!(is_true(col("b", 1)), [false, false, false]);
        assert_eq!(is_true(col("c", 2)), [true, false, true]);
        assert_eq!(is_true(lit(ScalarValue::Boolean(None))), [false; 3]);
        assert_eq!(is_true(lit(true)), [true; 3]);
    }
}
