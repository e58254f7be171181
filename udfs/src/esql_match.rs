//! `esql_match(value, query, spec)`: ES|QL's full-text `MATCH(field, query,
//! {options})` (and `field : query`), evaluated row by row where Elasticsearch
//! would run a Lucene match query.
//!
//! Elasticsearch picks the query from the field's mapping; Parquet has none, so
//! `spec` says which (`kind=keyword|text|ip`) along with the options, as
//! `key=value` pairs separated by `;`:
//!
//! - `kind=keyword` (ECS keyword and wildcard fields): the whole query is one
//!   term, compared with the whole value, case-sensitive.
//! - `kind=text` (`message`, `*.text`): value and query are analyzed as the
//!   standard analyzer does (Unicode word boundaries, lowercased, no stop
//!   words); with `operator=or` (the default) any query term matching any
//!   value term is a match, with `operator=and` every query term must match.
//!   `minimum_should_match` takes a count or a percentage (negative: how many
//!   may be missing). A query without terms matches nothing, or every row
//!   (also one without the field) with `zero_terms_query=all`.
//! - `kind=ip`: the query is an address or a CIDR block; a value matches when
//!   it is in it. A query that is neither matches nothing (ES|QL's MATCH is
//!   lenient).
//! - `fuzziness=0|1|2|AUTO|AUTO:low,high`: a term also matches within that many
//!   edits (Damerau: a transposition is one edit, unless
//!   `transpositions=false`); `AUTO` allows 0 edits below `low` (3) code points,
//!   1 below `high` (6), else 2. The first `prefix_length` code points must
//!   match exactly.
//!
//! A multi-valued field (a list) matches when any of its values does; a row
//! without a value matches only a termless query under `zero_terms_query=all`;
//! the result is never NULL. Elasticsearch caps a fuzzy
//! query's expansions at `max_expansions` terms per shard, which depends on its
//! index; here every term within the edits matches.
//!
//! ```sql
//! SELECT * FROM events
//! WHERE esql_match("url.domain", 'microsoftonline.com', 'kind=keyword;fuzziness=AUTO');
//! ```

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, GenericListArray, OffsetSizeTrait,
};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::common::{for_each_str, is_string_type, scalar_str};
use crate::ip::{BlockSet, parse_addr};

/// The `esql_match` scalar function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct EsqlMatch {
    signature: Signature,
}

impl Default for EsqlMatch {
    fn default() -> Self {
        Self {
            signature: Signature::any(3, Volatility::Immutable),
        }
    }
}

/// The singleton `esql_match` function.
#[must_use]
pub fn esql_match_udf() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> =
        LazyLock::new(|| Arc::new(ScalarUDF::new_from_impl(EsqlMatch::default())));
    Arc::clone(&UDF)
}

/// How a field is searched: what its mapping would say in Elasticsearch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// One term: the whole value.
    Keyword,
    /// Analyzed by the standard analyzer.
    Text,
    /// An IP address.
    Ip,
}

/// Edits allowed for a term.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fuzziness {
    /// This many edits, whatever the term's length.
    Fixed(usize),
    /// 0 edits below `low` code points, 1 below `high`, else 2.
    Auto(usize, usize),
}

impl Fuzziness {
    fn edits(self, term_chars: usize) -> usize {
        match self {
            Fuzziness::Fixed(n) => n,
            Fuzziness::Auto(low, _) if term_chars < low => 0,
            Fuzziness::Auto(_, high) if term_chars < high => 1,
            Fuzziness::Auto(..) => 2,
        }
    }
}

/// `minimum_should_match`, in the forms lakehunt reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MinimumShouldMatch {
    /// `3`, or `-1` (all but one).
    Count(i64),
    /// `75%`, or `-25%` (all but a quarter, rounded down).
    Percent(i64),
}

