//! `lakehunt pivot`: from a hunt's leads to the events around them.
//!
//! For each `process.entity_id` in a findings file: every event of that
//! process, the start events of its children (`process.parent.entity_id`),
//! and its parent's start event, within the findings' window widened on
//! both sides. Each event comes with the lead it explains (`finding`) and how
//! it relates to it (`relation`: `self`, `child`, `parent`).

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::datasource::MemTable;
use datafusion::prelude::{CsvReadOptions, ParquetReadOptions, SessionContext};

use crate::engine::{Engine, Table, collect_observed, timestamp};
use crate::error::{Error, Result};
use crate::params::{format_instant, parse_duration, parse_instant};

/// The column of a findings file that names a lead.
pub const ENTITY: &str = "process.entity_id";

/// The leads of a findings file, and the window they were found in.
#[derive(Clone, Debug)]
pub struct Leads {
    /// Distinct entity ids, sorted.
    pub entities: Vec<String>,
    /// `(start, end]` in ns, from the file: a hunt's `lakehunt.as_of` and
    /// `lakehunt.window`, or a backfill's `window_start`/`window_end` columns.
    pub window: Option<(i64, i64)>,
    /// The hunt that found them, when the file says.
    pub hunt: Option<String>,
}

/// Reads the leads of `path`: Parquet lakehunt wrote (its metadata gives the
/// window), or any Parquet or CSV file with a `process.entity_id` column.
pub async fn read_leads(path: &Path) -> Result<Leads> {
    let unreadable = |message: String| Error::InvalidInput {
        path: path.to_owned(),
        line: 0,
        message,
    };
    if !path.is_file() {
        return Err(Error::MissingPath(path.to_owned()));
    }
    let ctx = SessionContext::new();
    let location = path.to_string_lossy().into_owned();
    let csv = path
        .extension()
        .is_some_and(|x| x.eq_ignore_ascii_case("csv"));
    let mut notes = HashMap::new();
    if csv {
        ctx.register_csv("findings", &location, CsvReadOptions::new())
            .await
    } else {
        notes = footer_notes(path).map_err(unreadable)?;
        ctx.register_parquet("findings", &location, ParquetReadOptions::default())
            .await
    }
    .map_err(|e| unreadable(e.to_string()))?;
    let schema = ctx.table("findings").await?.schema().clone();
    if schema.field_with_unqualified_name(ENTITY).is_err() {
        return Err(unreadable(format!(
            "no column {ENTITY} to pivot on (columns: {})",
            schema
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let ids = ctx
        .sql_with_options(
            &format!(
            "SELECT DISTINCT CAST(\"{ENTITY}\" AS VARCHAR) FROM findings WHERE \"{ENTITY}\" IS NOT NULL"
            ),
            crate::engine::read_only(),
        )
        .await?
        .collect()
        .await?;
    let mut entities = BTreeSet::new();
    for batch in &ids {
        let column = arrow::compute::cast(batch.column(0), &DataType::Utf8)?;
        if let Some(strings) = column.as_any().downcast_ref::<StringArray>() {
            entities.extend(strings.iter().flatten().map(str::to_owned));
        }
    }
    let mut window = match (notes.get("lakehunt.as_of"), notes.get("lakehunt.window")) {
        (Some(as_of), Some(length)) => {
            let end = parse_instant(as_of).map_err(&unreadable)?;
            let length = parse_duration(length).map_err(&unreadable)?;
            Some((end - length, end))
        }
        _ => None,
    };
    let has = |name: &str| schema.field_with_unqualified_name(name).is_ok();
    if window.is_none() && has("window_start") && has("window_end") {
        let bounds = ctx
            .sql_with_options(
                "SELECT CAST(min(window_start) AS BIGINT), CAST(max(window_end) AS BIGINT) FROM \
                 (SELECT arrow_cast(window_start, 'Timestamp(Nanosecond, Some(\"UTC\"))') AS window_start, \
                         arrow_cast(window_end, 'Timestamp(Nanosecond, Some(\"UTC\"))') AS window_end FROM findings)",
                crate::engine::read_only(),
            )
            .await?
            .collect()
            .await?;
        if let Some(batch) = bounds.first().filter(|b| b.num_rows() == 1) {
            let value = |i: usize| match ScalarValue::try_from_array(batch.column(i), 0) {
                Ok(ScalarValue::Int64(Some(v))) => Some(v),
                _ => None,
            };
            if let (Some(lo), Some(hi)) = (value(0), value(1)) {
                window = Some((lo, hi));
            }
        }
    }
    Ok(Leads {
        entities: entities.into_iter().collect(),
        window,
        hunt: notes.get("lakehunt.hunt").cloned(),
    })
}

/// A Parquet file's footer key/value notes.
fn footer_notes(path: &Path) -> std::result::Result<HashMap<String, String>, String> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let reader = SerializedFileReader::new(file).map_err(|e| e.to_string())?;
    Ok(reader
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .map(|kv| {
            kv.iter()
                .filter_map(|k| Some((k.key.clone(), k.value.clone()?)))
                .collect()
        })
        .unwrap_or_default())
}

/// The events around `leads` within `range` (ns, `(lo, hi]`; all of the data
/// when `None`), ordered by lead and time.
pub async fn pivot(engine: &Engine, leads: &Leads, range: Option<(i64, i64)>) -> Result<Table> {
    let ctx = engine.context();
    let events = ctx.table("events").await?;
    let schema = events.schema().clone();
    let field = |name: &str| schema.field_with_unqualified_name(name).ok().cloned();
    if field(ENTITY).is_none() {
        return Err(Error::InvalidParameter {
            name: "--data".into(),
            message: format!("the data has no field {ENTITY} to pivot on"),
        });
    }
    let time = field("@timestamp");
    let entity_batch = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new(
            "entity",
            DataType::Utf8,
            false,
        )])),
        vec![Arc::new(StringArray::from(leads.entities.clone()))],
    )?;
    if ctx.table_exist("pivot_leads")? {
        ctx.deregister_table("pivot_leads")?;
    }
    ctx.register_table(
        "pivot_leads",
        Arc::new(MemTable::try_new(
            entity_batch.schema(),
            vec![vec![entity_batch]],
        )?),
    )?;
    let mut params: Vec<(String, ScalarValue)> = vec![];
    let within = |alias: &str| match (&range, &time) {
        (Some(_), Some(_)) => {
            format!(" AND {alias}.\"@timestamp\" > $lo AND {alias}.\"@timestamp\" <= $hi")
        }
        _ => String::new(),
    };
    if let (Some((lo, hi)), Some(time)) = (range, &time) {
        let (unit, tz) = match time.data_type() {
            DataType::Timestamp(unit, tz) => (*unit, tz.clone()),
            _ => (TimeUnit::Nanosecond, None),
        };
        params.push(("lo".into(), timestamp(lo, unit, tz.as_ref())));
        params.push(("hi".into(), timestamp(hi, unit, tz.as_ref())));
    }
    // A process's start: ECS's event.type holds "start" (a list or a string).
    let start = |alias: &str| match field("event.type").map(|f| f.data_type().clone()) {
        Some(DataType::List(_) | DataType::LargeList(_)) => {
            format!(" AND array_has({alias}.\"event.type\", 'start')")
        }
        Some(_) => format!(" AND {alias}.\"event.type\" = 'start'"),
        None => String::new(),
    };
    let mut parts = vec![format!(
        "SELECT l.entity AS finding, 'self' AS relation, e.* FROM events e \
         JOIN pivot_leads l ON e.\"{ENTITY}\" = l.entity WHERE true{}",
        within("e")
    )];
    if field("process.parent.entity_id").is_some() {
        parts.push(format!(
            "SELECT l.entity AS finding, 'child' AS relation, e.* FROM events e \
             JOIN pivot_leads l ON e.\"process.parent.entity_id\" = l.entity WHERE true{}{}",
            within("e"),
            start("e")
        ));
        parts.push(format!(
            "SELECT p.entity AS finding, 'parent' AS relation, e.* FROM events e \
             JOIN (SELECT DISTINCT l.entity, s.\"process.parent.entity_id\" AS parent \
                   FROM events s JOIN pivot_leads l ON s.\"{ENTITY}\" = l.entity \
                   WHERE s.\"process.parent.entity_id\" IS NOT NULL{}) p \
             ON e.\"{ENTITY}\" = p.parent WHERE true{}{}",
            within("s"),
            within("e"),
            start("e")
        ));
    }
    let order = if time.is_some() {
        "finding, \"@timestamp\", relation"
    } else {
        "finding, relation"
    };
    let sql = format!("{} ORDER BY {order}", parts.join(" UNION ALL "));
    let mut df = ctx
        .sql_with_options(&sql, crate::engine::read_only())
        .await?;
    if !params.is_empty() {
        df = df.with_param_values(params.into_iter().collect::<HashMap<_, _>>())?;
    }
    let (table, _) = collect_observed(df, crate::engine::ScanStats::default(), &mut |_| {}).await?;
    Ok(table)
}

