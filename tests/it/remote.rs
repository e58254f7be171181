//! Object stores, against real servers on loopback: the same commands over
//! the same files give the same output from an object store as from disk.
//!
//! `LAKEHUNT_TEST_S3` names an S3-compatible server (`.ci/run` starts moto's:
//! `moto_server -H 127.0.0.1 -p PORT`); where it is unset, each test says so
//! and passes without checking anything, so a developer without the server
//! can run the rest. `.ci/run` fails if a server cannot start.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use object_store::aws::AmazonS3Builder;
use object_store::{Attribute, Attributes, ObjectStore, PutOptions, PutPayload};

/// A secret that must never appear in lakehunt's output.
const SECRET: &str = "lakehunt-test-secret-4b1d6e";
const AS_OF: &str = "2026-01-15T12:00:00Z";

/// The S3 endpoint of the test server, or `None` (after saying so).
fn s3_endpoint(test: &str) -> Option<String> {
    let endpoint = std::env::var("LAKEHUNT_TEST_S3").ok();
    if endpoint.is_none() {
        eprintln!("{test}: skipped, LAKEHUNT_TEST_S3 is unset (.ci/run starts an S3 server)");
    }
    endpoint
}

/// A fresh bucket on the server, created with an unsigned `PUT /bucket`.
fn bucket(endpoint: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "lakehunt-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "PUT /{name} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    assert!(
        reply.starts_with("HTTP/1.1 200"),
        "creating {name}: {reply}"
    );
    name
}

/// Uploads every file below `dir` to `bucket` under `prefix`, keeping the
/// relative paths.
fn upload(endpoint: &str, bucket: &str, dir: &Path, prefix: &str) {
    let store = AmazonS3Builder::new()
        .with_endpoint(endpoint)
        .with_allow_http(true)
        .with_bucket_name(bucket)
        .with_region("us-east-1")
        .with_access_key_id("test")
        .with_secret_access_key(SECRET)
        .build()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut pending = vec![dir.to_owned()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let relative = path.strip_prefix(dir).unwrap().to_string_lossy();
            let key = object_store::path::Path::from(format!("{prefix}/{relative}"));
            // moto keeps no bytes of an object put without a content type.
            let options = PutOptions {
                attributes: Attributes::from_iter([(
                    Attribute::ContentType,
                    "application/octet-stream",
                )]),
                ..PutOptions::default()
            };
            let bytes = PutPayload::from(std::fs::read(&path).unwrap());
            runtime
                .block_on(store.put_opts(&key, bytes, options))
                .unwrap();
        }
    }
}

/// `lakehunt args` with the test server's credentials in the environment.
fn lakehunt_s3(endpoint: &str, args: &[&str]) -> Output {
    lakehunt_with(
        &[
            ("AWS_ENDPOINT_URL", endpoint),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
        ],
        args,
    )
}

/// `lakehunt args` with `env` added to the environment (and no AWS profile).
fn lakehunt_with(env: &[(&str, &str)], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lakehunt"))
        .args(args)
        .envs(env.iter().copied())
        .env_remove("AWS_PROFILE")
        .output()
        .expect("the binary runs")
}

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A sample lake on disk, `lake/eventDay=20260115/part-*.parquet` in
/// `dir`, in three files; returns the lake's folder.
fn sample_lake(dir: &Path) -> PathBuf {
    let lake = dir.join("lake");
    let day = lake.join("eventDay=20260115");
    let out = Command::new(env!("CARGO_BIN_EXE_lakehunt"))
        .args([
            "sample",
            "--rows",
            "60000",
            "--rows-per-file",
            "20000",
            "--as-of",
            AS_OF,
        ])
        .arg("--out")
        .arg(&day)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out).1);
    lake
}