/// The parsed `spec` argument.
#[derive(Clone, Debug, PartialEq)]
pub struct Spec {
    /// How the field is searched.
    pub kind: Kind,
    /// Edits allowed, if the match is fuzzy.
    pub fuzziness: Option<Fuzziness>,
    /// Whether a swap of two neighbours is one edit.
    pub transpositions: bool,
    /// `operator=and`: every query term must match.
    pub all_terms: bool,
    /// Code points at the start of a term that must match exactly.
    pub prefix_length: usize,
    minimum_should_match: Option<MinimumShouldMatch>,
    /// `zero_terms_query=all`: a query without terms matches every row.
    pub zero_terms_all: bool,
}

impl Spec {
    /// Reads `key=value;...`; an unknown key or a bad value is an error naming it.
    pub fn parse(spec: &str) -> std::result::Result<Self, String> {
        let mut out = Spec {
            kind: Kind::Keyword,
            fuzziness: None,
            transpositions: true,
            all_terms: false,
            prefix_length: 0,
            minimum_should_match: None,
            zero_terms_all: false,
        };
        for pair in spec.split(';').filter(|p| !p.trim().is_empty()) {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("expected key=value, got [{pair}]"))?;
            let (key, value) = (key.trim(), value.trim());
            let bad = || format!("invalid value [{value}] for {key}");
            match key {
                "kind" => {
                    out.kind = match value {
                        "keyword" => Kind::Keyword,
                        "text" => Kind::Text,
                        "ip" => Kind::Ip,
                        _ => return Err(bad()),
                    }
                }
                "fuzziness" => out.fuzziness = Some(parse_fuzziness(value).ok_or_else(bad)?),
                "transpositions" | "fuzzy_transpositions" => {
                    out.transpositions = value.parse().map_err(|_| bad())?;
                }
                "operator" => {
                    out.all_terms = match value.to_ascii_lowercase().as_str() {
                        "and" => true,
                        "or" => false,
                        _ => return Err(bad()),
                    }
                }
                "prefix_length" => out.prefix_length = value.parse().map_err(|_| bad())?,
                "minimum_should_match" => {
                    out.minimum_should_match = Some(match value.strip_suffix('%') {
                        Some(p) => MinimumShouldMatch::Percent(p.parse().map_err(|_| bad())?),
                        None => MinimumShouldMatch::Count(value.parse().map_err(|_| bad())?),
                    });
                }
                "zero_terms_query" => {
                    out.zero_terms_all = match value.to_ascii_lowercase().as_str() {
                        "all" => true,
                        "none" => false,
                        _ => return Err(bad()),
                    }
                }
                other => return Err(format!("unknown option {other}")),
            }
        }
        Ok(out)
    }

    /// How many of `n` query terms must match.
    fn required(&self, n: usize) -> usize {
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        let need = match self.minimum_should_match {
            _ if self.all_terms => n,
            None => 1,
            Some(MinimumShouldMatch::Count(k)) if k < 0 => n + k,
            Some(MinimumShouldMatch::Count(k)) => k,
            Some(MinimumShouldMatch::Percent(p)) if p < 0 => n - n * -p / 100,
            Some(MinimumShouldMatch::Percent(p)) => n * p / 100,
        };
        // Lucene asks for at least one term, and never more than there are.
        usize::try_from(need.clamp(1, n.max(1))).unwrap_or(1)
    }
}

fn parse_fuzziness(value: &str) -> Option<Fuzziness> {
    if value.eq_ignore_ascii_case("auto") {
        return Some(Fuzziness::Auto(3, 6));
    }
    if let Some(bounds) = value
        .strip_prefix("AUTO:")
        .or_else(|| value.strip_prefix("auto:"))
    {
        let (low, high) = bounds.split_once(',')?;
        let (low, high) = (low.trim().parse().ok()?, high.trim().parse().ok()?);
        return (low <= high).then_some(Fuzziness::Auto(low, high));
    }
    match value {
        "0" | "0.0" => Some(Fuzziness::Fixed(0)),
        "1" | "1.0" => Some(Fuzziness::Fixed(1)),
        "2" | "2.0" => Some(Fuzziness::Fixed(2)),
        _ => None,
    }
}

