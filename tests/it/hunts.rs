//! Catalogue lint and golden outputs: every shipped hunt parses, has a golden
//! directory, and gives its reviewed findings on the committed fixture.
//!
//! Re-bless after a reviewed change with `LAKEHUNT_BLESS=1 cargo test --test it hunts`.

use std::path::Path;

use lakehunt::output::{Format, write_file};
use lakehunt::{Engine, EngineOptions, hunt};

const FIXTURE_AS_OF: &str = "2026-01-15T12:00:00Z";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_hunt_file_is_valid_and_named_by_its_id() {
    let catalog = hunt::catalog().unwrap();
    let files: Vec<_> = std::fs::read_dir(root().join("data/hunts"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(catalog.len(), files.len(), "every file is embedded");
    for h in &catalog {
        assert!(
            !h.hunt.description.trim().is_empty(),
            "{} has a description",
            h.id()
        );
        assert!(
            !h.hunt.mitre.is_empty(),
            "{} names ATT&CK techniques",
            h.id()
        );
        assert!(!h.hunt.uuid.is_empty(), "{} has a uuid", h.id());
        assert!(
            root()
                .join("tests/golden")
                .join(h.id())
                .join("expected.csv")
                .is_file(),
            "{} has a golden file",
            h.id()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hunt_gives_its_golden_findings_on_the_fixture() {
    let data = root().join("data/fixtures/endpoint-network");
    let as_of = lakehunt::params::parse_instant(FIXTURE_AS_OF).unwrap();
    let engine = Engine::open(
        &[data.to_string_lossy().into_owned()],
        &EngineOptions::default(),
    )
    .await
    .unwrap();
    for h in hunt::catalog().unwrap() {
        let out = engine
            .run_hunt(&h.bind(as_of, None, &[]).unwrap())
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("out.csv");
        write_file(&csv, Format::Csv, &out.findings, &[]).unwrap();
        let got = std::fs::read_to_string(&csv).unwrap();
        let golden = root()
            .join("tests/golden")
            .join(h.id())
            .join("expected.csv");
        if std::env::var_os("LAKEHUNT_BLESS").is_some() {
            std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
            std::fs::write(&golden, &got).unwrap();
        }
        let expected = std::fs::read_to_string(&golden).unwrap();
        assert_eq!(
            got,
            expected,
            "{}: findings differ from {}",
            h.id(),
            golden.display()
        );

        // The Parquet form reads back to the same rows.
        let pq = dir.path().join("out.parquet");
        write_file(&pq, Format::Parquet, &out.findings, &[]).unwrap();
        let again = Engine::open(
            &[pq.to_string_lossy().into_owned()],
            &EngineOptions::default(),
        )
        .await
        .unwrap();
        let back = again.sql("SELECT * FROM events_raw").await.unwrap();
        let csv2 = dir.path().join("back.csv");
        write_file(&csv2, Format::Csv, &back, &[]).unwrap();
        assert_eq!(std::fs::read_to_string(&csv2).unwrap(), expected);
    }
}
