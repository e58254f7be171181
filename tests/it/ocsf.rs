//! OCSF (Amazon Security Lake) data read through the shipped field map: the
//! egress hunt gives the same findings on the OCSF form of the generator's events
//! as on their ECS form, and the oracle's findings over the events as OCSF can
//! hold them (see `lakehunt::sample::ocsf_columns`).

use std::process::Command;

use lakehunt::sample::{Event, SampleLayout, SampleSpec, events, write};
use lakehunt::source::{Layout, SchemaMode};
use lakehunt::{Engine, EngineOptions, Error, hunt};

use crate::oracle::{AS_OF, Case, case, default_case, engine_rows, oracle};

/// The events as the OCSF form reads back through the map.
fn as_ocsf_reads(mut e: Event) -> Event {
    if e.destination_address.is_none() {
        e.destination_address.clone_from(&e.destination_ip);
    }
    e.os_family = e.os_family.map(|f| match f {
        "windows" => "windows",
        "macos" => "macos",
        _ => "linux",
    });
    e
}

fn spec(rows: usize, seed: u64, layout: SampleLayout) -> SampleSpec {
    let as_of = lakehunt::params::parse_instant(AS_OF).unwrap();
    let mut spec = SampleSpec::new(rows, seed, as_of, layout);
    spec.rows_per_file = rows / 3 + 1;
    spec.row_group_rows = rows / 10;
    spec
}

async fn findings(
    paths: &[String],
    mode: SchemaMode,
    window: Option<&str>,
    overrides: &[(String, String)],
) -> lakehunt::Result<Vec<(crate::oracle::Key, i64)>> {
    let as_of = lakehunt::params::parse_instant(AS_OF).unwrap();
    let bound = hunt::find("egress-bytes")?.bind(as_of, window, overrides)?;
    let options = EngineOptions {
        schema: mode,
        ..EngineOptions::default()
    };
    let engine = Engine::open(paths, &options).await?;
    Ok(engine_rows(&engine.run_hunt(&bound).await?.findings))
}

