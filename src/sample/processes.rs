//! The processes behind the sample's network events: a start event for each
//! process (and for each host's root process, its parent), and for each
//! planted exfiltration a child that stages an archive (a child start and
//! a file creation), so `pivot` has parents and children to find.
//!
//! Written beside the network files as `processes-NNNNN.parquet`, in the
//! same layout; the network files are the same as without them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, ListBuilder, StringBuilder, TimestampMicrosecondArray};
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
}

/// A process as its network events show it.
struct Seen {
    first: i64,
    host: String,
    os: Os,
    executable: String,
    pid: i64,
}

fn name_of(executable: &str) -> &str {
    executable.rsplit(['\\', '/']).next().unwrap_or(executable)
}

fn root_of(os: Option<&str>) -> &'static str {
    match os {
        Some("linux") => "/usr/lib/systemd/systemd",
        Some("macos") => "/sbin/launchd",
        _ => "C:\\Windows\\explorer.exe",
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
            host,
            os,
            parent: None,
            pid: 400,
            file: None,
        });
    }
    // Each planted exfiltration stages its archive with a child first.
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
        out.push(Activity {
            timestamp: first - 5 * 60 * MICROS_PER_SECOND,
            category: "process",
            kind: "start",
            host: host.clone(),
            os,
            entity: child.clone(),
            parent: Some(entity.clone()),
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
            executable: archiver,
            pid: 9500 + i as i64,
            file: Some(format!("C:\\Users\\Public\\staging\\{}.7z", group.label)),
        });
    }
    out.sort_by(|a, b| a.timestamp.cmp(&b.timestamp).then(a.entity.cmp(&b.entity)));
    out
}

fn columns(events: &[Activity]) -> Vec<(&'static str, ArrayRef)> {
    let strings = |f: &dyn Fn(&Activity) -> Option<&str>| -> ArrayRef {
        let mut b = StringBuilder::new();
        for e in events {
            b.append_option(f(e));
        }
        Arc::new(b.finish())
    };
    let list = |f: &dyn Fn(&Activity) -> Vec<&str>| -> ArrayRef {
        let mut b = ListBuilder::new(StringBuilder::new());
        for e in events {
            for v in f(e) {
                b.values().append_value(v);
            }
            b.append(true);
        }
        Arc::new(b.finish())
    };
    vec![
        (
            "@timestamp",
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(events.iter().map(|e| e.timestamp))
                    .with_timezone("UTC"),
            ) as ArrayRef,
        ),
        (
            "event.action",
            strings(&|e| {
                Some(if e.kind == "start" {
                    "start"
                } else {
                    "creation"
                })
            }),
        ),
        ("event.category", list(&|e| vec![e.category])),
        (
            "event.dataset",
            strings(&|e| {
                Some(if e.category == "file" {
                    "endpoint.events.file"
                } else {
                    "endpoint.events.process"
                })
            }),
        ),
        ("event.type", list(&|e| vec![e.kind])),
        ("file.path", strings(&|e| e.file.as_deref())),
        ("host.name", strings(&|e| Some(e.host.as_str()))),
        ("host.os.family", strings(&|e| e.os.0)),
        ("host.os.type", strings(&|e| e.os.1)),
        ("process.args", list(&|e| vec![e.executable.as_str()])),
        ("process.entity_id", strings(&|e| Some(e.entity.as_str()))),
        (
            "process.executable",
            strings(&|e| Some(e.executable.as_str())),
        ),
        ("process.name", strings(&|e| Some(name_of(&e.executable)))),
        (
            "process.parent.entity_id",
            strings(&|e| e.parent.as_deref()),
        ),
        (
            "process.pid",
            Arc::new(Int64Array::from_iter_values(events.iter().map(|e| e.pid))) as ArrayRef,
        ),
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
