//! Running ES|QL: the query translated over this session's `events`, its
//! ENRICH lookup tables, and ES|QL's warnings counted while it runs.

use arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::prelude::SessionContext;
use lakehunt_udfs::esql_warnings::EsqlWarnings;

use super::{Engine, ScanStats, Table, Warning, collect, collect_observed};
use crate::error::{Error, Result};

/// A time zone as Arrow writes them (`UTC`, `Europe/Paris`, `+02:00`), and
/// nothing that could end the SQL string it is written into.
fn is_zone_name(zone: &str) -> bool {
    !zone.is_empty()
        && zone
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_+-:.".contains(c))
}

/// An ES|QL query's warning counters (see [`Engine::esql_stream`]).
#[derive(Debug)]
pub struct EsqlCounts {
    counters: EsqlWarnings,
    /// Said of the query before it runs (data without `@timestamp`).
    notes: Vec<Warning>,
}

impl EsqlCounts {
    /// The warnings counted so far that are not zero.
    #[must_use]
    pub fn warnings(&self) -> Vec<Warning> {
        let mut warnings = self.notes.clone();
        warnings.extend(
            self.counters
                .report()
                .into_iter()
                .map(|(name, count, message)| Warning {
                    name: name.to_owned(),
                    count,
                    message,
                }),
        );
        warnings
    }
}

/// The shape `Engine::esql_sql` translates against; the default is no data (ROW).
#[derive(Default)]
struct EventsShape {
    notes: Vec<Warning>,
    /// `@timestamp`'s type as `arrow_cast` names it; `None` without one.
    time_type: Option<String>,
    columns: Option<Vec<(String, DataType)>>,
    indexes: Option<std::sync::Arc<[crate::esql::Dataset]>>,
}

/// What `NOW()` is typed as where the data has no `@timestamp`.
const NO_TIME_TYPE: &str = "Timestamp(Millisecond, Some(\"UTC\"))";

impl Engine {
    /// The SQL an ES|QL query becomes over this session's `events`, the
    /// counters of its warnings, and the session to plan it in: this one's
    /// state with those counters registered. Its own, so that queries
    /// planned at once (a sweep's) each count into their own counters: in
    /// the engine's session, one registered after another's and before that
    /// one was planned took its warnings.
    pub(super) async fn esql_sql(
        &self,
        query: &str,
        as_of: i64,
    ) -> Result<(SessionContext, String, EsqlCounts)> {
        // ROW reads no index: no `events`, no time.
        let shape = if crate::esql::reads_no_index(query) {
            // No columns, but the tables (policies, lookups) are at hand.
            EventsShape {
                columns: Some(vec![]),
                ..EventsShape::default()
            }
        } else {
            self.events_shape().await?
        };
        let sql = crate::esql::translate_for(
            query,
            &crate::esql::Target {
                now: as_of,
                time_field: shape.time_type.is_some().then_some("@timestamp"),
                time_type: shape.time_type.as_deref().unwrap_or(NO_TIME_TYPE),
                columns: shape.columns.as_deref(),
                indexes: shape.indexes.as_deref(),
                policies: &self.enrich,
                lookups: &self.lookups_for(query).await?,
            },
        )?;
        let session = SessionContext::new_with_state(self.ctx.state());
        let counters = EsqlWarnings::register(&session);
        Ok((
            session,
            sql,
            EsqlCounts {
                counters,
                notes: shape.notes,
            },
        ))
    }

    /// A registered table's columns and their types, in order.
    async fn columns_of(&self, table: &str) -> Result<Vec<(String, DataType)>> {
        Ok(self
            .ctx
            .table(table)
            .await?
            .schema()
            .fields()
            .iter()
            .map(|f| (f.name().clone(), f.data_type().clone()))
            .collect())
    }

    /// Names `paths` (Parquet files, folders or globs) as a lookup index for
    /// ES|QL's `LOOKUP JOIN name ON ...`; opened when a query first names it.
    pub fn add_lookup_index(&mut self, name: &str, paths: &[String]) -> Result<()> {
        if self.lookup_paths.iter().any(|(n, _)| n == name) {
            return Err(Error::InvalidParameter {
                name: "--index".into(),
                message: format!("{name} is given twice"),
            });
        }
        self.lookup_paths.push((name.to_owned(), paths.to_vec()));
        Ok(())
    }

    /// The lookup indexes `query`'s `LOOKUP JOIN`s name and this engine
    /// has, each registered on first use as `lookup_N` (one not given is
    /// left for the translation to name).
    async fn lookups_for(&self, query: &str) -> Result<Vec<crate::esql::LookupIndex>> {
        let mut out = vec![];
        for name in crate::esql::lookup_indexes(query) {
            let known = {
                let lookups = self
                    .lookups
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                lookups.iter().find(|l| l.name == name).cloned()
            };
            if let Some(found) = known {
                out.push(found);
                continue;
            }
            let Some(at) = self.lookup_paths.iter().position(|(n, _)| *n == name) else {
                continue;
            };
            let paths = &self.lookup_paths[at].1;
            let source =
                crate::source::Source::open_as(paths, self.options.schema, &self.options.stores)?;
            let table = format!("lookup_{}", at + 1);
            super::events::register_as(
                &table,
                false,
                &source,
                &self.ctx,
                &self.options,
                &self.outside_bounds,
            )
            .await?;
            let columns = self.columns_of(&table).await?;
            let found = crate::esql::LookupIndex {
                name,
                table,
                columns,
            };
            let mut lookups = self
                .lookups
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            lookups.push(found.clone());
            out.push(found);
        }
        Ok(out)
    }

