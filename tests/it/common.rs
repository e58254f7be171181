//! Helpers the command-line tests share.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The instant the samples here are generated around.
pub const AS_OF: &str = "2026-01-15T12:00:00Z";

/// `lakehunt args`, run to completion.
pub fn lakehunt(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lakehunt"))
        .args(args)
        .output()
        .expect("the binary runs")
}

/// stdout of a run that must succeed (else its stderr is the failure).
pub fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// stderr of a run.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A sample of `rows` events as of [`AS_OF`] in `dir/sample`.
pub fn sample_in(dir: &Path, rows: usize) -> PathBuf {
    let sample = dir.join("sample");
    ok(&lakehunt(&[
        "sample",
        "--rows",
        &rows.to_string(),
        "--as-of",
        AS_OF,
        "--out",
        sample.to_str().unwrap(),
    ]));
    sample
}

/// `kill -SIGNAL pid` (SIGNAL without its `SIG`: `INT`, `TERM`, `STOP`).
#[cfg(unix)]
pub fn signal(pid: u32, name: &str) {
    let sent = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success(), "kill -{name} {pid}");
}
