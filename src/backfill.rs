//! `lakehunt backfill`: a hunt over every window of a stretch of archive.
//!
//! Windows end at `from + k * every` (k = 1, 2, ...) up to `to`, each covering
//! `(end - window, end]`, exactly what `run --as-of end` covers. Windows are
//! processed a day at a time (the UTC day their start falls on): one scan of that
//! day's range assigns every event to each window it belongs to (an event in
//! overlapping windows is repeated, not re-read), and the hunt's own SQL is run
//! once with its aggregations grouped by window as well.
//!
//! Each finished day is written as `DIR/window_date=YYYY-MM-DD/part-00000.parquet`
//! (temporary file, then rename) and only then recorded in the manifest,
//! `DIR/_lakehunt_backfill.json` (also replaced atomically). `--resume` removes
//! every day folder the manifest does not record (a day written but not yet
//! recorded is simply written again), and `--force` replaces the manifest with
//! one of no days before it removes the old folders, so a crash at any moment,
//! of either, followed by `--resume` gives exactly an uninterrupted run's files.
//! An object-store prefix works the same way: each day's object and the
//! manifest appear whole (one `PUT` or a completed multipart upload), and
//! `--resume` deletes the day objects the manifest does not record.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::TimeUnit;
use std::time::UNIX_EPOCH;

use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, ScalarValue};
use datafusion::dataframe::DataFrame;
use datafusion::logical_expr::{
    Aggregate, Expr, LogicalPlan, LogicalPlanBuilder, Projection, SortExpr,
};
use serde::{Deserialize, Serialize};

use crate::engine::{Engine, ScanStats, Table, collect_observed, timestamp};
use crate::error::{Error, Result};
use crate::hunt::BoundHunt;
use crate::output::{Format, write_file};
use crate::params::{format_duration, format_instant};
use crate::source::remote::{self, StoreOptions};

const DAY_NS: i64 = 86_400_000_000_000;

/// More windows than this is a typo, not a backfill.
const MAX_WINDOWS: i64 = 1_000_000;

/// The manifest's file name inside the output folder.
pub const MANIFEST: &str = "_lakehunt_backfill.json";

/// What to backfill.
#[derive(Clone, Debug)]
pub struct BackfillSpec {
    /// The hunt with its parameters; its `as_of`/`window_start` are ignored.
    pub bound: BoundHunt,
    /// Windows end after this instant (ns).
    pub from: i64,
    /// ... and at or before this one (ns).
    pub to: i64,
    /// Distance between window ends (ns).
    pub every: i64,
    /// Output folder.
    pub out: PathBuf,
    /// Finish an interrupted backfill of the same hunt, parameters and inputs.
    pub resume: bool,
    /// Start over, whatever the folder holds.
    pub force: bool,
}

/// Everything that identifies a backfill's output: the same identity gives the
/// same files.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// lakehunt's version.
    pub lakehunt_version: String,
    /// Hunt id.
    pub hunt: String,
    /// Parameter values, as text.
    pub parameters: BTreeMap<String, String>,
    /// `--from`, `--to` (RFC 3339), `--every`, `--window`.
    pub from: String,
    /// See `from`.
    pub to: String,
    /// See `from`.
    pub every: String,
    /// See `from`.
    pub window: String,
    /// Every input file with its size and modification time (ns since the epoch).
    pub inputs: Vec<InputFile>,
    /// The hunt's SQL, so an edited hunt is not resumed as the old one.
    pub sql: String,
    /// How the files were read (`--schema`), and the OCSF map's version if used.
    pub reading: String,
}

/// An input file as the manifest records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputFile {
    /// Path as given.
    pub path: PathBuf,
    /// Bytes.
    pub size: u64,
    /// Modification time, ns since the epoch.
    pub modified_ns: i128,
}

/// The manifest: the identity and the days done.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// What is being backfilled.
    pub identity: Identity,
    /// Day (`YYYY-MM-DD`) -> what it produced.
    pub done: BTreeMap<String, DayDone>,
}

/// A finished day.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct DayDone {
    /// Windows starting that day.
    pub windows: u64,
    /// Findings over them.
    pub findings: u64,
}

