//! ES|QL expressions -> SQL text with ES|QL's semantics, and their types.

use std::fmt::Write as _;

use super::ast::Expr;
use super::patterns::{lucene_to_rust, wildcard_to_like};
use super::{
    FULL_TEXT_WHERE, Result, check_arity, error, ip_literal, item_type, quote, string_literal,
};
use crate::params::format_instant;

/// Translates expressions; `now` is the as-of instant, `time_type` the
/// `@timestamp` column's Arrow type for time literals.
pub(super) struct Sql<'a> {
    pub(super) now: i64,
    pub(super) time_type: &'a str,
    /// The `events` columns' types, when known.
    pub(super) types: std::collections::HashMap<String, arrow::datatypes::DataType>,
    /// Columns holding lists computed in their own order (`SPLIT`), which
    /// Elasticsearch keeps as they are; stored lists come sorted.
    pub(super) in_order: std::collections::HashSet<String>,
    /// Columns the query computed (EVAL, DISSECT, ...): not index fields, so
    /// not MATCH's.
    pub(super) computed: std::collections::HashSet<String>,
    /// Columns computed as IPs (`EVAL a = TO_IP(..)`, `ROW a = TO_IP(..)`).
    pub(super) ips: std::collections::HashSet<String>,
    /// Columns computed as versions (`EVAL v = TO_VERSION(..)`).
    pub(super) versions: std::collections::HashSet<String>,
    /// Why MATCH cannot be used where the translation is; `None` where it can
    /// (WHERE and STATS, before any LIMIT or STATS).
    pub(super) full_text: std::cell::Cell<Option<&'static str>>,
    /// Where the command being translated starts (for errors without a place
    /// of their own).
    pub(super) command_at: std::cell::Cell<usize>,
    /// `SET time_zone` (a fixed offset as `+10:00`, or a named zone);
    /// `None` for UTC: dates are truncated, taken apart and formatted there.
    pub(super) zone: Option<String>,
}

