//! The processes behind the sample's network events: a start event for each
//! process (and for each host's root process, its parent), and for each
//! planted exfiltration a child that stages an archive (a child start and
//! a file creation), so `pivot` has parents and children to find.
//!
//! Each event carries the fields Elastic Defend's process and file events
//! carry and hunts read: the agent's and host's ids, the user, the parent's
//! executable and name, the command line and arguments, a SHA-256 (a stable
//! digest of the path, not of a real file), the code signature (Microsoft's,
//! trusted, under `C:\Windows\`), and a file's name and extension, so that
//! most of Elastic's endpoint hunts find their fields on the sample.
//!
//! Written beside the network files as `processes-NNNNN.parquet`, in the
//! same layout; the network files are the same as without them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Int64Array, ListBuilder, StringBuilder, TimestampMicrosecondArray,
};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::{SampleLayout, SampleSpec, events, planted_groups, to_batch};
use crate::error::{Error, Result};

const MICROS_PER_SECOND: i64 = 1_000_000;

/// `host.os.family` and `host.os.type`.
type Os = (Option<&'static str>, Option<&'static str>);

/// One process-side event.
struct Activity {
    timestamp: i64,
    category: &'static str,
    kind: &'static str,
    host: String,
    os: Os,
    entity: String,
    parent: Option<String>,
    executable: String,
    pid: i64,
    file: Option<String>,
    /// The parent's executable; `None` for a host's first process.
    parent_executable: Option<String>,
    /// `process.args`: the executable, then its arguments.
    args: Vec<String>,
}

/// A process as its network events show it.
struct Seen {
    first: i64,
    host: String,
    os: Os,
    executable: String,
    pid: i64,
}

pub(super) fn name_of(executable: &str) -> &str {
    executable.rsplit(['\\', '/']).next().unwrap_or(executable)
}

fn root_of(os: Option<&str>) -> &'static str {
    match os {
        Some("linux") => "/usr/lib/systemd/systemd",
        Some("macos") => "/sbin/launchd",
        _ => "C:\\Windows\\explorer.exe",
    }
}

/// A stable 64-digit hex digest of `text` (FNV-1a, four ways): what the
/// sample writes as a file's SHA-256, the same for the same path.
pub(super) fn digest(text: &str) -> String {
    use std::fmt::Write as _;
    (0u64..4).fold(String::with_capacity(64), |mut out, lane| {
        let mut h = 0xcbf2_9ce4_8422_2325u64 ^ lane;
        for b in text.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        let _ = write!(out, "{h:016x}");
        out
    })
}