/// One day of windows: `k` from `first` to `last` inclusive.
#[derive(Clone, Debug)]
pub struct Day {
    /// `YYYY-MM-DD` (UTC) of the windows' starts.
    pub date: String,
    /// First window index.
    pub first: i64,
    /// Last window index.
    pub last: i64,
}

/// Progress after each day.
#[derive(Clone, Debug)]
pub struct Progress {
    /// Days done (skipped ones included), of `days_total`.
    pub days_done: usize,
    /// All days.
    pub days_total: usize,
    /// Windows done, of `windows_total`.
    pub windows_done: u64,
    /// All windows.
    pub windows_total: u64,
    /// Findings so far (this run's days only).
    pub findings: u64,
    /// Days skipped because the manifest had them.
    pub resumed: usize,
    /// What this run's scans read so far.
    pub read: ScanStats,
    /// Input files in the backfill's range.
    pub files: usize,
}

/// How a backfill ended.
#[derive(Clone, Debug)]
pub struct Summary {
    /// Days, windows and findings.
    pub progress: Progress,
    /// Files written by this run.
    pub files_written: usize,
}

fn date_of(ns: i64) -> String {
    format_instant(ns.div_euclid(DAY_NS) * DAY_NS)[..10].to_owned()
}

/// The days of a backfill, in order. Errors when there is no window at all.
pub fn days(from: i64, to: i64, every: i64, window: i64) -> Result<Vec<Day>> {
    if every <= 0 || window <= 0 {
        return Err(Error::InvalidParameter {
            name: "--every".into(),
            message: "--every and --window must be longer than zero".into(),
        });
    }
    let too_far = || Error::InvalidParameter {
        name: "--to".into(),
        message: "--from and --to are too far apart".into(),
    };
    let windows = to.checked_sub(from).ok_or_else(too_far)?.div_euclid(every);
    if windows > MAX_WINDOWS {
        return Err(Error::InvalidParameter {
            name: "--every".into(),
            message: format!(
                "{windows} windows of {} is more than {MAX_WINDOWS}: use a longer --every",
                format_duration(every)
            ),
        });
    }
    if window / every > 1_000 {
        return Err(Error::InvalidParameter {
            name: "--window".into(),
            message: "a window over 1000 times --every would repeat every event 1000 times".into(),
        });
    }
    if from.checked_sub(window).is_none() || from.checked_add(windows * every).is_none() {
        return Err(too_far());
    }
    if windows < 1 {
        return Err(Error::InvalidParameter {
            name: "--to".into(),
            message: format!(
                "no window ends in ({}, {}]: --to must be at least --every ({}) after --from",
                format_instant(from),
                format_instant(to),
                format_duration(every)
            ),
        });
    }
    let mut out: Vec<Day> = vec![];
    for k in 1..=windows {
        let date = date_of(from + k * every - window);
        match out.last_mut() {
            Some(day) if day.date == date => day.last = k,
            _ => out.push(Day {
                date,
                first: k,
                last: k,
            }),
        }
    }
    Ok(out)
}

fn input_files(engine: &Engine) -> Result<Vec<InputFile>> {
    // Objects in stores: their size and modification time as listed.
    let listed: std::collections::HashMap<&std::path::Path, &object_store::ObjectMeta> = engine
        .source()
        .files_with_stats()
        .filter_map(|(file, stats)| Some((file, stats.object.as_ref()?)))
        .collect();
    engine
        .source()
        .files
        .iter()
        .map(|path| {
            if let Some(object) = listed.get(path.as_path()) {
                return Ok(InputFile {
                    path: path.clone(),
                    size: object.size,
                    modified_ns: object
                        .last_modified
                        .timestamp_nanos_opt()
                        .map_or(0, i128::from),
                });
            }
            let meta = std::fs::metadata(path).map_err(|e| Error::UnreadableFile {
                path: path.clone(),
                message: e.to_string(),
            })?;
            let modified_ns = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX));
            Ok(InputFile {
                path: path.clone(),
                size: meta.len(),
                modified_ns,
            })
        })
        .collect()
}

