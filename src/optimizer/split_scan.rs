//! Nested fields read through a split scan.
//!
//! A scan with bounds on a timestamp column is split in two (see
//! [`crate::scan::FileSetTable`]): row groups wholly inside the bounds, read
//! without them, and the rest under a filter on the timestamp. Over files of
//! structs (nested ECS) the `events` view then projects fields out of the
//! structs (`get_field(process, 'entity_id')`) above that union. DataFusion
//! moves the projection into a Parquet scan only when it sits right on the
//! scan, so both halves would decode whole structs, and the hunt's own
//! conditions, pushed below the projection, would read them too: on 10M nested
//! events that cost more than the timestamp column saves.
//!
//! [`SplitScanProjectionRule`] puts the projection into each half (under any
//! round-robin repartition over its scan): a half that is a plain scan takes
//! it as is; a filtered half's scan reads the projected fields and, separately,
//! each field its filter reads (each `get_field` as its own column), and the
//! filter then drops those. A projection that computes over fields (a
//! backfill's window arithmetic over `@timestamp`, `length(process.args)`)
//! is split in two: the field reads it contains move down, the computation
//! stays where it was, over them. Plans of any other shape, or whose output
//! would differ in any name, type or nullability, are left alone.

use std::sync::Arc;

use arrow::datatypes::Schema;
use datafusion::common::Result;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::config::ConfigOptions;
use datafusion::datasource::source::DataSourceExec;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_expr::{PhysicalExpr, ScalarFunctionExpr};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::execution_plan::{ChildrenPropertiesMode, ReplaceChildrenOptions};
use datafusion::physical_plan::filter::{FilterExec, FilterExecBuilder};
use datafusion::physical_plan::projection::{ProjectionExec, ProjectionExpr};
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::union::UnionExec;
use datafusion::physical_plan::{ExecutionPlan, Partitioning};

use crate::scan::is_split_scan;

/// Moves a projection above a split scan's union into both of its halves;
/// runs after DataFusion's own rules.
#[derive(Debug, Default)]
pub(crate) struct SplitScanProjectionRule;

