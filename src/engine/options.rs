//! Session settings: sizes, memory cap, spill folder, and the switches of
//! lakehunt's optimizations (set by the binary; the library reads no
//! environment of its own).

use std::path::{Path, PathBuf};

use crate::source::SchemaMode;
use crate::source::remote::StoreOptions;

/// Session settings; `None` keeps DataFusion's default.
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent switches, each with its own off switch in the CLI"
)]
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
    /// day folders (see `date_folders`) wholly outside it are not opened.
    pub time_range: Option<(i64, i64)>,
    /// Folder keys whose value (`20260115`, `2026-01-15`) is the UTC day of the
    /// events filed under them, any case. Default: [`crate::source::DAY_FOLDERS`]
    /// (`eventDay`): a `date=` or `dt=` folder may name an ingest day or a
    /// local day, and pruning by it would lose events.
    pub date_folders: Vec<String>,
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
    /// Let the threshold rule spill the rows it holds past 64 MiB (or a
    /// quarter of the memory limit), so that its memory does not grow with
    /// the data (default on). Off, it holds up to half the limit and then
    /// passes every row on. The CLI turns it off with
    /// `LAKEHUNT_NO_THRESHOLD_SPILL=1`.
    pub threshold_spill: bool,
    /// Compact the string views of sorted streams before a merge holds them
    /// (default on; see `optimizer`'s compact-views rule). The CLI turns it
    /// off with `LAKEHUNT_NO_COMPACT_VIEWS=1`.
    pub compact_views: bool,
    /// Keep the last 16th of the memory pool (2-32 MiB) from the merges of
    /// a spilled sort's partitions, for the merge above them (default on;
    /// see `engine::pool`). The CLI turns it off with
    /// `LAKEHUNT_NO_MERGE_HEADROOM=1`.
    pub merge_headroom: bool,
    /// Merge at most one spill file per 32 MiB of the cap in one pass (4 to
    /// 64; default on; see `engine::pool::spill_fan_in`); off, every spill
    /// file at once as far as the pool allows (DataFusion's default). The
    /// CLI turns it off with `LAKEHUNT_NO_SPILL_FAN_IN=1`.
    pub spill_fan_in: bool,
    /// Count ES|QL's `COUNT_DISTINCT` by 64-bit hashes of the values, in a
    /// groups accumulator (default on; see `lakehunt_udfs::count_distinct`);
    /// off, exactly by DataFusion's `count(DISTINCT x)`. The CLI turns it off
    /// with `LAKEHUNT_NO_HASHED_COUNT_DISTINCT=1`. On a cluster the executors
    /// count hashes either way.
    pub hashed_count_distinct: bool,
    /// Let a filter's `AND` short-circuit past NULLs: the nullable left side
    /// of each `AND` and `OR` a filter predicate is made of counts NULL as
    /// false, as the filter does (default on; see `optimizer`'s null-as-false
    /// rule). The CLI turns it off with `LAKEHUNT_NO_NULL_AS_FALSE=1`.
    pub null_as_false: bool,
    /// Match a filter's regular expression against a constant with the
    /// pattern compiled once, not once a batch (default on; see
    /// `optimizer`'s regex-once rule). The CLI turns it off with
    /// `LAKEHUNT_NO_REGEX_ONCE=1`.
    pub regex_once: bool,
    /// In a run of queries that share scans, evaluate the cheap filter tests
    /// that several of them have once, in their scan (default on; see
    /// `optimizer`'s shared tests). The CLI turns it off with
    /// `LAKEHUNT_NO_SHARED_TESTS=1`.
    pub shared_tests: bool,
    /// DataFusion settings by key (`datafusion.execution.batch_size`,
    /// `"8192"`), applied over lakehunt's own defaults, so they win; then
    /// `batch_size` and `target_partitions`, where given, win over them. The
    /// CLI fills it from `DATAFUSION_*` variables.
    pub settings: Vec<(String, String)>,
    /// How object stores (`s3://`, `gs://`, `az://`, `https://`) are reached.
    pub stores: StoreOptions,
    /// Run plans on this Ballista cluster (see [`crate::cluster`]) instead of
    /// here; planning stays here.
    pub cluster: Option<crate::cluster::ClusterUrl>,
    /// Let queries planned together share one scan of the data (see
    /// [`crate::engine::Engine::share_scans`]; a sweep's). Off by default.
    pub share_scans: bool,
}

impl Default for EngineOptions {
    fn default() -> EngineOptions {
        EngineOptions {
            batch_size: None,
            target_partitions: None,
            schema: SchemaMode::default(),
            memory_limit: None,
            time_range: None,
            date_folders: crate::source::day_folder_keys(&[]),
            tmp_dir: None,
            mmap: true,
            threshold_pruning: true,
            threshold_spill: true,
            compact_views: true,
            merge_headroom: true,
            spill_fan_in: true,
            hashed_count_distinct: true,
            null_as_false: true,
            regex_once: true,
            shared_tests: true,
            settings: vec![],
            stores: StoreOptions::default(),
            cluster: None,
            share_scans: false,
        }
    }
}

