//! `lakehunt ingest`: Elasticsearch exports into day-partitioned Parquet.
//!
//! The oracle is the sample itself: written out as NDJSON in every export
//! shape (with the irregularities real exports hold), ingested, and hunted
//! again, it must give the same findings and the same events.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Map, Value, json};

use crate::common::{AS_OF, lakehunt, ok, stderr};

/// The sample's events as `_source` documents, in file order.
fn sample_documents(dir: &Path) -> (PathBuf, Vec<Map<String, Value>>) {
    let sample = dir.join("sample");
    ok(&lakehunt(&[
        "sample",
        "--rows",
        "30000",
        "--rows-per-file",
        "10000",
        "--as-of",
        AS_OF,
        "--out",
        sample.to_str().unwrap(),
    ]));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&sample)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut docs = vec![];
    for file in files {
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReader::try_new(
            std::fs::File::open(file).unwrap(),
            8192,
        )
        .unwrap();
        let mut text = Vec::new();
        let mut writer = arrow::json::LineDelimitedWriter::new(&mut text);
        for batch in reader {
            writer.write(&batch.unwrap()).unwrap();
        }
        writer.finish().unwrap();
        for line in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let Value::Object(doc) = serde_json::from_slice(line).unwrap() else {
                panic!("a row is an object")
            };
            docs.push(doc);
        }
    }
    (sample, docs)
}