impl PhysicalOptimizerRule for SplitScanProjectionRule {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let Some(projection) = node.downcast_ref::<ProjectionExec>() else {
                return Ok(Transformed::no(node));
            };
            // Only plain field reads move below a filter: an expression that
            // can fail, or counts what it sees (ES|QL's warnings), must see
            // only the rows the filter keeps. One that computes over fields
            // stays where it is, over the fields it reads moved down.
            let (upper, fields) = if only_fields(projection.expr()) {
                (None, projection.expr().to_vec())
            } else if reads_fields(projection.expr()) {
                let (upper, fields) = split_fields(projection.expr())?;
                (Some(upper), fields)
            } else {
                return Ok(Transformed::no(node));
            };
            let Some(moved) = move_fields(&fields, projection.input())? else {
                return Ok(Transformed::no(node));
            };
            let new = match upper {
                Some(upper) => Arc::new(ProjectionExec::try_new(upper, moved)?),
                None => moved,
            };
            if !may_replace(&projection.schema(), &new.schema()) {
                return Ok(Transformed::no(node));
            }
            Ok(Transformed::yes(new))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &'static str {
        "lakehunt_split_scan_projection"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// `fields` (plain field reads, see [`only_fields`]) over `input` moved into
/// its scan: into both halves of a split scan's union, or into the scan under
/// a filter (a file read whole, no split), which then reads only the struct
/// leaves it needs. `None` for any other shape.
fn move_fields(
    fields: &[ProjectionExpr],
    input: &Arc<dyn ExecutionPlan>,
) -> Result<Option<Arc<dyn ExecutionPlan>>> {
    if input.is::<FilterExec>() && reads_fields(fields) {
        return into_half(fields, input);
    }
    if !input.is::<UnionExec>() || !is_split_scan(input.as_ref()) {
        return Ok(None);
    }
    let mut halves = vec![];
    for half in input.children() {
        match into_half(fields, half)? {
            Some(half) => halves.push(half),
            None => return Ok(None),
        }
    }
    Ok(Some(UnionExec::try_new(halves)?))
}

/// Whether `e` is a column or a chain of `get_field` over one (with literal
/// field names): a read that cannot fail and counts nothing.
fn field_read(e: &Arc<dyn PhysicalExpr>) -> bool {
    if e.is::<Column>() {
        return true;
    }
    e.downcast_ref::<ScalarFunctionExpr>().is_some_and(|f| {
        f.name() == "get_field"
            && f.args().split_first().is_some_and(|(base, names)| {
                field_read(base)
                    && names
                        .iter()
                        .all(|n| n.is::<datafusion::physical_expr::expressions::Literal>())
            })
    })
}

/// Whether each of `exprs` is a plain field read ([`field_read`]).
fn only_fields(exprs: &[ProjectionExpr]) -> bool {
    exprs.iter().all(|e| field_read(&e.expr))
}

/// `exprs` as two projections: the field reads they contain (each once, the
/// outermost `get_field` of a chain), and `exprs` over those.
fn split_fields(exprs: &[ProjectionExpr]) -> Result<(Vec<ProjectionExpr>, Vec<ProjectionExpr>)> {
    let mut fields: Vec<Arc<dyn PhysicalExpr>> = vec![];
    let upper = exprs
        .iter()
        .map(|e| {
            let expr = Arc::clone(&e.expr)
                .transform_down(|n| {
                    if !field_read(&n) {
                        return Ok(Transformed::no(n));
                    }
                    let at = fields.iter().position(|f| f == &n).unwrap_or_else(|| {
                        fields.push(Arc::clone(&n));
                        fields.len() - 1
                    });
                    let column = Arc::new(Column::new(&field_name(at), at));
                    Ok(Transformed::new(column, true, TreeNodeRecursion::Jump))
                })?
                .data;
            Ok(ProjectionExpr::new(expr, e.alias.clone()))
        })
        .collect::<Result<_>>()?;
    let fields = fields
        .into_iter()
        .enumerate()
        .map(|(at, field)| ProjectionExpr::new(field, field_name(at)))
        .collect();
    Ok((upper, fields))
}

fn field_name(at: usize) -> String {
    format!("__lakehunt_field_{at}")
}

/// Whether any of `exprs` reads a struct field (`get_field`).
fn reads_fields(exprs: &[ProjectionExpr]) -> bool {
    exprs.iter().any(|e| {
        let mut found = false;
        let _ = Arc::clone(&e.expr).apply(|n| {
            found |= n
                .downcast_ref::<ScalarFunctionExpr>()
                .is_some_and(|f| f.name() == "get_field");
            Ok(if found {
                TreeNodeRecursion::Stop
            } else {
                TreeNodeRecursion::Continue
            })
        });
        found
    })
}

/// Whether a plan with schema `new` may stand for one with `old`, by the
/// optimizer's own schema check (`schema_check`): the same names, types and
/// metadata, and no column nullable that was not. The rule skips a rewrite the
/// check would refuse.
fn may_replace(old: &Schema, new: &Schema) -> bool {
    old.metadata() == new.metadata()
        && old.fields().len() == new.fields().len()
        && old.fields().iter().zip(new.fields().iter()).all(|(o, n)| {
            o.name() == n.name()
                && o.data_type() == n.data_type()
                && o.metadata() == n.metadata()
                && (o.is_nullable() || !n.is_nullable())
        })
}

/// A Parquet scan and the round-robin repartitions above it (outermost first),
/// which do not depend on its columns.
struct ScanUnder {
    between: Vec<Arc<dyn ExecutionPlan>>,
    scan: Arc<dyn ExecutionPlan>,
}

/// The Parquet scan under `plan`, through round-robin repartitions only.
fn scan_under(plan: &Arc<dyn ExecutionPlan>) -> Option<ScanUnder> {
    let mut between = vec![];
    let mut node = Arc::clone(plan);
    loop {
        if node.is::<DataSourceExec>() {
            return Some(ScanUnder {
                between,
                scan: node,
            });
        }
        let repartition = node.downcast_ref::<RepartitionExec>()?;
        if !matches!(repartition.partitioning(), Partitioning::RoundRobinBatch(_)) {
            return None;
        }
        let input = Arc::clone(repartition.input());
        between.push(node);
        node = input;
    }
}

/// `scan` under the repartitions it was found under.
fn rebuild(
    between: Vec<Arc<dyn ExecutionPlan>>,
    scan: Arc<dyn ExecutionPlan>,
) -> Result<Arc<dyn ExecutionPlan>> {
    between.into_iter().rev().try_fold(scan, |input, node| {
        node.replace_children(
            vec![input],
            ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute),
        )
    })
}

