//! `lakehunt ingest`: Elasticsearch exports (NDJSON, `_bulk`, `_search`
//! responses, elasticdump; gzip or not) into ECS Parquet partitioned by the
//! event's UTC day, the layout every other command reads.
//!
//! Three passes, memory bounded by the largest day rather than the export:
//! 1. read every document, normalise it as Elasticsearch would and join each
//!    field's kind into one schema; every conflict is found here, before
//!    anything is written;
//! 2. read again, fit each document to the schema and append it, as Arrow, to
//!    a temporary file for its day;
//! 3. per day: sort by `@timestamp` (stable), write Parquet (zstd), and only
//!    then move it into place (a rename, or a whole-object upload).
//!
//! File names come from a hash of the inputs' bytes, so ingesting the same
//! export again replaces its files instead of doubling the events, and two
//! exports of one day sit side by side.

mod infer;
mod shape;
mod split;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, RecordBatch, TimestampMicrosecondArray};
use arrow::datatypes::{Schema, SchemaRef};
use arrow::ipc::reader::FileReader;
use arrow::ipc::writer::FileWriter;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::source::remote::{self, StoreOptions};
use infer::{Pos, TIMESTAMP};

/// Rows a Parquet row group holds: small enough that a window of hours
/// prunes most of a day by `@timestamp` statistics.
const ROW_GROUP_ROWS: usize = 128 * 1024;

/// Rows held in memory, over all days, before they go to the day files.
const BUFFERED_ROWS: usize = 32 * 1024;

/// Microseconds in a day.
const DAY_MICROS: i64 = 86_400_000_000;

/// How to ingest.
#[derive(Clone, Debug, Default)]
pub struct IngestOptions {
    /// Where the temporary day files go (the system's temporary folder when unset).
    pub tmp_dir: Option<PathBuf>,
    /// How to reach the store `--out` names.
    pub stores: StoreOptions,
}

/// Where an ingest is, for a progress line.
#[derive(Clone, Copy, Debug)]
pub struct IngestProgress {
    /// 1: reading and typing; 2: converting; 3: writing days.
    pub pass: u8,
    /// Documents read in this pass.
    pub docs: u64,
    /// Input bytes read in this pass (compressed bytes for `.gz`).
    pub bytes: u64,
    /// Input bytes in all.
    pub total_bytes: u64,
    /// Day files written (pass 3).
    pub days_written: usize,
}

/// What an ingest wrote.
#[derive(Clone, Debug)]
pub struct IngestSummary {
    /// Documents ingested.
    pub docs: u64,
    /// Each day written: `YYYYMMDD`, its documents and the file (path or URL).
    pub days: Vec<(String, u64, String)>,
    /// Columns at the top level of the schema (`@timestamp`, `host`, ...).
    pub columns: usize,
    /// Leaf fields (`host.os.type` counts once).
    pub fields: usize,
}

