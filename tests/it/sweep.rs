//! `lakehunt sweep`: a library of hunt files over one dataset. Each query's
//! findings must equal the same query run alone (`esql`, `run`), and every
//! query must be in the summary with what became of it.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::common::{AS_OF, lakehunt, ok, sample_in};

/// A small library in Elastic's layout: the seed hunt's ES|QL, an EQL hunt,
/// a file of four queries (a field the sample lacks, one that runs, one
/// lakehunt cannot run yet, one needing an ENRICH policy), a broken hunt
/// file and a TOML file that is no hunt.
fn library(dir: &Path) {
    let windows = dir.join("windows/queries");
    let linux = dir.join("linux/queries");
    std::fs::create_dir_all(&windows).unwrap();
    std::fs::create_dir_all(&linux).unwrap();
    let shipped = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("data/hunts/egress-bytes.toml"),
    )
    .unwrap();
    let hunt = &shipped[shipped.find("\n[hunt]\n").unwrap()..shipped.find("\n[lakehunt]").unwrap()];
    std::fs::write(windows.join("egress.toml"), hunt).unwrap();
    std::fs::write(
        windows.join("eql.toml"),
        "[hunt]\nname = \"EQL\"\nuuid = \"u-eql\"\nquery = [\"process where true\"]\n",
    )
    .unwrap();
    std::fs::write(
        linux.join("four.toml"),
        r#"[hunt]
name = "Four queries"
uuid = "u-four"
mitre = ["T1059"]
query = [
  'FROM logs-* | WHERE file.hash.sha256 == "x" | STATS n = COUNT(*) BY host.name',
  'FROM logs-* | WHERE @timestamp > NOW() - 1 hour | STATS n = COUNT(*) BY host.name | SORT n DESC, host.name | LIMIT 3',
  'FROM logs-* | LOOKUP JOIN hosts ON host.name',
  'FROM logs-* | ENRICH hosts ON host.name | LIMIT 1',
]
"#,
    )
    .unwrap();
    std::fs::write(linux.join("broken.toml"), "[hunt]\nname = \n").unwrap();
    std::fs::write(dir.join("settings.toml"), "title = \"not a hunt\"\n").unwrap();
}

/// Each of `queries` as hunt file `qN.toml` in `dir`.
fn write_library(dir: &Path, queries: &[impl AsRef<str>]) {
    std::fs::create_dir_all(dir).unwrap();
    for (i, q) in queries.iter().enumerate() {
        let q = q.as_ref();
        std::fs::write(
            dir.join(format!("q{i}.toml")),
            format!("[hunt]\nname = \"q{i}\"\nuuid = \"u{i}\"\nquery = ['''\n{q}\n''']\n"),
        )
        .unwrap();
    }
}

/// The rows of a findings file as CSV lines, header first, the rest sorted.
fn rows(file: &str) -> String {
    let csv = ok(&lakehunt(&[
        "sql",
        "SELECT * FROM events",
        "--format",
        "csv",
        "--data",
        file,
    ]));
    let mut lines: Vec<&str> = csv.lines().collect();
    lines[1..].sort_unstable();
    lines.join("\n")
}

/// The summary has every query of [`library`] and the shipped hunt, with
/// what became of each.
fn check_summary(out: &Path) {
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["as_of"], AS_OF);
    let got: Vec<(String, u64, String, String)> = summary["hunts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["file"].as_str().unwrap().to_owned(),
                h["query_index"].as_u64().unwrap(),
                h["status"].as_str().unwrap().to_owned(),
                h["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expect = |file: &str, i: u64, status: &str, reason: &str| {
        let found = got.iter().find(|g| g.0 == file && g.1 == i);
        let found = found.unwrap_or_else(|| panic!("{file} {i} not in {got:?}"));
        assert_eq!(found.2, status, "{found:?}");
        assert!(found.3.contains(reason), "{found:?}");
    };
    assert_eq!(got.len(), 8, "{got:?}");
    expect("lakehunt:egress-bytes", 1, "ran", "");
    expect("windows/queries/egress.toml", 1, "ran", "");
    expect("windows/queries/eql.toml", 1, "skipped", "EQL");
    expect(
        "linux/queries/four.toml",
        1,
        "skipped",
        "no field file.hash.sha256",
    );
    expect("linux/queries/four.toml", 2, "ran", "");
    expect(
        "linux/queries/four.toml",
        3,
        "skipped",
        "lookup index hosts is not given (--index hosts=PATH",
    );
    expect(
        "linux/queries/four.toml",
        4,
        "skipped",
        "enrich policy hosts",
    );
    expect("linux/queries/broken.toml", 1, "failed", "line 2");
}