/// The terms the standard analyzer makes of `text`, lowercased.
///
/// Word boundaries after Unicode's UAX #29, as Lucene's `StandardTokenizer`
/// finds them, for the cases logs hold: letters and digits join into one
/// word; `.` and `'` join letters to letters and digits to digits
/// (`example.com`, `can't`, `1.2.3.4`); `:` joins letters, `,` and `;` join
/// digits (`1,000`); `_` joins anything. Each ideograph is a term of its own.
/// Lucene also cuts terms at 255 characters.
#[must_use]
pub fn standard_terms(text: &str) -> Vec<String> {
    fn ideograph(c: char) -> bool {
        matches!(c as u32, 0x3040..=0x30ff | 0x3400..=0x4dbf | 0x4e00..=0x9fff | 0xf900..=0xfaff | 0x20000..=0x2fa1f)
    }
    let chars: Vec<char> = text.chars().collect();
    let word = |c: char| (c.is_alphanumeric() || c == '_') && !ideograph(c);
    let mut terms = vec![];
    let mut current = String::new();
    let mut len = 0;
    let flush = |terms: &mut Vec<String>, current: &mut String, len: &mut usize| {
        if !current.is_empty() {
            terms.push(std::mem::take(current));
        }
        *len = 0;
    };
    for (i, &c) in chars.iter().enumerate() {
        if ideograph(c) {
            flush(&mut terms, &mut current, &mut len);
            terms.push(c.to_lowercase().collect());
            continue;
        }
        let joins = || {
            let (Some(&before), Some(&after)) = (
                i.checked_sub(1).and_then(|j| chars.get(j)),
                chars.get(i + 1),
            ) else {
                return false;
            };
            let letters = before.is_alphabetic() && after.is_alphabetic();
            let digits = before.is_numeric() && after.is_numeric();
            match c {
                '.' | '\'' | '\u{2019}' => letters || digits,
                ':' | '\u{00b7}' => letters,
                ',' | ';' => digits,
                _ => false,
            }
        };
        if word(c) || (!current.is_empty() && joins()) {
            if len == 255 {
                flush(&mut terms, &mut current, &mut len);
            }
            current.extend(c.to_lowercase());
            len += 1;
        } else {
            flush(&mut terms, &mut current, &mut len);
        }
    }
    flush(&mut terms, &mut current, &mut len);
    terms
}

/// The edit distance between `a` and `b` if it is at most `max` (optimal string
/// alignment when `transpositions`, Levenshtein otherwise).
#[must_use]
pub fn edits_within(a: &[char], b: &[char], max: usize, transpositions: bool) -> Option<usize> {
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let width = b.len() + 1;
    let mut rows = vec![vec![0usize; width]; 3];
    for (j, cell) in rows[1].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        let (prev2, prev, cur) = (i.wrapping_sub(1) % 3, i % 3, (i + 1) % 3);
        rows[cur][0] = i;
        let mut best = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[prev][j] + 1)
                .min(rows[cur][j - 1] + 1)
                .min(rows[prev][j - 1] + cost);
            if transpositions && i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[prev2][j - 2] + 1);
            }
            rows[cur][j] = d;
            best = best.min(d);
        }
        if best > max {
            return None;
        }
    }
    let d = rows[(a.len() + 1) % 3][b.len()];
    (d <= max).then_some(d)
}

/// One query term, ready to compare.
#[derive(Debug)]
struct Term {
    text: String,
    chars: Vec<char>,
    edits: usize,
}

/// A query compiled once for all rows.
#[derive(Debug)]
pub struct Matcher {
    spec: Spec,
    terms: Vec<Term>,
    block: Option<BlockSet>,
}

impl Matcher {
    /// Compiles `query` under `spec`.
    #[must_use]
    pub fn new(query: &str, spec: Spec) -> Self {
        let texts = match spec.kind {
            Kind::Keyword => vec![query.to_owned()],
            Kind::Text => standard_terms(query),
            Kind::Ip => vec![],
        };
        let terms = texts
            .into_iter()
            .map(|text| {
                let chars: Vec<char> = text.chars().collect();
                let edits = spec.fuzziness.map_or(0, |f| f.edits(chars.len()));
                Term { text, chars, edits }
            })
            .collect();
        let block = if spec.kind == Kind::Ip {
            BlockSet::parse([query.trim()]).ok()
        } else {
            None
        };
        Matcher { spec, terms, block }
    }

