//! Schema drift: one dataset whose files disagree on how they store the same
//! fields, as years of archive do. The generator's events are split into four
//! parts, each written the way some writer of some year would:
//!
//! | part | layout | `@timestamp` | `source.bytes` | `destination.ip` | `event.category` | other |
//! |---|---|---|---|---|---|---|
//! | 1 | flat | ms, no zone | Int32 | 4/16 bytes | string | no `process.entity_id` |
//! | 2 | nested | µs, UTC | Int64 | Utf8 | list | |
//! | 3 | flat | ns, UTC | Int64 | dictionary | list | `host.os.family` LargeUtf8 |
//! | 4 | flat | INT96 (Spark/Hive) | Int64 | Utf8 | string | |
//!
//! Each part's events are first reduced to what its files can hold (a string
//! category holds one value, milliseconds drop microseconds, bytes cannot hold a
//! malformed IP, a missing column is NULL); the oracle then runs over those
//! events, and the engine must agree with it over all four parts together.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryArray, DictionaryArray, Int32Array, Int64Array, LargeStringArray, ListArray,
    RecordBatch, StringArray, StructArray, TimestampMicrosecondArray, TimestampMillisecondArray,
    TimestampNanosecondArray,
};
use arrow::datatypes::{DataType, Field, Int32Type, Schema};
use lakehunt::sample::{Event, SampleLayout, SampleSpec, events};
use lakehunt::source::Source;
use lakehunt::{Engine, EngineOptions, hunt};
use parquet::arrow::ArrowWriter;
use parquet::basic::{ConvertedType, Repetition, Type as PhysicalType};
use parquet::data_type::{ByteArray, ByteArrayType, Int64Type, Int96, Int96Type};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;

use crate::oracle::{AS_OF, case, default_case, engine_rows, oracle};

fn strings<'a>(values: impl Iterator<Item = Option<&'a str>>) -> StringArray {
    values.collect()
}

/// `event.category` as a list of strings.
fn category_list(part: &[Event]) -> ListArray {
    let mut builder = arrow::array::ListBuilder::new(arrow::array::StringBuilder::new());
    for e in part {
        match &e.category {
            Some(values) => {
                for v in values {
                    builder.values().append_value(v);
                }
                builder.append(true);
            }
            None => builder.append(false),
        }
    }
    builder.finish()
}

fn write_batch(path: &Path, batch: &RecordBatch) {
    let mut writer =
        ArrowWriter::try_new(File::create(path).unwrap(), batch.schema(), None).unwrap();
    writer.write(batch).unwrap();
    writer.close().unwrap();
}

fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, a)| Field::new(*name, a.data_type().clone(), true))
        .collect();
    RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .unwrap()
}

/// 4 or 16 bytes for a parseable address, else `None`.
fn ip_bytes(text: &str) -> Option<Vec<u8>> {
    match text.parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(v4) => Some(v4.octets().to_vec()),
        std::net::IpAddr::V6(v6) => Some(v6.octets().to_vec()),
    }
}

/// A string column can hold one category: the first value (the rest are lost).
fn single_category(e: &mut Event) {
    if let Some(values) = &mut e.category {
        values.truncate(1);
    }
}

/// Part 1: flat, ms without zone, Int32 bytes, binary IPs, string category, no entity id.
fn part1(part: &mut [Event], path: &Path) {
    for e in part.iter_mut() {
        e.timestamp = e.timestamp.div_euclid(1000) * 1000;
        e.entity_id = None;
        single_category(e);
        if e.destination_ip.as_deref().and_then(ip_bytes).is_none() {
            e.destination_ip = None;
        }
    }
    let bytes: Int32Array = part
        .iter()
        .map(|e| {
            e.source_bytes
                .map(|b| i32::try_from(b).expect("part 1 byte counts fit Int32"))
        })
        .collect();
    let ips: Vec<Option<Vec<u8>>> = part
        .iter()
        .map(|e| e.destination_ip.as_deref().and_then(ip_bytes))
        .collect();
    let ips: BinaryArray = ips.iter().map(|b| b.as_deref()).collect();
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "@timestamp",
            Arc::new(TimestampMillisecondArray::from_iter_values(
                part.iter().map(|e| e.timestamp / 1000),
            )),
        ),
        (
            "host.os.family",
            Arc::new(strings(part.iter().map(|e| e.os_family))),
        ),
        (
            "event.category",
            Arc::new(strings(
                part.iter()
                    .map(|e| e.category.as_ref().and_then(|c| c.first().copied())),
            )),
        ),
        (
            "event.action",
            Arc::new(strings(part.iter().map(|e| Some(e.action)))),
        ),
        ("destination.ip", Arc::new(ips)),
        (
            "destination.address",
            Arc::new(strings(
                part.iter().map(|e| e.destination_address.as_deref()),
            )),
        ),
        (
            "process.executable",
            Arc::new(strings(part.iter().map(|e| e.executable.as_deref()))),
        ),
        ("source.bytes", Arc::new(bytes)),
    ];
    write_batch(path, &batch(columns));
}

