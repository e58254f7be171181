//! Comparisons of a widened timestamp with a literal finer than its stored unit, made exact.
//!
//! The `events` view reads `@timestamp` in the finest unit any file has: a
//! millisecond file is `CAST(ts AS Timestamp(ns))` under the view. A filter
//! on the view, pushed into that file's half, is `CAST(ts AS ns) op L`.
//! DataFusion's simplifier then unwraps the cast (`ts op CAST(L AS ms)`, for
//! row-group pruning) and the literal's cast truncates: with `L` = 12:00:00
//! and 500 ns, `>=` kept the row at 12:00:00.000 and `=` matched it
//! (DataFusion 55; apache/datafusion#22142 and its fix block only narrowing
//! casts, not this widening one).
//!
//! [`ExactTimestampCasts`] runs first in every optimizer pass, before the
//! simplifier. Where the cast widens a timestamp and the literal is not a
//! whole number of the stored unit, it moves the literal to the neighbouring
//! whole unit that gives the same answer for every stored value, so the
//! simplifier's unwrap is then exact (and pruning still works):
//!
//! | op   | literal becomes | why, for stored values `v` (whole units) |
//! |------|-----------------|------------------------------------------|
//! | `>`  | floor(L)        | v > L  <=> v > floor(L)                  |
//! | `>=` | ceil(L)         | v >= L <=> v >= ceil(L)                  |
//! | `<`  | ceil(L)         | v < L  <=> v < ceil(L)                   |
//! | `<=` | floor(L)        | v <= L <=> v <= floor(L)                 |
//!
//! `=` can never hold: it becomes `CAST(ts) IS NULL AND NULL` (NULL for a NULL
//! timestamp, else false), `<>` becomes `CAST(ts) IS NOT NULL OR NULL`; `IS
//! NOT DISTINCT FROM` is false and `IS DISTINCT FROM` true. In an `IN` list
//! such a literal is dropped (its `=` is OR's identity for non-null values;
//! `NOT IN`'s `<>` is AND's), and an emptied list is the `=`/`<>` case.

use std::sync::Arc;

use arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{DFSchema, Result, ScalarValue};
use datafusion::logical_expr::expr::InList;
use datafusion::logical_expr::utils::merge_schema;
use datafusion::logical_expr::{
    BinaryExpr, Cast, Expr, ExprSchemable, LogicalPlan, Operator, TryCast, lit,
};
use datafusion::optimizer::{ApplyOrder, OptimizerConfig, OptimizerRule};

/// Makes comparisons of widened timestamps with sub-unit literals exact; see
/// the module documentation. Placed before DataFusion's own rules.
#[derive(Debug, Default)]
pub(crate) struct ExactTimestampCasts;

impl OptimizerRule for ExactTimestampCasts {
    fn name(&self) -> &'static str {
        "lakehunt_exact_timestamp_casts"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        None
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        plan.transform_up_with_subqueries(|node| {
            // Most nodes hold no cast: their inputs' schema (a merge, a copy)
            // is built only for those that do.
            let mut casts = false;
            node.apply_expressions(|expr| {
                casts = expr.exists(|e| Ok(matches!(e, Expr::Cast(_) | Expr::TryCast(_))))?;
                Ok(if casts {
                    TreeNodeRecursion::Stop
                } else {
                    TreeNodeRecursion::Continue
                })
            })?;
            if !casts {
                return Ok(Transformed::no(node));
            }
            let schema = match node.inputs().as_slice() {
                [] => match &node {
                    LogicalPlan::TableScan(scan) => Arc::new(DFSchema::try_from_qualified_schema(
                        scan.table_name.clone(),
                        &scan.source.schema(),
                    )?),
                    _ => Arc::clone(node.schema()),
                },
                inputs => Arc::new(merge_schema(inputs)),
            };
            node.map_expressions(|expr| expr.transform_up(|e| Ok(rewrite(e, &schema))))
        })
    }
}

