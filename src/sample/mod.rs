//! A seeded generator of realistic Elastic Endpoint network events, with planted
//! exfiltration groups and near-miss decoys.
//!
//! Background events span `as_of - 24h` to `as_of + 1h` in time order: several OS
//! families and actions, IPv4 and IPv6 destinations inside and outside every
//! excluded block (and at their edges), IPv4-mapped IPv6, malformed and missing
//! IPs, missing fields, heavy-tailed byte counts capped at 16 MiB, many
//! processes. On top, [`planted_groups`] adds groups that the egress hunt must
//! find, and decoys that each miss by one condition (a byte under the threshold, an
//! event on the window's excluded edge, a private or mapped-private destination, a
//! multi-valued category, ...). Each event also carries the fields of Elastic
//! Defend's network events that Elastic's hunts filter and group on
//! (`agent.id`, `event.type`, `host.id`, `process.name`, `user.name`), as the
//! process events of `--processes` write them for the same process.
//!
//! The same seed gives the same events on every machine (the generator carries
//! its own SplitMix64, so no library upgrade can change a fixture).

mod processes;

pub use processes::write_processes;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Int64Array, ListBuilder, RecordBatch, StringBuilder, StructArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Fields, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::error::{Error, Result};

const MICROS_PER_HOUR: i64 = 3_600_000_000;
const MIB: i64 = 1 << 20;
const GIB: i64 = 1 << 30;

/// How the generated files store ECS fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SampleLayout {
    /// Struct columns (`destination` with field `ip`).
    Nested,
    /// Dotted column names (`destination.ip`).
    Flat,
    /// The same events as OCSF 1.1 Network Activity (class 4001), nested, as
    /// Amazon Security Lake writes it. See [`ocsf_columns`] for what OCSF cannot
    /// say and how the sample says it.
    Ocsf,
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct SampleSpec {
    /// Total events, planted ones included.
    pub rows: usize,
    /// Seed of the generator.
    pub seed: u64,
    /// The instant the planted groups are placed around, ns since the epoch.
    pub as_of: i64,
    /// File layout.
    pub layout: SampleLayout,
    /// Rows per Parquet file.
    pub rows_per_file: usize,
    /// Rows per row group.
    pub row_group_rows: usize,
}

impl SampleSpec {
    /// A spec with the usual file shape: 1M rows per file, 128Ki-row row groups.
    #[must_use]
    pub fn new(rows: usize, seed: u64, as_of: i64, layout: SampleLayout) -> Self {
        SampleSpec {
            rows,
            seed,
            as_of,
            layout,
            rows_per_file: 1_000_000,
            row_group_rows: 128 * 1024,
        }
    }

    /// `as_of` in the sample's unit (µs), rounded down.
    #[must_use]
    pub fn as_of_micros(&self) -> i64 {
        self.as_of.div_euclid(1_000)
    }
}

/// The embedded sample that `lakehunt run --sample` (and Python's
/// `run(..., sample=True)`) hunts: [`EMBEDDED_ROWS`] events, seed
/// [`EMBEDDED_SEED`], nested ECS, ending at [`EMBEDDED_AS_OF`].
pub const EMBEDDED_AS_OF: &str = "2026-01-15T12:00:00Z";
/// Events in the embedded sample: enough to be realistic, small enough for a debug build.
pub const EMBEDDED_ROWS: usize = 200_000;
/// The embedded sample's seed.
pub const EMBEDDED_SEED: u64 = 42;
/// [`EMBEDDED_AS_OF`] in ns since the epoch.
const EMBEDDED_AS_OF_NS: i64 = 1_768_478_400_000_000_000;

/// The embedded sample's spec.
#[must_use]
pub fn embedded() -> SampleSpec {
    SampleSpec::new(
        EMBEDDED_ROWS,
        EMBEDDED_SEED,
        EMBEDDED_AS_OF_NS,
        SampleLayout::Nested,
    )
}

/// Writes the embedded sample into a new temporary folder, removed when the
/// returned handle drops (keep it for as long as the run reads the sample).
pub fn write_embedded() -> Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    write(&embedded(), dir.path())?;
    Ok(dir)
}

/// One sentence saying what the embedded sample is, for a run's stderr.
#[must_use]
pub fn embedded_note() -> String {
    format!(
        "running on a generated sample: {EMBEDDED_ROWS} synthetic Elastic Endpoint network \
         events (seed {EMBEDDED_SEED}, nested ECS) ending {EMBEDDED_AS_OF}, with planted \
         exfiltration and decoys"
    )
}

