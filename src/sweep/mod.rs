//! `lakehunt sweep`: every query of a hunt library over one dataset, as of
//! one instant, each query's findings in a file of its own and every query
//! accounted for in `summary.json`: run, skipped (with why), or failed (with
//! its error). One query's failure never stops the sweep.
//!
//! At the end, `report.html` shows it all on one page (see [`REPORT`]).
//!
//! Queries run over one engine (one listing, one set of footers, one
//! session). Per window, every query is planned first (a thread per core);
//! then one scan per dataset feeds them all at once (see
//! [`crate::engine::SharedRun`]), so a library costs one pass over the data
//! plus each query's own work.

mod report;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use datafusion::error::DataFusionError;
use serde::{Deserialize, Serialize};

use crate::engine::{Engine, Prepared, ScanStats, SharedRun, Table};
use crate::error::{Error, Result};
use crate::hunt::{self, Hunt, library};
use crate::output::{Format, write_file};
use crate::params::format_instant;

/// One query a sweep runs.
#[derive(Clone, Debug)]
pub struct SweepQuery {
    /// The hunt file, relative to the library (`windows/queries/x.toml`), or
    /// `lakehunt:ID` for a shipped hunt.
    pub file: String,
    /// The folder its findings go to: the platform of a library hunt
    /// (`windows` for `windows/queries/x.toml`), `lakehunt` for shipped ones.
    pub platform: String,
    /// The hunt's short name: the file's stem, or the shipped id.
    pub hunt: String,
    /// Title.
    pub name: String,
    /// Identifier.
    pub uuid: String,
    /// Place among the file's queries, from 1.
    pub index: usize,
    /// MITRE ATT&CK technique ids.
    pub mitre: Vec<String>,
    /// What the hunt looks for.
    pub description: String,
    /// What to run.
    pub kind: QueryKind,
}

/// What a [`SweepQuery`] runs.
#[derive(Clone, Debug)]
pub enum QueryKind {
    /// An ES|QL query, as the library writes it.
    Esql(String),
    /// A query in a language lakehunt does not run: `EQL` or `SQL` (osquery's).
    Other(&'static str),
    /// A shipped hunt, run through its SQL with its default parameters.
    Shipped(Box<Hunt>),
    /// A file with a `[hunt]` table that does not parse: why.
    Unreadable(String),
}

impl SweepQuery {
    /// `ES|QL`, `EQL`, `SQL` (osquery) or `lakehunt SQL` (a shipped hunt).
    #[must_use]
    pub fn language(&self) -> &'static str {
        match &self.kind {
            QueryKind::Esql(_) => "ES|QL",
            QueryKind::Other(language) => language,
            QueryKind::Shipped(_) => "lakehunt SQL",
            QueryKind::Unreadable(_) => "",
        }
    }
}

/// Every query of every hunt file under `dir` (TOML files with a `[hunt]`
/// table; other TOML is passed over), in path order.
pub fn library_queries(dir: &Path) -> Result<Vec<SweepQuery>> {
    if !dir.is_dir() {
        return Err(Error::MissingPath(dir.to_owned()));
    }
    let mut queries = vec![];
    let mut files = crate::source::files_under(dir, "toml")?;
    files.sort();
    for path in files {
        let relative = path.strip_prefix(dir).unwrap_or(&path);
        let parts: Vec<String> = relative
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        // hunting/<platform>/queries/<hunt>.toml, else the file's folder.
        let platform = match parts.iter().position(|p| p == "queries") {
            Some(at) if at > 0 => parts[at - 1].clone(),
            _ if parts.len() > 1 => parts[parts.len() - 2].clone(),
            _ => "library".to_owned(),
        };
        let hunt = path
            .file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
        let file = match library::read_hunt_file(&path) {
            Ok(file) => file,
            // A hunt file that does not parse is reported; other TOML
            // (the library's own settings) is passed over.
            Err(e) if is_hunt_file(&path) => {
                queries.push(SweepQuery {
                    file: parts.join("/"),
                    platform,
                    hunt,
                    name: String::new(),
                    uuid: String::new(),
                    index: 1,
                    mitre: vec![],
                    description: String::new(),
                    kind: QueryKind::Unreadable(e.to_string()),
                });
                continue;
            }
            Err(_) => continue,
        };
        for (i, text) in file.hunt.query.iter().enumerate() {
            let (text, _) = library::strip_stray_sql(text);
            let kind = match library::query_language(&text) {
                "ES|QL" => QueryKind::Esql(text),
                other => QueryKind::Other(other),
            };
            queries.push(SweepQuery {
                file: parts.join("/"),
                platform: platform.clone(),
                hunt: hunt.clone(),
                name: file.hunt.name.clone(),
                uuid: file.hunt.uuid.clone(),
                index: i + 1,
                mitre: file.hunt.mitre.clone(),
                description: file.hunt.description.clone(),
                kind,
            });
        }
    }
    Ok(queries)
}

