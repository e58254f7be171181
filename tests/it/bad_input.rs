//! Bad input, counted: files, flags, hunt files, ES|QL, SQL and parameters.
//!
//! Every case must exit 2 with exactly one line on stderr, `error: ...`,
//! naming its culprit (the file, the flag, the construct), never a panic,
//! and leave no output file (nor a temporary one) behind. The cases run in
//! one test and every failure is reported, not just the first.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{AS_OF, lakehunt, sample_in};

/// One bad input: the command line, and what its error line must contain.
struct Case {
    name: String,
    args: Vec<String>,
    needles: Vec<String>,
    /// Run as the `nobody` user (`setpriv`), where permissions must hold
    /// for a test run as root.
    as_nobody: bool,
}

struct Cases {
    list: Vec<Case>,
    /// Where each case's `--out` would go: must stay empty.
    out_dir: PathBuf,
    /// Folders the cases read, kept until they have run.
    keep: Vec<tempfile::TempDir>,
}

impl Cases {
    fn add(&mut self, name: &str, args: &[&str], needles: &[&str]) {
        self.list.push(Case {
            name: name.to_owned(),
            args: args.iter().map(|&a| a.to_owned()).collect(),
            needles: needles.iter().map(|&n| n.to_owned()).collect(),
            as_nobody: false,
        });
    }

    /// `run egress-bytes` over `data`, writing to the output folder.
    fn run_over(&mut self, name: &str, data: &Path, needles: &[&str]) {
        let out = self.out_dir.join(format!("{name}.parquet"));
        let args = [
            "run",
            "egress-bytes",
            "-q",
            "--data",
            data.to_str().unwrap(),
            "--as-of",
            AS_OF,
            "--out",
            out.to_str().unwrap(),
        ];
        self.add(name, &args, needles);
    }
}

/// A file written next to the others, with `bytes` in it.
fn file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn footer_length(parquet: &[u8]) -> usize {
    let n = parquet.len();
    u32::from_le_bytes(parquet[n - 8..n - 4].try_into().unwrap()) as usize
}

/// Pages and page indexes scrambled inside: the reader's error names no
/// file by itself.
fn page_cases(cases: &mut Cases, bad: &Path, good: &[u8]) {
    // Column chunks the hunt reads (their pages are zstd-compressed).
    let metadata = parquet::file::metadata::ParquetMetaDataReader::new()
        .parse_and_finish(&bytes::Bytes::from(good.to_vec()))
        .unwrap();
    let scramble = |name: &str, start: usize, len: usize| {
        let mut scrambled = good.to_vec();
        let mut state = 0x2545_f491_u32;
        for byte in &mut scrambled[start..start + len] {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            *byte = state.to_le_bytes()[0];
        }
        file(bad, name, &scrambled)
    };
    let to_usize = |n: i64| usize::try_from(n).unwrap();
    for column in ["destination.ip", "source.bytes", "process.entity_id"] {
        let chunk = metadata
            .row_group(0)
            .columns()
            .iter()
            .find(|c| c.column_path().string() == column);
        let chunk = chunk.unwrap_or_else(|| panic!("the sample has {column}"));
        let start = to_usize(
            chunk
                .dictionary_page_offset()
                .unwrap_or(chunk.data_page_offset()),
        );
        let middle = start + to_usize(chunk.compressed_size()) / 2;
        let name = format!("scrambled-{column}.parquet");
        let path = scramble(&name, middle - 16, 32);
        cases.run_over(
            &format!("a page of {column} scrambled"),
            &path,
            &[&name, "cannot read Parquet file"],
        );
        if column == "source.bytes" {
            // Its page index, which the scan reads to prune pages.
            let at = to_usize(chunk.column_index_offset().unwrap());
            let len = to_usize(i64::from(chunk.column_index_length().unwrap()));
            let name = "scrambled-page-index.parquet";
            let path = scramble(name, at, len.min(32));
            cases.run_over(
                "a page index scrambled",
                &path,
                &[name, "cannot read Parquet file"],
            );
        }
    }
}

