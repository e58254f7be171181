//! lakehunt: threat hunts over archived security telemetry stored as Parquet.
//!
//! One pipeline, whatever the front end, each stage a module that depends only
//! on the stages above it:
//!
//! 1. [`source`]: which files (paths, folders, globs, `key=value` folders),
//!    every footer read once, files grouped by schema, the dataset's census;
//! 2. [`resolve`]: a logical ECS name (`destination.ip`) as an expression over
//!    what a group's files hold (flat columns, struct fields, or another
//!    schema through a field map such as OCSF's);
//! 3. [`scan`]: the table over an exact file list, the Parquet reader (string
//!    views, memory-mapped local files) and row-group pruning by time bounds;
//! 4. [`engine`]: the DataFusion session (lakehunt's functions, memory cap,
//!    the `events` view over the source) and running hunts, SQL and ES|QL
//!    with typed, bound parameters and a time window `(as_of - window, as_of]`;
//! 5. `optimizer`: lakehunt's own physical rules and nodes, listed once, in
//!    the order they run;
//! 6. front ends: [`hunt`] (hunts as data: TOML files in `data/hunts/`,
//!    embedded in the binary, and Elastic's hunt files) and [`esql`] (ES|QL
//!    text to a plan over `events`);
//! 7. [`output`]: findings as Parquet, CSV or a table, written atomically.
//!
//! Drivers over the same pipeline: [`backfill`] (a hunt over every window of
//! a stretch of archive) and [`sample`] (synthetic events with planted
//! findings). The library reads no environment: switches arrive in
//! [`EngineOptions`], set by the binary.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod backfill;
pub mod cluster;
pub mod engine;
pub mod error;
pub mod esql;
mod html;
pub mod hunt;
pub mod ingest;
mod optimizer;
pub mod output;
pub mod params;
pub mod pivot;
pub mod resolve;
pub mod sample;
pub mod scan;
pub mod source;
pub mod sweep;

pub use engine::{
    Engine, EngineOptions, Explained, HuntOutput, ScanStats, ScanSummary, Table, Warning,
};
pub use error::{Error, Result};
pub use hunt::{BoundHunt, Hunt};

/// xorshift64: data that tests can repeat, without a random-number crate.
#[cfg(test)]
pub(crate) struct TestRng(pub(crate) u64);

#[cfg(test)]
impl TestRng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