fn identity(spec: &BackfillSpec, engine: &Engine) -> Result<Identity> {
    Ok(Identity {
        lakehunt_version: env!("CARGO_PKG_VERSION").to_owned(),
        hunt: spec.bound.hunt.id().to_owned(),
        parameters: spec
            .bound
            .values
            .iter()
            .map(|(k, v)| (k.clone(), v.display()))
            .collect(),
        from: format_instant(spec.from),
        to: format_instant(spec.to),
        every: format_duration(spec.every),
        window: format_duration(spec.bound.window),
        inputs: input_files(engine)?,
        sql: spec.bound.hunt.lakehunt.sql.clone(),
        reading: format!(
            "{} layout{}",
            engine.source().layout,
            engine
                .source()
                .ocsf_version
                .as_deref()
                .map(|v| format!(", OCSF {v}"))
                .unwrap_or_default()
        ),
    })
}

/// Why two identities differ, in words.
fn difference(old: &Identity, new: &Identity) -> String {
    let mut out = vec![];
    if old.hunt != new.hunt {
        out.push(format!("hunt {} (now {})", old.hunt, new.hunt));
    }
    if old.parameters != new.parameters {
        out.push(format!(
            "parameters {:?} (now {:?})",
            old.parameters, new.parameters
        ));
    }
    for (name, a, b) in [
        ("--from", &old.from, &new.from),
        ("--to", &old.to, &new.to),
        ("--every", &old.every, &new.every),
        ("--window", &old.window, &new.window),
        ("version", &old.lakehunt_version, &new.lakehunt_version),
    ] {
        if a != b {
            out.push(format!("{name} {a} (now {b})"));
        }
    }
    if old.sql != new.sql {
        out.push("the hunt's SQL".to_owned());
    }
    if old.reading != new.reading {
        out.push(format!(
            "how files are read: {} (now {})",
            old.reading, new.reading
        ));
    }
    if old.inputs != new.inputs {
        let changed = new
            .inputs
            .iter()
            .filter(|f| !old.inputs.contains(f))
            .count();
        let gone = old
            .inputs
            .iter()
            .filter(|f| !new.inputs.iter().any(|n| n.path == f.path))
            .count();
        out.push(format!(
            "input files ({changed} added or changed, {gone} gone)"
        ));
    }
    out.join(", ")
}

/// Where a backfill writes: a local folder, or a prefix in an object store
/// (where every object appears whole, so there are no temporaries to clean).
enum Out<'a> {
    Local(&'a Path),
    Store(String),
}

/// The file of a day with findings, inside its folder.
const DAY_FILE: &str = "part-00000.parquet";