/// `doc` with the irregularities of real exports, chosen by `i`: dotted keys
/// beside objects, single values where others have arrays, other time
/// formats, empty objects and nulls.
fn roughen(i: usize, mut doc: Map<String, Value>) -> Map<String, Value> {
    if i.is_multiple_of(5)
        && let Some(Value::Object(host)) = doc.remove("host")
    {
        for (k, v) in host {
            doc.insert(format!("host.{k}"), v);
        }
    }
    if i.is_multiple_of(7)
        && let Some(Value::Object(event)) = doc.get_mut("event")
        && let Some(Value::Array(one)) = event.get("category").cloned()
        && one.len() == 1
    {
        event.insert("category".into(), one[0].clone());
    }
    if i.is_multiple_of(3) {
        let text = doc["@timestamp"].as_str().unwrap().to_owned();
        let t =
            chrono::DateTime::parse_from_rfc3339(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let micros = t.timestamp_micros();
        doc["@timestamp"] = if micros % 1000 == 0 {
            json!(micros / 1000)
        } else {
            let east = chrono::FixedOffset::east_opt(2 * 3600).unwrap();
            json!(
                t.with_timezone(&east)
                    .to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
            )
        };
    }
    if i.is_multiple_of(11) {
        doc.insert("labels".into(), json!({}));
        doc.insert("tags".into(), Value::Null);
        doc.insert("observer".into(), json!({"vendor": null}));
    }
    doc
}

/// The documents as four exports, one of each shape; returns their paths.
fn exports(dir: &Path, docs: Vec<Map<String, Value>>) -> Vec<PathBuf> {
    let quarter = docs.len() / 4;
    let mut parts: Vec<Vec<Map<String, Value>>> = vec![vec![]; 4];
    for (i, doc) in docs.into_iter().enumerate() {
        parts[(i / quarter).min(3)].push(roughen(i, doc));
    }
    let lines = |values: Vec<Value>| {
        let mut text = Vec::new();
        for v in values {
            serde_json::to_writer(&mut text, &v).unwrap();
            text.push(b'\n');
        }
        text
    };
    let mut parts = parts.into_iter();
    let mut next = || parts.next().unwrap().into_iter().enumerate();
    let bare = lines(next().map(|(_, d)| Value::Object(d)).collect());
    let dump = lines(
        next()
            .map(|(i, d)| json!({"_index": "logs-endpoint", "_id": format!("d{i}"), "_score": 1, "_source": d}))
            .collect(),
    );
    let bulk = lines(
        next()
            .flat_map(|(i, d)| {
                [
                    json!({"create": {"_index": "logs-endpoint", "_id": format!("b{i}")}}),
                    Value::Object(d),
                ]
            })
            .collect(),
    );
    let hits: Vec<Value> = next()
        .map(|(i, d)| json!({"_index": "logs-endpoint", "_id": format!("s{i}"), "_source": d}))
        .collect();
    let search = serde_json::to_string_pretty(&json!({"took": 5, "timed_out": false, "hits": {"total": {"value": hits.len()}, "hits": hits}})).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(search.as_bytes()).unwrap();
    let files = [
        ("bare.ndjson", bare),
        ("dump.json", dump),
        ("bulk.ndjson", bulk),
        ("search.json.gz", gz.finish().unwrap()),
    ];
    files
        .into_iter()
        .map(|(name, bytes)| {
            let path = dir.join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        })
        .collect()
}

/// Every field of the sample's events, in a total order. An empty array is no
/// value to Elasticsearch (`[]` indexes nothing, as `null`): the sample's
/// empty `event.category` lists come back null, so both sides read it so.
const EVENTS: &str = "SELECT \"@timestamp\", \"event.action\", \
    CASE WHEN cardinality(\"event.category\") > 0 THEN \"event.category\" END, \"host.name\", \
    \"host.os.family\", \"process.entity_id\", \"process.executable\", \"process.pid\", \
    \"destination.ip\", \"destination.address\", \"destination.port\", \"source.ip\", \
    \"source.port\", \"source.bytes\", \"network.transport\", \"event.dataset\", \"host.os.type\", \
    \"agent.id\", \"event.type\", \"host.id\", \"process.name\", \"user.name\" \
    FROM events ORDER BY 1, 2, 4, 6, 8, 9, 10, 11, 12, 13, 14";

/// Fails naming the first line where `got` and `expected` differ (the
/// texts are too long to print whole).
fn same_lines(got: &str, expected: &str, what: &str) {
    let first = got
        .lines()
        .zip(expected.lines())
        .enumerate()
        .find(|(_, (g, e))| g != e);
    if let Some((i, (g, e))) = first {
        panic!("{what}, line {}:\n  got      {g}\n  expected {e}", i + 1);
    }
    assert_eq!(
        got.lines().count(),
        expected.lines().count(),
        "{what}: line count"
    );
}

#[test]
fn an_export_in_every_shape_gives_the_samples_findings_and_events() {
    let dir = tempfile::tempdir().unwrap();
    let (sample, docs) = sample_documents(dir.path());
    let n = docs.len();
    let inputs = exports(dir.path(), docs);
    let lake = dir.path().join("lake");
    let mut args = vec!["ingest".to_owned()];
    args.extend(inputs.iter().map(|p| p.display().to_string()));
    args.extend(["--out".to_owned(), lake.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = lakehunt(&args);
    let written = ok(&out);
    assert!(
        stderr(&out).contains(&format!("ingested {n} documents into 2 days")),
        "{}",
        stderr(&out)
    );
    // One file a day, under its UTC day.
    let mut days: Vec<&str> = written.lines().collect();
    days.sort_unstable();
    assert_eq!(days.len(), 2, "{written}");
    assert!(days[0].contains("eventDay=20260114") && days[1].contains("eventDay=20260115"));

    let (sample, lake) = (sample.to_str().unwrap(), lake.to_str().unwrap());
    let hunt = |data| {
        ok(&lakehunt(&[
            "run",
            "egress-bytes",
            "--as-of",
            AS_OF,
            "--format",
            "csv",
            "--data",
            data,
        ]))
    };
    let findings = hunt(sample);
    assert!(findings.lines().count() > 1, "the sample has findings");
    same_lines(&hunt(lake), &findings, "findings");
    let events = |data| {
        ok(&lakehunt(&[
            "sql", EVENTS, "--format", "csv", "--data", data,
        ]))
    };
    let expected = events(sample);
    assert_eq!(expected.lines().count(), n + 1);
    same_lines(&events(lake), &expected, "events");
    // Elasticsearch's metadata is kept, and ES|QL's METADATA reads it.
    let ids = ok(&lakehunt(&[
        "esql",
        "FROM logs-* METADATA _id, _index | WHERE _id == \"b0\" | KEEP _id, _index",
        "--format",
        "csv",
        "--data",
        lake,
    ]));
    assert_eq!(ids, "_id,_index\nb0,logs-endpoint\n");
}

#[test]
fn every_day_is_sorted_by_time() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("x.ndjson");
    // Out of order, over two days, with ties kept in input order.
    std::fs::write(
        &export,
        "{\"@timestamp\":\"2026-02-02T08:00:00Z\",\"n\":1}\n\
         {\"@timestamp\":\"2026-02-01T23:59:59.999999Z\",\"n\":2}\n\
         {\"@timestamp\":\"2026-02-02T00:00:00Z\",\"n\":3}\n\
         {\"@timestamp\":\"2026-02-02T08:00:00Z\",\"n\":4}\n\
         {\"@timestamp\":\"2026-02-02T01:00:00+02:00\",\"n\":5}\n",
    )
    .unwrap();
    let lake = dir.path().join("lake");
    let written = ok(&lakehunt(&[
        "ingest",
        export.to_str().unwrap(),
        "--out",
        lake.to_str().unwrap(),
    ]));
    let mut files: Vec<&str> = written.lines().collect();
    files.sort_unstable();
    // Each file's own order, read without sorting.
    let order = |file: &str| {
        ok(&lakehunt(&[
            "sql",
            "SELECT n FROM events",
            "--format",
            "csv",
            "--target-partitions",
            "1",
            "--data",
            file,
        ]))
    };
    assert_eq!(files.len(), 2);
    assert!(files[0].contains("eventDay=20260201"), "{}", files[0]);
    // 5 is 23:00 UTC, 2 is 23:59:59.999999.
    assert_eq!(order(files[0]), "n\n5\n2\n");
    assert_eq!(order(files[1]), "n\n3\n1\n4\n");
}

#[test]
fn ingesting_an_export_again_replaces_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("x.ndjson");
    std::fs::write(
        &export,
        "{\"@timestamp\":\"2026-02-02T08:00:00Z\",\"n\":1}\n",
    )
    .unwrap();
    let lake = dir.path().join("lake");
    let args = [
        "ingest",
        export.to_str().unwrap(),
        "--out",
        lake.to_str().unwrap(),
    ];
    let first = ok(&lakehunt(&args));
    assert_eq!(ok(&lakehunt(&args)), first);
    let count = |data: &str| {
        ok(&lakehunt(&[
            "sql",
            "SELECT count(*) AS n FROM events",
            "--format",
            "csv",
            "--data",
            data,
        ]))
    };
    assert_eq!(count(lake.to_str().unwrap()), "n\n1\n");
    // Another export of the same day sits beside it.
    let other = dir.path().join("y.ndjson");
    std::fs::write(
        &other,
        "{\"@timestamp\":\"2026-02-02T09:00:00Z\",\"n\":2}\n",
    )
    .unwrap();
    ok(&lakehunt(&[
        "ingest",
        other.to_str().unwrap(),
        "--out",
        lake.to_str().unwrap(),
    ]));
    assert_eq!(count(lake.to_str().unwrap()), "n\n2\n");
}

#[test]
fn standard_input_is_an_export_named_stdin_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let run = |input: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_lakehunt"))
            .args(["ingest", "-", "--quiet", "--out", lake.to_str().unwrap()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let out = run("{\"@timestamp\":\"2026-02-02T08:00:00Z\",\"n\":1}\n");
    assert_eq!(ok(&out).lines().count(), 1);
    assert_eq!(stderr(&out), "", "--quiet");
    let out = run("{\"@timestamp\":\"2026-02-02T08:00:00Z\"}\n{\"n\": }\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with("error: <stdin>:2: invalid JSON"),
        "{}",
        stderr(&out)
    );
}

/// Exit 2 and one line on stderr, naming what `needles` hold; nothing written.
fn refused(dir: &Path, export: &str, needles: &[&str]) {
    let path = dir.join("bad.ndjson");
    std::fs::write(&path, export).unwrap();
    let lake = dir.join("lake");
    let out = lakehunt(&[
        "ingest",
        path.to_str().unwrap(),
        "--out",
        lake.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{export}");
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    for needle in needles {
        assert!(err.contains(needle), "{needle:?} not in {err}");
    }
    assert!(!lake.exists(), "nothing is written for {export}");
}

#[test]
fn what_cannot_be_ingested_is_one_line_naming_the_field_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let t = "\"@timestamp\":\"2026-02-02T08:00:00Z\"";
    refused(
        dir.path(),
        &format!("{{{t},\"host\":{{\"name\":\"a\"}}}}\n{{{t},\"host\":\"b\"}}\n"),
        &[
            "bad.ndjson:2:",
            "field 'host' holds text here but an object on line 1",
        ],
    );
    // A dotted key against a value.
    refused(
        dir.path(),
        &format!("{{{t},\"user\":\"x\"}}\n\n{{{t},\"user.name\":\"y\"}}\n"),
        &["bad.ndjson:3:", "field 'user'"],
    );
    // Booleans and numbers with no text to join them: found after reading all.
    refused(
        dir.path(),
        &format!("{{{t},\"ok\":true}}\n{{{t},\"ok\":1}}\n"),
        &["field 'ok' holds a boolean", "on line 1", "on line 2"],
    );
    refused(
        dir.path(),
        "{\"n\":1}\n",
        &["bad.ndjson:1:", "no `@timestamp`"],
    );
    refused(
        dir.path(),
        "{\"@timestamp\":\"last tuesday\"}\n",
        &["bad.ndjson:1:", "'last tuesday' is not a date"],
    );
    refused(
        dir.path(),
        &format!("{{{t}}}\n{{\"a\":"),
        &["bad.ndjson:2:", "cut off"],
    );
    refused(
        dir.path(),
        "\n\nnot json\n",
        &["bad.ndjson:3:", "invalid JSON"],
    );
    refused(
        dir.path(),
        "{\"index\":{\"_id\":\"1\"}}\n",
        &["bad.ndjson:1:", "no source line"],
    );
    refused(dir.path(), "", &["no documents"]);
}
