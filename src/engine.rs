//! The session: lakehunt's functions, the `events` view over the source, and
//! hunts bound to typed parameter values.
//!
//! Parameters are values, never text: a hunt's SQL names `$threshold`,
//! `$window_start`, ...; the engine reads the type DataFusion inferred for each
//! placeholder and binds a literal of exactly that type. The time bounds are
//! literals in the time column's own unit and zone, so Parquet statistics prune
//! row groups and files.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::prelude::{DataFrame, SessionConfig, SessionContext};

use crate::error::{Error, Result};
use crate::hunt::{BoundHunt, Hunt, Value};
use crate::source::{SchemaMode, Source};

/// Session settings; `None` keeps DataFusion's default.
#[derive(Clone, Debug, Default)]
pub struct EngineOptions {
    /// Rows per batch.
    pub batch_size: Option<usize>,
    /// Parallelism of scans and aggregations.
    pub target_partitions: Option<usize>,
    /// Whether files are read as ECS, OCSF, or detected.
    pub schema: SchemaMode,
}

/// A query's result: schema and batches.
#[derive(Clone, Debug)]
pub struct Table {
    /// Column names and types, also when there are no rows.
    pub schema: SchemaRef,
    /// The rows.
    pub batches: Vec<RecordBatch>,
}

impl Table {
    /// Number of rows.
    #[must_use]
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// A counted data-quality warning from a hunt's diagnostics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// Column name in the diagnostics query.
    pub name: String,
    /// How many events it concerns.
    pub count: u64,
    /// The message with the count filled in.
    pub message: String,
}

/// What a hunt produced.
#[derive(Clone, Debug)]
pub struct HuntOutput {
    /// The findings.
    pub findings: Table,
    /// Non-zero warnings, sorted by name.
    pub warnings: Vec<Warning>,
}

/// A session over one source.
pub struct Engine {
    ctx: SessionContext,
    source: Source,
}

impl Engine {
    /// Opens the data (reading every footer) and builds the session.
    pub async fn open(paths: &[String], options: &EngineOptions) -> Result<Engine> {
        let source = Source::open_as(paths, options.schema)?;
        Self::with_source(source, options).await
    }

    /// Builds the session over an already opened source.
    pub async fn with_source(source: Source, options: &EngineOptions) -> Result<Engine> {
        let mut config = SessionConfig::new();
        if let Some(rows) = options.batch_size {
            config = config.with_batch_size(rows);
        }
        if let Some(n) = options.target_partitions {
            config = config.with_target_partitions(n);
        }
        let mut ctx = SessionContext::new_with_config(config);
        lakehunt_udfs::register_all(&mut ctx)?;
        source.register(&ctx).await?;
        Ok(Engine { ctx, source })
    }

    /// The source the session reads.
    #[must_use]
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// The DataFusion session, for callers that need more than SQL text.
    #[must_use]
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// Runs ad-hoc SQL over `events` (and `events_raw`).
    pub async fn sql(&self, sql: &str) -> Result<Table> {
        collect(self.ctx.sql(sql).await?).await
    }

    /// Checks the hunt's required fields against the data, before any data is
    /// read; returns the time field's unit and zone.
    pub async fn check_fields(&self, hunt: &Hunt) -> Result<(TimeUnit, Option<Arc<str>>)> {
        let events = self.ctx.table("events").await?;
        let schema = events.schema().as_arrow();
        if let Some(problem) = hunt.field_problems(schema).into_iter().next() {
            return Err(problem.into_error(hunt));
        }
        let time_type = schema
            .field_with_name(&hunt.lakehunt.time_field)
            .ok()
            .map(|f| f.data_type().clone());
        match time_type {
            Some(DataType::Timestamp(unit, tz)) => Ok((unit, tz)),
            _ => Err(Error::InvalidHunt {
                hunt: hunt.id().to_owned(),
                message: "time field must be declared with type = \"timestamp\"".into(),
            }),
        }
    }

