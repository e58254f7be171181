//! `report.html`: one self-contained page for a sweep (inline CSS, no
//! scripts, no network): its scope, what became of every query, a timeline
//! of the findings, and each hunt's findings as a table.
//!
//! Bounded whatever the findings: each hunt shows its first [`ROWS_SHOWN`]
//! rows (the rest are in its Parquet file), and the timeline draws counts
//! in [`BINS`] bins per hunt rather than a mark per finding.

use std::fmt::Write as _;
use std::path::Path;

use arrow::array::{Array, RecordBatch};
use arrow::datatypes::{DataType, TimeUnit};
use arrow::util::display::{ArrayFormatter, FormatOptions};

use super::{SweepQuery, SweepSummary};
use crate::error::{Error, Result};
use crate::html::{STYLE, escape};
use crate::params::format_instant;

/// Rows of findings shown per hunt.
pub const ROWS_SHOWN: usize = 200;

/// Bins of the timeline, per hunt.
pub const BINS: usize = 120;

/// The report's file name in the sweep's folder.
pub const REPORT: &str = "report.html";

/// One hunt's findings as read back from its file: the first rows as text,
/// the row count, and the times of its first timestamp column (ns).
struct Findings {
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
    total: usize,
    time_column: Option<String>,
    times: Vec<i64>,
}

/// The findings in `paths` (one file, or a file per window) read as one.
fn read_findings(paths: &[std::path::PathBuf]) -> Result<Findings> {
    let mut out = Findings {
        columns: vec![],
        rows: vec![],
        total: 0,
        time_column: None,
        times: vec![],
    };
    for path in paths {
        read_into(path, &mut out)?;
    }
    Ok(out)
}

fn read_into(path: &Path, out: &mut Findings) -> Result<()> {
    let file = std::fs::File::open(path)?;
    let reader =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)?.build()?;
    let schema = arrow::array::RecordBatchReader::schema(&reader);
    if out.columns.is_empty() {
        out.columns = schema.fields().iter().map(|f| f.name().clone()).collect();
    }
    let time_at = schema
        .fields()
        .iter()
        .position(|f| matches!(f.data_type(), DataType::Timestamp(..)));
    if out.time_column.is_none() {
        out.time_column = time_at.map(|i| schema.field(i).name().clone());
    }
    let options = FormatOptions::default().with_null("");
    for batch in reader {
        let batch: RecordBatch = batch?;
        out.total += batch.num_rows();
        if let Some(at) = time_at {
            let ns = arrow::compute::cast(
                batch.column(at),
                &DataType::Timestamp(TimeUnit::Nanosecond, None),
            )?;
            let ns = arrow::compute::cast(&ns, &DataType::Int64)?;
            if let Some(values) = ns.as_any().downcast_ref::<arrow::array::Int64Array>() {
                out.times.extend(values.iter().flatten());
            }
        }
        let want = ROWS_SHOWN
            .saturating_sub(out.rows.len())
            .min(batch.num_rows());
        if want > 0 {
            let formatters = batch
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            for row in 0..want {
                out.rows.push(
                    formatters
                        .iter()
                        .map(|f| f.value(row).to_string())
                        .collect(),
                );
            }
        }
    }
    Ok(())
}