/// Ingests `inputs` into `out` (a folder or an object-store prefix).
pub fn ingest(
    inputs: &[PathBuf],
    out: &str,
    options: &IngestOptions,
    progress: &mut dyn FnMut(IngestProgress),
) -> Result<IngestSummary> {
    let Some(first) = inputs.first() else {
        return Err(Error::InvalidParameter {
            name: "FILE".into(),
            message: "give at least one export file".into(),
        });
    };
    let names: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
    let mut total_bytes = 0;
    for path in inputs {
        let meta = std::fs::metadata(path).map_err(|_| Error::MissingPath(path.clone()))?;
        if !meta.is_file() {
            return Err(invalid(
                path,
                0,
                "not a file (give the export files themselves)",
            ));
        }
        total_bytes += meta.len();
    }
    let target = Target::new(out)?;
    let mut tick = Ticker {
        progress,
        at: IngestProgress {
            pass: 1,
            docs: 0,
            bytes: 0,
            total_bytes,
            days_written: 0,
        },
    };

    // Pass 1: one schema, the days, and a name for this export.
    let mut slots = BTreeMap::new();
    let mut days: BTreeMap<i64, u64> = BTreeMap::new();
    let mut hash = Fnv::default();
    for (input, path) in inputs.iter().enumerate() {
        read_docs(path, &mut tick, Some(&mut hash), &mut |doc, line| {
            let at = Pos { input, line };
            let (micros, map) = normalize(doc)?;
            infer::observe(&mut slots, &map, "", at, &names)?;
            *days.entry(micros.div_euclid(DAY_MICROS)).or_default() += 1;
            Ok(())
        })?;
    }
    let schema = Arc::new(infer::schema(&slots, &names).map_err(Error::FieldConflict)?);
    let docs: u64 = days.values().sum();
    if docs == 0 {
        return Err(invalid(first, 0, "no documents in the input"));
    }
    let name = format!("ingest-{:016x}.parquet", hash.0);

    // Pass 2: every document, fitted, into its day's temporary Arrow file.
    let tmp = match &options.tmp_dir {
        Some(dir) => tempfile::tempdir_in(dir)?,
        None => tempfile::tempdir()?,
    };
    let mut spool = Spool::new(tmp.path(), Arc::clone(&schema));
    tick.at.pass = 2;
    tick.at.docs = 0;
    tick.at.bytes = 0;
    for path in inputs {
        read_docs(path, &mut tick, None, &mut |doc, _| {
            let (micros, map) = normalize(doc)?;
            let mut row = infer::conform(&slots, map);
            row.insert(TIMESTAMP.to_owned(), Value::from(micros));
            spool
                .push(micros.div_euclid(DAY_MICROS), Value::Object(row))
                .map_err(|e| format!("cannot convert the documents: {e}"))
        })?;
    }
    spool.flush()?;

    // Pass 3: each day sorted by time, written, then moved into place.
    tick.at.pass = 3;
    let metadata = vec![
        KeyValue::new(
            "lakehunt.version".into(),
            env!("CARGO_PKG_VERSION").to_owned(),
        ),
        KeyValue::new("lakehunt.ingest.inputs".into(), names.join("\n")),
    ];
    let mut written = Vec::with_capacity(days.len());
    for (&day, &count) in &days {
        let label = day_label(day);
        let batch = spool.sorted_day(day)?;
        let dest = target.write_day(&label, &name, &batch, &metadata, tmp.path(), options)?;
        written.push((label, count, dest));
        tick.at.days_written = written.len();
        (tick.progress)(tick.at);
    }
    Ok(IngestSummary {
        docs,
        days: written,
        columns: schema.fields().len(),
        fields: leaves(&schema),
    })
}

/// The document's time and its normalised fields, with `_index` and `_id`.
fn normalize(doc: shape::Doc) -> std::result::Result<(i64, Map<String, Value>), String> {
    let shape::Doc {
        mut source,
        index,
        id,
        hit,
    } = doc;
    let at_hit = |m: String| match hit {
        Some(n) => format!("hit {n}: {m}"),
        None => m,
    };
    let micros = infer::timestamp_micros(source.remove(TIMESTAMP).as_ref()).map_err(at_hit)?;
    let mut map = infer::normalize(source, "").map_err(at_hit)?;
    if let Some(index) = index {
        map.insert("_index".to_owned(), Value::String(index));
    }
    if let Some(id) = id {
        map.insert("_id".to_owned(), Value::String(id));
    }
    Ok((micros, map))
}

/// Calls `each` with every document in `path` and its line, hashing the
/// text into `hash` if given; an error names the file and line.
fn read_docs(
    path: &Path,
    tick: &mut Ticker<'_>,
    mut hash: Option<&mut Fnv>,
    each: &mut dyn FnMut(shape::Doc, usize) -> std::result::Result<(), String>,
) -> Result<()> {
    let file = File::open(path).map_err(|e| invalid(path, 0, &e.to_string()))?;
    let counted = Counted {
        inner: file,
        bytes: Arc::default(),
    };
    let read = Arc::clone(&counted.bytes);
    // gzip is told by its first two bytes, peeked from the one open file.
    let mut raw = BufReader::with_capacity(1 << 18, counted);
    let gzip = std::io::BufRead::fill_buf(&mut raw)
        .map_err(|e| invalid(path, 0, &e.to_string()))?
        .starts_with(&[0x1f, 0x8b]);
    let reader: Box<dyn std::io::BufRead> = if gzip {
        Box::new(BufReader::with_capacity(
            1 << 18,
            flate2::read::MultiGzDecoder::new(raw),
        ))
    } else {
        Box::new(raw)
    };
    let start_bytes = tick.at.bytes;
    let mut values = split::Values::new(reader);
    let mut unwrapper = shape::Unwrapper::default();
    let mut docs = Vec::new();
    loop {
        let value = values.next_value().map_err(|e| {
            let what = if gzip { "gzip stream" } else { "file" };
            invalid(path, 0, &format!("cannot read the {what}: {e}"))
        })?;
        let Some(value) = value else { break };
        let line = value.line;
        if let Some(hash) = hash.as_deref_mut() {
            hash.write(value.text);
        }
        let parsed: Value = serde_json::from_slice(value.text)
            .map_err(|e| invalid(path, line, &json_error(&e, line)))?;
        unwrapper
            .unwrap(parsed, line, &mut docs)
            .map_err(|m| invalid(path, line, &m))?;
        for doc in docs.drain(..) {
            each(doc, line).map_err(|m| invalid(path, line, &m))?;
            tick.doc(start_bytes + read.load(std::sync::atomic::Ordering::Relaxed));
        }
    }
    unwrapper
        .finish()
        .map_err(|(line, m)| invalid(path, line, &m))?;
    Ok(())
}

