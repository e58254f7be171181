//! Filter tests that several of a sweep's queries share, evaluated once.
//!
//! A library's hunts test the same fields for the same values: of Elastic's
//! 84 queries over endpoint events, 45 keep `host.os.type == "linux"`, 34
//! `host.os.family == "windows"`, 19 `event.action == "exec"`. With one
//! shared scan (`crate::scan::SharedTable`) each query still evaluated each
//! test on every row of the scan. [`share_tests`] runs over the plans of a
//! shared run before its scans start: it takes each filter's predicate apart
//! into its tests (its `AND`s, and `IS TRUE` where a filter drops NULL as it
//! drops false), follows each test of a query's lowest filter down to the
//! shared scan under it through nodes that only compute columns, and where
//! another query over the same files has the same test (over the table's
//! columns), the scan evaluates it once per batch for all of them. Each such
//! query's scan then gives one more column ([`SHARED_MASK`]), where all of
//! its shared tests hold; the projections above pass it up, and the filter
//! tests it first in place of the tests it stands for. The same rows pass,
//! in the same batches.
//!
//! Only tests that cannot fail, count nothing and are cheap enough to
//! evaluate on every row are shared: comparisons, `IN` constant lists, `LIKE`
//! constant patterns, `IS NULL` and `CIDR_MATCH` against constant ranges, of
//! columns, struct fields, their lower or upper case and constants. The scan
//! evaluates them on every row, where a query may have evaluated them only on
//! the rows its earlier tests keep. Regular expressions stay each query's own
//! (not measured); a conversion can fail on a row the query's own tests would
//! have dropped first. A filter that calls a volatile function (ES|QL's
//! warning counters: `esql_mv_check` under each comparison of a list field,
//! failed conversions, overflows) keeps its tests: its counters count the
//! rows they are evaluated on, and `AND` evaluates its right side on fewer
//! rows where its left is false on most. Filters above the lowest keep
//! theirs (see [`cheap_on_scan`]). A plan that cannot be rewritten keeps its
//! own tests.
//!
//! Off: `LAKEHUNT_NO_SHARED_TESTS=1` (or `EngineOptions::shared_tests`).

use std::sync::Arc;

use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{DataFusionError, Result};
use datafusion::logical_expr::{Operator, Volatility};
use datafusion::physical_expr::expressions::{
    BinaryExpr, Column, InListExpr, IsNotNullExpr, IsNullExpr, LikeExpr, Literal, NotExpr,
};
use datafusion::physical_expr::{PhysicalExpr, ScalarFunctionExpr};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::coop::CooperativeExec;
use datafusion::physical_plan::filter::{FilterExec, FilterExecBuilder};
use datafusion::physical_plan::projection::{ProjectionExec, ProjectionExpr};
use datafusion::physical_plan::repartition::RepartitionExec;

use super::ListFilterExec;
use super::null_as_false::NullAsFalse;
use super::view_eq::ViewEq;
use crate::scan::{Hub, SHARED_MASK, SharedScanExec};

/// A test over a shared table's columns.
type Test = Arc<dyn PhysicalExpr>;

/// The consumers of one hub and the tests each could take from it.
type Candidates = Vec<(Arc<Hub>, Vec<(usize, Vec<Test>)>)>;