/// Parquet files broken in every way a copy, a crash or a hand can break one.
fn file_cases(cases: &mut Cases, dir: &Path, good: &[u8]) {
    let bad = dir.join("bad");
    std::fs::create_dir(&bad).unwrap();
    let n = good.len();
    let meta = footer_length(good);
    let footer = n - 8 - meta;
    let with_tail = |name: &str, tail: &[u8]| {
        let mut bytes = good[..n - tail.len()].to_vec();
        bytes.extend_from_slice(tail);
        file(&bad, name, &bytes)
    };
    let tail_magic = with_tail("tail-magic.parquet", b"XXXX");
    let encrypted = with_tail("encrypted.parquet", b"PARE");
    let mut huge = 0x7fff_ffff_u32.to_le_bytes().to_vec();
    huge.extend_from_slice(b"PAR1");
    let huge_footer = with_tail("huge-footer.parquet", &huge);
    let mut one = 1_u32.to_le_bytes().to_vec();
    one.extend_from_slice(b"PAR1");
    let one_byte_footer = with_tail("one-byte-footer.parquet", &one);
    for (name, path, needle) in [
        ("tail magic XXXX", tail_magic, "Corrupt footer"),
        ("encrypted footer magic PARE", encrypted, "encrypted"),
        ("footer length past the file", huge_footer, "footer says"),
        (
            "footer length 1",
            one_byte_footer,
            "one-byte-footer.parquet",
        ),
    ] {
        let file_name = path.file_name().unwrap().to_str().unwrap().to_owned();
        cases.run_over(name, &path, &[&file_name, needle]);
    }

    let mut garbage = good.to_vec();
    garbage[footer..n - 8].fill(0xff);
    let mut zeros = good.to_vec();
    zeros[footer..n - 8].fill(0);
    let mut empty_footer = b"PAR1".to_vec();
    empty_footer.extend_from_slice(&0_u32.to_le_bytes());
    empty_footer.extend_from_slice(b"PAR1");
    let plain: [(&str, &[u8]); 7] = [
        ("zero-bytes.parquet", b""),
        ("magic-only.parquet", b"PAR1"),
        ("two-magics.parquet", b"PAR1PAR1"),
        ("empty-footer.parquet", &empty_footer),
        ("text.parquet", b"this is not parquet"),
        ("footer-ff.parquet", &garbage),
        ("footer-zeros.parquet", &zeros),
    ];
    for (name, bytes) in plain {
        let path = file(&bad, name, bytes);
        cases.run_over(name, &path, &[name, "cannot read Parquet file"]);
    }

    // Truncated: inside the magic, the length, the footer, the data.
    for cut in [
        1,
        4,
        7,
        8,
        9,
        12,
        100,
        n / 4,
        n / 2,
        footer,
        footer + meta / 2,
        n - 9,
        n - 8,
        n - 5,
        n - 4,
        n - 1,
    ] {
        let name = format!("cut-at-{cut}.parquet");
        let path = file(&bad, &name, &good[..cut]);
        cases.run_over(&format!("truncated at {cut} of {n} bytes"), &path, &[&name]);
    }

    page_cases(cases, &bad, good);

    // Not files, or not reachable.
    let folder = dir.join("folder.parquet");
    std::fs::create_dir(&folder).unwrap();
    cases.run_over(
        "a folder named x.parquet",
        &folder,
        &["folder.parquet", "no Parquet files"],
    );
    let missing = dir.join("missing.parquet");
    cases.run_over(
        "a file that does not exist",
        &missing,
        &["missing.parquet", "no such file"],
    );
    let empty = dir.join("empty-folder");
    std::fs::create_dir(&empty).unwrap();
    cases.run_over(
        "an empty folder",
        &empty,
        &["empty-folder", "no Parquet files"],
    );
    let glob = dir.join("empty-folder/*.parquet");
    cases.run_over("a glob that matches nothing", &glob, &["no Parquet files"]);
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::fs::PermissionsExt;

        let fifo = dir.join("fifo.parquet");
        let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success(), "mkfifo");
        cases.run_over(
            "a FIFO named x.parquet",
            &fifo,
            &["fifo.parquet: not a regular file"],
        );
        let a = dir.join("loop-a.parquet");
        let b = dir.join("loop-b.parquet");
        std::os::unix::fs::symlink(&b, &a).unwrap();
        std::os::unix::fs::symlink(&a, &b).unwrap();
        cases.run_over("a symlink loop", &a, &["loop-a.parquet", "symbolic link"]);
        let dangling = dir.join("dangling.parquet");
        std::os::unix::fs::symlink(dir.join("nowhere.parquet"), &dangling).unwrap();
        cases.run_over(
            "a dangling symlink",
            &dangling,
            &["dangling.parquet", "does not exist"],
        );

        let odd = dir.join("odd-name");
        std::fs::create_dir(&odd).unwrap();
        let name = std::ffi::OsStr::from_bytes(b"\xff\xfe.parquet");
        std::fs::write(odd.join(name), good).unwrap();
        cases.run_over(
            "a file name that is not UTF-8",
            &odd,
            &["odd-name/", "non-unicode"],
        );

        // In a folder of /tmp that anyone may enter and write (not one
        // below TMPDIR, which may be private): root (CI containers, this
        // project's machines) reads any file, so there the case runs as
        // `nobody`.
        let open = tempfile::Builder::new()
            .prefix("lakehunt-locked")
            .tempdir_in("/tmp")
            .unwrap();
        std::fs::set_permissions(open.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let locked = file(open.path(), "locked.parquet", good);
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
        let out = open.path().join("out.parquet");
        cases.add(
            "a file without read permission",
            &[
                "run",
                "egress-bytes",
                "-q",
                "--data",
                locked.to_str().unwrap(),
                "--as-of",
                AS_OF,
                "--out",
                out.to_str().unwrap(),
            ],
            &["locked.parquet", "ermission denied"],
        );
        if std::fs::File::open(&locked).is_ok() {
            cases.list.last_mut().unwrap().as_nobody = true;
        }
        cases.keep.push(open);
    }
}

