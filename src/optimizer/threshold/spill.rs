//! A spilling [`ThresholdExec`](super::ThresholdExec)'s files: the rows,
//! batch by batch, in an Arrow IPC file, and in a second file each row's
//! mixed key hash and positive value, 16 bytes a row.
//!
//! When the input ends the exec's sketch is complete, and the second file is
//! read twice. First, every row its sketch keeps (a candidate) adds its value
//! into a second sketch: candidates are few, so a counter holds a few groups
//! at most, and the second sketch's bound is far closer to each group's sum
//! (a group's rows are all candidates or none). Then, for the batches holding
//! a candidate, rows whose bound reaches the threshold in both sketches are
//! kept, and only batches holding such a row are read from the rows file (its
//! footer gives each batch's place).
//!
//! At 100M events the rows took 356 MB (386 MB with the hashes alone, 8
//! bytes a row, as first written; the values add 30 MB), and 43 of
//! their 466 batches held a kept row. Reading every row back, as one stream
//! with the hashes as a column, took a third of a second on one core at the
//! end of the hunt, half of it checking the strings' UTF-8 again. The second
//! sketch is for larger inputs: the first, fixed at 2 MiB before the input's
//! size is known, has a counter for 15 rows at 100M events and for 145 at 1B,
//! where it kept 10K of 38M rows (2026-12-06), a kept row for about every
//! second batch of 8K rows. At 100M over 24 hours the second sketch took the
//! batches read back from 121 of 1,390 to 9.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, RecordBatch};
use arrow::compute::filter_record_batch;
use arrow::datatypes::{DataType, SchemaRef};
use arrow::ipc::reader::FileReader;
use arrow::ipc::writer::FileWriter;
use datafusion::common::{DataFusionError, Result};
use datafusion::execution::{DiskManager, SpillFile, SpillWriter};
use datafusion::physical_plan::metrics::{Count, SpillMetrics, Time};
use datafusion::physical_plan::stream::RecordBatchReceiverStreamBuilder;
use futures::StreamExt;
use futures::stream::BoxStream;
use lakehunt_udfs::common::pack_bits;

use super::{Sketch, for_each_positive, mix};
use crate::optimizer::compact_views::compact_batch;

/// Where an exec spills: the runtime's disk manager, the rows' schema, and
/// the exec's metrics for what it wrote and read back.
#[derive(Clone)]
pub(super) struct SpillTo {
    pub(super) disk: Arc<DiskManager>,
    pub(super) schema: SchemaRef,
    pub(super) metrics: SpillMetrics,
    /// Batches written to the rows file, and those read back.
    pub(super) batches: Count,
    pub(super) batches_read: Count,
}

/// What the rows read back are kept by: the exec's sketch, complete, its
/// threshold, and an empty sketch for the candidates (`None` where the
/// memory pool refused one).
pub(super) struct Keep {
    pub(super) sketch: Sketch,
    pub(super) threshold: u64,
    pub(super) second: Option<Sketch>,
}

/// The files being written.
pub(super) struct Spill {
    to: SpillTo,
    rows_file: Arc<dyn SpillFile>,
    rows: FileWriter<BufWriter<Box<dyn SpillWriter>>>,
    /// Per batch, its rows' mixed hashes, then their positive values (0 for
    /// the others), as `u64`s.
    hashes_file: Arc<dyn SpillFile>,
    hashes: BufWriter<Box<dyn SpillWriter>>,
    /// Rows in each batch written, in order.
    lengths: Vec<usize>,
    /// A batch's hashes and values as bytes, on their way to the file.
    scratch: Vec<u8>,
}

impl Spill {
    /// Two new files in the disk manager's folders; `None` where the disk
    /// manager's files are not local files (the rows file is read back by
    /// its footer, out of order), or where the rows hold a dictionary.
    pub(super) fn create(to: &SpillTo) -> Result<Option<Self>> {
        // An IPC file refuses a dictionary that changes between batches
        // (a stream allows it): rows with dictionaries are not spilled.
        if to
            .schema
            .fields()
            .iter()
            .any(|f| has_dictionary(f.data_type()))
        {
            return Ok(None);
        }
        let rows_file = to.disk.create_tmp_file("ThresholdExec rows")?;
        let hashes_file = to.disk.create_tmp_file("ThresholdExec hashes")?;
        if rows_file.path().is_none() || hashes_file.path().is_none() {
            return Ok(None);
        }
        let rows = FileWriter::try_new_buffered(rows_file.open_writer()?, &to.schema)?;
        let hashes = BufWriter::new(hashes_file.open_writer()?);
        to.metrics.spill_file_count.add(2);
        Ok(Some(Spill {
            to: to.clone(),
            rows_file,
            rows,
            hashes_file,
            hashes,
            lengths: vec![],
            scratch: vec![],
        }))
    }

