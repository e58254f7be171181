//! Fuzzes the ES|QL front end: lexing, parsing and translation to SQL.
//!
//! Builds `src/esql/` on its own, with the items it takes from the rest of
//! the crate stubbed below (no DataFusion), so a run starts in seconds:
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run esql_parser -- -max_total_time=300` from
//! `fuzz/`. Checks: no panic on any input, and every error carries a line and
//! column inside the query.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// The error variants `esql/` and `hunt/library.rs` build.
mod error {
    #[derive(Debug, thiserror::Error)]
    pub enum Error {
        #[error("ES|QL, at {line}:{column}: {message}")]
        InvalidEsql {
            line: usize,
            column: usize,
            message: String,
        },
        #[error("{}: {message}", path.display())]
        InvalidInput {
            path: std::path::PathBuf,
            line: usize,
            message: String,
        },
        #[error("hunt {hunt}: {message}")]
        InvalidHunt { hunt: String, message: String },
    }
    pub type Result<T> = std::result::Result<T, Error>;
}

mod params {
    pub fn format_instant(nanos: i64) -> String {
        format!("{nanos}")
    }

    /// A stand-in for the date reader (which lives with the UDFs): whole
    /// numbers of milliseconds.
    pub fn parse_iso(text: &str) -> Option<i64> {
        text.parse().ok()
    }
}

#[path = "../../src/esql/mod.rs"]
#[allow(dead_code)]
mod esql;

#[path = "../../src/hunt/library.rs"]
#[allow(dead_code)]
mod library;

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let columns = vec![
        ("@timestamp".to_owned(), arrow::datatypes::DataType::Int64),
        ("a".to_owned(), arrow::datatypes::DataType::Utf8),
        (
            "tags".to_owned(),
            arrow::datatypes::DataType::List(std::sync::Arc::new(
                arrow::datatypes::Field::new_list_field(arrow::datatypes::DataType::Utf8, true),
            )),
        ),
    ];
    for known in [None, Some(columns.as_slice())] {
        match esql::translate(query, 0, "@timestamp", "Timestamp(Nanosecond, None)", known) {
            Ok(_) => {}
            Err(error::Error::InvalidEsql { line, column, .. }) => {
                let lines = query.split('\n').count();
                assert!(line >= 1 && line <= lines, "line {line} of {lines}");
                assert!(column >= 1);
            }
            Err(other) => panic!("unexpected error {other}"),
        }
    }
    let _ = esql::index_patterns(query);
    let _ = library::strip_stray_sql(query);
    let _ = library::query_language(query);
});