/// Flags and parameters with bad values: each names the flag or parameter.
#[expect(
    clippy::too_many_lines,
    reason = "a table of cases, one per line before formatting"
)]
fn flag_cases(cases: &mut Cases, data: &str) {
    let out = cases.out_dir.join("flags.parquet");
    let out = out.to_str().unwrap().to_owned();
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "egress-bytes", "-q", "--data", data];
        args.extend_from_slice(extra);
        args.iter().map(|&a| a.to_owned()).collect::<Vec<_>>()
    };
    let list: Vec<(&str, Vec<String>, &[&str])> = vec![
        (
            "threshold unit",
            run(&["--threshold", "1XB"]),
            &["threshold", "1XB"],
        ),
        (
            "threshold negative",
            run(&["--threshold=-5"]),
            &["threshold", "-5"],
        ),
        ("window unit", run(&["--window", "8x"]), &["--window", "8x"]),
        ("window zero", run(&["--window", "0h"]), &["window"]),
        (
            "as-of words",
            run(&["--as-of", "yesterday"]),
            &["--as-of", "yesterday"],
        ),
        (
            "as-of without a zone",
            run(&["--as-of", "2026-01-15T12:00:00"]),
            &["--as-of"],
        ),
        (
            "unknown parameter",
            run(&["--param", "nope=1"]),
            &["'nope'", "no such parameter", "threshold"],
        ),
        (
            "parameter without =",
            run(&["--param", "threshold"]),
            &["--param", "threshold"],
        ),
        (
            "parameter bad value",
            run(&["--param", "threshold=soon"]),
            &["threshold", "soon"],
        ),
        (
            "public-only value",
            run(&["--public-only", "maybe"]),
            &["public_only", "maybe"],
        ),
        (
            "output extension",
            run(&["--out", "x.xyz"]),
            &["x.xyz", "--format"],
        ),
        (
            "format without out",
            run(&["--format", "parquet"]),
            &["--out"],
        ),
        (
            "format value",
            run(&["--format", "xml"]),
            &["--format", "xml"],
        ),
        (
            "memory limit unit",
            run(&["--memory-limit", "12QB"]),
            &["memory-limit", "12QB"],
        ),
        (
            "target partitions zero",
            run(&["--target-partitions", "0"]),
            &["--target-partitions"],
        ),
        (
            "batch size zero",
            run(&["--batch-size", "0"]),
            &["--batch-size"],
        ),
        (
            "tmp dir missing",
            run(&["--tmp-dir", "/nonexistent/spill"]),
            &["--tmp-dir", "/nonexistent/spill"],
        ),
        (
            "schema value",
            run(&["--schema", "cef"]),
            &["--schema", "cef"],
        ),
        ("unknown flag", run(&["--frobnicate"]), &["--frobnicate"]),
        (
            "output folder missing",
            run(&["--out", "/nonexistent/dir/f.parquet"]),
            &["/nonexistent/dir"],
        ),
        (
            "unknown hunt",
            vec!["run".into(), "no-such-hunt".into(), "--sample".into()],
            &["no-such-hunt"],
        ),
        ("hunt missing", vec!["run".into()], &["<HUNT>"]),
        ("unknown command", vec!["frob".into()], &["frob"]),
        (
            "backfill from after to",
            [
                "backfill",
                "egress-bytes",
                "-q",
                "--data",
                data,
                "--from",
                "2026-01-16T00:00:00Z",
                "--to",
                "2026-01-15T00:00:00Z",
                "--out",
                &out,
            ]
            .map(String::from)
            .to_vec(),
            &["--from", "--to"],
        ),
        (
            "backfill every zero",
            [
                "backfill",
                "egress-bytes",
                "-q",
                "--data",
                data,
                "--from",
                "2026-01-14T00:00:00Z",
                "--to",
                "2026-01-15T00:00:00Z",
                "--every",
                "0s",
                "--out",
                &out,
            ]
            .map(String::from)
            .to_vec(),
            &["--every"],
        ),
        (
            "sample rows",
            ["sample", "--rows", "many", "--out", &out]
                .map(String::from)
                .to_vec(),
            &["--rows", "many"],
        ),
    ];
    for (name, args, needles) in list {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        cases.add(&format!("flag: {name}"), &args, needles);
    }
}

