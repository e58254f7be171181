//! The ES|QL syntax tree: expressions and commands, with byte positions.

/// An expression.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Expr {
    Field(String),
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
    /// A time span in ns (`8 hour`).
    Span(i64),
    /// A calendar span: `1 month`, `2 quarters`, `1 year`.
    Calendar(i64, &'static str),
    Now,
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Binary(Box<Expr>, &'static str, Box<Expr>),
    IsNull(Box<Expr>, bool),
    /// `x [NOT] IN (a, b, ...)`.
    In(Box<Expr>, Vec<Expr>, bool),
    /// `x [NOT] LIKE "pattern"` (wildcards `*` and `?`), `x [NOT] RLIKE "regex"`;
    /// with a list, `x LIKE ("a*", "b?")`, true where any pattern matches.
    Like(Box<Expr>, Vec<String>, bool, bool),
    /// Function name (lowercase), arguments, position.
    Call(String, Vec<Expr>, usize),
    /// `{ "name": value, ... }`, a function's options, at a position.
    Options(Vec<(String, Expr)>, usize),
    /// `[a, b, ...]`: a multi-valued constant, at a position.
    List(Vec<Expr>, usize),
}

/// ES|QL's aggregate functions (what STATS computes per group).
pub(super) const AGGREGATES: &[&str] = &[
    "count",
    "count_distinct",
    "values",
    "median",
    "sum",
    "min",
    "max",
    "avg",
    "std_dev",
    "variance",
    "std_var",
    "percentile",
    "weighted_avg",
    "median_absolute_deviation",
    "top",
    "first",
    "last",
    "present",
    "absent",
];

impl Expr {
    /// Whether this is a call of one of the [`AGGREGATES`].
    pub(super) fn is_aggregate(&self) -> bool {
        matches!(self, Expr::Call(name, _, _) if AGGREGATES.contains(&name.as_str()))
    }

    /// Pushes the name of every field this expression reads onto `out`.
    pub(super) fn fields<'e>(&'e self, out: &mut Vec<&'e str>) {
        match self {
            Expr::Field(name) => out.push(name),
            Expr::Not(e) | Expr::Neg(e) | Expr::IsNull(e, _) | Expr::Like(e, ..) => e.fields(out),
            Expr::Binary(l, _, r) => {
                l.fields(out);
                r.fields(out);
            }
            Expr::In(e, list, _) => {
                e.fields(out);
                for x in list {
                    x.fields(out);
                }
            }
            Expr::Call(_, args, _) | Expr::List(args, _) => {
                for x in args {
                    x.fields(out);
                }
            }
            Expr::Options(options, _) => {
                for (_, x) in options {
                    x.fields(out);
                }
            }
            _ => {}
        }
    }

    /// Whether this expression reads field `name` exactly once, and none of
    /// its sub-fields (`name.x`).
    pub(super) fn reads_once(&self, name: &str) -> bool {
        let mut reads = vec![];
        self.fields(&mut reads);
        let sub = |r: &&str| r.strip_prefix(name).is_some_and(|s| s.starts_with('.'));
        reads.iter().filter(|r| **r == name).count() == 1 && !reads.iter().any(sub)
    }

    /// How deep the expression nests: 1 for a field or a literal.
    pub(super) fn depth(&self) -> usize {
        let deepest = |items: &[Expr]| items.iter().map(Expr::depth).max().unwrap_or(0);
        1 + match self {
            Expr::Not(e) | Expr::Neg(e) | Expr::IsNull(e, _) | Expr::Like(e, ..) => e.depth(),
            Expr::Binary(l, _, r) => l.depth().max(r.depth()),
            Expr::In(e, list, _) => e.depth().max(deepest(list)),
            Expr::Call(_, args, _) | Expr::List(args, _) => deepest(args),
            Expr::Options(options, _) => options.iter().map(|(_, x)| x.depth()).max().unwrap_or(0),
            _ => 0,
        }
    }

    /// This expression with each aggregate call `c` (not looked inside)
    /// replaced by `f(c)`.
    pub(super) fn map_aggregates(&self, f: &mut dyn FnMut(&Expr) -> Expr) -> Expr {
        self.rewrite(&mut |e| e.is_aggregate().then(|| f(e)))
    }

    /// This expression with each part `p` for which `f(p)` is something
    /// replaced by it, outermost first; aggregate calls `f` leaves are not
    /// looked inside.
    pub(super) fn rewrite(&self, f: &mut dyn FnMut(&Expr) -> Option<Expr>) -> Expr {
        if let Some(replaced) = f(self) {
            return replaced;
        }
        let mut each = |e: &Expr| Box::new(e.rewrite(f));
        match self {
            call if call.is_aggregate() => call.clone(),
            Expr::Call(name, args, pos) => Expr::Call(
                name.clone(),
                args.iter().map(|a| a.rewrite(f)).collect(),
                *pos,
            ),
            Expr::Not(e) => Expr::Not(each(e)),
            Expr::Neg(e) => Expr::Neg(each(e)),
            Expr::Binary(l, op, r) => {
                let l = each(l);
                Expr::Binary(l, op, Box::new(r.rewrite(f)))
            }
            Expr::IsNull(e, not) => Expr::IsNull(each(e), *not),
            Expr::In(e, list, not) => {
                let e = each(e);
                Expr::In(e, list.iter().map(|x| x.rewrite(f)).collect(), *not)
            }
            Expr::Like(e, patterns, regex, not) => {
                Expr::Like(each(e), patterns.clone(), *regex, *not)
            }
            Expr::List(items, pos) => {
                Expr::List(items.iter().map(|x| x.rewrite(f)).collect(), *pos)
            }
            other => other.clone(),
        }
    }

    /// Whether `self` and `other` are the same expression, wherever each
    /// was written (positions aside).
    pub(super) fn same(&self, other: &Expr) -> bool {
        let all =
            |a: &[Expr], b: &[Expr]| a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same(y));
        match (self, other) {
            (Expr::Call(f, a, _), Expr::Call(g, b, _)) => f == g && all(a, b),
            (Expr::List(a, _), Expr::List(b, _)) => all(a, b),
            (Expr::Options(a, _), Expr::Options(b, _)) => {
                a.len() == b.len() && a.iter().zip(b).all(|((k, x), (l, y))| k == l && x.same(y))
            }
            (Expr::Not(a), Expr::Not(b)) | (Expr::Neg(a), Expr::Neg(b)) => a.same(b),
            (Expr::Binary(a, op, b), Expr::Binary(c, op2, d)) => {
                op == op2 && a.same(c) && b.same(d)
            }
            (Expr::IsNull(a, n), Expr::IsNull(b, m)) => n == m && a.same(b),
            (Expr::In(a, items, not), Expr::In(b, others, other_not)) => {
                not == other_not && a.same(b) && all(items, others)
            }
            (
                Expr::Like(a, patterns, regex, not),
                Expr::Like(b, others, other_regex, other_not),
            ) => (patterns, regex, not) == (others, other_regex, other_not) && a.same(b),
            (a, b) => a == b,
        }
    }
}