/// `process.command_line`: the arguments, the executable quoted where it
/// holds a space (as Windows writes it).
fn command_line(args: &[String]) -> String {
    args.iter()
        .enumerate()
        .map(|(i, a)| {
            if i == 0 && a.contains(' ') {
                format!("\"{a}\"")
            } else {
                a.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether `e` is a Unix host's first process (systemd, launchd), which runs
/// as root; every other process runs as the host's one user (explorer.exe
/// and what it starts, as a logged-on Windows user).
fn as_root(e: &Activity) -> bool {
    e.parent_executable.is_none() && matches!(e.os.1, Some("linux" | "macos"))
}

/// `user.name`.
fn user_of(e: &Activity) -> String {
    if as_root(e) {
        "root".to_owned()
    } else {
        host_user(&e.host)
    }
}

/// The one user of `host` (`host-00015`: `user-00015`), as whom every process
/// but a Unix host's first runs.
pub(super) fn host_user(host: &str) -> String {
    format!("user-{}", host.rsplit('-').next().unwrap_or("0"))
}

/// `user.id`: as its system writes one (a Windows SID, a Unix uid).
fn user_id(e: &Activity) -> String {
    match (as_root(e), matches!(e.os.1, Some("linux" | "macos"))) {
        (true, _) => "0".to_owned(),
        (false, true) => "1000".to_owned(),
        (false, false) => "S-1-5-21-1004336348-1177238915-682003330-1001".to_owned(),
    }
}

/// The process events of `spec`'s sample, in time order.
fn activity(spec: &SampleSpec) -> Vec<Activity> {
    let mut seen: BTreeMap<String, Seen> = BTreeMap::new();
    for e in events(spec) {
        let (Some(entity), Some(executable)) = (e.entity_id, e.executable) else {
            continue;
        };
        seen.entry(entity).or_insert(Seen {
            first: e.timestamp,
            host: e.host_name,
            os: (e.os_family, e.os_type),
            executable,
            pid: e.pid,
        });
    }
    let mut out = Vec::with_capacity(seen.len() * 2);
    let mut roots: BTreeMap<String, (i64, Os)> = BTreeMap::new();
    for (i, (entity, s)) in seen.iter().enumerate() {
        // Started a little before it first talks: 1 to 60 seconds.
        let started = s.first - (1 + (i as i64 * 7919) % 60) * MICROS_PER_SECOND;
        let root = roots.entry(s.host.clone()).or_insert((started, s.os));
        root.0 = root.0.min(started);
        out.push(Activity {
            timestamp: started,
            category: "process",
            kind: "start",
            host: s.host.clone(),
            os: s.os,
            entity: entity.clone(),
            parent: Some(format!("root-{}", s.host)),
            parent_executable: Some(root_of(s.os.1).to_owned()),
            args: vec![s.executable.clone()],
            executable: s.executable.clone(),
            pid: s.pid,
            file: None,
        });
    }
    for (host, (first, os)) in roots {
        out.push(Activity {
            timestamp: first - 3600 * MICROS_PER_SECOND,
            category: "process",
            kind: "start",
            entity: format!("root-{host}"),
            executable: root_of(os.1).to_owned(),
            args: vec![root_of(os.1).to_owned()],
            host,
            os,
            parent: None,
            parent_executable: None,
            pid: 400,
            file: None,
        });
    }
    out.extend(stagers(spec));
    out.sort_by(|a, b| a.timestamp.cmp(&b.timestamp).then(a.entity.cmp(&b.entity)));
    out
}

/// Each planted exfiltration stages its archive with a child first: the
/// child's start and its file creation.
fn stagers(spec: &SampleSpec) -> Vec<Activity> {
    let mut out = vec![];
    for (i, group) in planted_groups(spec).iter().enumerate() {
        let (Some(entity), Some(first)) = (
            &group.entity_id,
            group.events.iter().map(|e| e.timestamp).min(),
        ) else {
            continue;
        };
        let host = format!("planted-host-{i:02}");
        let os = group
            .events
            .first()
            .map_or((None, None), |e| (e.os_family, e.os_type));
        let child = format!("{entity}-archiver");
        let archiver = "C:\\Program Files\\7-Zip\\7z.exe".to_owned();
        let archive = format!("C:\\Users\\Public\\staging\\{}.7z", group.label);
        let args = vec![
            archiver.clone(),
            "a".to_owned(),
            archive.clone(),
            "C:\\Users\\Public\\Documents".to_owned(),
        ];
        out.push(Activity {
            timestamp: first - 5 * 60 * MICROS_PER_SECOND,
            category: "process",
            kind: "start",
            host: host.clone(),
            os,
            entity: child.clone(),
            parent: Some(entity.clone()),
            parent_executable: Some(group.executable.clone()),
            args: args.clone(),
            executable: archiver.clone(),
            pid: 9500 + i as i64,
            file: None,
        });
        out.push(Activity {
            timestamp: first - 4 * 60 * MICROS_PER_SECOND,
            category: "file",
            kind: "creation",
            host,
            os,
            entity: child,
            parent: Some(entity.clone()),
            parent_executable: Some(group.executable.clone()),
            args,
            executable: archiver,
            pid: 9500 + i as i64,
            file: Some(archive),
        });
    }
    out
}

/// A text column: `f` of each event.
fn strings(events: &[Activity], f: &dyn Fn(&Activity) -> Option<String>) -> ArrayRef {
    let mut b = StringBuilder::new();
    for e in events {
        b.append_option(f(e));
    }
    Arc::new(b.finish())
}

/// A column of lists of text: `f` of each event.
fn lists(events: &[Activity], f: &dyn Fn(&Activity) -> Vec<&str>) -> ArrayRef {
    let mut b = ListBuilder::new(StringBuilder::new());
    for e in events {
        for v in f(e) {
            b.values().append_value(v);
        }
        b.append(true);
    }
    Arc::new(b.finish())
}

/// A boolean column: `f` of each event.
fn flags(events: &[Activity], f: &dyn Fn(&Activity) -> bool) -> ArrayRef {
    Arc::new(events.iter().map(|e| Some(f(e))).collect::<BooleanArray>())
}

fn file_name(e: &Activity) -> Option<String> {
    e.file.as_deref().map(|f| name_of(f).to_owned())
}

fn signed(e: &Activity) -> bool {
    e.executable.starts_with("C:\\Windows\\")
}

fn columns(events: &[Activity]) -> Vec<(&'static str, ArrayRef)> {
    let mut out = vec![
        (
            "@timestamp",
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(events.iter().map(|e| e.timestamp))
                    .with_timezone("UTC"),
            ) as ArrayRef,
        ),
        (
            "agent.id",
            strings(events, &|e| Some(digest(&e.host)[..32].to_owned())),
        ),
        (
            "event.action",
            strings(events, &|e| {
                Some(
                    if e.kind == "start" {
                        "start"
                    } else {
                        "creation"
                    }
                    .to_owned(),
                )
            }),
        ),
        ("event.category", lists(events, &|e| vec![e.category])),
        (
            "event.dataset",
            strings(events, &|e| {
                Some(
                    if e.category == "file" {
                        "endpoint.events.file"
                    } else {
                        "endpoint.events.process"
                    }
                    .to_owned(),
                )
            }),
        ),
        (
            "event.outcome",
            strings(events, &|_| Some("success".to_owned())),
        ),
        ("event.type", lists(events, &|e| vec![e.kind])),
        (
            "file.extension",
            strings(events, &|e| {
                file_name(e).and_then(|n| n.rsplit_once('.').map(|(_, x)| x.to_owned()))
            }),
        ),
        (
            "file.hash.sha256",
            strings(events, &|e| e.file.as_deref().map(digest)),
        ),
        ("file.name", strings(events, &file_name)),
        ("file.path", strings(events, &|e| e.file.clone())),
        (
            "host.id",
            strings(events, &|e| Some(digest(&e.host)[32..].to_owned())),
        ),
        ("host.name", strings(events, &|e| Some(e.host.clone()))),
        (
            "host.os.family",
            strings(events, &|e| e.os.0.map(str::to_owned)),
        ),
        (
            "host.os.type",
            strings(events, &|e| e.os.1.map(str::to_owned)),
        ),
    ];
    out.extend(process_columns(events));
    out
}

/// The `process.*` and `user.*` columns.
fn process_columns(events: &[Activity]) -> Vec<(&'static str, ArrayRef)> {
    vec![
        (
            "process.args",
            lists(events, &|e| e.args.iter().map(String::as_str).collect()),
        ),
        ("process.code_signature.exists", flags(events, &signed)),
        (
            "process.code_signature.subject_name",
            strings(events, &|e| {
                signed(e).then(|| "Microsoft Windows".to_owned())
            }),
        ),
        ("process.code_signature.trusted", flags(events, &signed)),
        (
            "process.command_line",
            strings(events, &|e| Some(command_line(&e.args))),
        ),
        (
            "process.entity_id",
            strings(events, &|e| Some(e.entity.clone())),
        ),
        (
            "process.executable",
            strings(events, &|e| Some(e.executable.clone())),
        ),
        (
            "process.hash.sha256",
            strings(events, &|e| Some(digest(&e.executable))),
        ),
        (
            "process.name",
            strings(events, &|e| Some(name_of(&e.executable).to_owned())),
        ),
        (
            "process.parent.entity_id",
            strings(events, &|e| e.parent.clone()),
        ),
        (
            "process.parent.executable",
            strings(events, &|e| e.parent_executable.clone()),
        ),
        (
            "process.parent.name",
            strings(events, &|e| {
                e.parent_executable
                    .as_deref()
                    .map(|p| name_of(p).to_owned())
            }),
        ),
        (
            "process.pid",
            Arc::new(Int64Array::from_iter_values(events.iter().map(|e| e.pid))) as ArrayRef,
        ),
        ("user.id", strings(events, &|e| Some(user_id(e)))),
        ("user.name", strings(events, &|e| Some(user_of(e)))),
    ]
}

/// Writes the process events of `spec`'s sample into `dir` as
/// `processes-NNNNN.parquet`; returns the files and the events written.
pub fn write_processes(spec: &SampleSpec, dir: &Path) -> Result<(Vec<PathBuf>, usize)> {
    if spec.layout == SampleLayout::Ocsf {
        return Err(Error::InvalidParameter {
            name: "--processes".into(),
            message: "process events are written in ECS (nested or flat), not OCSF".into(),
        });
    }
    let all = activity(spec);
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(spec.row_group_rows.max(1)))
        .build();
    let mut files = vec![];
    for chunk in all.chunks(spec.rows_per_file.max(1)) {
        let name = format!("processes-{:05}.parquet", files.len());
        let path = dir.join(&name);
        let batch = to_batch(columns(chunk), spec.layout)?;
        let tmp = crate::output::temp_file_in(dir, &name)?;
        let mut writer = ArrowWriter::try_new(
            tmp.as_file().try_clone()?,
            batch.schema(),
            Some(props.clone()),
        )?;
        writer.write(&batch)?;
        writer.close()?;
        tmp.persist(&path).map_err(|e| Error::OutputWrite {
            path: path.clone(),
            message: e.error.to_string(),
        })?;
        files.push(path);
    }
    Ok((files, all.len()))
}