#[test]
fn a_library_sweep_accounts_for_every_query_and_finds_what_each_finds_alone() {
    let dir = tempfile::tempdir().unwrap();
    let sample = sample_in(dir.path(), 20_000);
    let lib = dir.path().join("hunting");
    library(&lib);
    let out = dir.path().join("sweep");
    let (sample, out_dir) = (sample.to_str().unwrap(), out.to_str().unwrap());
    let done = lakehunt(&[
        "sweep",
        "--library",
        lib.to_str().unwrap(),
        "--hunts",
        "all",
        "--data",
        sample,
        "--as-of",
        AS_OF,
        "--out",
        out_dir,
    ]);
    ok(&done);
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(stderr.contains("8 queries: 3 ran"), "{stderr}");

    check_summary(&out);

    // Each query's findings are what it finds run alone.
    let alone = dir.path().join("alone.parquet");
    let alone = alone.to_str().unwrap();
    ok(&lakehunt(&[
        "run",
        "egress-bytes",
        "--as-of",
        AS_OF,
        "--data",
        sample,
        "--out",
        alone,
    ]));
    let shipped = rows(
        out.join("lakehunt/egress-bytes__1.parquet")
            .to_str()
            .unwrap(),
    );
    assert!(
        shipped.lines().count() > 1,
        "the seed hunt finds the planted groups"
    );
    assert_eq!(shipped, rows(alone));
    ok(&lakehunt(&[
        "esql",
        "--hunt",
        lib.join("windows/queries/egress.toml").to_str().unwrap(),
        "--as-of",
        AS_OF,
        "--data",
        sample,
        "--out",
        alone,
    ]));
    assert_eq!(
        rows(out.join("windows/egress__1.parquet").to_str().unwrap()),
        rows(alone)
    );
    let query = "FROM logs-* | WHERE @timestamp > NOW() - 1 hour | STATS n = COUNT(*) BY host.name | SORT n DESC, host.name | LIMIT 3";
    ok(&lakehunt(&[
        "esql", query, "--as-of", AS_OF, "--data", sample, "--out", alone,
    ]));
    let three = rows(out.join("linux/four__2.parquet").to_str().unwrap());
    assert_eq!(three.lines().count(), 4, "{three}");
    assert_eq!(three, rows(alone));
}

#[test]
fn a_sweep_needs_hunts_and_data() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    let no_hunts = lakehunt(&["sweep", "--data", "x", "--out", out.to_str().unwrap()]);
    assert_eq!(no_hunts.status.code(), Some(2));
    let missing = dir.path().join("nowhere");
    let no_library = lakehunt(&[
        "sweep",
        "--library",
        missing.to_str().unwrap(),
        "--data",
        "x",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(no_library.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_library.stderr).contains("nowhere"));
    assert!(!out.exists());
}

/// The browser to render reports with: `LAKEHUNT_TEST_CHROMIUM` (`.ci/run`
/// installs Debian's chromium and sets it, so there the test cannot skip),
/// else `chromium` on the PATH, else `None` after saying so.
fn chromium(test: &str) -> Option<String> {
    if let Ok(path) = std::env::var("LAKEHUNT_TEST_CHROMIUM") {
        return Some(path);
    }
    let found = Command::new("chromium").arg("--version").output().is_ok();
    if !found {
        eprintln!("{test}: browser checks skipped, no chromium (.ci/run installs it)");
    }
    found.then(|| "chromium".to_owned())
}

