//! ES|QL as written: the shipped hunt's ES|QL form (`[hunt] query`, Elastic's
//! text) gives the same findings as its SQL form, on each layout, and `NOW()` is
//! `--as-of` with later events invisible.

use std::sync::Arc;

use arrow::array::{Array, AsArray};
use arrow::datatypes::Int64Type;
use lakehunt::sample::{SampleLayout, SampleSpec, write};
use lakehunt::{Engine, EngineOptions, hunt};

use crate::oracle::{AS_OF, Key, engine_rows};

fn esql_rows(table: &lakehunt::Table) -> Vec<(Key, i64)> {
    // ES|QL's STATS puts the aggregate first, then the BY keys.
    let text = |a: &dyn Array, i: usize| -> Option<String> {
        let a = arrow::compute::cast(&a.slice(i, 1), &arrow::datatypes::DataType::Utf8).unwrap();
        let a = a.as_string::<i32>();
        a.is_valid(0).then(|| a.value(0).to_owned())
    };
    let mut out = vec![];
    for b in &table.batches {
        let totals = b.column(0).as_primitive::<Int64Type>();
        for i in 0..b.num_rows() {
            out.push((
                (
                    text(b.column(1).as_ref(), i),
                    text(b.column(2).as_ref(), i),
                    text(b.column(3).as_ref(), i),
                ),
                totals.value(i),
            ));
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hunts_esql_form_equals_its_sql_form() {
    let hunt = hunt::find("egress-bytes").unwrap();
    let query = &hunt.hunt.query[0];
    let as_of = lakehunt::params::parse_instant(AS_OF).unwrap();
    let bound = hunt.bind(as_of, None, &[]).unwrap();
    for layout in [SampleLayout::Nested, SampleLayout::Flat, SampleLayout::Ocsf] {
        let dir = tempfile::tempdir().unwrap();
        let mut spec = SampleSpec::new(30_000, 3, as_of, layout);
        spec.rows_per_file = 10_000;
        write(&spec, dir.path()).unwrap();
        let engine = Engine::open(
            &[dir.path().to_string_lossy().into_owned()],
            &EngineOptions::default(),
        )
        .await
        .unwrap();
        let mut sql = engine_rows(&engine.run_hunt(&bound).await.unwrap().findings);
        sql.sort();
        let esql = esql_rows(&engine.esql(query, as_of).await.unwrap());
        assert!(!sql.is_empty());
        assert_eq!(esql, sql, "{layout:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn now_is_as_of_and_later_events_are_invisible() {
    let dir = tempfile::tempdir().unwrap();
    let as_of = lakehunt::params::parse_instant(AS_OF).unwrap();
    // The sample runs to an hour after its as-of.
    write(
        &SampleSpec::new(5_000, 4, as_of, SampleLayout::Flat),
        dir.path(),
    )
    .unwrap();
    let engine = Engine::open(
        &[dir.path().to_string_lossy().into_owned()],
        &EngineOptions::default(),
    )
    .await
    .unwrap();
    let count = |q: &str, at: &str| {
        let at = lakehunt::params::parse_instant(at).unwrap();
        let engine = &engine;
        let q = q.to_owned();
        async move {
            let t = engine.esql(&q, at).await.unwrap();
            t.batches[0].column(0).as_primitive::<Int64Type>().value(0)
        }
    };
    let all = count("FROM logs-* | STATS n = COUNT(*)", "2030-01-01T00:00:00Z").await;
    let before = count("FROM logs-* | STATS n = COUNT(*)", AS_OF).await;
    assert!(
        before < all,
        "events after --as-of are invisible: {before} < {all}"
    );
    let table = engine
        .sql(&format!(
            "SELECT count(*) FROM events WHERE \"@timestamp\" <= arrow_cast('{AS_OF}', 'Timestamp(Microsecond, Some(\"UTC\"))')"
        ))
        .await
        .unwrap();
    let expected = table.batches[0]
        .column(0)
        .as_primitive::<Int64Type>()
        .value(0);
    assert_eq!(before, expected);
    // now() - 1 hour, spelled three ways.
    let a = count(
        "FROM x | WHERE @timestamp > now() - 1 hour | STATS n = COUNT(*)",
        AS_OF,
    )
    .await;
    let b = count(
        "from x | where @timestamp > NOW() - 60 minutes | stats n = count(*)",
        AS_OF,
    )
    .await;
    let c = count("FROM x // trailing comment\n| WHERE @timestamp > now() - 1h /* span */ | STATS n = COUNT(*)", AS_OF).await;
    assert!(a > 0 && a == b && b == c, "{a} {b} {c}");
}

/// ES|QL's warnings, counted against the generator's own events: a comparison
/// on a multi-valued `event.category` (several distinct values) and a division
/// by zero on every row with a value to divide.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warnings_count_multi_valued_reads_and_divisions_by_zero() {
    let as_of = lakehunt::params::parse_instant(AS_OF).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut spec = SampleSpec::new(20_000, 5, as_of, SampleLayout::Nested);
    spec.rows_per_file = 7_000;
    write(&spec, dir.path()).unwrap();
    let events: Vec<lakehunt::sample::Event> = lakehunt::sample::events(&spec).collect();
    let as_of_us = as_of / 1000;
    let visible = || events.iter().filter(|e| e.timestamp <= as_of_us);
    let multi = visible()
        .filter(|e| {
            let mut c = e.category.clone().unwrap_or_default();
            c.sort_unstable();
            c.dedup();
            c.len() > 1
        })
        .count() as u64;
    let divided = visible().filter(|e| e.source_bytes.is_some()).count() as u64;
    assert!(multi > 0 && divided > 0);

    let engine = Engine::open(
        &[dir.path().to_string_lossy().into_owned()],
        &EngineOptions::default(),
    )
    .await
    .unwrap();
    let count = |warnings: &[lakehunt::Warning], name: &str| {
        warnings
            .iter()
            .find(|w| w.name == name)
            .map_or(0, |w| w.count)
    };
    let (_, warnings) = engine
        .esql_observed(
            "FROM x | WHERE event.category == \"network\" | STATS n = COUNT(*)",
            as_of,
            &mut |_| {},
        )
        .await
        .unwrap();
    assert_eq!(count(&warnings, "multi_valued"), multi, "{warnings:?}");
    assert_eq!(count(&warnings, "division_by_zero"), 0);

    let (table, warnings) = engine
        .esql_observed(
            "FROM x | EVAL z = source.bytes / (destination.port - destination.port) / 2 \
             | STATS n = COUNT(z)",
            as_of,
            &mut |_| {},
        )
        .await
        .unwrap();
    assert_eq!(
        count(&warnings, "division_by_zero"),
        divided,
        "{warnings:?}"
    );
    let n = table.batches[0]
        .column(0)
        .as_primitive::<Int64Type>()
        .value(0);
    assert_eq!(n, 0, "every quotient is NULL");
    // A fresh query starts from zero.
    let (_, warnings) = engine
        .esql_observed("FROM x | STATS n = COUNT(*)", as_of, &mut |_| {})
        .await
        .unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
}

/// `METADATA _id` is `file:row`: read straight from that file with the Parquet
/// crate (no DataFusion), the row holds the same event, also when the time
/// filter skips whole row groups before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_id_names_each_events_file_and_row() {
    use arrow::datatypes::TimestampMicrosecondType;
    let as_of = lakehunt::params::parse_instant(AS_OF).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut spec = SampleSpec::new(9_000, 8, as_of, SampleLayout::Flat);
    spec.rows_per_file = 4_000;
    spec.row_group_rows = 500;
    write(&spec, dir.path()).unwrap();
    let engine = Engine::open(
        &[dir.path().to_string_lossy().into_owned()],
        &EngineOptions::default(),
    )
    .await
    .unwrap();
    let table = engine
        .esql(
            "FROM x METADATA _id | WHERE @timestamp > NOW() - 3 hours \
             | KEEP _id, @timestamp, process.pid | SORT @timestamp | LIMIT 40",
            as_of,
        )
        .await
        .unwrap();
    let mut checked = 0;
    for batch in &table.batches {
        let ids = arrow::compute::cast(batch.column(0), &arrow::datatypes::DataType::Utf8).unwrap();
        let ids = ids.as_string::<i32>();
        let times = batch.column(1).as_primitive::<TimestampMicrosecondType>();
        let pids = batch.column(2).as_primitive::<Int64Type>();
        for i in 0..batch.num_rows() {
            let (file, row) = ids.value(i).rsplit_once(':').unwrap();
            let row: usize = row.parse().unwrap();
            let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                std::fs::File::open(file).unwrap(),
            )
            .unwrap()
            .with_offset(row)
            .with_limit(1)
            .build()
            .unwrap();
            let found = reader.map(|b| b.unwrap()).next().unwrap();
            let ts = found
                .column_by_name("@timestamp")
                .unwrap()
                .as_primitive::<TimestampMicrosecondType>()
                .value(0);
            let pid = found
                .column_by_name("process.pid")
                .unwrap()
                .as_primitive::<Int64Type>()
                .value(0);
            assert_eq!(
                (ts, pid),
                (times.value(i), pids.value(i)),
                "{}",
                ids.value(i)
            );
            // Rows after the first row groups: the skipped groups still count.
            assert!(row >= 500, "{}", ids.value(i));
            checked += 1;
        }
    }
    assert_eq!(checked, 40);
}

/// `+`, `-` and `*` on whole numbers give NULL past the long range, with one
/// warning per row, where SQL would wrap around; in range they are exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integer_overflow_is_null_with_a_warning() {
    let as_of = lakehunt::params::parse_instant(AS_OF).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("part-0.parquet");
    let n: Vec<i64> = vec![i64::MAX, i64::MAX - 1, -5, i64::MIN];
    let schema = Arc::new(arrow::datatypes::Schema::new(vec![
        arrow::datatypes::Field::new(
            "@timestamp",
            arrow::datatypes::DataType::Timestamp(
                arrow::datatypes::TimeUnit::Millisecond,
                Some("UTC".into()),
            ),
            false,
        ),
        arrow::datatypes::Field::new("event.n", arrow::datatypes::DataType::Int64, true),
    ]));
    let ts = arrow::array::TimestampMillisecondArray::from(vec![as_of / 1_000_000 - 1; n.len()])
        .with_timezone("UTC");
    let batch = arrow::record_batch::RecordBatch::try_new(
        Arc::clone(&schema),
        vec![Arc::new(ts), Arc::new(arrow::array::Int64Array::from(n))],
    )
    .unwrap();
    let engine = engine_over(&path, &batch).await;
    let (table, warnings) = engine
        .esql_observed(
            "FROM x | EVAL a = event.n + 1, s = event.n - 2, m = event.n * 2 \
             | KEEP a, s, m",
            as_of,
            &mut |_| {},
        )
        .await
        .unwrap();
    let column = |i: usize| -> Vec<Option<i64>> {
        table
            .batches
            .iter()
            .flat_map(|b| {
                b.column(i)
                    .as_primitive::<Int64Type>()
                    .iter()
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    // Worked out by hand: MAX + 1, MIN - 2 and three of the doublings leave the range.
    assert_eq!(
        column(0),
        [None, Some(i64::MAX), Some(-4), Some(i64::MIN + 1)]
    );
    assert_eq!(
        column(1),
        [Some(i64::MAX - 2), Some(i64::MAX - 3), Some(-7), None]
    );
    assert_eq!(column(2), [None, None, Some(-10), None]);
    let overflow = warnings
        .iter()
        .find(|w| w.name == "arithmetic_overflow")
        .map_or(0, |w| w.count);
    assert_eq!(overflow, 5, "{warnings:?}");
}

/// DATE_DIFF in months, quarters and years against a port of Java's
/// `LocalDateTime.until` (date arithmetic in `chrono`, independent of the SQL
/// the translator writes), over pairs around month ends and in both orders.
/// The port follows Java's own arithmetic, as the translation does; the
/// cases worked by hand, without either, are in `tests/slt/esql/tier3.slt`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::too_many_lines,
    reason = "the oracle's month arithmetic sits beside the cases it checks"
)]
async fn date_diff_in_calendar_units_follows_java() {
    use chrono::{Datelike, Duration, NaiveDateTime, TimeZone, Utc};
    fn months_until(s: NaiveDateTime, e: NaiveDateTime) -> i64 {
        let (sd, mut ed) = (s.date(), e.date());
        if ed > sd && e.time() < s.time() {
            ed -= Duration::days(1);
        } else if ed < sd && e.time() > s.time() {
            ed += Duration::days(1);
        }
        let packed = |d: chrono::NaiveDate| {
            (i64::from(d.year()) * 12 + i64::from(d.month0())) * 32 + i64::from(d.day())
        };
        (packed(ed) - packed(sd)) / 32
    }
    // Deterministic pairs: starts on the 1st, 15th, 28th-31st at three times of
    // day, ends up to three years either side, at the same or another time.
    let mut pairs = vec![];
    let mut seed: u64 = 42;
    let mut next = |n: u64| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (seed >> 33) % n
    };
    for _ in 0..300 {
        let month = 1 + u32::try_from(next(12)).unwrap();
        let year = 2020 + i32::try_from(next(6)).unwrap();
        let day = [1, 15, 28, 29, 30, 31][usize::try_from(next(6)).unwrap()];
        let Some(date) = chrono::NaiveDate::from_ymd_opt(year, month, day) else {
            continue;
        };
        let start = date
            .and_hms_opt([0, 10, 23][usize::try_from(next(3)).unwrap()], 0, 0)
            .unwrap();
        let shift = i64::try_from(next(6 * 365)).unwrap() - 3 * 365;
        let mut end = start + Duration::days(shift);
        if next(2) == 0 {
            end += Duration::seconds(i64::try_from(next(86_400)).unwrap() - 43_200);
        }
        pairs.push((start, end));
    }
    let millis = |t: NaiveDateTime| Utc.from_utc_datetime(&t).timestamp_millis();
    let dir = tempfile::tempdir().unwrap();
    let schema = Arc::new(arrow::datatypes::Schema::new(
        ["@timestamp", "s", "e"]
            .iter()
            .map(|name| {
                arrow::datatypes::Field::new(
                    *name,
                    arrow::datatypes::DataType::Timestamp(
                        arrow::datatypes::TimeUnit::Millisecond,
                        Some("UTC".into()),
                    ),
                    false,
                )
            })
            .chain([arrow::datatypes::Field::new(
                "i",
                arrow::datatypes::DataType::Int64,
                false,
            )])
            .collect::<Vec<_>>(),
    ));
    let column = |values: Vec<i64>| {
        Arc::new(arrow::array::TimestampMillisecondArray::from(values).with_timezone("UTC"))
            as arrow::array::ArrayRef
    };
    let batch = arrow::record_batch::RecordBatch::try_new(
        Arc::clone(&schema),
        vec![
            column(vec![0; pairs.len()]),
            column(pairs.iter().map(|p| millis(p.0)).collect()),
            column(pairs.iter().map(|p| millis(p.1)).collect()),
            Arc::new(arrow::array::Int64Array::from_iter_values(
                0..i64::try_from(pairs.len()).unwrap(),
            )),
        ],
    )
    .unwrap();
    let engine = engine_over(&dir.path().join("part-0.parquet"), &batch).await;
    let as_of = lakehunt::params::parse_instant("2030-01-01T00:00:00Z").unwrap();
    let (table, _) = engine
        .esql_observed(
            "FROM x | EVAL m = DATE_DIFF(\"month\", s, e), q = DATE_DIFF(\"quarter\", s, e), \
             y = DATE_DIFF(\"years\", s, e) | KEEP i, m, q, y | SORT i",
            as_of,
            &mut |_| {},
        )
        .await
        .unwrap();
    let mut got = vec![];
    for b in &table.batches {
        let int = |c: usize| {
            b.column(c)
                .as_primitive::<arrow::datatypes::Int32Type>()
                .clone()
        };
        let (m, q, y) = (int(1), int(2), int(3));
        for r in 0..b.num_rows() {
            got.push((
                i64::from(m.value(r)),
                i64::from(q.value(r)),
                i64::from(y.value(r)),
            ));
        }
    }
    let expected: Vec<(i64, i64, i64)> = pairs
        .iter()
        .map(|&(s, e)| {
            let m = months_until(s, e);
            (m, m / 3, m / 12)
        })
        .collect();
    assert_eq!(got.len(), expected.len());
    for (i, (g, x)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(g, x, "pair {i}: {} -> {}", pairs[i].0, pairs[i].1);
    }
}

/// An engine over one Parquet file at `path` holding `batch`.
async fn engine_over(path: &std::path::Path, batch: &arrow::record_batch::RecordBatch) -> Engine {
    let file = std::fs::File::create(path).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    writer.write(batch).unwrap();
    writer.close().unwrap();
    Engine::open(
        &[path.to_string_lossy().into_owned()],
        &EngineOptions::default(),
    )
    .await
    .unwrap()
}

/// Deep input is refused in one line within seconds, never a crash: 20,000
/// parentheses, 20,000 NOTs, 60,000 ORs (each aborted the process with a
/// stack overflow before).
#[test]
fn deeply_nested_queries_are_refused_not_crashed() {
    let cases = [
        (
            format!(
                "FROM logs-* | WHERE {}true{}",
                "(".repeat(20_000),
                ")".repeat(20_000)
            ),
            "nest more than",
        ),
        (
            format!("FROM logs-* | WHERE {}true", "not ".repeat(20_000)),
            "NOTs nested",
        ),
        (
            format!(
                "FROM logs-* | WHERE {}",
                vec!["host.name == \"a\""; 60_000].join(" or ")
            ),
            "AND/OR terms",
        ),
        (
            format!("FROM logs-* | {}", vec!["KEEP x"; 10_001].join(" | ")),
            "more than 10000 commands",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("deep.esql");
    for (query, needle) in cases {
        std::fs::write(&file, &query).unwrap();
        let started = std::time::Instant::now();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_lakehunt"))
            .args([
                "esql",
                "--file",
                file.to_str().unwrap(),
                "--data",
                "no-such-lake",
            ])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(needle), "{needle:?} not in {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(started.elapsed().as_secs() < 10);
    }
}

/// A column an EVAL made constant is copied where a later expression reads
/// it, so only small values are: a chain that doubles at every step took all
/// the memory (24 GB, killed) before the cap; it answers at once now.
#[test]
fn a_chain_of_doubling_constants_answers_at_once() {
    let names: Vec<String> = (0..30).map(|i| format!("c{i}")).collect();
    let mut query = "ROW c0 = 1 | EVAL ".to_owned();
    let steps: Vec<String> = names
        .windows(2)
        .map(|pair| format!("{} = {} + {}", pair[1], pair[0], pair[0]))
        .collect();
    query.push_str(&steps.join(", "));
    query.push_str(" | KEEP c29");
    let started = std::time::Instant::now();
    let out = super::common::lakehunt(&["esql", &query, "--format", "csv"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        super::common::stderr(&out)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "c29\n536870912\n");
    assert!(started.elapsed().as_secs() < 10);
}

/// A time zone read from the data enters the SQL an ES|QL query becomes;
/// one that could end its string is refused, naming the field, not spliced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_time_zone_in_the_data_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (zone, ok) in [
        ("+02:00", true),
        ("UTC')) AS x, 'y", false),
        ("UTC\"", false),
    ] {
        let schema = Arc::new(arrow::datatypes::Schema::new(vec![
            arrow::datatypes::Field::new(
                "@timestamp",
                arrow::datatypes::DataType::Timestamp(
                    arrow::datatypes::TimeUnit::Millisecond,
                    Some(zone.into()),
                ),
                false,
            ),
        ]));
        let batch = arrow::record_batch::RecordBatch::try_new(
            Arc::clone(&schema),
            vec![Arc::new(
                arrow::array::TimestampMillisecondArray::from(vec![1_768_478_400_000])
                    .with_timezone(zone),
            )],
        )
        .unwrap();
        let path = dir.path().join(format!("zone-{}.parquet", zone.len()));
        let engine = engine_over(&path, &batch).await;
        let as_of = lakehunt::params::parse_instant("2026-01-16T00:00:00Z").unwrap();
        let ran = engine
            .esql(
                "FROM x | EVAL t = TO_DATETIME(\"2026-01-15T12:00:00Z\") | KEEP t",
                as_of,
            )
            .await;
        if ok {
            assert_eq!(ran.unwrap().num_rows(), 1, "{zone}");
        } else {
            let err = ran.unwrap_err().to_string();
            assert!(
                err.starts_with("invalid value for @timestamp: the data gives it the time zone"),
                "{zone}: {err}"
            );
        }
    }
}

/// Data without `@timestamp` (an asset inventory) runs, every row visible,
/// and the run says so: a warning on the engine's list, on the command's
/// stderr, as for any other.
#[tokio::test]
async fn data_without_a_timestamp_runs_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let schema = Arc::new(arrow::datatypes::Schema::new(vec![
        arrow::datatypes::Field::new("host.name", arrow::datatypes::DataType::Utf8, true),
        arrow::datatypes::Field::new("asset.criticality", arrow::datatypes::DataType::Int64, true),
    ]));
    let batch = arrow::record_batch::RecordBatch::try_new(
        schema,
        vec![
            Arc::new(arrow::array::StringArray::from(vec!["a", "b", "c"])),
            Arc::new(arrow::array::Int64Array::from(vec![3, 1, 2])),
        ],
    )
    .unwrap();
    let path = dir.path().join("assets.parquet");
    let engine = engine_over(&path, &batch).await;
    // As of the epoch: with a time, nothing would be visible.
    let (table, warnings) = engine
        .esql_observed(
            "FROM assets | WHERE asset.criticality >= 2 | STATS n = COUNT(*)",
            0,
            &mut |_| {},
        )
        .await
        .unwrap();
    let n = table.batches[0]
        .column(0)
        .as_primitive::<Int64Type>()
        .value(0);
    assert_eq!(n, 2);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].name, "no_timestamp");

    let o = std::process::Command::new(env!("CARGO_BIN_EXE_lakehunt"))
        .args([
            "esql",
            "FROM assets | STATS n = COUNT(*)",
            "--format",
            "csv",
            "--data",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "n\n3\n");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("warning: the data has no @timestamp: every row is visible"),
        "{stderr}"
    );
}

