//! `esql_replace(text, regex, replacement)`: ES|QL's `REPLACE`, every match of
//! `regex` in `text` replaced, with Java's replacement rules
//! (`Matcher.replaceAll`):
//!
//! - `$n` is group `n`. The first digit always belongs to the reference; each
//!   further digit joins it only while the number stays a group of the regex
//!   (`$12` with two groups is group 1, then `2`).
//! - `${name}` is a named group.
//! - `\x` is `x` itself: `\$` a dollar, `\\` a backslash, `\1` the digit 1.
//!
//! A `$` without a group after it, a reference to a group the regex lacks, or a
//! trailing `\` is an error, as in Java. NULL in any argument gives NULL.
//! Regular expressions are Rust's `regex` syntax, which shares Java's common
//! constructs but has no look-around or back-references.
//!
//! DataFusion's `regexp_replace` reads `\1` as a group (PostgreSQL's rule),
//! which Java reads as the digit: hence this function.
//!
//! ```sql
//! SELECT esql_replace("user.name", '^(\w+)@(.*)$', '$2\\$1') FROM events;
//! ```

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{ArrayRef, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use regex::Regex;

use crate::common::{for_each_str, is_string_type};

/// The `esql_replace` scalar function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct EsqlReplace {
    signature: Signature,
}

impl Default for EsqlReplace {
    fn default() -> Self {
        Self {
            signature: Signature::any(3, Volatility::Immutable),
        }
    }
}

/// The singleton `esql_replace` function.
#[must_use]
pub fn esql_replace_udf() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> =
        LazyLock::new(|| Arc::new(ScalarUDF::new_from_impl(EsqlReplace::default())));
    Arc::clone(&UDF)
}

/// A piece of a parsed replacement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// Text copied as it is.
    Text(String),
    /// A numbered group (0 is the whole match).
    Group(usize),
    /// A named group.
    Named(String),
}

/// Parses a Java replacement for a regex with `groups` numbered groups (the
/// whole match not counted) and the given group `names`.
pub fn parse_replacement(
    java: &str,
    groups: usize,
    names: &[&str],
) -> std::result::Result<Vec<Piece>, String> {
    let mut out: Vec<Piece> = vec![];
    let mut text = String::new();
    let mut chars = java.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(escaped) => text.push(escaped),
                None => return Err("character to be escaped is missing".to_owned()),
            },
            '$' => {
                if !text.is_empty() {
                    out.push(Piece::Text(std::mem::take(&mut text)));
                }
                if chars.peek() == Some(&'{') {
                    chars.next();
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(n) if n.is_ascii_alphanumeric() => name.push(n),
                            _ => {
                                return Err(
                                    "named capturing group is missing trailing '}'".to_owned()
                                );
                            }
                        }
                    }
                    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
                        return Err("named capturing group has 0 length name".to_owned());
                    }
                    if !names.contains(&name.as_str()) {
                        return Err(format!("No group with name {{{name}}}"));
                    }
                    out.push(Piece::Named(name));
                } else {
                    let Some(first) = chars.peek().and_then(|d| d.to_digit(10)) else {
                        return Err("Illegal group reference".to_owned());
                    };
                    chars.next();
                    let mut group = first as usize;
                    while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                        let longer = group * 10 + d as usize;
                        if longer > groups {
                            break;
                        }
                        group = longer;
                        chars.next();
                    }
                    if group > groups {
                        return Err(format!("No group {group}"));
                    }
                    out.push(Piece::Group(group));
                }
            }
            other => text.push(other),
        }
    }
    if !text.is_empty() {
        out.push(Piece::Text(text));
    }
    Ok(out)
}

/// A regex and its replacement, compiled together.
#[derive(Debug)]
pub struct Replacer {
    regex: Regex,
    pieces: Vec<Piece>,
}

impl Replacer {
    /// Compiles `regex` and the Java `replacement`; the error says which is wrong.
    pub fn new(regex: &str, replacement: &str) -> std::result::Result<Self, String> {
        let regex = Regex::new(regex).map_err(|e| format!("invalid regex: {e}"))?;
        let names: Vec<&str> = regex.capture_names().flatten().collect();
        let pieces = parse_replacement(replacement, regex.captures_len() - 1, &names)
            .map_err(|e| format!("invalid replacement {replacement:?}: {e}"))?;
        Ok(Replacer { regex, pieces })
    }