fn cases() -> Vec<Case> {
    vec![
        default_case(),
        case("24h", 20_000_000, "20MB", "any"),
        case("24h", 8 << 20, "8MiB", "linux"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ocsf_form_gives_the_ecs_forms_findings_and_the_oracles() {
    let dir = tempfile::tempdir().unwrap();
    let ecs = spec(40_000, 5, SampleLayout::Nested);
    let ocsf = spec(40_000, 5, SampleLayout::Ocsf);
    write(&ecs, &dir.path().join("ecs")).unwrap();
    write(&ocsf, &dir.path().join("ocsf")).unwrap();
    let ecs_paths = [dir.path().join("ecs").to_string_lossy().into_owned()];
    let ocsf_paths = [dir.path().join("ocsf").to_string_lossy().into_owned()];
    let read_back: Vec<Event> = events(&ocsf).map(as_ocsf_reads).collect();
    let as_of = lakehunt::params::parse_instant(AS_OF).unwrap();

    // The seed hunt, as shipped: the same findings on both forms.
    let on_ecs = findings(&ecs_paths, SchemaMode::Auto, None, &[])
        .await
        .unwrap();
    let on_ocsf = findings(&ocsf_paths, SchemaMode::Auto, None, &[])
        .await
        .unwrap();
    assert!(!on_ecs.is_empty());
    assert_eq!(on_ocsf, on_ecs);

    // Other windows, thresholds and OS families: the oracle over what OCSF holds.
    for (params, window, overrides) in cases() {
        let expected = oracle(&read_back, as_of, &params);
        assert!(!expected.is_empty(), "{overrides:?}");
        let got = findings(&ocsf_paths, SchemaMode::Ocsf, window, &overrides)
            .await
            .unwrap();
        assert_eq!(got, expected, "{overrides:?}");
    }

    // Read as ECS, the OCSF files lack the hunt's fields, and the error says so.
    let err = findings(&ocsf_paths, SchemaMode::Ecs, None, &[])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::MissingField { field, .. } if field == "@timestamp"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecs_and_ocsf_files_in_one_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let ecs = spec(20_000, 8, SampleLayout::Flat);
    let ocsf = spec(20_000, 9, SampleLayout::Ocsf);
    write(&ecs, &dir.path().join("ecs")).unwrap();
    write(&ocsf, &dir.path().join("ocsf")).unwrap();
    let paths = [dir.path().to_string_lossy().into_owned()];
    let engine = Engine::open(&paths, &EngineOptions::default())
        .await
        .unwrap();
    assert_eq!(engine.source().layout, Layout::Mixed);
    assert_eq!(engine.source().ocsf_version.as_deref(), Some("1.1.0"));
    drop(engine);

    let all: Vec<Event> = events(&ecs)
        .chain(events(&ocsf).map(as_ocsf_reads))
        .collect();
    let as_of = lakehunt::params::parse_instant(AS_OF).unwrap();
    for (params, window, overrides) in cases().into_iter().take(2) {
        let expected = oracle(&all, as_of, &params);
        assert!(!expected.is_empty(), "{overrides:?}");
        let got = findings(&paths, SchemaMode::Auto, window, &overrides)
            .await
            .unwrap();
        assert_eq!(got, expected, "{overrides:?}");
    }
}

#[test]
fn the_cli_says_what_ocsf_loses_once_and_records_the_version() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ocsf");
    write(&spec(5_000, 3, SampleLayout::Ocsf), &data).unwrap();
    let out = dir.path().join("findings.parquet");
    let o = Command::new(env!("CARGO_BIN_EXE_lakehunt"))
        .args([
            "run",
            "egress-bytes",
            "--data",
            data.to_str().unwrap(),
            "--as-of",
            AS_OF,
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("OCSF 1.1.0 read as ECS"), "{err}");
    assert_eq!(
        err.matches("note: on OCSF data, event.action:").count(),
        1,
        "{err}"
    );
    assert!(err.contains("Close"), "{err}");
    let reader =
        parquet::file::reader::SerializedFileReader::new(std::fs::File::open(&out).unwrap())
            .unwrap();
    let metadata = parquet::file::reader::FileReader::metadata(&reader)
        .file_metadata()
        .key_value_metadata()
        .cloned()
        .unwrap_or_default();
    assert!(
        metadata
            .iter()
            .any(|kv| kv.key == "lakehunt.ocsf_version" && kv.value.as_deref() == Some("1.1.0")),
        "{metadata:?}"
    );

    let o = Command::new(env!("CARGO_BIN_EXE_lakehunt"))
        .args(["hunts", "show", "egress-bytes"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("On OCSF data"), "{text}");
    assert!(text.contains("source.bytes <- traffic.bytes_out"), "{text}");
    assert!(text.contains("lossy: OCSF activity 2 (Close)"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_lake_partition_folders_are_columns_and_prune_files() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let east = lake.join("region=us-east-1/accountId=111111111111/eventDay=20260115");
    let west = lake.join("region=eu-west-1/accountId=222222222222/eventDay=20260115");
    write(&spec(6_000, 21, SampleLayout::Ocsf), &east).unwrap();
    write(&spec(4_000, 22, SampleLayout::Ocsf), &west).unwrap();
    let paths = [lake.to_string_lossy().into_owned()];
    let engine = Engine::open(&paths, &EngineOptions::default())
        .await
        .unwrap();
    let table = engine
        .sql(
            "SELECT region, \"accountId\", \"eventDay\", count(*) AS n FROM events \
             GROUP BY 1, 2, 3 ORDER BY 1",
        )
        .await
        .unwrap();
    let batch = arrow::compute::concat_batches(&table.schema, &table.batches).unwrap();
    let text = arrow::util::pretty::pretty_format_batches(&[batch])
        .unwrap()
        .to_string();
    assert!(
        text.contains("| eu-west-1 | 222222222222 | 20260115 | 4000 |"),
        "{text}"
    );
    assert!(
        text.contains("| us-east-1 | 111111111111 | 20260115 | 6000 |"),
        "{text}"
    );

    // A filter on a partition column leaves the other folders' files unopened.
    let plan = engine
        .sql("EXPLAIN SELECT count(*) FROM events WHERE region = 'eu-west-1'")
        .await
        .unwrap();
    let plan = arrow::util::pretty::pretty_format_batches(&plan.batches)
        .unwrap()
        .to_string();
    assert!(plan.contains("region=eu-west-1"), "{plan}");
    assert!(!plan.contains("region=us-east-1"), "{plan}");

    // The hunt runs over the partitioned lake as over any other.
    let all: Vec<Event> = events(&spec(6_000, 21, SampleLayout::Ocsf))
        .chain(events(&spec(4_000, 22, SampleLayout::Ocsf)))
        .map(as_ocsf_reads)
        .collect();
    let as_of = lakehunt::params::parse_instant(AS_OF).unwrap();
    let (params, window, overrides) = cases().swap_remove(1);
    let expected = oracle(&all, as_of, &params);
    let got = findings(&paths, SchemaMode::Auto, window, &overrides)
        .await
        .unwrap();
    assert_eq!(got, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn date_folders_outside_the_window_are_not_opened() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let today = lake.join("region=us-east-1/eventDay=20260115");
    let earlier = lake.join("region=us-east-1/eventDay=20260110");
    write(&spec(6_000, 31, SampleLayout::Ocsf), &today).unwrap();
    let as_of_earlier = lakehunt::params::parse_instant("2026-01-10T12:00:00Z").unwrap();
    write(
        &SampleSpec::new(6_000, 32, as_of_earlier, SampleLayout::Ocsf),
        &earlier,
    )
    .unwrap();
    let paths = [lake.to_string_lossy().into_owned()];
    let as_of = lakehunt::params::parse_instant(AS_OF).unwrap();
    let bound = hunt::find("egress-bytes")
        .unwrap()
        .bind(as_of, None, &[])
        .unwrap();
    let pruned = Engine::open(
        &paths,
        &EngineOptions {
            time_range: Some((bound.window_start, bound.as_of)),
            ..EngineOptions::default()
        },
    )
    .await
    .unwrap();
    assert!(
        pruned
            .source()
            .files
            .iter()
            .all(|f| f.to_string_lossy().contains("eventDay=20260115")),
        "{:?}",
        pruned.source().files
    );
    let all = Engine::open(&paths, &EngineOptions::default())
        .await
        .unwrap();
    assert!(all.source().files.len() > pruned.source().files.len());
    let a = engine_rows(&pruned.run_hunt(&bound).await.unwrap().findings);
    let b = engine_rows(&all.run_hunt(&bound).await.unwrap().findings);
    assert!(!a.is_empty());
    assert_eq!(a, b);
}
