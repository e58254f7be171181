//! `column ~ 'regex'` with the pattern compiled once a plan, not once a batch.
//!
//! DataFusion evaluates a match against a constant regular expression by
//! compiling the pattern again for every batch (apache/datafusion#11146). An
//! ES|QL `RLIKE` (translated to `regexp_like`, which DataFusion's simplifier
//! turns into `~`) over 10M events is 1,221 batches, so 1,221 compilations of
//! each pattern; Elastic's hunts test four or five at a time
//! (`process.executable rlike "/tmp/[^/]+" or ...`), and in a sweep every
//! query compiles its own.
//!
//! [`RegexOnceRule`] rewrites, in each `FilterExec` predicate, `a ~ 'p'`,
//! `a ~* 'p'`, `a !~ 'p'` and `a !~* 'p'`, where `a` is a string
//! (`Utf8`, `Utf8View`, `LargeUtf8`) and `'p'` a string constant that
//! compiles, into [`RegexOnce`], which holds the compiled pattern. It matches
//! as arrow's `regexp_is_match_scalar` does: `~*` prefixes `(?i)`, an empty
//! pattern matches every string, NULL stays NULL (also negated). A pattern
//! that does not compile is left to DataFusion, which reports it as before.

use std::fmt;
use std::hash::Hash;
use std::sync::Arc;

use arrow::array::{Array, AsArray, BooleanArray, RecordBatch};
use arrow::buffer::BooleanBuffer;
use arrow::datatypes::{DataType, FieldRef, Schema};
use datafusion::common::tree_node::Transformed;
use datafusion::common::{DataFusionError, Result};
use datafusion::config::ConfigOptions;
use datafusion::logical_expr::{ColumnarValue, Operator};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::{BinaryExpr, Literal};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use regex::Regex;

/// Rewrites regular-expression matches against a constant in `FilterExec`
/// predicates into [`RegexOnce`]; runs after DataFusion's own rules.
#[derive(Debug, Default)]
pub(crate) struct RegexOnceRule;

impl PhysicalOptimizerRule for RegexOnceRule {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        super::rewrite_filter_exprs(plan, rewrite)
    }

    fn name(&self) -> &'static str {
        "lakehunt_regex_once"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// `expr` as a [`RegexOnce`] when it is a string matched against a constant
/// pattern that compiles.
fn rewrite(
    expr: Arc<dyn PhysicalExpr>,
    schema: &Schema,
) -> Result<Transformed<Arc<dyn PhysicalExpr>>> {
    let Some(binary) = expr.downcast_ref::<BinaryExpr>() else {
        return Ok(Transformed::no(expr));
    };
    let (negated, caseless) = match binary.op() {
        Operator::RegexMatch => (false, false),
        Operator::RegexIMatch => (false, true),
        Operator::RegexNotMatch => (true, false),
        Operator::RegexNotIMatch => (true, true),
        _ => return Ok(Transformed::no(expr)),
    };
    let Some(Some(pattern)) = binary
        .right()
        .downcast_ref::<Literal>()
        .and_then(|l| l.value().try_as_str())
    else {
        return Ok(Transformed::no(expr));
    };
    if !matches!(
        binary.left().data_type(schema)?,
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8
    ) {
        return Ok(Transformed::no(expr));
    }
    let Ok(once) = RegexOnce::new(Arc::clone(binary.left()), pattern, caseless, negated) else {
        return Ok(Transformed::no(expr));
    };
    Ok(Transformed::yes(Arc::new(once)))
}

/// `expr ~ pattern` (`~*` when `caseless`, `!~` / `!~*` when `negated`), the
/// pattern compiled once.
#[derive(Debug)]
pub(crate) struct RegexOnce {
    expr: Arc<dyn PhysicalExpr>,
    pattern: String,
    caseless: bool,
    negated: bool,
    /// `None` for an empty pattern, which matches everything.
    regex: Option<Regex>,
}