/// One network event, as plain Rust values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// `@timestamp`, µs since the epoch (UTC).
    pub timestamp: i64,
    /// `event.category` (an ECS array; `None` when missing).
    pub category: Option<Vec<&'static str>>,
    /// `event.action`.
    pub action: &'static str,
    /// `host.name`.
    pub host_name: String,
    /// `host.os.family`.
    pub os_family: Option<&'static str>,
    /// `host.os.type`.
    pub os_type: Option<&'static str>,
    /// `process.entity_id`.
    pub entity_id: Option<String>,
    /// `process.executable`.
    pub executable: Option<String>,
    /// `process.pid`.
    pub pid: i64,
    /// `destination.ip` as text (may be malformed, as real lakes hold).
    pub destination_ip: Option<String>,
    /// `destination.address`.
    pub destination_address: Option<String>,
    /// `destination.port`.
    pub destination_port: i64,
    /// `source.ip`.
    pub source_ip: String,
    /// `source.port`.
    pub source_port: i64,
    /// `source.bytes`.
    pub source_bytes: Option<i64>,
    /// `network.transport`.
    pub transport: &'static str,
}

/// SplitMix64: small, fast, and fixed forever.
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// True with probability `per_mille / 1000`.
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// A planted group: its key and whether the default egress hunt must report it.
#[derive(Clone, Debug)]
pub struct PlantedGroup {
    /// Short name saying what the group tests.
    pub label: &'static str,
    /// Found by `egress-bytes` with default parameters at the sample's `as_of`.
    pub finding: bool,
    /// `process.entity_id` of its events.
    pub entity_id: Option<String>,
    /// `destination.address` of its events.
    pub destination_address: String,
    /// `process.executable` of its events.
    pub executable: String,
    /// Its events.
    pub events: Vec<Event>,
}

struct Plant {
    label: &'static str,
    finding: bool,
    ip: &'static str,
    os: (&'static str, &'static str),
    action: &'static str,
    category: &'static [&'static str],
    /// (µs relative to as_of, bytes)
    events: &'static [(i64, Option<i64>)],
    null_entity: bool,
}

const WIN: (&str, &str) = ("windows", "windows");
const NET: &[&str] = &["network"];
const H: i64 = MICROS_PER_HOUR;

/// The planted groups, relative to `as_of` (default window 8h, threshold 1 GiB).
const PLANTS: &[Plant] = &[
    Plant {
        label: "exfil-v4",
        finding: true,
        ip: "185.199.108.153",
        os: WIN,
        action: "disconnect_received",
        category: NET,
        events: &[
            (-7 * H, Some(400 * MIB)),
            (-5 * H, Some(400 * MIB)),
            (-H, Some(400 * MIB)),
        ],
        null_entity: false,
    },
    Plant {
        label: "exfil-v6",
        finding: true,
        ip: "2606:4700::6810:85e5",
        os: WIN,
        action: "disconnect_received",
        category: NET,
        events: &[(-6 * H, Some(600 * MIB)), (-2 * H, Some(600 * MIB))],
        null_entity: false,
    },
    Plant {
        label: "exfil-exactly-threshold-at-as-of",
        finding: true,
        ip: "52.95.110.1",
        os: WIN,
        action: "disconnect_received",
        category: NET,
        events: &[(-3 * H, Some(768 * MIB)), (0, Some(256 * MIB))],
        null_entity: false,
    },
    Plant {
        label: "exfil-duplicate-category",
        finding: true,
        ip: "34.117.59.81",
        os: WIN,
        action: "disconnect_received",
        category: &["network", "network"],
        events: &[(-4 * H, Some(GIB)), (-3 * H, Some(512 * MIB))],
        null_entity: false,
    },
    Plant {
        label: "exfil-some-bytes-null",
        finding: true,
        ip: "151.101.1.69",
        os: WIN,
        action: "disconnect_received",
        category: NET,
        events: &[
            (-4 * H, Some(700 * MIB)),
            (-3 * H, None),
            (-2 * H, Some(700 * MIB)),
        ],
        null_entity: false,
    },
    Plant {
        label: "exfil-null-entity-id",
        finding: true,
        ip: "104.16.132.229",
        os: WIN,
        action: "disconnect_received",
        category: NET,
        events: &[(-5 * H, Some(2 * GIB))],
        null_entity: true,
    },
    Plant {
        label: "exfil-v6-unique-local-not-in-list",
        finding: true,
        ip: "fd12:3456:789a::1",
        os: WIN,
        action: "disconnect_received",
        category: NET,
        events: &[(-5 * H, Some(2 * GIB))],
        null_entity: false,
    },
    Plant {
        label: "exfil-just-outside-172.16/12",
        finding: true,
        ip: "172.32.0.1",
        os: WIN,
        action: "disconnect_received",
        category: NET,
        events: &[(-5 * H, Some(2 * GIB))],
        null_entity: false,
    },
    Plant {
        label: "decoy-one-byte-under",
        finding: false,
        ip: "13.107.42.14",
        os: WIN,
        action: "disconnect_received",
        category: NET,
        events: &[(-6 * H, Some(GIB - 1))],
        null_entity: false,
    },
    Plant {
        label: "decoy-lower-edge-excluded",
        finding: false,
        ip: "20.42.65.92",
        os: WIN,
        action: "disconnect_received",
        category: NET,
        events: &[(-8 * H, Some(1)), (-7 * H, Some(GIB - 1))],
        null_entity: false,
    },
    Plant {
        label: "decoy-after-as-of",
        finding: false,
        ip: "20.190.159.0",
        os: WIN,
        action: "disconnect_received",
        category: NET,
        events: &[(-H, Some(512 * MIB)), (1, Some(GIB))],
        null_entity: false,
    },
    Plant {
        label: "decoy-private-10/8",
        finding: false,
        ip: "10.20.30.40",
        os: WIN,
        action: "disconnect_received",
        category: NET,
        events: &[(-5 * H, Some(2 * GIB))],
        null_entity: false,
    },
    Plant {
        label: "decoy-inside-172.16/12-edge",
        finding: false,
        ip: "172.31.255.255",
        os: WIN,
        action: "disconnect_received",
        category: NET,
        events: &[(-5 * H, Some(2 * GIB))],
        null_entity: false,
    },
    Plant {
        label: "decoy-mapped-private",
        finding: false,
        ip: "::ffff:192.168.1.10",
        os: WIN,
        action: "disconnect_received",
        category: NET,
        events: &[(-5 * H, Some(2 * GIB))],
        null_entity: false,
    },
    Plant {
        label: "decoy-link-local-v6",
        finding: false,
        ip: "fe80::1c2a:3bff:fe4d:5e6f",
        os: WIN,
        action: "disconnect_received",
        category: NET,
        events: &[(-5 * H, Some(2 * GIB))],
        null_entity: false,
    },
    Plant {
        label: "decoy-linux-host",
        finding: false,
        ip: "142.250.72.14",
        os: ("debian", "linux"),
        action: "disconnect_received",
        category: NET,
        events: &[(-5 * H, Some(2 * GIB))],
        null_entity: false,
    },
    Plant {
        label: "decoy-disconnect-sent",
        finding: false,
        ip: "142.250.72.15",
        os: WIN,
        action: "disconnect_sent",
        category: NET,
        events: &[(-5 * H, Some(2 * GIB))],
        null_entity: false,
    },
    Plant {
        label: "decoy-multi-valued-category",
        finding: false,
        ip: "142.250.72.16",
        os: WIN,
        action: "disconnect_received",
        category: &["network", "process"],
        events: &[(-5 * H, Some(2 * GIB))],
        null_entity: false,
    },
    Plant {
        label: "decoy-malformed-ip",
        finding: false,
        ip: "10.0.0.300",
        os: WIN,
        action: "disconnect_received",
        category: NET,
        events: &[(-5 * H, Some(2 * GIB))],
        null_entity: false,
    },
    Plant {
        label: "decoy-all-bytes-null",
        finding: false,
        ip: "142.250.72.17",
        os: WIN,
        action: "disconnect_received",
        category: NET,
        events: &[(-5 * H, None), (-4 * H, None)],
        null_entity: false,
    },
];

