//! A real cluster on loopback: `lakehunt scheduler` and two `lakehunt
//! executor`s as processes (stopped when the test ends), running what a
//! local run runs, with the local run as the oracle.

use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::common::{AS_OF, lakehunt, ok, stderr};

/// A free loopback port (bound, then released for the process to take).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something listens on `port`.
fn wait_for(port: u16, what: &str, child: &mut Child) {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let start = Instant::now();
    while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("{what} exited before listening: {status}");
        }
        assert!(
            start.elapsed() < Duration::from_mins(1),
            "{what} did not listen on {port} within 60 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The processes of one cluster; killed when dropped.
pub(crate) struct Cluster {
    pub(crate) url: String,
    scheduler: Child,
    executors: Vec<(Child, PathBuf)>,
    /// The processes' logs (`--log info`: the kill tests read the tasks each
    /// executor received), shown when a test fails.
    logs: Vec<PathBuf>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in
            std::iter::once(&mut self.scheduler).chain(self.executors.iter_mut().map(|(c, _)| c))
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Cluster {
    /// A scheduler that gives up on a silent executor after 10 s, and
    /// `executors` executors of two tasks each, their shuffle files in `dir`.
    fn start(dir: &Path, executors: usize) -> Cluster {
        Cluster::start_with(dir, executors, &[])
    }

    /// The same, with `env` added to the executors' environment.
    pub(crate) fn start_with(dir: &Path, executors: usize, env: &[(&str, &str)]) -> Cluster {
        let port = free_port();
        let log = |name: &str| {
            let path = dir.join(format!("{name}.log"));
            (std::fs::File::create(&path).unwrap(), path)
        };
        let (scheduler_log, scheduler_log_path) = log("scheduler");
        let mut scheduler = Command::new(env!("CARGO_BIN_EXE_lakehunt"))
            .args([
                "scheduler",
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--executor-timeout",
                "10",
                "--log",
                "info",
            ])
            .stdout(Stdio::null())
            .stderr(scheduler_log)
            .spawn()
            .unwrap();
        wait_for(port, "the scheduler", &mut scheduler);
        let mut cluster = Cluster {
            url: format!("df://127.0.0.1:{port}"),
            scheduler,
            executors: vec![],
            logs: vec![scheduler_log_path],
        };
        for i in 0..executors {
            let flight = free_port();
            let work = dir.join(format!("executor-{i}"));
            let (executor_log, executor_log_path) = log(&format!("executor-{i}"));
            let mut child = Command::new(env!("CARGO_BIN_EXE_lakehunt"))
                .args([
                    "executor",
                    "--scheduler",
                    &format!("127.0.0.1:{port}"),
                    "--port",
                    &flight.to_string(),
                    "--concurrent-tasks",
                    "2",
                    "--log",
                    "info",
                    "--work-dir",
                ])
                .arg(&work)
                .envs(env.iter().copied())
                .env_remove("AWS_PROFILE")
                .stdout(Stdio::null())
                .stderr(executor_log)
                .spawn()
                .unwrap();
            // The executor serves Arrow Flight once it has registered.
            wait_for(flight, "an executor", &mut child);
            cluster.executors.push((child, work));
            cluster.logs.push(executor_log_path);
        }
        cluster
    }
}

/// `lakehunt args`, and the same with `--cluster`: both must succeed.
fn both(cluster: &Cluster, args: &[&str]) -> (Output, Output) {
    let local = lakehunt(args);
    let mut on_cluster = args.to_vec();
    on_cluster.extend(["--cluster", &cluster.url]);
    let remote = lakehunt(&on_cluster);
    ok(&local);
    ok(&remote);
    (local, remote)
}

/// The lines of `text` that start with `warning:`, sorted.
fn warnings(text: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = text.lines().filter(|l| l.starts_with("warning:")).collect();
    lines.sort_unstable();
    lines
}

/// The rows of a CSV, header first, the rest sorted.
fn rows(csv: &str) -> Vec<String> {
    let mut lines: Vec<String> = csv.lines().map(str::to_owned).collect();
    if lines.len() > 1 {
        lines[1..].sort();
    }
    lines
}

/// A sample whose one file has four row groups: an 18-hour window before
/// [`AS_OF`] skips one, reads one whole and cuts the others, so the scan
/// reads the file in parts (see `FileSetTable`).
fn split_sample(dir: &Path) -> PathBuf {
    sample_files(&dir.join("sample"), 400_000, 400_000)
}

/// `rows` sample events as of [`AS_OF`] in files of `per_file` rows at `out`.
fn sample_files(out: &Path, rows: usize, per_file: usize) -> PathBuf {
    ok(&lakehunt(&[
        "sample",
        "--out",
        out.to_str().unwrap(),
        "--rows",
        &rows.to_string(),
        "--rows-per-file",
        &per_file.to_string(),
        "--as-of",
        AS_OF,
    ]));
    out.to_owned()
}

#[test]
fn a_cluster_finds_what_a_local_run_finds() {
    let dir = tempfile::tempdir().unwrap();
    let data = split_sample(dir.path());
    let data = data.to_str().unwrap();
    let cluster = Cluster::start(dir.path(), 2);

    // The seed hunt, its window cutting the file into parts. The parts must
    // reach the executors: read whole, each part would count its rows again
    // (and the part read without the window's bounds, rows outside it).
    let explained = ok(&lakehunt(&[
        "explain",
        "egress-bytes",
        "--data",
        data,
        "--as-of",
        AS_OF,
        "--window",
        "18h",
        "--analyze",
    ]));
    assert!(
        explained.contains("row groups wholly inside the window: 1 "),
        "the test needs a split scan: {explained}"
    );
    for window in ["8h", "18h"] {
        let (local, remote) = both(
            &cluster,
            &[
                "run",
                "egress-bytes",
                "--data",
                data,
                "--as-of",
                AS_OF,
                "--window",
                window,
                "--format",
                "csv",
            ],
        );
        let (local_rows, remote_rows) = (
            rows(&String::from_utf8_lossy(&local.stdout)),
            rows(&String::from_utf8_lossy(&remote.stdout)),
        );
        assert!(local_rows.len() > 1, "no findings to compare");
        assert_eq!(local_rows, remote_rows, "window {window}");
        // The hunt's data checks are counted on the cluster too.
        let (local_err, remote_err) = (stderr(&local), stderr(&remote));
        assert!(!warnings(&local_err).is_empty(), "{local_err}");
        assert_eq!(warnings(&local_err), warnings(&remote_err));
    }

    // A count over every event, through the executors' shuffle.
    let (local, remote) = both(
        &cluster,
        &[
            "sql",
            "SELECT \"event.action\", count(*) AS n, sum(\"source.bytes\") AS b \
             FROM events GROUP BY 1 ORDER BY 1",
            "--data",
            data,
            "--format",
            "csv",
        ],
    );
    assert_eq!(local.stdout, remote.stdout);

    scans_split_by_task(&cluster, dir.path());

    esql_matches(&cluster, data);
    backfill_matches(&cluster, dir.path(), data);

    // A task that fails on the data fails the run: one line, exit 2, and
    // no output file.
    let out = dir.path().join("failed.csv");
    let o = lakehunt(&[
        "sql",
        "SELECT CAST(\"process.executable\" AS INT) AS x FROM events",
        "--data",
        data,
        "--out",
        out.to_str().unwrap(),
        "--cluster",
        &cluster.url,
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(stderr(&o).trim().lines().count(), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("Cannot cast string"), "{}", stderr(&o));
    assert!(!out.exists());
}

/// Several files, parts of which are read whole and others filtered, in as
/// many file groups as partitions: each task must read its own groups (the
/// scheduler restricts the scan to them), never the others'.
fn scans_split_by_task(cluster: &Cluster, dir: &Path) {
    let lake = sample_files(&dir.join("three-files"), 60_000, 20_000);
    for partitions in ["1", "3", "4", "7"] {
        let (local, remote) = both(
            cluster,
            &[
                "sql",
                "SELECT count(*) AS n, sum(\"source.bytes\") AS b FROM events \
                 WHERE \"@timestamp\" > TIMESTAMP '2026-01-14T18:00:00Z'",
                "--data",
                lake.to_str().unwrap(),
                "--target-partitions",
                partitions,
                "--format",
                "csv",
            ],
        );
        assert_eq!(local.stdout, remote.stdout, "{partitions} partitions");
        let count = String::from_utf8_lossy(&local.stdout);
        let n: u64 = count
            .lines()
            .nth(1)
            .and_then(|l| l.split(',').next())
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            n > 0 && n < 60_000,
            "the filter keeps some events, not all: {count}"
        );
    }
}

/// The seed hunt's ES|QL text on `cluster` finds what it finds here, and
/// ES|QL's warnings, counted on the executors, come back the same.
fn esql_matches(cluster: &Cluster, data: &str) {
    // The seed hunt's ES|QL text as Elastic publishes it: `event.category`
    // is multi-valued in some events, which ES|QL reads as NULL, and warns.
    let seed = "from logs-endpoint.events.network-*
| where  @timestamp > now() - 8 hour
| where host.os.family == \"windows\" and event.category == \"network\" and
  event.action == \"disconnect_received\" and
  not CIDR_MATCH(destination.ip, \"10.0.0.0/8\", \"127.0.0.0/8\", \"169.254.0.0/16\", \"172.16.0.0/12\", \"192.0.0.0/24\", \"192.0.0.0/29\", \"192.0.0.8/32\", \"192.0.0.9/32\", \"192.0.0.10/32\", \"192.0.0.170/32\", \"192.0.0.171/32\", \"192.0.2.0/24\", \"192.31.196.0/24\", \"192.52.193.0/24\", \"192.168.0.0/16\", \"192.88.99.0/24\", \"224.0.0.0/4\", \"100.64.0.0/10\", \"192.175.48.0/24\",\"198.18.0.0/15\", \"198.51.100.0/24\", \"203.0.113.0/24\", \"240.0.0.0/4\", \"::1\",\"FE80::/10\", \"FF00::/8\")
| keep source.bytes, destination.address, process.executable, process.entity_id
| stats total_bytes_out = sum(source.bytes) by process.entity_id, destination.address, process.executable
 /* more than 1GB out by same process.pid in 8 hours */
| where total_bytes_out >= 1073741824";
    // Every kind of warning, from a projection (EVAL), a filter (WHERE),
    // the aggregates' arguments and a sum past the long range (STATS).
    let warns = "from logs-*
| where @timestamp > now() - 18 hour
| eval z = destination.port - destination.port, q = source.bytes / z,
  big = source.bytes * 4611686018427387904
| where source.bytes % z is null and event.category == \"network\"
| stats n = count(*), b = count(big), s = sum(source.bytes / z),
  t = sum(source.bytes * 4611686018427387904) by host.os.family
| sort host.os.family";
    for (query, kinds) in [(seed, 1), (warns, 4)] {
        let (local, remote) = both(
            cluster,
            &[
                "esql", query, "--data", data, "--as-of", AS_OF, "--format", "csv",
            ],
        );
        let local_rows = rows(&String::from_utf8_lossy(&local.stdout));
        assert!(local_rows.len() > 1, "no findings to compare");
        assert_eq!(local_rows, rows(&String::from_utf8_lossy(&remote.stdout)));
        let (local_err, remote_err) = (stderr(&local), stderr(&remote));
        assert_eq!(warnings(&local_err).len(), kinds, "{local_err}");
        assert_eq!(warnings(&local_err), warnings(&remote_err));
    }
}

/// A 3-day backfill on `cluster` writes the rows it writes here.
fn backfill_matches(cluster: &Cluster, dir: &Path, data: &str) {
    let (local_out, remote_out) = (dir.join("bf-local"), dir.join("bf-cluster"));
    for (out, cluster_flag) in [(&local_out, None), (&remote_out, Some(&cluster.url))] {
        let mut args = vec![
            "backfill",
            "egress-bytes",
            "--data",
            data,
            "--from",
            "2026-01-13T00:00:00Z",
            "--to",
            "2026-01-16T00:00:00Z",
            "--every",
            "4h",
            "--out",
            out.to_str().unwrap(),
        ];
        if let Some(url) = cluster_flag {
            args.extend(["--cluster", url]);
        }
        ok(&lakehunt(&args));
    }
    let findings = |out: &Path| -> Vec<String> {
        let glob = format!("{}/**/*.parquet", out.display());
        rows(&ok(&lakehunt(&[
            "sql",
            "SELECT * FROM events",
            "--data",
            &glob,
            "--format",
            "csv",
        ])))
    };
    let local_findings = findings(&local_out);
    assert!(local_findings.len() > 1, "no findings to compare");
    assert_eq!(local_findings, findings(&remote_out));
}

#[test]
fn an_executor_killed_mid_job_leaves_the_answer_whole() {
    // While the first stage runs: its lost tasks run again on the other.
    executor_killed_mid_job(Kill::FirstToWriteShuffleFiles);
}

#[test]
fn an_executor_killed_after_the_first_stage_leaves_the_answer_whole() {
    // One that wrote first-stage output, once the other runs a second-stage
    // task: the second stage is rolled back and the lost part of the first
    // runs again. With Ballista's push scheduling this wedged the job for
    // good: the rolled-back tasks' slots were never given back.
    executor_killed_mid_job(Kill::WhileTheSecondStageRuns);
}

/// When [`executor_killed_mid_job`] kills an executor.
#[derive(Clone, Copy, Debug)]
enum Kill {
    FirstToWriteShuffleFiles,
    WhileTheSecondStageRuns,
}

fn executor_killed_mid_job(when: Kill) {
    let dir = tempfile::tempdir().unwrap();
    let data = split_sample(dir.path());
    let data = data.to_str().unwrap();
    let mut cluster = Cluster::start(dir.path(), 2);
    // ES|QL, so that its warnings (a division by zero in every row) are
    // counted by tasks that are lost and run again.
    let query = "from logs-* | eval z = destination.port - destination.port
| stats n = count(*), b = sum(source.bytes), q = sum(source.bytes / z) by process.entity_id
| sort process.entity_id";
    let args = [
        "esql", query, "--data", data, "--as-of", AS_OF, "--format", "csv",
    ];
    let local = lakehunt(&args);
    ok(&local);
    let local_warnings = stderr(&local);
    assert_eq!(warnings(&local_warnings).len(), 1, "{local_warnings}");

    let mut run = Command::new(env!("CARGO_BIN_EXE_lakehunt"))
        .args(args)
        .args(["--cluster", &cluster.url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // An executor is killed (SIGKILL: no goodbye to the scheduler) while
    // the job runs.
    let start = Instant::now();
    let killed = loop {
        let writing: Vec<usize> = (0..cluster.executors.len())
            .filter(|&i| has_files(&cluster.executors[i].1))
            .collect();
        let chosen = match when {
            Kill::FirstToWriteShuffleFiles => writing.first().copied(),
            // Executor logs (`--log info`) name each task they receive:
            // `Received task: [TID <job>/<stage>.<attempt>/...]`.
            Kill::WhileTheSecondStageRuns => writing.iter().copied().find(|&i| {
                (0..cluster.executors.len()).any(|other| {
                    other != i
                        && cluster.log(1 + other).lines().any(|l| {
                            l.split("task: [TID ")
                                .nth(1)
                                .and_then(|tid| tid.split('/').nth(1))
                                .is_some_and(|stage| stage.starts_with("2."))
                        })
                })
            }),
        };
        if let Some(i) = chosen {
            break i;
        }
        assert!(
            run.try_wait().unwrap().is_none(),
            "the job ended before an executor wrote shuffle files"
        );
        assert!(start.elapsed() < Duration::from_mins(2), "no shuffle files");
        std::thread::sleep(Duration::from_millis(10));
    };
    cluster.executors[killed].0.kill().unwrap();
    cluster.executors[killed].0.wait().unwrap();
    assert!(
        run.try_wait().unwrap().is_none(),
        "the job ended before the executor was killed: nothing tested"
    );
    let output = cluster.finish(run, start, Duration::from_mins(2));
    // The scheduler reruns the lost tasks on the other executor: the whole
    // answer, or an error; never a part of it.
    assert!(
        output.status.success(),
        "exit {:?}: {}\n{}",
        output.status.code(),
        stderr(&output),
        cluster.log_tails()
    );
    assert_eq!(output.stdout, local.stdout);
    assert_eq!(warnings(&local_warnings), warnings(&stderr(&output)));
    if let Kill::WhileTheSecondStageRuns = when {
        // The path under test: the second stage rolled back, the first's
        // lost output made again. Ballista says so on the executor's loss
        // ("Reset N tasks for successful job/stage"), or first on the second
        // stage's failed read ("resubmit the current running Stage 2 and its
        // map Stage 1"). Where the kill cut a read short instead, Ballista
        // fails the job and the client runs it once more: a failed job, then
        // one that succeeded.
        let said = cluster.log(0);
        let rolled_back =
            said.contains("tasks for successful job/stage") || said.contains("and its map Stage");
        let run_again = said.contains("is failed") && said.contains("Job finished successfully");
        assert!(rolled_back || run_again, "{}", cluster.log_tails());
    }
}

#[test]
fn losing_every_executor_fails_the_run_in_one_line() {
    // The only executor is killed mid-job: nothing can rerun its tasks. The
    // scheduler (an executor timeout of 10 s, and as long again for one to
    // come back) fails the job; the client says so in one line, exit 2, and
    // writes nothing.
    let dir = tempfile::tempdir().unwrap();
    let data = split_sample(dir.path());
    let mut cluster = Cluster::start(dir.path(), 1);
    let out = dir.path().join("lost.csv");
    let mut run = Command::new(env!("CARGO_BIN_EXE_lakehunt"))
        .args([
            "sql",
            "SELECT \"process.entity_id\", count(*) AS n FROM events GROUP BY 1 ORDER BY 1",
            "--data",
            data.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--cluster",
            &cluster.url,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !has_files(&cluster.executors[0].1) {
        assert!(
            run.try_wait().unwrap().is_none(),
            "the job ended before the executor wrote shuffle files"
        );
        assert!(start.elapsed() < Duration::from_mins(2), "no shuffle files");
        std::thread::sleep(Duration::from_millis(10));
    }
    cluster.executors[0].0.kill().unwrap();
    cluster.executors[0].0.wait().unwrap();
    let killed = Instant::now();
    let output = cluster.finish(run, killed, Duration::from_secs(45));
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("all executors were lost"), "{err}");
    assert!(!out.exists());
}

impl Cluster {
    /// Process `i`'s log so far: the scheduler's (0), then each executor's.
    fn log(&self, i: usize) -> String {
        std::fs::read_to_string(&self.logs[i]).unwrap_or_default()
    }

    /// The last lines of each process's log, for a failure message.
    fn log_tails(&self) -> String {
        let mut tails = String::new();
        for path in &self.logs {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(40)..];
            let _ = writeln!(tails, "--- {}\n{}", path.display(), tail.join("\n"));
        }
        tails
    }

    /// `run`'s output once it ends; killed, and the test failed with the
    /// processes' logs, if it runs past `within` of `start`: a job the
    /// cluster lost track of must fail a test, not hang it.
    fn finish(&self, mut run: Child, start: Instant, within: Duration) -> Output {
        let mut out = run.stdout.take().unwrap();
        let mut err = run.stderr.take().unwrap();
        let read = |pipe: &mut dyn std::io::Read| {
            let mut bytes = vec![];
            pipe.read_to_end(&mut bytes).map(|_| bytes)
        };
        let (stdout, stderr) = std::thread::scope(|scope| {
            let stdout = scope.spawn(|| read(&mut out));
            let stderr = scope.spawn(|| read(&mut err));
            while run.try_wait().unwrap().is_none() {
                if start.elapsed() > within {
                    run.kill().unwrap();
                    run.wait().unwrap();
                    let said = stderr.join().unwrap().unwrap_or_default();
                    panic!(
                        "the run was still going after {within:?}; it said: {}\n{}",
                        String::from_utf8_lossy(&said),
                        self.log_tails()
                    );
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            (
                stdout.join().unwrap().unwrap(),
                stderr.join().unwrap().unwrap(),
            )
        });
        Output {
            status: run.wait().unwrap(),
            stdout,
            stderr,
        }
    }
}

/// Whether there is a file anywhere under `dir`.
fn has_files(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        let path = e.path();
        if path.is_dir() {
            has_files(&path)
        } else {
            true
        }
    })
}

#[test]
fn a_cluster_that_is_not_there_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = super::common::sample_in(dir.path(), 2000);
    let port = free_port();
    let url = format!("df://127.0.0.1:{port}");
    let o = lakehunt(&[
        "run",
        "egress-bytes",
        "--data",
        data.to_str().unwrap(),
        "--as-of",
        AS_OF,
        "--cluster",
        &url,
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    let line = err.lines().last().unwrap();
    assert!(
        line.starts_with(&format!("error: cluster {url}: connection refused")),
        "{err}"
    );
    // Not a URL at all: a usage error, before any data is read.
    let o = lakehunt(&["sql", "SELECT 1", "--cluster", "http://x:1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("expected df://HOST:PORT"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn explain_shows_the_stages_a_cluster_runs() {
    // Cut as the scheduler cuts it, without a cluster: the scans and filters,
    // a shuffle by the group key, the final sums, the merge to the client.
    let dir = tempfile::tempdir().unwrap();
    let data = super::common::sample_in(dir.path(), 2000);
    let text = ok(&lakehunt(&[
        "explain",
        "egress-bytes",
        "--data",
        data.to_str().unwrap(),
        "--as-of",
        AS_OF,
        "--cluster",
        "df://127.0.0.1:9",
    ]));
    let stages = text.lines().filter(|l| l.starts_with("Stage ")).count();
    assert!(stages >= 3, "{text}");
    assert!(text.contains("ShippedScan: "), "{text}");
    assert!(text.contains("    DataSourceExec: "), "{text}");
    assert!(
        text.contains("Hash([process.entity_id@0, destination.address@1, process.executable@2]"),
        "{text}"
    );
    assert!(text.contains("mode=FinalPartitioned"), "{text}");
    // Threshold pruning (in the local plan) would gather every filtered row
    // into one task: not on a cluster.
    assert!(!text.contains("ThresholdExec"), "{text}");
    // --analyze runs the plan: not with --cluster.
    let o = lakehunt(&[
        "explain",
        "egress-bytes",
        "--data",
        data.to_str().unwrap(),
        "--analyze",
        "--cluster",
        "df://127.0.0.1:9",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot be used with"), "{}", stderr(&o));
}