/// serde_json's message with its position made absolute.
fn json_error(e: &serde_json::Error, start: usize) -> String {
    let mut text = e.to_string();
    if let Some(at) = text.find(" at line ") {
        text.truncate(at);
    }
    let line = start + e.line().saturating_sub(1);
    if e.is_eof() {
        format!("the JSON value starting here is cut off ({text})")
    } else if line == start {
        format!("invalid JSON: {text} (column {})", e.column())
    } else {
        format!("invalid JSON: {text} (line {line}, column {})", e.column())
    }
}

fn invalid(path: &Path, line: usize, message: &str) -> Error {
    Error::InvalidInput {
        path: path.to_owned(),
        line,
        message: message.to_owned(),
    }
}

/// `YYYYMMDD` for days since the epoch.
fn day_label(day: i64) -> String {
    chrono::DateTime::from_timestamp(day * 86_400, 0)
        .map_or_else(|| "19700101".to_owned(), |t| t.format("%Y%m%d").to_string())
}

fn leaves(schema: &Schema) -> usize {
    fn count(dt: &arrow::datatypes::DataType) -> usize {
        use arrow::datatypes::DataType;
        match dt {
            DataType::Struct(fields) => fields.iter().map(|f| count(f.data_type())).sum(),
            DataType::List(item) => count(item.data_type()),
            _ => 1,
        }
    }
    schema.fields().iter().map(|f| count(f.data_type())).sum()
}

/// Calls the progress callback every few thousand documents.
struct Ticker<'a> {
    progress: &'a mut dyn FnMut(IngestProgress),
    at: IngestProgress,
}

impl Ticker<'_> {
    fn doc(&mut self, bytes: u64) {
        self.at.docs += 1;
        self.at.bytes = bytes;
        if self.at.docs.is_multiple_of(4096) {
            (self.progress)(self.at);
        }
    }
}