/// Whether the TOML file at `path` has a `[hunt]` table line.
fn is_hunt_file(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|text| text.lines().any(|l| l.trim() == "[hunt]"))
}

/// The shipped hunts `ids` names (`all` for every one).
pub fn shipped_queries(ids: &[String]) -> Result<Vec<SweepQuery>> {
    let hunts = if ids.iter().any(|i| i == "all") {
        hunt::catalog()?
    } else {
        ids.iter().map(|id| hunt::find(id)).collect::<Result<_>>()?
    };
    Ok(hunts
        .into_iter()
        .map(|h| SweepQuery {
            file: format!("lakehunt:{}", h.id()),
            platform: "lakehunt".to_owned(),
            hunt: h.id().to_owned(),
            name: h.hunt.name.clone(),
            uuid: h.hunt.uuid.clone(),
            index: 1,
            mitre: h.hunt.mitre.clone(),
            description: h.hunt.description.clone(),
            kind: QueryKind::Shipped(Box::new(h)),
        })
        .collect())
}

/// One window of a query swept over several: its findings and file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct WindowDone {
    /// The instant the query ran as of.
    pub as_of: String,
    /// Findings (rows).
    pub findings: u64,
    /// The findings file, relative to the sweep's folder.
    pub output: String,
    /// Seconds it took.
    pub seconds: f64,
}

/// What became of one query, as `summary.json` lists it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SweepRecord {
    /// The hunt file (see [`SweepQuery::file`]).
    pub file: String,
    /// Title.
    pub name: String,
    /// Identifier.
    pub uuid: String,
    /// Place among the file's queries, from 1.
    pub query_index: usize,
    /// See [`SweepQuery::language`].
    pub language: String,
    /// `ran`, `skipped` or `failed`.
    pub status: String,
    /// Why it was skipped or how it failed; empty when it ran.
    pub reason: String,
    /// Findings (rows), when it ran.
    pub findings: Option<u64>,
    /// The findings file, relative to the sweep's folder, when it ran.
    pub output: Option<String>,
    /// Seconds it took (planning and running).
    pub seconds: f64,
    /// MITRE ATT&CK technique ids.
    pub mitre: Vec<String>,
    /// Warnings (ES|QL's, or the hunt's data checks): one line each.
    pub warnings: Vec<String>,
    /// A swept-over-windows query's windows done, in order (empty for a
    /// sweep as of one instant); `findings` and `seconds` are their sums and
    /// `output` their folder.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub windows: Vec<WindowDone>,
    /// The query's text, hashed: a resumed sweep reruns a query whose text
    /// changed.
    #[serde(default)]
    pub fingerprint: String,
}

/// `summary.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SweepSummary {
    /// lakehunt's version.
    pub lakehunt_version: String,
    /// The instant every query ran as of (the last window's end, with windows).
    pub as_of: String,
    /// With windows: every query ran as of each of these, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub windows: Vec<String>,
    /// The data, as given.
    pub data: Vec<String>,
    /// Every query, in the order they ran.
    pub hunts: Vec<SweepRecord>,
}