    fn term_matches(&self, term: &Term, candidate: &str) -> bool {
        if term.edits == 0 || candidate == term.text {
            return candidate == term.text;
        }
        let chars: Vec<char> = candidate.chars().collect();
        let prefix = self.spec.prefix_length.min(term.chars.len());
        if chars.len() < prefix || chars[..prefix] != term.chars[..prefix] {
            return false;
        }
        edits_within(
            &term.chars[prefix..],
            &chars[prefix..],
            term.edits,
            self.spec.transpositions,
        )
        .is_some()
    }

    /// Whether a row holding `values` (one for a single-valued field) matches.
    pub fn matches<'a>(&self, values: impl IntoIterator<Item = &'a str>) -> bool {
        match self.spec.kind {
            Kind::Ip => {
                let Some(block) = &self.block else {
                    return false;
                };
                values
                    .into_iter()
                    .filter_map(parse_addr)
                    .any(|addr| block.contains(addr))
            }
            Kind::Keyword => {
                let term = &self.terms[0];
                values.into_iter().any(|v| self.term_matches(term, v))
            }
            Kind::Text => {
                // A query without terms: `zero_terms_query` decides, for every
                // row (Lucene's match-all query also matches rows without the field).
                if self.terms.is_empty() {
                    return self.spec.zero_terms_all;
                }
                let tokens: Vec<String> = values.into_iter().flat_map(standard_terms).collect();
                let hits = self
                    .terms
                    .iter()
                    .filter(|t| tokens.iter().any(|v| self.term_matches(t, v)))
                    .count();
                hits >= self.spec.required(self.terms.len())
            }
        }
    }
}

/// Whether each row matches: a string column's value, or any value of a list
/// column's row (read once per batch, no allocation per row).
fn match_rows(array: &ArrayRef, matcher: &Matcher) -> Result<Vec<bool>> {
    fn lists<O: OffsetSizeTrait>(
        list: &GenericListArray<O>,
        matcher: &Matcher,
    ) -> Result<Vec<bool>> {
        let mut values = Vec::with_capacity(list.values().len());
        for_each_str(list.values().as_ref(), |v| values.push(v))?;
        let offsets = list.value_offsets();
        Ok((0..list.len())
            .map(|i| {
                let row = if list.is_null(i) {
                    &values[..0]
                } else {
                    &values[offsets[i].as_usize()..offsets[i + 1].as_usize()]
                };
                matcher.matches(row.iter().flatten().copied())
            })
            .collect())
    }
    match array.data_type() {
        t if is_string_type(t) => {
            let mut out = Vec::with_capacity(array.len());
            for_each_str(array.as_ref(), |row| out.push(matcher.matches(row)))?;
            Ok(out)
        }
        DataType::List(_) => lists(array.as_list::<i32>(), matcher),
        DataType::LargeList(_) => lists(array.as_list::<i64>(), matcher),
        DataType::Null => Ok(vec![matcher.matches([]); array.len()]),
        other => exec_err!("esql_match: the field must be text, got {other}"),
    }
}