/// The planted groups of a spec, with their events.
#[must_use]
pub fn planted_groups(spec: &SampleSpec) -> Vec<PlantedGroup> {
    let as_of = spec.as_of_micros();
    PLANTS
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let entity_id = (!p.null_entity).then(|| format!("planted-{:02}-{}", i, p.label));
            let executable = format!("C:\\Users\\Public\\Tools\\{}.exe", p.label);
            let events = p
                .events
                .iter()
                .enumerate()
                .map(|(j, &(offset, bytes))| Event {
                    timestamp: as_of + offset,
                    category: Some(p.category.to_vec()),
                    action: p.action,
                    host_name: format!("planted-host-{i:02}"),
                    os_family: Some(p.os.0),
                    os_type: Some(p.os.1),
                    entity_id: entity_id.clone(),
                    executable: Some(executable.clone()),
                    pid: 9000 + i as i64,
                    destination_ip: Some(p.ip.to_owned()),
                    destination_address: Some(p.ip.to_owned()),
                    destination_port: 443,
                    source_ip: format!("10.99.0.{}", i + 1),
                    source_port: 50_000 + j as i64,
                    source_bytes: bytes,
                    transport: "tcp",
                })
                .collect();
            PlantedGroup {
                label: p.label,
                finding: p.finding,
                entity_id,
                destination_address: p.ip.to_owned(),
                executable,
                events,
            }
        })
        .collect()
}