/// Where a sweep is, after each query.
#[derive(Clone, Copy, Debug, Default)]
pub struct SweepProgress {
    /// Queries done (any status).
    pub done: usize,
    /// Queries in all.
    pub total: usize,
    /// Of those done: run, skipped, failed.
    pub ran: usize,
    /// Skipped.
    pub skipped: usize,
    /// Failed.
    pub failed: usize,
    /// Findings so far.
    pub findings: u64,
    /// Read by the scans so far.
    pub read: ScanStats,
    /// Runs of a query that read the data through a scan shared with others.
    pub shared: usize,
    /// Shared scans started (one per dataset and window).
    pub scans: usize,
    /// Filter tests that those scans evaluated once for the several queries
    /// that have them (counted once for each table and window).
    pub shared_tests: usize,
    /// Query runs that met the memory cap beside the others and ran again
    /// alone.
    pub again: usize,
}

/// What to sweep.
#[derive(Clone, Debug)]
pub struct SweepSpec {
    /// The queries.
    pub queries: Vec<SweepQuery>,
    /// Every query runs as of each of these instants (ns), in order: one,
    /// or the ends of windows (see [`window_ends`]).
    pub as_of: Vec<i64>,
    /// The data as given, for the summary.
    pub data: Vec<String>,
    /// Output folder (created if needed).
    pub out: PathBuf,
    /// Finish the sweep `out` holds (same data and instants): windows that
    /// ran are kept, every other query and window runs.
    pub resume: bool,
}

/// More windows than this is a typo, not a sweep.
const MAX_WINDOWS: usize = 10_000;

/// The ends of windows `from + k * every` (k = 1, 2, ...) up to `to` (ns).
pub fn window_ends(from: i64, to: i64, every: i64) -> Result<Vec<i64>> {
    let invalid = |message: String| Error::InvalidParameter {
        name: "--from/--to/--every".into(),
        message,
    };
    if every <= 0 || to <= from {
        return Err(invalid(
            "--to must be after --from, and --every longer than zero".into(),
        ));
    }
    let count = (to - from) / every;
    if count == 0 {
        return Err(invalid(format!(
            "no window of {} ends between --from and --to",
            crate::params::format_duration(every)
        )));
    }
    if count > MAX_WINDOWS as i64 {
        return Err(invalid(format!("{count} windows; at most {MAX_WINDOWS}")));
    }
    Ok((1..=count).map(|k| from + k * every).collect())
}

/// `20260115T080000Z`: an instant as a folder-safe name.
fn compact(ns: i64) -> String {
    format_instant(ns)
        .replace([':', '-'], "")
        .replace(".000000000", "")
}

/// A query's text, hashed (FNV-1a) for [`SweepRecord::fingerprint`].
fn fingerprint(query: &SweepQuery) -> String {
    let text = match &query.kind {
        QueryKind::Esql(text) => text.clone(),
        QueryKind::Shipped(hunt) => hunt.lakehunt.sql.clone(),
        QueryKind::Other(language) => (*language).to_owned(),
        QueryKind::Unreadable(why) => why.clone(),
    };
    let mut hash = crate::ingest::Fnv::default();
    hash.write(text.as_bytes());
    format!("{:016x}", hash.0)
}

/// The sweep `spec.out` already holds, if any: refused without `--resume`,
/// and with it where it swept other data or instants.
fn previous(spec: &SweepSpec, windows: &[String]) -> Result<Option<SweepSummary>> {
    let path = spec.out.join(SUMMARY);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let old: SweepSummary = serde_json::from_str(&text).map_err(|e| Error::InvalidInput {
        path: path.clone(),
        line: e.line(),
        message: format!("not a lakehunt sweep summary: {e}; remove it or choose another --out"),
    })?;
    let refuse = |message: String| Error::InvalidParameter {
        name: "--out".into(),
        message,
    };
    if !spec.resume {
        return Err(refuse(format!(
            "{} already holds a sweep ({} queries); pass --resume to finish it, or choose another --out",
            spec.out.display(),
            old.hunts.len()
        )));
    }
    let last = spec
        .as_of
        .last()
        .copied()
        .map(format_instant)
        .unwrap_or_default();
    if old.data != spec.data || old.windows != windows || old.as_of != last {
        return Err(refuse(format!(
            "{} holds a sweep of other data or instants ({} as of {}); --resume finishes the same sweep",
            spec.out.display(),
            old.data.join(", "),
            old.as_of
        )));
    }
    Ok(Some(old))
}