/// Long pipelines and OR chains run, through the command (whose planning
/// thread has the stack for them): DataFusion's SQL parser stopped at 50
/// levels, about 25 ES|QL commands or 50 OR terms ("RecursionLimitExceeded").
/// 60 EVALs and 500 OR terms (the most one command may have) give the counts
/// worked out from the sample: every event, and none of the ports 0-499 (the
/// sample's ports are 1,024 and above, checked too).
#[test]
fn long_pipelines_and_or_chains_run() {
    let dir = tempfile::tempdir().unwrap();
    let as_of = lakehunt::params::parse_instant(AS_OF).unwrap();
    let data = dir.path().join("sample");
    write(
        &SampleSpec::new(5_000, 42, as_of, SampleLayout::Nested),
        &data,
    )
    .unwrap();
    let file = dir.path().join("query.esql");
    let count = |query: &str| -> String {
        std::fs::write(&file, query).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_lakehunt"))
            .args(["esql", "--as-of", AS_OF, "--format", "csv", "--file"])
            .arg(&file)
            .arg("--data")
            .arg(&data)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .nth(1)
            .unwrap()
            .to_owned()
    };
    let all = count("FROM logs-* | STATS n = COUNT(*)");
    assert_ne!(all, "0");
    let evals: Vec<String> = (0..60)
        .map(|i| format!("EVAL x{i} = source.port + {i}"))
        .collect();
    assert_eq!(
        count(&format!(
            "FROM logs-* | {} | STATS n = COUNT(*)",
            evals.join(" | ")
        )),
        all
    );
    // EVALs in a row are one EVAL: 2,000 of them, each adding a column, are
    // one projection (as 2,000 nested ones DataFusion would plan for hours).
    let evals: Vec<String> = (0..2_000)
        .map(|i| format!("EVAL x{i} = source.port + {i}"))
        .collect();
    assert_eq!(
        count(&format!(
            "FROM logs-* | {} | STATS d = MAX(x1999 - x0), n = COUNT(*)",
            evals.join(" | ")
        )),
        format!("1999,{all}")
    );
    // Each replacing the one before and reading it once: folded into one
    // expression, 200 deep (past the 150 levels that would refuse them).
    let chain = "| EVAL a = a + 1 ".repeat(200);
    assert_eq!(
        count(&format!(
            "FROM logs-* | EVAL a = source.port {chain}| STATS d = MIN(a - source.port)"
        )),
        "200"
    );
    // Each reading the one before twice: a projection each, 140 deep.
    let chain = "| EVAL a = a + a - a ".repeat(139);
    assert_eq!(
        count(&format!(
            "FROM logs-* | EVAL a = source.port {chain}| STATS d = MIN(a - source.port)"
        )),
        "0"
    );
    let ports: Vec<String> = (0..500).map(|p| format!("source.port == {p}")).collect();
    assert_eq!(
        count(&format!(
            "FROM logs-* | WHERE {} | STATS n = COUNT(*)",
            ports.join(" OR ")
        )),
        "0"
    );
    assert_eq!(
        count("FROM logs-* | WHERE source.port < 1024 | STATS n = COUNT(*)"),
        "0"
    );
}

