//! Dates over Elasticsearch's whole range: `DataFusion`'s `date_trunc`,
//! `date_bin`, `date_part` and `to_char` convert a millisecond timestamp to
//! nanoseconds first and fail the query on any date outside 1677..2262
//! (`0001-01-01` and `9999-12-31`, the sentinels of account expiries and
//! file times, are common in security data). These compute on the value in
//! its own unit, through `chrono` (years -262143..262142), in UTC:
//!
//! - `esql_date_trunc(unit, ts)`: `ts` floored to `'year'`, `'quarter'`,
//!   `'month'`, `'week'` (ISO, from Monday), `'day'`, `'hour'`, `'minute'`,
//!   `'second'`, `'millisecond'`, `'N months'` (whole months counted from
//!   0001-01, floored to a multiple of N, as Elasticsearch's arbitrary
//!   intervals: 7 years from 1963 is 1961) or `'N ms'` (buckets of N
//!   milliseconds from the epoch), in `ts`'s type;
//! - `esql_date_part(part, ts)`: as `date_part`, a double: `year`, `month`,
//!   `day`, `doy`, `dow` (Sunday 0), `hour`, `minute`, `second`,
//!   `millisecond`, `microsecond` and `nanosecond` (each with the seconds of
//!   the minute, as `date_part`), `epoch` (seconds, with their fraction);
//! - `esql_to_char(ts, format)`: `ts` written with a `strftime` format (a
//!   list of dates: each).
//!
//! Each takes a third argument, optional: a time zone (`'+10:00'`,
//! `'Europe/Paris'`: ES|QL's `SET time_zone`), in which the date is
//! truncated, taken apart or written (a truncated date is still an instant:
//! 2025-03-04T17:09Z truncated to the day at +10:00 is 2025-03-04T14:00Z).
//! A local time that daylight saving skips is moved later by the gap, one it
//! repeats takes the earlier offset, as `java.time` resolves them.
//! `esql_date_part` also gives `offset`, the zone's seconds east of UTC at
//! the date.
//!
//! NULL stays NULL, as does a date `chrono` cannot hold or a result past
//! the type's range.
//!
//! ```sql
//! SELECT esql_date_trunc('day', TIMESTAMP '9999-12-31 23:59:00');  -- 9999-12-31T00:00:00
//! ```

use std::sync::{Arc, LazyLock};

use chrono::format::{Fixed, Item, StrftimeItems};
use chrono::{
    DateTime, Datelike, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeZone,
    Timelike,
};
use datafusion::arrow::array::timezone::Tz;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Int64Array, ListArray, StringArray, StringBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, TimeUnit};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};

use crate::common::{is_string_type, map_columnar};

/// What text becomes: a UTC timestamp in milliseconds.
fn millis_utc() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
}

/// `array` as a timestamp: text read as one (RFC 3339), else as it is.
fn as_timestamp(array: &ArrayRef) -> Result<ArrayRef> {
    if is_string_type(array.data_type()) {
        Ok(cast(array, &millis_utc())?)
    } else {
        Ok(Arc::clone(array))
    }
}

/// A timestamp unit's values per second.
#[must_use]
pub fn per_second(unit: TimeUnit) -> i64 {
    match unit {
        TimeUnit::Second => 1,
        TimeUnit::Millisecond => 1_000,
        TimeUnit::Microsecond => 1_000_000,
        TimeUnit::Nanosecond => 1_000_000_000,
    }
}

/// `v` (in `unit` since the epoch) as a UTC date and time.
fn to_datetime(v: i64, unit: TimeUnit) -> Option<NaiveDateTime> {
    let per = per_second(unit);
    let secs = v.div_euclid(per);
    let nanos = u32::try_from(v.rem_euclid(per) * (1_000_000_000 / per)).ok()?;
    DateTime::from_timestamp(secs, nanos).map(|t| t.naive_utc())
}