const WINDOWS_EXES: &[&str] = &[
    "C:\\Windows\\System32\\svchost.exe",
    "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
    "C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE",
    "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
    "C:\\Windows\\System32\\rundll32.exe",
    "C:\\Program Files\\Microsoft OneDrive\\OneDrive.exe",
    "C:\\Windows\\explorer.exe",
];
const LINUX_EXES: &[&str] = &[
    "/usr/bin/curl",
    "/usr/sbin/sshd",
    "/usr/bin/python3.11",
    "/usr/lib/systemd/systemd-resolved",
];
const MACOS_EXES: &[&str] = &[
    "/Applications/Safari.app/Contents/MacOS/Safari",
    "/usr/bin/ssh",
    "/System/Library/CoreServices/Finder.app/Contents/MacOS/Finder",
];
const HOSTNAMES: &[&str] = &[
    "api.dropboxapi.com",
    "login.microsoftonline.com",
    "github.com",
    "s3.amazonaws.com",
    "updates.example.net",
];
const PUBLIC_V4_FIRST_OCTETS: &[u64] = &[
    13, 20, 23, 34, 35, 40, 52, 104, 140, 142, 151, 157, 185, 199,
];
/// Private and reserved blocks to draw destinations from (one per excluded block).
const EXCLUDED_V4: &[(u32, u32)] = &[
    (0x0a00_0000, 8),
    (0x7f00_0000, 8),
    (0xa9fe_0000, 16),
    (0xac10_0000, 12),
    (0xc000_0000, 24),
    (0xc000_0200, 24),
    (0xc01f_c400, 24),
    (0xc034_c100, 24),
    (0xc0a8_0000, 16),
    (0xc058_6300, 24),
    (0xe000_0000, 4),
    (0x6440_0000, 10),
    (0xc0af_3000, 24),
    (0xc612_0000, 15),
    (0xc633_6400, 24),
    (0xcb00_7100, 24),
    (0xf000_0000, 4),
];
/// Addresses on either side of block edges.
const EDGE_IPS: &[&str] = &[
    "9.255.255.255",
    "10.0.0.0",
    "10.255.255.255",
    "11.0.0.0",
    "172.15.255.255",
    "172.16.0.0",
    "172.31.255.255",
    "172.32.0.0",
    "100.63.255.255",
    "100.64.0.0",
    "100.127.255.255",
    "100.128.0.0",
    "192.0.0.7",
    "192.0.0.8",
    "192.0.0.11",
    "192.0.0.170",
    "192.0.0.172",
    "223.255.255.255",
    "224.0.0.0",
    "255.255.255.255",
    "::1",
    "::2",
    "::",
    "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "fe80::",
    "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "fec0::",
    "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "ff00::",
    "FF02::1",
    "::ffff:10.0.0.1",
    "::ffff:8.8.8.8",
];
const JUNK_IPS: &[&str] = &[
    "10.0.0.300",
    "",
    "not-an-ip",
    "fe80::1%eth0",
    "1.2.3",
    " 8.8.8.8",
];

fn v4_text(a: u32) -> String {
    std::net::Ipv4Addr::from(a).to_string()
}

/// Background event number `i` of `n`, at time `ts`.
fn background(rng: &mut Rng, spec: &SampleSpec, ts: i64) -> Event {
    let hosts = (spec.rows as u64 / 5_000).max(20);
    let processes = (spec.rows as u64 / 50).max(200);
    let p = rng.below(processes);
    let h = p % hosts;
    let (family, os_type, exes): (Option<&'static str>, Option<&'static str>, &[&str]) =
        match h % 100 {
            0..60 => (Some("windows"), Some("windows"), WINDOWS_EXES),
            60..72 => (Some("debian"), Some("linux"), LINUX_EXES),
            72..85 => (Some("redhat"), Some("linux"), LINUX_EXES),
            85..99 => (Some("macos"), Some("macos"), MACOS_EXES),
            _ => (None, None, WINDOWS_EXES),
        };
    let action = match rng.below(100) {
        0..25 => "connection_attempted",
        25..35 => "connection_accepted",
        35..70 => "disconnect_received",
        70..90 => "disconnect_sent",
        90..95 => "lookup_requested",
        _ => "http_request",
    };
    let category = match rng.below(1000) {
        0..10 => Some(vec!["network", "network"]),
        10..20 => Some(vec!["network", "process"]),
        20..25 => None,
        25..30 => Some(vec![]),
        _ => Some(vec!["network"]),
    };
    let ip: Option<String> = match rng.below(1000) {
        0..450 => Some(format!(
            "{}.{}.{}.{}",
            rng.pick(PUBLIC_V4_FIRST_OCTETS),
            rng.below(256),
            rng.below(256),
            1 + rng.below(254)
        )),
        450..700 => {
            let &(base, prefix) = rng.pick(EXCLUDED_V4);
            let size = 1u64 << (32 - prefix);
            Some(v4_text(base + rng.below(size) as u32))
        }
        700..780 => Some(format!(
            "2600:1f18:{:x}:{:x}::{:x}",
            rng.below(65536),
            rng.below(65536),
            rng.below(65536)
        )),
        780..830 => Some(match rng.below(3) {
            0 => format!("fe80::{:x}:{:x}", rng.below(65536), rng.below(65536)),
            1 => format!("ff02::{:x}", rng.below(65536)),
            _ => "::1".to_owned(),
        }),
        830..860 => Some(format!(
            "::ffff:{}.{}.{}.{}",
            rng.pick(&[10u64, 192, 8, 52]),
            rng.below(256),
            rng.below(256),
            rng.below(256)
        )),
        860..920 => Some((*rng.pick(EDGE_IPS)).to_owned()),
        920..940 => Some((*rng.pick(JUNK_IPS)).to_owned()),
        _ => None,
    };
    let address = match rng.below(100) {
        0..85 => ip.clone(),
        85..95 => Some((*rng.pick(HOSTNAMES)).to_owned()),
        _ => None,
    };
    // Heavy-tailed: log-uniform between 1 byte and 16 MiB.
    let bytes = (!rng.chance(20)).then(|| {
        let exponent = (rng.next() >> 11) as f64 / (1u64 << 53) as f64 * 24.0;
        2f64.powf(exponent) as i64
    });
    Event {
        timestamp: ts,
        category,
        action,
        host_name: format!("host-{h:05}"),
        os_family: family,
        os_type,
        entity_id: (!rng.chance(5)).then(|| format!("ZW50aXR5LX{p:010x}")),
        executable: (!rng.chance(5)).then(|| exes[(p % exes.len() as u64) as usize].to_owned()),
        pid: 1000 + (p % 60_000) as i64,
        destination_ip: ip,
        destination_address: address,
        destination_port: *rng.pick(&[443, 80, 53, 22, 3389, 8080, 8443]),
        source_ip: v4_text(0x0a00_0000 + h as u32),
        source_port: 49_152 + rng.below(16_384) as i64,
        source_bytes: bytes,
        transport: if rng.chance(900) { "tcp" } else { "udp" },
    }
}