/// Plans deeper than 150 levels are refused in one line, naming the
/// command that goes past: a chain of EVALs each reading the one before
/// twice (one reading it once is folded), other commands, computed STATS
/// keys.
#[test]
fn pipelines_deeper_than_150_levels_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("query.esql");
    // Refused before any data is read: the path need not exist.
    let data = dir.path().join("no-such-lake");
    let refused = |query: String| -> String {
        std::fs::write(&file, query).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_lakehunt"))
            .args(["esql", "--as-of", AS_OF, "--file"])
            .arg(&file)
            .arg("--data")
            .arg(&data)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("nests more than 150 levels"), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        err
    };
    let err = refused(format!(
        "FROM logs-* | EVAL a = source.port {}| KEEP a",
        "| EVAL a = a + a ".repeat(200)
    ));
    // The 150th `EVAL a = a + a` (each `| EVAL a = a + a ` is 17 bytes, the
    // first at byte 35): its EVAL, two bytes on, counted from 1.
    let at = format!("at 1:{}:", 35 + 149 * 17 + 2 + 1);
    assert!(err.contains(&at), "{at}: {err}");
    // Other commands count one each, a computed STATS key one each.
    refused(format!("FROM logs-* {}", "| KEEP source.port ".repeat(151)));
    refused(format!(
        "FROM logs-* | STATS n = COUNT(*) BY {}",
        (0..151)
            .map(|i| format!("k{i} = source.port + {i}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
}

#[test]
fn row_queries_run_without_data() {
    // Elastic's MV_MEDIAN example: [3, 7, 1, 6] has the whole-number median 4.
    let out = super::common::ok(&super::common::lakehunt(&[
        "esql",
        "ROW a = [3, 7, 1, 6] | EVAL m = MV_MEDIAN(a) | KEEP m",
        "--format",
        "csv",
    ]));
    assert_eq!(out, "m\n4\n");
    // FROM still needs data, and says so.
    let o = super::common::lakehunt(&["esql", "FROM logs-* | LIMIT 1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(super::common::stderr(&o).contains("no events given"));
    // A query that does not lex gets its own error, not a call for data.
    let o = super::common::lakehunt(&["esql", "ROW s = \"open"]);
    assert_eq!(o.status.code(), Some(2));
    let err = super::common::stderr(&o);
    assert!(err.contains("1:9: unterminated string"), "{err}");
}

/// COUNT_DISTINCT by hashes (the default) and exactly
/// (`LAKEHUNT_NO_HASHED_COUNT_DISTINCT=1`) give the counts SQL's exact
/// `count(DISTINCT)` gives, grouped and not, over a generated sample.
#[test]
fn count_distinct_by_hashes_equals_the_exact_count() {
    let dir = tempfile::tempdir().unwrap();
    let sample = super::common::sample_in(dir.path(), 30_000);
    let sample = sample.to_str().unwrap();
    let esql = |switch: Option<&str>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_lakehunt"));
        cmd.args([
            "esql",
            "FROM logs-* | STATS n = COUNT_DISTINCT(destination.ip), h = COUNT_DISTINCT(host.name) \
             BY process.executable | SORT process.executable",
            "--data",
            sample,
            "--as-of",
            super::common::AS_OF,
            "--format",
            "csv",
        ]);
        if let Some(switch) = switch {
            cmd.env(switch, "1");
        }
        super::common::ok(&cmd.output().unwrap())
    };
    let sql = super::common::ok(&super::common::lakehunt(&[
        "sql",
        // ES|QL reads a stored ip as its address (::ffff:a.b.c.d is a.b.c.d,
        // esql_ip_text, checked against std's in its own test); the exact
        // count counts the same spellings.
        "SELECT count(DISTINCT esql_ip_text(\"destination.ip\")) AS n, count(DISTINCT \"host.name\") AS h, \
         \"process.executable\" FROM events WHERE \"@timestamp\" <= TIMESTAMP '2026-01-15T12:00:00Z' \
         GROUP BY 3 ORDER BY 3 NULLS LAST",
        "--data",
        sample,
        "--format",
        "csv",
    ]));
    let hashed = esql(None);
    assert!(hashed.lines().count() > 3, "{hashed}");
    assert_eq!(hashed, sql);
    assert_eq!(esql(Some("LAKEHUNT_NO_HASHED_COUNT_DISTINCT")), sql);
}

/// A ROW reads no data, so the command reads no events' schema; a lookup
/// index's fields were then unknown to the commands after LOOKUP JOIN
/// ("unknown column name"). They are columns like any other, and the rows
/// keep the ROW's order (3, 1, 2).
#[test]
fn a_rows_lookup_fields_are_columns_after_the_join() {
    use arrow::array::{Int32Array, StringArray};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lk.parquet");
    let batch = arrow::record_batch::RecordBatch::try_from_iter([
        (
            "k",
            Arc::new(Int32Array::from(vec![1, 2, 3])) as arrow::array::ArrayRef,
        ),
        (
            "name",
            Arc::new(StringArray::from(vec!["one", "two", "three"])) as arrow::array::ArrayRef,
        ),
    ])
    .unwrap();
    let file = std::fs::File::create(&path).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let index = format!("lk={}", path.display());
    let out = crate::common::lakehunt(&[
        "esql",
        "ROW k = [3, 1, 2] | MV_EXPAND k | LOOKUP JOIN lk ON k | STATS n = COUNT(*) BY name",
        "--index",
        &index,
        "--format",
        "csv",
    ]);
    assert_eq!(crate::common::ok(&out), "n,name\n1,three\n1,one\n1,two\n");
    // The same with an ON condition, the index's field written first: its
    // fields are columns after the join as well.
    let out = crate::common::lakehunt(&[
        "esql",
        "ROW j = [3, 1] | MV_EXPAND j | LOOKUP JOIN lk ON k == j | KEEP j, name",
        "--index",
        &index,
        "--format",
        "csv",
    ]);
    assert_eq!(crate::common::ok(&out), "j,name\n3,three\n1,one\n");
}

/// The README's list of ES|QL constructs not run yet is `esql --help`'s.
#[test]
fn the_readme_and_esql_help_list_the_same_constructs_not_yet_run() {
    let words = |text: &str| -> String {
        text.replace('`', "")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let help = crate::common::lakehunt(&["esql", "--help"]);
    let help = words(&String::from_utf8_lossy(&help.stdout));
    let start = "Not yet (each an error naming the construct and its position): ";
    let from = help.find(start).expect("esql --help has a Not yet list") + start.len();
    let listed = &help[from..from + help[from..].find('.').unwrap()];
    let readme = words(&std::fs::read_to_string("README.md").unwrap());
    let start = "and in ES|QL ";
    let from = readme
        .find(start)
        .expect("the README has an ES|QL Not yet list")
        + start.len();
    let said = &readme[from..from + readme[from..].find(" (each an error").unwrap()];
    assert_eq!(listed, said);
}