#[test]
fn the_report_stays_readable_with_ten_thousand_findings_in_a_browser() {
    let dir = tempfile::tempdir().unwrap();
    let sample = sample_in(dir.path(), 20_000);
    let lib = dir.path().join("hunting/windows/queries");
    std::fs::create_dir_all(&lib).unwrap();
    std::fs::write(
        lib.join("many.toml"),
        "[hunt]\nname = \"<script>alert('many')</script> & more\"\nuuid = \"u-many\"\n\
         mitre = [\"T1041\"]\ndescription = \"Every event, <b>not bold</b>.\"\n\
         query = ['FROM logs-* | KEEP @timestamp, host.name, destination.ip | SORT @timestamp | LIMIT 10000']\n",
    )
    .unwrap();
    let out = dir.path().join("sweep");
    ok(&lakehunt(&[
        "sweep",
        "--quiet",
        "--library",
        dir.path().join("hunting").to_str().unwrap(),
        "--hunts",
        "egress-bytes",
        "--data",
        sample.to_str().unwrap(),
        "--as-of",
        AS_OF,
        "--out",
        out.to_str().unwrap(),
    ]));
    let report = out.join("report.html");
    let html = std::fs::read_to_string(&report).unwrap();
    // Bounded: 200 rows of the 10,000, counts in bins for the timeline.
    assert!(html.len() < 400_000, "{} bytes", html.len());
    assert!(html.contains("The first 200 of 10000 rows"));
    assert!(
        html.contains("<svg"),
        "a timeline: the findings have @timestamp"
    );
    // Hostile text stays text.
    assert!(!html.contains("<script>"));
    assert!(!html.contains("<b>not bold"));
    assert!(html.contains("&lt;script&gt;alert(&#39;many&#39;)&lt;/script&gt; &amp; more"));
    // Nothing fetched: every URL is an SVG's namespace, nothing has a source.
    assert_eq!(
        html.matches("http").count(),
        html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count(),
        "no network: only the SVG namespace"
    );
    assert!(!html.contains(" src=") && !html.contains(" href="));

    let Some(browser) =
        chromium("the_report_stays_readable_with_ten_thousand_findings_in_a_browser")
    else {
        return;
    };
    in_browser(&report, &browser);
}

/// `report` parsed by `browser` as one document with every row, and a
/// screenshot of it kept under target/ for a person to look at.
fn in_browser(report: &Path, browser: &str) {
    let url = format!("file://{}", report.display());
    let dom = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--dump-dom",
            &url,
        ])
        .output()
        .unwrap();
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let dom = String::from_utf8_lossy(&dom.stdout);
    // The browser read the page as one document with every table row.
    assert_eq!(dom.matches("<script").count(), 0);
    assert!(dom.matches("<tr>").count() >= 200 + 8 + 2, "rows rendered");
    assert!(dom.contains("Egress Network Connections"));
    // A screenshot a person can look at, kept under target/.
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screens");
    std::fs::create_dir_all(&shots).unwrap();
    let shot = shots.join("sweep-report.png");
    let _ = std::fs::remove_file(&shot);
    let taken = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1280,2400",
        ])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        taken.status.success(),
        "{}",
        String::from_utf8_lossy(&taken.stderr)
    );
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "{} bytes",
        png.len()
    );
    println!("screenshot of the report: {}", shot.display());
}

/// `summary.json` without the seconds (which differ run to run).
fn settled(out: &Path) -> Value {
    let mut summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    for hunt in summary["hunts"].as_array_mut().unwrap() {
        hunt["seconds"] = Value::Null;
        for window in hunt["windows"].as_array_mut().into_iter().flatten() {
            window["seconds"] = Value::Null;
        }
    }
    summary
}