    /// What a query over `events` is translated against: the time column's
    /// type, the columns, the index patterns, and what to say first.
    async fn events_shape(&self) -> Result<EventsShape> {
        let events = self.ctx.table("events").await?;
        let mut notes = vec![];
        let time_type = match events
            .schema()
            .as_arrow()
            .field_with_name("@timestamp")
            .map(|f| f.data_type().clone())
        {
            // Lookup tables and inventories have no time: every row is
            // visible, and the run says so.
            Err(_) => {
                notes.push(Warning {
                    name: "no_timestamp".to_owned(),
                    count: 1,
                    message: "the data has no @timestamp: every row is visible whatever --as-of \
                              (NOW() is still the as-of instant)"
                        .to_owned(),
                });
                None
            }
            Ok(DataType::Timestamp(unit, tz)) => {
                // The zone comes from the files and goes into the SQL as text:
                // only a zone name or offset is taken.
                if let Some(zone) = tz.as_deref().filter(|z| !is_zone_name(z)) {
                    return Err(Error::InvalidParameter {
                        name: "@timestamp".into(),
                        message: format!(
                            "the data gives it the time zone {zone:?}, which is not a zone \
                             name or offset (letters, digits and / _ + - : .)"
                        ),
                    });
                }
                Some(format!(
                    "Timestamp({unit:?}, {})",
                    tz.map_or("None".to_owned(), |z| format!("Some(\"{z}\")"))
                ))
            }
            Ok(other) => {
                return Err(Error::InvalidEsql {
                    line: 1,
                    column: 1,
                    message: format!("the data's @timestamp is {other}, not a timestamp"),
                });
            }
        };
        let columns: Vec<(String, DataType)> = events
            .schema()
            .fields()
            .iter()
            .map(|f| (f.name().clone(), f.data_type().clone()))
            .collect();
        let indexes = self.source.datasets.clone();
        Ok(EventsShape {
            notes,
            time_type,
            columns: Some(columns),
            indexes,
        })
    }

    /// Registers a lookup table (Parquet, or CSV with a header) as the ES|QL
    /// enrich policy `name`: its first column is the key, the others the
    /// fields ENRICH adds; where a key has several rows, each field is the
    /// list of their values (Elasticsearch's multi-valued result).
    pub async fn add_enrich(&mut self, name: &str, path: &std::path::Path) -> Result<()> {
        self.add_policy(name, path, false).await
    }

    /// Registers a lookup table as the ES|QL range policy `name`: its first
    /// column holds ranges (`10.0.0.0/8`, `FROM..TO` with TO not included,
    /// or one value; of IPs, numbers or dates), the others the fields ENRICH
    /// adds from every range that holds the key (see
    /// [`lakehunt_udfs::enrich_range`]). The table is read into memory.
    pub async fn add_enrich_range(&mut self, name: &str, path: &std::path::Path) -> Result<()> {
        self.add_policy(name, path, true).await
    }