/// "(2026-01-15T04:00:00Z, 2026-01-15T12:00:00Z]" for messages.
#[must_use]
pub fn describe_range((lo, hi): (i64, i64)) -> String {
    format!("({}, {}]", format_instant(lo), format_instant(hi))
}
/// Columns a timeline row shows, where the data has them (else every column).
const TIMELINE_COLUMNS: [&str; 14] = [
    "event.action",
    "event.type",
    "host.name",
    "process.name",
    "process.executable",
    "process.args",
    "process.entity_id",
    "process.parent.entity_id",
    "destination.address",
    "destination.ip",
    "destination.port",
    "source.bytes",
    "file.path",
    "network.transport",
];

/// Rows a lead's timeline shows; the rest are counted.
pub const HTML_ROWS: usize = 500;

/// Writes `table` (a [`pivot`]'s result) to `path` as one self-contained HTML
/// page: per lead, a strip of its events over time by relation, and its
/// events in order. `scope` lines (`what`, `value`) head the page.
pub fn write_html(table: &Table, path: &Path, scope: &[(String, String)]) -> Result<()> {
    use crate::html::escape;
    use std::fmt::Write as _;

    let schema = &table.schema;
    let index = |name: &str| schema.index_of(name).ok();
    let (Some(finding_at), Some(relation_at)) = (index("finding"), index("relation")) else {
        return Err(Error::InvalidParameter {
            name: "--format html".into(),
            message: "not a pivot's result (no finding and relation columns)".into(),
        });
    };
    let time_at = index("@timestamp");
    let mut shown: Vec<usize> = TIMELINE_COLUMNS.iter().filter_map(|c| index(c)).collect();
    if shown.is_empty() {
        shown = (0..schema.fields().len())
            .filter(|i| ![finding_at, relation_at].contains(i) && Some(*i) != time_at)
            .collect();
    }
    let leads = timeline_rows(table, (finding_at, relation_at, time_at), &shown)?;
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>lakehunt pivot</title><style>{}</style></head><body>\n<h1>lakehunt pivot</h1>\n<p class=\"scope\">",
        crate::html::STYLE
    );
    for (what, value) in scope {
        let _ = write!(html, "{}: <code>{}</code>; ", escape(what), escape(value));
    }
    let _ = writeln!(
        html,
        "{} leads, {} events.</p>",
        leads.len(),
        table.num_rows()
    );
    for (lead, rows) in &leads {
        let count = |r: &str| rows.iter().filter(|row| row.relation == r).count();
        let _ = writeln!(
            html,
            "<h2>{}</h2>\n<p class=\"counts\"><span class=\"self\">{} of its own</span>\
             <span class=\"parent\">{} parent</span><span class=\"child\">{} children</span></p>",
            escape(lead),
            count("self"),
            count("parent"),
            count("child")
        );
        strip(
            &mut html,
            rows.iter()
                .filter_map(|r| Some((r.time?, r.relation.as_str()))),
        );
        html.push_str("<div class=\"wrap\"><table><thead><tr><th>@timestamp</th><th>relation</th>");
        for &i in &shown {
            let _ = write!(html, "<th>{}</th>", escape(schema.field(i).name()));
        }
        html.push_str("</tr></thead><tbody>\n");
        for row in rows.iter().take(HTML_ROWS) {
            let _ = write!(
                html,
                "<tr><td class=\"t\">{}</td><td class=\"{rel}\">{rel}</td>",
                escape(&row.time_text),
                rel = escape(&row.relation)
            );
            for cell in &row.cells {
                let _ = write!(html, "<td>{}</td>", escape(cell));
            }
            html.push_str("</tr>\n");
        }
        html.push_str("</tbody></table></div>\n");
        if rows.len() > HTML_ROWS {
            let _ = writeln!(
                html,
                "<p class=\"more\">The first {HTML_ROWS} of {} events; the Parquet or CSV output has them all.</p>",
                rows.len()
            );
        }
    }
    html.push_str("</body></html>\n");
    crate::html::write_page(path, &html)
}

