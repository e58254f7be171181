//! `lakehunt pivot`: the events around a hunt's leads, checked against a
//! process tree written by hand and against a count over the sample.

use std::path::Path;

use crate::common::{AS_OF, lakehunt, ok, sample_in};

/// A parent P, the lead L it started, L's child C, an unrelated U; written as
/// an Elasticsearch export and ingested into a lake under `dir`.
fn process_tree(dir: &Path) -> String {
    let event = |t: &str, kind: &str, id: &str, parent: Option<&str>| {
        let parent = parent
            .map(|p| format!(",\"parent\":{{\"entity_id\":\"{p}\"}}"))
            .unwrap_or_default();
        format!(
            "{{\"@timestamp\":\"2026-02-01T{t}:00Z\",\"event\":{{\"type\":[\"{kind}\"]}},\
             \"process\":{{\"entity_id\":\"{id}\"{parent}}}}}\n"
        )
    };
    let export = [
        event("09:00", "start", "P", None),
        event("09:30", "change", "P", None), // not a start: not the parent's row
        event("10:00", "start", "L", Some("P")),
        event("10:05", "connection", "L", Some("P")),
        event("10:10", "start", "C", Some("L")),
        event("10:11", "connection", "C", Some("L")), // not a start: not the child's row
        event("10:30", "connection", "L", Some("P")),
        event("10:40", "start", "U", Some("P")),
        event("23:59", "connection", "L", Some("P")), // outside the window below
    ]
    .concat();
    ingested(dir, &export)
}

/// `export` (an Elasticsearch export, NDJSON) ingested into a lake under
/// `dir`: the lake's path.
fn ingested(dir: &Path, export: &str) -> String {
    let path = dir.join("export.ndjson");
    std::fs::write(&path, export).unwrap();
    let lake = dir.join("lake");
    ok(&lakehunt(&[
        "ingest",
        "-q",
        path.to_str().unwrap(),
        "--out",
        lake.to_str().unwrap(),
    ]));
    lake.to_str().unwrap().to_owned()
}

#[test]
fn a_lead_brings_its_events_its_parents_start_and_its_childrens_starts() {
    let dir = tempfile::tempdir().unwrap();
    let lake = process_tree(dir.path());
    let leads = dir.path().join("leads.csv");
    std::fs::write(&leads, "process.entity_id,total\nL,1\n").unwrap();
    let out = ok(&lakehunt(&[
        "pivot",
        "--findings",
        leads.to_str().unwrap(),
        "--data",
        &lake,
        "--from",
        "2026-02-01T00:00:00Z",
        "--to",
        "2026-02-01T12:00:00Z",
        "--format",
        "csv",
    ]));
    let rows: Vec<String> = out
        .lines()
        .skip(1)
        .map(|l| l.split(',').take(3).collect::<Vec<_>>().join(","))
        .collect();
    assert_eq!(
        rows,
        [
            "L,parent,2026-02-01T09:00:00Z",
            "L,self,2026-02-01T10:00:00Z",
            "L,self,2026-02-01T10:05:00Z",
            "L,child,2026-02-01T10:10:00Z",
            "L,self,2026-02-01T10:30:00Z",
        ],
        "{out}"
    );
    // The same as a page: the lead, its counts, its rows; nothing to run.
    let page = dir.path().join("around.html");
    ok(&lakehunt(&[
        "pivot",
        "--quiet",
        "--findings",
        leads.to_str().unwrap(),
        "--data",
        &lake,
        "--from",
        "2026-02-01T00:00:00Z",
        "--to",
        "2026-02-01T12:00:00Z",
        "--out",
        page.to_str().unwrap(),
    ]));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<h2>L</h2>"), "{html}");
    assert!(
        html.contains(">3 of its own<")
            && html.contains(">1 parent<")
            && html.contains(">1 children<")
    );
    assert_eq!(html.matches("<tr><td class=\"t\">").count(), 5);
    assert!(!html.contains("<script"));
    // Other commands have no HTML.
    let sql = lakehunt(&["sql", "SELECT 1", "--data", &lake, "--format", "html"]);
    assert_eq!(sql.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&sql.stderr).contains("pivot"));
}

#[test]
fn findings_lakehunt_wrote_give_their_own_window() {
    let dir = tempfile::tempdir().unwrap();
    let sample = sample_in(dir.path(), 20_000);
    let as_of = AS_OF;
    let findings = dir.path().join("findings.parquet");
    let (sample, findings) = (sample.to_str().unwrap(), findings.to_str().unwrap());
    ok(&lakehunt(&[
        "run",
        "egress-bytes",
        "--quiet",
        "--as-of",
        as_of,
        "--data",
        sample,
        "--out",
        findings,
    ]));
    let pivoted = lakehunt(&[
        "pivot",
        "--findings",
        findings,
        "--data",
        sample,
        "--around",
        "2h",
        "--format",
        "csv",
    ]);
    let out = ok(&pivoted);
    // The hunt's 8 hours, 2 more on each side: (02:00, 14:00].
    assert!(
        String::from_utf8_lossy(&pivoted.stderr)
            .contains("in (2026-01-15T02:00:00Z, 2026-01-15T14:00:00Z]"),
        "{}",
        String::from_utf8_lossy(&pivoted.stderr)
    );
    // The same count, brute force: the leads' events in that window.
    let leads = ok(&lakehunt(&[
        "sql",
        "SELECT DISTINCT \"process.entity_id\" AS id FROM events WHERE \"process.entity_id\" IS NOT NULL",
        "--format",
        "csv",
        "--data",
        findings,
    ]));
    let list: Vec<String> = leads.lines().skip(1).map(|id| format!("'{id}'")).collect();
    assert!(list.len() > 1, "{leads}");
    let count = ok(&lakehunt(&[
        "sql",
        &format!(
            "SELECT count(*) AS n FROM events WHERE \"process.entity_id\" IN ({}) \
             AND \"@timestamp\" > '2026-01-15T02:00:00Z' AND \"@timestamp\" <= '2026-01-15T14:00:00Z'",
            list.join(", ")
        ),
        "--format",
        "csv",
        "--data",
        sample,
    ]));
    assert_eq!(count, format!("n\n{}\n", out.lines().count() - 1));
    assert!(
        out.lines()
            .skip(1)
            .all(|l| l.split(',').nth(1) == Some("self"))
    );
}