/// The events of a spec, in time order: background and planted merged.
pub fn events(spec: &SampleSpec) -> impl Iterator<Item = Event> + '_ {
    let mut planted: Vec<Event> = planted_groups(spec)
        .into_iter()
        .flat_map(|g| g.events)
        .collect();
    if planted.len() > spec.rows {
        planted.truncate(0);
    }
    planted.sort_by_key(|e| e.timestamp);
    let n_background = spec.rows - planted.len();
    let start = spec.as_of_micros() - 24 * MICROS_PER_HOUR;
    let span = 25 * MICROS_PER_HOUR;
    let step = (span / n_background.max(1) as i64).max(1);
    let mut rng = Rng(spec.seed ^ 0x6c61_6b65_6875_6e74);
    let mut planted = planted.into_iter().peekable();
    // Background events in time order; each slot's timestamp is jittered within its step.
    let mut background_events = (0..n_background)
        .map(move |i| {
            // i128: `i * span` passes i64 above ~100M rows.
            let slot = (i as i128 * i128::from(span) / n_background as i128) as i64;
            let ts = start + slot + (rng.next() % step as u64) as i64;
            background(&mut rng, spec, ts)
        })
        .peekable();
    std::iter::from_fn(move || match (background_events.peek(), planted.peek()) {
        (Some(b), Some(p)) if p.timestamp < b.timestamp => planted.next(),
        (Some(_), _) => background_events.next(),
        (None, _) => planted.next(),
    })
}

/// A column being built: its dotted ECS name and builder.
struct Columns {
    timestamp: Vec<i64>,
    category: ListBuilder<StringBuilder>,
    action: StringBuilder,
    dataset: StringBuilder,
    host_name: StringBuilder,
    os_family: StringBuilder,
    os_type: StringBuilder,
    entity_id: StringBuilder,
    executable: StringBuilder,
    pid: Vec<i64>,
    dst_ip: StringBuilder,
    dst_address: StringBuilder,
    dst_port: Vec<i64>,
    src_ip: StringBuilder,
    src_port: Vec<i64>,
    src_bytes: Vec<Option<i64>>,
    transport: StringBuilder,
    /// The fields Elastic Defend's network events carry beside those the
    /// seed hunt reads, as its process events write them (the same agent,
    /// host id, process name and user for the same process).
    agent_id: StringBuilder,
    event_type: ListBuilder<StringBuilder>,
    host_id: StringBuilder,
    process_name: StringBuilder,
    user_name: StringBuilder,
    /// `host.name` -> its digest (agent.id, then host.id), computed once a host.
    host_digests: std::collections::HashMap<String, String>,
}

impl Columns {
    fn new() -> Self {
        Columns {
            timestamp: vec![],
            category: ListBuilder::new(StringBuilder::new()),
            action: StringBuilder::new(),
            dataset: StringBuilder::new(),
            host_name: StringBuilder::new(),
            os_family: StringBuilder::new(),
            os_type: StringBuilder::new(),
            entity_id: StringBuilder::new(),
            executable: StringBuilder::new(),
            pid: vec![],
            dst_ip: StringBuilder::new(),
            dst_address: StringBuilder::new(),
            dst_port: vec![],
            src_ip: StringBuilder::new(),
            src_port: vec![],
            src_bytes: vec![],
            transport: StringBuilder::new(),
            agent_id: StringBuilder::new(),
            event_type: ListBuilder::new(StringBuilder::new()),
            host_id: StringBuilder::new(),
            process_name: StringBuilder::new(),
            user_name: StringBuilder::new(),
            host_digests: std::collections::HashMap::new(),
        }
    }