    /// `text` with every match replaced.
    #[must_use]
    pub fn replace(&self, text: &str) -> String {
        self.regex
            .replace_all(text, |caps: &regex::Captures<'_>| {
                let mut out = String::new();
                for piece in &self.pieces {
                    match piece {
                        Piece::Text(t) => out.push_str(t),
                        // A group that did not take part is empty, as in Java.
                        Piece::Group(g) => out.push_str(caps.get(*g).map_or("", |m| m.as_str())),
                        Piece::Named(n) => out.push_str(caps.name(n).map_or("", |m| m.as_str())),
                    }
                }
                out
            })
            .into_owned()
    }
}

impl ScalarUDFImpl for EsqlReplace {
    fn name(&self) -> &'static str {
        "esql_replace"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        if arg_types.len() != 3 {
            return plan_err!("esql_replace takes three arguments: text, regex, replacement");
        }
        for (i, t) in arg_types.iter().enumerate() {
            if !is_string_type(t) && t != &DataType::Null {
                return plan_err!("esql_replace: argument {} must be text, got {t}", i + 1);
            }
        }
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let columns: Vec<ArrayRef> = args
            .args
            .iter()
            .map(|a| a.to_array(rows))
            .collect::<Result<_>>()?;
        let mut values: [Vec<Option<&str>>; 3] = Default::default();
        for (column, out) in columns.iter().zip(values.iter_mut()) {
            if column.data_type() == &DataType::Null {
                out.resize(column.len(), None);
            } else {
                for_each_str(column.as_ref(), |v| out.push(v))?;
            }
        }
        let mut out = StringBuilder::new();
        // Compiled again only when the regex or the replacement changes.
        let mut compiled: Option<((&str, &str), Replacer)> = None;
        let [texts, regexes, replacements] = &values;
        for ((text, regex), replacement) in texts.iter().zip(regexes).zip(replacements) {
            let (Some(text), Some(regex), Some(replacement)) = (*text, *regex, *replacement) else {
                out.append_null();
                continue;
            };
            if compiled
                .as_ref()
                .is_none_or(|(key, _)| *key != (regex, replacement))
            {
                match Replacer::new(regex, replacement) {
                    Ok(r) => compiled = Some(((regex, replacement), r)),
                    Err(message) => return exec_err!("REPLACE: {message}"),
                }
            }
            if let Some((_, replacer)) = &compiled {
                out.append_value(replacer.replace(text));
            }
        }
        let array: ArrayRef = Arc::new(out.finish());
        Ok(if scalar {
            ColumnarValue::Scalar(datafusion::common::ScalarValue::try_from_array(&array, 0)?)
        } else {
            ColumnarValue::Array(array)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replace(text: &str, regex: &str, replacement: &str) -> String {
        Replacer::new(regex, replacement).unwrap().replace(text)
    }

    #[test]
    fn java_replacement_rules() {
        // Expected values as java.util.regex.Matcher.replaceAll gives them.
        assert_eq!(replace("user=alice", r"user=(\w+)", "who:$1"), "who:alice");
        assert_eq!(replace("ab", "(a)(b)", "$2$1"), "ba");
        assert_eq!(
            replace("ab", "(a)(b)", "$12"),
            "a2",
            "group 12 does not exist"
        );
        assert_eq!(replace("ab", "(a)(b)", r"\$1"), "$1");
        assert_eq!(replace("ab", "(a)(b)", r"\1"), "1", "\\1 is the digit");
        assert_eq!(replace("ab", "(a)(b)", r"\\$1"), r"\a");
        assert_eq!(replace("ab", "(?<x>a)b", "${x}!"), "a!");
        assert_eq!(replace("aXbX", "X", "-"), "a-b-", "every match");
        assert_eq!(
            replace("ab", "(c)?(a)", "[$1]"),
            "[]b",
            "a group that took no part"
        );
        let twelve = "(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)(l)";
        assert_eq!(replace("abcdefghijkl", twelve, "$12$1"), "la");
    }

    #[test]
    fn invalid_replacements_are_errors() {
        for (replacement, error) in [
            ("$", "Illegal group reference"),
            ("$x", "Illegal group reference"),
            ("$3", "No group 3"),
            ("\\", "character to be escaped is missing"),
            ("${y}", "No group with name {y}"),
            ("${x", "missing trailing '}'"),
        ] {
            let err = Replacer::new("(?<x>a)(b)", replacement).unwrap_err();
            assert!(err.contains(error), "{replacement}: {err}");
        }
        assert!(
            Replacer::new("(", "x")
                .unwrap_err()
                .starts_with("invalid regex")
        );
    }
}