/// A UTC date and time as a value in `unit` since the epoch.
fn from_datetime(t: NaiveDateTime, unit: TimeUnit) -> Option<i64> {
    let per = per_second(unit);
    let utc = t.and_utc();
    utc.timestamp()
        .checked_mul(per)?
        .checked_add(i64::from(utc.timestamp_subsec_nanos()) / (1_000_000_000 / per))
}

/// What `esql_date_trunc` floors to.
#[derive(Clone, Copy, Debug)]
enum Floor {
    Year,
    Quarter,
    Week,
    Day,
    /// Whole months counted from 0001-01, a multiple of this many.
    Months(i64),
    /// Buckets of this many milliseconds from the epoch.
    Millis(i64),
}

impl Floor {
    fn parse(unit: &str) -> Option<Floor> {
        Some(match unit.trim().to_ascii_lowercase().as_str() {
            "year" => Floor::Year,
            "quarter" => Floor::Quarter,
            "month" => Floor::Months(1),
            "week" => Floor::Week,
            "day" => Floor::Day,
            "hour" => Floor::Millis(3_600_000),
            "minute" => Floor::Millis(60_000),
            "second" => Floor::Millis(1_000),
            "millisecond" => Floor::Millis(1),
            other => {
                let (n, what) = other.split_once(' ')?;
                let n: i64 = n.parse().ok().filter(|n| *n > 0)?;
                match what.trim() {
                    "months" | "month" => Floor::Months(n),
                    "ms" => Floor::Millis(n),
                    _ => return None,
                }
            }
        })
    }

    /// `v` (in `unit`) floored.
    fn apply(self, v: i64, unit: TimeUnit) -> Option<i64> {
        if let Floor::Millis(ms) = self {
            // Fixed lengths: on the value itself (a millisecond of a coarser
            // unit is not a whole unit: through the date then).
            let per_ms = per_second(unit) / 1_000;
            if per_ms > 0 {
                let step = ms.checked_mul(per_ms)?;
                return v.checked_sub(v.rem_euclid(step));
            }
        }
        let t = to_datetime(v, unit)?;
        let date = t.date();
        let floored = match self {
            Floor::Year => NaiveDate::from_ymd_opt(date.year(), 1, 1)?,
            Floor::Quarter => NaiveDate::from_ymd_opt(date.year(), (date.month0() / 3) * 3 + 1, 1)?,
            Floor::Week => date.checked_sub_days(chrono::Days::new(u64::from(
                date.weekday().num_days_from_monday(),
            )))?,
            Floor::Day => date,
            Floor::Months(n) => {
                let month = (i64::from(date.year()) - 1) * 12 + i64::from(date.month0());
                let m = month - month.rem_euclid(n);
                let year = i32::try_from(1 + m.div_euclid(12)).ok()?;
                let month0 = u32::try_from(m.rem_euclid(12)).ok()?;
                NaiveDate::from_ymd_opt(year, month0 + 1, 1)?
            }
            Floor::Millis(ms) => {
                let secs = ms / 1_000;
                let s = t.and_utc().timestamp();
                return from_datetime(
                    DateTime::from_timestamp(s - s.rem_euclid(secs.max(1)), 0)?.naive_utc(),
                    unit,
                );
            }
        };
        from_datetime(floored.and_hms_opt(0, 0, 0)?, unit)
    }
}

/// `ts`'s values as `i64` in their unit, each mapped by `f`, in the same
/// timestamp type.
fn map_timestamps(ts: &ArrayRef, f: impl Fn(i64) -> Option<i64>) -> Result<ArrayRef> {
    let raw = cast(ts, &DataType::Int64)?;
    let out: Int64Array = raw
        .as_primitive::<Int64Type>()
        .iter()
        .map(|v| v.and_then(&f))
        .collect();
    Ok(cast(&out, ts.data_type())?)
}

/// The zone dates are taken apart in: UTC, or the third argument's.
#[derive(Clone, Copy, Debug)]
struct Zone(Option<Tz>);