/// The summary's file name in the output folder.
pub const SUMMARY: &str = "summary.json";

pub use report::REPORT;

/// Runs every query of `spec` over `engine` as of each of its instants,
/// writing each run's findings and, as they finish, `summary.json`;
/// `progress` is called after each query of each window.
///
/// The queries of a window are planned first and then run together: with
/// `share_scans` in the engine's options, queries that read the same table
/// share one scan of it (see [`crate::engine::SharedRun`]); without, they
/// run one after another, each scanning for itself.
pub async fn sweep(
    engine: &Engine,
    spec: &SweepSpec,
    mut progress: impl FnMut(&SweepProgress, Option<&SweepQuery>),
) -> Result<SweepSummary> {
    let windows: Vec<String> = if spec.as_of.len() > 1 {
        spec.as_of.iter().copied().map(format_instant).collect()
    } else {
        vec![]
    };
    let before = previous(spec, &windows)?;
    std::fs::create_dir_all(&spec.out).map_err(|e| Error::OutputWrite {
        path: spec.out.clone(),
        message: e.to_string(),
    })?;
    let mut sweep = Sweep {
        spec,
        summary: SweepSummary {
            lakehunt_version: env!("CARGO_PKG_VERSION").to_owned(),
            as_of: spec
                .as_of
                .last()
                .copied()
                .map(format_instant)
                .unwrap_or_default(),
            windows: windows.clone(),
            data: spec.data.clone(),
            hunts: Vec::with_capacity(spec.queries.len()),
        },
        state: SweepProgress {
            total: spec.queries.len(),
            ..SweepProgress::default()
        },
        finished: vec![],
    };
    for query in &spec.queries {
        let (record, whole) = start_record(query, before.as_ref(), windows.len());
        sweep.summary.hunts.push(record);
        sweep.finished.push(whole);
    }
    for i in 0..spec.queries.len() {
        if sweep.finished[i] {
            sweep.state.findings += sweep.summary.hunts[i].findings.unwrap_or(0);
            sweep.finish(i, &mut progress)?;
        }
    }
    for &as_of in &spec.as_of {
        let label = format_instant(as_of);
        let todo: Vec<usize> = (0..spec.queries.len())
            .filter(|&i| {
                !sweep.finished[i]
                    && !sweep.summary.hunts[i]
                        .windows
                        .iter()
                        .any(|w| w.as_of == label)
            })
            .collect();
        run_window(engine, &mut sweep, as_of, &todo, &mut progress).await?;
    }
    for i in 0..spec.queries.len() {
        if !sweep.finished[i] {
            sweep.finish(i, &mut progress)?;
        }
    }
    sweep.write()?;
    report::write(&spec.out, &sweep.summary, &spec.queries)?;
    Ok(sweep.summary)
}

/// A sweep under way: every query's record (in the library's order), and
/// which are finished.
struct Sweep<'a> {
    spec: &'a SweepSpec,
    summary: SweepSummary,
    state: SweepProgress,
    finished: Vec<bool>,
}