impl Out<'_> {
    fn show(&self) -> String {
        match self {
            Out::Local(dir) => dir.display().to_string(),
            Out::Store(prefix) => format!("{prefix}/"),
        }
    }

    fn manifest_path(&self) -> PathBuf {
        match self {
            Out::Local(dir) => dir.join(MANIFEST),
            Out::Store(prefix) => PathBuf::from(format!("{prefix}/{MANIFEST}")),
        }
    }

    fn day_path(&self, date: &str) -> PathBuf {
        match self {
            Out::Local(dir) => dir.join(format!("window_date={date}")).join(DAY_FILE),
            Out::Store(prefix) => PathBuf::from(format!("{prefix}/window_date={date}/{DAY_FILE}")),
        }
    }

    fn read_manifest(&self) -> Result<Option<String>> {
        match self {
            Out::Local(dir) => Ok(std::fs::read_to_string(dir.join(MANIFEST)).ok()),
            Out::Store(prefix) => {
                remote::read_text(&format!("{prefix}/{MANIFEST}"), &StoreOptions::default())
            }
        }
    }

    /// Replaces the manifest whole (a rename made durable, or one `PUT`).
    fn write_manifest(&self, manifest: &Manifest) -> Result<()> {
        let path = self.manifest_path();
        let failed = |message: String| Error::OutputWrite {
            path: path.clone(),
            message,
        };
        let text = serde_json::to_string_pretty(manifest).map_err(|e| failed(e.to_string()))?;
        match self {
            Out::Local(dir) => {
                let mut tmp = crate::output::temp_file_in(dir, MANIFEST)
                    .map_err(|e| failed(e.to_string()))?;
                std::io::Write::write_all(&mut tmp, text.as_bytes())
                    .map_err(|e| failed(e.to_string()))?;
                tmp.as_file()
                    .sync_all()
                    .map_err(|e| failed(e.to_string()))?;
                tmp.persist(&path)
                    .map_err(|e| failed(e.error.to_string()))?;
                sync_dir(dir)
            }
            Out::Store(_) => {
                let mut tmp = tempfile::NamedTempFile::new().map_err(|e| failed(e.to_string()))?;
                std::io::Write::write_all(&mut tmp, text.as_bytes())
                    .map_err(|e| failed(e.to_string()))?;
                remote::upload(
                    &path.to_string_lossy(),
                    tmp.path(),
                    "application/json",
                    &StoreOptions::default(),
                )
            }
        }
    }

    /// The entries below the output, relative (`window_date=.../part-00000.parquet`).
    fn entries(&self) -> Result<Vec<String>> {
        match self {
            Out::Local(dir) => {
                let mut names = vec![];
                for entry in std::fs::read_dir(dir)? {
                    let path = entry?.path();
                    let name = path
                        .file_name()
                        .and_then(|n| n.to_str())
                        .unwrap_or("")
                        .to_owned();
                    if path.is_dir() && name.starts_with("window_date=") {
                        for inner in std::fs::read_dir(&path)? {
                            let inner = inner?.file_name();
                            names.push(format!("{name}/{}", inner.to_string_lossy()));
                        }
                    }
                    names.push(name);
                }
                Ok(names)
            }
            Out::Store(prefix) => remote::list_below(prefix, &StoreOptions::default()),
        }
    }

    /// Removes temporary files (a killed run's) and every `window_date=`
    /// folder the manifest does not record as done with findings: a day
    /// written but not yet recorded, or one from a backfill `--force` was
    /// replacing. `entries` is the output's listing ([`Out::entries`]), taken
    /// once by the caller: a store is not listed again.
    fn remove_unrecorded(&self, manifest: &Manifest, entries: &[String]) -> Result<()> {
        let recorded = |entry: &str| {
            entry
                .strip_prefix("window_date=")
                .and_then(|rest| rest.split('/').next())
                .is_some_and(|date| manifest.done.get(date).is_some_and(|d| d.findings > 0))
        };
        match self {
            Out::Local(dir) => {
                for entry in std::fs::read_dir(dir)? {
                    let path = entry?.path();
                    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    if name.starts_with("window_date=") && path.is_dir() {
                        if recorded(name) {
                            remove_stale_temporaries(&path)?;
                        } else {
                            std::fs::remove_dir_all(&path)?;
                        }
                    } else if is_temporary(name) {
                        std::fs::remove_file(&path)?;
                    }
                }
                sync_dir(dir)
            }
            Out::Store(prefix) => {
                let stale: Vec<String> = entries
                    .iter()
                    .filter(|e| e.starts_with("window_date=") && !recorded(e))
                    .map(|e| format!("{prefix}/{e}"))
                    .collect();
                remote::delete(&stale, &StoreOptions::default())
            }
        }
    }

    /// Writes one day's findings whole, durable before the manifest records it.
    fn write_day(&self, date: &str, table: &Table, metadata: &[(String, String)]) -> Result<()> {
        let path = self.day_path(date);
        if let Out::Local(dir) = self
            && let Some(folder) = path.parent()
        {
            std::fs::create_dir_all(folder)?;
            write_file(&path, Format::Parquet, table, metadata)?;
            sync_dir(folder)?;
            return sync_dir(dir);
        }
        write_file(&path, Format::Parquet, table, metadata)
    }
}

/// Makes the renames inside `dir` durable.
fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

/// A temporary file of [`write_file`] or the manifest (`.NAME.XXXXXX.tmp`).
fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && Path::new(name).extension().is_some_and(|x| x == "tmp")
}

/// Temporary files a killed run left inside a day folder.
fn remove_stale_temporaries(folder: &Path) -> Result<()> {
    for entry in std::fs::read_dir(folder)? {
        let file = entry?.path();
        if file
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(is_temporary)
        {
            std::fs::remove_file(&file)?;
        }
    }
    Ok(())
}