    fn push(&mut self, e: &Event) {
        self.timestamp.push(e.timestamp);
        match &e.category {
            Some(values) => {
                for v in values {
                    self.category.values().append_value(v);
                }
                self.category.append(true);
            }
            None => self.category.append(false),
        }
        self.action.append_value(e.action);
        self.dataset.append_value("endpoint.events.network");
        self.host_name.append_value(&e.host_name);
        self.os_family.append_option(e.os_family);
        self.os_type.append_option(e.os_type);
        self.entity_id.append_option(e.entity_id.as_deref());
        self.executable.append_option(e.executable.as_deref());
        self.pid.push(e.pid);
        self.dst_ip.append_option(e.destination_ip.as_deref());
        self.dst_address
            .append_option(e.destination_address.as_deref());
        self.dst_port.push(e.destination_port);
        self.src_ip.append_value(&e.source_ip);
        self.src_port.push(e.source_port);
        self.src_bytes.push(e.source_bytes);
        self.transport.append_value(e.transport);
        if !self.host_digests.contains_key(&e.host_name) {
            let digest = processes::digest(&e.host_name);
            self.host_digests.insert(e.host_name.clone(), digest);
        }
        let digest = &self.host_digests[&e.host_name];
        self.agent_id.append_value(&digest[..32]);
        self.host_id.append_value(&digest[32..]);
        // Elastic Defend: a connection starts, a disconnect ends; lookups and
        // requests are information.
        self.event_type.values().append_value(match e.action {
            "connection_attempted" | "connection_accepted" => "start",
            "disconnect_received" | "disconnect_sent" => "end",
            _ => "info",
        });
        self.event_type.append(true);
        self.process_name
            .append_option(e.executable.as_deref().map(processes::name_of));
        // Every process behind a network event runs as its host's one user.
        self.user_name
            .append_value(processes::host_user(&e.host_name));
    }

    /// Flat (dotted name, array) pairs in ECS order.
    fn finish(&mut self) -> Vec<(&'static str, ArrayRef)> {
        let ts = TimestampMicrosecondArray::from(std::mem::take(&mut self.timestamp))
            .with_timezone("UTC");
        let strings = |b: &mut StringBuilder| -> ArrayRef { Arc::new(b.finish()) };
        let ints = |v: &mut Vec<i64>| -> ArrayRef { Arc::new(Int64Array::from(std::mem::take(v))) };
        vec![
            ("@timestamp", Arc::new(ts) as ArrayRef),
            ("event.action", strings(&mut self.action)),
            (
                "event.category",
                Arc::new(self.category.finish()) as ArrayRef,
            ),
            ("event.dataset", strings(&mut self.dataset)),
            ("host.name", strings(&mut self.host_name)),
            ("host.os.family", strings(&mut self.os_family)),
            ("host.os.type", strings(&mut self.os_type)),
            ("process.entity_id", strings(&mut self.entity_id)),
            ("process.executable", strings(&mut self.executable)),
            ("process.pid", ints(&mut self.pid)),
            ("destination.ip", strings(&mut self.dst_ip)),
            ("destination.address", strings(&mut self.dst_address)),
            ("destination.port", ints(&mut self.dst_port)),
            ("source.ip", strings(&mut self.src_ip)),
            ("source.port", ints(&mut self.src_port)),
            (
                "source.bytes",
                Arc::new(Int64Array::from(std::mem::take(&mut self.src_bytes))) as ArrayRef,
            ),
            ("network.transport", strings(&mut self.transport)),
            ("agent.id", strings(&mut self.agent_id)),
            ("event.type", Arc::new(self.event_type.finish()) as ArrayRef),
            ("host.id", strings(&mut self.host_id)),
            ("process.name", strings(&mut self.process_name)),
            ("user.name", strings(&mut self.user_name)),
        ]
    }
}

/// The OCSF version the OCSF sample is written in.
pub const OCSF_VERSION: &str = "1.1.0";

/// OCSF `device.os.type_id` for an ECS `host.os.family`.
fn os_type_id(family: &str) -> Option<i32> {
    match family {
        "windows" => Some(100),
        "macos" => Some(300),
        "debian" | "ubuntu" | "redhat" | "centos" | "linux" => Some(200),
        _ => None,
    }
}

