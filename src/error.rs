//! The library's one error type.
//!
//! Each variant names the cause and carries what a user needs to fix it: the
//! file, the field, the hunt or the offending value.

use std::path::PathBuf;

/// Errors of the lakehunt library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A `--data` path that does not exist.
    #[error("no such file or directory: {}", .0.display())]
    MissingPath(PathBuf),
    /// A data path, directory or glob that holds no Parquet file.
    #[error("no Parquet files found in {0}")]
    NoParquetFiles(String),
    /// A glob pattern that does not parse.
    #[error("invalid glob pattern '{pattern}': {message}")]
    InvalidGlob {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        message: String,
    },
    /// A file that is not readable Parquet (corrupt, truncated, not Parquet).
    #[error("cannot read Parquet file {}: {message}", path.display())]
    UnreadableFile {
        /// The file.
        path: PathBuf,
        /// The reader's complaint.
        message: String,
    },
    /// An object store that failed or refused a request: a missing bucket,
    /// denied access, an unreachable endpoint, retries run out.
    #[error("cannot {action} {url}: {message}")]
    ObjectStore {
        /// `read`, `write`, or `reach` (the store itself cannot be built).
        action: &'static str,
        /// The URL as given (a prefix, a glob or an object).
        url: String,
        /// The store's reason, without response bodies.
        message: String,
    },
    /// Two files give one field types that cannot be merged.
    #[error(
        "field '{field}' is {left_type} in {} but {right_type} in {}",
        left.display(),
        right.display()
    )]
    SchemaConflict {
        /// The field.
        field: String,
        /// Its type in the first file.
        left_type: String,
        /// The first file that has it.
        left: PathBuf,
        /// Its type in the conflicting file.
        right_type: String,
        /// The conflicting file.
        right: PathBuf,
    },
    /// An ES|QL query lakehunt cannot read.
    #[error("ES|QL, at {line}:{column}: {message}")]
    InvalidEsql {
        /// Line in the query, from 1.
        line: usize,
        /// Column (characters) in that line, from 1.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A field map that is malformed.
    #[error("invalid field map {map}: {message}")]
    InvalidMap {
        /// The map's file name or id.
        map: String,
        /// What is wrong.
        message: String,
    },
    /// One file holds a field both as a flat column and as a struct field.
    #[error(
        "field '{field}' is both a flat column and a struct field in {}",
        path.display()
    )]
    DuplicateField {
        /// The dotted field name.
        field: String,
        /// The file.
        path: PathBuf,
    },
    /// The data lacks a field the hunt needs.
    #[error("hunt '{hunt}' cannot run: the data has no field '{field}'{hint}")]
    MissingField {
        /// The hunt.
        hunt: String,
        /// The missing ECS field.
        field: String,
        /// Why it may be missing, from the hunt file (starts with "; " when set).
        hint: String,
    },
    /// A field of the wrong type for the hunt.
    #[error("hunt '{hunt}' cannot run: field '{field}' is {actual}, expected {expected}")]
    FieldType {
        /// The hunt.
        hunt: String,
        /// The ECS field.
        field: String,
        /// Its type in the data.
        actual: String,
        /// What the hunt needs.
        expected: String,
    },
    /// A hunt definition that is malformed.
    #[error("invalid hunt {hunt}: {message}")]
    InvalidHunt {
        /// Hunt id or file.
        hunt: String,
        /// What is wrong.
        message: String,
    },
    /// No shipped hunt has this id.
    #[error("unknown hunt '{0}' (see `lakehunt hunts` for the list)")]
    UnknownHunt(String),
    /// A cluster (`--cluster df://HOST:PORT`) that cannot take the run.
    #[error("cluster {url}: {message}")]
    Cluster {
        /// The scheduler's URL.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// A `--param` the hunt does not have.
    #[error("hunt '{hunt}' has no such parameter '{name}' (it has: {known})")]
    UnknownParameter {
        /// The hunt.
        hunt: String,
        /// The parameter given.
        name: String,
        /// The hunt's parameters, comma-separated.
        known: String,
    },
    /// A parameter value that does not parse or does not belong to the hunt.
    #[error("invalid value for {name}: {message}")]
    InvalidParameter {
        /// The parameter (or flag) name.
        name: String,
        /// What is wrong with the value.
        message: String,
    },
    /// The query failed while planning or running.
    #[error("{0}")]
    Query(#[from] datafusion::error::DataFusionError),
    /// A hunt's query failed while planning or running.
    #[error("hunt {hunt} failed: {source}")]
    HuntFailed {
        /// The hunt.
        hunt: String,
        /// The engine's error.
        source: datafusion::error::DataFusionError,
    },
    /// An input other than Parquet events that cannot be used, named with
    /// the line at fault where there is one: an export to ingest (malformed
    /// JSON, a document without a time), a findings file to pivot on, a
    /// manifest or summary, a folder that cannot be listed, a FIFO.
    #[error("{}{}: {message}", path.display(), at_line(*line))]
    InvalidInput {
        /// The input file.
        path: PathBuf,
        /// The line its offending value starts on, from 1; 0 for the whole file.
        line: usize,
        /// What is wrong, naming the field.
        message: String,
    },
    /// Inputs whose values for one field cannot share a type; the message
    /// names the field and where each kind was seen.
    #[error("{0}")]
    FieldConflict(String),
    /// Writing findings failed.
    #[error("cannot write {}: {message}", path.display())]
    OutputWrite {
        /// The target file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// Other I/O failures.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// Arrow failures outside a query.
    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),
    /// Parquet failures outside a query.
    #[error(transparent)]
    Parquet(#[from] parquet::errors::ParquetError),
}

/// `:12` for line 12, nothing for 0 (the whole file).
fn at_line(line: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(":{line}")
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether the engine ran out of its memory cap (DataFusion's
    /// "Resources exhausted"): the query may still run with fewer beside it.
    #[must_use]
    pub fn is_resources_exhausted(&self) -> bool {
        match self {
            Error::Query(e) | Error::HuntFailed { source: e, .. } => matches!(
                e.find_root(),
                datafusion::error::DataFusionError::ResourcesExhausted(_)
            ),
            _ => false,
        }
    }
}