#[test]
fn a_sweep_over_windows_killed_midway_is_finished_by_resume() {
    let dir = tempfile::tempdir().unwrap();
    let sample = sample_in(dir.path(), 20_000);
    let lib = dir.path().join("hunting");
    library(&lib);
    let sweep = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            "sweep",
            "--quiet",
            "--library",
            lib.to_str().unwrap(),
            "--hunts",
            "all",
            "--data",
            sample.to_str().unwrap(),
            "--from",
            "2026-01-14T12:00:00Z",
            "--to",
            AS_OF,
            "--every",
            "8h",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        lakehunt(&args)
    };
    let whole = dir.path().join("whole");
    ok(&sweep(&whole, &[]));
    let summary = settled(&whole);
    assert_eq!(summary["windows"].as_array().unwrap().len(), 3);
    let egress = summary["hunts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["file"] == "windows/queries/egress.toml")
        .unwrap();
    assert_eq!(egress["windows"].as_array().unwrap().len(), 3);
    assert_eq!(egress["output"], "windows/egress__1");

    // As if killed during the seed hunt's third window: the summary has the
    // queries before it and two of its windows; its third file is missing.
    let cut = dir.path().join("cut");
    ok(&sweep(&cut, &[]));
    let mut partial: Value =
        serde_json::from_str(&std::fs::read_to_string(cut.join("summary.json")).unwrap()).unwrap();
    let hunts = partial["hunts"].as_array_mut().unwrap();
    let at = hunts
        .iter()
        .position(|h| h["file"] == "windows/queries/egress.toml")
        .unwrap();
    hunts.truncate(at + 1);
    let last = hunts[at]["windows"].as_array_mut().unwrap().pop().unwrap();
    std::fs::remove_file(cut.join(last["output"].as_str().unwrap())).unwrap();
    std::fs::write(cut.join("summary.json"), partial.to_string()).unwrap();

    // Without --resume: refused. With other windows: refused.
    let again = sweep(&cut, &[]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--resume"));
    let other = lakehunt(&[
        "sweep",
        "--library",
        lib.to_str().unwrap(),
        "--data",
        sample.to_str().unwrap(),
        "--as-of",
        AS_OF,
        "--resume",
        "--out",
        cut.to_str().unwrap(),
    ]);
    assert_eq!(other.status.code(), Some(2));

    ok(&sweep(&cut, &["--resume"]));
    assert_eq!(settled(&cut), summary);
    for window in egress["windows"].as_array().unwrap() {
        let file = window["output"].as_str().unwrap();
        assert_eq!(
            rows(cut.join(file).to_str().unwrap()),
            rows(whole.join(file).to_str().unwrap()),
            "{file}"
        );
    }
}

/// Queries of every shape a shared scan must serve as each query's own scan
/// would: windows of several lengths and ends, none at all, a LIMIT the scan
/// itself applies, the data joined with itself (INLINE STATS), and the
/// shipped hunt with its tapped data checks.
#[test]
fn queries_sharing_one_scan_find_what_each_finds_with_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    ok(&lakehunt(&[
        "sample",
        "--rows",
        "30000",
        "--rows-per-file",
        "7000",
        "--as-of",
        AS_OF,
        "--out",
        data.to_str().unwrap(),
    ]));
    let queries = [
        "FROM logs-* | WHERE @timestamp > NOW() - 4 hours | STATS n = COUNT(*), b = SUM(source.bytes) BY host.name | SORT host.name",
        "FROM logs-* | STATS n = COUNT(*) BY event.action | SORT event.action",
        "FROM logs-* | WHERE @timestamp <= NOW() - 2 hours AND @timestamp > NOW() - 3 hours | STATS n = COUNT(*) BY destination.port | SORT n DESC, destination.port | LIMIT 5",
        "FROM logs-* | WHERE @timestamp > NOW() - 30 minutes | LIMIT 50 | STATS n = COUNT(*)",
        "FROM logs-* | WHERE @timestamp > NOW() - 1 hour | INLINE STATS m = MAX(source.bytes) BY host.name | WHERE source.bytes == m | KEEP host.name, m | SORT host.name",
        "FROM logs-* | WHERE @timestamp > NOW() - 12 hours | STATS peers = COUNT_DISTINCT(destination.ip) BY process.entity_id | SORT peers DESC, process.entity_id | LIMIT 10",
        "FROM logs-* | WHERE @timestamp >= NOW() - 20 hours AND @timestamp < NOW() + 1 hour | STATS b = MAX(source.bytes) BY network.transport | SORT network.transport",
    ];
    let lib = dir.path().join("hunting/network/queries");
    write_library(&lib, &queries);
    let sweep = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            "sweep",
            "--library",
            lib.parent().unwrap().parent().unwrap().to_str().unwrap(),
            "--hunts",
            "egress-bytes",
            "--data",
            data.to_str().unwrap(),
            "--as-of",
            AS_OF,
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(extra);
        let done = lakehunt(&args);
        ok(&done);
        String::from_utf8_lossy(&done.stderr).into_owned()
    };
    let (shared, own) = (dir.path().join("shared"), dir.path().join("own"));
    let said = sweep(&shared, &[]);
    // Every query but the one that joins the data with itself shares the scan.
    assert!(
        said.contains("7 query runs read the data through shared scans (1 in all"),
        "{said}"
    );
    let alone = sweep(&own, &["--no-shared-scan"]);
    assert!(!alone.contains("shared scans"), "{alone}");
    let mut files = vec!["lakehunt/egress-bytes__1.parquet".to_owned()];
    files.extend((0..queries.len()).map(|i| format!("network/q{i}__1.parquet")));
    for file in &files {
        let (a, b) = (shared.join(file), own.join(file));
        let mine = rows(a.to_str().unwrap());
        assert!(mine.lines().count() > 1, "{file} has findings: {mine}");
        assert_eq!(mine, rows(b.to_str().unwrap()), "{file}");
    }
    // The LIMIT the scan applies still gives 50 rows to count.
    let limited = rows(shared.join("network/q3__1.parquet").to_str().unwrap());
    assert_eq!(limited.lines().nth(1), Some("50"), "{limited}");
    // The shipped hunt's tapped checks count the same in both.
    let summary = |out: &Path| -> Value {
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
    };
    let warnings = |s: &Value| s["hunts"][0]["warnings"].clone();
    assert!(
        !warnings(&summary(&shared)).as_array().unwrap().is_empty(),
        "the sample has data-quality warnings"
    );
    assert_eq!(warnings(&summary(&shared)), warnings(&summary(&own)));

    same_under_a_small_cap(dir.path(), &sweep);
}

