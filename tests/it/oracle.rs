//! The egress hunt against a brute-force oracle: plain Rust over the generator's
//! events (CIDR containment by `ipnet`, ES|QL's multi-value rule written out),
//! compared with the engine's findings under several batch sizes and partition
//! counts, in both layouts.

use std::collections::HashMap;
use std::net::IpAddr;

use arrow::array::{Array, AsArray};
use arrow::datatypes::Int64Type;
use ipnet::IpNet;
use lakehunt::sample::{Event, SampleLayout, SampleSpec, events, planted_groups, write};
use lakehunt::{Engine, EngineOptions, hunt};

pub(crate) const AS_OF: &str = "2026-01-15T12:00:00Z";
pub(crate) const HOUR_NS: i64 = 3_600_000_000_000;

/// The 26 blocks of the seed hunt, as `ipnet` networks (bare `::1` as /128).
fn excluded() -> Vec<IpNet> {
    [
        "10.0.0.0/8",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.0.0/29",
        "192.0.0.8/32",
        "192.0.0.9/32",
        "192.0.0.10/32",
        "192.0.0.170/32",
        "192.0.0.171/32",
        "192.0.2.0/24",
        "192.31.196.0/24",
        "192.52.193.0/24",
        "192.168.0.0/16",
        "192.88.99.0/24",
        "224.0.0.0/4",
        "100.64.0.0/10",
        "192.175.48.0/24",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "240.0.0.0/4",
        "::1/128",
        "fe80::/10",
        "ff00::/8",
    ]
    .iter()
    .map(|b| b.parse().unwrap())
    .collect()
}

pub(crate) type Key = (Option<String>, Option<String>, Option<String>);

/// Oracle parameters, the `--window` text, and the other overrides.
pub(crate) type Case = (Params, Option<&'static str>, Vec<(String, String)>);

/// The hunt as shipped: 8 hours, 1 GiB, Windows.
pub(crate) fn default_case() -> Case {
    (
        Params {
            window_ns: 8 * HOUR_NS,
            threshold: 1 << 30,
            os: Some("windows"),
        },
        None,
        vec![],
    )
}

/// Another window (`"24h"`), threshold (in bytes, and as the flag's text) and
/// OS family (`"any"` for every one).
pub(crate) fn case(
    window: &'static str,
    threshold: i128,
    threshold_text: &str,
    os: &'static str,
) -> Case {
    let hours: i64 = window.trim_end_matches('h').parse().unwrap();
    (
        Params {
            window_ns: hours * HOUR_NS,
            threshold,
            os: (os != "any").then_some(os),
        },
        Some(window),
        vec![
            ("threshold".to_owned(), threshold_text.to_owned()),
            ("os".to_owned(), os.to_owned()),
        ],
    )
}

pub(crate) struct Params {
    pub(crate) window_ns: i64,
    pub(crate) threshold: i128,
    pub(crate) os: Option<&'static str>,
}

/// ES|QL's `field == value` on a keyword array: the one distinct value, else NULL.
fn single_value<'a>(values: Option<&Vec<&'a str>>) -> Option<&'a str> {
    let mut distinct: Vec<&str> = values?.clone();
    distinct.sort_unstable();
    distinct.dedup();
    match distinct.as_slice() {
        [one] => Some(one),
        _ => None,
    }
}

fn is_public(ip: &str, nets: &[IpNet]) -> Option<bool> {
    let ip: IpAddr = ip.parse().ok()?;
    // Elasticsearch stores IPv4 as IPv4-mapped IPv6: such an address is its IPv4 address.
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        IpAddr::V4(v4) => IpAddr::V4(v4),
    };
    Some(!nets.iter().any(|n| n.contains(&ip)))
}

