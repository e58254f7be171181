//! Session settings: sizes, memory cap, spill folder, and the switches of
//! lakehunt's optimizations (set by the binary; the library reads no
//! environment of its own).

use std::path::PathBuf;

use crate::source::SchemaMode;
use crate::source::remote::StoreOptions;

/// Session settings; `None` keeps DataFusion's default.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// Rows per batch.
    pub batch_size: Option<usize>,
    /// Parallelism of scans and aggregations.
    pub target_partitions: Option<usize>,
    /// Whether files are read as ECS, OCSF, or detected.
    pub schema: SchemaMode,
    /// Cap on the memory of the engine's operators, in bytes; aggregations and
    /// sorts spill to disk beyond it. `None`: [`default_memory_limit`].
    pub memory_limit: Option<u64>,
    /// The only time range (ns, `(lo, hi]`) the session will query: files in
    /// date folders (`date=`, `eventDay=`) wholly outside it are not opened.
    pub time_range: Option<(i64, i64)>,
    /// Where spill files go (default: the system's temporary folder). They are
    /// removed when the session ends, also on error.
    pub tmp_dir: Option<PathBuf>,
    /// Read local files' column chunks through a read-only memory map (on
    /// unix; default on). A file truncated while a hunt reads it then ends
    /// the process (SIGBUS) instead of failing; off reads with `pread`. The
    /// CLI turns it off with `LAKEHUNT_NO_MMAP=1`.
    pub mmap: bool,
    /// Drop, before grouping, the rows of groups that cannot reach a
    /// `HAVING sum(x) >= T` threshold (default on; see `optimizer`'s
    /// threshold rule). The CLI turns it off with `LAKEHUNT_NO_THRESHOLD=1`.
    pub threshold_pruning: bool,
    /// DataFusion settings by key (`datafusion.execution.batch_size`,
    /// `"8192"`), applied over lakehunt's own defaults, so they win; then
    /// `batch_size` and `target_partitions`, where given, win over them. The
    /// CLI fills it from `DATAFUSION_*` variables.
    pub settings: Vec<(String, String)>,
    /// How object stores (`s3://`, `gs://`, `az://`, `https://`) are reached.
    pub stores: StoreOptions,
}

impl Default for EngineOptions {
    fn default() -> EngineOptions {
        EngineOptions {
            batch_size: None,
            target_partitions: None,
            schema: SchemaMode::default(),
            memory_limit: None,
            time_range: None,
            tmp_dir: None,
            mmap: true,
            threshold_pruning: true,
            settings: vec![],
            stores: StoreOptions::default(),
        }
    }
}

/// Half of the machine's memory (from `/proc/meminfo`), else 4 GiB.
#[must_use]
pub fn default_memory_limit() -> u64 {
    let total_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|rest| {
                    rest.trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<u64>()
                        .ok()
                })
        });
    total_kib.map_or(4 << 30, |kib| kib * 1024 / 2)
}