/// `exprs` (over `half`'s output) moved into `half`'s scan, or `None` when
/// `half` is not a scan, or a filter over one, that takes them.
fn into_half(
    exprs: &[ProjectionExpr],
    half: &Arc<dyn ExecutionPlan>,
) -> Result<Option<Arc<dyn ExecutionPlan>>> {
    if let Some(ScanUnder { between, scan }) = scan_under(half) {
        let projection = ProjectionExec::try_new(exprs.to_vec(), Arc::clone(&scan))?;
        return match scan.try_swapping_with_projection(&projection)? {
            Some(scan) => rebuild(between, scan).map(Some),
            None => Ok(None),
        };
    }
    let Some(filter) = half.downcast_ref::<FilterExec>() else {
        return Ok(None);
    };
    let Some(ScanUnder { between, scan }) = scan_under(filter.input()) else {
        return Ok(None);
    };
    let scan_schema = scan.schema();
    // The projection reads the filter's output; the scan's columns are those
    // its own projection picks.
    let picked: Vec<usize> = match filter.projection() {
        Some(p) => p.to_vec(),
        None => (0..scan_schema.fields().len()).collect(),
    };
    let mut out: Vec<ProjectionExpr> = exprs
        .iter()
        .map(|e| {
            let expr = Arc::clone(&e.expr)
                .transform(|n| {
                    let Some(column) = n.downcast_ref::<Column>() else {
                        return Ok(Transformed::no(n));
                    };
                    let index = picked[column.index()];
                    let name = scan_schema.field(index).name();
                    Ok(Transformed::yes(
                        Arc::new(Column::new(name, index)) as Arc<dyn PhysicalExpr>
                    ))
                })?
                .data;
            Ok(ProjectionExpr::new(expr, e.alias.clone()))
        })
        .collect::<Result<_>>()?;
    let width = out.len();
    // Each column or field the predicate reads becomes a column of the scan.
    let mut leaves: Vec<Arc<dyn PhysicalExpr>> = vec![];
    let predicate = Arc::clone(filter.predicate())
        .transform_down(|n| {
            let is_field = n
                .downcast_ref::<ScalarFunctionExpr>()
                .is_some_and(|f| f.name() == "get_field");
            if !is_field && !n.is::<Column>() {
                return Ok(Transformed::no(n));
            }
            let at = if let Some(at) = leaves.iter().position(|l| l == &n) {
                at
            } else {
                leaves.push(Arc::clone(&n));
                leaves.len() - 1
            };
            let column = Arc::new(Column::new(&leaf_name(at), width + at));
            Ok(Transformed::new(column, true, TreeNodeRecursion::Jump))
        })?
        .data;
    out.extend(
        leaves
            .into_iter()
            .enumerate()
            .map(|(at, leaf)| ProjectionExpr::new(leaf, leaf_name(at))),
    );
    let projection = ProjectionExec::try_new(out, Arc::clone(&scan))?;
    let Some(scan) = scan.try_swapping_with_projection(&projection)? else {
        return Ok(None);
    };
    let filter = FilterExecBuilder::from(filter)
        .apply_projection(None)?
        .with_input(rebuild(between, scan)?)
        .with_predicate(predicate)
        .apply_projection(Some((0..width).collect()))?
        .build()?;
    Ok(Some(Arc::new(filter)))
}