/// Part 2: nested structs, µs UTC, Int64 bytes, string IPs, list category.
fn part2(part: &[Event], path: &Path) {
    let utf8 = |name: &str, a: StringArray| {
        (
            Arc::new(Field::new(name, DataType::Utf8, true)),
            Arc::new(a) as ArrayRef,
        )
    };
    let structure =
        |children: Vec<(Arc<Field>, ArrayRef)>| Arc::new(StructArray::from(children)) as ArrayRef;
    let os = structure(vec![utf8(
        "family",
        strings(part.iter().map(|e| e.os_family)),
    )]);
    let host = structure(vec![(
        Arc::new(Field::new("os", os.data_type().clone(), true)),
        os,
    )]);
    let category: ArrayRef = Arc::new(category_list(part));
    let event = structure(vec![
        (
            Arc::new(Field::new("category", category.data_type().clone(), true)),
            category,
        ),
        utf8("action", strings(part.iter().map(|e| Some(e.action)))),
    ]);
    let destination = structure(vec![
        utf8(
            "ip",
            strings(part.iter().map(|e| e.destination_ip.as_deref())),
        ),
        utf8(
            "address",
            strings(part.iter().map(|e| e.destination_address.as_deref())),
        ),
    ]);
    let process = structure(vec![
        utf8(
            "entity_id",
            strings(part.iter().map(|e| e.entity_id.as_deref())),
        ),
        utf8(
            "executable",
            strings(part.iter().map(|e| e.executable.as_deref())),
        ),
    ]);
    let source = structure(vec![(
        Arc::new(Field::new("bytes", DataType::Int64, true)),
        Arc::new(part.iter().map(|e| e.source_bytes).collect::<Int64Array>()) as ArrayRef,
    )]);
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "@timestamp",
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(part.iter().map(|e| e.timestamp))
                    .with_timezone("UTC"),
            ),
        ),
        ("host", host),
        ("event", event),
        ("destination", destination),
        ("process", process),
        ("source", source),
    ];
    write_batch(path, &batch(columns));
}

/// Part 3: flat, ns UTC, dictionary IPs, LargeUtf8 OS family, list category.
fn part3(part: &[Event], path: &Path) {
    let ips: DictionaryArray<Int32Type> =
        part.iter().map(|e| e.destination_ip.as_deref()).collect();
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "@timestamp",
            Arc::new(
                TimestampNanosecondArray::from_iter_values(part.iter().map(|e| e.timestamp * 1000))
                    .with_timezone("UTC"),
            ),
        ),
        (
            "host.os.family",
            Arc::new(
                part.iter()
                    .map(|e| e.os_family)
                    .collect::<LargeStringArray>(),
            ),
        ),
        ("event.category", Arc::new(category_list(part))),
        (
            "event.action",
            Arc::new(strings(part.iter().map(|e| Some(e.action)))),
        ),
        ("destination.ip", Arc::new(ips)),
        (
            "destination.address",
            Arc::new(strings(
                part.iter().map(|e| e.destination_address.as_deref()),
            )),
        ),
        (
            "process.entity_id",
            Arc::new(strings(part.iter().map(|e| e.entity_id.as_deref()))),
        ),
        (
            "process.executable",
            Arc::new(strings(part.iter().map(|e| e.executable.as_deref()))),
        ),
        (
            "source.bytes",
            Arc::new(part.iter().map(|e| e.source_bytes).collect::<Int64Array>()),
        ),
    ];
    write_batch(path, &batch(columns));
}

/// How part 4 reads one text column from an event.
type Text<'a> = &'a dyn Fn(&Event) -> Option<String>;