impl<'a> Sql<'a> {
    /// A translator at `now` (ns) over columns of `types`, the time column
    /// cast as `time_type`.
    pub(super) fn new(
        now: i64,
        time_type: &'a str,
        types: std::collections::HashMap<String, arrow::datatypes::DataType>,
    ) -> Sql<'a> {
        Sql {
            now,
            time_type,
            types,
            in_order: std::collections::HashSet::new(),
            computed: std::collections::HashSet::new(),
            ips: std::collections::HashSet::new(),
            versions: std::collections::HashSet::new(),
            full_text: std::cell::Cell::new(Some(super::FULL_TEXT_WHERE)),
            command_at: std::cell::Cell::new(0),
            zone: None,
        }
    }

    /// For `parent.caseless` or `parent.text` where only `parent`, a single
    /// string, is a column: the parent, and whether it is the caseless one.
    pub(super) fn multi_field<'n>(&self, name: &'n str) -> Option<(&'n str, bool)> {
        if self.types.contains_key(name) {
            return None;
        }
        let (parent, caseless) = match name.rsplit_once('.') {
            Some((parent, "caseless")) => (parent, true),
            Some((parent, "text")) => (parent, false),
            _ => return None,
        };
        self.types
            .get(parent)
            .is_some_and(arrow::datatypes::DataType::is_string)
            .then_some((parent, caseless))
    }

    /// The value of a constant time expression (`now() - 8 hour`), if it is one.
    pub(super) fn instant(&self, e: &Expr) -> Option<i64> {
        match e {
            Expr::Now => Some(self.now),
            Expr::Binary(l, op @ ("+" | "-"), r) => {
                let base = self.instant(l)?;
                let Expr::Span(ns) = **r else { return None };
                if *op == "+" {
                    base.checked_add(ns)
                } else {
                    base.checked_sub(ns)
                }
            }
            _ => None,
        }
    }

    #[expect(
        clippy::too_many_lines,
        reason = "one match arm per expression kind, each short"
    )]
    pub(super) fn expr(&self, e: &Expr, out: &mut String) -> Result<()> {
        if let Some(instant) = self.instant(e) {
            let _ = write!(
                out,
                "arrow_cast({}, '{}')",
                string_literal(&format_instant(instant)),
                self.time_type
            );
            return Ok(());
        }
        match e {
            // ECS multi-fields on data that holds only the parent: `.caseless`
            // is the lower-cased keyword, `.text` the text itself.
            Expr::Field(name) if self.multi_field(name).is_some() => {
                let (parent, caseless) = self.multi_field(name).unwrap_or_default();
                if caseless {
                    let _ = write!(out, "lower({})", quote(parent));
                } else {
                    out.push_str(&quote(parent));
                }
            }
            Expr::Field(name) => out.push_str(&quote(name)),
            Expr::Str(s) => out.push_str(&string_literal(s)),
            Expr::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Expr::Float(x) => {
                let _ = write!(out, "{x:?}");
            }
            Expr::Bool(b) => out.push_str(if *b { "TRUE" } else { "FALSE" }),
            Expr::Null => out.push_str("NULL"),
            Expr::Span(ns) => {
                let _ = write!(out, "arrow_cast({ns}, 'Duration(Nanosecond)')");
            }
            // Arrow's interval parser knows no quarters: three months each.
            Expr::Calendar(n, "quarter") => {
                let months = n.saturating_mul(3);
                let _ = write!(out, "INTERVAL '{months} month'");
            }
            Expr::Calendar(n, unit) => {
                let _ = write!(out, "INTERVAL '{n} {unit}'");
            }
            Expr::Now => {
                let _ = write!(
                    out,
                    "arrow_cast({}, '{}')",
                    string_literal(&format_instant(self.now)),
                    self.time_type
                );
            }
            Expr::Not(inner) => {
                out.push_str("(NOT ");
                self.expr(inner, out)?;
                out.push(')');
            }
            // A negative span is a span (`d + (-2 days)`).
            Expr::Neg(inner) if matches!(**inner, Expr::Span(_) | Expr::Calendar(..)) => {
                let negated = match **inner {
                    Expr::Span(ns) => ns.checked_neg().map(Expr::Span),
                    Expr::Calendar(n, unit) => n.checked_neg().map(|n| Expr::Calendar(n, unit)),
                    _ => None,
                };
                let negated =
                    negated.ok_or_else(|| error(self.pos_of(e), "time span out of range"))?;
                self.expr(&negated, out)?;
            }
            // A whole number negated past its range (`-x` of the smallest
            // integer) is NULL with a warning, as ES|QL's other arithmetic.
            Expr::Neg(inner)
                if !matches!(**inner, Expr::Int(n) if n != i64::MIN)
                    && self.infer(inner).is_some_and(|t| t.is_integer()) =>
            {
                let zero = if self.infer(inner) == Some(arrow::datatypes::DataType::Int32) {
                    "CAST(0 AS INT)"
                } else {
                    "CAST(0 AS BIGINT)"
                };
                let _ = write!(out, "esql_sub({zero}, ");
                self.operand(inner, true, out)?;
                out.push(')');
            }
            // `(- x)`: a space, so that a negative x never makes `--`, SQL's
            // comment.
            Expr::Neg(inner) => {
                out.push_str("(- ");
                self.operand(inner, true, out)?;
                out.push(')');
            }
            Expr::IsNull(inner, negated) => {
                out.push('(');
                self.expr(inner, out)?;
                out.push_str(if *negated {
                    " IS NOT NULL)"
                } else {
                    " IS NULL)"
                });
            }
            Expr::In(value, list, negated)
                if self.is_ip(value) && list.iter().all(|i| matches!(i, Expr::Str(_))) =>
            {
                // IP strings are IPs: any spelling of the address matches.
                let mut ips = vec![];
                for item in list {
                    if let Expr::Str(text) = item {
                        ips.push(string_literal(
                            &ip_literal(text).map_err(|m| error(self.pos_of(e), m))?,
                        ));
                    }
                }
                let _ = write!(
                    out,
                    "({}cidr_match({}, {}))",
                    if *negated { "NOT " } else { "" },
                    self.text(value, true)?,
                    ips.join(", ")
                );
            }
            Expr::In(value, list, negated) => {
                out.push('(');
                self.operand(value, true, out)?;
                out.push_str(if *negated { " NOT IN (" } else { " IN (" });
                for (i, item) in list.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    // Each item one value: a multi-valued one (a field, a
                    // list literal) is NULL, with the warning
                    // (folding.csv-spec mvDouble_IN_MultiValueConstant).
                    self.operand(item, true, out)?;
                }
                out.push_str("))");
            }
            // A pattern that matches every value is IS NOT NULL, as
            // Elasticsearch rewrites it: NOT LIKE "*" keeps the rows without
            // a value (where-like.csv-spec notLikeListAllWildcard).
            Expr::Like(value, patterns, regex, negated)
                if patterns.iter().any(|p| {
                    if *regex {
                        p == ".*"
                    } else {
                        !p.is_empty() && p.chars().all(|c| c == '*')
                    }
                }) =>
            {
                out.push('(');
                if self.is_list(value) {
                    // An empty list is no value.
                    out.push_str("coalesce(cardinality(");
                    self.expr(value, out)?;
                    out.push_str(if *negated { "), 0) = 0)" } else { "), 0) > 0)" });
                } else {
                    self.expr(value, out)?;
                    out.push_str(if *negated {
                        " IS NULL)"
                    } else {
                        " IS NOT NULL)"
                    });
                }
            }
            Expr::Like(value, patterns, regex, negated) => {
                // Any of the patterns: NULL for a NULL value, as one pattern's is.
                out.push_str(if *negated { "(NOT (" } else { "((" });
                for (i, pattern) in patterns.iter().enumerate() {
                    if i > 0 {
                        out.push_str(" OR ");
                    }
                    if *regex {
                        // Lucene regular expressions match the whole string.
                        out.push_str("regexp_like(");
                        self.operand(value, true, out)?;
                        let _ = write!(out, ", {})", string_literal(&lucene_to_rust(pattern)));
                    } else {
                        self.operand(value, true, out)?;
                        let _ = write!(
                            out,
                            " LIKE {} ESCAPE '\\'",
                            string_literal(&wildcard_to_like(pattern))
                        );
                    }
                }
                out.push_str("))");
            }
            // Arithmetic with a NULL literal is NULL, of the other side's type
            // where that is a time (SQL has no time + NULL).
            Expr::Binary(l, "+" | "-", r)
                if (matches!(**l, Expr::Null) || matches!(**r, Expr::Null))
                    && self.time_or_span(if matches!(**l, Expr::Null) { r } else { l }) =>
            {
                let other = if matches!(**l, Expr::Null) { r } else { l };
                if matches!(**other, Expr::Span(_) | Expr::Calendar(..)) {
                    out.push_str("arrow_cast(NULL, 'Interval(MonthDayNano)')");
                } else {
                    let _ = write!(out, "arrow_cast(NULL, '{}')", self.time_type);
                }
            }
            // A time plus or minus a span: NULL with a warning past the time
            // type's range (dateMathArithmeticOverflow), where SQL fails the
            // query (see `esql_warnings`).
            Expr::Binary(l, op @ ("+" | "-"), r) if self.time_and_span(l, op, r).is_some() => {
                let Some((time, span)) = self.time_and_span(l, op, r) else {
                    unreachable!("the guard holds")
                };
                let function = if *op == "+" { "esql_add" } else { "esql_sub" };
                let mut sum = String::new();
                self.expr(time, &mut sum)?;
                // Months past SQL's interval (2^31 - 1: years past 178
                // million) in steps of whole 400-year cycles, which move no
                // date within its month; what is left fits one interval.
                let months = calendar_months(span, self.pos_of(e))?;
                let mut rest = months.unwrap_or_default();
                while rest.abs() > i64::from(i32::MAX) {
                    let step = WHOLE_CYCLES * rest.signum();
                    sum = format!("{function}({sum}, INTERVAL '{step} month')");
                    rest -= step;
                }
                if months.is_some_and(|m| m != rest) {
                    let _ = write!(out, "{function}({sum}, INTERVAL '{rest} month')");
                } else {
                    let _ = write!(out, "{function}({sum}, ");
                    self.expr(span, out)?;
                    out.push(')');
                }
            }
            Expr::Binary(l, op @ ("+" | "-" | "*"), r)
                if self.infer(l).is_some_and(|t| t.is_integer())
                    && self.infer(r).is_some_and(|t| t.is_integer()) =>
            {
                // Whole numbers: NULL with a warning past the range, where SQL
                // wraps (esql_add/esql_sub/esql_mul, see `esql_warnings`).
                let (mut left, mut right) = (String::new(), String::new());
                self.expr(l, &mut left)?;
                self.expr(r, &mut right)?;
                // integer op integer stays an integer: SQL's whole-number
                // literals are longs, so they are cast.
                if self.infer(l) == Some(arrow::datatypes::DataType::Int32)
                    && self.infer(r) == Some(arrow::datatypes::DataType::Int32)
                {
                    for (e, text) in [(l, &mut left), (r, &mut right)] {
                        if matches!(**e, Expr::Int(_))
                            || matches!(&**e, Expr::Neg(i) if matches!(**i, Expr::Int(_)))
                        {
                            *text = format!("CAST({text} AS INT)");
                        }
                    }
                }
                let function = match *op {
                    "+" => "esql_add",
                    "-" => "esql_sub",
                    _ => "esql_mul",
                };
                let _ = write!(out, "{function}({left}, {right})");
            }
            Expr::Binary(l, op @ ("/" | "%"), r) => {
                // Division by zero is NULL in ES|QL, with a warning (counted by
                // esql_div/esql_mod, see `esql_warnings`), not an error.
                let (mut left, mut right) = (String::new(), String::new());
                self.operand(l, true, &mut left)?;
                self.operand(r, true, &mut right)?;
                let function = if *op == "/" { "esql_div" } else { "esql_mod" };
                let _ = write!(out, "{function}({left}, {right})");
            }
            Expr::Binary(l, op @ ("==" | "!=" | "<" | "<=" | ">" | ">="), r)
                if self.is_version(l) || self.is_version(r) =>
            {
                // Versions compare as versions (`1.2.3` < `1.11.0`); a
                // string beside one is read as one.
                let sql_op = match *op {
                    "==" => "=",
                    "!=" => "<>",
                    other => other,
                };
                let (left, right) = (self.version_key(l)?, self.version_key(r)?);
                let _ = write!(out, "({left} {sql_op} {right})");
            }
            Expr::Binary(l, op @ ("==" | "!=" | "<" | "<=" | ">" | ">="), r)
                if self.is_ip(l) && self.is_ip(r) =>
            {
                // Two IPs: compared as addresses, not as text (`::1` is
                // before `127.0.0.1`).
                let sql_op = match *op {
                    "==" => "=",
                    "!=" => "<>",
                    other => other,
                };
                let (left, right) = (self.ip_key(l)?, self.ip_key(r)?);
                let _ = write!(out, "({left} {sql_op} {right})");
            }
            Expr::Binary(l, op @ ("==" | "!=" | "<" | "<=" | ">" | ">="), r)
                if self.typed_literal(l, r) || self.typed_literal(r, l) =>
            {
                // A string compared with an IP or a boolean is read as one.
                let ((Expr::Str(text), field) | (field, Expr::Str(text))) = (&**l, &**r) else {
                    unreachable!("typed_literal holds")
                };
                if self.is_ip(field) && !matches!(*op, "==" | "!=") {
                    // IPs in order: as Elasticsearch orders them (ip_key).
                    ip_literal(text).map_err(|m| error(self.pos_of(e), m))?;
                    let (left, right) = (self.ip_key(l)?, self.ip_key(r)?);
                    let _ = write!(out, "({left} {op} {right})");
                } else if self.is_ip(field) {
                    let ip = ip_literal(text).map_err(|m| error(self.pos_of(e), m))?;
                    let _ = write!(
                        out,
                        "({}cidr_match({}, {}))",
                        if *op == "!=" { "NOT " } else { "" },
                        self.text(field, true)?,
                        string_literal(&ip)
                    );
                } else {
                    // Boolean: Java's Boolean.parseBoolean, "true" in any case.
                    let truth = if text.eq_ignore_ascii_case("true") {
                        "TRUE"
                    } else {
                        "FALSE"
                    };
                    let (left, right) = if matches!(**l, Expr::Str(_)) {
                        (truth.to_owned(), self.text(r, true)?)
                    } else {
                        (self.text(l, true)?, truth.to_owned())
                    };
                    let sql_op = match *op {
                        "==" => "=",
                        "!=" => "<>",
                        other => other,
                    };
                    let _ = write!(out, "({left} {sql_op} {right})");
                }
            }
            Expr::Binary(l, op, r) => {
                if matches!(*op, "==" | "!=" | "<" | "<=" | ">" | ">=") {
                    self.comparable(l, r)?;
                }
                // Comparisons and arithmetic read one value of each side: a
                // multi-valued one is NULL, with a warning (conditional.csv-spec
                // nullOnMultivaluesMathOperation).
                let single = matches!(*op, "==" | "!=" | "<" | "<=" | ">" | ">=" | "+" | "-" | "*");
                out.push('(');
                self.operand(l, single, out)?;
                let _ = write!(
                    out,
                    " {} ",
                    match *op {
                        "==" => "=",
                        "!=" => "<>",
                        other => other,
                    }
                );
                self.operand(r, single, out)?;
                out.push(')');
            }
            Expr::Options(_, pos) => {
                return Err(error(
                    *pos,
                    "options { ... } are only MATCH's last argument",
                ));
            }
            // A multi-valued constant; no values is NULL.
            Expr::List(items, _) if items.is_empty() => out.push_str("NULL"),
            Expr::List(items, pos) => {
                if self.list_item_type(items).is_none() {
                    return Err(error(*pos, "the values of a list must be of one type"));
                }
                out.push_str("make_array(");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    self.expr(item, out)?;
                }
                out.push(')');
            }
            Expr::Call(name, args, pos) => {
                if name == "case" {
                    // CASE(cond, value, cond, value, ..., [else]).
                    let doubles = self.case_of_doubles(args);
                    out.push_str("CASE");
                    let mut pairs = args.chunks_exact(2);
                    for pair in pairs.by_ref() {
                        out.push_str(" WHEN ");
                        // A multi-valued condition is false, with a warning
                        // (conditional.csv-spec caseOnConstantMvFalseTrue).
                        self.operand(&pair[0], true, out)?;
                        out.push_str(" THEN ");
                        self.case_value(&pair[1], doubles, out)?;
                    }
                    if let [otherwise] = pairs.remainder() {
                        out.push_str(" ELSE ");
                        self.case_value(otherwise, doubles, out)?;
                    }
                    out.push_str(" END");
                    return Ok(());
                }
                if name == "concat" {
                    // NULL if any argument is NULL, as ES|QL (SQL's concat() skips NULLs).
                    out.push('(');
                    for (i, a) in args.iter().enumerate() {
                        if i > 0 {
                            out.push_str(" || ");
                        }
                        self.operand(a, true, out)?;
                    }
                    out.push(')');
                    return Ok(());
                }
                if self.special_call(name, args, *pos, out)? {
                    return Ok(());
                }
                let template = if name == "hash" {
                    check_arity(name, &(2..=2), args.len(), *pos)?;
                    let Expr::Str(algorithm) = &args[0] else {
                        return Err(error(*pos, "HASH's algorithm must be a string literal"));
                    };
                    let Some(template) = super::scalar::hash_template(algorithm) else {
                        return Err(error(
                            *pos,
                            format!(
                                "HASH: unknown algorithm \"{algorithm}\" \
                                 (MD5, SHA-1, SHA-224, SHA-256, SHA-384, SHA-512)"
                            ),
                        ));
                    };
                    Some((template, &args[1..]))
                } else if let Some(takes) = super::scalar::arity(name) {
                    check_arity(name, &takes, args.len(), *pos)?;
                    // A negative literal count is refused, as Elasticsearch
                    // refuses it when planning.
                    if let ("repeat" | "space", Some(Expr::Neg(n))) = (name.as_str(), args.last())
                        && let Expr::Int(n) = **n
                        && n > 0
                    {
                        return Err(error(
                            *pos,
                            format!("Number parameter cannot be negative, found [-{n}]"),
                        ));
                    }
                    self.check_format_arguments(name, args, *pos)?;
                    super::scalar::template(name, args.len()).map(|t| (t, args.as_slice()))
                } else {
                    None
                };
                if let Some((template, args)) = template {
                    let (mut first, mut again) = (vec![], vec![]);
                    for a in args {
                        first.push(self.text(a, true)?);
                        again.push(self.text_again(a)?);
                    }
                    out.push_str(&super::scalar::fill(template, &first, &again));
                    return Ok(());
                }
                if name == "round"
                    && let [v, d] = args.as_slice()
                    && let Some(rounded) = self.round_whole(v, d)?
                {
                    out.push_str(&rounded);
                    return Ok(());
                }
                // ES|QL functions whose SQL namesake means the same; a field
                // argument is read as one value (NULL when multi-valued).
                let (sql, arity) = match name.as_str() {
                    "cidr_match" => ("cidr_match", 2..=usize::MAX),
                    "starts_with" => ("starts_with", 2..=2),
                    "ends_with" => ("ends_with", 2..=2),
                    "to_lower" => ("lower", 1..=1),
                    "to_upper" => ("upper", 1..=1),
                    "length" => ("character_length", 1..=1),
                    "trim" => ("trim", 1..=1),
                    "ltrim" => ("ltrim", 1..=1),
                    "rtrim" => ("rtrim", 1..=1),
                    "coalesce" => ("coalesce", 1..=usize::MAX),
                    "abs" => ("abs", 1..=1),
                    "left" => ("left", 2..=2),
                    "right" => ("right", 2..=2),
                    "split" => ("string_to_array", 2..=2),
                    "round" => ("round", 1..=2),
                    "floor" => ("floor", 1..=1),
                    "ceil" => ("ceil", 1..=1),
                    "greatest" => ("greatest", 1..=usize::MAX),
                    "least" => ("least", 1..=usize::MAX),
                    "from_base64" => ("from_base64", 1..=1),
                    other => {
                        return Err(error(
                            *pos,
                            format!(
                                "function {} is not supported yet",
                                other.to_ascii_uppercase()
                            ),
                        ));
                    }
                };
                check_arity(name, &arity, args.len(), *pos)?;
                // GREATEST and LEAST are NULL where any argument is (SQL's
                // skip NULLs): Elasticsearch's math.csv-spec greatestNull.
                if matches!(sql, "greatest" | "least") {
                    // A multi-valued argument takes part with its largest
                    // (smallest) value (math.csv-spec greatestMv).
                    let of_list = if sql == "greatest" {
                        "array_max"
                    } else {
                        "array_min"
                    };
                    let (mut tests, mut values) = (vec![], vec![]);
                    for a in args {
                        if self.is_list(a) {
                            let v = format!("{of_list}({})", self.text(a, false)?);
                            tests.push(format!("{v} IS NULL"));
                            values.push(v);
                        } else {
                            tests.push(format!("{} IS NULL", self.text_again(a)?));
                            values.push(self.text(a, true)?);
                        }
                    }
                    let _ = write!(
                        out,
                        "CASE WHEN {} THEN NULL ELSE {sql}({}) END",
                        tests.join(" OR "),
                        values.join(", ")
                    );
                    return Ok(());
                }
                out.push_str(sql);
                out.push('(');
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    // CIDR_MATCH's blocks are literals; other arguments are
                    // values, one each, but COALESCE keeps a multi-valued
                    // argument whole, as Elasticsearch does.
                    let single = match name.as_str() {
                        "cidr_match" => i == 0,
                        "coalesce" => false,
                        _ => true,
                    };
                    self.operand(a, single, out)?;
                }
                out.push(')');
            }
        }
        Ok(())
    }

    /// The FMT_* functions' argument types, checked as Elasticsearch checks
    /// them when planning: FMT_BYTES, FMT_BYTES_SI and FMT_DURATION take an
    /// integer or a long (and a keyword unit), FMT_PERCENT any number.
    fn check_format_arguments(&self, name: &str, args: &[Expr], pos: usize) -> Result<()> {
        use arrow::datatypes::DataType as T;
        let whole = matches!(name, "fmt_bytes" | "fmt_bytes_si" | "fmt_duration");
        if !whole && name != "fmt_percent" {
            return Ok(());
        }
        let Some(value) = args.first() else {
            return Ok(());
        };
        // A list is read as one value (NULL with a warning where it holds
        // several), so its values' type is what counts.
        let fits = match self.infer(value).map(item_type) {
            None | Some(T::Null) => true,
            Some(t) if whole => t.is_signed_integer(),
            Some(t) => t.is_numeric(),
        };
        if !fits {
            return Err(error(
                pos,
                format!(
                    "{}'s first argument must be {}",
                    name.to_ascii_uppercase(),
                    if whole {
                        "an integer or a long"
                    } else {
                        "a number"
                    }
                ),
            ));
        }
        if let Some(unit) = args.get(1)
            && self
                .infer(unit)
                .is_some_and(|t| !(t == T::Null || t.is_string() || matches!(t, T::Dictionary(..))))
        {
            return Err(error(
                pos,
                format!("{}'s unit must be a keyword", name.to_ascii_uppercase()),
            ));
        }
        Ok(())
    }

    /// The type `e` has, where the translation needs it (lists, whole numbers,
    /// times); `None` when it is not known.
    pub(super) fn infer(&self, e: &Expr) -> Option<arrow::datatypes::DataType> {
        use arrow::datatypes::{DataType as T, Field, TimeUnit};
        let list = |item: T| T::List(std::sync::Arc::new(Field::new("item", item, true)));
        Some(match e {
            Expr::Field(name) => match self.multi_field(name) {
                Some((parent, _)) => self.types.get(parent)?.clone(),
                None => self.types.get(name)?.clone(),
            },
            Expr::Str(_) => T::Utf8,
            Expr::Int(n) if i32::try_from(*n).is_ok() => T::Int32,
            Expr::Int(_) => T::Int64,
            Expr::Float(_) => T::Float64,
            Expr::Null => T::Null,
            Expr::Bool(_) | Expr::Not(_) | Expr::IsNull(..) | Expr::In(..) | Expr::Like(..) => {
                T::Boolean
            }
            Expr::Now => T::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
            Expr::List(items, _) => list(self.list_item_type(items)??),
            // A negative whole number is an integer where it fits one
            // (`-2147483648`), as ES|QL types the literal.
            Expr::Neg(inner) if matches!(**inner, Expr::Int(_)) => match **inner {
                Expr::Int(n)
                    if n.checked_neg()
                        .and_then(|n| i32::try_from(n).ok())
                        .is_some() =>
                {
                    T::Int32
                }
                _ => T::Int64,
            },
            // Of a list, one value (see `operand`).
            Expr::Neg(inner) => item_type(self.infer(inner)?),
            // Arithmetic with a NULL literal (see `expr`).
            Expr::Binary(left, "+" | "-" | "*" | "/" | "%", right)
                if matches!(**left, Expr::Null) || matches!(**right, Expr::Null) =>
            {
                let other = if matches!(**left, Expr::Null) {
                    right
                } else {
                    left
                };
                match self.infer(other) {
                    Some(time @ T::Timestamp(..)) => time,
                    Some(t) if t.is_numeric() => t,
                    _ if matches!(**other, Expr::Span(_) | Expr::Calendar(..)) => return None,
                    _ => T::Null,
                }
            }
            Expr::Binary(left, op, right) => match *op {
                "==" | "!=" | "<" | "<=" | ">" | ">=" | "AND" | "OR" => T::Boolean,
                // A time plus or minus a span is a time.
                _ if matches!(**right, Expr::Span(_) | Expr::Calendar(..)) => self.infer(left)?,
                _ if matches!(**left, Expr::Span(_) | Expr::Calendar(..)) => self.infer(right)?,
                // Arithmetic reads one value of each side (see `expr`).
                _ => match (item_type(self.infer(left)?), item_type(self.infer(right)?)) {
                    (time @ T::Timestamp(..), _) => time,
                    (lt, rt) if lt.is_integer() && rt.is_integer() => {
                        if lt == T::Int32 && rt == T::Int32 {
                            T::Int32
                        } else {
                            T::Int64
                        }
                    }
                    // A double with any number is a double.
                    (lt, rt) if lt.is_numeric() && rt.is_numeric() => T::Float64,
                    _ => return None,
                },
            },
            // A conversion of a list converts each value.
            Expr::Call(name, args, _)
                if args.len() == 1
                    && super::functions::list_conversion(name).is_some()
                    && self.is_list(&args[0]) =>
            {
                list(match name.as_str() {
                    "to_double" => T::Float64,
                    "to_long" => T::Int64,
                    "to_integer" | "to_int" => T::Int32,
                    "to_unsigned_long" | "to_ulong" | "to_ul" => T::UInt64,
                    _ => T::Utf8,
                })
            }
            Expr::Call(name, args, _) => self.infer_call(name, args)?,
            _ => return None,
        })
    }

    /// Whether CASE's values mix a list with single numbers, one of them
    /// decimal: then every value is a list of doubles
    /// (conditional.csv-spec caseWithMixedNumericFieldWithMV).
    fn case_of_doubles(&self, args: &[Expr]) -> bool {
        doubles_of(&self.case_value_types(args))
    }

    /// The known types of CASE's values (every second argument, and the
    /// last of an odd count), NULLs left out.
    fn case_value_types(&self, args: &[Expr]) -> Vec<arrow::datatypes::DataType> {
        args.chunks(2)
            .filter_map(|pair| match pair {
                [_, value] | [value] => self.infer(value),
                _ => None,
            })
            .filter(|t| *t != arrow::datatypes::DataType::Null)
            .collect()
    }

    /// One of CASE's values; with `doubles` as a list of doubles, a single
    /// value a list of it, NULL staying NULL.
    fn case_value(&self, value: &Expr, doubles: bool, out: &mut String) -> Result<()> {
        if !doubles || matches!(value, Expr::Null) {
            return self.expr(value, out);
        }
        let v = self.text(value, false)?;
        if self.is_list(value) {
            let _ = write!(out, "CAST({v} AS DOUBLE[])");
        } else {
            let _ = write!(
                out,
                "CASE WHEN {v} IS NULL THEN NULL ELSE make_array(CAST({v} AS DOUBLE)) END"
            );
        }
        Ok(())
    }

    /// The type of `CASE(cond, value, ..., [else])`: the values' one type;
    /// a list if any is (of doubles where lists mix with single numbers, one
    /// decimal); whole numbers of several types (or whole-number
    /// literals, which SQL types as longs) long; signed numbers double;
    /// else unknown (a SUM of a CASE of longs is the long sum, NULL past
    /// the range).
    fn infer_case(&self, args: &[Expr]) -> Option<arrow::datatypes::DataType> {
        use arrow::datatypes::DataType as T;
        let types = self.case_value_types(args);
        let first = types.first()?;
        if doubles_of(&types) {
            return Some(T::List(std::sync::Arc::new(arrow::datatypes::Field::new(
                "item",
                T::Float64,
                true,
            ))));
        }
        let literal = args
            .chunks(2)
            .any(|pair| matches!(pair, [_, Expr::Int(_)] | [Expr::Int(_)]));
        let signed = |t: &T| matches!(t, T::Int8 | T::Int16 | T::Int32 | T::Int64);
        Some(
            if let Some(list) = types.iter().find(|t| matches!(t, T::List(_))) {
                list.clone()
            } else if types.iter().all(|t| t == first) && !(literal && *first == T::Int32) {
                first.clone()
            } else if types.iter().all(signed) {
                // SQL's whole-number literals are longs: CASE(c, 1, 2) is one.
                T::Int64
            } else if types.iter().all(|t| t.is_floating() || signed(t)) {
                T::Float64
            } else {
                return None;
            },
        )
    }

    /// The type of a call that keeps its argument's values as a list: TO_DEGREES
    /// and TO_RADIANS of a list (each value converted), ABS of unsigned longs
    /// (the values themselves); see `special_call`.
    fn infer_kept_lists(&self, name: &str, args: &[Expr]) -> Option<arrow::datatypes::DataType> {
        use arrow::datatypes::{DataType as T, Field};
        // Other calls must not infer their argument twice: nested calls
        // would double the work at each level.
        if !matches!(name, "to_degrees" | "to_radians" | "abs") {
            return None;
        }
        let arg = self.infer(args.first()?)?;
        match name {
            "to_degrees" | "to_radians" if matches!(arg, T::List(_) | T::LargeList(_)) => Some(
                T::List(std::sync::Arc::new(Field::new("item", T::Float64, true))),
            ),
            "abs" if item_type(arg.clone()) == T::UInt64 => Some(arg),
            _ => None,
        }
    }

    /// The type of a call of function `name`, where known.
    fn infer_call(&self, name: &str, args: &[Expr]) -> Option<arrow::datatypes::DataType> {
        use arrow::datatypes::{DataType as T, Field, TimeUnit};
        let list = |item: T| T::List(std::sync::Arc::new(Field::new("item", item, true)));
        if let Some(t) = self.infer_kept_lists(name, args) {
            return Some(t);
        }
        Some(match name {
            "to_integer" | "to_int" | "length" | "date_diff" | "bit_length" | "byte_length"
            | "locate" => T::Int32,
            "to_long" | "mv_count" | "date_extract" => T::Int64,
            "to_double"
            | "e"
            | "pi"
            | "tau"
            | "exp"
            | "sqrt"
            | "cbrt"
            | "log10"
            | "log"
            | "pow"
            | "signum"
            | "hypot"
            | "sin"
            | "cos"
            | "tan"
            | "asin"
            | "acos"
            | "atan"
            | "atan2"
            | "sinh"
            | "cosh"
            | "tanh"
            | "to_degrees"
            | "to_radians"
            | "mv_avg"
            | "mv_pseries_weighted_sum"
            | "scalb"
            | "acosh"
            | "asinh"
            | "atanh" => T::Float64,
            "to_unsigned_long" | "to_ulong" | "to_ul" => T::UInt64,
            "to_date_nanos" | "to_datenanos" => {
                T::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
            }
            "round_to" => {
                let types: Vec<T> = args.iter().map(|a| self.infer(a)).collect::<Option<_>>()?;
                if types.iter().any(T::is_floating) {
                    T::Float64
                } else if types.contains(&T::Int64) {
                    T::Int64
                } else {
                    types.first()?.clone()
                }
            }
            "mv_percentile" | "mv_median_absolute_deviation" => {
                match item_type(self.infer(args.first()?)?) {
                    t if t.is_integer() => t,
                    _ => T::Float64,
                }
            }
            // Conversions of a list convert each value.
            "to_ip" if self.is_list(args.first()?) => list(T::Utf8),
            "to_string" | "to_str" | "to_lower" | "to_upper" | "replace" | "substring" | "trim"
            | "ltrim" | "rtrim" | "left" | "right" | "concat" | "date_format" | "mv_concat"
            | "from_base64" | "reverse" | "to_base64" | "md5" | "sha1" | "sha256" | "hash"
            | "repeat" | "space" | "day_name" | "month_name" | "ip_prefix" | "to_ip"
            | "to_version" | "to_ver" | "to_text" | "fmt_bytes" | "fmt_bytes_si"
            | "fmt_duration" | "fmt_percent" => T::Utf8,
            "to_boolean" | "to_bool" if self.is_list(args.first()?) => list(T::Boolean),
            "to_datetime" | "to_dt" if self.is_list(args.first()?) => {
                list(T::Timestamp(TimeUnit::Millisecond, Some("UTC".into())))
            }
            "to_boolean" | "to_bool" | "cidr_match" | "starts_with" | "ends_with" | "contains"
            | "mv_contains" => T::Boolean,
            "to_datetime" | "to_dt" => self.datetime_of(args.first()?),
            "date_trunc" => self.infer(args.get(1)?)?,
            "bucket" | "bin" => match args.get(1)? {
                Expr::Span(_) | Expr::Calendar(..) => self.infer(args.first()?)?,
                // BUCKET(field, buckets, from, to) of dates is a date.
                _ if args.len() == 4
                    && matches!(self.infer(args.first()?), Some(T::Timestamp(..))) =>
                {
                    self.infer(args.first()?)?
                }
                _ => T::Float64,
            },
            "split" | "mv_zip" => list(T::Utf8),
            "coalesce" => args
                .iter()
                .filter_map(|a| self.infer(a))
                .find(|t| *t != T::Null)?,
            "mv_dedupe" | "mv_slice" | "mv_sort" | "clamp" | "clamp_min" | "clamp_max"
            | "copy_sign" => self.infer(args.first()?)?,
            "date_parse" => T::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            "mv_sum" | "mv_median" => match item_type(self.infer(args.first()?)?) {
                t if t.is_integer() => t,
                _ => T::Float64,
            },
            "mv_append" => list(item_type(self.infer(args.first()?)?)),
            // CASE(cond, value, ..., [else]) is multi-valued where one of its
            // values is a list (so that STATS BY it groups by each value).
            "case" => self.infer_case(args)?,
            "mv_first" | "mv_last" | "mv_min" | "mv_max" => item_type(self.infer(args.first()?)?),
            _ => return None,
        })
    }

    /// The type of an aggregate's result, where known.
    pub(super) fn infer_aggregate(&self, e: &Expr) -> Option<arrow::datatypes::DataType> {
        use arrow::datatypes::{DataType as T, Field};
        let Expr::Call(name, args, _) = e else {
            return None;
        };
        Some(match name.as_str() {
            "count" | "count_distinct" => T::Int64,
            "present" | "absent" => T::Boolean,
            "values" => T::List(std::sync::Arc::new(Field::new(
                "item",
                item_type(self.infer(args.first()?)?),
                true,
            ))),
            "min" | "max" => item_type(self.infer(args.first()?)?),
            "first" | "last" => self.infer(args.first()?)?,
            "sum" if item_type(self.infer(args.first()?)?).is_integer() => T::Int64,
            "avg"
            | "median"
            | "std_dev"
            | "variance"
            | "std_var"
            | "percentile"
            | "weighted_avg"
            | "median_absolute_deviation" => T::Float64,
            // With an output field (the fourth argument), its values.
            "top" => {
                let of = item_type(self.infer(args.get(3).or(args.first())?)?);
                match args.get(1) {
                    Some(Expr::Int(1)) => of,
                    _ => T::List(std::sync::Arc::new(Field::new("item", of, true))),
                }
            }
            _ => return None,
        })
    }

    /// `f`, translating where MATCH is allowed unless `why` says otherwise
    /// (WHERE and STATS); elsewhere MATCH is refused.
    pub(super) fn allowing_full_text<T>(
        &self,
        why: Option<&'static str>,
        f: impl FnOnce(&Self) -> Result<T>,
    ) -> Result<T> {
        self.full_text.set(why);
        let out = f(self);
        self.full_text.set(Some(FULL_TEXT_WHERE));
        out
    }

    /// Whether `e` is a list computed in its own order (see `in_order`).
    pub(super) fn in_order(&self, e: &Expr) -> bool {
        match e {
            Expr::Call(name, _, _) if name == "split" || name == "mv_zip" => true,
            // A conversion keeps its values' order.
            Expr::Call(name, args, _)
                if matches!(
                    name.as_str(),
                    "to_string"
                        | "to_str"
                        | "to_double"
                        | "to_long"
                        | "to_integer"
                        | "to_int"
                        | "to_boolean"
                        | "to_bool"
                        | "to_datetime"
                        | "to_dt"
                        | "to_ip"
                        | "to_version"
                        | "to_ver"
                ) =>
            {
                args.first().is_some_and(|a| self.in_order(a))
            }
            // CASE gives one of its values: in order where each is (an
            // aggregate's WHERE reads its argument as CASE(cond, value)).
            Expr::Call(name, args, _) if name == "case" && args.len() >= 2 => case_values(args)
                .filter(|v| !matches!(v, Expr::Null))
                .all(|v| self.in_order(v)),
            Expr::List(..) => true,
            Expr::Field(name) => self.in_order.contains(name),
            _ => false,
        }
    }

    /// The type of a list literal's values: their one type, integers widened
    /// to long where one is (`[1, 5000000000]` is a list of longs, as in
    /// ES|QL); `None` where they differ otherwise, `Some(None)` where
    /// unknown.
    #[allow(clippy::option_option)]
    pub(super) fn list_item_type(
        &self,
        items: &[Expr],
    ) -> Option<Option<arrow::datatypes::DataType>> {
        use arrow::datatypes::DataType as T;
        let mut types = items.iter().map(|i| self.infer(i));
        let first = types.next()?;
        types.try_fold(first, |acc, t| match (acc, t) {
            (a, b) if a == b => Some(a),
            (Some(T::Int32 | T::Int64), Some(T::Int32 | T::Int64)) => Some(Some(T::Int64)),
            // Whole numbers beside a decimal make a list of doubles
            // (row.csv-spec arraysWithNegatives).
            (Some(a), Some(b))
                if (a.is_floating() || b.is_floating()) && a.is_numeric() && b.is_numeric() =>
            {
                Some(Some(T::Float64))
            }
            _ => None,
        })
    }

    /// Column `name` is computed anew (DISSECT, GROK, ENRICH, a join's or
    /// an aggregate's column), of type `t` where known: not an index
    /// field, not in a list's own order, not an IP or a version.
    pub(super) fn new_column(&mut self, name: &str, t: Option<arrow::datatypes::DataType>) {
        match t {
            Some(t) => self.types.insert(name.to_owned(), t),
            None => self.types.remove(name),
        };
        self.in_order.remove(name);
        self.ips.remove(name);
        self.versions.remove(name);
        self.computed.insert(name.to_owned());
    }

    /// What is known of column `from` (nothing, where it is not known)
    /// is now also known of `to`.
    pub(super) fn copy_column(&mut self, from: &str, to: &str) {
        match self.types.get(from).cloned() {
            Some(t) => self.types.insert(to.to_owned(), t),
            None => self.types.remove(to),
        };
        for set in [
            &mut self.in_order,
            &mut self.computed,
            &mut self.ips,
            &mut self.versions,
        ] {
            if set.contains(from) {
                set.insert(to.to_owned());
            } else {
                set.remove(to);
            }
        }
    }

    /// Column `old` is now called `new` (RENAME), with what is known of it.
    pub(super) fn rename_column(&mut self, old: &str, new: &str) {
        self.copy_column(old, new);
        if old != new {
            // Nothing is known of "": `old` is forgotten.
            self.copy_column("", old);
        }
    }

    /// Column `name` now holds one of its list's values per row.
    pub(super) fn unlist(&mut self, name: &str) {
        if let Some(t) = self.types.remove(name) {
            self.types.insert(name.to_owned(), item_type(t));
        }
    }

    pub(super) fn is_list(&self, e: &Expr) -> bool {
        matches!(
            self.infer(e),
            Some(arrow::datatypes::DataType::List(_) | arrow::datatypes::DataType::LargeList(_))
        )
    }

    /// A multi-valued field's values as Elasticsearch returns them: sorted,
    /// and for keywords also de-duplicated (doc values keep a keyword once).
    pub(super) fn sorted_values(&self, e: &Expr) -> Result<String> {
        let mut f = String::new();
        self.address_text(e, &mut f)?;
        if self.in_order(e) {
            return Ok(f);
        }
        // Addresses and versions as their doc values hold them: in their
        // type's order, each once.
        if let Some(kind) = self.sort_kind(e) {
            return Ok(format!("sort_as({f}, '{kind}', 'ASC', true)"));
        }
        let strings = matches!(
            self.infer(e),
            Some(arrow::datatypes::DataType::List(item)) if item.data_type().is_string()
        );
        Ok(if strings {
            format!("array_sort(array_distinct({f}))")
        } else {
            format!("array_sort({f})")
        })
    }

    /// `e` read as one value, as [`Sql::text`] reads it the first time, but
    /// without counting a multi-valued value again: for an argument an
    /// expression uses more than once.
    pub(super) fn text_again(&self, e: &Expr) -> Result<String> {
        match e {
            Expr::Field(name) if self.multi_field(name).is_none() && self.is_list(e) => {
                Ok(format!("mv_single({})", quote(name)))
            }
            other if self.is_list(other) => {
                let mut v = String::new();
                self.expr(other, &mut v)?;
                Ok(format!("mv_single({v})"))
            }
            other => self.text(other, true),
        }
    }

    pub(super) fn text(&self, e: &Expr, single: bool) -> Result<String> {
        let mut out = String::new();
        self.operand(e, single, &mut out)?;
        Ok(out)
    }

    /// `e` (an IP, or an IP's text) as the key Elasticsearch orders IPs by.
    pub(super) fn ip_key(&self, e: &Expr) -> Result<String> {
        Ok(format!("ip_key({})", self.text(e, true)?))
    }

    /// `e` (a version, or a version's text) as the key Elasticsearch orders
    /// versions by.
    pub(super) fn version_key(&self, e: &Expr) -> Result<String> {
        Ok(format!("version_key({})", self.text(e, true)?))
    }

    /// Whether `e` is a version: TO_VERSION, or a column computed from it.
    pub(super) fn is_version(&self, e: &Expr) -> bool {
        match e {
            Expr::Call(name, args, _) => {
                matches!(name.as_str(), "to_version" | "to_ver")
                    || passes_values(name, args, &|a| self.is_version(a))
            }
            Expr::Field(name) => self.versions.contains(name) && self.texts(e),
            _ => false,
        }
    }

    /// TO_DATETIME's type: a date stays as it is; anything else becomes
    /// the time type.
    fn datetime_of(&self, arg: &Expr) -> arrow::datatypes::DataType {
        match self.infer(arg) {
            Some(t @ arrow::datatypes::DataType::Timestamp(..)) => t,
            _ => arrow::datatypes::DataType::Timestamp(self.time_unit(), Some("UTC".into())),
        }
    }

    /// The unit of `time_type`, what TO_DATETIME converts to.
    pub(super) fn time_unit(&self) -> arrow::datatypes::TimeUnit {
        use arrow::datatypes::TimeUnit;
        let t = self.time_type;
        if t.contains("Microsecond") {
            TimeUnit::Microsecond
        } else if t.contains("Nanosecond") {
            TimeUnit::Nanosecond
        } else if t.contains("(Second") {
            TimeUnit::Second
        } else {
            TimeUnit::Millisecond
        }
    }

    /// The time zone argument of the date functions: `, 'ZONE'` where the
    /// query sets one, else nothing.
    pub(super) fn zone(&self) -> String {
        self.zone.as_ref().map_or_else(String::new, |zone| {
            format!(", {}", super::string_literal(zone))
        })
    }

    /// The query's zone as a fixed offset in seconds (UTC: 0); `None` for a
    /// named zone, whose offset changes with the date.
    pub(super) fn fixed_zone(&self) -> Option<i64> {
        match &self.zone {
            None => Some(0),
            Some(zone) => super::parser::fixed_offset(zone),
        }
    }

    /// How `sort_as` orders `e`'s values where they are addresses or
    /// versions (`'ip'`, `'version'`), which text order would not.
    pub(super) fn sort_kind(&self, e: &Expr) -> Option<&'static str> {
        if self.is_ip(e) {
            Some("ip")
        } else if self.is_version(e) {
            Some("version")
        } else {
            None
        }
    }

    /// Whether `e` is an IP: text named `ip` or `*.ip`, as ECS names them
    /// (Parquet has no IP type), TO_IP and IP_PREFIX, or a column computed
    /// from them.
    pub(super) fn is_ip(&self, e: &Expr) -> bool {
        if let Expr::Call(name, args, _) = e {
            return matches!(name.as_str(), "to_ip" | "ip_prefix")
                || passes_values(name, args, &|a| self.is_ip(a));
        }
        let Expr::Field(name) = e else {
            return false;
        };
        self.texts(e) && (name.rsplit('.').next() == Some("ip") || self.ips.contains(name))
    }

    /// Whether column `name` is a stored address: a text field (or a list
    /// of texts) named `ip` or `*.ip` that no command has computed.
    pub(super) fn stored_ip(&self, name: &str) -> bool {
        use arrow::datatypes::DataType as T;
        name.rsplit('.').next() == Some("ip")
            && !self.ips.contains(name)
            && self.types.get(name).is_some_and(|t| match t {
                T::List(item) => item.data_type().is_string(),
                t => t.is_string(),
            })
    }

    /// `e` translated, a stored address written as Elasticsearch writes it
    /// (see `esql_ip_text`): what VALUES and COUNT_DISTINCT tell apart.
    pub(super) fn address_text(&self, e: &Expr, out: &mut String) -> Result<()> {
        match e {
            Expr::Field(name) if self.stored_ip(name) => {
                let _ = write!(out, "esql_ip_text({})", quote(name));
                Ok(())
            }
            _ => self.expr(e, out),
        }
    }

    /// Whether `e` holds text, one value or a list (or its type is unknown):
    /// what an address or a version is stored as.
    fn texts(&self, e: &Expr) -> bool {
        match self.infer(e) {
            None => true,
            Some(arrow::datatypes::DataType::List(item)) => item.data_type().is_string(),
            Some(t) => t.is_string(),
        }
    }

    /// Whether `literal` is a string that ES|QL reads as `field`'s type (an IP or
    /// a boolean) when they are compared.
    pub(super) fn typed_literal(&self, field: &Expr, literal: &Expr) -> bool {
        matches!(literal, Expr::Str(_))
            && (self.is_ip(field) || self.infer(field) == Some(arrow::datatypes::DataType::Boolean))
    }

    /// Refuses a comparison of types Elasticsearch does not compare (its
    /// verifier: "first argument of [a > 1] is [keyword] so second argument
    /// must also be [keyword]"): text with a number or a boolean, a time with
    /// a number or a boolean, a number with a boolean. SQL would cast the text
    /// row by row and fail the whole query on the first that is not a number.
    /// A string literal beside a number stays allowed (cast once, when planned).
    fn comparable(&self, l: &Expr, r: &Expr) -> Result<()> {
        use arrow::datatypes::DataType as T;
        fn family(e: &Expr, t: &T) -> Option<&'static str> {
            match t {
                T::Dictionary(_, value) => family(e, value),
                t if t.is_string() && !matches!(e, Expr::Str(_)) => Some("keyword"),
                t if t.is_integer() => Some("integer or long"),
                t if t.is_floating() || matches!(t, T::Decimal128(..)) => Some("double"),
                T::Boolean => Some("boolean"),
                T::Timestamp(..) | T::Date32 | T::Date64 => Some("datetime"),
                _ => None,
            }
        }
        if self.is_ip(l) || self.is_ip(r) || self.is_version(l) || self.is_version(r) {
            return Ok(());
        }
        let (Some(lt), Some(rt)) = (self.infer(l), self.infer(r)) else {
            return Ok(());
        };
        let (lt, rt) = (item_type(lt), item_type(rt));
        let (Some(left_type), Some(right_type)) = (family(l, &lt), family(r, &rt)) else {
            return Ok(());
        };
        let describe = |e: &Expr| match e {
            Expr::Field(name) => name.clone(),
            Expr::Int(int) => int.to_string(),
            Expr::Float(float) => float.to_string(),
            Expr::Bool(truth) => truth.to_string(),
            Expr::Call(name, ..) => format!("{}(...)", name.to_ascii_uppercase()),
            _ => "an expression".to_owned(),
        };
        let numeric = |f: &str| f == "integer or long" || f == "double";
        let refused = left_type != right_type
            && !(numeric(left_type) && numeric(right_type))
            && [left_type, right_type]
                .iter()
                .any(|f| matches!(*f, "keyword" | "datetime" | "boolean"));
        if refused {
            return Err(error(
                self.pos_of(l),
                format!(
                    "cannot compare {} ({left_type}) with {} ({right_type}): Elasticsearch compares values \
                     of one type only (convert one side, e.g. with TO_STRING, TO_LONG or \
                     TO_DATETIME)",
                    describe(l),
                    describe(r)
                ),
            ));
        }
        Ok(())
    }

    /// The time and the span of `l op r` where one is a time read from the
    /// rows and the other a span literal (`t + 1 day`, `1 year + t`, `t - 1
    /// hour`). A constant time is left to SQL, which folds it to a literal
    /// (time bounds then reach the scan's pruning; `esql_add` is volatile).
    fn time_and_span<'e>(
        &self,
        l: &'e Expr,
        op: &str,
        r: &'e Expr,
    ) -> Option<(&'e Expr, &'e Expr)> {
        let is_span = |e: &Expr| match e {
            Expr::Span(_) | Expr::Calendar(..) => true,
            Expr::Neg(inner) => matches!(**inner, Expr::Span(_) | Expr::Calendar(..)),
            _ => false,
        };
        let is_time = |e: &Expr| {
            matches!(
                self.infer(e),
                Some(arrow::datatypes::DataType::Timestamp(..))
            )
        };
        if is_span(r) && is_time(l) && !super::parser::constant(l) {
            Some((l, r))
        } else if op == "+" && is_span(l) && is_time(r) && !super::parser::constant(r) {
            Some((r, l))
        } else {
            None
        }
    }

    /// Whether `e` is a time or a span (what `time + NULL` stays typed as).
    fn time_or_span(&self, e: &Expr) -> bool {
        matches!(e, Expr::Span(_) | Expr::Calendar(..))
            || matches!(
                self.infer(e),
                Some(arrow::datatypes::DataType::Timestamp(..))
            )
    }

    /// The position of the first call inside `e`, else of its command.
    pub(super) fn pos_of(&self, e: &Expr) -> usize {
        fn call(e: &Expr) -> Option<usize> {
            match e {
                Expr::Call(_, _, pos) | Expr::Options(_, pos) => Some(*pos),
                Expr::Binary(l, _, r) => call(l).or_else(|| call(r)),
                Expr::Not(i) | Expr::Neg(i) | Expr::IsNull(i, _) | Expr::In(i, _, _) => call(i),
                _ => None,
            }
        }
        call(e).unwrap_or_else(|| self.command_at.get())
    }

    /// A comparison operand: a field is read through `mv_single`, so a
    /// multi-valued field compares as NULL, as in ES|QL.
    pub(super) fn operand(&self, e: &Expr, single: bool, out: &mut String) -> Result<()> {
        match e {
            Expr::Field(name) if self.multi_field(name).is_some() => self.expr(e, out),
            // A multi-valued list is also counted for ES|QL's warning.
            Expr::Field(name) if single && self.is_list(e) => {
                let _ = write!(out, "mv_single(esql_mv_check({}))", quote(name));
                Ok(())
            }
            Expr::Field(name) if single => {
                let _ = write!(out, "mv_single({})", quote(name));
                Ok(())
            }
            // A computed list (a literal, MV_SLICE, a conversion of a list)
            // read as one value: NULL where it holds several, with the warning.
            other if single && self.is_list(other) => {
                out.push_str("mv_single(esql_mv_check(");
                self.expr(other, out)?;
                out.push_str("))");
                Ok(())
            }
            other => self.expr(other, out),
        }
    }
}