pub(crate) fn oracle(all: &[Event], as_of_ns: i64, p: &Params) -> Vec<(Key, i64)> {
    let nets = excluded();
    let mut sums: HashMap<Key, Option<i128>> = HashMap::new();
    for e in all {
        let ts = i128::from(e.timestamp) * 1000;
        let in_window = ts > i128::from(as_of_ns - p.window_ns) && ts <= i128::from(as_of_ns);
        let keep = in_window
            && p.os.is_none_or(|os| e.os_family == Some(os))
            && single_value(e.category.as_ref()) == Some("network")
            && e.action == "disconnect_received"
            && e.destination_ip
                .as_deref()
                .and_then(|ip| is_public(ip, &nets))
                == Some(true);
        if keep {
            let key = (
                e.entity_id.clone(),
                e.destination_address.clone(),
                e.executable.clone(),
            );
            let sum = sums.entry(key).or_insert(None);
            if let Some(b) = e.source_bytes {
                *sum = Some(sum.unwrap_or(0) + i128::from(b));
            }
        }
    }
    let mut out: Vec<(Key, i64)> = sums
        .into_iter()
        .filter_map(|(k, s)| {
            s.filter(|s| *s >= p.threshold)
                .map(|s| (k, i64::try_from(s).unwrap()))
        })
        .collect();
    // total desc, then keys ascending with NULLs last.
    let nulls_last = |a: &Option<String>, b: &Option<String>| match (a, b) {
        (Some(a), Some(b)) => a.cmp(b),
        (None, None) => std::cmp::Ordering::Equal,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (Some(_), None) => std::cmp::Ordering::Less,
    };
    out.sort_by(|(ka, a), (kb, b)| {
        b.cmp(a)
            .then_with(|| nulls_last(&ka.0, &kb.0))
            .then_with(|| nulls_last(&ka.1, &kb.1))
            .then_with(|| nulls_last(&ka.2, &kb.2))
    });
    out
}

/// The hunt's data checks, counted by hand: `(multi_valued_category,
/// malformed_destination_ip)` among the window's disconnect_received events of
/// the OS family. Several distinct categories make `event.category` multi-valued
/// (a repeated one is still one value); an address is malformed when Rust's
/// own parser rejects it.
pub(crate) fn oracle_checks(all: &[Event], as_of_ns: i64, p: &Params) -> (u64, u64) {
    let (mut multi, mut malformed) = (0, 0);
    for e in all {
        let ts = i128::from(e.timestamp) * 1000;
        let in_scope = ts > i128::from(as_of_ns - p.window_ns)
            && ts <= i128::from(as_of_ns)
            && p.os.is_none_or(|os| e.os_family == Some(os))
            && e.action == "disconnect_received";
        if !in_scope {
            continue;
        }
        let mut distinct = e.category.clone().unwrap_or_default();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() > 1 {
            multi += 1;
        }
        if single_value(e.category.as_ref()) == Some("network")
            && e.destination_ip
                .as_deref()
                .is_some_and(|ip| ip.parse::<IpAddr>().is_err())
        {
            malformed += 1;
        }
    }
    (multi, malformed)
}

/// The counts of a run's warnings, in [`oracle_checks`]' order (0 when absent).
pub(crate) fn warning_counts(output: &lakehunt::HuntOutput) -> (u64, u64) {
    let count = |name: &str| {
        output
            .warnings
            .iter()
            .find(|w| w.name == name)
            .map_or(0, |w| w.count)
    };
    (
        count("multi_valued_category"),
        count("malformed_destination_ip"),
    )
}

pub(crate) fn engine_rows(findings: &lakehunt::Table) -> Vec<(Key, i64)> {
    let text = |a: &dyn Array, i: usize| -> Option<String> {
        let a = arrow::compute::cast(&a.slice(i, 1), &arrow::datatypes::DataType::Utf8).unwrap();
        let a = a.as_string::<i32>();
        a.is_valid(0).then(|| a.value(0).to_owned())
    };
    let mut out = vec![];
    for b in &findings.batches {
        let totals = b.column(3).as_primitive::<Int64Type>();
        for i in 0..b.num_rows() {
            out.push((
                (
                    text(b.column(0).as_ref(), i),
                    text(b.column(1).as_ref(), i),
                    text(b.column(2).as_ref(), i),
                ),
                totals.value(i),
            ));
        }
    }
    out
}