/// Queries: ES|QL and SQL that cannot run, each naming what is wrong.
#[expect(
    clippy::too_many_lines,
    reason = "a table of cases, one per line before formatting"
)]
fn query_cases(cases: &mut Cases, data: &str) {
    let out = cases.out_dir.join("query.csv");
    let out = out.to_str().unwrap().to_owned();
    let deep_parens = format!(
        "FROM logs-* | WHERE {}true{}",
        "(".repeat(20_000),
        ")".repeat(20_000)
    );
    let deep_nots = format!("FROM logs-* | WHERE {}true", "NOT ".repeat(20_000));
    let long_or = format!(
        "FROM logs-* | WHERE {}",
        (0..60_000)
            .map(|i| format!("source.port == {i}"))
            .collect::<Vec<_>>()
            .join(" OR ")
    );
    let esql: Vec<(&str, String, &[&str])> = vec![
        ("empty", String::new(), &["1:1", "expected a command"]),
        (
            "no source command",
            "WHERE true".into(),
            &["1:1", "starts with FROM"],
        ),
        (
            "unknown command",
            "FROM logs-* | FROBNICATE x".into(),
            &["FROBNICATE"],
        ),
        ("dangling pipe", "FROM logs-* |".into(), &["1:14"]),
        (
            "unterminated string",
            "FROM logs-* | WHERE host.name == \"abc".into(),
            &["1:34", "unterminated string"],
        ),
        (
            "unknown function",
            "FROM logs-* | EVAL y = NO_SUCH_FN(1)".into(),
            &["NO_SUCH_FN"],
        ),
        (
            "unknown field",
            "FROM logs-* | KEEP no.such.field".into(),
            &["no.such.field"],
        ),
        (
            "wrong argument count",
            "FROM logs-* | EVAL y = CIDR_MATCH(destination.ip)".into(),
            &["CIDR_MATCH"],
        ),
        (
            "LOOKUP JOIN without its --index",
            "FROM logs-* | LOOKUP JOIN hosts ON host.name".into(),
            &["1:27", "lookup index hosts is not given"],
        ),
        ("20,000 parentheses", deep_parens, &["nest"]),
        ("20,000 NOTs", deep_nots, &["nest"]),
        ("60,000 ORs", long_or, &["OR"]),
    ];
    for (i, (name, query, needles)) in esql.into_iter().enumerate() {
        // Long queries through --file: one argument holds at most 128 KiB.
        let query_file = cases.out_dir.with_file_name(format!("query-{i}.esql"));
        std::fs::write(&query_file, &query).unwrap();
        cases.add(
            &format!("esql: {name}"),
            &[
                "esql",
                "--file",
                query_file.to_str().unwrap(),
                "--data",
                data,
                "--as-of",
                AS_OF,
                "--out",
                &out,
            ],
            needles,
        );
    }
    let sql: Vec<(&str, &str, &[&str])> = vec![
        (
            "COPY",
            "COPY (SELECT 1) TO '/tmp/x.csv'",
            &["COPY", "read-only"],
        ),
        ("CREATE TABLE", "CREATE TABLE t AS SELECT 1", &["read-only"]),
        (
            "SET",
            "SET datafusion.execution.batch_size = 1",
            &["read-only"],
        ),
        (
            "INSERT",
            "INSERT INTO events SELECT * FROM events",
            &["read-only"],
        ),
        ("syntax", "SELEC 1", &["SELEC"]),
        (
            "unknown column",
            "SELECT \"no.such\" FROM events",
            &["no.such"],
        ),
        (
            "unknown table",
            "SELECT * FROM nosuchtable",
            &["nosuchtable"],
        ),
        ("unknown function", "SELECT no_such_fn(1)", &["no_such_fn"]),
    ];
    for (name, query, needles) in sql {
        cases.add(
            &format!("sql: {name}"),
            &["sql", query, "--data", data, "--out", &out],
            needles,
        );
    }
}