/// Adds the window columns to every aggregation (and to the projections and
/// sorts above it), so the hunt's own SQL groups by window as well.
fn group_by_window(plan: LogicalPlan) -> Result<LogicalPlan> {
    let window_columns = |plan: &LogicalPlan| -> Option<[Column; 2]> {
        let schema = plan.schema();
        let find = |name: &str| {
            schema
                .qualified_field_with_unqualified_name(name)
                .ok()
                .map(|(q, f)| Column::new(q.cloned(), f.name()))
        };
        Some([find("window_start")?, find("window_end")?])
    };
    let has = |exprs: &[Expr], column: &Column| {
        exprs
            .iter()
            .any(|e| matches!(e, Expr::Column(c) if c.name == column.name))
    };
    let rewritten = plan.transform_up(|node| {
        let Some(inputs) = node.inputs().first().copied() else {
            return Ok(Transformed::no(node));
        };
        let Some([start, end]) = window_columns(inputs) else {
            return Ok(Transformed::no(node));
        };
        Ok(match node {
            LogicalPlan::Aggregate(agg) if !has(&agg.group_expr, &end) => {
                let mut group = vec![Expr::Column(start), Expr::Column(end)];
                group.extend(agg.group_expr.iter().cloned());
                Transformed::yes(LogicalPlan::Aggregate(Aggregate::try_new(
                    Arc::clone(&agg.input),
                    group,
                    agg.aggr_expr.clone(),
                )?))
            }
            LogicalPlan::Projection(p) if !has(&p.expr, &end) => {
                let mut exprs = vec![Expr::Column(start), Expr::Column(end)];
                exprs.extend(p.expr.iter().cloned());
                Transformed::yes(LogicalPlan::Projection(Projection::try_new(
                    exprs,
                    Arc::clone(&p.input),
                )?))
            }
            LogicalPlan::Sort(s)
                if !s
                    .expr
                    .iter()
                    .any(|e| matches!(&e.expr, Expr::Column(c) if c.name == end.name)) =>
            {
                let mut exprs = vec![SortExpr::new(Expr::Column(end), true, false)];
                exprs.extend(s.expr.iter().cloned());
                Transformed::yes(
                    LogicalPlanBuilder::from(Arc::unwrap_or_clone(s.input))
                        .sort_with_limit(exprs, s.fetch)?
                        .build()?,
                )
            }
            LogicalPlan::Join(_)
            | LogicalPlan::Window(_)
            | LogicalPlan::Union(_)
            | LogicalPlan::Subquery(_) => {
                return Err(datafusion::common::DataFusionError::Plan(format!(
                    "a hunt with {} cannot be backfilled yet: only filters, projections, \
                     aggregations and sorts are grouped by window",
                    node.display()
                )));
            }
            LogicalPlan::Limit(_) => {
                return Err(datafusion::common::DataFusionError::Plan(
                    "a hunt with LIMIT cannot be backfilled: the limit would apply to all \
                     windows together"
                        .into(),
                ));
            }
            other => Transformed::yes(other.recompute_schema()?),
        })
    })?;
    Ok(rewritten.data)
}