    async fn add_policy(&mut self, name: &str, path: &std::path::Path, range: bool) -> Result<()> {
        let csv = is_csv(path);
        let unreadable = |message: String| unreadable_table(path, csv, message);
        if self.enrich.iter().any(|p| p.name == name) {
            return Err(Error::InvalidParameter {
                name: "--enrich".into(),
                message: format!("policy {name} is given twice"),
            });
        }
        let mut table = format!("enrich_{}", self.enrich.len() + 1);
        let location = path.to_string_lossy().into_owned();
        if csv {
            self.ctx
                .register_csv(
                    &table,
                    &location,
                    datafusion::prelude::CsvReadOptions::new(),
                )
                .await
        } else {
            self.ctx
                .register_parquet(
                    &table,
                    &location,
                    datafusion::prelude::ParquetReadOptions::default(),
                )
                .await
        }
        .map_err(|e| unreadable(e.to_string()))?;
        let columns = self.columns_of(&table).await?;
        let fields: Vec<String> = columns.iter().map(|(name, _)| name.clone()).collect();
        let Some((key, rest)) = fields.split_first() else {
            return Err(unreadable("the lookup table has no columns".into()));
        };
        let types: Vec<DataType> = columns.iter().skip(1).map(|(_, t)| t.clone()).collect();
        let mut multi_valued = false;
        if range {
            let df = self.ctx.table(&table).await?;
            let schema = std::sync::Arc::clone(df.schema().inner());
            let batch = arrow::compute::concat_batches(&schema, &df.collect().await?)?;
            let ranges = lakehunt_udfs::enrich_range::RangeTable::new(&batch)
                .map_err(|e| unreadable(format!("range policy {name}: {e}")))?;
            multi_valued = ranges.overlaps();
            for udf in std::sync::Arc::new(ranges).udfs(&format!("{table}_range")) {
                self.ctx.register_udf(udf);
            }
        }
        // A match policy matches one row per key.
        if !range {
            let check = format!(
                "SELECT count(*) FROM (SELECT 1 FROM \"{table}\" WHERE \"{k}\" IS NOT NULL \
                 GROUP BY \"{k}\" HAVING count(*) > 1)",
                k = key.replace('"', "\"\"")
            );
            let dupes = collect(
                self.ctx
                    .sql_with_options(&check, super::read_only())
                    .await?,
            )
            .await?;
            let dupes = dupes
                .batches
                .first()
                .and_then(|b| ScalarValue::try_from_array(b.column(0), 0).ok());
            if let Some(ScalarValue::Int64(Some(n))) = dupes
                && n > 0
            {
                // Several rows of a key: each field multi-valued, every
                // row's value (Elasticsearch's ENRICH merges the matches).
                let q = |c: &str| format!("\"{}\"", c.replace('"', "\"\""));
                let lists: Vec<String> = rest
                    .iter()
                    .map(|f| format!("array_agg({0}) FILTER (WHERE {0} IS NOT NULL) AS {0}", q(f)))
                    .collect();
                let view = format!(
                    "SELECT {k}, {} FROM {} WHERE {k} IS NOT NULL GROUP BY {k}",
                    lists.join(", "),
                    q(&table),
                    k = q(key)
                );
                let grouped = self
                    .ctx
                    .sql_with_options(&view, super::read_only())
                    .await?
                    .into_view();
                let rows = table;
                table = format!("{rows}_grouped");
                self.ctx.register_table(&table, grouped)?;
                multi_valued = true;
            }
        }
        self.enrich.push(crate::esql::EnrichPolicy {
            name: name.to_owned(),
            table,
            match_field: key.clone(),
            fields: rest.to_vec(),
            types,
            range,
            multi_valued,
        });
        Ok(())
    }

    /// Runs an ES|QL query (see [`crate::esql`]) as of `as_of` (ns).
    pub async fn esql(&self, query: &str, as_of: i64) -> Result<Table> {
        Ok(self.esql_observed(query, as_of, &mut |_| {}).await?.0)
    }

    /// [`Engine::esql`], calling `observe` as the scans read (for progress
    /// displays), with ES|QL's warnings (see [`lakehunt_udfs::esql_warnings`]).
    pub async fn esql_observed(
        &self,
        query: &str,
        as_of: i64,
        observe: &mut (dyn FnMut(ScanStats) + Send),
    ) -> Result<(Table, Vec<Warning>)> {
        let (session, sql, warnings) = self.esql_sql(query, as_of).await?;
        let (table, _) = collect_observed(
            session.sql_with_options(&sql, super::read_only()).await?,
            ScanStats::default(),
            observe,
        )
        .await?;
        Ok((table, warnings.warnings()))
    }

    /// [`Engine::esql`] as a stream of batches, for results larger than
    /// memory (see [`crate::output::FileSink`]); its warnings are counted as
    /// the stream is read, and whole once it has ended.
    pub async fn esql_stream(
        &self,
        query: &str,
        as_of: i64,
    ) -> Result<(datafusion::execution::SendableRecordBatchStream, EsqlCounts)> {
        let (session, sql, warnings) = self.esql_sql(query, as_of).await?;
        let df = session.sql_with_options(&sql, super::read_only()).await?;
        Ok((super::execute(df).await?, warnings))
    }

    /// The SQL an ES|QL query becomes here, and DataFusion's optimized plan of it.
    pub async fn esql_explain(&self, query: &str, as_of: i64) -> Result<String> {
        let (session, sql, _) = self.esql_sql(query, as_of).await?;
        let frame = session.sql_with_options(&sql, super::read_only()).await?;
        let plan = frame.clone().into_optimized_plan()?;
        let physical = frame.create_physical_plan().await?;
        Ok(format!(
            "SQL\n{sql}\n\nPlan (optimized)\n{}\n\nPhysical plan\n{}",
            plan.display_indent(),
            datafusion::physical_plan::displayable(physical.as_ref()).indent(true)
        ))
    }
}

/// Whether a lookup table is a CSV file (else Parquet).
fn is_csv(path: &std::path::Path) -> bool {
    path.extension()
        .is_some_and(|x| x.eq_ignore_ascii_case("csv"))
}

/// A lookup table that cannot be read: a CSV one is no Parquet file to the
/// user either.
fn unreadable_table(path: &std::path::Path, csv: bool, message: String) -> Error {
    if csv {
        Error::InvalidInput {
            path: path.to_owned(),
            line: 0,
            message: format!("cannot read the lookup table: {message}"),
        }
    } else {
        Error::UnreadableFile {
            path: path.to_owned(),
            message,
        }
    }
}