#[test]
fn a_lake_in_s3_gives_what_the_same_files_on_disk_give() {
    let Some(endpoint) = s3_endpoint("a_lake_in_s3_gives_what_the_same_files_on_disk_give") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let lake = sample_lake(dir.path());
    let bucket = bucket(&endpoint);
    upload(&endpoint, &bucket, &lake, "lake");
    let local = lake.to_string_lossy().into_owned();
    let remote = format!("s3://{bucket}/lake/");
    let commands: Vec<Vec<&str>> = vec![
        vec![
            "run",
            "egress-bytes",
            "--as-of",
            AS_OF,
            "--format",
            "csv",
            "--data",
        ],
        vec![
            "sql",
            "SELECT \"eventDay\", count(*) AS n, sum(\"source.bytes\") AS bytes FROM events GROUP BY 1",
            "--format",
            "csv",
            "--data",
        ],
        vec![
            "esql",
            "FROM logs-* | STATS n = COUNT(*) BY event.action | SORT event.action",
            "--as-of",
            AS_OF,
            "--format",
            "csv",
            "--data",
        ],
        vec!["schema", "--data"],
    ];
    for command in commands {
        let on_disk = lakehunt_s3(&endpoint, &[&command[..], &[local.as_str()]].concat());
        let in_s3 = lakehunt_s3(&endpoint, &[&command[..], &[remote.as_str()]].concat());
        let (disk_out, disk_err) = text(&on_disk);
        let (s3_out, s3_err) = text(&in_s3);
        assert!(on_disk.status.success(), "{command:?} on disk: {disk_err}");
        assert!(in_s3.status.success(), "{command:?} in S3: {s3_err}");
        assert!(!disk_out.trim().is_empty(), "{command:?} printed nothing");
        // The census names its example files; everything else is the same.
        let same = |t: &str| t.replace(&local, "LAKE").replace(&remote, "LAKE/");
        assert_eq!(same(&disk_out), same(&s3_out), "{command:?}");
        assert!(!s3_out.contains(SECRET) && !s3_err.contains(SECRET));
    }
    // A backfill over the lake in S3 finds what it finds on disk.
    let findings = |data: &str| {
        let out_dir = tempfile::tempdir().unwrap();
        let out = lakehunt_s3(
            &endpoint,
            &[
                "backfill",
                "egress-bytes",
                "--from",
                "2026-01-14T12:00:00Z",
                "--to",
                AS_OF,
                "--every",
                "8h",
                "--out",
                &out_dir.path().to_string_lossy(),
                "--data",
                data,
            ],
        );
        let (_, stderr) = text(&out);
        assert!(out.status.success(), "backfill of {data}: {stderr}");
        let summary = stderr.lines().last().unwrap_or_default().to_owned();
        // "backfill egress-bytes: 3 windows of 8h every 8h over 2 days (0 resumed), N findings in ..."
        summary
            .split(", ")
            .find(|part| part.contains(" findings"))
            .map(str::to_owned)
            .unwrap_or(summary)
    };
    let on_disk = findings(&local);
    assert!(
        on_disk.starts_with(|c: char| c.is_ascii_digit()),
        "{on_disk}"
    );
    assert_eq!(findings(&remote), on_disk);
    // The findings are the planted ones: the hunt read every file.
    let run = lakehunt_s3(
        &endpoint,
        &[
            "run",
            "egress-bytes",
            "--as-of",
            AS_OF,
            "--format",
            "csv",
            "--data",
            &remote,
        ],
    );
    let (out, _) = text(&run);
    assert!(out.lines().count() > 3, "{out}");
}

#[test]
fn s3_globs_and_single_objects_read_what_they_name() {
    let Some(endpoint) = s3_endpoint("s3_globs_and_single_objects_read_what_they_name") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let lake = sample_lake(dir.path());
    let bucket = bucket(&endpoint);
    upload(&endpoint, &bucket, &lake, "lake");
    // Bookkeeping objects and folders are skipped, as on disk: a Parquet
    // object below `_temporary/` would add 20,000 rows.
    std::fs::write(dir.path().join("_SUCCESS"), b"").unwrap();
    std::fs::create_dir(dir.path().join("_temporary")).unwrap();
    std::fs::copy(
        lake.join("eventDay=20260115/part-00000.parquet"),
        dir.path().join("_temporary/part-00000.parquet"),
    )
    .unwrap();
    upload(&endpoint, &bucket, dir.path(), "other");
    let count = |data: &str| {
        let out = lakehunt_s3(
            &endpoint,
            &[
                "sql",
                "SELECT count(*) FROM events",
                "--format",
                "csv",
                "--data",
                data,
            ],
        );
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{data}: {stderr}");
        stdout.lines().nth(1).unwrap_or_default().to_owned()
    };
    assert_eq!(count(&format!("s3://{bucket}/lake/")), "60000");
    assert_eq!(count(&format!("s3://{bucket}/other/")), "60000");
    // A glob that names folders reads their Parquet objects, as on disk;
    // `*` does not cross a `/`.
    assert_eq!(count(&format!("s3://{bucket}/lake/eventDay=*")), "60000");
    let across = lakehunt_s3(
        &endpoint,
        &[
            "sql",
            "SELECT 1",
            "--data",
            &format!("s3://{bucket}/*.parquet"),
        ],
    );
    assert_eq!(across.status.code(), Some(2), "{}", text(&across).1);
    assert_eq!(
        count(&format!("s3://{bucket}/lake/eventDay=*/part-00000.parquet")),
        "20000"
    );
    assert_eq!(
        count(&format!(
            "s3://{bucket}/lake/eventDay=20260115/part-00001.parquet"
        )),
        "20000"
    );
    // Local and remote data together, in one run.
    let local = lake.join("eventDay=20260115/part-00002.parquet");
    let out = lakehunt_s3(
        &endpoint,
        &[
            "sql",
            "SELECT count(*) FROM events",
            "--format",
            "csv",
            "--data",
            &format!("s3://{bucket}/lake/eventDay=20260115/part-00000.parquet"),
            &local.to_string_lossy(),
        ],
    );
    assert_eq!(
        text(&out).0.lines().nth(1),
        Some("40000"),
        "{}",
        text(&out).1
    );
}