    /// Writes `batch` (its string views compacted), its rows' `hashes` and
    /// their summed `values` (a `whole_numbers` column).
    pub(super) fn append(
        &mut self,
        batch: &RecordBatch,
        hashes: &[u64],
        values: &ArrayRef,
    ) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.rows.write(&compact_batch(batch)?)?;
        // Hashes, then values, through one buffer that every batch reuses.
        let n = batch.num_rows();
        let scratch = &mut self.scratch;
        scratch.clear();
        scratch.resize(2 * n * size_of::<u64>(), 0);
        let (hash_bytes, value_bytes) = scratch.split_at_mut(n * size_of::<u64>());
        for (to, hash) in hash_bytes.chunks_exact_mut(size_of::<u64>()).zip(hashes) {
            to.copy_from_slice(&hash.to_ne_bytes());
        }
        for_each_positive(values, |row, value| {
            value_bytes[row * size_of::<u64>()..(row + 1) * size_of::<u64>()]
                .copy_from_slice(&value.to_ne_bytes());
        });
        self.hashes
            .write_all(scratch)
            .map_err(DataFusionError::IoError)?;
        self.lengths.push(batch.num_rows());
        self.to.metrics.spilled_rows.add(batch.num_rows());
        self.to.batches.add(1);
        Ok(())
    }

    /// Ends both files and reads back the rows `keep` keeps (every row with
    /// `keep` `None`), batch by batch, on a blocking thread; `time` counts
    /// the sketches' lookups. `hold` lives until the last batch is read (the
    /// reservation of the sketches).
    pub(super) fn read_kept<H: Send + 'static>(
        mut self,
        keep: Option<Keep>,
        time: Time,
        hold: H,
    ) -> Result<BoxStream<'static, Result<RecordBatch>>> {
        self.rows.finish()?;
        close(self.rows.into_inner()?)?;
        close(self.hashes)?;
        let written = [&self.rows_file, &self.hashes_file]
            .iter()
            .filter_map(|f| f.size())
            .sum::<u64>();
        self.to.metrics.spilled_bytes.add(written as usize);
        let mut builder = RecordBatchReceiverStreamBuilder::new(Arc::clone(&self.to.schema), 2);
        let tx = builder.tx();
        let (rows_file, hashes_file, lengths) = (self.rows_file, self.hashes_file, self.lengths);
        let batches_read = self.to.batches_read;
        builder.spawn_blocking(move || {
            let _hold = hold;
            let mut keep = keep;
            let open = |file: &Arc<dyn SpillFile>| {
                let path = file.path().ok_or_else(|| {
                    DataFusionError::Internal("a spill file without a path".into())
                })?;
                File::open(path).map_err(DataFusionError::IoError)
            };
            let mut pairs = Pairs::new(BufReader::with_capacity(1 << 20, open(&hashes_file)?));
            // The first pass: which batches hold a candidate, each
            // candidate's value into the second sketch.
            let mut wanted = vec![true; lengths.len()];
            if let Some(Keep {
                sketch,
                threshold,
                second: Some(second),
            }) = &mut keep
            {
                for (i, &n) in lengths.iter().enumerate() {
                    if tx.is_closed() {
                        // The stream was dropped: nothing reads on.
                        return Ok(());
                    }
                    let (mixed, values) = pairs.read(n)?;
                    let _timer = time.timer();
                    let mut any = false;
                    for (&h, &v) in mixed.iter().zip(values.iter()) {
                        if sketch.bound(h) >= *threshold {
                            any = true;
                            second.add_one(rehash(h), v);
                        }
                    }
                    wanted[i] = any;
                }
            }
            let mut rows = FileReader::try_new_buffered(open(&rows_file)?, None)?;
            let mut offset = 0;
            for (i, &n) in lengths.iter().enumerate() {
                let start = offset;
                offset += 2 * n * size_of::<u64>();
                if !wanted[i] {
                    continue;
                }
                let mask = match &keep {
                    Some(Keep {
                        sketch,
                        threshold,
                        second,
                    }) => {
                        pairs.seek(start)?;
                        let (mixed, _) = pairs.read(n)?;
                        let _timer = time.timer();
                        let mask = pack_bits(mixed, |h| {
                            sketch.bound(h) >= *threshold
                                && second
                                    .as_ref()
                                    .is_none_or(|s| s.bound(rehash(h)) >= *threshold)
                        });
                        if mask.count_set_bits() == 0 {
                            continue;
                        }
                        Some(mask)
                    }
                    None => None,
                };
                rows.set_index(i)?;
                let batch = rows.next().ok_or_else(|| {
                    DataFusionError::Internal(format!("spill file ended before batch {i}"))
                })??;
                batches_read.add(1);
                let batch = match mask {
                    Some(mask) => filter_record_batch(&batch, &BooleanArray::new(mask, None))?,
                    None => batch,
                };
                if tx.blocking_send(Ok(batch)).is_err() {
                    // The stream was dropped: nothing reads on.
                    break;
                }
            }
            Ok(())
        });
        Ok(builder.build().boxed())
    }
}