/// A reader that counts the bytes read through it.
struct Counted<R> {
    inner: R,
    bytes: Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

/// 64-bit FNV-1a: stable across builds and Rust versions, for names that
/// must not change between runs (ingest's file names, sweep's fingerprints).
pub(crate) struct Fnv(pub(crate) u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    pub(crate) fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// Rows waiting for their day files, and the day files.
struct Spool {
    dir: PathBuf,
    schema: SchemaRef,
    pending: BTreeMap<i64, Vec<Value>>,
    pending_rows: usize,
    files: BTreeMap<i64, FileWriter<File>>,
}

impl Spool {
    fn new(dir: &Path, schema: SchemaRef) -> Self {
        Spool {
            dir: dir.to_owned(),
            schema,
            pending: BTreeMap::new(),
            pending_rows: 0,
            files: BTreeMap::new(),
        }
    }

    fn push(&mut self, day: i64, row: Value) -> Result<()> {
        self.pending.entry(day).or_default().push(row);
        self.pending_rows += 1;
        if self.pending_rows >= BUFFERED_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    /// Converts every waiting row to Arrow and appends it to its day's file.
    fn flush(&mut self) -> Result<()> {
        let mut decoder = arrow::json::ReaderBuilder::new(Arc::clone(&self.schema))
            .with_batch_size(BUFFERED_ROWS)
            .with_strict_mode(true)
            .build_decoder()?;
        for (day, rows) in std::mem::take(&mut self.pending) {
            decoder.serialize(&rows)?;
            let Some(batch) = decoder.flush()? else {
                continue;
            };
            let writer = match self.files.entry(day) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => {
                    let file = File::create(self.dir.join(format!("{day}.arrow")))?;
                    e.insert(FileWriter::try_new(file, &self.schema)?)
                }
            };
            writer.write(&batch)?;
        }
        self.pending_rows = 0;
        Ok(())
    }

    /// One day's rows, sorted by `@timestamp` (ties keep input order).
    fn sorted_day(&mut self, day: i64) -> Result<RecordBatch> {
        if let Some(mut writer) = self.files.remove(&day) {
            writer.finish()?;
        }
        let file = File::open(self.dir.join(format!("{day}.arrow")))?;
        let batches = FileReader::try_new(BufReader::new(file), None)?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let batch = arrow::compute::concat_batches(&self.schema, &batches)?;
        std::fs::remove_file(self.dir.join(format!("{day}.arrow")))?;
        let times = batch
            .column(0)
            .as_any()
            .downcast_ref::<TimestampMicrosecondArray>()
            .map(|a| a.values().to_vec())
            .unwrap_or_default();
        let mut order: Vec<u32> = (0..batch.num_rows() as u32).collect();
        order.sort_by_key(|&i| times.get(i as usize).copied().unwrap_or_default());
        let indices = arrow::array::UInt32Array::from(order);
        Ok(arrow::compute::take_record_batch(&batch, &indices)?)
    }
}

/// Where day files go: a local folder or an object-store prefix.
enum Target {
    Local(PathBuf),
    Store(String),
}

impl Target {
    fn new(out: &str) -> Result<Target> {
        if remote::is_url(out) {
            remote::ObjectUrl::parse(out)?;
            return Ok(Target::Store(out.trim_end_matches('/').to_owned()));
        }
        let path = PathBuf::from(out);
        if path.exists() && !path.is_dir() {
            return Err(Error::OutputWrite {
                path,
                message: "--out must be a folder (day folders go under it)".into(),
            });
        }
        Ok(Target::Local(path))
    }

    /// Writes one day's rows as `eventDay=LABEL/NAME`; the file appears only
    /// when complete. Returns where it went.
    fn write_day(
        &self,
        label: &str,
        name: &str,
        batch: &RecordBatch,
        metadata: &[KeyValue],
        tmp: &Path,
        options: &IngestOptions,
    ) -> Result<String> {
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_key_value_metadata(Some(metadata.to_vec()))
            .build();
        let write = |file: File| -> Result<()> {
            let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props.clone()))?;
            writer.write(batch)?;
            writer.close()?;
            Ok(())
        };
        match self {
            Target::Local(root) => {
                let dir = root.join(format!("eventDay={label}"));
                std::fs::create_dir_all(&dir).map_err(|e| Error::OutputWrite {
                    path: dir.clone(),
                    message: e.to_string(),
                })?;
                let path = dir.join(name);
                let failed = |message: String| Error::OutputWrite {
                    path: path.clone(),
                    message,
                };
                let file =
                    crate::output::temp_file_in(&dir, name).map_err(|e| failed(e.to_string()))?;
                write(file.as_file().try_clone()?)?;
                file.as_file()
                    .sync_all()
                    .map_err(|e| failed(e.to_string()))?;
                file.persist(&path)
                    .map_err(|e| failed(e.error.to_string()))?;
                Ok(path.display().to_string())
            }
            Target::Store(prefix) => {
                let url = format!("{prefix}/eventDay={label}/{name}");
                let file = tempfile::NamedTempFile::new_in(tmp)?;
                write(file.as_file().try_clone()?)?;
                remote::upload(
                    &url,
                    file.path(),
                    "application/vnd.apache.parquet",
                    &options.stores,
                )?;
                Ok(url)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_labels_are_utc_days() {
        assert_eq!(day_label(0), "19700101");
        assert_eq!(
            day_label(1_764_583_200_000_000_i64.div_euclid(DAY_MICROS)),
            "20251201"
        );
        assert_eq!(day_label(-1), "19691231");
    }
}