impl Zone {
    /// The optional zone argument of `name`.
    fn of(name: &str, arg: Option<&ColumnarValue>) -> Result<Zone> {
        let Some(arg) = arg else {
            return Ok(Zone(None));
        };
        let text = constant_text(name, arg, "time zone")?;
        match text.parse::<Tz>() {
            Ok(tz) => Ok(Zone(Some(tz))),
            Err(e) => exec_err!("{name}: {e}"),
        }
    }

    /// Seconds east of UTC at the instant `utc`.
    fn offset_at(self, utc: &NaiveDateTime) -> i32 {
        self.0.map_or(0, |tz| {
            tz.offset_from_utc_datetime(utc).fix().local_minus_utc()
        })
    }

    /// Seconds east of UTC of the local time `local`: where daylight saving
    /// repeats it, the earlier offset; where it skips it, the offset before
    /// the gap (the time moves later by the gap, as in `java.time`).
    fn offset_of_local(self, local: &NaiveDateTime) -> i32 {
        let Some(tz) = self.0 else {
            return 0;
        };
        match tz.offset_from_local_datetime(local) {
            LocalResult::Single(o) | LocalResult::Ambiguous(o, _) => o.fix().local_minus_utc(),
            LocalResult::None => self.offset_at(&(*local - chrono::Duration::days(1))),
        }
    }

    /// `v` (in `unit`, UTC) floored by `floor` in this zone.
    fn floor(self, floor: Floor, v: i64, unit: TimeUnit) -> Option<i64> {
        if self.0.is_none() {
            return floor.apply(v, unit);
        }
        let per = per_second(unit);
        let off = i64::from(self.offset_at(&to_datetime(v, unit)?));
        let local = floor.apply(v.checked_add(off.checked_mul(per)?)?, unit)?;
        let back = i64::from(self.offset_of_local(&to_datetime(local, unit)?));
        local.checked_sub(back.checked_mul(per)?)
    }
}

/// `ts`'s values as local dates and times in `zone`, with the zone's
/// offset there (NULL, or out of `chrono`'s range: `None`).
fn datetimes(ts: &ArrayRef, zone: Zone) -> Result<Vec<Option<(NaiveDateTime, i32)>>> {
    let DataType::Timestamp(unit, _) = ts.data_type() else {
        return exec_err!("expected a timestamp, got {}", ts.data_type());
    };
    let unit = *unit;
    let raw = cast(ts, &DataType::Int64)?;
    Ok(raw
        .as_primitive::<Int64Type>()
        .iter()
        .map(|v| {
            let utc = to_datetime(v?, unit)?;
            let off = zone.offset_at(&utc);
            if off == 0 {
                return Some((utc, 0));
            }
            Some((
                utc.checked_add_signed(chrono::Duration::seconds(off.into()))?,
                off,
            ))
        })
        .collect())
}