/// The events as OCSF Network Activity columns (dotted OCSF names).
///
/// OCSF cannot say everything ECS says; the sample writes:
/// - `@timestamp` as `time_dt` (full precision) and `time` (epoch milliseconds);
/// - `event.category` as `category_uid` 4 when it is exactly `network` (once or
///   repeated), NULL otherwise: OCSF has one category per event, so an ECS event
///   with several (which ES|QL's `==` does not match) has none;
/// - `event.action` `connection_attempted` as activity 1 (Open),
///   `disconnect_received` as 2 (Close), and every other action as 99 (Other)
///   with the ECS action as `activity_name`, the way a source that knows more than
///   OCSF's enum keeps it;
/// - `host.os.family` as `device.os.type_id` (100 Windows, 200 Linux, 300 macOS),
///   the family itself in `device.os.name`;
/// - `destination.address` as `dst_endpoint.hostname` when it is not the IP
///   itself. An event with an IP but no address reads back with the IP as its
///   address (OCSF has no way to say "no address").
#[must_use]
pub fn ocsf_columns(events: &[Event]) -> Vec<(&'static str, ArrayRef)> {
    use arrow::array::Int32Array;
    let text = |f: &dyn Fn(&Event) -> Option<&str>| -> ArrayRef {
        Arc::new(events.iter().map(f).collect::<arrow::array::StringArray>())
    };
    let int32 = |f: &dyn Fn(&Event) -> Option<i32>| -> ArrayRef {
        Arc::new(events.iter().map(f).collect::<Int32Array>())
    };
    let activity = |e: &Event| match e.action {
        "connection_attempted" => 1,
        "disconnect_received" => 2,
        _ => 99,
    };
    let network = |e: &Event| {
        e.category
            .as_ref()
            .is_some_and(|c| !c.is_empty() && c.iter().all(|v| *v == "network"))
    };
    vec![
        (
            "time",
            Arc::new(Int64Array::from_iter_values(
                events.iter().map(|e| e.timestamp.div_euclid(1_000)),
            )) as ArrayRef,
        ),
        (
            "time_dt",
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(events.iter().map(|e| e.timestamp))
                    .with_timezone("UTC"),
            ),
        ),
        ("class_uid", int32(&|_| Some(4001))),
        ("category_uid", int32(&|e| network(e).then_some(4))),
        ("activity_id", int32(&|e| Some(activity(e)))),
        (
            "activity_name",
            text(&|e| {
                Some(match activity(e) {
                    1 => "Open",
                    2 => "Close",
                    _ => e.action,
                })
            }),
        ),
        (
            "type_uid",
            Arc::new(Int64Array::from_iter_values(
                events.iter().map(|e| 400_100 + i64::from(activity(e))),
            )),
        ),
        ("metadata.version", text(&|_| Some(OCSF_VERSION))),
        ("metadata.product.name", text(&|_| Some("lakehunt sample"))),
        ("device.hostname", text(&|e| Some(e.host_name.as_str()))),
        ("device.os.name", text(&|e| e.os_family)),
        (
            "device.os.type_id",
            int32(&|e| e.os_family.and_then(os_type_id)),
        ),
        ("actor.process.uid", text(&|e| e.entity_id.as_deref())),
        ("actor.process.pid", int32(&|e| i32::try_from(e.pid).ok())),
        (
            "actor.process.file.path",
            text(&|e| e.executable.as_deref()),
        ),
        ("dst_endpoint.ip", text(&|e| e.destination_ip.as_deref())),
        (
            "dst_endpoint.hostname",
            text(&|e| {
                e.destination_address
                    .as_deref()
                    .filter(|a| Some(*a) != e.destination_ip.as_deref())
            }),
        ),
        (
            "dst_endpoint.port",
            int32(&|e| i32::try_from(e.destination_port).ok()),
        ),
        ("src_endpoint.ip", text(&|e| Some(e.source_ip.as_str()))),
        (
            "src_endpoint.port",
            int32(&|e| i32::try_from(e.source_port).ok()),
        ),
        (
            "traffic.bytes_out",
            Arc::new(
                events
                    .iter()
                    .map(|e| e.source_bytes)
                    .collect::<Int64Array>(),
            ),
        ),
        (
            "connection_info.protocol_name",
            text(&|e| Some(e.transport)),
        ),
    ]
}

/// A column by its path of name segments (`["host", "os", "family"]`).
type PathColumn<'a> = (Vec<&'a str>, ArrayRef);