/// The findings of one day's windows, `k` in `first..=last`, with
/// `window_start` and `window_end` columns in front.
async fn run_day(
    engine: &Engine,
    spec: &BackfillSpec,
    day: &Day,
    (unit, tz): (TimeUnit, Option<&Arc<str>>),
) -> Result<(Table, ScanStats)> {
    let ctx = engine.context();
    let (every, window) = (spec.every, spec.bound.window);
    let lo = spec.from + day.first * every - window;
    let hi = spec.from + day.last * every;
    let time = &spec.bound.hunt.lakehunt.time_field;
    // k's first and last window for an event at `d` ns after --from:
    // ceil(d / every) ..= ceil((d + window) / every) - 1, within this day.
    let shift = (window / every + 2) * every;
    let sql = format!(
        "SELECT * EXCEPT (__d, __k), \
           arrow_cast({from} + __k * {every} - {window}, 'Timestamp(Nanosecond, Some(\"UTC\"))') AS window_start, \
           arrow_cast({from} + __k * {every}, 'Timestamp(Nanosecond, Some(\"UTC\"))') AS window_end \
         FROM (SELECT *, unnest(range( \
                 greatest({first}, (__d + {shift} + {every} - 1) / {every} - {shift_k}), \
                 least({last}, (__d + {window} + {every} - 1) / {every} - 1) + 1)) AS __k \
               FROM (SELECT *, arrow_cast(arrow_cast(\"{time}\", 'Timestamp(Nanosecond, Some(\"UTC\"))'), 'Int64') - {from} AS __d \
                     FROM events_all WHERE \"{time}\" > $lo AND \"{time}\" <= $hi))",
        from = spec.from,
        first = day.first,
        last = day.last,
        shift_k = shift / every,
    );
    let params = [
        ("lo".to_owned(), timestamp(lo, unit, tz)),
        ("hi".to_owned(), timestamp(hi, unit, tz)),
    ];
    let windowed = ctx
        .sql_with_options(&sql, crate::engine::read_only())
        .await?
        .with_param_values(
            params
                .into_iter()
                .collect::<std::collections::HashMap<String, ScalarValue>>(),
        )?;
    ctx.deregister_table("events")?;
    ctx.register_table("events", windowed.into_view())?;
    // The hunt's own time filter spans the whole day's range.
    let mut bound = spec.bound.clone();
    bound.window_start = lo;
    bound.as_of = hi;
    let df = engine
        .bind(&bound.hunt.lakehunt.sql, &bound, unit, tz)
        .await;
    // Whatever happened, `events` is the whole dataset again.
    ctx.deregister_table("events")?;
    let all = ctx.table("events_all").await?;
    ctx.register_table("events", all.into_view())?;
    let df = df?;
    let (state, plan) = df.into_parts();
    let plan = group_by_window(plan)?;
    let failed = |e: Error| match e {
        Error::Query(source) => Error::HuntFailed {
            hunt: bound.hunt.id().to_owned(),
            source,
        },
        other => other,
    };
    collect_observed(
        DataFrame::new(state, plan),
        ScanStats::default(),
        &mut |_| {},
    )
    .await
    .map_err(failed)
}