/// Part 4: written with Parquet's own column writers, as Spark and Hive do:
/// `@timestamp` as INT96 (Julian day and nanoseconds of the day), flat names.
#[expect(
    clippy::too_many_lines,
    reason = "a Parquet file written column by column, one writer per column"
)]
fn part4(part: &mut [Event], path: &Path) {
    for e in part.iter_mut() {
        single_category(e);
    }
    let text = |name: &str| {
        Arc::new(
            Type::primitive_type_builder(name, PhysicalType::BYTE_ARRAY)
                .with_converted_type(ConvertedType::UTF8)
                .with_repetition(Repetition::OPTIONAL)
                .build()
                .unwrap(),
        )
    };
    let fields = vec![
        Arc::new(
            Type::primitive_type_builder("@timestamp", PhysicalType::INT96)
                .with_repetition(Repetition::REQUIRED)
                .build()
                .unwrap(),
        ),
        text("host.os.family"),
        text("event.category"),
        text("event.action"),
        text("destination.ip"),
        text("destination.address"),
        text("process.entity_id"),
        text("process.executable"),
        Arc::new(
            Type::primitive_type_builder("source.bytes", PhysicalType::INT64)
                .with_repetition(Repetition::OPTIONAL)
                .build()
                .unwrap(),
        ),
    ];
    let schema = Arc::new(
        Type::group_type_builder("spark_schema")
            .with_fields(fields)
            .build()
            .unwrap(),
    );
    let mut writer =
        SerializedFileWriter::new(File::create(path).unwrap(), schema, Arc::default()).unwrap();
    let mut rows = writer.next_row_group().unwrap();

    let mut column = rows.next_column().unwrap().unwrap();
    let stamps: Vec<Int96> = part
        .iter()
        .map(|e| {
            let ns = e.timestamp * 1000;
            let day_ns = 86_400_000_000_000_i64;
            let (days, of_day) = (ns.div_euclid(day_ns), ns.rem_euclid(day_ns));
            let of_day = u64::try_from(of_day).unwrap();
            let mut v = Int96::new();
            v.set_data(
                of_day as u32,
                (of_day >> 32) as u32,
                u32::try_from(days + 2_440_588).unwrap(),
            );
            v
        })
        .collect();
    column
        .typed::<Int96Type>()
        .write_batch(&stamps, None, None)
        .unwrap();
    column.close().unwrap();

    let texts: [Text; 7] = [
        &|e| e.os_family.map(str::to_owned),
        &|e| {
            e.category
                .as_ref()
                .and_then(|c| c.first())
                .map(|c| (*c).to_owned())
        },
        &|e| Some(e.action.to_owned()),
        &|e| e.destination_ip.clone(),
        &|e| e.destination_address.clone(),
        &|e| e.entity_id.clone(),
        &|e| e.executable.clone(),
    ];
    for get in texts {
        let mut column = rows.next_column().unwrap().unwrap();
        let values: Vec<Option<String>> = part.iter().map(get).collect();
        let present: Vec<ByteArray> = values
            .iter()
            .flatten()
            .map(|s| ByteArray::from(s.as_str()))
            .collect();
        let levels: Vec<i16> = values.iter().map(|v| i16::from(v.is_some())).collect();
        column
            .typed::<ByteArrayType>()
            .write_batch(&present, Some(&levels), None)
            .unwrap();
        column.close().unwrap();
    }
    let mut column = rows.next_column().unwrap().unwrap();
    let present: Vec<i64> = part.iter().filter_map(|e| e.source_bytes).collect();
    let levels: Vec<i16> = part
        .iter()
        .map(|e| i16::from(e.source_bytes.is_some()))
        .collect();
    column
        .typed::<Int64Type>()
        .write_batch(&present, Some(&levels), None)
        .unwrap();
    column.close().unwrap();
    rows.close().unwrap();
    writer.close().unwrap();
}