fn rewrite(expr: Expr, schema: &DFSchema) -> Transformed<Expr> {
    match expr {
        Expr::BinaryExpr(binary) => match exact_comparison(&binary, schema) {
            Some(rewritten) => Transformed::yes(rewritten),
            None => Transformed::no(Expr::BinaryExpr(binary)),
        },
        Expr::InList(InList {
            expr,
            list,
            negated,
        }) if matches!(expr.as_ref(), Expr::Cast(_) | Expr::TryCast(_)) => {
            let before = list.len();
            let kept: Vec<Expr> = list
                .into_iter()
                .filter(|item| sub_unit(&expr, item, schema).is_none())
                .collect();
            let changed = kept.len() != before;
            let rewritten = match (kept.is_empty() && changed, negated) {
                (true, false) => never_equal(*expr),
                (true, true) => always_unequal(*expr),
                (false, _) => Expr::InList(InList {
                    expr,
                    list: kept,
                    negated,
                }),
            };
            if changed {
                Transformed::yes(rewritten)
            } else {
                Transformed::no(rewritten)
            }
        }
        other => Transformed::no(other),
    }
}

/// `binary` made exact, if it compares a widened timestamp with a sub-unit literal.
fn exact_comparison(binary: &BinaryExpr, schema: &DFSchema) -> Option<Expr> {
    let BinaryExpr { left, op, right } = binary;
    // The cast on the left, the literal on the right: `op` as seen that way.
    let (cast, literal, op_cast_left, swapped) = match (left.as_ref(), right.as_ref()) {
        (Expr::Cast(_) | Expr::TryCast(_), Expr::Literal(..)) => (left, right, *op, false),
        (Expr::Literal(..), Expr::Cast(_) | Expr::TryCast(_)) => (right, left, op.swap()?, true),
        _ => return None,
    };
    let sub = sub_unit(cast, literal, schema)?;
    let moved = |value: i64| {
        let literal = Box::new(lit(sub.with_value(value)));
        let (left, right) = if swapped {
            (literal, cast.clone())
        } else {
            (cast.clone(), literal)
        };
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: *op,
            right,
        })
    };
    Some(match op_cast_left {
        Operator::Gt | Operator::LtEq => moved(sub.floor),
        Operator::GtEq | Operator::Lt => moved(sub.floor.checked_add(sub.factor)?),
        Operator::Eq => never_equal(cast.as_ref().clone()),
        Operator::NotEq => always_unequal(cast.as_ref().clone()),
        Operator::IsNotDistinctFrom => lit(false),
        Operator::IsDistinctFrom => lit(true),
        _ => return None,
    })
}

/// `x = L` where no value of `x` equals `L`: NULL where `x` is NULL, else false.
fn never_equal(x: Expr) -> Expr {
    x.is_null().and(lit(ScalarValue::Boolean(None)))
}

/// `x <> L` where no value of `x` equals `L`: NULL where `x` is NULL, else true.
fn always_unequal(x: Expr) -> Expr {
    x.is_not_null().or(lit(ScalarValue::Boolean(None)))
}

/// A literal of the cast's (finer) unit that is not a whole number of the
/// stored (coarser) unit.
struct SubUnit {
    literal: ScalarValue,
    /// The literal's value rounded down to a whole stored unit.
    floor: i64,
    /// Literal units per stored unit.
    factor: i64,
}

impl SubUnit {
    fn with_value(&self, value: i64) -> ScalarValue {
        match &self.literal {
            ScalarValue::TimestampMillisecond(_, tz) => {
                ScalarValue::TimestampMillisecond(Some(value), tz.clone())
            }
            ScalarValue::TimestampMicrosecond(_, tz) => {
                ScalarValue::TimestampMicrosecond(Some(value), tz.clone())
            }
            ScalarValue::TimestampNanosecond(_, tz) => {
                ScalarValue::TimestampNanosecond(Some(value), tz.clone())
            }
            other => other.clone(),
        }
    }
}