/// Writes `OUT/report.html` for a finished sweep.
pub fn write(out: &Path, summary: &SweepSummary, queries: &[SweepQuery]) -> Result<()> {
    let mut html = String::new();
    let count = |s: &str| summary.hunts.iter().filter(|h| h.status == s).count();
    let total: u64 = summary.hunts.iter().filter_map(|h| h.findings).sum();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>lakehunt sweep as of {as_of}</title><style>{STYLE}</style></head><body>\n\
         <h1>lakehunt sweep</h1>\n<p class=\"scope\">As of <code>{as_of}</code> over <code>{data}</code>; \
         lakehunt {version}.</p>\n<p class=\"counts\"><span>{n} queries</span><span class=\"ran\">{ran} ran</span>\
         <span class=\"skipped\">{skipped} skipped</span><span class=\"failed\">{failed} failed</span>\
         <span>{total} findings</span></p>\n",
        as_of = escape(&summary.as_of),
        data = escape(&summary.data.join(", ")),
        version = escape(&summary.lakehunt_version),
        n = summary.hunts.len(),
        ran = count("ran"),
        skipped = count("skipped"),
        failed = count("failed"),
    );
    // Findings, read back from their files.
    let mut found = vec![];
    for (record, query) in summary.hunts.iter().zip(queries) {
        if let (Some(output), Some(n)) = (&record.output, record.findings)
            && n > 0
        {
            let paths: Vec<_> = if record.windows.is_empty() {
                vec![out.join(output)]
            } else {
                record.windows.iter().map(|w| out.join(&w.output)).collect()
            };
            let findings = read_findings(&paths).map_err(|e| Error::InvalidInput {
                path: out.join(output),
                line: 0,
                message: e.to_string(),
            })?;
            found.push((record, query, findings));
        }
    }
    timeline(&mut html, &found);
    queries_table(&mut html, summary);
    html.push_str("</tbody></table>\n<h2>Findings</h2>\n");
    if found.is_empty() {
        html.push_str("<p>No query found anything.</p>\n");
    }
    for (record, query, findings) in &found {
        hunt_findings(&mut html, record, query, findings);
    }
    html.push_str("</body></html>\n");
    crate::html::write_page(&out.join(REPORT), &html)?;
    Ok(())
}

/// Every query with its status, findings, time and reason.
fn queries_table(html: &mut String, summary: &SweepSummary) {
    html.push_str("<h2>Queries</h2>\n<table><thead><tr><th>status</th><th>hunt</th>\
        <th>query</th><th>language</th><th>findings</th><th>seconds</th><th>ATT&amp;CK</th><th>reason</th></tr></thead><tbody>\n");
    for h in &summary.hunts {
        let _ = writeln!(
            html,
            "<tr><td class=\"{status}\">{status}</td><td>{name}<br><small>{file}</small></td>\
             <td class=\"num\">{index}</td><td>{language}</td><td class=\"num\">{findings}</td>\
             <td class=\"num\">{seconds:.2}</td><td>{mitre}</td><td>{reason}</td></tr>",
            status = escape(&h.status),
            name = escape(&h.name),
            file = escape(&h.file),
            index = h.query_index,
            language = escape(&h.language),
            findings = h.findings.map(|n| n.to_string()).unwrap_or_default(),
            seconds = h.seconds,
            mitre = escape(&h.mitre.join(", ")),
            reason = escape(&h.reason),
        );
    }
}