#[test]
fn missing_buckets_and_empty_prefixes_are_one_line_naming_the_url() {
    let Some(endpoint) =
        s3_endpoint("missing_buckets_and_empty_prefixes_are_one_line_naming_the_url")
    else {
        return;
    };
    let bucket = bucket(&endpoint);
    for url in [
        "s3://lakehunt-no-such-bucket/lake/".to_owned(),
        format!("s3://{bucket}/nothing-here/"),
    ] {
        let out = lakehunt_s3(&endpoint, &["sql", "SELECT 1", "--data", &url]);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{url}: {stderr}");
        assert!(stdout.is_empty());
        assert_eq!(stderr.trim().lines().count(), 1, "{url}: {stderr}");
        assert!(stderr.contains(&url), "{url}: {stderr}");
        assert!(!stderr.contains(SECRET), "{stderr}");
    }
}

/// A store handle on the test server for `bucket`, to read what lakehunt wrote.
fn test_store(endpoint: &str, bucket: &str) -> object_store::aws::AmazonS3 {
    AmazonS3Builder::new()
        .with_endpoint(endpoint)
        .with_allow_http(true)
        .with_bucket_name(bucket)
        .with_region("us-east-1")
        .with_access_key_id("test")
        .with_secret_access_key(SECRET)
        .build()
        .unwrap()
}

/// Puts `bytes` as the object `key` of `bucket`.
fn put_object(endpoint: &str, bucket: &str, key: &str, bytes: Vec<u8>) {
    let store = test_store(endpoint, bucket);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // moto keeps no bytes of an object put without a content type.
    let options = PutOptions {
        attributes: Attributes::from_iter([(Attribute::ContentType, "application/octet-stream")]),
        ..PutOptions::default()
    };
    let key = object_store::path::Path::from(key);
    runtime
        .block_on(store.put_opts(&key, PutPayload::from(bytes), options))
        .unwrap();
}

fn get(endpoint: &str, bucket: &str, key: &str) -> Option<Vec<u8>> {
    use object_store::ObjectStoreExt;
    let store = test_store(endpoint, bucket);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let got = store.get(&object_store::path::Path::from(key)).await.ok()?;
        Some(got.bytes().await.unwrap().to_vec())
    })
}