/// Whether CASE's value types (NULLs left out) mix a list with single
/// numbers, one of them decimal (see `Sql::case_of_doubles`).
fn doubles_of(values: &[arrow::datatypes::DataType]) -> bool {
    use arrow::datatypes::DataType as T;
    let lists = values.iter().filter(|t| matches!(t, T::List(_))).count();
    lists > 0
        && lists < values.len()
        && values.iter().all(|t| item_type(t.clone()).is_numeric())
        && values.iter().any(|t| item_type(t.clone()).is_floating())
}

/// Whether a call to `name` gives values of its arguments that all pass
/// `typed` (an address, a version): CASE's and COALESCE's values,
/// MV_APPEND's lists, the MV_ functions that pick or order a list's values.
/// NULLs take no part.
fn passes_values(name: &str, args: &[Expr], typed: &dyn Fn(&Expr) -> bool) -> bool {
    let values: Vec<&Expr> = match name {
        "case" if args.len() >= 2 => case_values(args).collect(),
        "coalesce" | "mv_append" => args.iter().collect(),
        "mv_dedupe" | "mv_sort" | "mv_slice" | "mv_first" | "mv_last" | "mv_min" | "mv_max" => {
            args.iter().take(1).collect()
        }
        _ => return false,
    };
    let values: Vec<&Expr> = values
        .into_iter()
        .filter(|v| !matches!(v, Expr::Null))
        .collect();
    !values.is_empty() && values.into_iter().all(typed)
}

