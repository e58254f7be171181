//! lakehunt: threat hunts over archived security telemetry stored as Parquet.
//!
//! The pipeline, whatever the front end:
//!
//! 1. [`source`] finds the Parquet files, reads every footer once, detects the ECS
//!    layout (nested structs or flat dotted columns) and exposes the events as a
//!    view `events` with flat ECS names;
//! 2. [`engine`] builds the DataFusion session with lakehunt's functions
//!    (`cidr_match`, `mv_single`, `mv_count`) and runs hunts with typed,
//!    bound parameters and a time window `(as_of - window, as_of]`;
//! 3. [`output`] writes findings as Parquet, CSV or a table, atomically.
//!
//! Hunts are data ([`hunt`]): TOML files in `data/hunts/`, embedded in the binary.
//! [`sample`] generates realistic synthetic events with planted findings.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod backfill;
pub mod census;
pub mod engine;
pub mod error;
pub mod esql;
pub mod esql_warnings;
pub mod hunt;
pub mod list_filter;
pub mod mapped;
pub mod mapping;
pub mod output;
pub mod params;
pub mod sample;
pub mod source;
pub mod split_scan;
pub mod table;
pub mod tap;
pub mod threshold;
pub mod view_eq;

pub use engine::{
    Engine, EngineOptions, Explained, HuntOutput, ScanStats, ScanSummary, Table, Warning,
};
pub use error::{Error, Result};
pub use hunt::{BoundHunt, Hunt};

/// Whether an environment switch such as `LAKEHUNT_NO_MMAP` is on: set to
/// anything but empty or `0`.
pub(crate) fn env_switch(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0")
}

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
