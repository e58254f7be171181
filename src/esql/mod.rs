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
//!
//! The front end, in the order a query passes through it: `lexer` (text to
//! tokens with byte offsets), `parser` (tokens to the `ast`), `commands`
//! (the pipeline, a step per command), `expr` and `functions` (expressions,
//! calls and aggregates), `patterns` (LIKE, RLIKE, DISSECT, GROK and Java date
//! formats). It produces SQL text over `events`, planned by DataFusion; none of
//! it imports DataFusion, so the fuzz target builds it alone. [`support`] lists
//! every construct with its status (`docs/esql.md` is generated from it).

mod ast;
mod bucket;
mod commands;
mod expr;
mod functions;
mod lexer;
mod parser;
mod patterns;
mod scalar;
pub mod support;

use ast::Command;
use commands::translate_at;
pub(crate) use lexer::without_comments;
use parser::parse;

use crate::error::{Error, Result};

/// The rows Elasticsearch returns for a query without a final LIMIT
/// (`lakehunt esql --esql-default-limit`).
pub const DEFAULT_LIMIT: u64 = 1000;

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

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn string_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
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

/// Whether lakehunt can run a query (parse and translate, no data needed).
pub fn check(query: &str) -> Result<()> {
    translate(query, 0, "@timestamp", "Timestamp(Nanosecond, None)", None).map(|_| ())
}

/// Whether `query` starts with `ROW` (reads no index, needs no data).
#[must_use]
pub fn reads_no_index(query: &str) -> bool {
    match lexer::lex(query) {
        // After any `SET name = value;` statements; a bad one is the answer.
        Ok(tokens) => match parser::settings(&tokens) {
            Ok((_, first)) => matches!(
                tokens.get(first),
                Some((lexer::Tok::Ident(word), _)) if word.eq_ignore_ascii_case("row")
            ),
            Err(_) => true,
        },
        // Read no data for a query that does not lex: its error is the
        // answer, not a request for --data.
        Err(_) => true,
    }
}

/// The index patterns a query's `FROM` names.
pub fn index_patterns(query: &str) -> Result<Vec<String>> {
    match parse(query)
        .map_err(|e| locate(query, e))?
        .into_iter()
        .next()
    {
        Some((_, Command::From(patterns, _))) => Ok(patterns),
        Some((_, Command::Row(..))) => Ok(vec![]),
        _ => Err(error(0, "a query starts with FROM or ROW")),
    }
}

/// The lookup indexes a query's `LOOKUP JOIN`s name, each once; none where
/// it does not parse.
#[must_use]
pub fn lookup_indexes(query: &str) -> Vec<String> {
    let mut names: Vec<String> = vec![];
    for (_, command) in parse(query).unwrap_or_default() {
        if let Command::LookupJoin(name, ..) = command
            && !names.contains(&name)
        {
            names.push(name);
        }
    }
    names
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
            time_field: Some(time_field),
            time_type,
            columns,
            indexes: None,
            policies: &[],
            lookups: &[],
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
    /// The fields' types, where known (as `fields`).
    pub types: Vec<arrow::datatypes::DataType>,
    /// A range policy: the key column holds ranges, and field `i` (from 0)
    /// is added by the function `{table}_range_{i + 1}(key)`.
    pub range: bool,
    /// Whether a key may match several rows (overlapping ranges): each
    /// field is then a list.
    pub multi_valued: bool,
}

/// A lookup index for `LOOKUP JOIN` (`--index NAME=PATH`): a registered
/// table and its columns.
#[derive(Clone, Debug)]
pub struct LookupIndex {
    /// The name LOOKUP JOIN uses.
    pub name: String,
    /// The registered table.
    pub table: String,
    /// Its columns and their types, in order.
    pub columns: Vec<(String, arrow::datatypes::DataType)>,
}

/// A dataset FROM can name (`--index PATTERN=PATH`) and the columns of its
/// files. As in Elasticsearch, where a field unmapped in every index a FROM
/// reads is an unknown column, a query sees the columns of the patterns it
/// names, not those of every dataset at hand.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// The index pattern.
    pub pattern: String,
    /// The columns its files have (`_index` aside).
    pub columns: std::collections::HashSet<String>,
}