impl Sweep<'_> {
    fn many(&self) -> bool {
        self.spec.as_of.len() > 1
    }

    /// `summary.json` with the records that have a status so far.
    fn write(&self) -> Result<()> {
        let mut summary = self.summary.clone();
        summary.hunts.retain(|h| !h.status.is_empty());
        write_summary(&self.spec.out, &summary)
    }

    /// Query `i` is done: every window ran, or it was skipped or failed.
    fn finish(
        &mut self,
        i: usize,
        progress: &mut impl FnMut(&SweepProgress, Option<&SweepQuery>),
    ) -> Result<()> {
        self.finished[i] = true;
        let many = self.many();
        let query = &self.spec.queries[i];
        let record = &mut self.summary.hunts[i];
        if many && record.status == "ran" {
            record.windows.sort_by(|a, b| a.as_of.cmp(&b.as_of));
            record.findings = Some(record.windows.iter().map(|w| w.findings).sum());
            record.output = Some(format!(
                "{}/{}__{}",
                query.platform, query.hunt, query.index
            ));
            let seconds = record.windows.iter().map(|w| w.seconds).sum::<f64>();
            record.seconds = (seconds * 1000.0).round() / 1000.0;
        }
        match record.status.as_str() {
            "ran" => self.state.ran += 1,
            "skipped" => self.state.skipped += 1,
            _ => self.state.failed += 1,
        }
        self.state.done += 1;
        self.write()?;
        progress(&self.state, Some(query));
        Ok(())
    }

    /// Query `i` ran as of `as_of`: its findings are written, and its record
    /// says so.
    fn ran(&mut self, i: usize, as_of: i64, ran: Ran, seconds: f64) -> Result<()> {
        let many = self.many();
        let query = &self.spec.queries[i];
        let base = format!("{}/{}__{}", query.platform, query.hunt, query.index);
        let relative = if many {
            format!("{base}/as_of={}.parquet", compact(as_of))
        } else {
            format!("{base}.parquet")
        };
        let path = self.spec.out.join(&relative);
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder)?;
        }
        write_file(&path, Format::Parquet, &ran.table, &ran.metadata)?;
        let rows = ran.table.num_rows() as u64;
        let record = &mut self.summary.hunts[i];
        for w in ran.warnings {
            if !record.warnings.contains(&w) {
                record.warnings.push(w);
            }
        }
        if many {
            record.windows.push(WindowDone {
                as_of: format_instant(as_of),
                findings: rows,
                output: relative,
                seconds,
            });
        } else {
            record.findings = Some(rows);
            record.output = Some(relative);
            record.seconds = seconds;
        }
        record.status = "ran".into();
        self.state.findings += rows;
        Ok(())
    }

    /// What query `i` gave as of `as_of`, after `took`: recorded, and its
    /// findings written.
    fn record(
        &mut self,
        i: usize,
        as_of: i64,
        mut metadata: Vec<(String, String)>,
        ran: Result<(Table, Vec<crate::engine::Warning>)>,
        took: std::time::Duration,
        progress: &mut impl FnMut(&SweepProgress, Option<&SweepQuery>),
    ) -> Result<()> {
        let seconds = (took.as_secs_f64() * 1000.0).round() / 1000.0;
        match ran {
            Ok((table, warnings)) => {
                for w in &warnings {
                    metadata.push((format!("lakehunt.warning.{}", w.name), w.count.to_string()));
                }
                let ran = Ran {
                    table,
                    warnings: warnings.into_iter().map(|w| w.message).collect(),
                    metadata,
                };
                self.ran(i, as_of, ran, seconds)?;
                if !self.many() || self.spec.as_of.last() == Some(&as_of) {
                    self.finish(i, progress)?;
                } else {
                    self.write()?;
                    progress(&self.state, Some(&self.spec.queries[i]));
                }
            }
            Err(e) => {
                self.did_not_run(i, as_of, classify(&e), seconds);
                self.finish(i, progress)?;
            }
        }
        Ok(())
    }

    /// Query `i` did not run as of `as_of`: skipped or failed, for good.
    fn did_not_run(&mut self, i: usize, as_of: i64, outcome: Outcome, seconds: f64) {
        let many = self.many();
        let record = &mut self.summary.hunts[i];
        let (status, reason) = match outcome {
            Outcome::Skipped(reason) => ("skipped", reason),
            Outcome::Failed(reason) if many && !record.windows.is_empty() => (
                "failed",
                format!("as of {}: {reason}", format_instant(as_of)),
            ),
            Outcome::Failed(reason) => ("failed", reason),
        };
        record.status = status.into();
        record.reason = reason;
        record.seconds = seconds;
    }
}

/// A query's record at the start of a sweep, and whether it is whole: what
/// a resumed sweep keeps of it (the windows it ran, its text unchanged).
fn start_record(
    query: &SweepQuery,
    before: Option<&SweepSummary>,
    windows: usize,
) -> (SweepRecord, bool) {
    let print = fingerprint(query);
    let kept = before.and_then(|b| {
        b.hunts.iter().find(|h| {
            h.file == query.file
                && h.query_index == query.index
                && h.fingerprint == print
                && h.status == "ran"
        })
    });
    if let Some(kept) = kept.filter(|k| windows == 0 || k.windows.len() == windows) {
        // Ran whole before: kept as it was.
        return (kept.clone(), true);
    }
    let mut record = SweepRecord {
        file: query.file.clone(),
        name: query.name.clone(),
        uuid: query.uuid.clone(),
        query_index: query.index,
        language: query.language().to_owned(),
        status: String::new(),
        reason: String::new(),
        findings: None,
        output: None,
        seconds: 0.0,
        mitre: query.mitre.clone(),
        warnings: vec![],
        windows: vec![],
        fingerprint: print,
    };
    if let Some(kept) = kept {
        record.windows.clone_from(&kept.windows);
        record.warnings.clone_from(&kept.warnings);
        record.status = "ran".into();
    }
    (record, false)
}