#[test]
fn findings_written_to_s3_are_the_findings_written_to_disk() {
    let Some(endpoint) = s3_endpoint("findings_written_to_s3_are_the_findings_written_to_disk")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let lake = sample_lake(dir.path());
    let lake = lake.to_string_lossy().into_owned();
    let bucket = bucket(&endpoint);
    let hunt = [
        "run",
        "egress-bytes",
        "--as-of",
        AS_OF,
        "--data",
        lake.as_str(),
        "--out",
    ];
    for name in ["findings.parquet", "findings.csv"] {
        let local = dir.path().join(name);
        let url = format!("s3://{bucket}/out/{name}");
        let on_disk = lakehunt_s3(&endpoint, &[&hunt[..], &[local.to_str().unwrap()]].concat());
        let in_s3 = lakehunt_s3(&endpoint, &[&hunt[..], &[url.as_str()]].concat());
        assert!(on_disk.status.success(), "{}", text(&on_disk).1);
        assert!(in_s3.status.success(), "{}", text(&in_s3).1);
        let written = get(&endpoint, &bucket, &format!("out/{name}")).expect("the object");
        if Path::new(name).extension().is_some_and(|x| x == "csv") {
            assert_eq!(written, std::fs::read(&local).unwrap());
            assert!(written.len() > 200, "{}", String::from_utf8_lossy(&written));
        } else {
            // Parquet read back through lakehunt, from the store and from disk.
            let rows = |data: &str| {
                let out = lakehunt_s3(
                    &endpoint,
                    &[
                        "sql",
                        "SELECT * FROM events ORDER BY 1, 2, 3",
                        "--format",
                        "csv",
                        "--data",
                        data,
                    ],
                );
                assert!(out.status.success(), "{}", text(&out).1);
                text(&out).0
            };
            let from_disk = rows(local.to_str().unwrap());
            assert!(from_disk.lines().count() > 3, "{from_disk}");
            assert_eq!(rows(&url), from_disk);
        }
    }
    // A missing bucket: one line naming the URL, exit 2, nothing written.
    let url = "s3://lakehunt-no-such-bucket/out/findings.parquet";
    let out = lakehunt_s3(&endpoint, &[&hunt[..], &[url]].concat());
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stdout.is_empty());
    assert_eq!(
        stderr.trim().lines().last().map(|l| l.contains(url)),
        Some(true),
        "{stderr}"
    );
    assert!(!stderr.contains(SECRET));
    // A prefix is not an object: refused before the hunt runs.
    let url = format!("s3://{bucket}/out/");
    let out = lakehunt_s3(&endpoint, &[&hunt[..], &[url.as_str()]].concat());
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("not a prefix"), "{}", text(&out).1);
}

#[test]
fn a_large_result_goes_up_in_parts_and_arrives_whole() {
    let Some(endpoint) = s3_endpoint("a_large_result_goes_up_in_parts_and_arrives_whole") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let lake = sample_lake(dir.path());
    let bucket = bucket(&endpoint);
    // 36 MB of CSV: three parts of at most 16 MiB.
    let query = "SELECT value, repeat('x', 1200) AS pad FROM range(30000)";
    let local = dir.path().join("all.csv");
    let url = format!("s3://{bucket}/out/all.csv");
    for out in [local.to_str().unwrap(), url.as_str()] {
        let run = lakehunt_s3(
            &endpoint,
            &[
                "sql",
                query,
                "--data",
                &lake.to_string_lossy(),
                "--out",
                out,
            ],
        );
        assert!(run.status.success(), "{out}: {}", text(&run).1);
    }
    let on_disk = std::fs::read(&local).unwrap();
    assert!(on_disk.len() > 33 << 20, "{} bytes", on_disk.len());
    let in_s3 = get(&endpoint, &bucket, "out/all.csv").expect("the object");
    assert_eq!(in_s3.len(), on_disk.len());
    assert!(sorted_lines(&in_s3) == sorted_lines(&on_disk));
}

/// A text's lines, sorted (a parallel query's rows come in any order).
fn sorted_lines(bytes: &[u8]) -> Vec<&[u8]> {
    let mut lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    lines.sort_unstable();
    lines
}