fn sub_unit(cast: &Expr, literal: &Expr, schema: &DFSchema) -> Option<SubUnit> {
    let (inner, target) = match cast {
        Expr::Cast(Cast { expr, field }) | Expr::TryCast(TryCast { expr, field }) => {
            (expr.as_ref(), field.data_type())
        }
        _ => return None,
    };
    let Expr::Literal(literal, _) = literal else {
        return None;
    };
    let DataType::Timestamp(to, _) = target else {
        return None;
    };
    let Ok(DataType::Timestamp(from, _)) = inner.get_type(schema) else {
        return None;
    };
    let factor = lakehunt_udfs::dates::per_second(*to)
        .checked_div(lakehunt_udfs::dates::per_second(from))?;
    if factor <= 1 {
        return None;
    }
    let value = match (literal, to) {
        (ScalarValue::TimestampMillisecond(Some(v), _), TimeUnit::Millisecond)
        | (ScalarValue::TimestampMicrosecond(Some(v), _), TimeUnit::Microsecond)
        | (ScalarValue::TimestampNanosecond(Some(v), _), TimeUnit::Nanosecond) => *v,
        _ => return None,
    };
    let remainder = value.rem_euclid(factor);
    (remainder != 0).then(|| SubUnit {
        literal: literal.clone(),
        floor: value - remainder,
        factor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{Field, Schema};
    use datafusion::logical_expr::{cast, col};

    const NS: TimeUnit = TimeUnit::Nanosecond;

    fn schema() -> DFSchema {
        let ts = DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()));
        DFSchema::try_from(Schema::new(vec![Field::new("ts", ts, true)])).unwrap()
    }

    fn widened() -> Expr {
        cast(col("ts"), DataType::Timestamp(NS, Some("UTC".into())))
    }

    fn ns(value: i64) -> Expr {
        lit(ScalarValue::TimestampNanosecond(
            Some(value),
            Some("UTC".into()),
        ))
    }

    fn rewritten(expr: Expr) -> Expr {
        rewrite(expr, &schema()).data
    }

    #[test]
    fn literals_move_to_the_neighbouring_whole_unit() {
        let l = 1_768_478_400_000_000_500; // 12:00:00 and 500 ns
        let (floor, ceil) = (l - 500, l - 500 + 1_000_000);
        assert_eq!(rewritten(widened().gt(ns(l))), widened().gt(ns(floor)));
        assert_eq!(rewritten(widened().gt_eq(ns(l))), widened().gt_eq(ns(ceil)));
        assert_eq!(rewritten(widened().lt(ns(l))), widened().lt(ns(ceil)));
        assert_eq!(
            rewritten(widened().lt_eq(ns(l))),
            widened().lt_eq(ns(floor))
        );
        // The literal on the left keeps its side; `L < ts` is `ts > L`.
        assert_eq!(rewritten(ns(l).lt(widened())), ns(floor).lt(widened()));
        assert_eq!(rewritten(ns(l).lt_eq(widened())), ns(ceil).lt_eq(widened()));
    }

    #[test]
    fn before_the_epoch_the_floor_is_downwards() {
        // -500 ns: floor -1 ms, ceil 0 (truncation would give 0 for both).
        assert_eq!(
            rewritten(widened().gt(ns(-500))),
            widened().gt(ns(-1_000_000))
        );
        assert_eq!(rewritten(widened().gt_eq(ns(-500))), widened().gt_eq(ns(0)));
    }

    #[test]
    fn equality_that_can_never_hold_keeps_its_nulls() {
        let l = 1_768_478_400_000_000_500;
        let null = lit(ScalarValue::Boolean(None));
        assert_eq!(
            rewritten(widened().eq(ns(l))),
            widened().is_null().and(null.clone())
        );
        assert_eq!(
            rewritten(widened().not_eq(ns(l))),
            widened().is_not_null().or(null)
        );
        let in_list = |negated| widened().in_list(vec![ns(l), ns(l + 999_999_500)], negated);
        assert_eq!(
            rewritten(in_list(false)),
            widened().in_list(vec![ns(l + 999_999_500)], false)
        );
        assert_eq!(
            rewritten(in_list(true)),
            widened().in_list(vec![ns(l + 999_999_500)], true)
        );
    }

    #[test]
    fn whole_units_and_other_shapes_are_left_alone() {
        let whole = widened().gt_eq(ns(1_768_478_400_001_000_000));
        assert_eq!(rewritten(whole.clone()), whole);
        // No cast: the column already has the literal's unit.
        let ts_ns = DFSchema::try_from(Schema::new(vec![Field::new(
            "ts",
            DataType::Timestamp(NS, Some("UTC".into())),
            true,
        )]))
        .unwrap();
        let plain = col("ts").gt_eq(ns(500));
        assert_eq!(rewrite(plain.clone(), &ts_ns).data, plain);
        // A narrowing cast (ns stored, compared in ms) is not this rule's.
        let narrowing = cast(col("ts"), DataType::Timestamp(TimeUnit::Millisecond, None))
            .gt(lit(ScalarValue::TimestampMillisecond(Some(5), None)));
        assert_eq!(rewrite(narrowing.clone(), &ts_ns).data, narrowing);
    }
}