impl ScalarUDFImpl for EsqlMatch {
    fn name(&self) -> &'static str {
        "esql_match"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        let [value, query, spec] = arg_types else {
            return plan_err!("esql_match takes three arguments: value, query, spec");
        };
        let text = |t: &DataType| is_string_type(t) || t == &DataType::Null;
        let value_ok = text(value)
            || matches!(value, DataType::List(f) | DataType::LargeList(f) if text(f.data_type()));
        if !value_ok {
            return plan_err!("esql_match: argument 1 must be text or a list of text, got {value}");
        }
        if !text(query) || !text(spec) {
            return plan_err!("esql_match: the query and the spec must be text");
        }
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [value, query, spec] = args.args.as_slice() else {
            return exec_err!("esql_match takes three arguments");
        };
        let (ColumnarValue::Scalar(query), ColumnarValue::Scalar(spec)) = (query, spec) else {
            return exec_err!("esql_match: the query and the spec must be constants");
        };
        let Some(query) = scalar_str(query)? else {
            return exec_err!("esql_match: the query must not be NULL");
        };
        let spec = match Spec::parse(scalar_str(spec)?.unwrap_or_default()) {
            Ok(spec) => spec,
            Err(message) => return exec_err!("esql_match: {message}"),
        };
        let matcher = Matcher::new(query, spec);
        let array = value.to_array(args.number_rows)?;
        let out = BooleanArray::from(match_rows(&array, &matcher)?);
        Ok(match value {
            ColumnarValue::Scalar(_) => {
                ColumnarValue::Scalar(ScalarValue::Boolean(Some(out.value(0))))
            }
            ColumnarValue::Array(_) => ColumnarValue::Array(Arc::new(out)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The textbook full-matrix distance, as the oracle for `edits_within`.
    fn distance(a: &[char], b: &[char], transpositions: bool) -> usize {
        let mut d = vec![vec![0; b.len() + 1]; a.len() + 1];
        for (i, row) in d.iter_mut().enumerate() {
            row[0] = i;
        }
        for (j, cell) in d[0].iter_mut().enumerate() {
            *cell = j;
        }
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                d[i][j] = (d[i - 1][j] + 1)
                    .min(d[i][j - 1] + 1)
                    .min(d[i - 1][j - 1] + cost);
                if transpositions && i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]
                {
                    d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
                }
            }
        }
        d[a.len()][b.len()]
    }