/// The values `CASE(cond, value, ..., [else])` can give: each value, and
/// the else where there is one.
fn case_values(args: &[Expr]) -> impl Iterator<Item = &Expr> {
    args.iter()
        .skip(1)
        .step_by(2)
        .chain((args.len() % 2 == 1).then(|| &args[args.len() - 1]))
}

/// The most months of whole 400-year cycles (4,800 months each) in one SQL
/// interval (at most 2^31 - 1 months).
const WHOLE_CYCLES: i64 = 4800 * (i32::MAX as i64 / 4800);

/// The calendar months of a span literal (`2 years` is 24); `None` for a
/// fixed span. As Elasticsearch builds a `Period`, a count of months or
/// quarters past an integer, or of years past one, is refused.
fn calendar_months(span: &Expr, pos: usize) -> Result<Option<i64>> {
    match span {
        Expr::Neg(inner) => Ok(calendar_months(inner, pos)?.map(|m| -m)),
        Expr::Calendar(n, unit) => {
            let per = match *unit {
                "quarter" => 3,
                "year" => 12,
                _ => 1,
            };
            let count = if *unit == "year" {
                *n
            } else {
                n.saturating_mul(per)
            };
            if i32::try_from(count).is_err() {
                return Err(error(
                    pos,
                    format!("{n} {unit}s is outside the range of a period (an integer of {unit}s)"),
                ));
            }
            Ok(Some(n * per))
        }
        _ => Ok(None),
    }
}