/// With `--index` patterns, queries share a scan per set of files their
/// patterns read: each dataset is read for its own queries only, and a query
/// over two patterns gets both datasets, as its own scan would. Files of one
/// schema are one table, so two patterns over network files of the same
/// schema are two scans of one table.
#[test]
fn queries_over_indexes_share_one_scan_per_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let data = endpoint_sample(dir.path());
    let network = "FROM logs-endpoint.events.network-*";
    let process = "FROM logs-endpoint.events.process-*";
    let queries = [
        format!("{network} | STATS n = COUNT(*) BY event.action | SORT event.action"),
        format!(
            "{network} | WHERE @timestamp > NOW() - 20 hours AND @timestamp <= NOW() - 14 hours | STATS b = SUM(source.bytes) BY host.name | SORT host.name"
        ),
        "FROM logs-other-* | STATS n = COUNT(*) BY host.name | SORT host.name".to_owned(),
        format!("{process} | STATS n = COUNT(*) BY event.action | SORT event.action"),
        format!(
            "{process} | STATS n = COUNT(*) BY process.executable | SORT n DESC, process.executable | LIMIT 5"
        ),
        "FROM logs-endpoint.events.network-*, logs-endpoint.events.process-* | STATS n = COUNT(*)"
            .to_owned(),
    ];
    let lib = dir.path().join("hunting/endpoint/queries");
    write_library(&lib, &queries);
    let first = format!("{}/part-0000[01].parquet", data.display());
    let indexes = [
        format!("logs-endpoint.events.network-*={first}"),
        format!("logs-other-*={}/part-0000[23].parquet", data.display()),
        format!(
            "logs-endpoint.events.process-*={}/processes-*.parquet",
            data.display()
        ),
    ];
    let sweep = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            "sweep",
            "--library",
            lib.parent().unwrap().parent().unwrap().to_str().unwrap(),
            "--as-of",
            AS_OF,
            "--out",
            out.to_str().unwrap(),
        ];
        for index in &indexes {
            args.extend(["--index", index.as_str()]);
        }
        args.extend(extra);
        let done = lakehunt(&args);
        ok(&done);
        String::from_utf8_lossy(&done.stderr).into_owned()
    };
    let (shared, own) = (dir.path().join("shared"), dir.path().join("own"));
    let said = sweep(&shared, &[]);
    // The network files' table: one scan of the first two files (q0, q1 and
    // q5), one of the other two (q2); the process file's table: one (q3, q4
    // and q5).
    assert!(
        said.contains("6 query runs read the data through shared scans (3 in all"),
        "{said}"
    );
    sweep(&own, &["--no-shared-scan"]);
    for i in 0..queries.len() {
        let file = format!("endpoint/q{i}__1.parquet");
        let mine = rows(shared.join(&file).to_str().unwrap());
        assert!(mine.lines().count() > 1, "{file} has findings: {mine}");
        assert_eq!(mine, rows(own.join(&file).to_str().unwrap()), "{file}");
    }
    // Counted apart from --index: the first pattern holds the first two
    // files' events, and the query over two patterns counts both.
    let total = |i: usize| -> i64 {
        rows(
            shared
                .join(format!("endpoint/q{i}__1.parquet"))
                .to_str()
                .unwrap(),
        )
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse::<i64>().unwrap())
        .sum()
    };
    let alone = ok(&lakehunt(&[
        "esql",
        "FROM logs-* | STATS n = COUNT(*)",
        "--data",
        &first,
        "--as-of",
        AS_OF,
        "--format",
        "csv",
    ]));
    assert_eq!(
        alone.lines().nth(1).unwrap().parse::<i64>().unwrap(),
        total(0),
        "{alone}"
    );
    assert!(total(3) > 0);
    assert_eq!(total(5), total(0) + total(3));
}