/// Day folders outside the window are not opened, and stderr says so (as
/// `run` and `backfill` do).
#[test]
fn day_folders_skipped_are_said() {
    let dir = tempfile::tempdir().unwrap();
    let lake = ingested(
        dir.path(),
        "{\"@timestamp\":\"2026-02-01T10:00:00Z\",\"process\":{\"entity_id\":\"L\"}}\n\
         {\"@timestamp\":\"2026-02-03T10:00:00Z\",\"process\":{\"entity_id\":\"L\"}}\n",
    );
    let leads = dir.path().join("leads.csv");
    std::fs::write(&leads, "process.entity_id\nL\n").unwrap();
    let out = lakehunt(&[
        "pivot",
        "--findings",
        leads.to_str().unwrap(),
        "--data",
        &lake,
        "--from",
        "2026-02-01T00:00:00Z",
        "--to",
        "2026-02-01T12:00:00Z",
        "--format",
        "csv",
    ]);
    let rows = ok(&out);
    assert_eq!(rows.lines().count(), 2, "{rows}");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("note: 1 file not opened in day folders (eventDay=) outside the window"),
        "{said}"
    );
}

#[test]
fn findings_without_entity_ids_are_refused_naming_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let leads = dir.path().join("leads.csv");
    std::fs::write(&leads, "host.name\nh1\n").unwrap();
    let out = lakehunt(&[
        "pivot",
        "--findings",
        leads.to_str().unwrap(),
        "--data",
        "x",
        "--format",
        "csv",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("Parquet"), "a CSV is no Parquet file: {err}");
    assert!(
        err.contains("leads.csv") && err.contains("process.entity_id"),
        "{err}"
    );
}

#[test]
fn the_sample_with_processes_gives_each_planted_lead_its_parent_and_child() {
    let dir = tempfile::tempdir().unwrap();
    let plain = sample_in(dir.path(), 20_000);
    let with = dir.path().join("with-processes");
    ok(&lakehunt(&[
        "sample",
        "--rows",
        "20000",
        "--as-of",
        AS_OF,
        "--processes",
        "--out",
        with.to_str().unwrap(),
    ]));
    // The network events, and so the hunt's findings, are the same.
    let hunt = |data: &str, out: &Path| {
        ok(&lakehunt(&[
            "run",
            "egress-bytes",
            "--quiet",
            "--as-of",
            AS_OF,
            "--data",
            data,
            "--out",
            out.to_str().unwrap(),
        ]));
        ok(&lakehunt(&[
            "sql",
            "SELECT * FROM events ORDER BY 1, 2, 3",
            "--format",
            "csv",
            "--data",
            out.to_str().unwrap(),
        ]))
    };
    let findings = dir.path().join("findings.parquet");
    let expected = hunt(plain.to_str().unwrap(), &dir.path().join("plain.parquet"));
    assert_eq!(hunt(with.to_str().unwrap(), &findings), expected);
    let pivoted = ok(&lakehunt(&[
        "pivot",
        "--quiet",
        "--findings",
        findings.to_str().unwrap(),
        "--data",
        with.to_str().unwrap(),
        "--format",
        "csv",
    ]));
    let mut lines = pivoted.lines();
    let header: Vec<String> = csv_fields(lines.next().unwrap());
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (finding, relation, entity, parent, action) = (
        col("finding"),
        col("relation"),
        col("process.entity_id"),
        col("process.parent.entity_id"),
        col("event.action"),
    );
    let rows: Vec<Vec<String>> = lines.map(csv_fields).collect();
    let leads: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r[finding].as_str()).collect();
    assert_eq!(leads.len(), 7, "the planted findings with an entity id");
    for lead in leads {
        let of = |rel: &str| -> Vec<&Vec<String>> {
            rows.iter()
                .filter(|r| r[finding] == lead && r[relation] == rel)
                .collect()
        };
        let start = of("self")
            .into_iter()
            .find(|r| r[action] == "start")
            .unwrap_or_else(|| panic!("{lead} has its start event"));
        let parents = of("parent");
        assert_eq!(parents.len(), 1, "{lead}: {parents:?}");
        assert_eq!(parents[0][entity], start[parent], "{lead}");
        let children = of("child");
        assert_eq!(children.len(), 1, "{lead}: {children:?}");
        assert_eq!(children[0][parent], lead);
    }
}

/// One CSV line's fields: a quoted field may hold commas (a list's values, a
/// command line), `""` is a quote.
fn csv_fields(line: &str) -> Vec<String> {
    let (mut fields, mut field, mut quoted) = (vec![], String::new(), false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    fields.push(field);
    fields
}