/// The second sketch's hash of a row: a mixed hash mixed again, so that
/// candidates, which share the first sketch's counters, do not share the
/// second's (the same slots would sum the same candidates again).
fn rehash(mixed: u64) -> u64 {
    mix(mixed ^ 0x9e37_79b9_7f4a_7c15)
}

/// The hashes-and-values file, read batch by batch into buffers it reuses.
struct Pairs {
    reader: BufReader<File>,
    /// The reader's place in the file, in bytes.
    at: usize,
    bytes: Vec<u8>,
    hashes: Vec<u64>,
    values: Vec<u64>,
}

impl Pairs {
    fn new(reader: BufReader<File>) -> Self {
        Pairs {
            reader,
            at: 0,
            bytes: vec![],
            hashes: vec![],
            values: vec![],
        }
    }

    /// The next batch's `n` mixed hashes and positive values.
    fn read(&mut self, n: usize) -> Result<(&[u64], &[u64])> {
        self.bytes.resize(2 * n * size_of::<u64>(), 0);
        self.reader
            .read_exact(&mut self.bytes)
            .map_err(DataFusionError::IoError)?;
        self.at += self.bytes.len();
        let mut words = self
            .bytes
            .chunks_exact(size_of::<u64>())
            .map(|w| u64::from_ne_bytes(w.try_into().unwrap_or_default()));
        self.hashes.clear();
        self.hashes.extend(words.by_ref().take(n));
        self.values.clear();
        self.values.extend(words);
        Ok((&self.hashes, &self.values))
    }

    /// Goes to byte `at`, keeping what the reader has buffered where `at`
    /// lies in it (a plain seek would drop the buffer and refill 1 MiB).
    fn seek(&mut self, at: usize) -> Result<()> {
        if at != self.at {
            let by = i64::try_from(at).unwrap_or(i64::MAX) - i64::try_from(self.at).unwrap_or(0);
            self.reader
                .seek_relative(by)
                .map_err(DataFusionError::IoError)?;
            self.at = at;
        }
        Ok(())
    }
}

/// Flushes and finishes a spill file's writer.
fn close(writer: BufWriter<Box<dyn SpillWriter>>) -> Result<()> {
    writer
        .into_inner()
        .map_err(|e| DataFusionError::IoError(e.into_error()))?
        .finish()
}

/// Whether `data_type` is or holds a dictionary.
fn has_dictionary(data_type: &DataType) -> bool {
    match data_type {
        DataType::Dictionary(..) => true,
        DataType::Struct(fields) => fields.iter().any(|f| has_dictionary(f.data_type())),
        DataType::Union(fields, _) => fields.iter().any(|(_, f)| has_dictionary(f.data_type())),
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::ListView(f)
        | DataType::LargeListView(f)
        | DataType::FixedSizeList(f, _)
        | DataType::Map(f, _) => has_dictionary(f.data_type()),
        DataType::RunEndEncoded(_, values) => has_dictionary(values.data_type()),
        _ => false,
    }
}