#[test]
fn date_folders_outside_the_window_are_not_listed() {
    let Some(endpoint) = s3_endpoint("date_folders_outside_the_window_are_not_listed") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sample = sample_lake(dir.path()).join("eventDay=20260115");
    // Security Lake's layout: region, account, then the event's UTC day.
    let lake = dir.path().join("sl");
    for account in ["111111111111", "222222222222"] {
        for (day, part) in [("20260113", 0), ("20260114", 1), ("20260115", 2)] {
            let folder = lake.join(format!(
                "region=us-east-1/accountId={account}/eventDay={day}"
            ));
            std::fs::create_dir_all(&folder).unwrap();
            let name = format!("part-{part:05}.parquet");
            std::fs::copy(sample.join(&name), folder.join(&name)).unwrap();
        }
    }
    let bucket = bucket(&endpoint);
    upload(&endpoint, &bucket, &lake, "sl");
    let local = lake.to_string_lossy().into_owned();
    let remote = format!("s3://{bucket}/sl/");
    let hunt = |data: &str| {
        let out = lakehunt_s3(
            &endpoint,
            &[
                "run",
                "egress-bytes",
                "--as-of",
                AS_OF,
                "--format",
                "csv",
                "--data",
                data,
            ],
        );
        assert!(out.status.success(), "{data}: {}", text(&out).1);
        text(&out).0
    };
    let on_disk = hunt(&local);
    assert!(on_disk.lines().count() > 1, "{on_disk}");
    assert_eq!(hunt(&remote), on_disk);
    // The 8-hour window ends at noon on the 15th: the 13th's and the 14th's
    // folders of both accounts are not listed in S3, not opened on disk.
    let explain = |data: &str| {
        let out = lakehunt_s3(
            &endpoint,
            &["explain", "egress-bytes", "--as-of", AS_OF, "--data", data],
        );
        assert!(out.status.success(), "{data}: {}", text(&out).1);
        text(&out).0
    };
    let remote_plan = explain(&remote);
    assert!(
        remote_plan.contains("files: 2 in range, 0 not opened (date folders outside the window), 4 date folders in object stores not listed"),
        "{remote_plan}"
    );
    let local_plan = explain(&local);
    assert!(
        local_plan.contains("files: 2 in range, 4 not opened (date folders outside the window);"),
        "{local_plan}"
    );
    // Without the window's pruning, every folder is listed.
    let out = lakehunt_s3(
        &endpoint,
        &[
            "sql",
            "SELECT count(*) FROM events",
            "--format",
            "csv",
            "--data",
            &remote,
        ],
    );
    assert_eq!(
        text(&out).0.lines().nth(1),
        Some("120000"),
        "{}",
        text(&out).1
    );
}

/// The GCS endpoint of the test server (`fake-gcs-server`), or `None` (after
/// saying so).
fn gcs_endpoint(test: &str) -> Option<String> {
    let endpoint = std::env::var("LAKEHUNT_TEST_GCS").ok();
    if endpoint.is_none() {
        eprintln!("{test}: skipped, LAKEHUNT_TEST_GCS is unset (.ci/run starts a GCS server)");
    }
    endpoint
}

/// One HTTP/1.1 request to the server at `endpoint`; the status line back.
fn http(endpoint: &str, method: &str, path: &str, content_type: &str, body: &[u8]) -> String {
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(body).unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    reply.lines().next().unwrap_or_default().to_owned()
}

#[test]
fn a_lake_in_gcs_gives_what_the_same_files_on_disk_give() {
    let Some(endpoint) = gcs_endpoint("a_lake_in_gcs_gives_what_the_same_files_on_disk_give")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let lake = sample_lake(dir.path());
    let bucket = format!("lakehunt-gcs-{}", std::process::id());
    let created = http(
        &endpoint,
        "POST",
        "/storage/v1/b",
        "application/json",
        format!("{{\"name\": \"{bucket}\"}}").as_bytes(),
    );
    assert!(created.contains(" 200"), "{created}");
    // Seeded through the JSON upload API (the server refuses object_store's
    // own uploads).
    for entry in std::fs::read_dir(lake.join("eventDay=20260115")).unwrap() {
        let path = entry.unwrap().path();
        let name = format!(
            "lake%2FeventDay%3D20260115%2F{}",
            path.file_name().unwrap().to_string_lossy()
        );
        let uploaded = http(
            &endpoint,
            "POST",
            &format!("/upload/storage/v1/b/{bucket}/o?uploadType=media&name={name}"),
            "application/octet-stream",
            &std::fs::read(&path).unwrap(),
        );
        assert!(uploaded.contains(" 200"), "{uploaded}");
    }
    // object_store's GCS client, pointed at the emulator without OAuth.
    let key = format!(
        "{{\"gcs_base_url\": \"{endpoint}\", \"disable_oauth\": true, \"client_email\": \"\", \
         \"private_key\": \"\", \"private_key_id\": \"{SECRET}\"}}"
    );
    let lakehunt_gcs = |args: &[&str]| lakehunt_with(&[("GOOGLE_SERVICE_ACCOUNT_KEY", &key)], args);
    let local = lake.to_string_lossy().into_owned();
    let remote = format!("gs://{bucket}/lake/");
    same_output(
        &lakehunt_gcs,
        "SELECT count(*) AS n, sum(\"source.bytes\") AS b FROM events",
        &local,
        &remote,
    );
    let missing = lakehunt_gcs(&[
        "sql",
        "SELECT 1",
        "--data",
        "gs://lakehunt-no-such-bucket/x/",
    ]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing).1.contains("gs://lakehunt-no-such-bucket/x/"),
        "{}",
        text(&missing).1
    );
}