fn seconds_since(started: Instant) -> f64 {
    (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0
}

/// Runs the queries `todo` as of `as_of`: each is planned, then all run
/// together (see [`sweep`]), and each is recorded as it ends.
async fn run_window(
    engine: &Engine,
    sweep: &mut Sweep<'_>,
    as_of: i64,
    todo: &[usize],
    progress: &mut impl FnMut(&SweepProgress, Option<&SweepQuery>),
) -> Result<()> {
    use futures::StreamExt;
    let run = engine.share_scans()?;
    let mut ready = vec![];
    for (i, took, planned) in prepare_all(engine, &run, as_of, todo, &sweep.spec.queries).await {
        match planned {
            Ok(prepared) => ready.push((i, took, prepared)),
            Err(outcome) => {
                sweep.did_not_run(i, as_of, outcome, took.as_secs_f64());
                sweep.finish(i, progress)?;
            }
        }
    }
    run.share_tests(ready.iter_mut().map(|(_, _, p)| &mut p.plans))?;
    run.start()?;
    sweep.state.scans += run.scans();
    sweep.state.shared_tests += run.shared_tests();
    sweep.state.shared += ready.iter().filter(|(_, _, p)| p.plans.shares()).count();
    // Queries that share scans run together, or the shared scan would wait
    // for the ones not yet started; the others one at a time.
    let together = if run.sharing() > 0 {
        ready.len().max(1)
    } else {
        1
    };
    let own_scans: Vec<_> = ready.iter().flat_map(|(_, _, p)| p.plans.plans()).collect();
    // A query's time is its planning and its run, not its wait for a turn.
    let mut running =
        futures::stream::iter(ready.into_iter().map(|(i, planned, prepared)| async move {
            let began = Instant::now();
            let ran = match tokio::spawn(prepared.plans.run()).await {
                Ok(ran) => ran,
                Err(e) => Err(Error::Query(DataFusionError::Execution(format!(
                    "the query's task ended: {e}"
                )))),
            };
            (i, planned + began.elapsed(), prepared.metadata, ran)
        }))
        .buffer_unordered(together);
    let mut again = vec![];
    let read = |run: &SharedRun<'_>| {
        own_scans
            .iter()
            .map(crate::engine::scan_stats)
            .fold(run.read(), |a, b| a + b)
    };
    // What the scans have read, four times a second while queries run.
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    // The window's query that ended last, none before the first ends.
    let mut last = None;
    loop {
        let next = tokio::select! {
            next = running.next() => next,
            _ = tick.tick() => {
                sweep.state.read = read(&run);
                progress(&sweep.state, last.map(|i: usize| &sweep.spec.queries[i]));
                continue;
            }
        };
        let Some((i, took, metadata, ran)) = next else {
            break;
        };
        last = Some(i);
        sweep.state.read = read(&run);
        if together > 1 && ran.as_ref().is_err_and(Error::is_resources_exhausted) {
            again.push((i, took));
            continue;
        }
        sweep.record(i, as_of, metadata, ran, took, progress)?;
    }
    drop(running);
    drop(run);
    // A query that met the memory cap beside the others runs again alone,
    // with its own scan and the whole cap, as it would outside a sweep.
    for (i, before) in again {
        sweep.state.again += 1;
        let started = Instant::now();
        let query = &sweep.spec.queries[i];
        let (ran, metadata) = match prepare(engine, None, as_of, query).await {
            Ok(prepared) => (prepared.plans.run().await, prepared.metadata),
            Err(outcome) => {
                sweep.did_not_run(i, as_of, outcome, seconds_since(started));
                sweep.finish(i, progress)?;
                continue;
            }
        };
        sweep.record(
            i,
            as_of,
            metadata,
            ran,
            before + started.elapsed(),
            progress,
        )?;
    }
    Ok(())
}

