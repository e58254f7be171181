//! lakehunt's integration tests, in one binary (linking is slow on small machines).

// Test helpers outside #[test] functions: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod backfill;
mod bad_input;
mod cli;
mod cluster;
mod common;
mod drift;
mod esql;
mod hunts;
mod ingest;
mod ocsf;
mod oracle;
mod pivot;
mod remote;
mod sweep;