#[test]
fn a_lake_over_http_gives_what_the_same_files_on_disk_give() {
    // A WebDAV server (`rclone serve webdav ROOT`): plain HTTP with ranged
    // GETs for objects and PROPFIND for listing folders.
    let (Ok(endpoint), Ok(root)) = (
        std::env::var("LAKEHUNT_TEST_HTTP"),
        std::env::var("LAKEHUNT_TEST_HTTP_ROOT"),
    ) else {
        eprintln!(
            "a_lake_over_http_gives_what_the_same_files_on_disk_give: skipped, \
             LAKEHUNT_TEST_HTTP and LAKEHUNT_TEST_HTTP_ROOT are unset (.ci/run starts a server)"
        );
        return;
    };
    let served = tempfile::tempdir_in(&root).unwrap();
    let lake = sample_lake(served.path());
    let local = lake.to_string_lossy().into_owned();
    let folder = served.path().file_name().unwrap().to_string_lossy();
    let remote = format!("{endpoint}/{folder}/lake/");
    let one = format!("{endpoint}/{folder}/lake/eventDay=20260115/part-00001.parquet");
    let lakehunt_http = |args: &[&str]| lakehunt_with(&[], args);
    same_output(
        &lakehunt_http,
        "SELECT \"eventDay\", count(*) AS n FROM events GROUP BY 1",
        &local,
        &remote,
    );
    let out = lakehunt_http(&[
        "sql",
        "SELECT count(*) FROM events",
        "--format",
        "csv",
        "--data",
        &one,
    ]);
    assert_eq!(
        text(&out).0.lines().nth(1),
        Some("20000"),
        "{}",
        text(&out).1
    );
    let missing = format!("{endpoint}/{folder}/nothing/x.parquet");
    let out = lakehunt_http(&["sql", "SELECT 1", "--data", &missing]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains(&missing), "{}", text(&out).1);
}