/// One event of a lead's timeline, as text.
struct TimelineRow {
    time: Option<i64>,
    relation: String,
    cells: Vec<String>,
    time_text: String,
}

/// Every row of a pivot's result as text (the `shown` columns), with its
/// time in ns, grouped by lead in order.
fn timeline_rows(
    table: &Table,
    (finding_at, relation_at, time_at): (usize, usize, Option<usize>),
    shown: &[usize],
) -> Result<Vec<(String, Vec<TimelineRow>)>> {
    use arrow::util::display::{ArrayFormatter, FormatOptions};
    let options = FormatOptions::default().with_null("");
    let mut leads: Vec<(String, Vec<TimelineRow>)> = vec![];
    for batch in &table.batches {
        let formatters = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let times = match time_at {
            Some(at) => {
                let ns = arrow::compute::cast(
                    batch.column(at),
                    &DataType::Timestamp(TimeUnit::Nanosecond, None),
                )?;
                Some(arrow::compute::cast(&ns, &DataType::Int64)?)
            }
            None => None,
        };
        let times = times
            .as_ref()
            .and_then(|t| t.as_any().downcast_ref::<arrow::array::Int64Array>());
        for row in 0..batch.num_rows() {
            let lead = formatters[finding_at].value(row).to_string();
            let entry = TimelineRow {
                time: times.and_then(|t| t.is_valid(row).then(|| t.value(row))),
                relation: formatters[relation_at].value(row).to_string(),
                cells: shown
                    .iter()
                    .map(|&i| formatters[i].value(row).to_string())
                    .collect(),
                time_text: time_at
                    .map(|at| formatters[at].value(row).to_string())
                    .unwrap_or_default(),
            };
            match leads.last_mut() {
                Some((l, rows)) if *l == lead => rows.push(entry),
                _ => leads.push((lead, vec![entry])),
            }
        }
    }
    Ok(leads)
}