    #[test]
    fn bounded_distance_agrees_with_the_full_matrix() {
        // Every string of up to 5 letters over {a, b, c} against a few others.
        let mut words = vec![String::new()];
        for _ in 0..5 {
            let longer: Vec<String> = words
                .iter()
                .filter(|w| w.len() == words.last().map_or(0, String::len))
                .flat_map(|w| ['a', 'b', 'c'].map(|c| format!("{w}{c}")))
                .collect();
            words.extend(longer);
        }
        let probes = ["", "a", "ab", "ba", "abc", "cab", "abcab", "bbbb"];
        for w in &words {
            let a: Vec<char> = w.chars().collect();
            for p in probes {
                let b: Vec<char> = p.chars().collect();
                for transpositions in [true, false] {
                    let d = distance(&a, &b, transpositions);
                    for max in 0..=3 {
                        assert_eq!(
                            edits_within(&a, &b, max, transpositions),
                            (d <= max).then_some(d),
                            "{w:?} {p:?} max {max} transpositions {transpositions}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn standard_terms_follow_word_boundaries() {
        assert_eq!(
            standard_terms(
                "The Quick-Brown fox's example.com 1.2.3.4 1,000 a.1 foo_bar C:\\Windows"
            ),
            [
                "the",
                "quick",
                "brown",
                "fox's",
                "example.com",
                "1.2.3.4",
                "1,000",
                "a",
                "1",
                "foo_bar",
                "c",
                "windows"
            ]
        );
        assert_eq!(standard_terms("  ...  "), Vec::<String>::new());
        assert_eq!(standard_terms("日本語"), ["日", "本", "語"]);
        assert_eq!(standard_terms("end."), ["end"]);
    }

    fn matcher(query: &str, spec: &str) -> Matcher {
        Matcher::new(query, Spec::parse(spec).unwrap())
    }

    #[test]
    fn keyword_is_the_whole_value_case_sensitive() {
        let m = matcher("cmd.exe", "kind=keyword");
        assert!(m.matches(["cmd.exe"]));
        assert!(!m.matches(["CMD.EXE"]));
        assert!(!m.matches(["cmd.exe /c"]));
        assert!(m.matches(["a", "cmd.exe"]), "any value of a list");
        assert!(!m.matches([]), "no value never matches");
    }

    #[test]
    fn auto_fuzziness_grows_with_the_term() {
        let m = matcher("microsoftonline.com", "kind=keyword;fuzziness=AUTO");
        assert!(m.matches(["micros0ftonline.com"]), "one substitution");
        assert!(m.matches(["rnicrosoftonline.com"]), "m -> rn: two edits");
        assert!(m.matches(["imcrosoftonline.com"]), "a swap is one edit");
        assert!(!m.matches(["rnicros0ftonline.com"]), "three edits");
        // Below 3 code points no edit, below 6 one.
        assert!(!matcher("ab", "kind=keyword;fuzziness=AUTO").matches(["ac"]));
        assert!(matcher("abc", "kind=keyword;fuzziness=AUTO").matches(["abd"]));
        assert!(!matcher("abcde", "kind=keyword;fuzziness=AUTO").matches(["abxyz"]));
        assert!(matcher("abcdef", "kind=keyword;fuzziness=AUTO").matches(["abcdxy"]));
        assert!(matcher("abcde", "kind=keyword;fuzziness=AUTO:2,4").matches(["abcxy"]));
        // Without transpositions a swap is two edits.
        let strict = matcher("abcd", "kind=keyword;fuzziness=1;transpositions=false");
        assert!(!strict.matches(["bacd"]));
        assert!(matcher("abcd", "kind=keyword;fuzziness=1").matches(["bacd"]));
        // The prefix must match exactly.
        let prefixed = matcher("abcdef", "kind=keyword;fuzziness=2;prefix_length=2");
        assert!(prefixed.matches(["abxdef"]));
        assert!(!prefixed.matches(["xbcdef"]));
    }

    #[test]
    fn text_is_analyzed_and_terms_are_or_by_default() {
        let m = matcher("Failed Login", "kind=text");
        assert!(m.matches(["login succeeded"]));
        assert!(m.matches(["FAILED"]));
        assert!(!m.matches(["logins"]));
        let all = matcher("Failed Login", "kind=text;operator=and");
        assert!(!all.matches(["login succeeded"]));
        assert!(all.matches(["user login failed"]));
        assert!(
            all.matches(["user login", "failed"]),
            "terms of every value"
        );
        let two = matcher("a b c d", "kind=text;minimum_should_match=2");
        assert!(two.matches(["x a d"]));
        assert!(!two.matches(["x a"]));
        let most = matcher("a b c d", "kind=text;minimum_should_match=75%");
        assert!(most.matches(["a b c"]));
        assert!(!most.matches(["a b"]));
        let but_one = matcher("a b c d", "kind=text;minimum_should_match=-1");
        assert!(but_one.matches(["a b c"]));
        assert!(!but_one.matches(["a b"]));
        assert!(!matcher("...", "kind=text").matches(["anything"]));
        assert!(matcher("...", "kind=text;zero_terms_query=all").matches(["anything"]));
        assert!(matcher("...", "kind=text;zero_terms_query=all").matches([]));
    }

    #[test]
    fn ip_takes_an_address_or_a_block() {
        let block = matcher("10.0.0.0/8", "kind=ip");
        assert!(block.matches(["10.1.2.3"]));
        assert!(block.matches(["::ffff:10.1.2.3"]));
        assert!(!block.matches(["11.1.2.3", "not an ip"]));
        let one = matcher("2001:db8::1", "kind=ip");
        assert!(one.matches(["2001:0db8:0:0:0:0:0:1"]));
        assert!(!one.matches(["2001:db8::2"]));
        assert!(!matcher("not an ip", "kind=ip").matches(["10.1.2.3"]));
    }

    #[test]
    fn spec_errors_name_the_option() {
        assert_eq!(
            Spec::parse("kind=keyword;fuzzines=2").unwrap_err(),
            "unknown option fuzzines"
        );
        assert_eq!(
            Spec::parse("fuzziness=3").unwrap_err(),
            "invalid value [3] for fuzziness"
        );
        assert!(Spec::parse("operator=xor").is_err());
    }
}