/// Groups dotted columns into struct columns by their first name segment.
fn nest(columns: Vec<PathColumn<'_>>) -> Result<Vec<(Field, ArrayRef)>> {
    let mut groups: Vec<(String, Vec<PathColumn<'_>>)> = vec![];
    for (path, array) in columns {
        let (head, rest) = path.split_first().ok_or_else(|| Error::InvalidParameter {
            name: "sample".into(),
            message: "empty column path".into(),
        })?;
        match groups.iter_mut().find(|(name, _)| name == head) {
            Some((_, members)) => members.push((rest.to_vec(), array)),
            None => groups.push(((*head).to_owned(), vec![(rest.to_vec(), array)])),
        }
    }
    groups
        .into_iter()
        .map(|(name, members)| {
            if let [(rest, array)] = members.as_slice()
                && rest.is_empty()
            {
                return Ok((
                    Field::new(name, array.data_type().clone(), true),
                    Arc::clone(array),
                ));
            }
            let children = nest(members)?;
            let (fields, arrays): (Vec<Field>, Vec<ArrayRef>) = children.into_iter().unzip();
            let fields = Fields::from(fields);
            let array = StructArray::try_new(fields.clone(), arrays, None)?;
            Ok((
                Field::new(name, DataType::Struct(fields), true),
                Arc::new(array) as ArrayRef,
            ))
        })
        .collect()
}

fn to_batch(columns: Vec<(&'static str, ArrayRef)>, layout: SampleLayout) -> Result<RecordBatch> {
    let pairs: Vec<(Field, ArrayRef)> = match layout {
        SampleLayout::Flat => columns
            .into_iter()
            .map(|(name, array)| (Field::new(name, array.data_type().clone(), true), array))
            .collect(),
        SampleLayout::Nested | SampleLayout::Ocsf => {
            // `@timestamp` has no dot; everything else nests by segment.
            nest(
                columns
                    .into_iter()
                    .map(|(name, a)| (name.split('.').collect(), a))
                    .collect(),
            )?
        }
    };
    let (fields, arrays): (Vec<Field>, Vec<ArrayRef>) = pairs.into_iter().unzip();
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?)
}

/// What [`write()`] produced.
#[derive(Clone, Debug)]
pub struct SampleSummary {
    /// Files written, in order.
    pub files: Vec<PathBuf>,
    /// Events written.
    pub rows: usize,
}

/// Writes the sample as `part-NNNNN.parquet` files in `dir` (created if needed).
/// Each file appears under its final name only when complete.
pub fn write(spec: &SampleSpec, dir: &Path) -> Result<SampleSummary> {
    std::fs::create_dir_all(dir)?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(spec.row_group_rows.max(1)))
        .build();
    let mut files = vec![];
    let mut rows = 0;
    let mut events = events(spec).peekable();
    let batch_rows = spec.row_group_rows.clamp(1, 64 * 1024);
    while events.peek().is_some() {
        let path = dir.join(format!("part-{:05}.parquet", files.len()));
        let tmp = crate::output::temp_file_in(dir, &format!("part-{:05}.parquet", files.len()))?;
        let mut writer: Option<ArrowWriter<std::fs::File>> = None;
        let mut in_file = 0;
        while in_file < spec.rows_per_file.max(1) && events.peek().is_some() {
            let take = batch_rows.min(spec.rows_per_file.max(1) - in_file);
            let chunk: Vec<Event> = events.by_ref().take(take).collect();
            in_file += chunk.len();
            let batch = if spec.layout == SampleLayout::Ocsf {
                to_batch(ocsf_columns(&chunk), SampleLayout::Nested)?
            } else {
                let mut columns = Columns::new();
                for event in &chunk {
                    columns.push(event);
                }
                to_batch(columns.finish(), spec.layout)?
            };
            if writer.is_none() {
                writer = Some(ArrowWriter::try_new(
                    tmp.as_file().try_clone()?,
                    batch.schema(),
                    Some(props.clone()),
                )?);
            }
            if let Some(w) = writer.as_mut() {
                w.write(&batch)?;
            }
        }
        if let Some(w) = writer {
            w.close()?;
        }
        tmp.persist(&path).map_err(|e| Error::OutputWrite {
            path: path.clone(),
            message: e.error.to_string(),
        })?;
        rows += in_file;
        files.push(path);
    }
    Ok(SampleSummary { files, rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_as_of_is_its_text() {
        assert_eq!(
            crate::params::parse_instant(EMBEDDED_AS_OF),
            Ok(embedded().as_of)
        );
    }

    #[test]
    fn same_seed_same_events_and_time_ordered() {
        let spec = SampleSpec::new(2_000, 7, 1_700_000_000_000_000_000, SampleLayout::Flat);
        let a: Vec<_> = events(&spec).collect();
        let b: Vec<_> = events(&spec).collect();
        assert_eq!(a.len(), 2_000);
        assert_eq!(a, b);
        assert!(a.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
        let other: Vec<_> = events(&SampleSpec { seed: 8, ..spec }).collect();
        assert_ne!(a, other);
    }

    #[test]
    fn every_planted_event_is_in_the_stream() {
        let spec = SampleSpec::new(1_000, 1, 1_700_000_000_000_000_000, SampleLayout::Nested);
        let all: Vec<_> = events(&spec).collect();
        for group in planted_groups(&spec) {
            for e in &group.events {
                assert!(all.contains(e), "{} missing", group.label);
            }
        }
    }

    #[test]
    fn nested_layout_builds_struct_columns() {
        let spec = SampleSpec::new(100, 1, 1_700_000_000_000_000_000, SampleLayout::Nested);
        let mut columns = Columns::new();
        events(&spec).for_each(|e| columns.push(&e));
        let batch = to_batch(columns.finish(), SampleLayout::Nested).unwrap();
        let names: Vec<_> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(
            names,
            [
                "@timestamp",
                "event",
                "host",
                "process",
                "destination",
                "source",
                "network",
                "agent",
                "user"
            ]
        );
        let DataType::Struct(host) = batch.schema().field(2).data_type().clone() else {
            panic!()
        };
        assert!(
            matches!(host[1].data_type(), DataType::Struct(_)),
            "host.os is a struct"
        );
    }
}
