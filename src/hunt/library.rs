//! Elastic's hunting library: its TOML hunt files, and the language of each query.

use crate::error::{Error, Result};
use crate::esql::without_comments;

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
    /// What the hunt looks for.
    #[serde(default)]
    pub description: String,
    /// MITRE ATT&CK technique ids.
    #[serde(default)]
    pub mitre: Vec<String>,
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
        // `SET name = value;` statements come before an ES|QL query.
        "from" | "row" | "show" | "set" => "ES|QL",
        "select" | "with" => "SQL",
        _ => "EQL",
    }
}

/// Reads a library hunt file, naming it on failure.
pub fn read_hunt_file(path: &std::path::Path) -> Result<LibraryHunt> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::InvalidInput {
        path: path.to_owned(),
        line: 0,
        message: format!("cannot read the hunt file: {e}"),
    })?;
    toml::from_str(&text).map_err(|e| {
        // toml's own text spans lines (the source, a caret); one line here.
        let line = e
            .span()
            .map(|span| text[..span.start.min(text.len())].lines().count().max(1));
        Error::InvalidHunt {
            hunt: path.display().to_string(),
            message: match line {
                Some(line) => format!("line {line}: {}", e.message()),
                None => e.message().to_owned(),
            },
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_queries_are_told_apart_by_language() {
        assert_eq!(query_language("from logs-* | limit 1"), "ES|QL");
        assert_eq!(query_language("// note\n/* more */ FROM x"), "ES|QL");
        assert_eq!(query_language("SELECT * FROM shadow"), "SQL");
        assert_eq!(
            query_language("SET unmapped_fields = \"nullify\"; FROM x"),
            "ES|QL"
        );
        assert_eq!(
            query_language("sequence by process.entity_id [process where true]"),
            "EQL"
        );
        assert_eq!(query_language("file where event.action == \"open\""), "EQL");
        let hunt: LibraryHunt =
            toml::from_str("[hunt]\nname = \"old\"\nquery = \"from x\"\n").unwrap();
        assert_eq!(hunt.hunt.query, vec!["from x".to_owned()]);
    }
}