/// Each of `todo`'s queries planned in `run` (in `todo`'s order), with the
/// time its planning took. On a multi-threaded runtime they plan on a
/// thread per core: a library's planning (about 0.5 s for Elastic's 61) otherwise
/// keeps one core busy and the other idle before the shared scans start.
async fn prepare_all(
    engine: &Engine,
    run: &SharedRun<'_>,
    as_of: i64,
    todo: &[usize],
    queries: &[SweepQuery],
) -> Vec<(usize, Duration, std::result::Result<Planned, Outcome>)> {
    use tokio::runtime::{Handle, RuntimeFlavor};
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(todo.len());
    if threads < 2 || Handle::current().runtime_flavor() != RuntimeFlavor::MultiThread {
        let mut out = vec![];
        for &i in todo {
            let started = Instant::now();
            let planned = prepare(engine, Some(run), as_of, &queries[i]).await;
            out.push((i, started.elapsed(), planned));
        }
        return out;
    }
    let handle = Handle::current();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::Mutex::new(Vec::with_capacity(todo.len()));
    tokio::task::block_in_place(|| {
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    loop {
                        let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(&i) = todo.get(k) else {
                            break;
                        };
                        let started = Instant::now();
                        let planned =
                            handle.block_on(prepare(engine, Some(run), as_of, &queries[i]));
                        done.lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .push((k, i, started.elapsed(), planned));
                    }
                });
            }
        });
    });
    let mut done = done
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    done.sort_by_key(|(k, ..)| *k);
    done.into_iter()
        .map(|(_, i, took, planned)| (i, took, planned))
        .collect()
}

/// A query that ran: its findings, warnings and the metadata for its file.
struct Ran {
    table: Table,
    warnings: Vec<String>,
    metadata: Vec<(String, String)>,
}

/// A query that did not run.
enum Outcome {
    Skipped(String),
    Failed(String),
}

/// A query planned to run, and the metadata for its findings file.
struct Planned {
    plans: Prepared,
    metadata: Vec<(String, String)>,
}

/// Plans `query` as of `as_of`, in `run` or alone; or why it will not run.
async fn prepare(
    engine: &Engine,
    run: Option<&SharedRun<'_>>,
    as_of: i64,
    query: &SweepQuery,
) -> std::result::Result<Planned, Outcome> {
    let mut metadata = vec![
        (
            "lakehunt.version".to_owned(),
            env!("CARGO_PKG_VERSION").to_owned(),
        ),
        ("lakehunt.sweep.file".to_owned(), query.file.clone()),
        (
            "lakehunt.sweep.query_index".to_owned(),
            query.index.to_string(),
        ),
        ("lakehunt.hunt_name".to_owned(), query.name.clone()),
        ("lakehunt.hunt_uuid".to_owned(), query.uuid.clone()),
    ];
    let plans = match &query.kind {
        QueryKind::Unreadable(why) => return Err(Outcome::Failed(why.clone())),
        QueryKind::Other(language) => {
            let why = if *language == "SQL" {
                "osquery SQL: runs on endpoints, not over archived events"
            } else {
                "EQL: lakehunt runs ES|QL"
            };
            return Err(Outcome::Skipped(why.to_owned()));
        }
        QueryKind::Esql(text) => {
            crate::esql::check(text).map_err(|e| classify(&e))?;
            metadata.push(("lakehunt.esql".to_owned(), text.clone()));
            metadata.push(("lakehunt.as_of".to_owned(), format_instant(as_of)));
            match run {
                Some(run) => run.prepare_esql(text, as_of).await,
                None => engine.prepare_esql(text, as_of).await,
            }
            .map_err(|e| classify(&e))?
        }
        QueryKind::Shipped(hunt) => {
            let bound = hunt.bind(as_of, None, &[]).map_err(|e| classify(&e))?;
            engine.check_fields(hunt).await.map_err(|e| classify(&e))?;
            let plans = match run {
                Some(run) => run.prepare_hunt(&bound).await,
                None => engine.prepare_hunt(&bound).await,
            }
            .map_err(|e| classify(&e))?;
            metadata.extend(bound.describe());
            plans
        }
    };
    Ok(Planned { plans, metadata })
}