fn leaf_name(at: usize) -> String {
    format!("__lakehunt_filter_input_{at}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{DataType, Field};
    use datafusion::physical_plan::{collect, displayable};
    use datafusion::prelude::{ParquetReadOptions, SessionContext};

    /// A projection that computes over struct fields above a filter over a
    /// scan (as a backfill's window arithmetic over `@timestamp`): the scan
    /// reads only the leaves used, and the rows are the same.
    #[tokio::test]
    async fn a_projection_computing_over_fields_reads_only_their_leaves() {
        use datafusion::common::DFSchema;
        use datafusion::functions::core::expr_fn::get_field;
        use datafusion::physical_plan::filter::FilterExec;
        use datafusion::prelude::{SessionConfig, col, lit};

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.parquet");
        let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(1));
        let copy = format!(
            "COPY (SELECT named_struct('a', concat('p', CAST(value AS VARCHAR)), 'b', value, \
               'c', CASE WHEN value % 3 = 0 THEN 'x' ELSE 'y' END, 'unread', repeat('z', 50)) AS s \
             FROM generate_series(1, 300)) TO '{}' STORED AS PARQUET",
            path.display()
        );
        ctx.sql(&copy).await.unwrap().collect().await.unwrap();
        ctx.register_parquet("t", path.to_str().unwrap(), ParquetReadOptions::default())
            .await
            .unwrap();
        let scan = ctx
            .sql("SELECT s FROM t")
            .await
            .unwrap()
            .create_physical_plan()
            .await
            .unwrap();
        assert!(scan.is::<DataSourceExec>());
        let schema = DFSchema::try_from(scan.schema().as_ref().clone()).unwrap();
        let physical = |e| ctx.state().create_physical_expr(e, &schema).unwrap();
        let s = || col("s");
        let filter = FilterExec::try_new(
            physical(get_field(s(), "c").eq(lit("x"))),
            Arc::clone(&scan),
        )
        .unwrap();
        let exprs = vec![
            ProjectionExpr::new(physical(get_field(s(), "a")), "a".to_owned()),
            ProjectionExpr::new(
                physical(get_field(s(), "b") * lit(2) + lit(1)),
                "d".to_owned(),
            ),
        ];
        let plan: Arc<dyn ExecutionPlan> =
            Arc::new(ProjectionExec::try_new(exprs, Arc::new(filter)).unwrap());
        let rewritten = SplitScanProjectionRule
            .optimize(Arc::clone(&plan), &ConfigOptions::default())
            .unwrap();
        let shown = displayable(rewritten.as_ref()).indent(false).to_string();
        let scan = shown
            .lines()
            .find(|l| l.contains("DataSourceExec"))
            .unwrap_or_else(|| panic!("{shown}"));
        for leaf in ["a)", "b)", "c)"] {
            assert!(scan.contains(&format!("get_field(s@0, {leaf}")), "{scan}");
        }
        assert!(
            !scan.contains("unread") && !scan.contains("projection=[s]"),
            "{scan}"
        );
        // The computation stays above the filter.
        assert!(shown.starts_with("ProjectionExec"), "{shown}");
        let rows = |batches: Vec<arrow::array::RecordBatch>| {
            arrow::util::pretty::pretty_format_batches(&batches)
                .unwrap()
                .to_string()
        };
        let before = rows(collect(plan, ctx.task_ctx()).await.unwrap());
        let after = rows(collect(rewritten, ctx.task_ctx()).await.unwrap());
        assert_eq!(before, after);
        assert_eq!(before.matches("| p").count(), 100, "{before}");
    }

    fn schema(nullable: bool, metadata: &[(&str, &str)]) -> Schema {
        let field = Field::new("process.entity_id", DataType::Utf8View, nullable).with_metadata(
            metadata
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        );
        Schema::new(vec![field])
    }

    #[test]
    fn a_rewrite_the_optimizers_schema_check_would_refuse_is_skipped() {
        let nullable = schema(true, &[]);
        let not_null = schema(false, &[]);
        assert!(may_replace(&nullable, &nullable));
        // Narrower is allowed (DataFusion accepts it), wider is not.
        assert!(may_replace(&nullable, &not_null));
        assert!(!may_replace(&not_null, &nullable));
        assert!(!may_replace(&nullable, &schema(true, &[("k", "v")])));
        let renamed = Schema::new(vec![Field::new("other", DataType::Utf8View, true)]);
        assert!(!may_replace(&nullable, &renamed));
        let retyped = Schema::new(vec![Field::new("process.entity_id", DataType::Utf8, true)]);
        assert!(!may_replace(&nullable, &retyped));
        assert!(!may_replace(&nullable, &Schema::empty()));
    }
}