/// An SVG strip: one lane per relation, a mark per 1/200th of the lead's
/// time span that holds events of it.
fn strip<'a>(html: &mut String, events: impl Iterator<Item = (i64, &'a str)>) {
    use std::fmt::Write as _;
    const BINS: usize = 200;
    let events: Vec<(i64, &str)> = events.collect();
    let (Some(lo), Some(hi)) = (
        events.iter().map(|e| e.0).min(),
        events.iter().map(|e| e.0).max(),
    ) else {
        return;
    };
    let span = (hi - lo).max(1) as f64;
    let (label_w, plot_w, lane_h) = (70.0, 1000.0, 16.0);
    let lanes = [
        ("parent", "#b05a00"),
        ("self", "#2f5fc4"),
        ("child", "#1d7a3a"),
    ];
    let _ = writeln!(
        html,
        "<svg role=\"img\" aria-label=\"events over time\" width=\"100%\" viewBox=\"0 0 {w} {h}\" xmlns=\"http://www.w3.org/2000/svg\">",
        w = label_w + plot_w + 10.0,
        h = lane_h * 3.0 + 18.0
    );
    for (i, (relation, colour)) in lanes.iter().enumerate() {
        let y = lane_h * i as f64;
        let _ = write!(html, "<text x=\"0\" y=\"{}\">{relation}</text>", y + 12.0);
        let mut bins = [0u32; BINS];
        for (t, r) in &events {
            if r == relation {
                let at = (((t - lo) as f64 / span) * (BINS - 1) as f64).round() as usize;
                bins[at.min(BINS - 1)] += 1;
            }
        }
        let bar = plot_w / BINS as f64;
        for (b, n) in bins.iter().enumerate().filter(|(_, n)| **n > 0) {
            let _ = write!(
                html,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{colour}\"><title>{n}</title></rect>",
                label_w + bar * b as f64,
                y + 3.0,
                (bar - 0.5).max(1.0),
                lane_h - 6.0
            );
        }
    }
    let _ = writeln!(
        html,
        "<text x=\"{label_w}\" y=\"{ty}\">{}</text><text x=\"{end}\" y=\"{ty}\" text-anchor=\"end\">{}</text></svg>",
        crate::html::escape(&format_instant(lo)),
        crate::html::escape(&format_instant(hi)),
        ty = lane_h * 3.0 + 14.0,
        end = label_w + plot_w
    );
}