/// Skipped where the data or the flags cannot give the query what it reads
/// (a field, an index pattern, an ENRICH policy); failed otherwise, with
/// the error on one line.
fn classify(error: &Error) -> Outcome {
    let text = error.to_string().replace('\n', " ");
    match error {
        Error::MissingField { field, .. } => {
            Outcome::Skipped(format!("the data has no field {field}"))
        }
        Error::InvalidEsql { message, .. } => {
            if let Some(field) = message.strip_prefix("unknown column ") {
                Outcome::Skipped(format!("the data has no field {field}"))
            } else if message.starts_with("enrich policy ") && message.contains("is not given") {
                Outcome::Skipped(format!("{message} (pass --enrich)"))
            } else if message.starts_with("lookup index ") && message.contains("is not given") {
                Outcome::Skipped(format!("{message} (pass --index)"))
            } else if message.starts_with("index pattern ") && message.contains("has no --index") {
                Outcome::Skipped(message.clone())
            } else {
                Outcome::Failed(text)
            }
        }
        Error::Query(e) | Error::HuntFailed { source: e, .. } => match missing_field(e) {
            Some(field) => Outcome::Skipped(format!("the data has no field {field}")),
            None => Outcome::Failed(text),
        },
        _ => Outcome::Failed(text),
    }
}

/// The field a DataFusion "No field named" error names.
fn missing_field(e: &DataFusionError) -> Option<String> {
    match e.find_root() {
        DataFusionError::SchemaError(inner, _) => match inner.as_ref() {
            datafusion::common::SchemaError::FieldNotFound { field, .. } => {
                Some(field.name.clone())
            }
            _ => None,
        },
        _ => None,
    }
}

fn write_summary(dir: &Path, summary: &SweepSummary) -> Result<()> {
    let path = dir.join(SUMMARY);
    let failed = |message: String| Error::OutputWrite {
        path: path.clone(),
        message,
    };
    let text = serde_json::to_string_pretty(summary).map_err(|e| failed(e.to_string()))?;
    let mut tmp = crate::output::temp_file_in(dir, SUMMARY).map_err(|e| failed(e.to_string()))?;
    std::io::Write::write_all(&mut tmp, text.as_bytes()).map_err(|e| failed(e.to_string()))?;
    tmp.persist(&path)
        .map_err(|e| failed(e.error.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(outcome: &Outcome) -> (&'static str, &str) {
        match outcome {
            Outcome::Skipped(r) => ("skipped", r),
            Outcome::Failed(r) => ("failed", r),
        }
    }

    #[test]
    fn what_the_data_or_flags_lack_is_skipped_the_rest_failed() {
        let esql = |message: &str| Error::InvalidEsql {
            line: 1,
            column: 1,
            message: message.to_owned(),
        };
        let missing = classify(&esql("unknown column process.name"));
        assert_eq!(
            reason(&missing),
            ("skipped", "the data has no field process.name")
        );
        let enrich = classify(&esql("enrich policy foo is not given (--enrich foo=PATH)"));
        assert_eq!(reason(&enrich).0, "skipped");
        let index = classify(&esql("index pattern logs-* has no --index (given: x)"));
        assert_eq!(reason(&index).0, "skipped");
        let unsupported = classify(&esql("command LOOKUP is not supported yet"));
        assert_eq!(
            reason(&unsupported),
            (
                "failed",
                "ES|QL, at 1:1: command LOOKUP is not supported yet"
            )
        );
        let schema = DataFusionError::SchemaError(
            Box::new(datafusion::common::SchemaError::FieldNotFound {
                field: Box::new(datafusion::common::Column::from_name("file.hash.sha256")),
                valid_fields: vec![],
            }),
            Box::new(None),
        );
        let field = classify(&Error::Query(schema));
        assert_eq!(
            reason(&field),
            ("skipped", "the data has no field file.hash.sha256")
        );
    }
}