/// A constant text argument of `name`.
fn constant_text(name: &str, arg: &ColumnarValue, what: &str) -> Result<String> {
    if let ColumnarValue::Scalar(s) = arg
        && let Some(text) = s.try_as_str().flatten()
    {
        return Ok(text.to_owned());
    }
    exec_err!("{name}: the {what} must be constant text")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Op {
    Trunc,
    Part,
    ToChar,
}

/// See the module's docs.
#[derive(Debug, PartialEq, Eq, Hash)]
struct DateFn {
    op: Op,
    signature: Signature,
}

impl ScalarUDFImpl for DateFn {
    fn name(&self) -> &'static str {
        match self.op {
            Op::Trunc => "esql_date_trunc",
            Op::Part => "esql_date_part",
            Op::ToChar => "esql_to_char",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        let ts = match self.op {
            Op::Trunc | Op::Part => arg_types.get(1),
            Op::ToChar => match arg_types.first() {
                // A list of dates: a list of texts.
                Some(DataType::List(item))
                    if matches!(item.data_type(), DataType::Timestamp(..)) =>
                {
                    return Ok(DataType::new_list(DataType::Utf8, true));
                }
                other => other,
            },
        };
        let ts = match ts {
            Some(ts @ (DataType::Timestamp(..) | DataType::Null)) => ts.clone(),
            // Text is read as a date, as DataFusion's functions read it.
            Some(t) if is_string_type(t) => millis_utc(),
            _ => return plan_err!("{} takes a timestamp, got {arg_types:?}", self.name()),
        };
        Ok(match self.op {
            Op::Trunc => ts,
            Op::Part => DataType::Float64,
            Op::ToChar => DataType::Utf8,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let name = self.name();
        match self.op {
            Op::Trunc => {
                let unit = constant_text(name, &args.args[0], "unit")?;
                let Some(floor) = Floor::parse(&unit) else {
                    return exec_err!("{name}: unknown unit {unit:?}");
                };
                let zone = Zone::of(name, args.args.get(2))?;
                map_columnar(&args.args[1], |ts| {
                    let ts = as_timestamp(ts)?;
                    let DataType::Timestamp(unit, _) = ts.data_type() else {
                        return Ok(ts);
                    };
                    let unit = *unit;
                    map_timestamps(&ts, |v| zone.floor(floor, v, unit))
                })
            }
            Op::Part => {
                let part = constant_text(name, &args.args[0], "part")?.to_ascii_lowercase();
                let offset = part == "offset";
                let pick: fn(&NaiveDateTime) -> f64 = match part.as_str() {
                    "offset" => |_| 0.0,
                    "year" => |t| f64::from(t.year()),
                    "month" => |t| f64::from(t.month()),
                    "day" => |t| f64::from(t.day()),
                    "doy" => |t| f64::from(t.ordinal()),
                    "dow" => |t| f64::from(t.weekday().num_days_from_sunday()),
                    "hour" => |t| f64::from(t.hour()),
                    "minute" => |t| f64::from(t.minute()),
                    "second" => |t| f64::from(t.second()),
                    "millisecond" => |t| f64::from(t.second() * 1_000 + t.nanosecond() / 1_000_000),
                    "microsecond" => |t| f64::from(t.second() * 1_000_000 + t.nanosecond() / 1_000),
                    "nanosecond" => |t| f64::from(t.second()) * 1e9 + f64::from(t.nanosecond()),
                    "epoch" => |t| {
                        let utc = t.and_utc();
                        #[expect(
                            clippy::cast_precision_loss,
                            reason = "date_part's epoch is a double"
                        )]
                        let secs = utc.timestamp() as f64;
                        secs + f64::from(utc.timestamp_subsec_nanos()) / 1e9
                    },
                    other => return exec_err!("{name}: unknown part {other:?}"),
                };
                let zone = Zone::of(name, args.args.get(2))?;
                map_columnar(&args.args[1], |ts| {
                    if ts.data_type() == &DataType::Null {
                        return Ok(Arc::new(Float64Array::new_null(ts.len())) as ArrayRef);
                    }
                    let out: Float64Array = datetimes(&as_timestamp(ts)?, zone)?
                        .into_iter()
                        .map(|t| t.map(|(t, off)| if offset { f64::from(off) } else { pick(&t) }))
                        .collect();
                    Ok(Arc::new(out) as ArrayRef)
                })
            }
            Op::ToChar => {
                let format = constant_text(name, &args.args[1], "format")?;
                let items: Vec<Item<'_>> = StrftimeItems::new(&format).collect();
                if items.iter().any(|i| matches!(i, Item::Error)) {
                    return exec_err!("{name}: the format {format:?} is not a strftime format");
                }
                let zone = Zone::of(name, args.args.get(2))?;
                // In a named zone, the format where a date's offset is zero
                // (Java's `X` writes `Z` there, and `+01:00` elsewhere).
                let at_zero = match args.args.get(3) {
                    Some(arg) => constant_text(name, arg, "format")?,
                    None => format.clone(),
                };
                let zero: Vec<Item<'_>> = StrftimeItems::new(&at_zero).collect();
                if zero.iter().any(|i| matches!(i, Item::Error)) {
                    return exec_err!("{name}: the format {at_zero:?} is not a strftime format");
                }
                map_columnar(&args.args[0], |ts| written(ts, [&items, &zero], zone))
            }
        }
    }
}

/// `ts` (dates, text read as dates, or lists of dates) written with the
/// first `formats`, or the second where a date's offset is zero.
fn written(ts: &ArrayRef, formats: [&[Item<'_>]; 2], zone: Zone) -> Result<ArrayRef> {
    let [items, at_zero] = formats;
    match ts.data_type() {
        DataType::Null => Ok(Arc::new(StringArray::new_null(ts.len()))),
        DataType::List(_) => {
            let list = ts.as_list::<i32>();
            let values = written(list.values(), formats, zone)?;
            Ok(Arc::new(ListArray::try_new(
                Arc::new(Field::new_list_field(DataType::Utf8, true)),
                list.offsets().clone(),
                values,
                list.nulls().cloned(),
            )?))
        }
        _ => {
            use std::fmt::Write as _;
            // A zone's letters (%z) need the date with its offset; without
            // them the local date and time is enough (and faster).
            let offsets = items.iter().any(|i| match i {
                Item::Fixed(f) => !matches!(
                    f,
                    Fixed::ShortMonthName
                        | Fixed::LongMonthName
                        | Fixed::ShortWeekdayName
                        | Fixed::LongWeekdayName
                        | Fixed::LowerAmPm
                        | Fixed::UpperAmPm
                        | Fixed::Nanosecond
                        | Fixed::Nanosecond3
                        | Fixed::Nanosecond6
                        | Fixed::Nanosecond9
                ),
                _ => false,
            });
            let mut out = StringBuilder::new();
            for t in datetimes(&as_timestamp(ts)?, zone)? {
                let Some((local, off)) = t else {
                    out.append_null();
                    continue;
                };
                let written = if offsets {
                    let Some(at) = FixedOffset::east_opt(off)
                        .and_then(|o| o.from_local_datetime(&local).single())
                    else {
                        out.append_null();
                        continue;
                    };
                    let items = if off == 0 { at_zero } else { items };
                    write!(out, "{}", at.format_with_items(items.iter()))
                } else {
                    write!(out, "{}", local.format_with_items(items.iter()))
                };
                if written.is_err() {
                    return exec_err!("esql_to_char: a date the format cannot write");
                }
                out.append_value("");
            }
            Ok(Arc::new(out.finish()))
        }
    }
}

fn udf(op: Op) -> ScalarUDF {
    ScalarUDF::new_from_impl(DateFn {
        op,
        signature: Signature::one_of(
            vec![
                TypeSignature::Any(2),
                TypeSignature::Any(3),
                TypeSignature::Any(4),
            ],
            Volatility::Immutable,
        ),
    })
}

/// `esql_date_trunc` (see the module).
#[must_use]
pub fn date_trunc_udf() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| Arc::new(udf(Op::Trunc)));
    Arc::clone(&UDF)
}

/// `esql_date_part` (see the module).
#[must_use]
pub fn date_part_udf() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| Arc::new(udf(Op::Part)));
    Arc::clone(&UDF)
}