/// Rewrites `plans` (those of one shared run, planned and not started) so
/// that the tests their filters share are evaluated once in their shared
/// scans (see the module's docs).
pub(crate) fn share_tests(plans: &mut [&mut Arc<dyn ExecutionPlan>]) -> Result<()> {
    let mut candidates: Candidates = vec![];
    for plan in plans.iter() {
        plan.apply(|node| {
            if let Some(filter) = filter_of(node).filter(|f| movable(f)) {
                for test in tests_of(filter.predicate()) {
                    if let Some((test, scan)) = cheap_on_scan(&test, filter.input()) {
                        add(&mut candidates, scan, test);
                    }
                }
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
    }
    let mut chosen = Chosen::default();
    for (hub, consumers) in &candidates {
        for (consumer, tests) in hub.shared_atoms(consumers) {
            chosen.0.push((Arc::clone(hub), consumer, tests));
        }
    }
    if chosen.0.is_empty() {
        return Ok(());
    }
    for plan in plans.iter_mut() {
        let mut masked = vec![];
        let rewritten = Arc::clone(plan).transform_up(|node| rewrite(node, &chosen, &mut masked));
        // A plan that cannot be rewritten keeps its tests; its scan then
        // evaluates none for it.
        let Ok(rewritten) = rewritten else {
            continue;
        };
        if !rewritten.transformed || rewritten.data.schema() != plan.schema() {
            continue;
        }
        for (hub, consumer) in masked {
            if let Some(tests) = chosen.of(&hub, consumer) {
                hub.take_atoms(consumer, tests);
            }
        }
        **plan = rewritten.data;
    }
    Ok(())
}

/// The tests chosen for each consumer of each hub.
#[derive(Default)]
struct Chosen(Vec<(Arc<Hub>, usize, Vec<Test>)>);

impl Chosen {
    fn of(&self, hub: &Arc<Hub>, consumer: usize) -> Option<&[Test]> {
        self.0
            .iter()
            .find(|(h, c, _)| Arc::ptr_eq(h, hub) && *c == consumer)
            .map(|(_, _, tests)| tests.as_slice())
    }
}

fn add(candidates: &mut Candidates, scan: &SharedScanExec, test: Test) {
    let hub = scan.hub();
    let place = candidates.iter().position(|(h, _)| Arc::ptr_eq(h, hub));
    let place = place.unwrap_or_else(|| {
        candidates.push((Arc::clone(hub), vec![]));
        candidates.len() - 1
    });
    let consumers = &mut candidates[place].1;
    let consumer = scan.consumer();
    match consumers.iter_mut().find(|(c, _)| *c == consumer) {
        Some((_, tests)) => {
            if !tests.contains(&test) {
                tests.push(test);
            }
        }
        None => consumers.push((consumer, vec![test])),
    }
}

/// The filter `node` runs: a `FilterExec`'s, or the one a `ListFilterExec` runs as.
fn filter_of(node: &Arc<dyn ExecutionPlan>) -> Option<&FilterExec> {
    node.downcast_ref::<FilterExec>().or_else(|| {
        node.downcast_ref::<ListFilterExec>()
            .map(ListFilterExec::filter)
    })
}

/// The tests a filter's predicate holds where all of them are true: its
/// `AND`s and `IS TRUE`s taken apart.
fn tests_of(predicate: &Arc<dyn PhysicalExpr>) -> Vec<Arc<dyn PhysicalExpr>> {
    fn walk(e: &Arc<dyn PhysicalExpr>, out: &mut Vec<Arc<dyn PhysicalExpr>>) {
        if let Some(binary) = e.downcast_ref::<BinaryExpr>()
            && *binary.op() == Operator::And
        {
            walk(binary.left(), out);
            walk(binary.right(), out);
        } else if e.downcast_ref::<NullAsFalse>().is_some()
            && let [inner] = e.children().as_slice()
        {
            walk(inner, out);
        } else {
            out.push(Arc::clone(e));
        }
    }
    let mut out = vec![];
    walk(predicate, &mut out);
    out
}

/// `test`, over `input`'s output, as a test over the table's columns of the
/// shared scan under `input`, with that scan: where the test is cheap and
/// cannot fail, and every node down to the scan only computes columns of
/// its rows or passes them on (projections, repartitions). Not through
/// another filter: only the lowest filter's tests are taken, so that it
/// gives the same rows in the same batches, and every node above it,
/// counters included, sees what it saw (the tests of a filter above would
/// drop rows below it, changing its batches, where a counter decides by a
/// batch's share of rows whether to evaluate every row).
fn cheap_on_scan<'a>(
    test: &Arc<dyn PhysicalExpr>,
    input: &'a Arc<dyn ExecutionPlan>,
) -> Option<(Test, &'a SharedScanExec)> {
    if !cheap(test) || !reads_a_column(test) {
        return None;
    }
    let mut expr = Arc::clone(test);
    let mut node = input;
    loop {
        if let Some(scan) = node.downcast_ref::<SharedScanExec>() {
            let columns = scan.table_columns();
            let on_table = substitute(&expr, |column| {
                let index = *columns.get(column.index())?;
                Some(Arc::new(Column::new(column.name(), index)) as _)
            })?;
            return Some((on_table, scan));
        }
        if let Some(projection) = node.downcast_ref::<ProjectionExec>() {
            let exprs = projection.expr();
            expr = substitute(&expr, |column| {
                exprs.get(column.index()).map(|p| Arc::clone(&p.expr))
            })?;
            if !cheap(&expr) {
                return None;
            }
            node = projection.input();
        } else if let Some(repartition) = node.downcast_ref::<RepartitionExec>() {
            node = repartition.input();
        } else if let Some(cooperative) = node.downcast_ref::<CooperativeExec>() {
            node = cooperative.input();
        } else {
            return None;
        }
    }
}

/// `expr` with each column replaced by `by`'s expression for it; `None`
/// where `by` has none.
fn substitute(
    expr: &Arc<dyn PhysicalExpr>,
    by: impl Fn(&Column) -> Option<Arc<dyn PhysicalExpr>>,
) -> Option<Arc<dyn PhysicalExpr>> {
    Arc::clone(expr)
        .transform(|e| {
            let Some(column) = e.downcast_ref::<Column>() else {
                return Ok(Transformed::no(e));
            };
            match by(column) {
                Some(replaced) => Ok(Transformed::yes(replaced)),
                None => Err(DataFusionError::Internal("no such column".into())),
            }
        })
        .ok()
        .map(|t| t.data)
}

/// Whether `expr` is made only of comparisons, `IN` constant lists, `LIKE`
/// constant patterns, `IS NULL`, `NOT`, `AND`, `OR` and `CIDR_MATCH` against
/// constant ranges, of columns, struct fields, their lower or upper case and
/// constants: never failing, counting nothing, and cheap enough to evaluate
/// on every row.
fn cheap(expr: &Arc<dyn PhysicalExpr>) -> bool {
    let this = if let Some(binary) = expr.downcast_ref::<BinaryExpr>() {
        use Operator::{And, Eq, Gt, GtEq, IsDistinctFrom, IsNotDistinctFrom, Lt, LtEq, NotEq, Or};
        matches!(
            binary.op(),
            Eq | NotEq | Lt | LtEq | Gt | GtEq | IsDistinctFrom | IsNotDistinctFrom | And | Or
        )
    } else if let Some(function) = expr.downcast_ref::<ScalarFunctionExpr>() {
        match function.name() {
            "get_field" | "lower" | "upper" => true,
            // Ranges that are constants, parsed when the plan was made: an
            // address that is not one gives NULL, never an error.
            "cidr_match" => function.args().iter().skip(1).all(is_literal),
            _ => false,
        }
    } else if let Some(in_list) = expr.downcast_ref::<InListExpr>() {
        in_list.list().iter().all(is_literal)
    } else if let Some(like) = expr.downcast_ref::<LikeExpr>() {
        // A pattern of each row's own would be compiled on every row.
        is_literal(like.pattern())
    } else {
        expr.downcast_ref::<Column>().is_some()
            || is_literal(expr)
            || expr.downcast_ref::<NotExpr>().is_some()
            || expr.downcast_ref::<IsNullExpr>().is_some()
            || expr.downcast_ref::<IsNotNullExpr>().is_some()
            || expr.downcast_ref::<ViewEq>().is_some()
            || expr.downcast_ref::<NullAsFalse>().is_some()
    };
    this && expr.children().into_iter().all(cheap)
}

fn is_literal(expr: &Arc<dyn PhysicalExpr>) -> bool {
    expr.downcast_ref::<Literal>().is_some()
}

/// Whether `expr` calls a volatile function: ES|QL's warning counters
/// (`esql_mv_check`, `esql_converted`, ...), which count the rows they are
/// evaluated on.
fn counts(expr: &Arc<dyn PhysicalExpr>) -> bool {
    expr.downcast_ref::<ScalarFunctionExpr>()
        .is_some_and(|f| f.fun().signature().volatility == Volatility::Volatile)
        || expr.children().into_iter().any(counts)
}

/// Whether the scan may evaluate the tests of `filter` and `filter` drop the
/// rows where they fail before the rest of its predicate: it calls no
/// volatile function ([`counts`]: a counter would count fewer rows).
fn movable(filter: &FilterExec) -> bool {
    !counts(filter.predicate())
}

fn reads_a_column(expr: &Arc<dyn PhysicalExpr>) -> bool {
    expr.downcast_ref::<Column>().is_some() || expr.children().into_iter().any(reads_a_column)
}

/// Whether `plan`'s last column is the shared scan's mask.
fn ends_in_mask(plan: &Arc<dyn ExecutionPlan>) -> bool {
    crate::scan::ends_in_mask(&plan.schema())
}

/// One step of the rewrite, bottom up: a scan with chosen tests gives the
/// mask (noted in `masked`), projections pass it up, and the lowest filter
/// tests it first in place of those tests (no filter above has any: see
/// [`cheap_on_scan`]).
fn rewrite(
    node: Arc<dyn ExecutionPlan>,
    chosen: &Chosen,
    masked: &mut Vec<(Arc<Hub>, usize)>,
) -> Result<Transformed<Arc<dyn ExecutionPlan>>> {
    if let Some(scan) = node.downcast_ref::<SharedScanExec>() {
        if chosen.of(scan.hub(), scan.consumer()).is_none() {
            return Ok(Transformed::no(node));
        }
        masked.push((Arc::clone(scan.hub()), scan.consumer()));
        return Ok(Transformed::yes(scan.with_mask() as _));
    }
    if let Some(projection) = node.downcast_ref::<ProjectionExec>() {
        let input = projection.input();
        if !ends_in_mask(input) || ends_in_mask(&node) {
            return Ok(Transformed::no(node));
        }
        let mask = input.schema().fields().len() - 1;
        let mut exprs = projection.expr().to_vec();
        exprs.push(ProjectionExpr {
            expr: Arc::new(Column::new(SHARED_MASK, mask)),
            alias: SHARED_MASK.to_owned(),
        });
        let projection = ProjectionExec::try_new(exprs, Arc::clone(input))?;
        return Ok(Transformed::yes(Arc::new(projection) as _));
    }
    let Some(filter) = filter_of(&node) else {
        if node.children().into_iter().any(ends_in_mask) && !ends_in_mask(&node) {
            return Err(DataFusionError::Internal(format!(
                "{} above a shared scan's mask",
                node.name()
            )));
        }
        return Ok(Transformed::no(node));
    };
    // Only the lowest filter, right above the scan's mask, has tests to
    // drop: [`cheap_on_scan`] follows no test through another filter.
    let input = filter.input();
    if !ends_in_mask(input) {
        return Ok(Transformed::no(node));
    }
    let movable = movable(filter);
    let rest = without(filter.predicate(), &|test| {
        movable
            && cheap_on_scan(test, input).is_some_and(|(test, scan)| {
                chosen
                    .of(scan.hub(), scan.consumer())
                    .is_some_and(|tests| tests.contains(&test))
            })
    });
    let fields = input.schema().fields().len();
    let mask: Arc<dyn PhysicalExpr> = Arc::new(Column::new(SHARED_MASK, fields - 1));
    let predicate = match rest {
        Some(rest) => Arc::new(BinaryExpr::new(mask, Operator::And, rest)) as _,
        None => mask,
    };
    let mut builder = FilterExecBuilder::from(filter).with_predicate(predicate);
    if filter.projection().is_none() {
        builder = builder.apply_projection(Some((0..fields - 1).collect()))?;
    }
    let rebuilt = builder.build()?;
    Ok(Transformed::yes(
        if node.downcast_ref::<ListFilterExec>().is_some() {
            Arc::new(ListFilterExec::new(rebuilt)) as _
        } else {
            Arc::new(rebuilt) as _
        },
    ))
}

/// `predicate` without the tests (see [`tests_of`]) that `gone` takes,
/// otherwise as it was; `None` where none is left.
fn without(
    predicate: &Arc<dyn PhysicalExpr>,
    gone: &dyn Fn(&Arc<dyn PhysicalExpr>) -> bool,
) -> Option<Arc<dyn PhysicalExpr>> {
    if let Some(binary) = predicate.downcast_ref::<BinaryExpr>()
        && *binary.op() == Operator::And
    {
        let left = without(binary.left(), gone);
        let right = without(binary.right(), gone);
        return match (left, right) {
            (None, None) => None,
            (Some(one), None) | (None, Some(one)) => Some(one),
            (Some(left), Some(right)) => {
                if Arc::ptr_eq(&left, binary.left()) && Arc::ptr_eq(&right, binary.right()) {
                    Some(Arc::clone(predicate))
                } else {
                    Some(Arc::new(BinaryExpr::new(left, Operator::And, right)))
                }
            }
        };
    }
    if predicate.downcast_ref::<NullAsFalse>().is_some()
        && let [inner] = predicate.children().as_slice()
    {
        return match without(inner, gone) {
            None => None,
            Some(kept) if Arc::ptr_eq(&kept, inner) => Some(Arc::clone(predicate)),
            Some(kept) if kept.downcast_ref::<NullAsFalse>().is_some() => Some(kept),
            Some(kept) => Some(Arc::new(NullAsFalse::new(kept))),
        };
    }
    (!gone(predicate)).then(|| Arc::clone(predicate))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::common::ScalarValue;

    fn test(column: &str, index: usize, value: i64) -> Arc<dyn PhysicalExpr> {
        Arc::new(BinaryExpr::new(
            Arc::new(Column::new(column, index)),
            Operator::Eq,
            Arc::new(Literal::new(ScalarValue::Int64(Some(value)))),
        ))
    }

    fn and(left: Arc<dyn PhysicalExpr>, right: Arc<dyn PhysicalExpr>) -> Arc<dyn PhysicalExpr> {
        Arc::new(BinaryExpr::new(left, Operator::And, right))
    }

    fn is_true(expr: Arc<dyn PhysicalExpr>) -> Arc<dyn PhysicalExpr> {
        Arc::new(NullAsFalse::new(expr))
    }

    /// `(a IS TRUE AND (b OR c)) IS TRUE AND d`, as the NULL-as-false rule
    /// leaves a filter: its tests are a, `b OR c` and d; without one of
    /// them the rest keeps its shape, and without all of them nothing is
    /// left.
    #[test]
    fn a_predicate_is_its_tests_and_keeps_its_shape_without_some() {
        let (a, d) = (test("a", 0, 1), test("d", 3, 4));
        let b_or_c: Arc<dyn PhysicalExpr> = Arc::new(BinaryExpr::new(
            test("b", 1, 2),
            Operator::Or,
            test("c", 2, 3),
        ));
        let predicate = and(
            is_true(and(is_true(Arc::clone(&a)), Arc::clone(&b_or_c))),
            Arc::clone(&d),
        );
        let shown = |e: &[Arc<dyn PhysicalExpr>]| -> Vec<String> {
            e.iter().map(ToString::to_string).collect()
        };
        assert_eq!(
            shown(&tests_of(&predicate)),
            ["a@0 = 1", "b@1 = 2 OR c@2 = 3", "d@3 = 4"]
        );
        let without_these = |gone: &[&Arc<dyn PhysicalExpr>]| {
            without(&predicate, &|t| gone.contains(&t)).map(|e| e.to_string())
        };
        assert_eq!(
            without_these(&[&b_or_c]).as_deref(),
            Some("(a@0 = 1) IS TRUE AND d@3 = 4")
        );
        assert_eq!(
            without_these(&[&a]).as_deref(),
            Some("(b@1 = 2 OR c@2 = 3) IS TRUE AND d@3 = 4")
        );
        assert_eq!(
            without_these(&[&d]).as_deref(),
            Some("((a@0 = 1) IS TRUE AND (b@1 = 2 OR c@2 = 3)) IS TRUE")
        );
        assert_eq!(without_these(&[&a, &b_or_c, &d]), None);
        // Nothing gone: the predicate itself.
        let same = without(&predicate, &|_| false).unwrap();
        assert!(Arc::ptr_eq(&same, &predicate));
    }

    /// Comparisons of fields with constants are shared; a regular
    /// expression, a conversion and `LIKE` against a column's patterns are
    /// not.
    #[test]
    fn only_tests_that_cannot_fail_or_count_are_shared() {
        use datafusion::physical_expr::expressions::{CastExpr, NotExpr};
        let a = test("a", 0, 1);
        assert!(cheap(&a));
        assert!(cheap(&(Arc::new(NotExpr::new(Arc::clone(&a))) as _)));
        let cast: Arc<dyn PhysicalExpr> = Arc::new(CastExpr::new(
            Arc::new(Column::new("s", 1)),
            arrow::datatypes::DataType::Int64,
            None,
        ));
        let compared: Arc<dyn PhysicalExpr> = Arc::new(BinaryExpr::new(
            cast,
            Operator::Eq,
            Arc::new(Literal::new(ScalarValue::Int64(Some(1)))),
        ));
        assert!(!cheap(&compared));
        let regex: Arc<dyn PhysicalExpr> = Arc::new(BinaryExpr::new(
            Arc::new(Column::new("s", 1)),
            Operator::RegexMatch,
            Arc::new(Literal::new(ScalarValue::Utf8(Some("x.*".into())))),
        ));
        assert!(!cheap(&regex));
        let like = |pattern: Arc<dyn PhysicalExpr>| -> Arc<dyn PhysicalExpr> {
            Arc::new(LikeExpr::new(
                false,
                false,
                Arc::new(Column::new("s", 1)),
                pattern,
            ))
        };
        let text = ScalarValue::Utf8(Some("%.exe".into()));
        assert!(cheap(&like(Arc::new(Literal::new(text)))));
        assert!(!cheap(&like(Arc::new(Column::new("p", 2)))));
        // A constant is no test of the data.
        let constant: Arc<dyn PhysicalExpr> =
            Arc::new(Literal::new(ScalarValue::Boolean(Some(true))));
        assert!(cheap(&constant) && !reads_a_column(&constant));
    }
}
