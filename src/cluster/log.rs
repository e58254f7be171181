//! The cluster processes' log: Ballista's scheduler and executor say what
//! they do (executors lost, tasks rerun, stages failed) through the `log`
//! crate; this writes those records to stderr, one line each, from the level
//! the operator chose (`--log`).

use std::io::Write as _;

use log::{LevelFilter, Log, Metadata, Record};

struct Stderr;

impl Log for Stderr {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ");
        // One write per record, so that lines of two threads never mix; a
        // closed stderr is not worth stopping a scheduler for.
        let line = format!(
            "{now} {:<5} {}: {}\n",
            record.level(),
            record.target(),
            record.args()
        );
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {}
}

/// Sends `level` and above to stderr, for the rest of the process. A second
/// call only changes the level.
pub fn to_stderr(level: LevelFilter) {
    static LOGGER: Stderr = Stderr;
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}
