//! End-to-end egress hunt on generated Parquet, with a hand-written Rust loop over
//! the same file measured in the same run as the reference point.
//!
//! `cargo bench --bench hunt` (set `LAKEHUNT_BENCH_ROWS` for another size; default
//! 1M events). Criterion prints each median; the ratio lakehunt / hand loop is the
//! number to quote. The loop is not a peer engine (a comparison with DuckDB, chDB
//! and Polars is not built yet): it shows how far the engine is from reading the
//! needed columns and summing in plain Rust.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{Int64Type, TimestampMicrosecondType};
use criterion::{Criterion, criterion_group, criterion_main};
use lakehunt::sample::{SampleLayout, SampleSpec, write};
use lakehunt::{Engine, EngineOptions, hunt};
use lakehunt_udfs::cidr_match::{BlockSet, parse_addr};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

mod common;
use common::BLOCKS;

const AS_OF: &str = "2026-01-15T12:00:00Z";

fn rows() -> usize {
    std::env::var("LAKEHUNT_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

/// A group key: entity id, destination address, executable.
type Key = (Option<String>, Option<String>, Option<String>);

/// The hunt written by hand over the flat file: read the nine columns, filter, sum.
fn hand_loop(dir: &Path, as_of_us: i64) -> usize {
    let set = BlockSet::parse(BLOCKS).expect("the seed hunt's blocks are valid");
    let mut sums: HashMap<Key, i128> = HashMap::new();
    let start = as_of_us - 8 * 3_600_000_000;
    for entry in std::fs::read_dir(dir).expect("bench data exists") {
        let file = File::open(entry.expect("readable dir").path()).expect("readable file");
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).expect("valid parquet");
        let schema = std::sync::Arc::clone(builder.schema());
        let wanted = [
            "@timestamp",
            "host.os.family",
            "event.category",
            "event.action",
            "destination.ip",
            "destination.address",
            "process.entity_id",
            "process.executable",
            "source.bytes",
        ];
        let indices: Vec<usize> = wanted
            .iter()
            .map(|n| schema.index_of(n).expect("flat sample column"))
            .collect();
        let mask = ProjectionMask::roots(builder.parquet_schema(), indices);
        for batch in builder.with_projection(mask).build().expect("reader") {
            let batch = batch.expect("batch");
            let col = |name: &str| batch.column_by_name(name).expect("projected column");
            let ts = col("@timestamp").as_primitive::<TimestampMicrosecondType>();
            let os = col("host.os.family").as_string::<i32>();
            let cat = col("event.category").as_list::<i32>();
            let action = col("event.action").as_string::<i32>();
            let ip = col("destination.ip").as_string::<i32>();
            let addr = col("destination.address").as_string::<i32>();
            let entity = col("process.entity_id").as_string::<i32>();
            let exe = col("process.executable").as_string::<i32>();
            let bytes = col("source.bytes").as_primitive::<Int64Type>();
            for i in 0..batch.num_rows() {
                let t = ts.value(i);
                if t <= start || t > as_of_us || os.is_null(i) || os.value(i) != "windows" {
                    continue;
                }
                if action.value(i) != "disconnect_received" || cat.is_null(i) {
                    continue;
                }
                let values = cat.value(i);
                let values = values.as_string::<i32>();
                let single =
                    (0..values.len()).all(|j| values.is_valid(j) && values.value(j) == "network");
                if values.is_empty() || !single || ip.is_null(i) {
                    continue;
                }
                if parse_addr(ip.value(i)).is_none_or(|a| set.contains(a)) {
                    continue;
                }
                let s =
                    |a: &arrow::array::StringArray| a.is_valid(i).then(|| a.value(i).to_owned());
                let sum = sums.entry((s(entity), s(addr), s(exe))).or_insert(0);
                if bytes.is_valid(i) {
                    *sum += i128::from(bytes.value(i));
                }
            }
        }
    }
    sums.values().filter(|&&s| s >= 1 << 30).count()
}

/// Opens the data and runs the hunt, as `lakehunt run` does; returns the finding count.
fn lakehunt_findings(
    runtime: &tokio::runtime::Runtime,
    dir: &Path,
    bound: &lakehunt::BoundHunt,
) -> usize {
    runtime.block_on(async {
        let paths = [dir.to_string_lossy().into_owned()];
        let engine = Engine::open(&paths, &EngineOptions::default())
            .await
            .expect("opens");
        engine
            .run_hunt(bound)
            .await
            .expect("runs")
            .findings
            .num_rows()
    })
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let as_of = lakehunt::params::parse_instant(AS_OF).expect("valid instant");
    let tmp = tempfile::tempdir().expect("temp dir");
    let hunt = hunt::find("egress-bytes").expect("shipped hunt");
    let bound = hunt.bind(as_of, None, &[]).expect("defaults bind");
    let mut group = c.benchmark_group(format!("egress_hunt_{}_events", rows()));
    group.sample_size(10);
    for (name, layout) in [
        ("nested", SampleLayout::Nested),
        ("flat", SampleLayout::Flat),
    ] {
        let dir = tmp.path().join(name);
        write(&SampleSpec::new(rows(), 42, as_of, layout), &dir).expect("sample written");
        group.bench_function(format!("lakehunt_{name}"), |b| {
            b.iter(|| lakehunt_findings(&runtime, &dir, &bound));
        });
    }
    let flat = tmp.path().join("flat");
    let expected = lakehunt_findings(&runtime, &flat, &bound);
    assert_eq!(
        hand_loop(&flat, as_of.div_euclid(1000)),
        expected,
        "the hand loop computes the same hunt"
    );
    group.bench_function("hand_loop_flat", |b| {
        b.iter(|| hand_loop(&flat, as_of.div_euclid(1000)));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