/// Hunt files (Elastic's library TOML) that cannot be used.
fn hunt_file_cases(cases: &mut Cases, dir: &Path, data: &str) {
    let hunts = dir.join("hunt-files");
    std::fs::create_dir(&hunts).unwrap();
    let out = cases.out_dir.join("hunt.csv");
    let out = out.to_str().unwrap().to_owned();
    let files: [(&str, &[u8], &[&str]); 8] = [
        (
            "syntax.toml",
            b"[hunt\nname = \"x\"\n",
            &["syntax.toml", "line"],
        ),
        (
            "no-hunt-table.toml",
            b"[other]\nname = \"x\"\n",
            &["no-hunt-table.toml", "hunt"],
        ),
        (
            "no-name.toml",
            b"[hunt]\nquery = [\"FROM logs-* | LIMIT 1\"]\n",
            &["no-name.toml", "name"],
        ),
        (
            "no-query.toml",
            b"[hunt]\nname = \"x\"\n",
            &["no-query.toml", "no query"],
        ),
        (
            "query-number.toml",
            b"[hunt]\nname = \"x\"\nquery = 5\n",
            &["query-number.toml"],
        ),
        (
            "not-utf8.toml",
            b"[hunt]\nname = \"\xff\xfe\"\n",
            &["not-utf8.toml"],
        ),
        ("empty.toml", b"", &["empty.toml"]),
        (
            "bad-query.toml",
            b"[hunt]\nname = \"x\"\nquery = [\"FROM logs-* | FROBNICATE\"]\n",
            &["bad-query.toml", "FROBNICATE"],
        ),
    ];
    for (name, bytes, needles) in files {
        let path = file(&hunts, name, bytes);
        cases.add(
            &format!("hunt file: {name}"),
            &[
                "esql",
                "--hunt",
                path.to_str().unwrap(),
                "--data",
                data,
                "--as-of",
                AS_OF,
                "--out",
                &out,
            ],
            needles,
        );
    }
    enrich_table_cases(cases, &hunts, data, &out);
    let missing = hunts.join("missing.toml");
    cases.add(
        "hunt file: missing",
        &[
            "esql",
            "--hunt",
            missing.to_str().unwrap(),
            "--data",
            data,
            "--out",
            &out,
        ],
        &["missing.toml: cannot read the hunt file"],
    );
}

