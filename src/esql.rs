//! ES|QL, translated to SQL over `events` with ES|QL's semantics.
//!
//! Commands: `FROM` (index patterns all resolve to `--data`, or each to its
//! `--index` dataset, see [`Target`]; `METADATA _index, _id`),
//! `WHERE`, `KEEP`, `DROP`, `RENAME`, `EVAL`, `STATS ... BY` (`SUM`, `COUNT`,
//! `COUNT_DISTINCT`, `MIN`, `MAX`, `AVG`, `MEDIAN`, `VALUES`, over fields or
//! expressions, each with an optional `WHERE`; `STATS BY` alone), `SORT`,
//! `LIMIT`, `DISSECT`, `GROK` (the common Logstash patterns, `GROK_PATTERNS`),
//! `MV_EXPAND`, `ENRICH` (lookup tables from `--enrich`, see [`Target`]).
//! Expressions: comparisons, `AND`/`OR`/`NOT`, `IS [NOT] NULL`, `IN`, `LIKE`,
//! `RLIKE`, `CASE`, arithmetic, `::` casts and the `TO_*` conversions, string
//! functions (`REPLACE` with Java's replacement rules, `SUBSTRING` with
//! negative starts, ...), `DATE_TRUNC` (calendar day, ISO week, epoch-aligned
//! spans, month/quarter/year), `DATE_FORMAT` (Java pattern letters), the `MV_*`
//! functions, `FROM_BASE64`, `CIDR_MATCH`, `MATCH(field, query, {options})` and
//! `field : query` (through the `esql_match` UDF, by the field's kind),
//! `NOW()` and time spans, literals (only ES|QL's five string escapes), `//`
//! and `/* */` comments.
//! Anything else is an error naming the construct and its `line:column`.
//!
//! Semantics: `NOW()` is the run's `--as-of`, and events after it are not visible
//! (an archive holds events that did not exist yet at that instant); a
//! comparison on a multi-valued field is NULL (through `mv_single`), so `WHERE`
//! drops the event; `WHERE` keeps only true; NULL `BY` keys form a group, and a
//! multi-valued key puts its row in each value's group; `+`, `-`, `*` on whole
//! numbers and `/` are NULL with a warning where ES|QL warns (`esql_warnings`).

use std::fmt::Write as _;

/// The rows Elasticsearch returns for a query without a final LIMIT
/// (`lakehunt esql --esql-default-limit`).
pub const DEFAULT_LIMIT: u64 = 1000;

use crate::error::{Error, Result};
use crate::params::format_instant;

/// A lexical token with its byte offset.
#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    /// A name that begins in backticks: a field, never a keyword (`` `by` ``).
    Name(String),
    Str(String),
    Int(i64),
    Float(f64),
    Op(&'static str),
    Pipe,
    LParen,
    RParen,
    /// `{` and `}` around MATCH's options.
    LBrace,
    RBrace,
    Comma,
}

/// An error at byte `pos`; [`locate`] turns the byte into a line and column
/// before it leaves this module.
fn error(pos: usize, message: impl Into<String>) -> Error {
    Error::InvalidEsql {
        line: 0,
        column: pos,
        message: message.into(),
    }
}

/// `e` with its byte offset in `text` as `line:column` (both from 1).
fn locate(text: &str, e: Error) -> Error {
    match e {
        Error::InvalidEsql {
            line: 0,
            column: pos,
            message,
        } => {
            let before = &text[..text.floor_char_boundary(pos.min(text.len()))];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            Error::InvalidEsql {
                line,
                column,
                message,
            }
        }
        other => other,
    }
}

fn lex(text: &str) -> Result<Vec<(Tok, usize)>> {
    let b = text.as_bytes();
    let mut out = vec![];
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = text[i + 2..]
                    .find("*/")
                    .ok_or_else(|| error(i, "unterminated /* comment"))?;
                i += end + 4;
            }
            b'|' => {
                out.push((Tok::Pipe, i));
                i += 1;
            }
            b'(' => {
                out.push((Tok::LParen, i));
                i += 1;
            }
            b')' => {
                out.push((Tok::RParen, i));
                i += 1;
            }
            b',' => {
                out.push((Tok::Comma, i));
                i += 1;
            }
            b'"' => {
                let (value, end) = if text[i..].starts_with("\"\"\"") {
                    let end = text[i + 3..]
                        .find("\"\"\"")
                        .ok_or_else(|| error(i, "unterminated \"\"\" string"))?;
                    (text[i + 3..i + 3 + end].to_owned(), i + 3 + end + 3)
                } else {
                    let mut value = String::new();
                    let mut j = i + 1;
                    loop {
                        match b.get(j) {
                            None => return Err(error(i, "unterminated string")),
                            Some(b'"') => break,
                            Some(b'\\') => {
                                let escaped = text[j + 1..]
                                    .chars()
                                    .next()
                                    .ok_or_else(|| error(j, "dangling \\"))?;
                                value.push(match escaped {
                                    'n' => '\n',
                                    't' => '\t',
                                    'r' => '\r',
                                    '"' => '"',
                                    '\\' => '\\',
                                    other => {
                                        // ES|QL knows these five escapes only; a
                                        // regex's `\.` is written `\\.` or in """.
                                        return Err(error(
                                            j,
                                            format!(
                                                "unknown escape \\{other} in a string: \
                                                 ES|QL accepts \\t \\n \\r \\\" \\\\ \
                                                 (write \\\\{other}, or use a \"\"\" string)"
                                            ),
                                        ));
                                    }
                                });
                                j += 1 + escaped.len_utf8();
                            }
                            Some(_) => {
                                let ch = text[j..].chars().next().unwrap_or('\u{fffd}');
                                value.push(ch);
                                j += ch.len_utf8();
                            }
                        }
                    }
                    (value, j + 1)
                };
                out.push((Tok::Str(value), start));
                i = end;
            }
            b'`' => {
                let (name, end) = identifier(text, i)?;
                out.push((Tok::Name(name), i));
                i = end;
            }
            b'{' => {
                out.push((Tok::LBrace, i));
                i += 1;
            }
            b'}' => {
                out.push((Tok::RBrace, i));
                i += 1;
            }
            b'0'..=b'9' => {
                while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                    i += 1;
                }
                let number = &text[start..i];
                out.push((
                    if number.contains('.') {
                        Tok::Float(number.parse().map_err(|_| error(start, "bad number"))?)
                    } else {
                        Tok::Int(number.parse().map_err(|_| error(start, "bad number"))?)
                    },
                    start,
                ));
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c == b'@' => {
                let (name, end) = identifier(text, i)?;
                out.push((Tok::Ident(name), start));
                i = end;
            }
            _ => {
                let two = text.get(i..i + 2).unwrap_or("");
                let op: &'static str = match two {
                    "::" => "::",
                    "==" => "==",
                    "!=" => "!=",
                    "<=" => "<=",
                    ">=" => ">=",
                    _ => match c {
                        b'<' => "<",
                        b'>' => ">",
                        b'=' => "=",
                        b'+' => "+",
                        b'-' => "-",
                        b'*' => "*",
                        b'/' => "/",
                        b'%' => "%",
                        // The match operator, `field : "query"`.
                        b':' => ":",
                        // Only inside FROM's index patterns (`logs-azure.*`).
                        b'.' => ".",
                        _ => {
                            return Err(error(
                                i,
                                format!(
                                    "unexpected character '{}'",
                                    text[i..].chars().next().unwrap_or('?')
                                ),
                            ));
                        }
                    },
                };
                out.push((Tok::Op(op), i));
                i += op.len();
            }
        }
    }
    Ok(out)
}

/// A field name from byte `i`: parts joined by dots, each plain (letters,
/// digits, `_`, `@`) or quoted in backticks (`` `o365`.audit ``, `` a.`0`.b ``;
/// a doubled backtick inside quotes is one); returns it and the byte after it.
fn identifier(text: &str, mut i: usize) -> Result<(String, usize)> {
    let b = text.as_bytes();
    let mut name = String::new();
    loop {
        if b.get(i) == Some(&b'`') {
            let start = i;
            i += 1;
            loop {
                match b.get(i) {
                    None => return Err(error(start, "unterminated `identifier`")),
                    Some(b'`') if b.get(i + 1) == Some(&b'`') => {
                        name.push('`');
                        i += 2;
                    }
                    Some(b'`') => {
                        i += 1;
                        break;
                    }
                    Some(_) => {
                        let ch = text[i..].chars().next().unwrap_or('\u{fffd}');
                        name.push(ch);
                        i += ch.len_utf8();
                    }
                }
            }
        } else {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b'@')) {
                i += 1;
            }
            name.push_str(&text[start..i]);
        }
        // Another part follows a dot directly.
        if b.get(i) == Some(&b'.')
            && b.get(i + 1)
                .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'@' | b'`'))
        {
            name.push('.');
            i += 1;
        } else {
            return Ok((name, i));
        }
    }
}

/// An expression.
#[derive(Clone, Debug, PartialEq)]
enum Expr {
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
    /// `x [NOT] LIKE "pattern"` (wildcards `*` and `?`), `x [NOT] RLIKE "regex"`.
    Like(Box<Expr>, String, bool, bool),
    /// Function name (lowercase), arguments, position.
    Call(String, Vec<Expr>, usize),
    /// `{ "name": value, ... }`, a function's options, at a position.
    Options(Vec<(String, Expr)>, usize),
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    at: usize,
    end: usize,
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
                let pos = self.pos();
                let Some(Tok::Str(pattern)) = self.next() else {
                    return Err(error(
                        pos,
                        format!("{} takes a string pattern", word.to_ascii_uppercase()),
                    ));
                };
                return Ok(Expr::Like(Box::new(left), pattern, regex, negated));
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
            self.at += 1;
            left = Expr::Binary(Box::new(left), op, Box::new(self.multiplicative()?));
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
            return Ok(Expr::Neg(Box::new(self.unary()?)));
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
                "boolean" | "bool" => "to_boolean",
                other => {
                    return Err(error(pos, format!("cannot cast to {other}")));
                }
            };
            e = Expr::Call(function.to_owned(), vec![e], pos);
        }
        Ok(e)
    }

    fn primary(&mut self) -> Result<Expr> {
        let pos = self.pos();
        match self.next() {
            Some(Tok::Str(s)) => Ok(Expr::Str(s)),
            Some(Tok::Int(n)) => self.maybe_span(n, pos, Expr::Int(n)),
            Some(Tok::Float(x)) => Ok(Expr::Float(x)),
            Some(Tok::LParen) => {
                let e = self.expr()?;
                self.expect(&Tok::RParen, "')'")?;
                Ok(e)
            }
            Some(Tok::Name(name)) => Ok(Expr::Field(name)),
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
                    let name = word.to_ascii_lowercase();
                    if name == "now" {
                        return Ok(Expr::Now);
                    }
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
        if let Some(Tok::Ident(unit)) = self.peek() {
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
                self.at += 1;
                return Ok(Expr::Calendar(n, unit));
            }
            if let Some(ns) = ns {
                self.at += 1;
                return n
                    .checked_mul(ns)
                    .map(Expr::Span)
                    .ok_or_else(|| error(pos, "time span out of range"));
            }
        }
        Ok(plain)
    }
}

/// One command of the pipeline.
#[derive(Clone, Debug)]
enum Command {
    /// Index patterns, then `METADATA` fields with their positions.
    From(Vec<String>, Vec<(String, usize)>),
    /// `DISSECT field "pattern" [APPEND_SEPARATOR = "sep"]`, at a position.
    Dissect(String, String, String, usize),
    /// `GROK field "pattern"`, at a position.
    Grok(String, String, usize),
    MvExpand(String),
    /// `ENRICH policy [ON field] [WITH [new =] field, ...]`, at a position.
    Enrich(String, Option<String>, Vec<(String, String)>, usize),
    Where(Expr),
    Keep(Vec<String>),
    /// Aggregates, then the `BY` keys: a field, or a named expression
    /// (`BY hour = BUCKET(@timestamp, 1 hour)`, or unnamed, named by its text).
    Stats(Vec<(String, Expr)>, Vec<(String, Expr)>),
    Sort(Vec<(String, bool, Option<bool>)>),
    Limit(i64),
    Eval(Vec<(String, Expr)>),
    Drop(Vec<String>),
    Rename(Vec<(String, String)>),
}