/// Named expressions: `name = expr, ...`.
pub(super) type Named = Vec<(String, Expr)>;

/// What `LOOKUP JOIN index ON ...` matches on.
#[derive(Clone, Debug)]
pub(super) enum LookupOn {
    /// Fields of the same name on both sides (`ON a, b`): equal values.
    Fields(Vec<String>),
    /// A condition over fields of either side (`ON a == b AND c >= d`),
    /// each name found on one side only.
    Condition(Expr),
}

/// One command of the pipeline.
#[derive(Clone, Debug)]
pub(super) enum Command {
    /// Index patterns, then `METADATA` fields with their positions.
    From(Vec<String>, Vec<(String, usize)>),
    /// `ROW name = value, ...`: one row of constants, no index.
    Row(Vec<(String, Expr)>),
    /// `DISSECT field "pattern" [APPEND_SEPARATOR = "sep"]`, at a position.
    Dissect(String, String, String, usize),
    /// `GROK field "pattern", ...`, at a position: the first pattern that
    /// matches gives the values.
    Grok(String, Vec<String>, usize),
    MvExpand(String),
    /// `ENRICH policy [ON field] [WITH [new =] field, ...]`, at a position.
    Enrich(String, Option<String>, Vec<(String, String)>, usize),
    Where(Expr),
    Keep(Vec<String>),
    /// Aggregates, then the `BY` keys: a field, or a named expression
    /// (`BY hour = BUCKET(@timestamp, 1 hour)`, or unnamed, named by its text).
    Stats(Named, Named),
    /// `INLINE STATS`: STATS' result added to every row of its group.
    InlineStats(Named, Named),
    /// `LOOKUP JOIN index ON ...`, at a position.
    LookupJoin(String, LookupOn, usize),
    Sort(Vec<(String, bool, Option<bool>)>),
    Limit(i64),
    /// `LIMIT n BY key, ...`: at most n rows of each key's group, in order.
    LimitBy(i64, Vec<Expr>),
    Eval(Vec<(String, Expr)>),
    Drop(Vec<String>),
    Rename(Vec<(String, String)>),
}