/// Filter tests that several queries have are evaluated once in their shared
/// scan, and each query finds what it finds with its own tests, with the same
/// warnings: shared tests beside tests that stay each query's own (a regular
/// expression, a list field, a conversion that warns), under NOT, in lists,
/// on lower case, NULL where a dataset lacks the field, in a window, in
/// queries over one dataset and over two; on two partitions and on one.
#[test]
fn queries_sharing_filter_tests_find_what_each_finds_with_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let data = endpoint_sample(dir.path());
    let queries = sharing_queries();
    let lib = dir.path().join("hunting/endpoint/queries");
    write_library(&lib, &queries);
    let indexes = [
        format!(
            "logs-endpoint.events.network-*={}/part-*.parquet",
            data.display()
        ),
        format!(
            "logs-endpoint.events.process-*={}/processes-*.parquet",
            data.display()
        ),
    ];
    let library = lib.parent().unwrap().parent().unwrap();
    let sweep = |out: &Path, env: Option<&str>, extra: &[&str]| {
        sweep_indexes(library, &indexes, out, env, extra)
    };
    for partitions in ["2", "1"] {
        let at = |name: &str| dir.path().join(format!("{name}-{partitions}"));
        let (shared, plain, own) = (at("shared"), at("plain"), at("own"));
        let said = sweep(&shared, None, &["--target-partitions", partitions]);
        // Each table, network and process events: `host.os.family` and the
        // `_index` tests of one pattern and of both; the network events'
        // `event.action` test, alone and under NOT, and the port list; the
        // process events' lower-case `LIKE` and `IS NOT NULL`. Not the tests
        // of one query, those of list fields (`event.type`), the regular
        // expression nor the conversion.
        assert!(
            said.contains(", 11 filter tests evaluated there once for the queries that share them"),
            "{said}"
        );
        let said = sweep(
            &plain,
            Some("LAKEHUNT_NO_SHARED_TESTS"),
            &["--target-partitions", partitions],
        );
        assert!(!said.contains("filter tests"), "{said}");
        sweep(
            &own,
            None,
            &["--no-shared-scan", "--target-partitions", partitions],
        );
        for i in 0..queries.len() {
            let file = format!("endpoint/q{i}__1.parquet");
            let mine = rows(shared.join(&file).to_str().unwrap());
            assert!(mine.lines().count() > 1, "{file} has findings: {mine}");
            assert_eq!(mine, rows(plain.join(&file).to_str().unwrap()), "{file}");
            assert_eq!(mine, rows(own.join(&file).to_str().unwrap()), "{file}");
        }
        let counted = warnings(&shared);
        // The conversion of addresses that are no numbers warns.
        assert!(
            counted["endpoint/queries/q3.toml"]
                .as_array()
                .is_some_and(|w| !w.is_empty()),
            "{counted:?}"
        );
        assert_eq!(counted, warnings(&plain));
        assert_eq!(counted, warnings(&own));
    }
}