/// The memory this process may use: the machine's (`/proc/meminfo`), or less
/// where a cgroup limits it (a container, a systemd slice), else `None`.
fn available_memory() -> Option<u64> {
    let machine = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| meminfo_total(&text));
    let cgroup = std::fs::read_to_string("/proc/self/cgroup")
        .ok()
        .and_then(|own| cgroup_limit(&own, Path::new("/sys/fs/cgroup")));
    match (machine, cgroup) {
        (Some(m), Some(c)) => Some(m.min(c)),
        (m, c) => m.or(c),
    }
}

/// Half of the memory this process may use (the machine's, or its
/// cgroup's limit where smaller), else 4 GiB.
#[must_use]
pub fn default_memory_limit() -> u64 {
    available_memory().map_or(4 << 30, |bytes| bytes / 2)
}

fn meminfo_total(meminfo: &str) -> Option<u64> {
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map(|kib| kib * 1024)
}

/// The smallest memory limit set on this process's cgroup or any of its
/// ancestors, from `own` (the text of `/proc/self/cgroup`) and the cgroup
/// file systems under `root`: v2's `memory.max` (unified, or mounted at
/// `root/unified` beside v1), v1's `memory.limit_in_bytes`. Inside a
/// container with its own cgroup namespace the path is `/` and the limit is
/// the root's file; where the listed path is not mounted (a v1 container
/// that sees its cgroup as the mount's root), the mount's root is read.
fn cgroup_limit(own: &str, root: &Path) -> Option<u64> {
    let mut limits = vec![];
    for line in own.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let relative = path.trim_start_matches('/');
        if controllers.is_empty() {
            for mount in [root.to_path_buf(), root.join("unified")] {
                limits.extend(walk_up(&mount, relative, "memory.max"));
            }
        } else if controllers.split(',').any(|c| c == "memory") {
            limits.extend(walk_up(
                &root.join("memory"),
                relative,
                "memory.limit_in_bytes",
            ));
        }
    }
    limits.into_iter().min()
}

/// Limits in `file` from `mount/relative` up to `mount`; v1's "no limit"
/// (a page-rounded `i64::MAX`) and v2's `max` are none.
fn walk_up(mount: &Path, relative: &str, file: &str) -> Vec<u64> {
    let mut limits = vec![];
    let mut dir = mount.join(relative);
    if relative.split('/').any(|part| part == "..") || !dir.is_dir() {
        dir = mount.to_path_buf();
    }
    loop {
        if let Ok(text) = std::fs::read_to_string(dir.join(file))
            && let Ok(bytes) = text.trim().parse::<u64>()
            && bytes < (1 << 62)
        {
            limits.push(bytes);
        }
        if dir == mount || !dir.pop() || !dir.starts_with(mount) {
            break;
        }
    }
    limits
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cgroup file system under a temporary root: `files` are (path, text).
    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let root = tempfile::tempdir().expect("temporary folder");
        for (path, text) in files {
            let path = root.path().join(path);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("folders");
            std::fs::write(path, text).expect("a file");
        }
        root
    }

    const MIB: u64 = 1 << 20;

    #[test]
    fn cgroup_v2_takes_the_smallest_limit_up_the_tree() {
        let root = tree(&[
            ("memory.max", "max\n"),
            ("a/memory.max", "524288000\n"),
            ("a/b/memory.max", "max\n"),
        ]);
        assert_eq!(cgroup_limit("0::/a/b\n", root.path()), Some(500 * MIB));
        let tighter = tree(&[("a/memory.max", "max\n"), ("a/b/memory.max", "314572800\n")]);
        assert_eq!(cgroup_limit("0::/a/b\n", tighter.path()), Some(300 * MIB));
    }

    #[test]
    fn cgroup_v2_in_a_container_reads_its_root() {
        let root = tree(&[("memory.max", "314572800\n")]);
        assert_eq!(cgroup_limit("0::/\n", root.path()), Some(300 * MIB));
        // A namespace that shows a path the container cannot see: the root.
        assert_eq!(
            cgroup_limit("0::/../host/slice\n", root.path()),
            Some(300 * MIB)
        );
    }

    #[test]
    fn cgroup_v1_and_hybrid_read_the_memory_controller() {
        let unlimited = "9223372036854771712\n";
        let root = tree(&[
            ("memory/memory.limit_in_bytes", unlimited),
            ("memory/jobs/x/memory.limit_in_bytes", "314572800\n"),
            ("unified/memory.max", "max\n"),
        ]);
        let own = "9:name=systemd:/\n4:cpu,memory:/jobs/x\n1:cpu:/\n0::/\n";
        assert_eq!(cgroup_limit(own, root.path()), Some(300 * MIB));
        let none = tree(&[("memory/memory.limit_in_bytes", unlimited)]);
        assert_eq!(cgroup_limit("4:memory:/\n0::/\n", none.path()), None);
    }

    #[test]
    fn no_cgroup_files_no_limit() {
        let root = tree(&[]);
        assert_eq!(cgroup_limit("0::/\n", root.path()), None);
        assert_eq!(cgroup_limit("garbage", root.path()), None);
        assert_eq!(
            meminfo_total("MemTotal:       24683784 kB\nMemFree: 1 kB\n"),
            Some(24_683_784 * 1024)
        );
    }
}