/// Writes the four parts under `dir`; returns the events as the files hold them.
fn write_drifted(dir: &Path, rows: usize) -> (Vec<Event>, Vec<PathBuf>) {
    let as_of = lakehunt::params::parse_instant(AS_OF).unwrap();
    let spec = SampleSpec::new(rows, 11, as_of, SampleLayout::Flat);
    let mut all: Vec<Event> = events(&spec).collect();
    let quarter = all.len() / 4;
    let paths: Vec<PathBuf> = (1..=4)
        .map(|i| dir.join(format!("part-{i}.parquet")))
        .collect();
    let (first, rest) = all.split_at_mut(quarter);
    let (second, rest) = rest.split_at_mut(quarter);
    let (third, fourth) = rest.split_at_mut(quarter);
    part1(first, &paths[0]);
    part2(second, &paths[1]);
    part3(third, &paths[2]);
    part4(fourth, &paths[3]);
    (all, paths)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn egress_hunt_runs_across_drifted_files_and_matches_the_oracle() {
    let dir = tempfile::tempdir().unwrap();
    let (all, _) = write_drifted(dir.path(), 40_000);
    let source = Source::open(&[dir.path().to_string_lossy().into_owned()]).unwrap();
    assert_eq!(source.groups.len(), 4, "one group per schema");
    let field = |name: &str| {
        source
            .schema
            .field_with_name(name)
            .unwrap()
            .data_type()
            .clone()
    };
    assert_eq!(field("source.bytes"), DataType::Int64);
    assert_eq!(field("destination.ip"), DataType::Utf8View);
    assert!(matches!(field("event.category"), DataType::List(_)));
    assert!(matches!(
        field("@timestamp"),
        DataType::Timestamp(arrow::datatypes::TimeUnit::Nanosecond, Some(_))
    ));

    let as_of = lakehunt::params::parse_instant(AS_OF).unwrap();
    let hunt = hunt::find("egress-bytes").unwrap();
    let engine = Engine::with_source(source, &EngineOptions::default())
        .await
        .unwrap();
    // Every part lies inside a 48-hour window; the default 8 hours sees the last.
    let cases = [case("48h", 20_000_000, "20MB", "any"), default_case()];
    for (params, window, overrides) in &cases {
        let expected = oracle(&all, as_of, params);
        assert!(!expected.is_empty(), "{window:?} finds something");
        let bound = hunt.bind(as_of, *window, overrides).unwrap();
        let got = engine_rows(&engine.run_hunt(&bound).await.unwrap().findings);
        assert_eq!(got, expected, "window {window:?}");
    }
    // Part 1 has no process.entity_id: its findings carry NULL there.
    let (params, window, overrides) = &cases[0];
    let bound = hunt.bind(as_of, *window, overrides).unwrap();
    let got = engine_rows(&engine.run_hunt(&bound).await.unwrap().findings);
    assert_eq!(got, oracle(&all, as_of, params));
    assert!(got.iter().any(|((entity, _, _), _)| entity.is_none()));
}

fn write(path: &Path, columns: Vec<(&str, ArrayRef)>) {
    write_batch(path, &batch(columns));
}

#[test]
fn types_that_cannot_merge_name_both_files_and_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.parquet");
    let b = dir.path().join("b.parquet");
    write(
        &a,
        vec![("source.bytes", Arc::new(Int64Array::from(vec![1])))],
    );
    write(
        &b,
        vec![("source.bytes", Arc::new(StringArray::from(vec!["1"])))],
    );
    let err = Source::open(&[dir.path().to_string_lossy().into_owned()])
        .unwrap_err()
        .to_string();
    for needle in ["source.bytes", "a.parquet", "b.parquet", "Int64", "Utf8"] {
        assert!(err.contains(needle), "{needle} in {err}");
    }

    // Bytes and text only merge for IP fields.
    std::fs::remove_file(&b).unwrap();
    write(
        &a,
        vec![(
            "destination.address",
            Arc::new(StringArray::from(vec!["x"])),
        )],
    );
    write(
        &b,
        vec![(
            "destination.address",
            Arc::new(BinaryArray::from(vec![&b"x"[..]])),
        )],
    );
    let err = Source::open(&[dir.path().to_string_lossy().into_owned()])
        .unwrap_err()
        .to_string();
    assert!(err.contains("destination.address"), "{err}");
}

#[test]
fn one_file_with_a_field_both_flat_and_nested_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("both.parquet");
    let nested = Arc::new(StructArray::from(vec![(
        Arc::new(Field::new("ip", DataType::Utf8, true)),
        Arc::new(StringArray::from(vec!["10.0.0.1"])) as ArrayRef,
    )])) as ArrayRef;
    write(
        &path,
        vec![
            ("destination", nested),
            (
                "destination.ip",
                Arc::new(StringArray::from(vec!["10.0.0.2"])),
            ),
        ],
    );
    let err = Source::open(&[path.to_string_lossy().into_owned()])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("destination.ip") && err.contains("both.parquet"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_and_flat_files_of_one_dataset_read_as_one_view() {
    let dir = tempfile::tempdir().unwrap();
    let (all, paths) = write_drifted(dir.path(), 4_000);
    // Parts 2 (nested) and 3 (flat) alone: the same leaves, one view.
    let data: Vec<String> = paths[1..3]
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let engine = Engine::open(&data, &EngineOptions::default())
        .await
        .unwrap();
    assert_eq!(engine.source().layout.to_string(), "mixed");
    let table = engine
        .sql("SELECT count(*) AS n, count(\"destination.ip\") AS ips FROM events")
        .await
        .unwrap();
    let batch = &table.batches[0];
    let quarter = all.len() / 4;
    let n = batch
        .column(0)
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap();
    assert_eq!(usize::try_from(n.value(0)).unwrap(), 2 * quarter);
    let ips = batch
        .column(1)
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap();
    let expected = all[quarter..3 * quarter]
        .iter()
        .filter(|e| e.destination_ip.is_some())
        .count();
    assert_eq!(usize::try_from(ips.value(0)).unwrap(), expected);
}
