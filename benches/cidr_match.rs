//! `cidr_match` over 8192-row batches against a naive baseline measured in the
//! same run: parse each row with std/`ipnet` and test each `ipnet` block in turn.
//!
//! `cargo bench --bench cidr_match`. Inputs: IPv4 only, mixed IPv4/IPv6 (with
//! mapped addresses), dictionary-encoded (256 distinct), Utf8View, and mixed with
//! 10% NULLs and junk. The blocks are the egress hunt's 26. For each input the
//! ratio naive / lakehunt is the number to quote (target: at least 5x).

use std::net::IpAddr;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, StringArray, make_array};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use datafusion::common::config::ConfigOptions;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF};
use ipnet::IpNet;
use lakehunt_udfs::cidr_match::{CidrMatchCompiled, cidr_match_udf};

mod common;
use common::BLOCKS;

const ROWS: usize = 8192;

/// SplitMix64, seeded: the same inputs every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

fn v4(rng: &mut Rng) -> String {
    let first = [10, 8, 52, 172, 192, 100, 203, 13][(rng.next() % 8) as usize];
    format!(
        "{first}.{}.{}.{}",
        rng.next() % 256,
        rng.next() % 256,
        rng.next() % 256
    )
}

fn v6(rng: &mut Rng) -> String {
    match rng.next() % 4 {
        0 => format!("fe80::{:x}:{:x}", rng.next() % 65536, rng.next() % 65536),
        1 => format!("::ffff:{}", v4(rng)),
        _ => format!(
            "2600:1f18:{:x}:{:x}::{:x}",
            rng.next() % 65536,
            rng.next() % 65536,
            rng.next() % 65536
        ),
    }
}

fn inputs() -> Vec<(&'static str, ArrayRef)> {
    let mut rng = Rng(42);
    let ipv4: StringArray = (0..ROWS).map(|_| Some(v4(&mut rng))).collect();
    let mixed: StringArray = (0..ROWS)
        .map(|_| {
            Some(if rng.next().is_multiple_of(2) {
                v4(&mut rng)
            } else {
                v6(&mut rng)
            })
        })
        .collect();
    let pool: Vec<String> = (0..256)
        .map(|_| {
            if rng.next().is_multiple_of(2) {
                v4(&mut rng)
            } else {
                v6(&mut rng)
            }
        })
        .collect();
    let repeated: StringArray = (0..ROWS)
        .map(|_| Some(pool[(rng.next() % 256) as usize].clone()))
        .collect();
    let junky: StringArray = (0..ROWS)
        .map(|_| match rng.next() % 20 {
            0 => None,
            1 => Some(
                ["not-an-ip", "10.0.0.300", "", "fe80::1%eth0"][(rng.next() % 4) as usize]
                    .to_owned(),
            ),
            _ => Some(if rng.next().is_multiple_of(2) {
                v4(&mut rng)
            } else {
                v6(&mut rng)
            }),
        })
        .collect();
    let mixed: ArrayRef = Arc::new(mixed);
    let dictionary = cast(
        &repeated,
        &DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
    )
    .expect("cast");
    let view = cast(&mixed, &DataType::Utf8View).expect("cast");
    vec![
        ("ipv4_utf8", Arc::new(ipv4) as ArrayRef),
        ("mixed_utf8", mixed),
        ("dictionary_256", dictionary),
        ("mixed_utf8view", view),
        ("mixed_10pct_null_junk", Arc::new(junky)),
    ]
}

/// The naive baseline: every row parsed on its own, every block tested in turn.
fn naive(array: &ArrayRef, nets: &[IpNet]) -> BooleanArray {
    let strings = cast(array, &DataType::Utf8).expect("string input");
    let strings = strings
        .as_any()
        .downcast_ref::<StringArray>()
        .expect("utf8");
    strings
        .iter()
        .map(|s| {
            let ip: IpAddr = s?.parse().ok()?;
            let ip = match ip {
                IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
                v4 @ IpAddr::V4(_) => v4,
            };
            Some(nets.iter().any(|n| n.contains(&ip)))
        })
        .collect()
}

fn invoke(udf: &ScalarUDF, args: Vec<ColumnarValue>) -> ArrayRef {
    let arg_fields = args
        .iter()
        .enumerate()
        .map(|(i, a)| Arc::new(Field::new(format!("a{i}"), a.data_type(), true)))
        .collect();
    let out = udf
        .invoke_with_args(ScalarFunctionArgs {
            args,
            arg_fields,
            number_rows: ROWS,
            return_field: Arc::new(Field::new("out", DataType::Boolean, true)),
            config_options: Arc::new(ConfigOptions::default()),
        })
        .expect("cidr_match runs");
    match out {
        ColumnarValue::Array(a) => a,
        ColumnarValue::Scalar(s) => s.to_array_of_size(ROWS).expect("array"),
    }
}

fn bench(c: &mut Criterion) {
    let nets: Vec<IpNet> = BLOCKS
        .iter()
        .map(|b| {
            if b.contains('/') {
                b.parse().expect("block")
            } else {
                IpNet::from(b.parse::<IpAddr>().expect("address"))
            }
        })
        .collect();
    let compiled = CidrMatchCompiled::new_udf(&BLOCKS).expect("valid blocks");
    let general = cidr_match_udf();
    let literals: Vec<ColumnarValue> = BLOCKS
        .iter()
        .map(|b| ColumnarValue::Scalar((*b).into()))
        .collect();
    let mut group = c.benchmark_group("cidr_match_8192_rows");
    for (name, array) in inputs() {
        // The three paths agree before they are timed.
        let expected = naive(&array, &nets);
        let got = invoke(&compiled, vec![ColumnarValue::Array(Arc::clone(&array))]);
        assert_eq!(
            got.as_any().downcast_ref::<BooleanArray>(),
            Some(&expected),
            "{name}"
        );
        group.bench_with_input(BenchmarkId::new("naive_ipnet", name), &array, |b, a| {
            b.iter(|| naive(a, &nets));
        });
        // cidr_match keeps the last string array it parsed for a second call
        // on the same array; each timed call alternates between two arrays over
        // the same buffers, so that every call parses, as a new batch would.
        let twins = [Arc::clone(&array), make_array(array.to_data())];
        group.bench_with_input(
            BenchmarkId::new("lakehunt_compiled", name),
            &twins,
            |b, twins| {
                let mut turn = 0;
                b.iter(|| {
                    turn ^= 1;
                    invoke(
                        &compiled,
                        vec![ColumnarValue::Array(Arc::clone(&twins[turn]))],
                    )
                });
            },
        );
        group.bench_with_input(
            BenchmarkId::new("lakehunt_literal_args", name),
            &twins,
            |b, twins| {
                let mut turn = 0;
                b.iter(|| {
                    turn ^= 1;
                    let mut args = vec![ColumnarValue::Array(Arc::clone(&twins[turn]))];
                    args.extend(literals.iter().cloned());
                    invoke(&general, args)
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