/// The commands of a query, each with the byte where it starts.
fn parse(text: &str) -> Result<Vec<(usize, Command)>> {
    let toks = lex(text)?;
    let mut p = Parser {
        toks,
        at: 0,
        end: text.len(),
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
        let command = match word.to_ascii_lowercase().as_str() {
            "from" if commands.is_empty() => {
                // Index patterns (`logs-endpoint.events.network-*`) are taken as
                // written, up to the first pipe.
                let from = p.pos();
                while !matches!(p.peek(), None | Some(Tok::Pipe)) && !p.keyword("metadata") {
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
                let field = p.field()?;
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
                Command::Dissect(field, pattern, separator, at)
            }
            "grok" => {
                let field = p.field()?;
                let at = p.pos();
                let Some(Tok::Str(pattern)) = p.next() else {
                    return Err(error(at, "GROK takes a field, then a pattern string"));
                };
                Command::Grok(field, pattern, at)
            }
            "mv_expand" => Command::MvExpand(p.field()?),
            "enrich" => {
                let at = p.pos();
                // Policy names may hold dashes (`libs-policy-defend`): taken as
                // written, up to white space or a pipe.
                let len = text[at.min(text.len())..]
                    .find(|c: char| c.is_whitespace() || c == '|')
                    .unwrap_or(text.len() - at.min(text.len()));
                if len == 0 {
                    return Err(error(at, "ENRICH takes a policy name"));
                }
                let policy = text[at..at + len].to_owned();
                while p.toks.get(p.at).is_some_and(|(_, pos)| *pos < at + len) {
                    p.at += 1;
                }
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
            "keep" => Command::Keep(p.list(Parser::field)?),
            "stats" => {
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
                        let Expr::Call(f, args, pos) = agg else {
                            return Err(error(p.pos(), "WHERE in STATS follows an aggregate"));
                        };
                        let only = |arg: Expr| match arg {
                            Expr::Field(star) if star == "*" => {
                                Expr::Call("case".into(), vec![cond.clone(), Expr::Int(1)], pos)
                            }
                            other => Expr::Call("case".into(), vec![cond.clone(), other], pos),
                        };
                        let args = if args.is_empty() && f == "count" {
                            vec![only(Expr::Field("*".into()))]
                        } else {
                            args.into_iter().take(1).map(only).collect()
                        };
                        Ok((name, Expr::Call(f, args, pos)))
                    })?
                };
                let by = if p.eat_keyword("by") {
                    p.list(|p| {
                        let (name, key) = p.assignment(text)?;
                        // A field keeps its own name (also when written in backticks).
                        Ok(match key {
                            Expr::Field(f) if name.replace('`', "") == f => {
                                (f.clone(), Expr::Field(f))
                            }
                            other => (name, other),
                        })
                    })?
                } else {
                    vec![]
                };
                Command::Stats(aggs, by)
            }
            "sort" => Command::Sort(p.list(|p| {
                let f = p.field()?;
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
            })?),
            "eval" => Command::Eval(p.list(|p| p.assignment(text))?),
            "drop" => Command::Drop(p.list(Parser::field)?),
            "rename" => Command::Rename(p.list(|p| {
                let old = p.field()?;
                if !p.eat_keyword("as") {
                    return Err(error(p.pos(), "expected AS in RENAME old AS new"));
                }
                Ok((old, p.field()?))
            })?),
            "limit" => match p.next() {
                Some(Tok::Int(n)) => Command::Limit(n),
                _ => return Err(error(pos, "LIMIT takes a whole number")),
            },
            "from" => return Err(error(pos, "FROM may only start the query")),
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
        commands.push((pos, command));
        match p.next() {
            None => break,
            Some(Tok::Pipe) => {}
            Some(_) => {
                return Err(error(
                    p.toks.get(p.at - 1).map_or(p.end, |t| t.1),
                    "expected | or the end of the query",
                ));
            }
        }
    }
    if !matches!(commands.first(), Some((_, Command::From(..)))) {
        return Err(error(0, "a query starts with FROM"));
    }
    Ok(commands)
}

/// ES|QL's LIKE pattern (`*` any run, `?` one character, `\` escapes; `%` and
/// `_` literal) as an SQL LIKE pattern with `\` as its escape.
fn wildcard_to_like(pattern: &str) -> String {
    let mut out = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' => out.push('%'),
            '?' => out.push('_'),
            '\\' => match chars.next() {
                Some(escaped @ ('%' | '_' | '\\')) => {
                    out.push('\\');
                    out.push(escaped);
                }
                Some(escaped) => out.push(escaped),
                None => out.push_str("\\\\"),
            },
            '%' | '_' => {
                out.push('\\');
                out.push(c);
            }
            other => out.push(other),
        }
    }
    out
}

/// A Lucene regular expression as an anchored Rust one: the whole string must
/// match, `.` matches newlines too, and `^`/`$` are ordinary characters in
/// Lucene (outside a bracket expression, where a leading `^` still negates).
fn lucene_to_rust(pattern: &str) -> String {
    let mut out = String::from("(?s)^(?:");
    let mut chars = pattern.chars();
    let mut in_class = false;
    let mut class_start = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push('\\');
                if let Some(next) = chars.next() {
                    out.push(next);
                }
                class_start = false;
                continue;
            }
            '[' if !in_class => {
                in_class = true;
                class_start = true;
                out.push('[');
                continue;
            }
            ']' if in_class && !class_start => in_class = false,
            '^' | '$' if !in_class => out.push('\\'),
            _ => {}
        }
        class_start = false;
        out.push(c);
    }
    out.push_str(")$");
    out
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn string_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A Java date pattern (`yyyy-MM-dd'T'HH:mm:ss.SSS'Z'`) as a chrono format.
fn java_date_pattern(java: &str) -> std::result::Result<String, String> {
    let chars: Vec<char> = java.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // Quoted text; '' is a quote.
            if chars.get(i + 1) == Some(&'\'') {
                out.push('\'');
                i += 2;
                continue;
            }
            i += 1;
            while i < chars.len() {
                match (chars[i], chars.get(i + 1)) {
                    // '' inside quoted text is a quote too.
                    ('\'', Some('\'')) => {
                        out.push('\'');
                        i += 1;
                    }
                    ('\'', _) => break,
                    ('%', _) => out.push_str("%%"),
                    (other, _) => out.push(other),
                }
                i += 1;
            }
            i += 1;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            if c == '%' {
                out.push_str("%%");
            } else {
                out.push(c);
            }
            i += 1;
            continue;
        }
        let mut n = 1;
        while chars.get(i + n) == Some(&c) {
            n += 1;
        }
        let spec = match (c, n) {
            ('y' | 'u', 2) => "%y",
            ('y' | 'u', _) => "%Y",
            ('M', 1) => "%-m",
            ('M', 2) => "%m",
            ('M', 3) => "%b",
            ('M', _) => "%B",
            ('d', 1) => "%-d",
            ('d', _) => "%d",
            ('D', _) => "%j",
            ('H', 1) => "%-H",
            ('H', _) => "%H",
            ('h', 1) => "%-I",
            ('h', _) => "%I",
            ('m', 1) => "%-M",
            ('m', _) => "%M",
            ('s', 1) => "%-S",
            ('s', _) => "%S",
            ('S', 3) => "%3f",
            ('S', 6) => "%6f",
            ('S', 9) => "%9f",
            ('a', _) => "%p",
            ('E', 1..=3) => "%a",
            ('E', _) => "%A",
            ('e', _) => "%u",
            ('w', _) => "%V",
            ('Y', _) => "%G",
            // ES|QL formats in UTC: the zone is written as Java writes UTC.
            ('X', _) => "Z",
            ('x', 1) => "+00",
            ('x', 2) | ('Z', 1..=3) => "+0000",
            ('x' | 'Z', _) => "+00:00",
            _ => {
                return Err(format!(
                    "DATE_FORMAT: pattern letter {} is not supported",
                    c.to_string().repeat(n)
                ));
            }
        };
        out.push_str(spec);
        i += n;
    }
    Ok(out)
}