#[test]
fn a_lake_in_azure_blob_storage_gives_what_the_same_files_on_disk_give() {
    // Azurite, with a container `lakehunt` that .ci/run creates.
    let Ok(endpoint) = std::env::var("LAKEHUNT_TEST_AZURE") else {
        eprintln!(
            "a_lake_in_azure_blob_storage_gives_what_the_same_files_on_disk_give: skipped, \
             LAKEHUNT_TEST_AZURE is unset (.ci/run starts azurite)"
        );
        return;
    };
    let lakehunt_az = |args: &[&str]| {
        lakehunt_with(
            &[
                ("AZURE_STORAGE_USE_EMULATOR", "true"),
                ("AZURITE_BLOB_STORAGE_URL", &endpoint),
            ],
            args,
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let lake = sample_lake(dir.path());
    let prefix = format!("az://lakehunt/{}", std::process::id());
    // Seeded by lakehunt itself: each file's rows written to a blob.
    for part in 0..3 {
        let name = format!("eventDay=20260115/part-{part:05}.parquet");
        let file = lake.join(&name);
        let blob = format!("{prefix}/lake/{name}");
        let out = lakehunt_az(&[
            "sql",
            "SELECT * FROM events",
            "--data",
            &file.to_string_lossy(),
            "--out",
            &blob,
        ]);
        assert!(out.status.success(), "{blob}: {}", text(&out).1);
    }
    let local = lake.to_string_lossy().into_owned();
    let remote = format!("{prefix}/lake/");
    same_output(
        &lakehunt_az,
        "SELECT count(*) AS n, sum(\"source.bytes\") AS b FROM events",
        &local,
        &remote,
    );
    let missing = "az://lakehunt-no-such-container/lake/";
    let out = lakehunt_az(&["sql", "SELECT 1", "--data", missing]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains(missing), "{}", text(&out).1);
}

#[test]
fn a_backfill_into_s3_resumes_there_and_matches_one_on_disk() {
    let Some(endpoint) = s3_endpoint("a_backfill_into_s3_resumes_there_and_matches_one_on_disk")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let lake = sample_lake(dir.path());
    let bucket = bucket(&endpoint);
    let url = format!("s3://{bucket}/findings/egress/");
    let local = dir.path().join("findings");
    let backfill = |out: &str, extra: &[&str]| {
        let mut args = vec![
            "backfill",
            "egress-bytes",
            "--from",
            "2026-01-14T12:00:00Z",
            "--to",
            AS_OF,
            "--every",
            "4h",
            "--quiet",
            "--data",
            lake.to_str().unwrap(),
            "--out",
            out,
        ];
        args.extend_from_slice(extra);
        let done = lakehunt_s3(&endpoint, &args);
        assert!(done.status.success(), "{}", text(&done).1);
        assert!(!text(&done).1.contains(SECRET));
    };
    backfill(local.to_str().unwrap(), &[]);
    backfill(&url, &[]);
    let manifest = "findings/egress/_lakehunt_backfill.json";
    let recorded = get(&endpoint, &bucket, manifest).expect("the manifest");
    assert!(String::from_utf8_lossy(&recorded).contains("\"done\""));
    // Same findings from the store as from the folder.
    let query = "SELECT * FROM events ORDER BY window_end, 1, 2, 3";
    let rows = |data: &str| {
        let out = lakehunt_s3(
            &endpoint,
            &["sql", query, "--format", "csv", "--data", data],
        );
        assert!(out.status.success(), "{}", text(&out).1);
        text(&out).0
    };
    let on_disk = rows(local.to_str().unwrap());
    assert!(on_disk.lines().count() > 1, "{on_disk}");
    assert_eq!(rows(&url), on_disk);

    // A second run without --resume is refused, naming the prefix.
    let again = lakehunt_s3(
        &endpoint,
        &[
            "backfill",
            "egress-bytes",
            "--from",
            "2026-01-14T12:00:00Z",
            "--to",
            AS_OF,
            "--every",
            "4h",
            "--data",
            lake.to_str().unwrap(),
            "--out",
            &url,
        ],
    );
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again).1.contains("--resume"), "{}", text(&again).1);

    // Interrupted: the manifest forgets the last day and a stray day object
    // appears; --resume deletes the stray and writes the day again.
    let mut manifest_json: serde_json::Value = serde_json::from_slice(&recorded).unwrap();
    let done = manifest_json["done"].as_object_mut().unwrap();
    let last = done.keys().next_back().unwrap().clone();
    done.remove(&last);
    let put = |key: &str, bytes: Vec<u8>| put_object(&endpoint, &bucket, key, bytes);
    put(manifest, serde_json::to_vec(&manifest_json).unwrap());
    put(
        "findings/egress/window_date=2001-01-01/part-00000.parquet",
        b"stray".to_vec(),
    );
    backfill(&url, &["--resume"]);
    assert!(
        get(
            &endpoint,
            &bucket,
            "findings/egress/window_date=2001-01-01/part-00000.parquet"
        )
        .is_none()
    );
    assert_eq!(rows(&url), on_disk);
}

/// `run` of the seed hunt and `sql` of `query` print over `remote` exactly
/// what they print over `local` (both ran, and printed rows).
fn same_output(lakehunt: &dyn Fn(&[&str]) -> Output, query: &str, local: &str, remote: &str) {
    for command in [
        vec![
            "run",
            "egress-bytes",
            "--as-of",
            AS_OF,
            "--format",
            "csv",
            "--data",
        ],
        vec!["sql", query, "--format", "csv", "--data"],
    ] {
        let on_disk = lakehunt(&[&command[..], &[local]].concat());
        let elsewhere = lakehunt(&[&command[..], &[remote]].concat());
        assert!(on_disk.status.success(), "{}", text(&on_disk).1);
        assert!(
            elsewhere.status.success(),
            "{command:?}: {}",
            text(&elsewhere).1
        );
        assert!(text(&on_disk).0.lines().count() > 1, "{command:?}");
        assert_eq!(text(&elsewhere).0, text(&on_disk).0, "{command:?}");
        assert!(!text(&elsewhere).1.contains(SECRET));
    }
}