/// Runs (or resumes) a backfill; `progress` is called after each day.
#[expect(
    clippy::too_many_lines,
    reason = "the day loop with its manifest, resume and progress steps reads best in order"
)]
pub async fn backfill(
    engine: &Engine,
    spec: &BackfillSpec,
    mut progress: impl FnMut(&Progress),
) -> Result<Summary> {
    let days = days(spec.from, spec.to, spec.every, spec.bound.window)?;
    let out = if let Some(url) = spec.out.to_str().filter(|p| remote::is_url(p)) {
        remote::ObjectUrl::parse(url)?;
        Out::Store(url.trim_end_matches('/').to_owned())
    } else {
        if !spec.out.is_dir() {
            std::fs::create_dir_all(&spec.out).map_err(|e| Error::OutputWrite {
                path: spec.out.clone(),
                message: e.to_string(),
            })?;
        }
        Out::Local(&spec.out)
    };
    let identity = identity(spec, engine)?;
    let manifest_path = out.manifest_path();
    let previous: Option<Manifest> = match out.read_manifest()? {
        // --force starts over whatever the folder holds, a broken manifest included.
        Some(_) if spec.force => None,
        Some(text) => Some(
            serde_json::from_str(&text).map_err(|e| Error::InvalidInput {
                path: manifest_path.clone(),
                line: e.line(),
                message: format!(
                    "not a lakehunt backfill manifest: {e}; pass --force to start over"
                ),
            })?,
        ),
        None => None,
    };
    let entries = out.entries()?;
    let leftovers = entries.iter().any(|e| e.starts_with("window_date="));
    let fresh = Manifest {
        identity: identity.clone(),
        done: BTreeMap::new(),
    };
    // With --force or --resume, what the manifest does not record is removed,
    // after the manifest is written: a kill halfway leaves a manifest that
    // vouches for none of it, and --resume removes it again.
    let (mut manifest, tidy) = match previous {
        None if spec.force => (fresh, true),
        Some(old) if spec.resume => {
            if old.identity != identity {
                return Err(Error::InvalidParameter {
                    name: "--resume".into(),
                    message: format!(
                        "{} is a backfill of something else: {}; pass --force to start over",
                        out.show(),
                        difference(&old.identity, &identity)
                    ),
                });
            }
            let mut old = old;
            // A recorded day whose file is gone is done again.
            old.done.retain(|date, day| {
                day.findings == 0 || entries.contains(&format!("window_date={date}/{DAY_FILE}"))
            });
            (old, true)
        }
        Some(old) => {
            return Err(Error::InvalidParameter {
                name: "--out".into(),
                message: format!(
                    "{} already holds a backfill ({} of {} days done); pass --resume to finish it \
                     or --force to start over",
                    out.show(),
                    old.done.len(),
                    days.len()
                ),
            });
        }
        None if leftovers => {
            return Err(Error::InvalidParameter {
                name: "--out".into(),
                message: format!(
                    "{} holds window_date= folders but no manifest; pass --force to start over",
                    out.show()
                ),
            });
        }
        None => (fresh, false),
    };
    out.write_manifest(&manifest)?;
    if tidy {
        out.remove_unrecorded(&manifest, &entries)?;
    }

    // The time column's unit and zone, once: the day queries bind bounds in them.
    let (unit, tz) = engine.check_fields(&spec.bound.hunt).await?;
    let ctx = engine.context();
    if ctx.table_exist("events_all")? {
        ctx.deregister_table("events_all")?;
    }
    let all = ctx.table("events").await?;
    ctx.register_table("events_all", all.into_view())?;

    let windows_total: u64 = days
        .iter()
        .map(|d| (d.last - d.first + 1).unsigned_abs())
        .sum();
    let mut state = Progress {
        days_done: 0,
        days_total: days.len(),
        windows_done: 0,
        windows_total,
        findings: 0,
        resumed: 0,
        read: ScanStats::default(),
        files: engine.source().files.len(),
    };
    let mut files_written = 0;
    let mut metadata = spec.bound.describe();
    metadata.retain(|(k, _)| k != "lakehunt.as_of");
    metadata.push(("lakehunt.backfill.from".into(), identity.from.clone()));
    metadata.push(("lakehunt.backfill.to".into(), identity.to.clone()));
    metadata.push(("lakehunt.backfill.every".into(), identity.every.clone()));
    if let Some(version) = &engine.source().ocsf_version {
        metadata.push(("lakehunt.ocsf_version".into(), version.clone()));
    }
    for day in &days {
        let windows = (day.last - day.first + 1).unsigned_abs();
        if manifest.done.contains_key(&day.date) {
            state.days_done += 1;
            state.windows_done += windows;
            state.resumed += 1;
            progress(&state);
            continue;
        }
        let (table, read) = run_day(engine, spec, day, (unit, tz.as_ref())).await?;
        state.read = state.read + read;
        let rows = table.num_rows() as u64;
        if rows > 0 {
            out.write_day(&day.date, &table, &metadata)?;
            files_written += 1;
        }
        manifest.done.insert(
            day.date.clone(),
            DayDone {
                windows,
                findings: rows,
            },
        );
        out.write_manifest(&manifest)?;
        state.days_done += 1;
        state.windows_done += windows;
        state.findings += rows;
        progress(&state);
    }
    Ok(Summary {
        progress: state,
        files_written,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000_000_000;

    #[test]
    fn windows_are_grouped_by_the_day_they_start() {
        let from = crate::params::parse_instant("2026-03-01T00:00:00Z").unwrap();
        // Tumbling 8h over two days: ends 08, 16, 24(=02T00), 02T08, 02T16, 03T00.
        let d = days(from, from + 48 * H, 8 * H, 8 * H).unwrap();
        let got: Vec<(&str, i64, i64)> = d
            .iter()
            .map(|d| (d.date.as_str(), d.first, d.last))
            .collect();
        assert_eq!(got, vec![("2026-03-01", 1, 3), ("2026-03-02", 4, 6)]);
        // Overlapping 24h windows every 8h: the first starts the day before.
        let d = days(from, from + 24 * H, 8 * H, 24 * H).unwrap();
        let got: Vec<(&str, i64, i64)> = d
            .iter()
            .map(|d| (d.date.as_str(), d.first, d.last))
            .collect();
        assert_eq!(got, vec![("2026-02-28", 1, 2), ("2026-03-01", 3, 3)]);
        assert!(days(from, from + H, 8 * H, 8 * H).is_err());
    }
}