/// One hunt's heading, techniques, description and first rows.
fn hunt_findings(
    html: &mut String,
    record: &super::SweepRecord,
    query: &SweepQuery,
    findings: &Findings,
) {
    let _ = writeln!(
        html,
        "<h3>{name} <small>(query {index}, {n} findings)</small></h3>",
        name = escape(&record.name),
        index = record.query_index,
        n = findings.total
    );
    if !record.mitre.is_empty() {
        html.push_str("<p>");
        for t in &record.mitre {
            let _ = write!(html, "<span class=\"tech\">{}</span>", escape(t));
        }
        html.push_str("</p>\n");
    }
    if !query.description.trim().is_empty() {
        let _ = writeln!(
            html,
            "<p class=\"desc\">{}</p>",
            escape(query.description.trim())
        );
    }
    html.push_str("<div class=\"wrap\"><table><thead><tr>");
    for c in &findings.columns {
        let _ = write!(html, "<th>{}</th>", escape(c));
    }
    html.push_str("</tr></thead><tbody>\n");
    for row in &findings.rows {
        html.push_str("<tr>");
        for cell in row {
            let _ = write!(html, "<td>{}</td>", escape(cell));
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody></table></div>\n");
    if findings.total > findings.rows.len() {
        let _ = writeln!(
            html,
            "<p class=\"more\">The first {} of {} rows; all of them are in {}.</p>",
            findings.rows.len(),
            findings.total,
            escape(record.output.as_deref().unwrap_or_default())
        );
    }
}

/// An SVG with a lane per hunt whose findings have times: bars of how many
/// fall in each of [`BINS`] bins over the span of all of them.
fn timeline(html: &mut String, found: &[(&super::SweepRecord, &SweepQuery, Findings)]) {
    let lanes: Vec<_> = found
        .iter()
        .filter(|(_, _, f)| !f.times.is_empty())
        .collect();
    html.push_str("<h2>Timeline</h2>\n");
    if lanes.is_empty() {
        html.push_str("<p>No findings with a time column.</p>\n");
        return;
    }
    let lo = lanes
        .iter()
        .flat_map(|(_, _, f)| f.times.iter().copied())
        .min()
        .unwrap_or(0);
    let hi = lanes
        .iter()
        .flat_map(|(_, _, f)| f.times.iter().copied())
        .max()
        .unwrap_or(0);
    let span = (hi - lo).max(1);
    let (label_w, plot_w, lane_h) = (260.0, 840.0, 34.0);
    let height = lane_h * lanes.len() as f64 + 30.0;
    let _ = writeln!(
        html,
        "<svg role=\"img\" aria-label=\"findings over time\" width=\"100%\" viewBox=\"0 0 {w} {height}\" \
         xmlns=\"http://www.w3.org/2000/svg\">",
        w = label_w + plot_w + 10.0
    );
    for (i, (record, _, findings)) in lanes.iter().enumerate() {
        let mut bins = vec![0u64; BINS];
        for t in &findings.times {
            let at = (((t - lo) as f64 / span as f64) * (BINS - 1) as f64).round() as usize;
            bins[at.min(BINS - 1)] += 1;
        }
        let top = bins.iter().copied().max().unwrap_or(1).max(1) as f64;
        let y = lane_h * i as f64;
        let mut label: String = record.name.chars().take(40).collect();
        if record.name.chars().count() > 40 {
            label.push('…');
        }
        let _ = writeln!(
            html,
            "<text x=\"0\" y=\"{ty}\">{label}</text><text x=\"0\" y=\"{ty2}\">{n} by {col}</text>\
             <line x1=\"{label_w}\" x2=\"{x2}\" y1=\"{base}\" y2=\"{base}\" stroke=\"#dde1e8\"/>",
            ty = y + 13.0,
            ty2 = y + 26.0,
            label = escape(&label),
            n = findings.times.len(),
            col = escape(findings.time_column.as_deref().unwrap_or_default()),
            x2 = label_w + plot_w,
            base = y + lane_h - 4.0
        );
        let bar_w = plot_w / BINS as f64;
        for (b, &n) in bins.iter().enumerate().filter(|(_, n)| **n > 0) {
            let h = ((n as f64 / top) * (lane_h - 8.0)).max(1.5);
            let _ = write!(
                html,
                "<rect x=\"{x:.1}\" y=\"{ry:.1}\" width=\"{bw:.1}\" height=\"{h:.1}\" fill=\"#3b6fd6\"><title>{n}</title></rect>",
                x = label_w + bar_w * b as f64,
                ry = y + lane_h - 4.0 - h,
                bw = (bar_w - 1.0).max(1.0)
            );
        }
        html.push('\n');
    }
    let _ = writeln!(
        html,
        "<text x=\"{label_w}\" y=\"{ty}\">{from}</text><text x=\"{end}\" y=\"{ty}\" text-anchor=\"end\">{to}</text></svg>",
        ty = height - 8.0,
        from = escape(&format_instant(lo)),
        end = label_w + plot_w,
        to = escape(&format_instant(hi))
    );
}