/// The queries of `queries_sharing_filter_tests_find_what_each_finds_with_its_own`.
fn sharing_queries() -> Vec<String> {
    let network = "FROM logs-endpoint.events.network-*";
    let process = "FROM logs-endpoint.events.process-*";
    let both = "FROM logs-endpoint.events.network-*, logs-endpoint.events.process-*";
    let windows = r#"host.os.family == "windows""#;
    let disconnect = r#"event.action == "disconnect_received""#;
    let exe = r#"TO_LOWER(process.name) LIKE "*.exe""#;
    vec![
        format!(
            "{network} | WHERE {windows} AND {disconnect} | STATS b = SUM(source.bytes) BY host.name | SORT host.name"
        ),
        format!(
            "{network} | WHERE {windows} AND NOT {disconnect} | STATS n = COUNT(*) BY event.action | SORT event.action"
        ),
        format!(
            "{network} | WHERE @timestamp > NOW() - 6 hours AND NOT {disconnect} AND destination.port IN (443, 80) | STATS n = COUNT(*) BY destination.port | SORT destination.port"
        ),
        format!(
            "{network} | WHERE TO_INTEGER(destination.address) IS NULL AND {windows} AND destination.port IN (443, 80) | STATS n = COUNT(*)"
        ),
        format!(
            "{network} | WHERE {disconnect} | STATS n = COUNT(*) BY host.name | SORT n DESC, host.name | LIMIT 3"
        ),
        format!(
            "{process} | WHERE {windows} AND event.type == \"start\" AND {exe} | STATS n = COUNT(*) BY process.name | SORT n DESC, process.name | LIMIT 20"
        ),
        format!(
            "{process} | WHERE {windows} AND {exe} AND process.command_line RLIKE \".*-[a-z].*\" | STATS n = COUNT(*) | WHERE n > 0"
        ),
        format!(
            "{process} | WHERE {windows} AND process.parent.name IS NOT NULL | STATS n = COUNT(*) BY process.parent.name | WHERE n >= 2 | SORT process.parent.name"
        ),
        format!(
            "{process} | WHERE process.parent.name IS NOT NULL AND process.name != \"cmd.exe\" | STATS n = COUNT(*) BY host.name | SORT host.name"
        ),
        format!(
            "{both} | WHERE {windows} AND process.parent.name IS NULL | STATS n = COUNT(*) BY event.action | SORT event.action"
        ),
        format!("{both} | WHERE {windows} | STATS n = COUNT(*), hosts = COUNT_DISTINCT(host.name)"),
        format!(
            "{network} | WHERE {windows} | EVAL p = TO_INTEGER(destination.address) | WHERE {disconnect} AND p IS NULL | STATS n = COUNT(*)"
        ),
    ]
}

/// 20,000 sample network events with their processes, in `dir/data`, in
/// files of 5,000.
fn endpoint_sample(dir: &Path) -> std::path::PathBuf {
    let data = dir.join("data");
    ok(&lakehunt(&[
        "sample",
        "--rows",
        "20000",
        "--rows-per-file",
        "5000",
        "--as-of",
        AS_OF,
        "--processes",
        "--out",
        data.to_str().unwrap(),
    ]));
    data
}

/// `lakehunt sweep` of `library` over `indexes` (`PATTERN=PATH`) into `out`,
/// with `extra` flags and the `env` switch on: its stderr.
fn sweep_indexes(
    library: &Path,
    indexes: &[String],
    out: &Path,
    env: Option<&str>,
    extra: &[&str],
) -> String {
    let mut args = vec![
        "sweep",
        "--library",
        library.to_str().unwrap(),
        "--as-of",
        AS_OF,
        "--out",
        out.to_str().unwrap(),
    ];
    for index in indexes {
        args.extend(["--index", index.as_str()]);
    }
    args.extend(extra);
    let mut command = Command::new(env!("CARGO_BIN_EXE_lakehunt"));
    command.args(&args);
    if let Some(switch) = env {
        command.env(switch, "1");
    }
    let done = command.output().unwrap();
    ok(&done);
    String::from_utf8_lossy(&done.stderr).into_owned()
}