impl RegexOnce {
    /// Compiles `pattern` as arrow would for this operator.
    fn new(
        expr: Arc<dyn PhysicalExpr>,
        pattern: &str,
        caseless: bool,
        negated: bool,
    ) -> std::result::Result<RegexOnce, regex::Error> {
        let full = if caseless {
            format!("(?i){pattern}")
        } else {
            pattern.to_owned()
        };
        let regex = if full.is_empty() {
            None
        } else {
            Some(Regex::new(&full)?)
        };
        Ok(RegexOnce {
            expr,
            pattern: pattern.to_owned(),
            caseless,
            negated,
            regex,
        })
    }

    /// The operator as DataFusion displays it.
    fn op(&self) -> &'static str {
        match (self.negated, self.caseless) {
            (false, false) => "~",
            (false, true) => "~*",
            (true, false) => "!~",
            (true, true) => "!~*",
        }
    }

    fn is_match(&self, text: &str) -> bool {
        self.regex.as_ref().is_none_or(|r| r.is_match(text)) != self.negated
    }
}

impl PartialEq for RegexOnce {
    fn eq(&self, other: &Self) -> bool {
        self.expr.eq(&other.expr)
            && self.pattern == other.pattern
            && self.caseless == other.caseless
            && self.negated == other.negated
    }
}

impl Eq for RegexOnce {}

// By hand with `PartialEq`, hashing what it compares (not the compiled form).
impl Hash for RegexOnce {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.expr.hash(state);
        self.pattern.hash(state);
        self.caseless.hash(state);
        self.negated.hash(state);
    }
}

impl fmt::Display for RegexOnce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.expr, self.op(), self.pattern)
    }
}

impl PhysicalExpr for RegexOnce {
    fn return_field(&self, input_schema: &Schema) -> Result<FieldRef> {
        super::string_test_field(&self.expr, self.to_string(), input_schema)
    }

    fn evaluate(&self, batch: &RecordBatch) -> Result<ColumnarValue> {
        match self.expr.evaluate(batch)? {
            ColumnarValue::Array(array) => {
                let len = array.len();
                let values = match array.data_type() {
                    DataType::Utf8 => {
                        let a = array.as_string::<i32>();
                        BooleanBuffer::collect_bool(len, |i| self.is_match(a.value(i)))
                    }
                    DataType::LargeUtf8 => {
                        let a = array.as_string::<i64>();
                        BooleanBuffer::collect_bool(len, |i| self.is_match(a.value(i)))
                    }
                    DataType::Utf8View => {
                        let a = array.as_string_view();
                        BooleanBuffer::collect_bool(len, |i| self.is_match(a.value(i)))
                    }
                    other => {
                        return Err(DataFusionError::Internal(format!(
                            "{self}: expected a string, got {other}"
                        )));
                    }
                };
                Ok(ColumnarValue::Array(Arc::new(BooleanArray::new(
                    values,
                    array.nulls().cloned(),
                ))))
            }
            ColumnarValue::Scalar(scalar) => {
                super::string_test_scalar(self, scalar, |v| self.is_match(v))
            }
        }
    }

    fn children(&self) -> Vec<&Arc<dyn PhysicalExpr>> {
        vec![&self.expr]
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn PhysicalExpr>>,
    ) -> Result<Arc<dyn PhysicalExpr>> {
        let expr = super::only_child(children, "RegexOnce")?;
        Ok(Arc::new(RegexOnce {
            expr,
            pattern: self.pattern.clone(),
            caseless: self.caseless,
            negated: self.negated,
            regex: self.regex.clone(),
        }))
    }