/// `text` without its `//` and `/* */` comments.
fn without_comments(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('/') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("//") {
            rest = tail.find('\n').map_or("", |end| &tail[end..]);
        } else if let Some(body) = tail.strip_prefix("/*") {
            rest = body.find("*/").map_or("", |end| &body[end + 2..]);
            out.push(' ');
        } else {
            out.push('/');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

/// An IP literal compared with an IP field, checked: ES|QL refuses text that is
/// not an address.
fn ip_literal(text: &str) -> std::result::Result<String, String> {
    text.parse::<std::net::IpAddr>()
        .map(|_| text.to_owned())
        .map_err(|_| format!("cannot convert string [{text}] to [IP]"))
}

/// Why MATCH is refused outside WHERE and STATS.
const FULL_TEXT_WHERE: &str = "is only supported in WHERE and STATS commands";

/// A date as MATCH reads it on a time field (`2026-01-15`, `2026-01-15T10:00`,
/// `...:00Z`, `...:00.000Z`): the instant it starts, and the unit it spans, as
/// Elasticsearch rounds a term on a date field up to the end of what it names.
fn date_span(text: &str) -> Option<(String, &'static str)> {
    let text = text.strip_suffix('Z').unwrap_or(text);
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (date, time) = text.split_once('T').unwrap_or((text, ""));
    let parts: Vec<&str> = date.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return None;
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 || !digits(y) || !digits(m) || !digits(d) {
        return None;
    }
    let (clock, fraction) = time.split_once('.').unwrap_or((time, ""));
    let fields: Vec<&str> = if clock.is_empty() {
        vec![]
    } else {
        clock.split(':').collect()
    };
    if fields.len() > 3 || fields.iter().any(|f| f.len() != 2 || !digits(f)) {
        return None;
    }
    if !fraction.is_empty() && (fields.len() != 3 || fraction.len() != 3 || !digits(fraction)) {
        return None;
    }
    let unit = match (fields.len(), fraction.is_empty()) {
        (0, _) => "day",
        (1, _) => "hour",
        (2, _) => "minute",
        (_, true) => "second",
        (_, false) => "millisecond",
    };
    let mut hms = ["00"; 3];
    for (slot, f) in hms.iter_mut().zip(&fields) {
        *slot = f;
    }
    let millis = if fraction.is_empty() { "000" } else { fraction };
    Some((
        format!("{y}-{m}-{d}T{}:{}:{}.{millis}Z", hms[0], hms[1], hms[2]),
        unit,
    ))
}

/// A list type's item type; any other type as it is.
fn item_type(t: arrow::datatypes::DataType) -> arrow::datatypes::DataType {
    match t {
        arrow::datatypes::DataType::List(item) | arrow::datatypes::DataType::LargeList(item) => {
            item.data_type().clone()
        }
        other => other,
    }
}

/// One row per value of the list `values`; a NULL or empty list keeps its row
/// with NULL (DataFusion's `unnest` would drop it).
fn unnest_values(values: &str) -> String {
    format!("unnest(CASE WHEN cardinality({values}) > 0 THEN {values} ELSE make_array(NULL) END)")
}

/// `SELECT`s adding `(name, sql)` columns to `current`, each replacing a
/// column of the same name (as EVAL does).
fn add_columns(
    at: usize,
    columns: &mut Vec<String>,
    order: Option<&(Vec<String>, String)>,
    current: &str,
    outputs: &[(String, String)],
) -> Result<String> {
    // One projection: every output reads the row as it came in, also when an
    // output replaces the field the others are cut from (DISSECT's keys).
    let mut replaced = vec![];
    let mut added = vec![];
    for (name, v) in outputs {
        let q = quote(name);
        if order.is_some_and(|(keys, _)| keys.contains(name)) {
            return Err(error(
                at,
                format!("{name} is replaced after a SORT on it; SORT again after"),
            ));
        }
        if columns.contains(name) {
            replaced.push(q.clone());
        } else {
            columns.push(name.clone());
        }
        added.push(format!("{v} AS {q}"));
    }
    let kept = if replaced.is_empty() {
        "*".to_owned()
    } else {
        format!("* EXCLUDE ({})", replaced.join(", "))
    };
    Ok(format!(
        "SELECT {kept}, {} FROM ({current})",
        added.join(", ")
    ))
}

/// An error at `pos` unless function `name` takes `got` arguments.
fn check_arity(
    name: &str,
    range: &std::ops::RangeInclusive<usize>,
    got: usize,
    pos: usize,
) -> Result<()> {
    if range.contains(&got) {
        return Ok(());
    }
    let takes = if *range.end() == usize::MAX {
        format!("at least {}", range.start())
    } else if range.start() == range.end() {
        range.start().to_string()
    } else {
        format!("{} to {}", range.start(), range.end())
    };
    Err(error(
        pos,
        format!(
            "{} takes {takes} arguments, got {got}",
            name.to_ascii_uppercase()
        ),
    ))
}

/// Capture group `group` (from 1) of regex `re` on `value`, NULL without a match.
fn capture(value: &str, re: &str, group: usize) -> String {
    format!(
        "array_element(regexp_match({value}, {}), {group})",
        string_literal(re)
    )
}

/// Text matched literally by a Rust regex.
fn regex_escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// DISSECT's output keys, each with the capture groups it joins.
type DissectKeys = Vec<(String, Vec<usize>)>;

/// GROK's named captures: `(name, group, type)`.
type GrokKeys = Vec<(String, usize, GrokType)>;

/// A DISSECT pattern as an anchored regex, and for each output key the capture
/// groups (1-based) whose texts it joins: `%{key}` takes text up to the next
/// delimiter, `%{}` and `%{?key}` skip, `%{+key}` appends to `key`, and
/// `%{key->}` lets the delimiter after it repeat. The last key takes the rest.
fn dissect_regex(pattern: &str) -> std::result::Result<(String, DissectKeys), String> {
    let mut re = String::from("(?s)^");
    let mut keys: Vec<(String, Vec<usize>)> = vec![];
    let mut group = 0;
    let mut rest = pattern;
    let mut pad_next = false;
    let mut pieces = 0;
    while !rest.is_empty() {
        let Some(open) = rest.find("%{") else {
            let lit = regex_escape(rest);
            let _ = write!(re, "{}", if pad_next { format!("(?:{lit})+") } else { lit });
            break;
        };
        if open > 0 {
            let lit = regex_escape(&rest[..open]);
            let _ = write!(re, "{}", if pad_next { format!("(?:{lit})+") } else { lit });
        } else if pieces > 0 {
            return Err("DISSECT: two keys need a delimiter between them".into());
        }
        pad_next = false;
        let close = rest[open..]
            .find('}')
            .ok_or("DISSECT: a %{ without its }")?
            + open;
        let mut key = &rest[open + 2..close];
        rest = &rest[close + 1..];
        pieces += 1;
        if let Some(k) = key.strip_suffix("->") {
            key = k;
            pad_next = true;
        }
        let last = rest.is_empty();
        re.push_str(if last { "(.*)" } else { "(.*?)" });
        group += 1;
        if key.is_empty() || key.starts_with('?') {
            continue;
        }
        if key.starts_with('*') || key.starts_with('&') {
            return Err(format!(
                "DISSECT: reference keys (%{{{key}}}) are not supported yet"
            ));
        }
        let (name, append) = match key.strip_prefix('+') {
            // `%{+key/2}`: the order of appending is not supported; in order of appearance.
            Some(k) => (k.split('/').next().unwrap_or(k), true),
            None => (key, false),
        };
        match keys.iter_mut().find(|(n, _)| n == name) {
            Some((_, groups)) if append => groups.push(group),
            Some(_) => return Err(format!("DISSECT: key {name} appears twice")),
            None => keys.push((name.to_owned(), vec![group])),
        }
    }
    if pieces == 0 {
        return Err("DISSECT: the pattern has no %{key}".into());
    }
    re.push('$');
    Ok((re, keys))
}

/// The type a GROK capture is converted to (`%{NUMBER:n:int}`).
#[derive(Clone, Copy, Debug, PartialEq)]
enum GrokType {
    Text,
    Int,
    Long,
    Float,
    Boolean,
}

/// The grok patterns lakehunt knows, after Logstash's `grok-patterns` (Rust
/// regex has no look-around or atomic groups, so those are written without).
const GROK_PATTERNS: &[(&str, &str)] = &[
    ("USERNAME", r"[a-zA-Z0-9._-]+"),
    ("USER", r"%{USERNAME}"),
    (
        "EMAILLOCALPART",
        r"[a-zA-Z0-9!#$%&'*+\-/=?^_`{|}~]+(?:\.[a-zA-Z0-9!#$%&'*+\-/=?^_`{|}~]+)*",
    ),
    ("EMAILADDRESS", r"%{EMAILLOCALPART}@%{HOSTNAME}"),
    ("INT", r"(?:[+-]?(?:[0-9]+))"),
    ("BASE10NUM", r"(?:[+-]?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+))"),
    ("NUMBER", r"(?:%{BASE10NUM})"),
    ("BASE16NUM", r"(?:0[xX]?[0-9a-fA-F]+)"),
    ("POSINT", r"\b(?:[1-9][0-9]*)\b"),
    ("NONNEGINT", r"\b(?:[0-9]+)\b"),
    ("WORD", r"\b\w+\b"),
    ("NOTSPACE", r"\S+"),
    ("SPACE", r"\s*"),
    ("DATA", r".*?"),
    ("GREEDYDATA", r".*"),
    (
        "QUOTEDSTRING",
        r#"(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`)"#,
    ),
    (
        "UUID",
        r"[A-Fa-f0-9]{8}-(?:[A-Fa-f0-9]{4}-){3}[A-Fa-f0-9]{12}",
    ),
    (
        "MAC",
        r"(?:(?:[A-Fa-f0-9]{2}[:-]){5}[A-Fa-f0-9]{2}|(?:[A-Fa-f0-9]{4}\.){2}[A-Fa-f0-9]{4})",
    ),
    (
        "IPV4",
        r"(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)",
    ),
    (
        "IPV6",
        r"(?:(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}|(?:[0-9A-Fa-f]{1,4}:){1,7}:|(?:[0-9A-Fa-f]{1,4}:){1,6}:[0-9A-Fa-f]{1,4}|(?:[0-9A-Fa-f]{1,4}:){1,5}(?::[0-9A-Fa-f]{1,4}){1,2}|(?:[0-9A-Fa-f]{1,4}:){1,4}(?::[0-9A-Fa-f]{1,4}){1,3}|(?:[0-9A-Fa-f]{1,4}:){1,3}(?::[0-9A-Fa-f]{1,4}){1,4}|(?:[0-9A-Fa-f]{1,4}:){1,2}(?::[0-9A-Fa-f]{1,4}){1,5}|[0-9A-Fa-f]{1,4}:(?::[0-9A-Fa-f]{1,4}){1,6}|:(?:(?::[0-9A-Fa-f]{1,4}){1,7}|:)|::ffff:%{IPV4})",
    ),
    ("IP", r"(?:%{IPV6}|%{IPV4})"),
    (
        "HOSTNAME",
        r"\b(?:[0-9A-Za-z][0-9A-Za-z-]{0,62})(?:\.(?:[0-9A-Za-z][0-9A-Za-z-]{0,62}))*\.?",
    ),
    ("IPORHOST", r"(?:%{IP}|%{HOSTNAME})"),
    ("HOSTPORT", r"%{IPORHOST}:%{POSINT}"),
    ("UNIXPATH", r"(?:/[\w_%!$@:.,+~-]*)+"),
    ("WINPATH", r"(?:[A-Za-z]+:|\\)(?:\\[^\\?*]*)+"),
    ("PATH", r"(?:%{UNIXPATH}|%{WINPATH})"),
    ("URIPROTO", r"[A-Za-z](?:[A-Za-z0-9+\-.]+)+"),
    ("URIHOST", r"%{IPORHOST}(?::%{POSINT})?"),
    ("URIPATH", r"(?:/[A-Za-z0-9$.+!*'(){},~:;=@#%&_\-]*)+"),
    ("YEAR", r"(?:\d\d){1,2}"),
    ("MONTHNUM", r"(?:0?[1-9]|1[0-2])"),
    ("MONTHDAY", r"(?:(?:0[1-9])|(?:[12][0-9])|(?:3[01])|[1-9])"),
    ("HOUR", r"(?:2[0123]|[01]?[0-9])"),
    ("MINUTE", r"(?:[0-5][0-9])"),
    ("SECOND", r"(?:(?:[0-5]?[0-9]|60)(?:[:.,][0-9]+)?)"),
    ("ISO8601_TIMEZONE", r"(?:Z|[+-]%{HOUR}(?::?%{MINUTE}))"),
    (
        "TIMESTAMP_ISO8601",
        r"%{YEAR}-%{MONTHNUM}-%{MONTHDAY}[T ]%{HOUR}:?%{MINUTE}(?::?%{SECOND})?%{ISO8601_TIMEZONE}?",
    ),
    (
        "LOGLEVEL",
        r"(?:[Aa]lert|ALERT|[Tt]race|TRACE|[Dd]ebug|DEBUG|[Nn]otice|NOTICE|[Ii]nfo?(?:rmation)?|INFO?(?:RMATION)?|[Ww]arn?(?:ing)?|WARN?(?:ING)?|[Ee]rr?(?:or)?|ERR?(?:OR)?|[Cc]rit?(?:ical)?|CRIT?(?:ICAL)?|[Ff]atal|FATAL|[Ss]evere|SEVERE|EMERG(?:ENCY)?|[Ee]merg(?:ency)?)",
    ),
];

/// A GROK pattern as a regex (unanchored, as grok searches), and each named
/// capture: `(name, group, type)`. `%{SYNTAX}` matches without capturing,
/// `%{SYNTAX:name}` captures, `%{SYNTAX:name:int}` (or `long`, `float`,
/// `double`, `boolean`) converts. Other groups in the pattern do not capture.
fn grok_regex(pattern: &str) -> std::result::Result<(String, GrokKeys), String> {
    fn expand(
        pattern: &str,
        depth: usize,
        keys: &mut GrokKeys,
        out: &mut String,
    ) -> std::result::Result<(), String> {
        if depth > 16 {
            return Err("GROK: patterns nest too deeply".into());
        }
        let mut rest = pattern;
        while let Some(open) = rest.find("%{") {
            push_plain(&rest[..open], keys, out);
            let close = rest[open..].find('}').ok_or("GROK: a %{ without its }")? + open;
            let inner = &rest[open + 2..close];
            rest = &rest[close + 1..];
            let mut parts = inner.splitn(3, ':');
            let syntax = parts.next().unwrap_or("");
            let name = parts.next();
            let kind = match parts.next() {
                None => GrokType::Text,
                Some("int" | "integer") => GrokType::Int,
                Some("long") => GrokType::Long,
                Some("float" | "double") => GrokType::Float,
                Some("boolean") => GrokType::Boolean,
                Some(other) => return Err(format!("GROK: unknown type {other} in %{{{inner}}}")),
            };
            let Some((_, body)) = GROK_PATTERNS.iter().find(|(n, _)| *n == syntax) else {
                return Err(format!("GROK: pattern {syntax} is not known here"));
            };
            if let Some(name) = name {
                out.push('(');
                let group = 1 + keys.len();
                keys.push((name.to_owned(), group, kind));
            } else {
                out.push_str("(?:");
            }
            expand(body, depth + 1, keys, out)?;
            out.push(')');
        }
        push_plain(rest, keys, out);
        Ok(())
    }
    /// Regex text: its named groups `(?<name>...)` capture as fields, its other
    /// groups are made non-capturing (so the fields keep their numbers).
    fn push_plain(text: &str, keys: &mut GrokKeys, out: &mut String) {
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        let mut in_class = false;
        while i < chars.len() {
            let c = chars[i];
            match c {
                '\\' => {
                    out.push(c);
                    if let Some(next) = chars.get(i + 1) {
                        out.push(*next);
                        i += 1;
                    }
                }
                '[' => {
                    in_class = true;
                    out.push(c);
                }
                ']' => {
                    in_class = false;
                    out.push(c);
                }
                '(' if !in_class => {
                    let rest: String = chars[i + 1..].iter().collect();
                    let named = rest
                        .strip_prefix("?<")
                        .or_else(|| rest.strip_prefix("?P<"))
                        .filter(|r| !r.starts_with('=') && !r.starts_with('!'))
                        .and_then(|r| r.split_once('>'));
                    if let Some((name, _)) = named {
                        keys.push((name.to_owned(), 1 + keys.len(), GrokType::Text));
                        out.push('(');
                        i += rest.find('>').map_or(0, |p| p + 1);
                    } else if rest.starts_with('?') {
                        out.push('(');
                    } else {
                        out.push_str("(?:");
                    }
                }
                _ => out.push(c),
            }
            i += 1;
        }
    }
    let mut keys = vec![];
    let mut re = String::from("(?s)");
    expand(pattern, 0, &mut keys, &mut re)?;
    if keys.is_empty() {
        return Err("GROK: the pattern names no field (%{SYNTAX:name})".into());
    }
    let mut seen = std::collections::HashSet::new();
    if let Some((dup, _, _)) = keys.iter().find(|(n, _, _)| !seen.insert(n.clone())) {
        return Err(format!(
            "GROK: {dup} is captured twice (multi-valued output is not supported yet)"
        ));
    }
    Ok((re, keys))
}

/// Translates expressions; `now` is the as-of instant, `time_type` the
/// `@timestamp` column's Arrow type for time literals.
struct Sql<'a> {
    now: i64,
    time_type: &'a str,
    /// The `events` columns' types, when known.
    types: std::collections::HashMap<String, arrow::datatypes::DataType>,
    /// Columns holding lists computed in their own order (`SPLIT`), which
    /// Elasticsearch keeps as they are; stored lists come sorted.
    in_order: std::collections::HashSet<String>,
    /// Columns the query computed (EVAL, DISSECT, ...): not index fields, so
    /// not MATCH's.
    computed: std::collections::HashSet<String>,
    /// Why MATCH cannot be used where the translation is; `None` where it can
    /// (WHERE and STATS, before any LIMIT or STATS).
    full_text: std::cell::Cell<Option<&'static str>>,
    /// Where the command being translated starts (for errors without a place
    /// of their own).
    command_at: std::cell::Cell<usize>,
}

impl Sql<'_> {
    /// The value of a constant time expression (`now() - 8 hour`), if it is one.
    fn instant(&self, e: &Expr) -> Option<i64> {
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

    fn expr(&self, e: &Expr, out: &mut String) -> Result<()> {
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
            Expr::Neg(inner) => {
                out.push_str("(-");
                self.expr(inner, out)?;
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
                    self.expr(item, out)?;
                }
                out.push_str("))");
            }
            Expr::Like(value, pattern, regex, negated) => {
                out.push('(');
                if *negated {
                    out.push_str("NOT ");
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
                out.push(')');
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
                self.expr(l, &mut left)?;
                self.expr(r, &mut right)?;
                let function = if *op == "/" { "esql_div" } else { "esql_mod" };
                let _ = write!(out, "{function}({left}, {right})");
            }
            Expr::Binary(l, op @ ("==" | "!=" | "<" | "<=" | ">" | ">="), r)
                if self.typed_literal(l, r) || self.typed_literal(r, l) =>
            {
                // A string compared with an IP or a boolean is read as one.
                let ((Expr::Str(text), field) | (field, Expr::Str(text))) = (&**l, &**r) else {
                    unreachable!("typed_literal holds")
                };
                if self.is_ip(field) {
                    if !matches!(*op, "==" | "!=") {
                        return Err(error(
                            self.pos_of(e),
                            "only == and != compare IPs here (not their order)",
                        ));
                    }
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
                let comparison = matches!(*op, "==" | "!=" | "<" | "<=" | ">" | ">=");
                out.push('(');
                self.operand(l, comparison, out)?;
                let _ = write!(
                    out,
                    " {} ",
                    match *op {
                        "==" => "=",
                        "!=" => "<>",
                        other => other,
                    }
                );
                self.operand(r, comparison, out)?;
                out.push(')');
            }
            Expr::Options(_, pos) => {
                return Err(error(
                    *pos,
                    "options { ... } are only MATCH's last argument",
                ));
            }
            Expr::Call(name, args, pos) => {
                if name == "case" {
                    // CASE(cond, value, cond, value, ..., [else]).
                    out.push_str("CASE");
                    let mut pairs = args.chunks_exact(2);
                    for pair in pairs.by_ref() {
                        out.push_str(" WHEN ");
                        self.expr(&pair[0], out)?;
                        out.push_str(" THEN ");
                        self.expr(&pair[1], out)?;
                    }
                    if let [otherwise] = pairs.remainder() {
                        out.push_str(" ELSE ");
                        self.expr(otherwise, out)?;
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
                    "pow" => ("power", 2..=2),
                    "sqrt" => ("sqrt", 1..=1),
                    "log10" => ("log10", 1..=1),
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
                out.push_str(sql);
                out.push('(');
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    // CIDR_MATCH's blocks are literals; other arguments are values.
                    self.operand(a, name != "cidr_match" || i == 0, out)?;
                }
                out.push(')');
            }
        }
        Ok(())
    }

    /// The type `e` has, where the translation needs it (lists, whole numbers,
    /// times); `None` when it is not known.
    fn infer(&self, e: &Expr) -> Option<arrow::datatypes::DataType> {
        use arrow::datatypes::{DataType as T, Field, TimeUnit};
        let list = |item: T| T::List(std::sync::Arc::new(Field::new("item", item, true)));
        Some(match e {
            Expr::Field(name) => self.types.get(name)?.clone(),
            Expr::Str(_) => T::Utf8,
            Expr::Int(n) if i32::try_from(*n).is_ok() => T::Int32,
            Expr::Int(_) => T::Int64,
            Expr::Float(_) => T::Float64,
            Expr::Bool(_) | Expr::Not(_) | Expr::IsNull(..) | Expr::In(..) | Expr::Like(..) => {
                T::Boolean
            }
            Expr::Now => T::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
            Expr::Neg(inner) => self.infer(inner)?,
            Expr::Binary(left, op, right) => match *op {
                "==" | "!=" | "<" | "<=" | ">" | ">=" | "AND" | "OR" => T::Boolean,
                _ => match (self.infer(left)?, self.infer(right)?) {
                    (time @ T::Timestamp(..), _) => time,
                    (lt, rt) if lt.is_integer() && rt.is_integer() => {
                        if lt == T::Int32 && rt == T::Int32 {
                            T::Int32
                        } else {
                            T::Int64
                        }
                    }
                    _ => return None,
                },
            },
            Expr::Call(name, args, _) => match name.as_str() {
                "to_integer" | "to_int" | "length" | "date_diff" => T::Int32,
                "to_long" | "mv_count" => T::Int64,
                "to_double" => T::Float64,
                "to_string" | "to_str" | "to_lower" | "to_upper" | "replace" | "substring"
                | "trim" | "ltrim" | "rtrim" | "left" | "right" | "concat" | "date_format"
                | "mv_concat" | "from_base64" => T::Utf8,
                "to_boolean" | "to_bool" | "cidr_match" | "starts_with" | "ends_with" => T::Boolean,
                "to_datetime" | "to_dt" => T::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
                "date_trunc" => self.infer(args.get(1)?)?,
                "bucket" => match args.get(1)? {
                    Expr::Span(_) | Expr::Calendar(..) => self.infer(args.first()?)?,
                    _ => T::Float64,
                },
                "split" => list(T::Utf8),
                "mv_dedupe" | "mv_slice" | "coalesce" => self.infer(args.first()?)?,
                "mv_first" | "mv_last" | "mv_min" | "mv_max" => {
                    item_type(self.infer(args.first()?)?)
                }
                _ => return None,
            },
            _ => return None,
        })
    }

    /// The type of an aggregate's result, where known.
    fn infer_aggregate(&self, e: &Expr) -> Option<arrow::datatypes::DataType> {
        use arrow::datatypes::{DataType as T, Field};
        let Expr::Call(name, args, _) = e else {
            return None;
        };
        Some(match name.as_str() {
            "count" | "count_distinct" => T::Int64,
            "values" => T::List(std::sync::Arc::new(Field::new(
                "item",
                item_type(self.infer(args.first()?)?),
                true,
            ))),
            "min" | "max" => item_type(self.infer(args.first()?)?),
            "sum" if self.infer(args.first()?)?.is_integer() => T::Int64,
            "avg" | "median" => T::Float64,
            _ => return None,
        })
    }

    /// `f`, translating where MATCH is allowed unless `why` says otherwise
    /// (WHERE and STATS); elsewhere MATCH is refused.
    fn allowing_full_text<T>(
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
    fn in_order(&self, e: &Expr) -> bool {
        match e {
            Expr::Call(name, _, _) => name == "split",
            Expr::Field(name) => self.in_order.contains(name),
            _ => false,
        }
    }

    /// Column `name` now holds one of its list's values per row.
    fn unlist(&mut self, name: &str) {
        if let Some(t) = self.types.remove(name) {
            self.types.insert(name.to_owned(), item_type(t));
        }
    }

    fn is_list(&self, e: &Expr) -> bool {
        matches!(
            self.infer(e),
            Some(arrow::datatypes::DataType::List(_) | arrow::datatypes::DataType::LargeList(_))
        )
    }

    /// A multi-valued field's values as Elasticsearch returns them: sorted,
    /// and for keywords also de-duplicated (doc values keep a keyword once).
    fn sorted_values(&self, e: &Expr) -> Result<String> {
        let mut f = String::new();
        self.expr(e, &mut f)?;
        if self.in_order(e) {
            return Ok(f);
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

    fn text(&self, e: &Expr, single: bool) -> Result<String> {
        let mut out = String::new();
        self.operand(e, single, &mut out)?;
        Ok(out)
    }

    /// Functions whose ES|QL meaning needs more than a same-named SQL call;
    /// `false` when `name` is not one of them.
    fn special_call(
        &self,
        name: &str,
        args: &[Expr],
        pos: usize,
        out: &mut String,
    ) -> Result<bool> {
        use arrow::datatypes::DataType as T;
        let arity =
            |range: std::ops::RangeInclusive<usize>| check_arity(name, &range, args.len(), pos);
        let integer = |e: &Expr| self.infer(e).is_some_and(|t| t.is_integer());
        let timestamp = |e: &Expr| matches!(self.infer(e), Some(T::Timestamp(..)));
        let sql = match name {
            "match" => self.full_text_match(args, pos)?,
            "replace" => {
                arity(3..=3)?;
                // Java's replacement rules ($1, ${name}, \ escapes): esql_replace.
                format!(
                    "esql_replace({}, {}, {})",
                    self.text(&args[0], true)?,
                    self.text(&args[1], true)?,
                    self.text(&args[2], true)?
                )
            }
            "substring" => {
                arity(2..=3)?;
                // From 1; a negative start counts from the end; 0 is 1.
                let s = self.text(&args[0], true)?;
                let start = self.text(&args[1], true)?;
                let from = format!(
                    "CASE WHEN {start} > 0 THEN {start} \
                     WHEN {start} < 0 THEN greatest(character_length({s}) + {start} + 1, 1) \
                     ELSE 1 END"
                );
                match args.get(2) {
                    Some(len) => format!(
                        "substr({s}, {from}, greatest({}, 0))",
                        self.text(len, true)?
                    ),
                    None => format!("substr({s}, {from})"),
                }
            }
            "to_double" => {
                arity(1..=1)?;
                format!("try_cast({} AS DOUBLE)", self.text(&args[0], true)?)
            }
            "to_integer" | "to_int" | "to_long" => {
                arity(1..=1)?;
                let to = if name == "to_long" { "BIGINT" } else { "INT" };
                let v = self.text(&args[0], true)?;
                let rounded = format!("try_cast(floor(try_cast({v} AS DOUBLE) + 0.5) AS {to})");
                if integer(&args[0]) {
                    format!("try_cast({v} AS {to})")
                } else if timestamp(&args[0]) {
                    // A time is its milliseconds since the epoch.
                    format!(
                        "try_cast(CAST(arrow_cast({v}, 'Timestamp(Millisecond, Some(\"UTC\"))') \
                         AS BIGINT) AS {to})"
                    )
                } else if self.infer(&args[0]).is_some_and(|t| t.is_floating()) {
                    // Rounded half up (Java's Math.round); out of range is NULL.
                    rounded
                } else {
                    // Text is read as a whole number first, exact to the last
                    // digit; else as a double, rounded.
                    format!("coalesce(try_cast({v} AS {to}), {rounded})")
                }
            }
            "to_string" | "to_str" => {
                arity(1..=1)?;
                let v = self.text(&args[0], true)?;
                if timestamp(&args[0]) {
                    format!("to_char({v}, '%Y-%m-%dT%H:%M:%S%.3fZ')")
                } else {
                    format!("CAST({v} AS VARCHAR)")
                }
            }
            "to_datetime" | "to_dt" => {
                arity(1..=1)?;
                let v = self.text(&args[0], true)?;
                if integer(&args[0]) {
                    // Whole numbers are milliseconds since the epoch.
                    format!("arrow_cast(to_timestamp_millis({v}), '{}')", self.time_type)
                } else {
                    format!(
                        "arrow_cast(try_cast({v} AS TIMESTAMP), '{}')",
                        self.time_type
                    )
                }
            }
            "to_ip" => {
                arity(1..=1)?;
                let v = self.text(&args[0], true)?;
                format!("CASE WHEN cidr_match({v}, '0.0.0.0/0', '::/0') IS NOT NULL THEN {v} END")
            }
            "to_boolean" | "to_bool" => {
                arity(1..=1)?;
                let v = self.text(&args[0], true)?;
                if integer(&args[0]) {
                    format!("({v} <> 0)")
                } else {
                    format!(
                        "CASE WHEN {v} IS NULL THEN NULL ELSE lower(CAST({v} AS VARCHAR)) = 'true' END"
                    )
                }
            }
            "bucket" => {
                // BUCKET(field, span): a time span buckets as DATE_TRUNC does; a
                // number buckets numbers (floor(x / span) * span, a double).
                if args.len() == 4 {
                    return Err(error(
                        pos,
                        "BUCKET(field, buckets, from, to) is not supported yet; \
                         give the span: BUCKET(field, 1 hour)",
                    ));
                }
                arity(2..=2)?;
                match &args[1] {
                    Expr::Span(_) | Expr::Calendar(..) => {
                        return self.special_call(
                            "date_trunc",
                            &[args[1].clone(), args[0].clone()],
                            pos,
                            out,
                        );
                    }
                    Expr::Int(_) | Expr::Float(_) => {
                        let v = self.text(&args[0], true)?;
                        let span = self.text(&args[1], true)?;
                        format!("(floor(CAST({v} AS DOUBLE) / {span}) * {span})")
                    }
                    _ => {
                        return Err(error(pos, "BUCKET takes a constant span second"));
                    }
                }
            }
            "date_trunc" => {
                arity(2..=2)?;
                let date = self.text(&args[1], true)?;
                match &args[0] {
                    Expr::Calendar(1, unit) => format!("date_trunc('{unit}', {date})"),
                    Expr::Calendar(..) => {
                        return Err(error(
                            pos,
                            "DATE_TRUNC takes 1 month, 1 quarter or 1 year of calendar spans",
                        ));
                    }
                    // A calendar day; seven days are the ISO week from Monday.
                    Expr::Span(86_400_000_000_000) => format!("date_trunc('day', {date})"),
                    Expr::Span(604_800_000_000_000) => format!("date_trunc('week', {date})"),
                    // Any other span: buckets counted from the epoch.
                    Expr::Span(ns) if *ns > 0 => {
                        format!("date_bin(INTERVAL '{ns} nanoseconds', {date})")
                    }
                    _ => {
                        return Err(error(
                            pos,
                            "DATE_TRUNC takes a time span first (1 hour, 15 minutes, 1 day, ...)",
                        ));
                    }
                }
            }
            "date_diff" => {
                arity(3..=3)?;
                // Whole units from start to end, truncated toward zero (Java's
                // ChronoUnit.between, which for UTC times is the duration over the
                // unit); past the int range NULL, as Elasticsearch's safeToInt.
                let Expr::Str(unit) = &args[0] else {
                    return Err(error(
                        pos,
                        "DATE_DIFF takes a unit string first (\"hour\", ...)",
                    ));
                };
                let nanos: i64 = match unit.to_ascii_lowercase().as_str() {
                    "nanosecond" | "nanoseconds" | "ns" => 1,
                    "microsecond" | "microseconds" | "mcs" => 1_000,
                    "millisecond" | "milliseconds" | "ms" => 1_000_000,
                    "second" | "seconds" | "ss" | "s" => 1_000_000_000,
                    "minute" | "minutes" | "mi" | "n" => 60_000_000_000,
                    "hour" | "hours" | "hh" => 3_600_000_000_000,
                    "day" | "days" | "dd" | "d" | "dayofyear" | "dy" | "y" | "weekday"
                    | "weekdays" | "dw" => 86_400_000_000_000,
                    "week" | "weeks" | "wk" | "ww" => 7 * 86_400_000_000_000,
                    // Calendar units, below: months per 1, 3 or 12.
                    "month" | "months" | "mm" | "m" => -1,
                    "quarter" | "quarters" | "qq" | "q" => -3,
                    "year" | "years" | "yyyy" | "yy" => -12,
                    other => {
                        return Err(error(pos, format!("DATE_DIFF: unknown unit \"{other}\"")));
                    }
                };
                let ns = |e: &Expr| -> Result<String> {
                    Ok(format!(
                        "CAST(arrow_cast({}, 'Timestamp(Nanosecond, Some(\"UTC\"))') AS BIGINT)",
                        self.text(e, true)?
                    ))
                };
                let (start, end) = (ns(&args[1])?, ns(&args[2])?);
                if nanos > 0 {
                    format!("try_cast(({end} - {start}) / {nanos} AS INT)")
                } else {
                    // Java's LocalDateTime.until in months: the end date moves a
                    // day toward the start when its time of day has not reached
                    // the start's; then whole months between the dates, counting
                    // the day of the month (prolepticMonth * 32 + day).
                    const DAY: i64 = 86_400_000_000_000;
                    let day = |t: &str| format!("(({t}) - ((({t}) % {DAY}) + {DAY}) % {DAY})");
                    let clock = |t: &str| format!("(((({t}) % {DAY}) + {DAY}) % {DAY})");
                    let (start_day, end_day) = (day(&start), day(&end));
                    let (start_clock, end_clock) = (clock(&start), clock(&end));
                    let end_day = format!(
                        "CASE WHEN {end_day} > {start_day} AND {end_clock} < {start_clock} \
                         THEN {end_day} - {DAY} \
                         WHEN {end_day} < {start_day} AND {end_clock} > {start_clock} \
                         THEN {end_day} + {DAY} ELSE {end_day} END"
                    );
                    let packed = |d: &str| {
                        let date = format!("to_timestamp_nanos({d})");
                        format!(
                            "((CAST(date_part('year', {date}) AS BIGINT) * 12 \
                             + CAST(date_part('month', {date}) AS BIGINT) - 1) * 32 \
                             + CAST(date_part('day', {date}) AS BIGINT))"
                        )
                    };
                    format!(
                        "try_cast(({} - {}) / 32 / {} AS INT)",
                        packed(&end_day),
                        packed(&start_day),
                        -nanos
                    )
                }
            }
            "date_format" => {
                arity(1..=2)?;
                let (pattern, date) = match args {
                    [date] => ("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'".to_owned(), date),
                    [Expr::Str(p), date] => (p.clone(), date),
                    _ => {
                        return Err(error(
                            pos,
                            "DATE_FORMAT takes a pattern string, then the date",
                        ));
                    }
                };
                let format = java_date_pattern(&pattern).map_err(|m| error(pos, m))?;
                format!(
                    "to_char({}, {})",
                    self.text(date, true)?,
                    string_literal(&format)
                )
            }
            "mv_count" => {
                arity(1..=1)?;
                if self.in_order(&args[0]) {
                    // Computed values keep their repeats.
                    format!(
                        "CAST(cardinality({}) AS BIGINT)",
                        self.text(&args[0], false)?
                    )
                } else {
                    format!("mv_count({})", self.text(&args[0], false)?)
                }
            }
            "mv_concat" => {
                arity(2..=2)?;
                let delim = self.text(&args[1], true)?;
                if self.is_list(&args[0]) {
                    format!(
                        "array_to_string({}, {delim})",
                        self.sorted_values(&args[0])?
                    )
                } else {
                    format!("CAST({} AS VARCHAR)", self.text(&args[0], false)?)
                }
            }
            "mv_dedupe" => {
                arity(1..=1)?;
                if self.is_list(&args[0]) {
                    format!(
                        "array_sort(array_distinct({}))",
                        self.text(&args[0], false)?
                    )
                } else {
                    self.text(&args[0], false)?
                }
            }
            "mv_first" | "mv_last" | "mv_min" | "mv_max" => {
                arity(1..=1)?;
                if self.is_list(&args[0]) {
                    let index = if matches!(name, "mv_first" | "mv_min") {
                        1
                    } else {
                        -1
                    };
                    format!("array_element({}, {index})", self.sorted_values(&args[0])?)
                } else {
                    self.text(&args[0], false)?
                }
            }
            "mv_slice" => {
                arity(2..=3)?;
                // ES|QL counts from 0 (negative from the end), end included.
                let index = |e: &Expr| -> Result<i64> {
                    match e {
                        Expr::Int(n) => Ok(*n),
                        Expr::Neg(inner) => match **inner {
                            Expr::Int(n) => Ok(-n),
                            _ => Err(error(pos, "MV_SLICE takes whole-number positions")),
                        },
                        _ => Err(error(pos, "MV_SLICE takes whole-number positions")),
                    }
                };
                let start = index(&args[1])?;
                let end = args.get(2).map_or(Ok(start), index)?;
                // Constant positions are checked once, as Elasticsearch plans them.
                if start > end {
                    return Err(error(pos, "MV_SLICE: the start is after the end"));
                }
                if start < 0 && end >= 0 {
                    return Err(error(
                        pos,
                        "MV_SLICE: the start and the end have different signs",
                    ));
                }
                if self.is_list(&args[0]) {
                    // Negative positions count from the end; the range is clamped
                    // to the values, and NULL when it misses them all.
                    let v = self.sorted_values(&args[0])?;
                    let n = format!("CAST(cardinality({v}) AS BIGINT)");
                    let (from, to) = if start >= 0 {
                        (start.to_string(), format!("least({end}, {n} - 1)"))
                    } else {
                        (
                            format!("greatest({n} + {start}, 0)"),
                            format!("{n} + {end}"),
                        )
                    };
                    format!(
                        "CASE WHEN {from} < {n} AND {to} >= 0 \
                         THEN array_slice({v}, {from} + 1, {to} + 1) END"
                    )
                } else {
                    // One value: position 0, or -1 from the end.
                    let v = self.text(&args[0], false)?;
                    let hit = if start >= 0 { start == 0 } else { end == -1 };
                    format!("CASE WHEN {hit} THEN {v} END")
                }
            }
            _ => return Ok(false),
        };
        out.push_str(&sql);
        Ok(true)
    }

    /// Whether `e` is an IP field: text named `ip` or `*.ip`, as ECS names them
    /// (Parquet has no IP type).
    fn is_ip(&self, e: &Expr) -> bool {
        let Expr::Field(name) = e else {
            return false;
        };
        let text = match self.infer(e) {
            None => true,
            Some(arrow::datatypes::DataType::List(item)) => item.data_type().is_string(),
            Some(t) => t.is_string(),
        };
        text && name.rsplit('.').next() == Some("ip")
    }

    /// Whether `literal` is a string that ES|QL reads as `field`'s type (an IP or
    /// a boolean) when they are compared.
    fn typed_literal(&self, field: &Expr, literal: &Expr) -> bool {
        matches!(literal, Expr::Str(_))
            && (self.is_ip(field) || self.infer(field) == Some(arrow::datatypes::DataType::Boolean))
    }

    /// The position of the first call inside `e`, else of its command.
    fn pos_of(&self, e: &Expr) -> usize {
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

    /// `MATCH(field, query [, {options}])`, and `field : query`: Elasticsearch's
    /// match query, chosen by the field's kind as its mapping would choose it.
    ///
    /// Text (`esql_match`, lakehunt's UDF): `message`, `error.message` and
    /// `*.text` are analyzed text, `ip` and `*.ip` addresses, other strings
    /// keywords (the whole value, case-sensitive). Numbers, booleans and times
    /// are compared with the query read as one; a query they cannot read
    /// matches nothing, as ES|QL's MATCH is lenient. `boost`, `max_expansions`,
    /// `fuzzy_rewrite`, `lenient` and `auto_generate_synonyms_phrase_query`
    /// only change scores or Elasticsearch's term expansion: every term within
    /// the edits matches here.
    fn full_text_match(&self, args: &[Expr], pos: usize) -> Result<String> {
        use arrow::datatypes::DataType as T;
        if let Some(why) = self.full_text.get() {
            return Err(error(pos, format!("MATCH {why}")));
        }
        check_arity("match", &(2..=3), args.len(), pos)?;
        let Expr::Field(field) = &args[0] else {
            return Err(error(pos, "MATCH takes a field first"));
        };
        if self.computed.contains(field) {
            return Err(error(
                pos,
                format!("MATCH cannot operate on {field}, which is not a field from the index"),
            ));
        }
        let constant = |e: &Expr| match e {
            Expr::Str(s) => Some(s.clone()),
            Expr::Int(n) => Some(n.to_string()),
            Expr::Float(x) => Some(format!("{x:?}")),
            Expr::Bool(b) => Some(b.to_string()),
            _ => None,
        };
        let Some(query) = constant(&args[1]) else {
            return Err(error(pos, "MATCH takes a constant query"));
        };
        let options: &[(String, Expr)] = match args.get(2) {
            None => &[],
            Some(Expr::Options(options, _)) => options,
            Some(_) => return Err(error(pos, "MATCH's third argument is its { options }")),
        };
        let mut spec = vec![];
        let mut fuzzy = false;
        for (name, value) in options {
            let text = constant(value).unwrap_or_default();
            let valid = match name.as_str() {
                "fuzziness" => {
                    fuzzy = text != "0";
                    let auto = text
                        .get(..5)
                        .is_some_and(|a| a.eq_ignore_ascii_case("auto:"));
                    text.eq_ignore_ascii_case("auto")
                        || ["0", "1", "2"].contains(&text.as_str())
                        || auto
                            && text[5..].split_once(',').is_some_and(|(l, h)| {
                                l.trim().parse::<u32>().is_ok() && h.trim().parse::<u32>().is_ok()
                            })
                }
                "operator" => ["and", "or"].contains(&text.to_ascii_lowercase().as_str()),
                "prefix_length" => text.parse::<u32>().is_ok(),
                "fuzzy_transpositions" => matches!(value, Expr::Bool(_)),
                "zero_terms_query" => ["all", "none"].contains(&text.to_ascii_lowercase().as_str()),
                "minimum_should_match" => text
                    .strip_suffix('%')
                    .unwrap_or(&text)
                    .parse::<i64>()
                    .is_ok(),
                "boost"
                | "max_expansions"
                | "fuzzy_rewrite"
                | "lenient"
                | "auto_generate_synonyms_phrase_query" => continue,
                "analyzer" => {
                    return Err(error(
                        pos,
                        "MATCH's analyzer option is not supported: text fields are read \
                         with the standard analyzer",
                    ));
                }
                other => {
                    return Err(error(
                        pos,
                        format!(
                            "invalid option [{other}] in MATCH, expected one of [analyzer, \
                             auto_generate_synonyms_phrase_query, boost, fuzziness, \
                             fuzzy_rewrite, fuzzy_transpositions, lenient, max_expansions, \
                             minimum_should_match, operator, prefix_length, zero_terms_query]"
                        ),
                    ));
                }
            };
            if !valid || text.contains(';') {
                return Err(error(
                    pos,
                    format!("invalid value [{text}] for MATCH's option {name}"),
                ));
            }
            spec.push(format!("{name}={text}"));
        }
        let list = self.is_list(&args[0]);
        let scalar = self.infer(&args[0]).map_or(T::Utf8, item_type);
        let value = quote(field);
        let equal = |literal: String| {
            if list {
                format!("coalesce(array_has({value}, {literal}), FALSE)")
            } else {
                format!("coalesce({value} = {literal}, FALSE)")
            }
        };
        Ok(match scalar {
            s if s.is_string() => {
                let leaf = field.rsplit('.').next().unwrap_or_default();
                let kind = if leaf == "ip" {
                    "ip"
                } else if field == "message"
                    || field == "error.message"
                    || (leaf == "text" && field.contains('.'))
                {
                    "text"
                } else {
                    "keyword"
                };
                spec.insert(0, format!("kind={kind}"));
                format!(
                    "esql_match({value}, {}, {})",
                    string_literal(&query),
                    string_literal(&spec.join(";"))
                )
            }
            // Fuzziness on a field without terms to expand matches nothing.
            _ if fuzzy => "FALSE".to_owned(),
            T::Boolean => match query.as_str() {
                "true" | "false" => equal(query.to_ascii_uppercase()),
                _ => "FALSE".to_owned(),
            },
            n if n.is_integer() => match query.trim().parse::<i64>() {
                Ok(v) => equal(v.to_string()),
                // A whole number written as a double (`2.0`) still matches.
                Err(_) => match query.trim().parse::<f64>() {
                    Ok(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => equal(format!("{x:.0}")),
                    _ => "FALSE".to_owned(),
                },
            },
            n if n.is_floating() => match query.trim().parse::<f64>() {
                Ok(x) if x.is_finite() => equal(format!("{x:?}")),
                _ => "FALSE".to_owned(),
            },
            T::Timestamp(..) if !list => match date_span(query.trim()) {
                // A date matches the whole span it names (a day, a second...).
                Some((start, unit)) => {
                    let start = format!(
                        "arrow_cast({}, '{}')",
                        string_literal(&start),
                        self.time_type
                    );
                    format!(
                        "coalesce({value} >= {start} AND {value} < {start} + INTERVAL '1 {unit}', FALSE)"
                    )
                }
                None => "FALSE".to_owned(),
            },
            other => {
                return Err(error(pos, format!("MATCH on {other} is not supported")));
            }
        })
    }

    /// A comparison operand: a field is read through `mv_single`, so a
    /// multi-valued field compares as NULL, as in ES|QL.
    fn operand(&self, e: &Expr, single: bool, out: &mut String) -> Result<()> {
        match e {
            // A multi-valued list is also counted for ES|QL's warning.
            Expr::Field(name) if single && self.is_list(e) => {
                let _ = write!(out, "mv_single(esql_mv_check({}))", quote(name));
                Ok(())
            }
            Expr::Field(name) if single => {
                let _ = write!(out, "mv_single({})", quote(name));
                Ok(())
            }
            other => self.expr(other, out),
        }
    }

    fn aggregate(&self, at: usize, e: &Expr, out: &mut String) -> Result<()> {
        let Expr::Call(name, args, pos) = e else {
            return Err(error(
                at,
                "STATS takes aggregate functions: name = SUM(field) BY ...",
            ));
        };
        match (name.as_str(), args.as_slice()) {
            // COUNT() and COUNT(*) count rows.
            ("count", []) => out.push_str("count(*)"),
            ("count", [Expr::Field(star)]) if star == "*" => out.push_str("count(*)"),
            ("count_distinct", [arg, ..]) => {
                // Exact, where ES|QL's is an estimate (exact below its precision).
                out.push_str("count(DISTINCT ");
                self.expr(arg, out)?;
                out.push(')');
            }
            ("values", [arg]) => {
                // The distinct values, sorted (ES|QL leaves their order open).
                let mut v = String::new();
                self.expr(arg, &mut v)?;
                if self.is_list(arg) {
                    let _ = write!(out, "array_sort(array_distinct(flatten(array_agg({v}))))");
                } else {
                    let _ = write!(
                        out,
                        "array_sort(array_agg(DISTINCT {v}) FILTER (WHERE {v} IS NOT NULL))"
                    );
                }
            }
            ("median", [arg]) => {
                out.push_str("median(");
                self.expr(arg, out)?;
                out.push(')');
            }
            ("count", [arg]) if self.is_list(arg) => {
                // COUNT(field) counts values; Elasticsearch keeps a keyword once.
                out.push_str("sum(cardinality(array_distinct(");
                self.expr(arg, out)?;
                out.push_str(")))");
            }
            ("sum", [arg]) if !self.infer(arg).is_some_and(|t| t.is_integer()) => {
                // Not a whole-number field: a plain (floating) sum.
                out.push_str("sum(");
                self.expr(arg, out)?;
                out.push(')');
            }
            ("sum" | "count" | "min" | "max" | "avg", [arg]) => {
                if name == "sum" {
                    // ES|QL's SUM of longs is a long; DECIMAL(38,0) keeps the sum
                    // exact, and a sum past the long range is NULL with a warning.
                    out.push_str("esql_long_sum(sum(CAST(");
                    self.expr(arg, out)?;
                    out.push_str(" AS DECIMAL(38,0))))");
                } else {
                    let _ = write!(out, "{name}(");
                    self.expr(arg, out)?;
                    out.push(')');
                }
            }
            (other, _) => {
                return Err(error(
                    *pos,
                    format!(
                        "aggregate {} is not supported yet",
                        other.to_ascii_uppercase()
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// A hunt file of Elastic's hunting library: its `[hunt]` table (other keys
/// are ignored).
#[derive(Clone, Debug, serde::Deserialize)]
pub struct LibraryHunt {
    /// The `[hunt]` table.
    pub hunt: LibraryHuntTable,
}

/// The part of a library hunt lakehunt reads.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct LibraryHuntTable {
    /// Title.
    pub name: String,
    /// Identifier.
    #[serde(default)]
    pub uuid: String,
    /// The queries, in order (older files give one query as a string).
    #[serde(default, deserialize_with = "one_or_many")]
    pub query: Vec<String>,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<String>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match <OneOrMany as serde::Deserialize>::deserialize(d)? {
        OneOrMany::One(q) => vec![q],
        OneOrMany::Many(qs) => qs,
    })
}

/// The language of a library query, told from its first word (after comments):
/// ES|QL starts with `FROM`; osquery's SQL with `SELECT` or `WITH`; anything else
/// (`process where ...`, `sequence by ...`) is EQL.
#[must_use]
pub fn query_language(query: &str) -> &'static str {
    let text = without_comments(query);
    let word: String = text
        .trim_start()
        .chars()
        .take_while(char::is_ascii_alphabetic)
        .collect::<String>()
        .to_ascii_lowercase();
    match word.as_str() {
        "from" | "row" | "show" => "ES|QL",
        "select" | "with" => "SQL",
        _ => "EQL",
    }
}

/// Reads a library hunt file, naming it on failure.
pub fn read_hunt_file(path: &std::path::Path) -> Result<LibraryHunt> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::UnreadableFile {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    toml::from_str(&text).map_err(|e| Error::UnreadableFile {
        path: path.to_owned(),
        message: format!("not a hunt file: {e}"),
    })
}

/// Some of the library's queries begin with a stray line `sql` before `FROM`:
/// the query without it, and whether it was there.
#[must_use]
pub fn strip_stray_sql(query: &str) -> (String, bool) {
    let trimmed = query.trim_start();
    match trimmed.split_once('\n') {
        Some((first, rest)) if first.trim() == "sql" => (rest.to_owned(), true),
        _ => (query.to_owned(), false),
    }
}

/// Whether lakehunt can run a query (parse and translate, no data needed).
pub fn check(query: &str) -> Result<()> {
    translate(query, 0, "@timestamp", "Timestamp(Nanosecond, None)", None).map(|_| ())
}

/// The index patterns a query's `FROM` names.
pub fn index_patterns(query: &str) -> Result<Vec<String>> {
    match parse(query)
        .map_err(|e| locate(query, e))?
        .into_iter()
        .next()
    {
        Some((_, Command::From(patterns, _))) => Ok(patterns),
        _ => Err(error(0, "a query starts with FROM")),
    }
}

/// The SQL an ES|QL query becomes, run as of `now` (ns) over `events`, whose
/// columns are `columns`; `time_field` and `time_type` (an `arrow_cast` type
/// name) describe the time column.
pub fn translate(
    query: &str,
    now: i64,
    time_field: &str,
    time_type: &str,
    columns: Option<&[(String, arrow::datatypes::DataType)]>,
) -> Result<String> {
    translate_for(
        query,
        &Target {
            now,
            time_field,
            time_type,
            columns,
            indexes: None,
            policies: &[],
        },
    )
}

/// An enrich policy (`--enrich POLICY=PATH`): a lookup table registered as
/// `table`, matched on its column `match_field`, adding its other columns.
#[derive(Clone, Debug)]
pub struct EnrichPolicy {
    /// The name ENRICH uses.
    pub name: String,
    /// The registered table.
    pub table: String,
    /// The lookup's key column (its first).
    pub match_field: String,
    /// The columns it can add.
    pub fields: Vec<String>,
}

/// What an ES|QL query is translated for.
#[derive(Clone, Copy, Debug)]
pub struct Target<'a> {
    /// `NOW()`, in ns; later events are invisible.
    pub now: i64,
    /// The time column.
    pub time_field: &'a str,
    /// Its type, as an `arrow_cast` type name.
    pub time_type: &'a str,
    /// `events`' columns and types; `None` (no data at hand) skips the column
    /// checks.
    pub columns: Option<&'a [(String, arrow::datatypes::DataType)]>,
    /// Named datasets (`--index PATTERN=PATH`): `events` has a column
    /// `_index`, FROM's patterns must be among these, and it keeps only their
    /// rows. `None`: every pattern reads all of `events`.
    pub indexes: Option<&'a [String]>,
    /// Enrich policies for `ENRICH`.
    pub policies: &'a [EnrichPolicy],
}

/// The SQL an ES|QL query becomes for `target`; errors give `line:column`.
pub fn translate_for(query: &str, target: &Target<'_>) -> Result<String> {
    translate_at(query, target).map_err(|e| locate(query, e))
}

fn translate_at(query: &str, target: &Target<'_>) -> Result<String> {
    let Target {
        now,
        time_field,
        time_type,
        columns,
        indexes,
        policies,
    } = *target;
    let commands = parse(query)?;
    let types = columns.unwrap_or_default().iter().cloned().collect();
    // The columns after each command, to tell a new EVAL column from a replaced
    // one; `None` (no data at hand) skips the column checks.
    let known = columns.is_some();
    let mut columns: Vec<String> = columns
        .unwrap_or_default()
        .iter()
        .map(|(name, _)| name.clone())
        .collect();
    let mut sql = Sql {
        now,
        time_type,
        types,
        in_order: std::collections::HashSet::new(),
        computed: std::collections::HashSet::new(),
        full_text: std::cell::Cell::new(Some(FULL_TEXT_WHERE)),
        command_at: std::cell::Cell::new(0),
    };
    let Some((_, Command::From(patterns, metadata))) = commands.first() else {
        return Err(error(0, "a query starts with FROM"));
    };
    let mut select = "*".to_owned();
    let mut scope = String::new();
    if let Some(indexes) = indexes {
        // Each pattern reads its own dataset; `_index` is a column.
        if let Some(missing) = patterns.iter().find(|p| !indexes.contains(p)) {
            return Err(error(
                commands[0].0,
                format!(
                    "index pattern {missing} has no --index (given: {})",
                    indexes.join(", ")
                ),
            ));
        }
        let list: Vec<String> = patterns.iter().map(|p| string_literal(p)).collect();
        scope = format!(" AND \"_index\" IN ({})", list.join(", "));
        if !metadata.iter().any(|(m, _)| m == "_index") {
            "* EXCLUDE (\"_index\")".clone_into(&mut select);
            columns.retain(|c| c != "_index");
        }
    }
    let mut from = "events";
    for (field, at) in metadata {
        match field.as_str() {
            "_index" if indexes.is_some() => {}
            // The event's file and row there: `/lake/part-0.parquet:1841`.
            "_id" => {
                from = "events_id";
                columns.push(field.clone());
            }
            // One dataset answers every pattern: it is named by them all.
            "_index" => {
                let _ = write!(
                    select,
                    ", {} AS \"_index\"",
                    string_literal(&patterns.join(","))
                );
                columns.push(field.clone());
            }
            "_score" => {
                return Err(error(
                    *at,
                    "METADATA _score is not supported: relevance scores need Elasticsearch's \
                     index statistics (BM25); MATCH filters rows here but does not score them",
                ));
            }
            other => {
                return Err(error(
                    *at,
                    format!("METADATA {other} is not supported yet (only _index and _id)"),
                ));
            }
        }
    }
    // Events after `now` did not exist yet.
    let mut current = format!(
        "SELECT {select} FROM {from} WHERE {} <= arrow_cast({}, '{}'){scope}",
        quote(time_field),
        string_literal(&format_instant(now)),
        time_type
    );
    // SQL keeps no order across subqueries, so a SORT stays pending: it is
    // applied by LIMIT and at the end, as long as its columns survive.
    let mut order: Option<(Vec<String>, String)> = None;
    let order_by = |o: &Option<(Vec<String>, String)>| {
        o.as_ref()
            .map(|(_, clause)| format!(" ORDER BY {clause}"))
            .unwrap_or_default()
    };
    // MATCH runs where Elasticsearch can run it, on the index's documents.
    let mut full_text_after: Option<&'static str> = None;
    for (at, command) in &commands[1..] {
        let at = *at;
        sql.command_at.set(at);
        let unknown = |name: &str| error(at, format!("unknown column {name}"));
        current = match command {
            Command::From(..) => return Err(error(at, "FROM may only start the query")),
            Command::Dissect(field, pattern, separator, at) => {
                let (re, keys) = dissect_regex(pattern).map_err(|m| error(*at, m))?;
                let value = sql.text(&Expr::Field(field.clone()), true)?;
                let outputs: Vec<(String, String)> = keys
                    .into_iter()
                    .map(|(name, groups)| {
                        let expr = match groups.as_slice() {
                            [group] => capture(&value, &re, *group),
                            // Appended keys: NULL, not "", where the pattern does not match.
                            _ => format!(
                                "CASE WHEN regexp_like({value}, {}) THEN concat_ws({}, {}) END",
                                string_literal(&re),
                                string_literal(separator),
                                groups
                                    .iter()
                                    .map(|g| capture(&value, &re, *g))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        };
                        (name, expr)
                    })
                    .collect();
                for (name, _) in &outputs {
                    sql.types
                        .insert(name.clone(), arrow::datatypes::DataType::Utf8);
                    sql.in_order.remove(name);
                    sql.computed.insert(name.clone());
                }
                add_columns(*at, &mut columns, order.as_ref(), &current, &outputs)?
            }
            Command::Grok(field, pattern, at) => {
                let (re, keys) = grok_regex(pattern).map_err(|m| error(*at, m))?;
                let value = sql.text(&Expr::Field(field.clone()), true)?;
                let outputs: Vec<(String, String)> = keys
                    .into_iter()
                    .map(|(name, group, kind)| {
                        use arrow::datatypes::DataType as T;
                        let got = capture(&value, &re, group);
                        let (expr, t) = match kind {
                            GrokType::Text => (got, T::Utf8),
                            GrokType::Int => (format!("try_cast({got} AS INT)"), T::Int32),
                            GrokType::Long => (format!("try_cast({got} AS BIGINT)"), T::Int64),
                            GrokType::Float => (format!("try_cast({got} AS DOUBLE)"), T::Float64),
                            GrokType::Boolean => (format!("(lower({got}) = 'true')"), T::Boolean),
                        };
                        sql.types.insert(name.clone(), t);
                        sql.in_order.remove(&name);
                        sql.computed.insert(name.clone());
                        (name, expr)
                    })
                    .collect();
                add_columns(*at, &mut columns, order.as_ref(), &current, &outputs)?
            }
            Command::Enrich(policy, on, with, at) => {
                // Without data (a check), any policy is taken as given.
                let assumed;
                let found = policies.iter().find(|p| &p.name == policy);
                let found = if found.is_none() && !known {
                    assumed = EnrichPolicy {
                        name: policy.clone(),
                        table: format!("enrich_{policy}"),
                        match_field: on.clone().unwrap_or_else(|| "key".to_owned()),
                        fields: with.iter().map(|(_, f)| f.clone()).collect(),
                    };
                    Some(&assumed)
                } else {
                    found
                };
                let Some(p) = found else {
                    return Err(error(
                        *at,
                        format!(
                            "enrich policy {policy} is not given (--enrich {policy}=PATH, \
                             a Parquet or CSV lookup table whose first column is the key)"
                        ),
                    ));
                };
                let on = on.clone().unwrap_or_else(|| p.match_field.clone());
                if known && !columns.contains(&on) {
                    return Err(unknown(&on));
                }
                let with: Vec<(String, String)> = if with.is_empty() {
                    p.fields.iter().map(|f| (f.clone(), f.clone())).collect()
                } else {
                    with.clone()
                };
                if let Some((_, missing)) = with.iter().find(|(_, f)| !p.fields.contains(f)) {
                    return Err(error(
                        *at,
                        format!("enrich policy {policy} has no field {missing}"),
                    ));
                }
                // A column of the same name is replaced, as EVAL does.
                let replaced: Vec<String> = with
                    .iter()
                    .filter(|(new, _)| columns.contains(new))
                    .map(|(new, _)| quote(new))
                    .collect();
                let kept = if replaced.is_empty() {
                    "q.*".to_owned()
                } else {
                    format!("q.* EXCLUDE ({})", replaced.join(", "))
                };
                let added: Vec<String> = with
                    .iter()
                    .map(|(new, f)| format!("e.{} AS {}", quote(f), quote(new)))
                    .collect();
                for (new, _) in &with {
                    sql.types.remove(new);
                    sql.in_order.remove(new);
                    sql.computed.insert(new.clone());
                    if !columns.contains(new) {
                        columns.push(new.clone());
                    }
                }
                let key = sql
                    .text(&Expr::Field(on.clone()), true)?
                    .replace(&quote(&on), &format!("q.{}", quote(&on)));
                // A pending SORT is applied again later (LIMIT, or the end).
                format!(
                    "SELECT {kept}, {} FROM ({current}) q LEFT JOIN {} e ON {key} = e.{}",
                    added.join(", "),
                    quote(&p.table),
                    quote(&p.match_field),
                )
            }
            Command::MvExpand(field) => {
                if known && !columns.contains(field) {
                    return Err(unknown(field));
                }
                if sql.is_list(&Expr::Field(field.clone())) {
                    let values = sql.sorted_values(&Expr::Field(field.clone()))?;
                    sql.unlist(field);
                    let q = quote(field);
                    format!(
                        "SELECT * EXCLUDE ({q}), {} AS {q} FROM ({current})",
                        unnest_values(&values)
                    )
                } else {
                    current
                }
            }
            Command::Where(cond) => {
                let mut c = String::new();
                sql.allowing_full_text(full_text_after, |sql| sql.expr(cond, &mut c))?;
                format!("SELECT * FROM ({current}) WHERE {c}")
            }
            Command::Keep(fields) => {
                if let Some(missing) = fields.iter().find(|f| known && !columns.contains(f)) {
                    return Err(unknown(missing));
                }
                columns.clone_from(fields);
                let list: Vec<String> = fields.iter().map(|f| quote(f)).collect();
                let sql = format!(
                    "SELECT {} FROM ({current}){}",
                    list.join(", "),
                    order_by(&order)
                );
                if order
                    .as_ref()
                    .is_some_and(|(keys, _)| keys.iter().any(|k| !fields.contains(k)))
                {
                    order = None;
                }
                sql
            }
            Command::Stats(aggs, keys) => {
                order = None;
                // Keys that are expressions are computed first, as EVAL would.
                let mut current = current;
                for (name, key) in keys {
                    match key {
                        Expr::Field(f) if f == name => {
                            if known && !columns.contains(f) {
                                return Err(unknown(f));
                            }
                        }
                        e => {
                            let mut v = String::new();
                            sql.expr(e, &mut v)?;
                            current = add_columns(
                                at,
                                &mut columns,
                                None,
                                &current,
                                &[(name.clone(), v)],
                            )?;
                            match sql.infer(e) {
                                Some(t) => sql.types.insert(name.clone(), t),
                                None => sql.types.remove(name),
                            };
                        }
                    }
                }
                let by: Vec<String> = keys.iter().map(|(name, _)| name.clone()).collect();
                let by = &by;
                columns = aggs
                    .iter()
                    .map(|(n, _)| n.clone())
                    .chain(by.iter().cloned())
                    .collect();
                let mut select = vec![];
                let mut types = std::collections::HashMap::new();
                for (name, agg) in aggs {
                    let mut a = String::new();
                    sql.allowing_full_text(full_text_after, |sql| sql.aggregate(at, agg, &mut a))?;
                    select.push(format!("{a} AS {}", quote(name)));
                    if let Some(t) = sql.infer_aggregate(agg) {
                        types.insert(name.clone(), t);
                    }
                }
                // A row whose key is multi-valued is in the group of each of
                // its values (each once); no values is the NULL group.
                let mut input = current;
                for key in by {
                    let k = Expr::Field(key.clone());
                    if sql.is_list(&k) {
                        let q = quote(key);
                        input = format!(
                            "SELECT * EXCLUDE ({q}), {} AS {q} FROM ({input})",
                            unnest_values(&format!("array_distinct({q})"))
                        );
                        sql.unlist(key);
                    }
                    if let Some(t) = sql.types.get(key) {
                        types.insert(key.clone(), t.clone());
                    }
                }
                sql.types = types;
                sql.in_order.clear();
                full_text_after = Some("cannot be used after STATS");
                select.extend(by.iter().map(|f| quote(f)));
                let group = if by.is_empty() {
                    String::new()
                } else {
                    let keys: Vec<String> = by.iter().map(|f| quote(f)).collect();
                    format!(" GROUP BY {}", keys.join(", "))
                };
                format!("SELECT {} FROM ({input}){group}", select.join(", "))
            }
            Command::Sort(keys) => {
                let list: Vec<String> = keys
                    .iter()
                    .map(|(f, asc, nulls)| {
                        // ES|QL: NULLS LAST on ASC and FIRST on DESC unless said.
                        let first = nulls.unwrap_or(!asc);
                        format!(
                            "{} {} NULLS {}",
                            quote(f),
                            if *asc { "ASC" } else { "DESC" },
                            if first { "FIRST" } else { "LAST" }
                        )
                    })
                    .collect();
                order = Some((keys.iter().map(|k| k.0.clone()).collect(), list.join(", ")));
                current
            }
            Command::Limit(n) => {
                full_text_after = Some("cannot be used after LIMIT");
                format!("SELECT * FROM ({current}){} LIMIT {n}", order_by(&order))
            }
            Command::Eval(assignments) => {
                // Each column may use the ones before it: one projection each; a
                // column of the same name is replaced, as in ES|QL.
                let mut c = current;
                for (name, e) in assignments {
                    let mut v = String::new();
                    sql.expr(e, &mut v)?;
                    c = add_columns(at, &mut columns, order.as_ref(), &c, &[(name.clone(), v)])?;
                    match sql.infer(e) {
                        Some(t) => sql.types.insert(name.clone(), t),
                        None => sql.types.remove(name),
                    };
                    if sql.in_order(e) {
                        sql.in_order.insert(name.clone());
                    } else {
                        sql.in_order.remove(name);
                    }
                    sql.computed.insert(name.clone());
                }
                c
            }
            Command::Drop(fields) => {
                if let Some(missing) = fields.iter().find(|f| known && !columns.contains(f)) {
                    return Err(unknown(missing));
                }
                columns.retain(|c| !fields.contains(c));
                let list: Vec<String> = fields.iter().map(|f| quote(f)).collect();
                let sql = format!(
                    "SELECT * EXCLUDE ({}) FROM ({current}){}",
                    list.join(", "),
                    order_by(&order)
                );
                if order
                    .as_ref()
                    .is_some_and(|(keys, _)| keys.iter().any(|k| fields.contains(k)))
                {
                    order = None;
                }
                sql
            }
            Command::Rename(pairs) => {
                for (old, new) in pairs {
                    match columns.iter_mut().find(|c| *c == old) {
                        Some(slot) => new.clone_into(slot),
                        None if known => return Err(unknown(old)),
                        None => {}
                    }
                    match sql.types.remove(old) {
                        Some(t) => sql.types.insert(new.clone(), t),
                        None => sql.types.remove(new),
                    };
                    if sql.in_order.remove(old) {
                        sql.in_order.insert(new.clone());
                    } else {
                        sql.in_order.remove(new);
                    }
                    if sql.computed.remove(old) {
                        sql.computed.insert(new.clone());
                    } else {
                        sql.computed.remove(new);
                    }
                }
                let old: Vec<String> = pairs.iter().map(|(o, _)| quote(o)).collect();
                let renamed: Vec<String> = pairs
                    .iter()
                    .map(|(o, n)| format!("{} AS {}", quote(o), quote(n)))
                    .collect();
                let sql = format!(
                    "SELECT * EXCLUDE ({}), {} FROM ({current}){}",
                    old.join(", "),
                    renamed.join(", "),
                    order_by(&order)
                );
                // The pending order follows renamed columns.
                if let Some((keys, clause)) = &mut order {
                    for (o, n) in pairs {
                        for key in keys.iter_mut().filter(|k| *k == o) {
                            n.clone_into(key);
                        }
                        *clause = clause.replace(&quote(o), &quote(n));
                    }
                }
                sql
            }
        };
    }
    Ok(match &order {
        Some(_) => format!("SELECT * FROM ({current}){}", order_by(&order)),
        None => current,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_768_478_400_000_000_000; // 2026-01-15T12:00:00Z

    fn sql(q: &str) -> String {
        let columns: Vec<(String, arrow::datatypes::DataType)> =
            ["@timestamp", "source.bytes", "process.entity_id", "a", "b"]
                .into_iter()
                .map(|n| (n.to_owned(), arrow::datatypes::DataType::Int64))
                .collect();
        translate(
            q,
            NOW,
            "@timestamp",
            "Timestamp(Nanosecond, Some(\"UTC\"))",
            Some(&columns),
        )
        .unwrap()
    }

    #[test]
    fn the_seed_query_translates() {
        let s = sql(
            "from logs-endpoint.events.network-*\n| where  @timestamp > now() - 8 hour\n\
             | where host.os.family == \"windows\" and not CIDR_MATCH(destination.ip, \"10.0.0.0/8\", \"::1\")\n\
             | keep source.bytes, process.entity_id\n\
             | stats total_bytes_out = sum(source.bytes) by process.entity_id\n /* comment */\n\
             | where total_bytes_out >= 1073741824",
        );
        assert!(s.contains("arrow_cast('2026-01-15T04:00:00Z'"), "{s}");
        assert!(
            s.contains("mv_single(\"host.os.family\") = 'windows'"),
            "{s}"
        );
        assert!(
            s.contains("cidr_match(mv_single(\"destination.ip\"), '10.0.0.0/8', '::1')"),
            "{s}"
        );
        assert!(s.contains("GROUP BY \"process.entity_id\""), "{s}");
        assert!(
            s.contains("mv_single(\"total_bytes_out\") >= 1073741824"),
            "{s}"
        );
    }

    #[test]
    fn spans_units_case_and_sort_defaults() {
        let s = sql("FROM x | WHERE @timestamp >= NOW() - 1d | SORT a DESC, b | LIMIT 5");
        assert!(s.contains("2026-01-14T12:00:00Z"), "{s}");
        assert!(
            s.contains("\"a\" DESC NULLS FIRST, \"b\" ASC NULLS LAST"),
            "{s}"
        );
        assert!(s.contains("LIMIT 5"), "{s}");
        let s = sql("from x | where @timestamp > now() - 30 MINUTES");
        assert!(s.contains("2026-01-15T11:30:00Z"), "{s}");
    }

    #[test]
    fn units_escapes_and_out_of_range_spans() {
        let s = sql("FROM x | WHERE @timestamp > now() - 100 ms AND @timestamp > now() - 30 s");
        assert!(s.contains("2026-01-15T11:59:59.900Z"), "{s}");
        assert!(s.contains("2026-01-15T11:59:30Z"), "{s}");
        // An escaped multi-byte character is an unknown escape (no panic); the
        // five ES|QL escapes are read; a span past the end of time: no panic.
        let err = translate("FROM x | WHERE a == \"\\é\"", NOW, "t", "T", None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("at 1:22: unknown escape \\é"), "{err}");
        let s = sql(r#"FROM x | WHERE a == "\t\n\r\"\\""#);
        assert!(s.contains("'\t\n\r\"\\'"), "{s}");
        let _ = sql("FROM x | WHERE @timestamp > now() + 100000 day");
        let err = translate(
            "FROM x | WHERE a > now() + 100000000 day",
            NOW,
            "t",
            "T",
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("time span out of range"), "{err}");
        assert_eq!(lucene_to_rust("[^0-9]+"), "(?s)^(?:[^0-9]+)$");
        assert_eq!(lucene_to_rust("a^b$"), "(?s)^(?:a\\^b\\$)$");
        assert_eq!(lucene_to_rust("\\^x"), "(?s)^(?:\\^x)$");
    }

    #[test]
    fn dissect_grok_and_java_syntaxes_translate() {
        let (re, keys) = dissect_regex("%{a} %{?b} %{+a} [%{c->}] %{}").unwrap();
        assert_eq!(re, "(?s)^(.*?) (.*?) (.*?) \\[(.*?)(?:\\] )+(.*)$");
        assert_eq!(
            keys,
            vec![("a".to_owned(), vec![1, 3]), ("c".to_owned(), vec![4])]
        );
        let (re, keys) = grok_regex("%{WORD:w} (x)%{INT:n:int}").unwrap();
        assert_eq!(re, r"(?s)(\b\w+\b) (?:x)((?:[+-]?(?:[0-9]+)))");
        assert_eq!(
            keys,
            vec![
                ("w".to_owned(), 1, GrokType::Text),
                ("n".to_owned(), 2, GrokType::Int)
            ]
        );
        assert_eq!(
            java_date_pattern("yyyy-MM-dd'T'HH:mm:ss.SSSXXX '100%'").unwrap(),
            "%Y-%m-%dT%H:%M:%S.%3fZ 100%%"
        );
        assert_eq!(
            java_date_pattern("d MMM yy, EEEE h a").unwrap(),
            "%-d %b %y, %A %-I %p"
        );
    }

    #[test]
    fn library_queries_are_told_apart_by_language() {
        assert_eq!(query_language("from logs-* | limit 1"), "ES|QL");
        assert_eq!(query_language("// note\n/* more */ FROM x"), "ES|QL");
        assert_eq!(query_language("SELECT * FROM shadow"), "SQL");
        assert_eq!(
            query_language("sequence by process.entity_id [process where true]"),
            "EQL"
        );
        assert_eq!(query_language("file where event.action == \"open\""), "EQL");
        let hunt: LibraryHunt =
            toml::from_str("[hunt]\nname = \"old\"\nquery = \"from x\"\n").unwrap();
        assert_eq!(hunt.hunt.query, vec!["from x".to_owned()]);
    }

    #[test]
    fn from_patterns_skip_comments_and_quotes() {
        assert_eq!(
            index_patterns("FROM logs-* /* old: */, \"other-*\" // more\n, x | LIMIT 1").unwrap(),
            ["logs-*", "other-*", "x"]
        );
    }

    #[test]
    fn backticks_make_a_keyword_a_field() {
        let columns: Vec<(String, arrow::datatypes::DataType)> = ["@timestamp", "by", "null"]
            .into_iter()
            .map(|n| (n.to_owned(), arrow::datatypes::DataType::Int64))
            .collect();
        let q = "FROM x | WHERE `null` > 1 | STATS n = COUNT(*) BY `by`";
        let sql = translate(
            q,
            NOW,
            "@timestamp",
            "Timestamp(Nanosecond, None)",
            Some(&columns),
        )
        .unwrap();
        assert!(sql.contains("mv_single(\"null\") > 1"), "{sql}");
        assert!(sql.contains("GROUP BY \"by\""), "{sql}");
    }

    #[test]
    fn errors_name_the_construct_and_position() {
        for (q, needle) in [
            ("where x == 1", "starts with FROM"),
            ("from x | lookup join y on x", "LOOKUP is not supported yet"),
            ("from x | enrich y", "enrich policy y is not given"),
            (
                "from x | grok x \"%{NOPE:ip}\"",
                "pattern NOPE is not known",
            ),
            ("from x | grok x \"%{IP}\"", "names no field"),
            ("from x | dissect x \"%{a}%{b}\"", "need a delimiter"),
            ("from x | dissect x \"no keys\"", "has no %{key}"),
            (
                "from x | eval d = date_format(\"yyyy QQ\", x)",
                "pattern letter QQ",
            ),
            (
                "from x | eval d = date_trunc(x, x)",
                "takes a time span first",
            ),
            (
                "from x | eval d = x::unsigned_long",
                "cannot cast to unsigned_long",
            ),
            (
                "from x metadata _score",
                "METADATA _score is not supported: relevance scores",
            ),
            ("from x | keep nothing", "unknown column nothing"),
            ("from x | where f(1)", "F is not supported yet"),
            ("from x | where \"open", "unterminated string"),
            ("from x | where a ==", "expected an expression"),
            ("from x | limit y", "LIMIT takes a whole number"),
            // Each error points at its command or argument, not at 1:1.
            ("from x | keep nothing", "at 1:10: unknown column nothing"),
            ("from x metadata _id, _nope", "at 1:22: METADATA _nope"),
            (
                "from x | stats n = 1",
                "at 1:10: STATS takes aggregate functions",
            ),
            (
                "from x\n| sort x | eval x = 1",
                "at 2:12: x is replaced after a SORT",
            ),
        ] {
            let columns = vec![("x".to_owned(), arrow::datatypes::DataType::Utf8)];
            let err = translate(
                q,
                NOW,
                "@timestamp",
                "Timestamp(Nanosecond, None)",
                Some(&columns),
            )
            .unwrap_err()
            .to_string();
            assert!(err.contains(needle), "{q}: {err}");
        }
    }
}