/// Each query's warnings in the summary of the sweep into `out`, by its file.
fn warnings(out: &Path) -> std::collections::BTreeMap<String, Value> {
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    summary["hunts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["file"].as_str().unwrap().to_owned(),
                h["warnings"].clone(),
            )
        })
        .collect()
}

/// A query of one `--index` pattern over a field only another dataset has
/// is skipped, naming the field: Elasticsearch refuses it as an unknown
/// column. Named beside that dataset's pattern, it runs.
#[test]
fn a_field_only_another_dataset_has_skips_the_query() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = dir.path().join("out");
    let (data_s, out_s) = (data.to_str().unwrap(), out.to_str().unwrap());
    ok(&lakehunt(&[
        "sample",
        "--rows",
        "2000",
        "--as-of",
        AS_OF,
        "--processes",
        "--out",
        data_s,
    ]));
    let lib = dir.path().join("hunting/endpoint/queries");
    let network = "logs-endpoint.events.network-*";
    let process = "logs-endpoint.events.process-*";
    let count = "| WHERE process.parent.entity_id IS NOT NULL | STATS n = COUNT(*)";
    write_library(
        &lib,
        &[
            format!("FROM {network} {count}"),
            format!("FROM {network}, {process} {count}"),
        ],
    );
    let (n, p) = (
        format!("{network}={data_s}/part-*.parquet"),
        format!("{process}={data_s}/processes-*.parquet"),
    );
    let library = lib.parent().unwrap().parent().unwrap().to_str().unwrap();
    ok(&lakehunt(&[
        "sweep",
        "--library",
        library,
        "--as-of",
        AS_OF,
        "--out",
        out_s,
        "--index",
        &n,
        "--index",
        &p,
    ]));
    let summary = settled(&out);
    let (q0, q1) = (&summary["hunts"][0], &summary["hunts"][1]);
    assert_eq!(q0["status"], "skipped", "{q0}");
    assert_eq!(
        q0["reason"], "the data has no field process.parent.entity_id",
        "{q0}"
    );
    assert_eq!(q1["status"], "ran", "{q1}");
    assert_eq!(q1["findings"], 1, "{q1}");
}

/// Under a cap too small for them all at once, the queries that meet it
/// beside the others run again alone: each then fails only where it fails
/// alone, and what runs finds the same.
fn same_under_a_small_cap(dir: &Path, sweep: &dyn Fn(&Path, &[&str]) -> String) {
    let summary = |out: &Path| -> Value {
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
    };
    let (shared, own) = (dir.join("shared-cap"), dir.join("own-cap"));
    // 8,192-row batches, as before a small cap made them smaller: in
    // 1,024-row batches the queries fit beside each other. One partition:
    // with two, how many batches are held at once depends on how the
    // threads are scheduled, and a query near the cap ran alone in one run
    // and failed in the next (1 run in 4 of the it tests on 2 busy cores).
    let capped = [
        "--memory-limit",
        "512KiB",
        "--batch-size",
        "8192",
        "--target-partitions",
        "1",
    ];
    let said = sweep(&shared, &capped);
    assert!(
        said.contains("met the memory cap beside the others and ran again alone"),
        "{said}"
    );
    sweep(&own, &[&capped[..], &["--no-shared-scan"]].concat());
    let statuses = |out: &Path| -> Vec<(String, String)> {
        summary(out)["hunts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h["file"].as_str().unwrap().to_owned(),
                    h["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let (with_cap, alone) = (statuses(&shared), statuses(&own));
    assert!(
        alone.iter().any(|(_, s)| s == "failed"),
        "the cap fails some query alone: {alone:?}"
    );
    for ((file, status), (_, status_alone)) in with_cap.iter().zip(&alone) {
        assert!(
            status == "ran" || status == status_alone,
            "{file}: {status} beside, {status_alone} alone"
        );
    }
    for (file, _) in alone.iter().filter(|(_, s)| s == "ran") {
        let output = summary(&own)["hunts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["file"] == file.as_str())
            .unwrap()["output"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            rows(shared.join(&output).to_str().unwrap()),
            rows(own.join(&output).to_str().unwrap()),
            "{file}"
        );
    }
}