#[test]
fn bad_input_is_one_line_naming_the_culprit_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = sample_in(dir.path(), 2000);
    let good = std::fs::read(data.join("part-00000.parquet")).unwrap();
    let data = data.to_str().unwrap().to_owned();
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let mut cases = Cases {
        list: vec![],
        out_dir: out_dir.clone(),
        keep: vec![],
    };
    file_cases(&mut cases, dir.path(), &good);
    flag_cases(&mut cases, &data);
    query_cases(&mut cases, &data);
    hunt_file_cases(&mut cases, dir.path(), &data);

    let mut failures = String::new();
    for case in &cases.list {
        let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
        let o = if case.as_nobody {
            Command::new("setpriv")
                .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(env!("CARGO_BIN_EXE_lakehunt"))
                .args(&args)
                .output()
                .expect("setpriv (util-linux) runs the binary as nobody")
        } else {
            lakehunt(&args)
        };
        let err = String::from_utf8_lossy(&o.stderr);
        let mut wrong = vec![];
        if o.status.code() != Some(2) {
            wrong.push(format!("exit {:?}", o.status.code()));
        }
        if err.trim_end().lines().count() != 1 || !err.starts_with("error: ") {
            wrong.push("not one error line".to_owned());
        }
        if err.contains("panicked") {
            wrong.push("a panic".to_owned());
        }
        for needle in &case.needles {
            if !err.contains(needle.as_str()) {
                wrong.push(format!("'{needle}' not named"));
            }
        }
        let left: Vec<_> = std::fs::read_dir(&out_dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        if !left.is_empty() {
            wrong.push(format!("left behind {left:?}"));
            for entry in std::fs::read_dir(&out_dir).unwrap().flatten() {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        if !wrong.is_empty() {
            let shown: String = err.chars().take(300).collect();
            writeln!(
                failures,
                "- {}: {}\n  stderr: {}",
                case.name,
                wrong.join(", "),
                shown.trim_end()
            )
            .unwrap();
        }
    }
    eprintln!("bad input: {} cases", cases.list.len());
    assert!(
        cases.list.len() >= 60,
        "{} cases; the issue asks for at least 60",
        cases.list.len()
    );
    assert!(
        failures.is_empty(),
        "of {} cases:\n{failures}",
        cases.list.len()
    );
}

/// A file whose pages carry checksums (as parquet-mr, and so Spark, writes
/// them by default): a flipped byte in a value is refused, naming the file,
/// where without the check it would be read as another value.
#[test]
fn a_page_that_fails_its_checksum_is_refused_naming_the_file() {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("data/fixtures/checksummed/events.parquet");
    let good = std::fs::read(&fixture).unwrap();
    let sum = |path: &Path| {
        lakehunt(&[
            "sql",
            "SELECT sum(\"source.bytes\") AS s FROM events",
            "--format",
            "csv",
            "--data",
            path.to_str().unwrap(),
        ])
    };
    let done = sum(&fixture);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    // 1000 + 1001 + ... + 1999
    assert_eq!(String::from_utf8_lossy(&done.stdout), "s\n1499500\n");

    let metadata = parquet::file::metadata::ParquetMetaDataReader::new()
        .parse_and_finish(&bytes::Bytes::from(good.clone()))
        .unwrap();
    let chunk = metadata.row_group(0).column(1);
    assert_eq!(chunk.column_path().string(), "source.bytes");
    let end = usize::try_from(chunk.data_page_offset() + chunk.compressed_size()).unwrap();
    let mut flipped = good;
    // The low byte of a value near the page's end.
    flipped[end - 40] ^= 0x01;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flipped.parquet");
    std::fs::write(&path, &flipped).unwrap();
    let done = sum(&path);
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("flipped.parquet") && stderr.contains("CRC"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

/// ENRICH's lookup tables: a CSV file is named as such, not as Parquet.
fn enrich_table_cases(cases: &mut Cases, dir: &Path, data: &str, out: &str) {
    let ragged = file(dir, "ragged.csv", b"a,b\n1,2,3\n");
    for (name, table, needle) in [
        ("ragged", ragged, "ragged.csv: cannot read the lookup table"),
        (
            "missing",
            dir.join("nope.csv"),
            "nope.csv: cannot read the lookup table",
        ),
    ] {
        let policy = format!("p={}", table.to_str().unwrap());
        cases.add(
            &format!("enrich table: {name}"),
            &[
                "esql",
                "FROM logs-* | ENRICH p ON host.name",
                "--data",
                data,
                "--enrich",
                &policy,
                "--as-of",
                AS_OF,
                "--out",
                out,
            ],
            &[needle],
        );
    }
}
