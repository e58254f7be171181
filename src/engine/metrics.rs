//! What scans read and skipped: live counts for progress displays, and the
//! totals `explain --analyze` reports.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::DataFrame;

use super::Table;
use crate::error::Result;

/// What `explain` found: the plan, and with `analyze` what its scans read and skipped.
#[derive(Clone, Debug)]
pub struct Explained {
    /// The plan as text: optimized logical and physical plans, or (analyze) the
    /// physical plan with each operator's metrics.
    pub plan: String,
    /// Scan totals, when the hunt was run.
    pub scans: Option<ScanSummary>,
}

/// Totals over every Parquet scan of an analyzed run.
#[derive(Clone, Debug, Default)]
pub struct ScanSummary {
    /// `(name, pruned, matched)` for each pruning step (file ranges, row groups
    /// by statistics and bloom filters, pages), summed over scans.
    pub pruning: Vec<(String, usize, usize)>,
    /// Rows the scans produced.
    pub rows: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Row groups read without the filter on their timestamps (the window):
    /// their footers show every row inside it.
    pub inside_bounds: usize,
    /// Row groups, and files, left out: their footers show every row outside
    /// the window.
    pub outside_bounds: (usize, usize),
}

pub(crate) fn summarize(plan: &Arc<dyn ExecutionPlan>, out: &mut ScanSummary) {
    use datafusion::physical_plan::metrics::MetricValue;
    if plan.name() == "DataSourceExec"
        && let Some(metrics) = plan.metrics()
    {
        for metric in metrics.iter() {
            match metric.value() {
                MetricValue::PruningMetrics {
                    name,
                    pruning_metrics,
                } => {
                    let (pruned, matched) = (pruning_metrics.pruned(), pruning_metrics.matched());
                    match out.pruning.iter_mut().find(|(n, _, _)| n == name) {
                        Some(entry) => {
                            entry.1 += pruned;
                            entry.2 += matched;
                        }
                        None => out.pruning.push((name.to_string(), pruned, matched)),
                    }
                }
                MetricValue::OutputRows(count) => out.rows += count.value() as u64,
                MetricValue::Count { name, count } if name == "bytes_scanned" => {
                    out.bytes += count.value() as u64;
                }
                _ => {}
            }
        }
    }
    for child in plan.children() {
        summarize(child, out);
    }
}

/// How much the Parquet scans of a query have read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Rows the scans produced (after row-group pruning, before filters).
    pub rows: u64,
    /// Bytes read from files.
    pub bytes: u64,
    /// True while the hunt's data checks run as a second query (when they
    /// cannot share the hunt's scan, see the tap in `crate::optimizer`).
    pub checks: bool,
}

impl std::ops::Add for ScanStats {
    type Output = ScanStats;
    fn add(self, other: ScanStats) -> ScanStats {
        ScanStats {
            rows: self.rows + other.rows,
            bytes: self.bytes + other.bytes,
            checks: self.checks || other.checks,
        }
    }
}

/// The live metrics of every scan in a running plan.
pub(crate) fn scan_stats(plan: &Arc<dyn ExecutionPlan>) -> ScanStats {
    let mut out = ScanStats::default();
    if plan.name() == "DataSourceExec"
        && let Some(metrics) = plan.metrics()
    {
        out.rows = metrics.output_rows().unwrap_or(0) as u64;
        out.bytes = metrics
            .sum_by_name("bytes_scanned")
            .map_or(0, |v| v.as_usize() as u64);
    }
    for child in plan.children() {
        out = out + scan_stats(child);
    }
    out
}

/// Runs `df`, calling `observe` with `base` plus what its scans have read, four
/// times a second and once at the end; returns the table and that final count.
pub(crate) async fn collect_observed(
    df: DataFrame,
    base: ScanStats,
    observe: &mut (dyn FnMut(ScanStats) + Send),
) -> Result<(Table, ScanStats)> {
    let schema: SchemaRef = Arc::clone(df.schema().inner());
    let task = Arc::new(df.task_ctx());
    let plan = df.create_physical_plan().await?;
    let run = async {
        use futures::TryStreamExt;
        let stream = crate::cluster::execute(Arc::clone(&plan), task).await?;
        Ok::<_, crate::Error>(stream.try_collect::<Vec<_>>().await?)
    };
    tokio::pin!(run);
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let batches = loop {
        tokio::select! {
            done = &mut run => break done?,
            _ = tick.tick() => observe(base + scan_stats(&plan)),
        }
    };
    let read = base + scan_stats(&plan);
    observe(read);
    Ok((Table { schema, batches }, read))
}