    fn fmt_sql(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.expr.fmt_sql(f)?;
        write!(f, " {} '{}'", self.op(), self.pattern.replace('\'', "''"))
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{ArrayRef, LargeStringArray, StringArray, StringViewArray};
    use arrow::datatypes::Field;
    use datafusion::physical_expr::expressions::col;

    use super::*;
    use datafusion::common::ScalarValue;

    const TEXTS: [Option<&str>; 9] = [
        Some("/tmp/x"),
        Some("/tmp/"),
        None,
        Some("/TMP/payload.sh"),
        Some(""),
        Some("/var/tmp/a/b"),
        Some("a long string beyond twelve bytes /tmp/y"),
        Some("ünïcödé/tmp/z"),
        None,
    ];

    const PATTERNS: [&str; 6] = [
        "^(?:/tmp/[^/]+)$",
        "/tmp/",
        "",
        "^$",
        "^(?:.*ü.*)$",
        "(?s)^(?:.*\\bstring\\b.*)$",
    ];

    const OPS: [Operator; 4] = [
        Operator::RegexMatch,
        Operator::RegexIMatch,
        Operator::RegexNotMatch,
        Operator::RegexNotIMatch,
    ];

    fn arrays() -> Vec<ArrayRef> {
        let all: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(TEXTS.to_vec())),
            Arc::new(LargeStringArray::from(TEXTS.to_vec())),
            Arc::new(StringViewArray::from(TEXTS.to_vec())),
        ];
        // Each also sliced: offsets and the null buffer's start move.
        let sliced: Vec<ArrayRef> = all.iter().map(|a| a.slice(2, 6)).collect();
        all.into_iter().chain(sliced).collect()
    }

    /// Every operator and pattern over every string type gives what
    /// DataFusion's own `BinaryExpr` gives (arrow's kernel, compiling per
    /// batch), and the rule rewrites each of them.
    #[test]
    fn matches_equal_datafusions() -> Result<()> {
        for array in arrays() {
            let schema = Arc::new(Schema::new(vec![Field::new(
                "s",
                array.data_type().clone(),
                true,
            )]));
            let batch = RecordBatch::try_new(Arc::clone(&schema), vec![Arc::clone(&array)])?;
            for op in OPS {
                for pattern in PATTERNS {
                    let theirs: Arc<dyn PhysicalExpr> = Arc::new(BinaryExpr::new(
                        col("s", &schema)?,
                        op,
                        Arc::new(Literal::new(ScalarValue::Utf8(Some(pattern.to_owned())))),
                    ));
                    let mine = rewrite(Arc::clone(&theirs), &schema)?;
                    assert!(mine.transformed, "{theirs} over {}", array.data_type());
                    assert!(mine.data.downcast_ref::<RegexOnce>().is_some());
                    let expected = theirs.evaluate(&batch)?.into_array(batch.num_rows())?;
                    let got = mine.data.evaluate(&batch)?.into_array(batch.num_rows())?;
                    assert_eq!(
                        got.as_boolean(),
                        expected.as_boolean(),
                        "{theirs} over {}",
                        array.data_type()
                    );
                }
            }
        }
        Ok(())
    }

    /// Left as it was: a pattern that does not compile (DataFusion reports
    /// it), a NULL or column pattern, a dictionary column, another operator.
    #[test]
    fn other_shapes_are_left_alone() -> Result<()> {
        type Expr = Arc<dyn PhysicalExpr>;
        let schema = Schema::new(vec![
            Field::new("s", DataType::Utf8View, true),
            Field::new(
                "d",
                DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                true,
            ),
        ]);
        let lit = |v: ScalarValue| Arc::new(Literal::new(v)) as Expr;
        let text = |t: &str| lit(ScalarValue::Utf8(Some(t.to_owned())));
        let cases: Vec<(Expr, Operator, Expr)> = vec![
            (col("s", &schema)?, Operator::RegexMatch, text("(unclosed")),
            (
                col("s", &schema)?,
                Operator::RegexMatch,
                lit(ScalarValue::Utf8(None)),
            ),
            (col("s", &schema)?, Operator::RegexMatch, col("s", &schema)?),
            (col("d", &schema)?, Operator::RegexMatch, text("a")),
            (col("s", &schema)?, Operator::LikeMatch, text("a%")),
        ];
        for (left, op, right) in cases {
            let expr: Arc<dyn PhysicalExpr> = Arc::new(BinaryExpr::new(left, op, right));
            assert!(!rewrite(Arc::clone(&expr), &schema)?.transformed, "{expr}");
        }
        Ok(())
    }
}