/// What an ES|QL query is translated for.
#[derive(Clone, Copy, Debug)]
pub struct Target<'a> {
    /// `NOW()`, in ns; later events are invisible.
    pub now: i64,
    /// The time column; `None` where the data has none (every row visible).
    pub time_field: Option<&'a str>,
    /// Its type, as an `arrow_cast` type name (`NOW()`'s type).
    pub time_type: &'a str,
    /// `events`' columns and types; `None` (no data at hand) skips the column
    /// checks.
    pub columns: Option<&'a [(String, arrow::datatypes::DataType)]>,
    /// Named datasets (`--index PATTERN=PATH`): `events` has a column
    /// `_index`, FROM's patterns must be among these, and it keeps only their
    /// rows and their columns. `None`: every pattern reads all of `events`.
    pub indexes: Option<&'a [Dataset]>,
    /// Enrich policies for `ENRICH`.
    pub policies: &'a [EnrichPolicy],
    /// Lookup indexes for `LOOKUP JOIN`.
    pub lookups: &'a [LookupIndex],
}

/// The SQL an ES|QL query becomes for `target`; errors give `line:column`.
pub fn translate_for(query: &str, target: &Target<'_>) -> Result<String> {
    translate_at(query, target).map_err(|e| locate(query, e))
}

#[cfg(test)]
mod tests {
    use super::patterns::{GrokType, dissect_regex, grok_regex, java_date_pattern, lucene_to_rust};
    use super::*;

    const NOW: i64 = 1_768_478_400_000_000_000; // 2026-01-15T12:00:00Z

    fn sql(q: &str) -> String {
        let columns: Vec<(String, arrow::datatypes::DataType)> =
            ["@timestamp", "source.bytes", "process.entity_id", "a", "b"]
                .into_iter()
                .map(|n| {
                    let t = if n == "@timestamp" {
                        arrow::datatypes::DataType::Timestamp(
                            arrow::datatypes::TimeUnit::Nanosecond,
                            Some("UTC".into()),
                        )
                    } else {
                        arrow::datatypes::DataType::Int64
                    };
                    (n.to_owned(), t)
                })
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
            ("from x | lookup join y on a", "lookup index y is not given"),
            (
                "from x | lookup y on a",
                "command LOOKUP is not supported yet",
            ),
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
            ("from x | eval d = x::geo_point", "cannot cast to geo_point"),
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

    /// With `--index`, a FROM sees the columns of the datasets it names.
    #[test]
    fn a_from_sees_its_datasets_columns() {
        let columns: Vec<(String, arrow::datatypes::DataType)> = ["x", "y", "z", "_index"]
            .into_iter()
            .map(|n| (n.to_owned(), arrow::datatypes::DataType::Utf8))
            .collect();
        let dataset = |pattern: &str, columns: &[&str]| Dataset {
            pattern: pattern.to_owned(),
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
        };
        let indexes = [dataset("a-*", &["x", "y"]), dataset("b-*", &["y", "z"])];
        let target = Target {
            now: NOW,
            time_field: None,
            time_type: "Timestamp(Nanosecond, None)",
            columns: Some(&columns),
            indexes: Some(&indexes),
            policies: &[],
            lookups: &[],
        };
        let sql = |q: &str| translate_for(q, &target);
        assert_eq!(
            sql("from a-*").unwrap(),
            "SELECT \"x\", \"y\" FROM events WHERE TRUE AND \"_index\" IN ('a-*')"
        );
        assert_eq!(
            sql("from a-*, b-*").unwrap(),
            "SELECT * EXCLUDE (\"_index\") FROM events WHERE TRUE AND \"_index\" IN ('a-*', 'b-*')"
        );
        assert_eq!(
            sql("from b-* metadata _index").unwrap(),
            "SELECT \"y\", \"z\", \"_index\" FROM events WHERE TRUE AND \"_index\" IN ('b-*')"
        );
        assert_eq!(
            sql("from a-* metadata _id").unwrap(),
            "SELECT \"x\", \"y\", \"_id\" FROM events_id WHERE TRUE AND \"_index\" IN ('a-*')"
        );
        let err = sql("from a-* | keep z").unwrap_err().to_string();
        assert!(err.contains("unknown column z"), "{err}");
        assert!(sql("from a-*, b-* | keep z").is_ok());
        assert!(sql("from b-* | keep z").is_ok());
    }
}