async fn check_layout(layout: SampleLayout, seed: u64) {
    let as_of = lakehunt::params::parse_instant(AS_OF).unwrap();
    // LAKEHUNT_ORACLE_ROWS=10000000 (with --release) repeats the check at scale.
    let rows = std::env::var("LAKEHUNT_ORACLE_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40_000);
    let mut spec = SampleSpec::new(rows, seed, as_of, layout);
    // Several files and row groups, so partitions and batches really split the work.
    spec.rows_per_file = (rows * 3 / 8).max(1);
    spec.row_group_rows = (rows / 10).clamp(1, 128 * 1024);
    let dir = tempfile::tempdir().unwrap();
    write(&spec, dir.path()).unwrap();
    let all: Vec<Event> = events(&spec).collect();
    let hunt = hunt::find("egress-bytes").unwrap();
    let paths = [dir.path().to_string_lossy().into_owned()];

    let cases: [Case; 3] = [
        default_case(),
        case("24h", 20_000_000, "20MB", "any"),
        case("12h", 8 << 20, "8MiB", "debian"),
    ];
    let mut checked = (0, 0);
    for (params, window, overrides) in &cases {
        let expected = oracle(&all, as_of, params);
        let checks = oracle_checks(&all, as_of, params);
        let bound = hunt.bind(as_of, *window, overrides).unwrap();
        for (batch_size, partitions) in [(None, None), (Some(1_000), Some(1)), (Some(333), Some(3))]
        {
            let options = EngineOptions {
                batch_size,
                target_partitions: partitions,
                ..EngineOptions::default()
            };
            let engine = Engine::open(&paths, &options).await.unwrap();
            let output = engine.run_hunt(&bound).await.unwrap();
            let context = format!(
                "layout {layout:?}, seed {seed}, window {window:?}, overrides {overrides:?}, \
                 batch_size {batch_size:?}, partitions {partitions:?}"
            );
            assert_eq!(engine_rows(&output.findings), expected, "{context}");
            // The checks are counted inside the hunt's scan (src/tap.rs).
            assert_eq!(warning_counts(&output), checks, "{context}");
        }
        assert!(
            !expected.is_empty(),
            "case {window:?} {overrides:?} finds something"
        );
        checked.0 += checks.0;
        checked.1 += checks.1;
    }

    assert!(
        checked.0 > 0 && checked.1 > 0,
        "some case counts events for both checks: {checked:?}"
    );

    // The default case finds every planted finding and no decoy.
    let default = oracle(&all, as_of, &cases[0].0);
    for group in planted_groups(&spec) {
        let found = default.iter().any(|((entity, address, exe), _)| {
            *entity == group.entity_id
                && address.as_deref() == Some(group.destination_address.as_str())
                && exe.as_deref() == Some(group.executable.as_str())
        });
        assert_eq!(found, group.finding, "planted group {}", group.label);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn egress_hunt_matches_oracle_nested() {
    check_layout(SampleLayout::Nested, 11).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn egress_hunt_matches_oracle_flat() {
    check_layout(SampleLayout::Flat, 12).await;
}

#[test]
fn oracle_applies_esql_multi_value_rule() {
    assert_eq!(
        single_value(Some(&vec!["network", "network"])),
        Some("network")
    );
    assert_eq!(single_value(Some(&vec!["network", "process"])), None);
    assert_eq!(single_value(Some(&vec![])), None);
    assert_eq!(single_value(None), None);
}

/// `cidr_match` against `ipnet` containment, with ES|QL's family rules written
/// out: an IPv4-mapped address is its IPv4 address, a block inside
/// ::ffff:0:0/96 is the IPv4 block it carries, and families never cross.
fn esql_contains(block: &IpNet, ip: IpAddr) -> bool {
    let unmap = |ip: IpAddr| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 @ IpAddr::V4(_) => v4,
    };
    let block = match block {
        IpNet::V6(net) if net.prefix_len() >= 96 && net.network().to_ipv4_mapped().is_some() => {
            let v4 = net.network().to_ipv4_mapped().unwrap();
            IpNet::new(IpAddr::V4(v4), net.prefix_len() - 96).unwrap()
        }
        other => *other,
    };
    let ip = unmap(ip);
    match (block, ip) {
        (IpNet::V4(_), IpAddr::V4(_)) | (IpNet::V6(_), IpAddr::V6(_)) => block.contains(&ip),
        _ => false,
    }
}

#[test]
fn cidr_match_agrees_with_ipnet_near_block_edges() {
    use arrow::array::{BooleanArray, StringArray};
    use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs};
    use lakehunt_udfs::cidr_match::CidrMatchCompiled;
    use std::net::{Ipv4Addr, Ipv6Addr};
    use std::sync::Arc;

    // SplitMix64, seeded: failures reproduce.
    let mut state = 0x5eed_u64;
    let mut random = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    for case in 0..3_000 {
        // A random block: IPv4, IPv6, or IPv6 inside the mapped range.
        let (addr, len) = match random() % 3 {
            0 => (
                IpAddr::V4(Ipv4Addr::from(random() as u32)),
                (random() % 33) as u8,
            ),
            1 => {
                let bits = (u128::from(random()) << 64) | u128::from(random());
                (IpAddr::V6(Ipv6Addr::from(bits)), (random() % 129) as u8)
            }
            _ => {
                let bits = 0xffff_0000_0000 | u128::from(random() as u32);
                (IpAddr::V6(Ipv6Addr::from(bits)), 96 + (random() % 33) as u8)
            }
        };
        let block = IpNet::new(addr, len).unwrap().trunc();
        let (first, last) = match block {
            IpNet::V4(range) => (
                u128::from(u32::from(range.network())),
                u128::from(u32::from(range.broadcast())),
            ),
            IpNet::V6(range) => (u128::from(range.network()), u128::from(range.broadcast())),
        };
        let v4 = matches!(block, IpNet::V4(_));
        let text = |x: u128| -> String {
            if v4 {
                Ipv4Addr::from(x as u32).to_string()
            } else {
                Ipv6Addr::from(x).to_string()
            }
        };
        // Each side of each edge, a point inside, and the other family's spelling.
        let mut candidates = vec![text(first), text(last)];
        if first > 0 {
            candidates.push(text(first - 1));
        }
        if (v4 && last < u128::from(u32::MAX)) || (!v4 && last < u128::MAX) {
            candidates.push(text(last + 1));
        }
        candidates.push(text(
            first + u128::from(random()) % (last - first).saturating_add(1).max(1),
        ));
        if v4 {
            candidates.push(format!("::ffff:{}", text(first)));
        } else if let Some(m) = Ipv6Addr::from(first).to_ipv4_mapped() {
            candidates.push(m.to_string());
        }
        let block_text = block.to_string();
        let udf = CidrMatchCompiled::new_udf(&[block_text.as_str()]).unwrap();
        let ips: StringArray = candidates.iter().map(|c| Some(c.as_str())).collect();
        let rows = ips.len();
        let out = udf
            .invoke_with_args(ScalarFunctionArgs {
                args: vec![ColumnarValue::Array(Arc::new(ips))],
                arg_fields: vec![Arc::new(arrow::datatypes::Field::new(
                    "ip",
                    arrow::datatypes::DataType::Utf8,
                    true,
                ))],
                number_rows: rows,
                return_field: Arc::new(arrow::datatypes::Field::new(
                    "m",
                    arrow::datatypes::DataType::Boolean,
                    true,
                )),
                config_options: Arc::new(datafusion::common::config::ConfigOptions::default()),
            })
            .unwrap();
        let ColumnarValue::Array(out) = out else {
            panic!("array in, array out")
        };
        let out = out.as_any().downcast_ref::<BooleanArray>().unwrap();
        for (i, candidate) in candidates.iter().enumerate() {
            let expected = esql_contains(&block, candidate.parse().unwrap());
            assert_eq!(
                out.value(i),
                expected,
                "case {case}: {candidate} in {block_text}"
            );
        }
    }
}