#[test]
fn an_export_ingested_into_s3_reads_as_it_does_on_disk() {
    let Some(endpoint) = s3_endpoint("an_export_ingested_into_s3_reads_as_it_does_on_disk") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("export.ndjson");
    let mut docs = String::new();
    for i in 0..500 {
        let _ = writeln!(
            docs,
            "{{\"@timestamp\":\"2026-01-{:02}T{:02}:00:00Z\",\"host.name\":\"h{}\",\"source\":{{\"bytes\":{i}}}}}",
            14 + i % 2,
            i % 24,
            i % 7
        );
    }
    std::fs::write(&export, docs).unwrap();
    let bucket = bucket(&endpoint);
    let url = format!("s3://{bucket}/lake/");
    let local = dir.path().join("lake");
    for out in [url.as_str(), local.to_str().unwrap()] {
        let done = lakehunt_s3(
            &endpoint,
            &["ingest", export.to_str().unwrap(), "--out", out],
        );
        assert!(done.status.success(), "{}", text(&done).1);
        assert!(!text(&done).1.contains(SECRET));
    }
    // Two day objects, each whole.
    let listed = lakehunt_s3(&endpoint, &["schema", "--data", &url]);
    assert!(listed.status.success(), "{}", text(&listed).1);
    assert!(
        text(&listed).0.contains("2 files, 500 rows"),
        "{}",
        text(&listed).0
    );
    let query = "SELECT \"@timestamp\", \"host.name\", \"source.bytes\", \"eventDay\" FROM events ORDER BY 1, 3";
    let rows = |data: &str| {
        let out = lakehunt_s3(
            &endpoint,
            &["sql", query, "--format", "csv", "--data", data],
        );
        assert!(out.status.success(), "{}", text(&out).1);
        text(&out).0
    };
    let on_disk = rows(local.to_str().unwrap());
    assert_eq!(on_disk.lines().count(), 501);
    assert_eq!(rows(&url), on_disk);
}

#[test]
fn a_lake_in_s3_on_a_cluster_gives_what_it_gives_here() {
    // The executors read the objects themselves, with credentials of their
    // own (the same test server's here); none travel with the plan.
    let test = "a_lake_in_s3_on_a_cluster_gives_what_it_gives_here";
    let Some(endpoint) = s3_endpoint(test) else {
        return;
    };
    let bucket = bucket(&endpoint);
    let dir = tempfile::tempdir().unwrap();
    let lake = sample_lake(dir.path());
    upload(&endpoint, &bucket, &lake, "cluster-lake");
    let url = format!("s3://{bucket}/cluster-lake/");
    let env = [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
    ];
    let cluster = super::cluster::Cluster::start_with(dir.path(), 2, &env);
    for args in [
        &["run", "egress-bytes", "--window", "18h"][..],
        &[
            "esql",
            "from logs-* | eval z = source.port - source.port | stats n = count(*), b = sum(source.bytes / z) by host.os.family | sort host.os.family",
        ][..],
    ] {
        let mut args = args.to_vec();
        args.extend(["--data", &url, "--as-of", AS_OF, "--format", "csv"]);
        let local = lakehunt_s3(&endpoint, &args);
        args.extend(["--cluster", &cluster.url]);
        let remote = lakehunt_s3(&endpoint, &args);
        let ((local_out, local_err), (remote_out, remote_err)) = (text(&local), text(&remote));
        assert!(local.status.success(), "{local_err}");
        assert!(remote.status.success(), "{remote_err}");
        assert!(local_out.lines().count() > 1, "no findings to compare");
        assert_eq!(
            sorted_lines(local.stdout.as_slice()),
            sorted_lines(remote.stdout.as_slice())
        );
        let warnings = |e: &str| {
            let mut w: Vec<String> = e
                .lines()
                .filter(|l| l.starts_with("warning:"))
                .map(str::to_owned)
                .collect();
            w.sort();
            w
        };
        assert!(!warnings(&local_err).is_empty(), "{local_err}");
        assert_eq!(warnings(&local_err), warnings(&remote_err));
        assert!(!remote_err.contains(SECRET) && !remote_out.contains(SECRET));
    }
    drop(cluster);

    // Executors without credentials: the run fails in one error line naming
    // the object, and writes nothing.
    let bare = super::cluster::Cluster::start_with(
        dir.path(),
        1,
        &[
            ("AWS_ENDPOINT_URL", endpoint.as_str()),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_REGION", "us-east-1"),
        ],
    );
    let out = dir.path().join("denied.csv");
    let o = lakehunt_s3(
        &endpoint,
        &[
            "run",
            "egress-bytes",
            "--data",
            &url,
            "--as-of",
            AS_OF,
            "--out",
            out.to_str().unwrap(),
            "--cluster",
            &bare.url,
        ],
    );
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains("cluster-lake/eventDay=20260115/part-"),
        "{stderr}"
    );
    assert!(!out.exists());
}
