//! Two projections in a row that compute the same thing, both kept.
//!
//! `EVAL a = a + 1 | EVAL a = a + 1` is two projections with equal
//! expressions (`a + 1 AS a`, twice). DataFusion 55's projection pass merges
//! each chain of projections from the top, and where the merged one equals
//! the next below it takes them for one and drops the lower: the query adds
//! 1 once (apache/datafusion#24686, fixed after 55). A `SELECT *` between
//! them (ES|QL's WHERE), or a filter pushed below them, merges into that
//! equality too.
//!
//! [`KeepRepeatedProjections`] runs just before each of DataFusion's
//! projection passes. It gives every projection that computes something and
//! is the input of another projection an extra column that nothing reads,
//! named as no other: no projection merged from above can equal it, so the
//! pass composes them (`(a + 1) + 1 AS a`), or keeps both, and drops the
//! unused column.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use datafusion::common::Result;
use datafusion::common::tree_node::Transformed;
use datafusion::logical_expr::{Expr, LogicalPlan, Projection, lit};
use datafusion::optimizer::{ApplyOrder, OptimizerConfig, OptimizerRule};

/// The extra column's name, before a number unique in the process.
const UNUSED: &str = "__lakehunt_keep_projection";

/// The next number for [`UNUSED`].
static NEXT: AtomicU64 = AtomicU64::new(0);

/// See the module's documentation.
#[derive(Debug)]
pub(crate) struct KeepRepeatedProjections;

impl OptimizerRule for KeepRepeatedProjections {
    fn name(&self) -> &'static str {
        "lakehunt_keep_repeated_projections"
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
            let LogicalPlan::Projection(upper) = &node else {
                return Ok(Transformed::no(node));
            };
            let LogicalPlan::Projection(lower) = upper.input.as_ref() else {
                return Ok(Transformed::no(node));
            };
            // Dropping a projection of plain columns under an equal one
            // loses nothing; one marked in an earlier pass stays marked.
            let marked = lower
                .schema
                .fields()
                .iter()
                .any(|f| f.name().starts_with(UNUSED));
            // `a AS a` is a column; `b AS a, a AS b` is not (twice is not once).
            let column = |e: &Expr| match e {
                Expr::Alias(alias) => {
                    matches!(&*alias.expr, Expr::Column(c) if c.name == alias.name)
                }
                e => matches!(e, Expr::Column(_)),
            };
            if marked || lower.expr.iter().all(column) {
                return Ok(Transformed::no(node));
            }
            // A name no other marked projection has: a projection merged
            // from above keeps the mark of the one it merged, and must not
            // equal another marked one below for sharing its name. (None of
            // the lower one's columns has the prefix, or it would be marked.)
            let name = format!("{UNUSED}_{}", NEXT.fetch_add(1, Ordering::Relaxed));
            let mut expr = lower.expr.clone();
            expr.push(lit(true).alias(name));
            let lower = Projection::try_new(expr, Arc::clone(&lower.input))?;
            let upper = Projection::try_new_with_schema(
                upper.expr.clone(),
                Arc::new(LogicalPlan::Projection(lower)),
                Arc::clone(&upper.schema),
            )?;
            Ok(Transformed::yes(LogicalPlan::Projection(upper)))
        })
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Array, Int64Array};
    use datafusion::execution::SessionStateBuilder;
    use datafusion::prelude::SessionContext;

    /// `sql`'s first column's values, planned with lakehunt's logical rules
    /// (`ours`) or DataFusion's own.
    async fn first_column(sql: &str, ours: bool) -> Vec<i64> {
        let mut state = SessionStateBuilder::new().with_default_features();
        if ours {
            state = state.with_optimizer_rules(super::super::logical_rules());
        }
        let ctx = SessionContext::new_with_state(state.build());
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        batches
            .iter()
            .flat_map(|b| {
                let column = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                (0..column.len())
                    .map(|i| column.value(i))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// `expr AS a`, `n` times over `SELECT 1 AS a`, with `between` (a clause
    /// on the subquery, or nothing) at each level.
    fn nested(expr: &str, n: usize, between: &str) -> String {
        (0..n).fold("SELECT 1 AS a, 2 AS b".to_owned(), |inner, _| {
            format!("SELECT {expr} AS a, b FROM ({inner}){between}")
        })
    }

    #[tokio::test]
    async fn repeated_projections_each_apply() {
        // Worked by hand: 1 + 1 + 1 + 1, 1 * 3 * 3 * 3, 1 doubled four times
        // (`a + a`: kept apart, computed once each), and +1 three times with
        // a filter (pushed below the projections), a `SELECT *` over a
        // filter (ES|QL's WHERE) or a limit between.
        for (sql, want) in [
            (nested("a + 1", 3, ""), 4),
            (nested("a * 3", 3, ""), 27),
            (nested("a + a", 4, ""), 16),
            (nested("a + 1", 3, " WHERE b > 0"), 4),
            (nested("a + 1", 3, " LIMIT 5"), 4),
            (
                "SELECT a + 1 AS a, b FROM (SELECT * FROM (SELECT a + 1 AS a, b \
                 FROM (SELECT 1 AS a, 2 AS b)) WHERE b > 0)"
                    .to_owned(),
                3,
            ),
            // The top kept apart (`a + a`), the rest merged: (1 + 1 + 1) * 2.
            (
                "SELECT a + a AS a, b FROM (SELECT a + 1 AS a, b FROM (SELECT a, b, 5 AS z \
                 FROM (SELECT a + 1 AS a, b FROM (SELECT 1 AS a, 2 AS b))))"
                    .to_owned(),
                6,
            ),
            // Two swaps are none.
            (
                "SELECT b AS a, a AS b FROM (SELECT b AS a, a AS b FROM (SELECT 1 AS a, 2 AS b))"
                    .to_owned(),
                1,
            ),
        ] {
            assert_eq!(first_column(&sql, true).await, [want], "{sql}");
        }
        // DataFusion 55 alone drops two of the three levels: the rule is what
        // makes it right. (Once this fails, DataFusion has its fix, and the
        // rule can go.)
        assert_eq!(first_column(&nested("a + 1", 3, ""), false).await, [2]);
    }

    #[tokio::test]
    async fn only_projections_under_projections_that_compute_are_marked() {
        use datafusion::optimizer::{OptimizerContext, OptimizerRule};
        let changes = |sql: &'static str| async move {
            let ctx = SessionContext::new();
            let plan = ctx.sql(sql).await.unwrap().into_unoptimized_plan();
            super::KeepRepeatedProjections
                .rewrite(plan, &OptimizerContext::new())
                .unwrap()
                .transformed
        };
        assert!(changes("SELECT a + 1 AS a FROM (SELECT a * 2 AS a FROM (SELECT 1 AS a))").await);
        // Columns under a projection, and a computation under a filter.
        assert!(
            !changes("SELECT a + 1 AS a FROM (SELECT a FROM (SELECT a FROM (VALUES (1)) AS t(a)))")
                .await
        );
        // Columns renamed are not the same columns: marked.
        assert!(changes("SELECT a + 1 AS a FROM (SELECT column1 AS a FROM (VALUES (1)))").await);
        assert!(!changes("SELECT a FROM (SELECT 1 AS a) WHERE a > 0").await);
    }
}
