//! Tokens -> commands: a recursive-descent parser over ES|QL's grammar.

use std::collections::HashMap;

use super::ast::{Command, Expr, LookupOn, Named};
use super::commands::wildcard_match;
use super::lexer::{Tok, lex, without_comments};
use super::{Result, error};

pub(super) struct Parser {
    toks: Vec<(Tok, usize)>,
    at: usize,
    end: usize,
    /// The query's text.
    source: String,
    /// Columns an earlier EVAL or ROW made constant (`EVAL p = "Eber*"`),
    /// with their values: where ES|QL wants a constant (a LIKE pattern,
    /// BUCKET's bounds, a date pattern), such a column is one, as
    /// Elasticsearch's optimizer propagates them.
    constants: HashMap<String, Expr>,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at).map(|(t, _)| t)
    }

    fn pos(&self) -> usize {
        self.toks.get(self.at).map_or(self.end, |(_, p)| *p)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.at).map(|(t, _)| t.clone());
        self.at += 1;
        t
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(w)) if w.eq_ignore_ascii_case(word))
    }

    fn eat_keyword(&mut self, word: &str) -> bool {
        let hit = self.keyword(word);
        if hit {
            self.at += 1;
        }
        hit
    }

    fn expect(&mut self, tok: &Tok, what: &str) -> Result<()> {
        if self.peek() == Some(tok) {
            self.at += 1;
            Ok(())
        } else {
            Err(error(self.pos(), format!("expected {what}")))
        }
    }

    fn field(&mut self) -> Result<String> {
        match self.next() {
            Some(Tok::Ident(name) | Tok::Name(name)) => Ok(name),
            _ => Err(error(
                self.toks.get(self.at - 1).map_or(self.end, |t| t.1),
                "expected a field name",
            )),
        }
    }

    /// A field name, or a pattern of names with `*` wildcards (`ab*`,
    /// `*_id`, `*`) written without spaces (KEEP and DROP).
    fn pattern(&mut self) -> Result<String> {
        let mut out = String::new();
        let mut end: Option<usize> = None;
        while let Some((tok, start)) = self.toks.get(self.at).cloned() {
            if end.is_some_and(|e| e != start) {
                break;
            }
            match tok {
                Tok::Op("*") => {
                    out.push('*');
                    end = Some(start + 1);
                }
                Tok::Ident(name) => {
                    end = Some(start + name.len());
                    out.push_str(&name);
                }
                // Digits inside a pattern (`*2bool`) lex as a number: taken
                // as written (`*01` is not `*1`).
                Tok::Int(n) if n >= 0 && end.is_some() => {
                    let digits: String = self.source[start..]
                        .chars()
                        .take_while(char::is_ascii_digit)
                        .collect();
                    end = Some(start + digits.len());
                    out.push_str(&digits);
                }
                // A name in backticks is whole.
                Tok::Name(name) if out.is_empty() => {
                    self.at += 1;
                    return Ok(name);
                }
                _ => break,
            }
            self.at += 1;
        }
        if out.is_empty() {
            return Err(error(
                self.toks.get(self.at).map_or(self.end, |t| t.1),
                "expected a field name",
            ));
        }
        Ok(out)
    }

    /// An [`assignment`](Parser::assignment) of ROW or EVAL, its column
    /// counted in [`Parser::constants`] (or no longer) once it is read.
    fn constant_assignment(&mut self, text: &str) -> Result<(String, Expr)> {
        let (name, e) = self.assignment(text)?;
        let value = self.resolve(&e);
        // Small values only: each is copied where it is read, so a chain
        // of `b = a + a, c = b + b, ...` would double at every step.
        if constant(&value) && nodes(&value, MAX_CONSTANT_NODES).is_some() {
            self.constants.insert(name.clone(), value);
        } else {
            self.constants.remove(&name);
        }
        Ok((name, e))
    }

    /// The field DISSECT or GROK reads: a field, or an expression computed
    /// into a hidden column by an EVAL pushed onto `before`.
    fn parsed_field(&mut self, before: &mut Vec<Command>, pos: usize) -> Result<String> {
        Ok(match self.additive()? {
            Expr::Field(name) => name,
            other => {
                let name = format!("{PARSED}{pos}");
                before.push(Command::Eval(vec![(name.clone(), other)]));
                name
            }
        })
    }

    /// `command`, and where it reads a hidden column ([`Parser::parsed_field`]),
    /// that column dropped after it.
    fn dropped_after(before: &mut Vec<Command>, field: &str, command: Command) -> Command {
        if field.starts_with(PARSED) {
            before.push(command);
            Command::Drop(vec![field.to_owned()])
        } else {
            command
        }
    }

    /// `e` with each column that holds a constant replaced by its value.
    fn resolve(&self, e: &Expr) -> Expr {
        match e {
            Expr::Field(name) => self
                .constants
                .get(name)
                .cloned()
                .unwrap_or_else(|| e.clone()),
            Expr::Neg(inner) => Expr::Neg(Box::new(self.resolve(inner))),
            Expr::Binary(l, op, r) => {
                Expr::Binary(Box::new(self.resolve(l)), op, Box::new(self.resolve(r)))
            }
            Expr::Call(name, args, pos) if !e.is_aggregate() => Expr::Call(
                name.clone(),
                args.iter().map(|a| self.resolve(a)).collect(),
                *pos,
            ),
            other => other.clone(),
        }
    }

    /// Updates [`Parser::constants`] for what `command` makes of the columns.
    fn track(&mut self, command: &Command) {
        match command {
            Command::Rename(pairs) => {
                for (old, new) in pairs {
                    let value = self.constants.remove(old);
                    self.constants.remove(new);
                    if let Some(value) = value {
                        self.constants.insert(new.clone(), value);
                    }
                }
            }
            Command::Drop(patterns) => self
                .constants
                .retain(|name, _| !patterns.iter().any(|p| wildcard_match(p, name))),
            Command::Keep(patterns) => self
                .constants
                .retain(|name, _| patterns.iter().any(|p| wildcard_match(p, name))),
            Command::MvExpand(name) => {
                self.constants.remove(name);
            }
            Command::InlineStats(aggregates, by) => {
                for (name, _) in aggregates.iter().chain(by) {
                    self.constants.remove(name);
                }
            }
            // ROW and EVAL are counted as each assignment is read
            // (`constant_assignment`): a later one may read an earlier one.
            Command::Row(_)
            | Command::Eval(_)
            | Command::Where(_)
            | Command::Sort(_)
            | Command::Limit(_)
            | Command::LimitBy(..) => {}
            // Commands that replace the columns, or add columns not named
            // here: nothing is known constant after them.
            Command::From(..)
            | Command::Stats(..)
            | Command::Dissect(..)
            | Command::Grok(..)
            | Command::Enrich(..)
            | Command::LookupJoin(..) => self.constants.clear(),
        }
    }

    /// `item (, item)*`.
    fn list<T>(&mut self, mut item: impl FnMut(&mut Self) -> Result<T>) -> Result<Vec<T>> {
        let mut out = vec![item(self)?];
        while self.peek() == Some(&Tok::Comma) {
            self.at += 1;
            out.push(item(self)?);
        }
        Ok(out)
    }

    /// `name = expr`, or a bare `expr` named by its own text (as ES|QL names it).
    fn assignment(&mut self, text: &str) -> Result<(String, Expr)> {
        let named = matches!(
            (self.toks.get(self.at), self.toks.get(self.at + 1)),
            (
                Some((Tok::Ident(_) | Tok::Name(_), _)),
                Some((Tok::Op("="), _))
            )
        );
        let name = if named {
            let n = self.field()?;
            self.at += 1;
            if self.peek().is_none() || self.keyword("by") || self.peek() == Some(&Tok::Pipe) {
                return Err(error(
                    self.pos(),
                    format!("expected an expression after {n} ="),
                ));
            }
            Some(n)
        } else {
            None
        };
        let start = self.pos();
        let e = self.expr()?;
        let end = self.pos().min(text.len());
        // Unnamed, a column is named by its text, without comments.
        Ok((
            name.unwrap_or_else(|| without_comments(&text[start..end]).trim().to_owned()),
            e,
        ))
    }

    /// A name taken as written, up to white space or a pipe (policy and
    /// index names hold dashes and dots: `libs-policy-defend`).
    fn raw_name(&mut self, text: &str, missing: &str) -> Result<String> {
        let at = self.pos().min(text.len());
        let len = text[at..]
            .find(|c: char| c.is_whitespace() || c == '|')
            .unwrap_or(text.len() - at);
        if len == 0 || self.peek().is_none() {
            return Err(error(at, missing));
        }
        while self
            .toks
            .get(self.at)
            .is_some_and(|(_, pos)| *pos < at + len)
        {
            self.at += 1;
        }
        Ok(text[at..at + len].to_owned())
    }

    /// What follows `STATS` (and `INLINE STATS`): the aggregates, each
    /// with its `WHERE`, then the `BY` keys.
    fn stats(&mut self, text: &str) -> Result<(Named, Named)> {
        let p = self;
        // `STATS BY keys` alone gives the distinct groups.
        let aggs = if p.keyword("by") {
            vec![]
        } else {
            p.list(|p| {
                let (name, agg) = p.assignment(text)?;
                // `agg WHERE cond` counts only the rows where cond holds.
                if !p.eat_keyword("where") {
                    return Ok((name, agg));
                }
                let cond = p.expr()?;
                let mut found = false;
                let filtered = agg.map_aggregates(&mut |call| {
                    found = true;
                    let Expr::Call(f, args, pos) = call else {
                        return call.clone();
                    };
                    let only = |arg: Expr| match arg {
                        Expr::Field(star) if star == "*" => {
                            Expr::Call("case".into(), vec![cond.clone(), Expr::Int(1)], *pos)
                        }
                        other => Expr::Call("case".into(), vec![cond.clone(), other], *pos),
                    };
                    let args = if args.is_empty() && f == "count" {
                        vec![only(Expr::Field("*".into()))]
                    } else {
                        let mut args = args.clone();
                        if let Some(first) = args.first_mut() {
                            *first = only(first.clone());
                        }
                        // WEIGHTED_AVG sums its weights too: those of the rows
                        // kept (a constant weight makes it an average); FIRST
                        // and LAST choose among the rows kept (the others'
                        // sort values are NULL, which come last).
                        if (f == "weighted_avg" && args.len() == 2 && !constant(&args[1]))
                            || (matches!(f.as_str(), "first" | "last") && args.len() == 2)
                        {
                            args[1] = only(args[1].clone());
                        }
                        args
                    };
                    Expr::Call(f.clone(), args, *pos)
                });
                if !found {
                    return Err(error(p.pos(), "WHERE in STATS follows an aggregate"));
                }
                Ok((name, filtered))
            })?
        };
        let by = if p.eat_keyword("by") {
            p.list(|p| {
                let (name, key) = p.assignment(text)?;
                // A field keeps its own name (also when written in backticks).
                Ok(match key {
                    Expr::Field(f) if name.replace('`', "") == f => (f.clone(), Expr::Field(f)),
                    other => (name, other),
                })
            })?
        } else {
            vec![]
        };
        // A key of a later key's name is shadowed by it, and no longer a
        // key: `BY x = emp_no, x = languages` groups by languages
        // (stats.csv-spec nestedAggsOverGroupingTwiceWithAlias).
        let by: Named = by
            .iter()
            .enumerate()
            .filter(|(i, (name, _))| !by[i + 1..].iter().any(|(later, _)| later == name))
            .map(|(_, key)| key.clone())
            .collect();
        // An aggregate of a key's name is shadowed by the key (ES|QL warns
        // "Field 'x' shadowed"; the key's values are kept).
        let aggs = aggs
            .into_iter()
            .filter(|(name, _)| !by.iter().any(|(key, _)| key == name))
            .collect();
        Ok((aggs, by))
    }

    fn expr(&mut self) -> Result<Expr> {
        self.or()
    }

    fn or(&mut self) -> Result<Expr> {
        let mut left = self.and()?;
        while self.eat_keyword("or") {
            left = Expr::Binary(Box::new(left), "OR", Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr> {
        let mut left = self.not()?;
        while self.eat_keyword("and") {
            left = Expr::Binary(Box::new(left), "AND", Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr> {
        if self.eat_keyword("not") {
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr> {
        let left = self.additive()?;
        if self.eat_keyword("is") {
            let negated = self.eat_keyword("not");
            if !self.eat_keyword("null") {
                return Err(error(self.pos(), "expected NULL after IS"));
            }
            return Ok(Expr::IsNull(Box::new(left), negated));
        }
        let negated = self.keyword("not")
            && matches!(self.toks.get(self.at + 1), Some((Tok::Ident(w), _))
                if ["in", "like", "rlike"].iter().any(|k| w.eq_ignore_ascii_case(k)));
        if negated {
            self.at += 1;
        }
        if self.eat_keyword("in") {
            self.expect(&Tok::LParen, "'(' after IN")?;
            let list = self.list(Self::expr)?;
            self.expect(&Tok::RParen, "')' after the IN list")?;
            return Ok(Expr::In(Box::new(left), list, negated));
        }
        for (word, regex) in [("like", false), ("rlike", true)] {
            if self.eat_keyword(word) {
                let name = word.to_ascii_uppercase();
                // A constant: text, or CONCAT, TO_LOWER, TO_UPPER of text,
                // folded here as Elasticsearch folds it (where-like.csv-spec
                // likeConstantExpressionConcat).
                let pattern = |p: &mut Self| {
                    let pos = p.pos();
                    let refused = || {
                        error(
                            pos,
                            format!(
                                "{name} takes string patterns (text, or CONCAT, TO_LOWER, \
                                 TO_UPPER of text)"
                            ),
                        )
                    };
                    if p.peek() == Some(&Tok::RParen) {
                        return Err(refused());
                    }
                    let e = p.additive()?;
                    constant_text(&p.resolve(&e)).ok_or_else(refused)
                };
                // `x LIKE ("a*", "b?")`: any of the patterns.
                let patterns = if self.peek() == Some(&Tok::LParen) {
                    self.at += 1;
                    let patterns = self.list(pattern)?;
                    self.expect(&Tok::RParen, "')' after the patterns")?;
                    patterns
                } else {
                    vec![pattern(self)?]
                };
                return Ok(Expr::Like(Box::new(left), patterns, regex, negated));
            }
        }
        if negated {
            return Err(error(self.pos(), "expected IN, LIKE or RLIKE after NOT"));
        }
        if self.peek() == Some(&Tok::Op(":")) {
            // `field : "query"` is MATCH(field, "query").
            let at = self.pos();
            self.at += 1;
            let query = self.additive()?;
            return Ok(Expr::Call("match".into(), vec![left, query], at));
        }
        let op = match self.peek() {
            Some(Tok::Op(op @ ("==" | "!=" | "<" | "<=" | ">" | ">="))) => *op,
            Some(Tok::Op("=")) => {
                return Err(error(
                    self.pos(),
                    "expected == to compare (= only names a column, in EVAL and STATS)",
                ));
            }
            _ => return Ok(left),
        };
        self.at += 1;
        Ok(Expr::Binary(Box::new(left), op, Box::new(self.additive()?)))
    }

    fn additive(&mut self) -> Result<Expr> {
        let mut left = self.multiplicative()?;
        while let Some(Tok::Op(op @ ("+" | "-"))) = self.peek() {
            let op = *op;
            let at = self.pos();
            self.at += 1;
            let mut right = self.multiplicative()?;
            // A string beside a time span is a date (`"2024-01-31" + 1
            // month`), as ES|QL casts it.
            let span = |e: &Expr| constant_span(e).is_some();
            let date = |e: Expr| match e {
                Expr::Str(_) => Expr::Call("to_datetime".into(), vec![e], at),
                other => other,
            };
            if span(&right) {
                left = date(left);
            } else if span(&left) {
                right = date(right);
            }
            left = add_spans(left, op, right);
        }
        Ok(left)
    }

    fn multiplicative(&mut self) -> Result<Expr> {
        let mut left = self.unary()?;
        while let Some(Tok::Op(op @ ("*" | "/" | "%"))) = self.peek() {
            let op = *op;
            self.at += 1;
            left = Expr::Binary(Box::new(left), op, Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr> {
        if self.peek() == Some(&Tok::Op("-")) {
            self.at += 1;
            // The smallest long, whose magnitude is past the long range: a
            // long, read on as any number (`-9223372036854775808::double`).
            if self.peek() == Some(&Tok::Unsigned(i64::MIN.unsigned_abs())) {
                self.toks[self.at].0 = Tok::Int(i64::MIN);
                return self.unary();
            }
            let inner = self.unary()?;
            // A negated span is a span (`-(1 hour + 1 minute)`, `-(-1 year)`).
            if let Some((months, ns)) = constant_span(&inner)
                && let (Some(months), Some(ns)) = (months.checked_neg(), ns.checked_neg())
            {
                return Ok(match inner {
                    Expr::Calendar(n, unit) => Expr::Calendar(-n, unit),
                    _ => span_of(months, ns),
                });
            }
            return Ok(Expr::Neg(Box::new(inner)));
        }
        // A unary plus changes nothing (`-+-+-1` is -1).
        if self.peek() == Some(&Tok::Op("+")) {
            self.at += 1;
            return self.unary();
        }
        let mut e = self.primary()?;
        // `value::type`, the inline form of the TO_* conversions.
        while self.peek() == Some(&Tok::Op("::")) {
            self.at += 1;
            let pos = self.pos();
            let Some(Tok::Ident(to)) = self.next() else {
                return Err(error(pos, "expected a type after ::"));
            };
            let function = match to.to_ascii_lowercase().as_str() {
                "double" => "to_double",
                "integer" | "int" => "to_integer",
                "long" => "to_long",
                "keyword" | "string" | "text" => "to_string",
                "datetime" | "date" => "to_datetime",
                "ip" => "to_ip",
                "unsigned_long" | "ul" => "to_unsigned_long",
                "boolean" | "bool" => "to_boolean",
                "version" => "to_version",
                "date_period" | "time_duration" => {
                    e = span_of_text(&self.resolve(&e), pos)?;
                    continue;
                }
                other => {
                    return Err(error(pos, format!("cannot cast to {other}")));
                }
            };
            e = Expr::Call(function.to_owned(), vec![e], pos);
        }
        Ok(e)
    }

    /// `[a, b, ...]` after its bracket at `pos`: constants of one type.
    fn list_literal(&mut self, pos: usize) -> Result<Expr> {
        let mut items = vec![];
        if self.peek() != Some(&Tok::RBracket) {
            items = self.list(Parser::expr)?;
        }
        self.expect(&Tok::RBracket, "']' after the list")?;
        if matches!(self.peek(), Some(Tok::Op("."))) {
            // Elasticsearch's newer `[index].[field]` (name_qualifiers).
            return Err(error(
                pos,
                "qualified names ([index].[field]) are not supported yet: write the field's name",
            ));
        }
        Ok(Expr::List(unsigned_list(items, pos), pos))
    }

    fn primary(&mut self) -> Result<Expr> {
        let pos = self.pos();
        match self.next() {
            Some(Tok::Str(s)) => Ok(Expr::Str(s)),
            Some(Tok::Int(n)) => self.maybe_span(n, pos, Expr::Int(n)),
            Some(Tok::Unsigned(n)) => Ok(unsigned(n, pos)),
            Some(Tok::Float(x)) => Ok(Expr::Float(x)),
            Some(Tok::LParen) => {
                let e = self.expr()?;
                self.expect(&Tok::RParen, "')'")?;
                Ok(e)
            }
            Some(Tok::Name(name)) => Ok(Expr::Field(name)),
            Some(Tok::LBracket) => self.list_literal(pos),
            Some(Tok::LBrace) => {
                // `{ "name": value, ... }`: a function's options.
                let mut options = vec![];
                if self.peek() != Some(&Tok::RBrace) {
                    options = self.list(|p| {
                        let at = p.pos();
                        let Some(Tok::Str(name)) = p.next() else {
                            return Err(error(at, "expected an option name in quotes"));
                        };
                        p.expect(&Tok::Op(":"), "':' after the option name")?;
                        let at = p.pos();
                        let value = match p.next() {
                            Some(Tok::Str(s)) => Expr::Str(s),
                            Some(Tok::Int(n)) => Expr::Int(n),
                            Some(Tok::Float(x)) => Expr::Float(x),
                            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("true") => {
                                Expr::Bool(true)
                            }
                            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("false") => {
                                Expr::Bool(false)
                            }
                            _ => return Err(error(at, "expected a constant option value")),
                        };
                        Ok((name, value))
                    })?;
                }
                self.expect(&Tok::RBrace, "'}' after the options")?;
                Ok(Expr::Options(options, pos))
            }
            Some(Tok::Ident(word)) => {
                if self.peek() == Some(&Tok::LParen) {
                    self.at += 1;
                    let mut args = vec![];
                    if self.peek() != Some(&Tok::RParen) {
                        loop {
                            if self.peek() == Some(&Tok::Op("*")) {
                                self.at += 1;
                                args.push(Expr::Field("*".into()));
                            } else {
                                args.push(self.expr()?);
                            }
                            if self.peek() == Some(&Tok::Comma) {
                                self.at += 1;
                            } else {
                                break;
                            }
                        }
                    }
                    self.expect(&Tok::RParen, "')' after the arguments")?;
                    let name = function_name(&word);
                    if name == "now" {
                        return Ok(Expr::Now);
                    }
                    if CONSTANT_ARGUMENTS.contains(&name.as_str()) {
                        args = args.iter().map(|a| self.resolve(a)).collect();
                    }
                    if matches!(name.as_str(), "to_dateperiod" | "to_timeduration") {
                        let [arg] = args.as_slice() else {
                            return Err(error(
                                pos,
                                format!(
                                    "{} takes 1 arguments, got {}",
                                    name.to_ascii_uppercase(),
                                    args.len()
                                ),
                            ));
                        };
                        return span_of_text(arg, pos);
                    }
                    numbers_of_text(&name, &mut args, pos)?;
                    return Ok(Expr::Call(name, args, pos));
                }
                match word.to_ascii_lowercase().as_str() {
                    "true" => Ok(Expr::Bool(true)),
                    "false" => Ok(Expr::Bool(false)),
                    "null" => Ok(Expr::Null),
                    _ => Ok(Expr::Field(word)),
                }
            }
            _ => Err(error(pos, "expected an expression")),
        }
    }

    /// `8 hour`, `1d`: a number followed by a time unit is a span.
    fn maybe_span(&mut self, n: i64, pos: usize, plain: Expr) -> Result<Expr> {
        if let Some(Tok::Ident(unit)) = self.peek()
            && let Some(span) = span(n, unit, pos)
        {
            self.at += 1;
            return span;
        }
        Ok(plain)
    }
}

/// `n unit` as a span (`Expr::Span` in ns, or `Expr::Calendar`); `None` when
/// `unit` is not a time unit.
fn span(n: i64, unit: &str, pos: usize) -> Option<Result<Expr>> {
    let unit = unit.to_ascii_lowercase();
    let ns: Option<i64> = match unit.as_str() {
        "ms" | "millisecond" | "milliseconds" => Some(1_000_000),
        "s" | "sec" | "secs" | "second" | "seconds" => Some(1_000_000_000),
        "m" | "min" | "mins" | "minute" | "minutes" => Some(60_000_000_000),
        "h" | "hour" | "hours" => Some(3_600_000_000_000),
        "d" | "day" | "days" => Some(86_400_000_000_000),
        "w" | "week" | "weeks" => Some(7 * 86_400_000_000_000),
        _ => None,
    };
    let calendar = match unit.as_str() {
        "mo" | "month" | "months" => Some("month"),
        "q" | "quarter" | "quarters" => Some("quarter"),
        "y" | "yr" | "year" | "years" => Some("year"),
        _ => None,
    };
    if let Some(unit) = calendar {
        return Some(Ok(Expr::Calendar(n, unit)));
    }
    let ns = ns?;
    Some(
        n.checked_mul(ns)
            .map(Expr::Span)
            .ok_or_else(|| error(pos, "time span out of range")),
    )
}

/// The math functions, whose arguments take no text: a string literal
/// there is the number it writes, as Elasticsearch's analyzer casts it to
/// the widest of the parameter's types (`ABS("10.0")` is 10.0, a double;
/// ROUND's decimals a long).
const NUMERIC_ARGUMENTS: &[&str] = &[
    "abs", "acos", "asin", "atan", "atan2", "cbrt", "ceil", "cos", "cosh", "exp", "floor", "hypot",
    "log", "log10", "pow", "round", "signum", "sin", "sinh", "sqrt", "tan", "tanh",
];

/// `args` of function `name` with each string literal of a numeric
/// parameter (see [`NUMERIC_ARGUMENTS`]) read as its number; text that is
/// no number is refused, as Elasticsearch refuses it.
fn numbers_of_text(name: &str, args: &mut [Expr], pos: usize) -> Result<()> {
    if !NUMERIC_ARGUMENTS.contains(&name) {
        return Ok(());
    }
    for (i, arg) in args.iter_mut().enumerate() {
        let Expr::Str(text) = arg else { continue };
        let trimmed = text.trim();
        let long = name == "round" && i == 1;
        let number = if long {
            trimmed.parse::<i64>().ok().map(Expr::Int)
        } else {
            trimmed
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(Expr::Float)
        };
        let Some(number) = number else {
            return Err(error(
                pos,
                format!(
                    "Cannot convert string [{text}] to [{}], error [Cannot parse number [{text}]]",
                    if long { "LONG" } else { "DOUBLE" }
                ),
            ));
        };
        *arg = number;
    }
    Ok(())
}

/// A function's name as the translator knows it: lower case, an old name
/// as its current one (AUTO_BUCKET, BUCKET's before Elasticsearch 8.14).
fn function_name(word: &str) -> String {
    let name = word.to_ascii_lowercase();
    if name == "auto_bucket" {
        "bucket".into()
    } else {
        name
    }
}

/// The functions whose arguments Elasticsearch wants constant (a pattern,
/// a count, bounds, a span): a column an EVAL made constant is taken there.
const CONSTANT_ARGUMENTS: &[&str] = &[
    "bucket",
    "bin",
    "date_trunc",
    "date_parse",
    "date_format",
    "percentile",
    "mv_pseries_weighted_sum",
    "to_dateperiod",
    "to_timeduration",
];

/// The most nodes a column's constant value may have to be propagated.
const MAX_CONSTANT_NODES: usize = 64;

/// The number of nodes of `e`, or `None` past `budget`.
fn nodes(e: &Expr, budget: usize) -> Option<usize> {
    let budget = budget.checked_sub(1)?;
    let children: Vec<&Expr> = match e {
        Expr::Neg(inner) | Expr::Not(inner) | Expr::IsNull(inner, _) | Expr::Like(inner, ..) => {
            vec![inner]
        }
        Expr::Binary(l, _, r) => vec![l, r],
        Expr::In(value, list, _) => std::iter::once(&**value).chain(list).collect(),
        Expr::Call(_, args, _) | Expr::List(args, _) => args.iter().collect(),
        Expr::Options(options, _) => options.iter().map(|(_, v)| v).collect(),
        _ => vec![],
    };
    let mut used = 1;
    for child in children {
        used += nodes(child, budget - (used - 1))?;
    }
    Some(used)
}

/// Whether `e` is the same value on every row: literals, spans, NOW() and
/// functions (not aggregates) of those.
pub(super) fn constant(e: &Expr) -> bool {
    match e {
        Expr::Str(_)
        | Expr::Int(_)
        | Expr::Float(_)
        | Expr::Bool(_)
        | Expr::Null
        | Expr::Span(_)
        | Expr::Calendar(..)
        | Expr::Now => true,
        Expr::Neg(inner) | Expr::Not(inner) => constant(inner),
        Expr::Binary(l, _, r) => constant(l) && constant(r),
        Expr::Call(_, args, _) if !e.is_aggregate() => args.iter().all(constant),
        Expr::List(items, _) => items.iter().all(constant),
        _ => false,
    }
}

/// An unsigned_long literal: TO_UNSIGNED_LONG of its digits, exact.
fn unsigned(n: u64, pos: usize) -> Expr {
    Expr::Call(
        "to_unsigned_long".into(),
        vec![Expr::Str(n.to_string())],
        pos,
    )
}

/// List items, whole numbers beside an unsigned_long made unsigned_longs
/// where none is negative (`[9223372036854775808, 1]`), as ES|QL types them.
fn unsigned_list(items: Vec<Expr>, pos: usize) -> Vec<Expr> {
    let unsigned_literal = |e: &Expr| {
        matches!(e, Expr::Call(f, a, _)
            if f == "to_unsigned_long" && matches!(a.as_slice(), [Expr::Str(_)]))
    };
    if !items.iter().any(unsigned_literal)
        || !items
            .iter()
            .all(|e| unsigned_literal(e) || matches!(e, Expr::Int(n) if *n >= 0))
    {
        return items;
    }
    items
        .into_iter()
        .map(|e| match e {
            Expr::Int(n) => unsigned(n.unsigned_abs(), pos),
            other => other,
        })
        .collect()
}

/// A constant span as calendar months and nanoseconds: `1 hour` (0, 3.6e12),
/// `1 year` (12, 0), and what [`span_of`] makes of their sums.
fn constant_span(e: &Expr) -> Option<(i64, i64)> {
    match e {
        Expr::Span(ns) => Some((0, *ns)),
        Expr::Calendar(n, unit) => {
            let months = match *unit {
                "quarter" => 3,
                "year" => 12,
                _ => 1,
            };
            Some((n.checked_mul(months)?, 0))
        }
        // A sum of months and a fixed span, as `span_of` writes it.
        Expr::Binary(l, "+", r) => match (&**l, &**r) {
            (Expr::Calendar(months, "month"), Expr::Span(ns)) => Some((*months, *ns)),
            _ => None,
        },
        _ => None,
    }
}

/// The span of `months` calendar months and `ns` nanoseconds: a
/// [`Expr::Span`], a month [`Expr::Calendar`], or (both) their sum, which a
/// time adds months first, as Java adds a `Period`'s years before its days.
fn span_of(months: i64, ns: i64) -> Expr {
    match (months, ns) {
        (0, ns) => Expr::Span(ns),
        (months, 0) => Expr::Calendar(months, "month"),
        (months, ns) => Expr::Binary(
            Box::new(Expr::Calendar(months, "month")),
            "+",
            Box::new(Expr::Span(ns)),
        ),
    }
}

/// `left op right` for `+` and `-`, with constant spans folded (`1 hour + 1
/// minute`, `1 year + 1 day`) and a sum of months and a fixed span added to
/// a time one after the other, months first: SQL cannot add a time to a
/// sum of an interval and a duration.
fn add_spans(left: Expr, op: &'static str, right: Expr) -> Expr {
    if let (Some((left_months, left_ns)), Some((right_months, right_ns))) =
        (constant_span(&left), constant_span(&right))
    {
        let sign = if op == "-" { -1 } else { 1 };
        let months = right_months
            .checked_mul(sign)
            .and_then(|m| left_months.checked_add(m));
        let ns = right_ns
            .checked_mul(sign)
            .and_then(|n| left_ns.checked_add(n));
        if let (Some(months), Some(ns)) = (months, ns) {
            // One calendar unit stays as written (`1 year + 1 year`).
            return match (&left, &right) {
                (Expr::Calendar(first, unit), Expr::Calendar(second, same)) if unit == same => {
                    match second.checked_mul(sign).and_then(|s| first.checked_add(s)) {
                        Some(n) => Expr::Calendar(n, unit),
                        None => span_of(months, ns),
                    }
                }
                _ => span_of(months, ns),
            };
        }
    }
    // A time and a sum of months and a fixed span: months, then the rest.
    let mixed = |e: &Expr| matches!(e, Expr::Binary(_, "+", _)) && constant_span(e).is_some();
    let (time, op, span) = if mixed(&right) {
        (left, op, right)
    } else if mixed(&left) && op == "+" {
        (right, op, left)
    } else {
        return Expr::Binary(Box::new(left), op, Box::new(right));
    };
    let Expr::Binary(months, _, rest) = span else {
        unreachable!("mixed spans are sums")
    };
    Expr::Binary(Box::new(Expr::Binary(Box::new(time), op, months)), op, rest)
}

/// `e` folded to text where it is constant: a string, or CONCAT, TO_LOWER
/// and TO_UPPER of constants.
pub(super) fn constant_text(e: &Expr) -> Option<String> {
    match e {
        Expr::Str(text) => Some(text.clone()),
        Expr::Call(name, args, _) => match (name.as_str(), args.as_slice()) {
            ("concat", [_, ..]) => args.iter().map(constant_text).collect(),
            ("to_lower", [a]) => constant_text(a).map(|t| t.to_lowercase()),
            ("to_upper", [a]) => constant_text(a).map(|t| t.to_uppercase()),
            _ => None,
        },
        _ => None,
    }
}

/// Whether `e` is NULL, or a conversion of NULL.
fn null_constant(e: &Expr) -> bool {
    match e {
        Expr::Null => true,
        Expr::Call(name, args, _) => {
            matches!(
                name.as_str(),
                "to_string" | "to_str" | "to_dateperiod" | "to_timeduration"
            ) && matches!(args.as_slice(), [a] if null_constant(a))
        }
        _ => false,
    }
}

/// A span written as text (`"3 days"::date_period`, `TO_TIMEDURATION("3
/// hours")`): a constant, as Elasticsearch requires.
pub(super) fn span_of_text(e: &Expr, pos: usize) -> Result<Expr> {
    let refuse = || {
        error(
            pos,
            "a date_period or time_duration is a constant text such as \"3 days\" or \"1 hour\"",
        )
    };
    // Already a span (`TO_DATEPERIOD("3 days"::date_period)`, `(3 months +
    // 3 days)::date_period`).
    if constant_span(e).is_some() {
        return Ok(e.clone());
    }
    // NULL, also converted (`TO_STRING(null)::date_period`): a NULL span,
    // which makes a date NULL (convert.csv-spec convertToDatePeriodNull).
    if null_constant(e) {
        return Ok(Expr::Null);
    }
    let text = constant_text(e).ok_or_else(refuse)?;
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let n: i64 = text[..digits].parse().map_err(|_| refuse())?;
    span(n, text[digits..].trim(), pos).unwrap_or_else(|| Err(refuse()))
}

/// The name of the expression a DISSECT or GROK at byte `n` reads: this,
/// then `n`.
const PARSED: &str = "__lakehunt_parsed_";

/// The name of the `n`th computed key of a SORT: this, then `n`.
const SORT_KEY: &str = "__lakehunt_sort_";

/// The commands of a query, each with the byte where it starts.
/// Nesting deeper than this (parentheses and `NOT`s) is refused.
const MAX_DEPTH: usize = 100;

/// More `AND`/`OR` terms than this in one command are refused.
const MAX_TERMS: usize = 500;

/// Pipelines longer than this are refused before parsing. How deep a plan
/// the commands make is checked as they are translated (a run of EVALs may
/// be one level); this only bounds the parser's work.
const MAX_COMMANDS: usize = 10_000;

/// `NOT`s nested deeper than this are refused: DataFusion's simplifier takes
/// time that doubles with each level past about 30 (32: 0.2 s; 99: not done after 60 s).
const MAX_NOTS: usize = 32;

/// Refuses, before any parsing, what would take the parser, the plan and
/// DataFusion's optimizer too deep for the stack or too long: 20,000
/// parentheses or `NOT`s, 60,000 `OR`s. Hunts stay far below; a long list of
/// values is an `IN (...)`. (The session lets DataFusion's own SQL parser go
/// 2,000 levels deep, above what these limits and a long pipeline reach.)
fn within_limits(toks: &[(Tok, usize)]) -> Result<()> {
    let (mut depth, mut nots, mut terms, mut commands) = (0usize, 0usize, 0usize, 1usize);
    for (tok, at) in toks {
        match tok {
            Tok::LParen => depth += 1,
            Tok::RParen => depth = depth.saturating_sub(1),
            Tok::Pipe => {
                terms = 0;
                commands += 1;
                if commands > MAX_COMMANDS {
                    return Err(error(
                        *at,
                        format!("more than {MAX_COMMANDS} commands in one pipeline"),
                    ));
                }
            }
            Tok::Ident(word) if word.eq_ignore_ascii_case("not") => nots += 1,
            Tok::Ident(word)
                if word.eq_ignore_ascii_case("and") || word.eq_ignore_ascii_case("or") =>
            {
                terms += 1;
            }
            _ => {}
        }
        if nots > MAX_NOTS {
            return Err(error(
                *at,
                format!("more than {MAX_NOTS} NOTs nested in one expression"),
            ));
        }
        if !matches!(tok, Tok::Ident(w) if w.eq_ignore_ascii_case("not")) {
            if depth + nots > MAX_DEPTH {
                return Err(error(
                    *at,
                    format!(
                        "expressions nest more than {MAX_DEPTH} levels deep (parentheses and NOTs)"
                    ),
                ));
            }
            if !matches!(tok, Tok::LParen) {
                nots = 0;
            }
        }
        if terms > MAX_TERMS {
            return Err(error(
                *at,
                format!(
                    "more than {MAX_TERMS} AND/OR terms in one command; for a long list of values use IN (...)"
                ),
            ));
        }
    }
    Ok(())
}

/// ES|QL's query settings: `SET name = value;` statements before the query.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Settings {
    /// `SET unmapped_fields = "nullify"`: a field the data lacks reads as
    /// NULL instead of failing the query (Elasticsearch's technical preview).
    pub(super) nullify_unmapped: bool,
    /// `SET time_zone = "+10:00"` or `"Europe/Paris"`: the zone, a fixed
    /// offset written `+HH:MM`; `None` for UTC.
    pub(super) time_zone: Option<String>,
    /// Where the time zone's value is written.
    pub(super) time_zone_at: usize,
}

/// A time zone written as a fixed offset (`Z`, `UTC`, `GMT`, `+10`,
/// `+10:00`, `-0530`, `UTC+1`): seconds east of UTC; `None` for anything
/// else (a named zone, with its daylight saving, is not one).
pub(super) fn fixed_offset(text: &str) -> Option<i64> {
    let upper = text.trim().to_ascii_uppercase();
    // Etc/GMT+5 is five hours west of Greenwich (POSIX's sign).
    let (upper, flip) = match upper.strip_prefix("ETC/GMT") {
        Some(rest) if !rest.is_empty() => (format!("GMT{rest}"), -1),
        _ => (upper, 1),
    };
    let rest = ["UTC", "GMT", "ETC/UTC", "ETC/GMT", "Z"]
        .iter()
        .find_map(|p| upper.strip_prefix(p))
        .unwrap_or(&upper);
    if rest.is_empty() {
        return Some(0);
    }
    let (sign, digits) = match rest.as_bytes().first()? {
        b'+' => (1, &rest[1..]),
        b'-' => (-1, &rest[1..]),
        _ => return None,
    };
    let (h, m) = match digits.split_once(':') {
        Some((h, m)) => (h, m),
        None if digits.len() > 2 => digits.split_at(digits.len() - 2),
        None => (digits, "0"),
    };
    if h.is_empty() || h.len() > 2 || m.len() > 2 {
        return None;
    }
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 18 && m < 60 && h * 60 + m <= 18 * 60).then_some(flip * sign * (h * 3_600 + m * 60))
}

/// The settings `toks` begin with, and the index of the query's first
/// token. Elasticsearch's `time_zone` is taken as a fixed offset;
/// `unmapped_fields` as `fail` or `nullify`; any other is refused.
pub(super) fn settings(toks: &[(Tok, usize)]) -> Result<(Settings, usize)> {
    let mut settings = Settings::default();
    let mut at = 0;
    while let Some((Tok::Ident(word), pos)) = toks.get(at)
        && word.eq_ignore_ascii_case("set")
    {
        let (Some((Tok::Ident(name), _)), Some((Tok::Op("="), _)), Some((value, value_at))) =
            (toks.get(at + 1), toks.get(at + 2), toks.get(at + 3))
        else {
            return Err(error(*pos, "SET takes a setting: SET name = \"value\";"));
        };
        if !matches!(toks.get(at + 4), Some((Tok::Semicolon, _))) {
            return Err(error(*value_at, "expected ; after the setting's value"));
        }
        let text = match value {
            Tok::Str(text) => text.as_str(),
            _ => "",
        };
        match name.to_ascii_lowercase().as_str() {
            "unmapped_fields" => match text.to_ascii_lowercase().as_str() {
                "fail" => settings.nullify_unmapped = false,
                "nullify" => settings.nullify_unmapped = true,
                _ => {
                    return Err(error(
                        *value_at,
                        "SET unmapped_fields takes \"fail\" or \"nullify\" (\"load\" is not \
                         supported: the data's fields are all read)",
                    ));
                }
            },
            "time_zone" => {
                settings.time_zone = match fixed_offset(text) {
                    Some(0) => None,
                    Some(offset) => Some(format!(
                        "{}{:02}:{:02}",
                        if offset < 0 { '-' } else { '+' },
                        offset.abs() / 3_600,
                        offset.abs() % 3_600 / 60
                    )),
                    // A named zone, checked against the time zone database
                    // when translating.
                    None => Some(text.to_owned()),
                };
                settings.time_zone_at = *value_at;
            }
            other => {
                return Err(error(
                    toks[at + 1].1,
                    format!(
                        "unknown setting {other} (SET takes unmapped_fields and time_zone here)"
                    ),
                ));
            }
        }
        at += 5;
    }
    Ok((settings, at))
}

pub(super) fn parse(text: &str) -> Result<Vec<(usize, Command)>> {
    parse_with_settings(text).map(|(_, commands)| commands)
}

/// The query's settings (see [`settings`]) and its commands.
#[expect(
    clippy::too_many_lines,
    reason = "one match arm per command keyword, each short"
)]
pub(super) fn parse_with_settings(text: &str) -> Result<(Settings, Vec<(usize, Command)>)> {
    let mut toks = lex(text)?;
    let (settings, first) = settings(&toks)?;
    toks.drain(..first);
    within_limits(&toks)?;
    let mut p = Parser {
        toks,
        at: 0,
        end: text.len(),
        source: text.to_owned(),
        constants: HashMap::new(),
    };
    let mut commands = vec![];
    loop {
        let pos = p.pos();
        let Some(Tok::Ident(word)) = p.next() else {
            return Err(error(
                pos,
                "expected a command (FROM, WHERE, EVAL, KEEP, DROP, RENAME, STATS, SORT, LIMIT, \
                 DISSECT, GROK, MV_EXPAND)",
            ));
        };
        // Commands a command is written as, before it (an expression that
        // SORT, DISSECT or GROK reads is an EVAL first).
        let mut before: Vec<Command> = vec![];
        let command = match word.to_ascii_lowercase().as_str() {
            "row" if commands.is_empty() => Command::Row(p.list(|p| p.constant_assignment(text))?),
            "from" if commands.is_empty() => {
                // Index patterns (`logs-endpoint.events.network-*`) are taken as
                // written, up to the first pipe.
                let from = p.pos();
                while !matches!(p.peek(), None | Some(Tok::Pipe | Tok::Semicolon))
                    && !p.keyword("metadata")
                {
                    p.at += 1;
                }
                let until = p.pos();
                let metadata = if p.eat_keyword("metadata") {
                    p.list(|p| {
                        let at = p.pos();
                        Ok((p.field()?, at))
                    })?
                } else {
                    vec![]
                };
                // Comments are not part of a pattern; quotes may enclose one.
                let patterns: Vec<String> = without_comments(&text[from..until])
                    .split(',')
                    .map(|s| s.trim().trim_matches('"').trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect();
                if patterns.is_empty() {
                    return Err(error(from, "FROM needs an index pattern"));
                }
                Command::From(patterns, metadata)
            }
            "dissect" => {
                let field = p.parsed_field(&mut before, pos)?;
                let at = p.pos();
                let Some(Tok::Str(pattern)) = p.next() else {
                    return Err(error(at, "DISSECT takes a field, then a pattern string"));
                };
                let mut separator = String::new();
                if p.eat_keyword("append_separator") {
                    p.expect(&Tok::Op("="), "= after APPEND_SEPARATOR")?;
                    let at = p.pos();
                    let Some(Tok::Str(sep)) = p.next() else {
                        return Err(error(at, "APPEND_SEPARATOR takes a string"));
                    };
                    separator = sep;
                }
                Parser::dropped_after(
                    &mut before,
                    &field,
                    Command::Dissect(field.clone(), pattern, separator, at),
                )
            }
            "grok" => {
                let field = p.parsed_field(&mut before, pos)?;
                let at = p.pos();
                // One pattern or several (`"a %{WORD:x}", "b %{WORD:y}"`).
                let patterns = p.list(|p| {
                    let at = p.pos();
                    match p.next() {
                        Some(Tok::Str(pattern)) => Ok(pattern),
                        _ => Err(error(at, "GROK takes a field, then a pattern string")),
                    }
                })?;
                Parser::dropped_after(
                    &mut before,
                    &field,
                    Command::Grok(field.clone(), patterns, at),
                )
            }
            "mv_expand" => Command::MvExpand(p.field()?),
            "enrich" => {
                let at = p.pos();
                let policy = p.raw_name(text, "ENRICH takes a policy name")?;
                let on = if p.eat_keyword("on") {
                    Some(p.field()?)
                } else {
                    None
                };
                let with = if p.eat_keyword("with") {
                    p.list(|p| {
                        let first = p.field()?;
                        if p.peek() == Some(&Tok::Op("=")) {
                            p.at += 1;
                            Ok((first, p.field()?))
                        } else {
                            Ok((first.clone(), first))
                        }
                    })?
                } else {
                    vec![]
                };
                Command::Enrich(policy, on, with, at)
            }
            "where" => Command::Where(p.expr()?),
            "keep" => Command::Keep(p.list(Parser::pattern)?),
            "stats" => {
                let (aggs, by) = p.stats(text)?;
                Command::Stats(aggs, by)
            }
            "inline" if p.eat_keyword("stats") => {
                let (aggs, by) = p.stats(text)?;
                Command::InlineStats(aggs, by)
            }
            "inlinestats" => {
                let (aggs, by) = p.stats(text)?;
                Command::InlineStats(aggs, by)
            }
            "lookup" if p.eat_keyword("join") => {
                let at = p.pos();
                let index = p.raw_name(text, "LOOKUP JOIN takes a lookup index")?;
                if !p.eat_keyword("on") {
                    return Err(error(p.pos(), "expected ON after LOOKUP JOIN's index"));
                }
                let on = p.list(Parser::expr)?;
                let on = match on.as_slice() {
                    [Expr::Binary(..)] => LookupOn::Condition(on[0].clone()),
                    fields => fields
                        .iter()
                        .map(|f| match f {
                            Expr::Field(name) => Ok(name.clone()),
                            _ => Err(error(
                                at,
                                "LOOKUP JOIN ... ON takes fields (a, b) or a condition \
                                 (a == b AND c >= d)",
                            )),
                        })
                        .collect::<Result<Vec<_>>>()
                        .map(LookupOn::Fields)?,
                };
                Command::LookupJoin(index, on, at)
            }
            "sort" => {
                // A key that is an expression (`SORT a + b`) is computed by an
                // EVAL before the SORT and dropped after it, the order kept.
                let mut computed: Vec<(String, Expr)> = vec![];
                let keys = p.list(|p| {
                    let f = match p.expr()? {
                        Expr::Field(name) => name,
                        other => {
                            let name = format!("{SORT_KEY}{}", computed.len());
                            computed.push((name.clone(), other));
                            name
                        }
                    };
                    let asc = if p.eat_keyword("desc") {
                        false
                    } else {
                        p.eat_keyword("asc");
                        true
                    };
                    let nulls = if p.eat_keyword("nulls") {
                        if p.eat_keyword("first") {
                            Some(true)
                        } else if p.eat_keyword("last") {
                            Some(false)
                        } else {
                            return Err(error(p.pos(), "expected FIRST or LAST"));
                        }
                    } else {
                        None
                    };
                    Ok((f, asc, nulls))
                })?;
                if computed.is_empty() {
                    Command::Sort(keys)
                } else {
                    let names = computed.iter().map(|(name, _)| name.clone()).collect();
                    before.push(Command::Eval(computed));
                    before.push(Command::Sort(keys));
                    Command::Drop(names)
                }
            }
            "eval" => Command::Eval(p.list(|p| p.constant_assignment(text))?),
            "drop" => Command::Drop(p.list(Parser::pattern)?),
            // `old AS new`, or the newer `new = old`.
            "rename" => Command::Rename(p.list(|p| {
                let first = p.field()?;
                if p.eat_keyword("as") {
                    Ok((first, p.field()?))
                } else if p.peek() == Some(&Tok::Op("=")) {
                    p.next();
                    Ok((p.field()?, first))
                } else {
                    Err(error(
                        p.pos(),
                        "expected AS in RENAME old AS new (or = in RENAME new = old)",
                    ))
                }
            })?),
            "limit" => match p.next() {
                Some(Tok::Int(n)) if p.eat_keyword("by") => {
                    Command::LimitBy(n, p.list(Parser::expr)?)
                }
                Some(Tok::Int(n)) => Command::Limit(n),
                _ => return Err(error(pos, "LIMIT takes a whole number")),
            },
            "from" => return Err(error(pos, "FROM may only start the query")),
            "row" => return Err(error(pos, "ROW may only start the query")),
            other => {
                return Err(error(
                    pos,
                    format!(
                        "command {} is not supported yet",
                        other.to_ascii_uppercase()
                    ),
                ));
            }
        };
        for command in before.into_iter().chain([command]) {
            p.track(&command);
            commands.push((pos, command));
        }
        match p.next() {
            None => break,
            Some(Tok::Pipe) => {}
            Some(Tok::Semicolon) => {
                return Err(error(
                    p.toks.get(p.at - 1).map_or(p.end, |t| t.1),
                    "; only ends a SET statement, before the query",
                ));
            }
            Some(_) => {
                return Err(error(
                    p.toks.get(p.at - 1).map_or(p.end, |t| t.1),
                    "expected | or the end of the query",
                ));
            }
        }
    }
    // A SORT key computed for the SORT is dropped after the LIMIT that
    // follows, not before it: dropping a sort key fixes every row's place
    // (a window over all rows), where LIMIT after SORT keeps only the top.
    for i in 1..commands.len() {
        if let (Command::Drop(names), Command::Limit(_)) = (&commands[i - 1].1, &commands[i].1)
            && names.iter().all(|n| n.starts_with(SORT_KEY))
        {
            commands.swap(i - 1, i);
        }
    }
    if !matches!(
        commands.first(),
        Some((_, Command::From(..) | Command::Row(..)))
    ) {
        return Err(error(0, "a query starts with FROM or ROW"));
    }
    Ok((settings, commands))
}

#[cfg(test)]
mod tests {
    use super::fixed_offset;

    #[test]
    fn time_zones_are_fixed_offsets() {
        for (text, seconds) in [
            ("Z", Some(0)),
            ("utc", Some(0)),
            ("+10:00", Some(36_000)),
            ("+10", Some(36_000)),
            ("-05:30", Some(-19_800)),
            ("-0530", Some(-19_800)),
            ("UTC+1", Some(3_600)),
            ("GMT-03:00", Some(-10_800)),
            ("Etc/GMT+5", Some(-18_000)),
            ("Etc/GMT-14", Some(50_400)),
            ("Etc/GMT", Some(0)),
            ("+18:00", Some(64_800)),
            ("+18:01", None),
            ("+10:60", None),
            ("Europe/Paris", None),
            ("10:00", None),
            ("+", None),
        ] {
            assert_eq!(fixed_offset(text), seconds, "{text}");
        }
    }
}