/// `esql_to_char` (see the module).
#[must_use]
pub fn to_char_udf() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| Arc::new(udf(Op::ToChar)));
    Arc::clone(&UDF)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> i64 {
        text.parse::<DateTime<chrono::Utc>>()
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn floors_hold_outside_the_nanosecond_range() {
        let ms_unit = TimeUnit::Millisecond;
        let t = ms("9999-12-31T23:59:30.250Z");
        let floor = |u: &str, v: i64| Floor::parse(u).unwrap().apply(v, ms_unit).unwrap();
        assert_eq!(floor("day", t), ms("9999-12-31T00:00:00Z"));
        assert_eq!(floor("year", t), ms("9999-01-01T00:00:00Z"));
        assert_eq!(floor("quarter", t), ms("9999-10-01T00:00:00Z"));
        assert_eq!(floor("month", t), ms("9999-12-01T00:00:00Z"));
        // 9999-12-31 is a Friday: the ISO week began on Monday the 27th.
        assert_eq!(floor("week", t), ms("9999-12-27T00:00:00Z"));
        assert_eq!(floor("hour", t), ms("9999-12-31T23:00:00Z"));
        assert_eq!(floor("second", t), ms("9999-12-31T23:59:30Z"));
        // Elasticsearch's date_trunc.csv-spec (arbitrary intervals): months
        // and years counted from 0001-01.
        for (date, seven_months) in [
            ("1969-11-12", "1969-10-01"),
            ("1970-05-01", "1970-05-01"),
            ("1972-01-12", "1971-07-01"),
            ("0001-01-01", "0001-01-01"),
            ("0000-12-01", "0000-06-01"),
            ("-0001-12-01", "-0001-11-01"),
        ] {
            let at = |d: &str| {
                NaiveDate::parse_from_str(d, "%Y-%m-%d")
                    .unwrap()
                    .and_hms_opt(0, 0, 0)
                    .unwrap()
                    .and_utc()
                    .timestamp_millis()
            };
            assert_eq!(floor("7 months", at(date)), at(seven_months), "{date}");
        }
        for (year, seven_years) in [(1963, 1961), (1973, 1968), (0, -6), (-6, -6), (-7, -13)] {
            let at = |y: i32| {
                NaiveDate::from_ymd_opt(y, 1, 1)
                    .unwrap()
                    .and_hms_opt(0, 0, 0)
                    .unwrap()
                    .and_utc()
                    .timestamp_millis()
            };
            assert_eq!(floor("84 months", at(year)), at(seven_years), "{year}");
        }
        assert_eq!(floor("90000 ms", ms("0001-01-01T00:01:31Z")), {
            // -62135596709000 floored to 90 s: 0001-01-01T00:01:30 is
            // -62135596710000, a multiple of 90000 (62135596710 / 90 exact).
            ms("0001-01-01T00:01:30Z")
        });
        // In range, as DataFusion's date_trunc: 2026-01-15 is a Thursday.
        assert_eq!(
            floor("week", ms("2026-01-15T10:00:00Z")),
            ms("2026-01-12T00:00:00Z")
        );
        // At +10:00 (date_trunc.csv-spec dateTruncTimezonesDatePeriod and
        // TimeDuration): 17:09Z is 03:09 the next day there.
        let at10 = |u: &str, v: i64| {
            let shift = 36_000_000;
            Floor::parse(u).unwrap().apply(v + shift, ms_unit).unwrap() - shift
        };
        let t = ms("2025-03-04T17:09:08.07Z");
        assert_eq!(at10("day", t), ms("2025-03-04T14:00:00Z"));
        assert_eq!(at10("week", t), ms("2025-03-02T14:00:00Z"));
        assert_eq!(at10("month", t), ms("2025-02-28T14:00:00Z"));
        assert_eq!(at10("3 months", t), ms("2024-12-31T14:00:00Z"));
        let t = ms("2025-03-04T10:09:08.07Z");
        assert_eq!(at10("10800000 ms", t), ms("2025-03-04T08:00:00Z"));
        assert_eq!(at10("86400000 ms", t), ms("2025-03-03T14:00:00Z"));
        // Other units keep their own.
        assert_eq!(
            Floor::parse("day")
                .unwrap()
                .apply(1_768_471_200, TimeUnit::Second),
            Some(1_768_435_200)
        );
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`), for any year.
fn days_from_civil(y: i128, m: i128, d: i128) -> i128 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `days` after 1970-01-01 as (year, month, day), for any year.
fn civil_from_days(days: i128) -> (i128, i128, i128) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// `v`, a time in `unit` since the epoch, plus `months` calendar months, then
/// `days` days and `nanos` nanoseconds, as java.time adds a period and then a
/// duration: the day of the month kept, or the month's last where it has
/// fewer days (January 31 plus a month is February's last); a duration finer
/// than the unit floors to it. `None` past the unit's range (ES|QL: long
/// overflow, or a year past Java's range, which lies beyond it).
#[must_use]
pub fn plus_calendar(v: i64, unit: TimeUnit, months: i64, days: i64, nanos: i128) -> Option<i64> {
    let per_day = i128::from(per_second(unit)) * 86_400;
    let mut v = i128::from(v);
    if months != 0 {
        let (day, within) = (v.div_euclid(per_day), v.rem_euclid(per_day));
        let (y, m, d) = civil_from_days(day);
        let total = y * 12 + (m - 1) + i128::from(months);
        let (y, m) = (total.div_euclid(12), total.rem_euclid(12) + 1);
        let first = days_from_civil(y, m, 1);
        // The month's length: days to the next month's first.
        let length = days_from_civil(
            (total + 1).div_euclid(12),
            (total + 1).rem_euclid(12) + 1,
            1,
        ) - first;
        v = (first + d.min(length) - 1) * per_day + within;
    }
    let per_unit = i128::from(1_000_000_000 / per_second(unit));
    v += i128::from(days) * per_day + nanos.div_euclid(per_unit);
    i64::try_from(v).ok()
}

#[cfg(test)]
mod calendar_tests {
    use super::*;
    use chrono::{Months, NaiveDate};

    /// Against chrono's own calendar, over its range.
    #[test]
    fn civil_days_agree_with_chrono() {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        for days in (-95_000_000i64..95_000_000).step_by(9_973) {
            let date = epoch + chrono::Duration::days(days);
            let (y, m, d) = civil_from_days(i128::from(days));
            assert_eq!(
                (y, m, d),
                (
                    i128::from(date.year()),
                    i128::from(date.month()),
                    i128::from(date.day())
                ),
                "{days}"
            );
            assert_eq!(days_from_civil(y, m, d), i128::from(days));
        }
    }

    #[test]
    fn months_clamp_the_day_as_java_time_does() {
        let ms = |s: &str| {
            chrono::DateTime::parse_from_rfc3339(s)
                .unwrap()
                .timestamp_millis()
        };
        let unit = TimeUnit::Millisecond;
        for (from, months, to) in [
            ("2024-01-31T10:00:00Z", 1, "2024-02-29T10:00:00Z"),
            ("2023-01-31T10:00:00Z", 1, "2023-02-28T10:00:00Z"),
            ("2024-03-31T00:00:00Z", -1, "2024-02-29T00:00:00Z"),
            ("2024-02-29T23:59:59.999Z", 12, "2025-02-28T23:59:59.999Z"),
            ("1969-12-31T23:00:00Z", 2, "1970-02-28T23:00:00Z"),
        ] {
            assert_eq!(
                plus_calendar(ms(from), unit, months, 0, 0),
                Some(ms(to)),
                "{from} + {months} months"
            );
        }
        // Against chrono where it reaches.
        let start = NaiveDate::from_ymd_opt(-200, 1, 31).unwrap();
        for months in (-1000i64..5000).step_by(7) {
            let want = if months >= 0 {
                start.checked_add_months(Months::new(months as u32))
            } else {
                start.checked_sub_months(Months::new((-months) as u32))
            }
            .unwrap();
            let v = start
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc()
                .timestamp_millis();
            let got = plus_calendar(v, unit, months, 0, 0).unwrap();
            assert_eq!(
                got,
                want.and_hms_opt(0, 0, 0)
                    .unwrap()
                    .and_utc()
                    .timestamp_millis()
            );
        }
    }

    #[test]
    fn past_the_range_is_none() {
        let unit = TimeUnit::Millisecond;
        assert_eq!(plus_calendar(i64::MAX, unit, 0, 1, 0), None);
        assert_eq!(plus_calendar(0, unit, 2_147_483_647 * 12, 0, 0), None);
        assert_eq!(plus_calendar(i64::MIN, unit, 0, 0, -1), None);
        assert_eq!(plus_calendar(0, TimeUnit::Nanosecond, 0, 0, 1), Some(1));
        assert_eq!(plus_calendar(0, unit, 0, 0, -1), Some(-1));
        // 9999-12-31 plus a day in nanoseconds: past 2262.
        assert_eq!(plus_calendar(0, TimeUnit::Nanosecond, 12 * 300, 0, 0), None);
    }
}