    /// Checks the hunt's fields, then runs the hunt and its diagnostics.
    pub async fn run_hunt(&self, bound: &BoundHunt) -> Result<HuntOutput> {
        let hunt = &bound.hunt;
        let (unit, tz) = self.check_fields(hunt).await?;
        // Name the hunt in engine errors (an overflowing sum, an unreadable file).
        let failed = |e: Error| match e {
            Error::Query(source) => Error::HuntFailed {
                hunt: hunt.id().to_owned(),
                source,
            },
            other => other,
        };
        let findings = self
            .bind(&hunt.lakehunt.sql, bound, unit, tz.as_ref())
            .await
            .map_err(failed)?;
        let findings = collect(findings).await.map_err(failed)?;
        let mut warnings = vec![];
        if let Some(diag) = &hunt.lakehunt.diagnostics {
            let counts = self
                .bind(&diag.sql, bound, unit, tz.as_ref())
                .await
                .map_err(failed)?;
            let counts = collect(counts).await.map_err(failed)?;
            for batch in counts.batches.iter().filter(|b| b.num_rows() > 0) {
                for (name, template) in &diag.messages {
                    let column = batch
                        .column_by_name(name)
                        .ok_or_else(|| Error::InvalidHunt {
                            hunt: hunt.id().to_owned(),
                            message: format!("diagnostics query has no column '{name}'"),
                        })?;
                    let count = ScalarValue::try_from_array(column, 0)?;
                    let count = match count {
                        ScalarValue::Int64(Some(n)) => u64::try_from(n).unwrap_or(0),
                        _ => 0,
                    };
                    if count > 0 {
                        warnings.push(Warning {
                            name: name.clone(),
                            count,
                            message: template.replace("{n}", &count.to_string()),
                        });
                    }
                }
            }
        }
        Ok(HuntOutput { findings, warnings })
    }

    /// Plans `sql` and binds every placeholder to a literal of its inferred type.
    async fn bind(
        &self,
        sql: &str,
        bound: &BoundHunt,
        unit: TimeUnit,
        tz: Option<&Arc<str>>,
    ) -> Result<DataFrame> {
        let df = self.ctx.sql(sql).await?;
        let inferred = df.logical_plan().get_parameter_types()?;
        let mut values: HashMap<String, ScalarValue> = HashMap::new();
        for (id, data_type) in inferred {
            let name = id.trim_start_matches('$');
            let value = match name {
                "window_start" => timestamp(bound.window_start, unit, tz),
                "as_of" => timestamp(bound.as_of, unit, tz),
                other => match bound.values.get(other) {
                    Some(Value::Int(v)) => ScalarValue::Int64(Some(*v)),
                    Some(Value::Duration(ns)) => ScalarValue::DurationNanosecond(Some(*ns)),
                    Some(Value::Str(s)) => ScalarValue::Utf8(s.clone()),
                    None => {
                        return Err(Error::InvalidHunt {
                            hunt: bound.hunt.id().to_owned(),
                            message: format!("SQL uses {id}, which has no value"),
                        });
                    }
                },
            };
            let value = match data_type {
                Some(t) if t != value.data_type() => value.cast_to(&t)?,
                _ => value,
            };
            values.insert(name.to_owned(), value);
        }
        Ok(df.with_param_values(values)?)
    }
}

async fn collect(df: DataFrame) -> Result<Table> {
    let schema: SchemaRef = Arc::clone(df.schema().inner());
    let batches = df.collect().await?;
    Ok(Table { schema, batches })
}

/// An instant as a literal of the time column's type. Rounds down, so that
/// `ts > start` and `ts <= end` keep exactly the rows they would at full precision.
fn timestamp(nanos: i64, unit: TimeUnit, tz: Option<&Arc<str>>) -> ScalarValue {
    let tz = tz.cloned();
    match unit {
        TimeUnit::Second => ScalarValue::TimestampSecond(Some(nanos.div_euclid(1_000_000_000)), tz),
        TimeUnit::Millisecond => {
            ScalarValue::TimestampMillisecond(Some(nanos.div_euclid(1_000_000)), tz)
        }
        TimeUnit::Microsecond => {
            ScalarValue::TimestampMicrosecond(Some(nanos.div_euclid(1_000)), tz)
        }
        TimeUnit::Nanosecond => ScalarValue::TimestampNanosecond(Some(nanos), tz),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_down_in_every_unit() {
        assert_eq!(
            timestamp(-1, TimeUnit::Second, None),
            ScalarValue::TimestampSecond(Some(-1), None)
        );
        assert_eq!(
            timestamp(1_999_999, TimeUnit::Millisecond, None),
            ScalarValue::TimestampMillisecond(Some(1), None)
        );
    }
}
