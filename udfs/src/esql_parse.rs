//! Parsing functions of ES|QL that give NULL where their input does not parse:
//!
//! - `esql_date_parse(format, text)`: text read with a `strftime` format (the
//!   translation turns ES|QL's Java pattern into one) as a UTC timestamp in
//!   milliseconds; a date without a time is midnight UTC (`DATE_PARSE`);
//! - `ip_prefix(ip, v4_bits, v6_bits)`: the address with the bits after the
//!   prefix set to zero, IPv4 (also IPv4-mapped) by `v4_bits`, IPv6 by
//!   `v6_bits`, as text (`IP_PREFIX`); NULL for a length out of range.
//!
//! - `ip_key(ip)`: the address as Elasticsearch orders IPs, its 16 bytes as
//!   IPv6 (IPv4 mapped into `::ffff:0:0/96`), for comparisons and SORT; NULL
//!   for text that is not an address.
//!
//! - `esql_to_datetime(x)`: text read as Elasticsearch's
//!   `strict_date_optional_time` (a year at least; a time after `T`; an
//!   offset after the time; UTC where none is given), as UTC milliseconds;
//!   of a list, each value (text, or whole numbers and decimals of
//!   milliseconds), the values that do not convert left out (`TO_DATETIME`).
//!
//! The first two and the last are NULL where Elasticsearch warns; the
//! translation counts those rows.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, LazyLock};

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, StringBuilder, TimestampMillisecondBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type, TimeUnit};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::common::{for_each_str, is_string_type};
use crate::ip::{Addr, addr_from_bytes, parse_addr};

/// One text read with `format`, as milliseconds since the epoch (UTC).
#[must_use]
pub fn parse_date(format: &str, text: &str) -> Option<i64> {
    if let Ok(t) = DateTime::parse_from_str(text, format) {
        return Some(t.timestamp_millis());
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
        return Some(t.and_utc().timestamp_millis());
    }
    NaiveDate::parse_from_str(text, format)
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis())
}

/// `addr` with the bits after its family's prefix length zeroed, as text.
#[must_use]
pub fn prefix(addr: Addr, v4_bits: i64, v6_bits: i64) -> Option<String> {
    match addr {
        Addr::V4(a) => {
            let bits = u32::try_from(v4_bits).ok().filter(|b| *b <= 32)?;
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            Some(Ipv4Addr::from(a & mask).to_string())
        }
        Addr::V6(a) => {
            let bits = u32::try_from(v6_bits).ok().filter(|b| *b <= 128)?;
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            Some(Ipv6Addr::from(a & mask).to_string())
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Op {
    DateParse,
    IpPrefix,
    IpKey,
    ToDatetime,
}

/// `addr` as the 16 bytes Elasticsearch orders IPs by.
#[must_use]
pub fn ip_key(addr: Addr) -> [u8; 16] {
    match addr {
        Addr::V4(a) => Ipv4Addr::from(a).to_ipv6_mapped().octets(),
        Addr::V6(a) => a.to_be_bytes(),
    }
}

/// `n` digits exactly at `at` of `b`, as a number; `at` moves past them.
fn take(b: &[u8], at: &mut usize, n: usize) -> Option<u32> {
    let part = b.get(*at..*at + n)?;
    if !part.iter().all(u8::is_ascii_digit) {
        return None;
    }
    *at += n;
    std::str::from_utf8(part).ok()?.parse().ok()
}

/// `text` read as Elasticsearch's `strict_date_optional_time`:
/// `yyyy[-MM[-dd[THH[:mm[:ss[.fraction]]][offset]]]]` (the year signed
/// where it has more than four digits or is negative), where the offset is
/// `Z`, `±HH`, `±HHmm` or `±HH:mm`; milliseconds since the epoch, or `None`
/// where it is not such a date (`1964-06-02 00:00:00`, `2024-1-5`).
#[must_use]
pub fn parse_iso(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let mut at = 0;
    // A year before 0000 or after 9999 is signed, as java.time writes it
    // (-0006, +10000): four digits or more.
    let sign = match b.first() {
        Some(b'-') => -1,
        Some(b'+') => 1,
        _ => 0,
    };
    let year = if sign == 0 {
        i32::try_from(take(b, &mut at, 4)?).ok()?
    } else {
        at = 1;
        let digits = b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if !(4..=9).contains(&digits) {
            return None;
        }
        sign * i32::try_from(take(b, &mut at, digits)?).ok()?
    };
    let (mut month, mut day) = (1, 1);
    let (mut hour, mut minute, mut second, mut nanos) = (0, 0, 0, 0);
    let mut offset_minutes: i64 = 0;
    if b.get(at) == Some(&b'-') {
        at += 1;
        month = take(b, &mut at, 2)?;
        if b.get(at) == Some(&b'-') {
            at += 1;
            day = take(b, &mut at, 2)?;
            if b.get(at) == Some(&b'T') {
                at += 1;
                hour = take(b, &mut at, 2)?;
                if b.get(at) == Some(&b':') {
                    at += 1;
                    minute = take(b, &mut at, 2)?;
                    if b.get(at) == Some(&b':') {
                        at += 1;
                        second = take(b, &mut at, 2)?;
                        if matches!(b.get(at), Some(b'.' | b',')) {
                            at += 1;
                            let start = at;
                            while b.get(at).is_some_and(u8::is_ascii_digit) && at - start < 9 {
                                at += 1;
                            }
                            let fraction = std::str::from_utf8(&b[start..at]).ok()?;
                            if fraction.is_empty() {
                                return None;
                            }
                            nanos = format!("{fraction:0<9}").parse().ok()?;
                        }
                    }
                }
                match b.get(at) {
                    Some(b'Z') => at += 1,
                    Some(&sign @ (b'+' | b'-')) => {
                        at += 1;
                        let hours = i64::from(take(b, &mut at, 2)?);
                        let minutes = if b.get(at) == Some(&b':') {
                            at += 1;
                            i64::from(take(b, &mut at, 2)?)
                        } else if b.get(at).is_some_and(u8::is_ascii_digit) {
                            i64::from(take(b, &mut at, 2)?)
                        } else {
                            0
                        };
                        if hours > 18 || minutes > 59 {
                            return None;
                        }
                        offset_minutes = (hours * 60 + minutes) * if sign == b'-' { -1 } else { 1 };
                    }
                    _ => {}
                }
            }
        }
    }
    if at != b.len() {
        return None;
    }
    let local =
        NaiveDate::from_ymd_opt(year, month, day)?.and_hms_nano_opt(hour, minute, second, nanos)?;
    Some(local.and_utc().timestamp_millis() - offset_minutes * 60_000)
}

/// `esql_date_parse` or `ip_prefix` (see the module).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Parse {
    op: Op,
    signature: Signature,
}

fn udf(op: Op) -> ScalarUDF {
    let arity = match op {
        Op::DateParse => 2,
        Op::IpPrefix => 3,
        Op::IpKey | Op::ToDatetime => 1,
    };
    ScalarUDF::new_from_impl(Parse {
        op,
        signature: Signature::any(arity, Volatility::Immutable),
    })
}

/// `esql_date_parse`.
#[must_use]
pub fn date_parse_udf() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| Arc::new(udf(Op::DateParse)));
    Arc::clone(&UDF)
}

/// `ip_prefix`.
#[must_use]
pub fn ip_prefix_udf() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| Arc::new(udf(Op::IpPrefix)));
    Arc::clone(&UDF)
}

/// `esql_to_datetime`.
#[must_use]
pub fn to_datetime_udf() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| Arc::new(udf(Op::ToDatetime)));
    Arc::clone(&UDF)
}

/// Each value of `values` (text, whole numbers or decimals of milliseconds)
/// as UTC milliseconds; `None` where it does not convert.
fn datetimes(values: &ArrayRef) -> Result<Vec<Option<i64>>> {
    let values = plain(values)?;
    Ok(match values.data_type() {
        t if t.is_integer() => ints(&values)?,
        t if t.is_floating() => {
            let doubles = cast(&values, &DataType::Float64)?;
            doubles
                .as_primitive::<datafusion::arrow::datatypes::Float64Type>()
                .iter()
                .map(|d| {
                    // Rounded half up, as Java's Math.round (Elasticsearch's
                    // safeDoubleToLong): 1.5 ms is 2.
                    d.filter(|d| d.is_finite() && d.abs() < 9.2e18)
                        .map(|d| (d + 0.5).floor() as i64)
                })
                .collect()
        }
        _ => strs(&values)?
            .into_iter()
            .map(|s| s.and_then(parse_iso))
            .collect(),
    })
}

/// `ip_key`.
#[must_use]
pub fn ip_key_udf() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| Arc::new(udf(Op::IpKey)));
    Arc::clone(&UDF)
}

/// `array` with a dictionary's values looked up (IP columns may come
/// dictionary-encoded); any other array as it is.
fn plain(array: &ArrayRef) -> Result<ArrayRef> {
    Ok(match array.data_type() {
        DataType::Dictionary(_, values) => cast(array, values)?,
        _ => Arc::clone(array),
    })
}

/// Each row's string (`None` for NULL), borrowed, whatever the layout.
fn strs(array: &ArrayRef) -> Result<Vec<Option<&str>>> {
    let mut out = Vec::with_capacity(array.len());
    if array.data_type() == &DataType::Null {
        out.resize(array.len(), None);
    } else {
        for_each_str(array.as_ref(), |s| out.push(s))?;
    }
    Ok(out)
}

/// Each row's address: text, or 4 or 16 bytes.
fn addrs(array: &ArrayRef) -> Result<Vec<Option<Addr>>> {
    let array = &plain(array)?;
    Ok(match array.data_type() {
        DataType::Binary
        | DataType::LargeBinary
        | DataType::FixedSizeBinary(_)
        | DataType::BinaryView => {
            let array = cast(array, &DataType::Binary)?;
            array
                .as_binary::<i32>()
                .iter()
                .map(|b| b.and_then(addr_from_bytes))
                .collect()
        }
        _ => strs(array)?
            .into_iter()
            .map(|s| s.and_then(parse_addr))
            .collect(),
    })
}

fn ints(array: &ArrayRef) -> Result<Vec<Option<i64>>> {
    let array = cast(array, &DataType::Int64)?;
    Ok(array.as_primitive::<Int64Type>().iter().collect())
}

impl ScalarUDFImpl for Parse {
    fn name(&self) -> &'static str {
        match self.op {
            Op::DateParse => "esql_date_parse",
            Op::IpPrefix => "ip_prefix",
            Op::IpKey => "ip_key",
            Op::ToDatetime => "esql_to_datetime",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match (self.op, arg_types) {
            (Op::DateParse, [f, t])
                if [f, t]
                    .iter()
                    .all(|t| is_string_type(t) || *t == &DataType::Null) =>
            {
                Ok(DataType::Timestamp(
                    TimeUnit::Millisecond,
                    Some("UTC".into()),
                ))
            }
            (Op::IpPrefix, [_, a, b]) if a.is_integer() && b.is_integer() => Ok(DataType::Utf8),
            (Op::IpKey, [_]) => Ok(DataType::FixedSizeBinary(16)),
            (Op::ToDatetime, [DataType::List(_)]) => Ok(DataType::new_list(
                DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
                true,
            )),
            (Op::ToDatetime, [t])
                if is_string_type(t) || t.is_numeric() || t == &DataType::Null =>
            {
                Ok(DataType::Timestamp(
                    TimeUnit::Millisecond,
                    Some("UTC".into()),
                ))
            }
            _ => plan_err!("{}: unexpected arguments {arg_types:?}", self.name()),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        // A constant format (the translation's case) is read once, not
        // expanded to a column.
        if let (Op::DateParse, [ColumnarValue::Scalar(format), text]) =
            (self.op, args.args.as_slice())
        {
            let format = crate::common::scalar_str(format)?;
            let text = plain(&text.to_array(rows)?)?;
            let mut out = TimestampMillisecondBuilder::with_capacity(rows).with_timezone("UTC");
            for t in strs(&text)? {
                out.append_option(format.zip(t).and_then(|(f, t)| parse_date(f, t)));
            }
            return Ok(ColumnarValue::Array(Arc::new(out.finish())));
        }
        let arrays = args
            .args
            .iter()
            .map(|a| a.to_array(rows))
            .collect::<Result<Vec<_>>>()?;
        let out: ArrayRef = match (self.op, arrays.as_slice()) {
            (Op::DateParse, [format, text]) => {
                let mut out = TimestampMillisecondBuilder::with_capacity(rows).with_timezone("UTC");
                let (format, text) = (plain(format)?, plain(text)?);
                for (f, t) in strs(&format)?.into_iter().zip(strs(&text)?) {
                    out.append_option(f.zip(t).and_then(|(f, t)| parse_date(f, t)));
                }
                Arc::new(out.finish())
            }
            (Op::IpPrefix, [ip, v4, v6]) => {
                let (addrs, v4, v6) = (addrs(ip)?, ints(v4)?, ints(v6)?);
                let mut out = StringBuilder::new();
                for ((a, b4), b6) in addrs.iter().zip(&v4).zip(&v6) {
                    out.append_option(match (a, b4, b6) {
                        (Some(a), Some(b4), Some(b6)) => prefix(*a, *b4, *b6),
                        _ => None,
                    });
                }
                Arc::new(out.finish())
            }
            (Op::ToDatetime, [list]) if matches!(list.data_type(), DataType::List(_)) => {
                // Each list's values that convert, in order; none: NULL.
                let list = list.as_list::<i32>();
                let values = datafusion::arrow::array::TimestampMillisecondArray::from(datetimes(
                    list.values(),
                )?)
                .with_timezone("UTC");
                let (mut picked, mut ends) = (vec![], vec![0_i32]);
                for (i, range) in list.offsets().windows(2).enumerate() {
                    if list.is_valid(i) {
                        picked.extend(
                            (range[0]..range[1])
                                .filter(|&j| values.is_valid(j as usize))
                                .map(|j| j as u32),
                        );
                    }
                    ends.push(picked.len() as i32);
                }
                crate::common::gather_lists(&(Arc::new(values) as ArrayRef), picked, ends)?
            }
            (Op::ToDatetime, [text]) => {
                let mut out = TimestampMillisecondBuilder::with_capacity(rows).with_timezone("UTC");
                for ms in datetimes(text)? {
                    out.append_option(ms);
                }
                Arc::new(out.finish())
            }
            (Op::IpKey, [ip]) => {
                let keys = addrs(ip)?.into_iter().map(|a| a.map(ip_key));
                Arc::new(
                    datafusion::arrow::array::FixedSizeBinaryArray::try_from_sparse_iter_with_size(
                        keys, 16,
                    )?,
                )
            }
            _ => return exec_err!("{}: unexpected arguments", self.name()),
        };
        Ok(ColumnarValue::Array(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_dates_parse_as_elasticsearch_reads_them() {
        // Milliseconds worked by hand: 2024-01-01T00:00:00Z is 19723 days
        // of 86,400,000 ms after the epoch.
        let day = 86_400_000_i64;
        let jan1 = 19_723 * day;
        for (text, ms) in [
            ("2024", Some(jan1)),
            ("2024-01", Some(jan1)),
            ("2024-01-01", Some(jan1)),
            ("2024-01-01T10", Some(jan1 + 10 * 3_600_000)),
            (
                "2024-01-01T10:15",
                Some(jan1 + 10 * 3_600_000 + 15 * 60_000),
            ),
            ("2024-01-01T00:00:01.5Z", Some(jan1 + 1_500)),
            ("2024-01-01T00:00:01,25", Some(jan1 + 1_250)),
            ("2024-01-01T00:00:00.123456789Z", Some(jan1 + 123)),
            ("2024-01-01T01:00:00+01:00", Some(jan1)),
            ("2024-01-01T01:00:00+0100", Some(jan1)),
            ("2023-12-31T23:00:00-01", Some(jan1)),
            ("1964-06-02T00:00:00.000Z", Some(-2_039 * day)),
            // Elasticsearch's function reference: a space for T fails.
            ("1964-06-02 00:00:00", None),
            ("2024-1-5", None),
            ("2024-02-30", None),
            ("2024-01-01T24:00", None),
            ("2024-01-01T00:00:00.", None),
            ("24-01-01", None),
            ("", None),
            ("2024-01-01Z", None),
            // Signed years: 1970-01-01 is day 719,528 of the proleptic year
            // 0000, which is 2,191 days (six years, -0004 a leap one) after
            // -0006-01-01; 10000-01-01 is day 2,932,897 after the epoch.
            ("-0006-01-01", Some(-(719_528 + 2_191) * day)),
            ("+10000-01-01T00:00:00Z", Some(2_932_897 * day)),
            ("0000-01-01", Some(-719_528 * day)),
            ("-06-01-01", None),
            ("+-0006", None),
        ] {
            assert_eq!(parse_iso(text), ms, "{text}");
        }
    }

    #[test]
    fn dates_parse_with_or_without_a_time() {
        // 2022-05-06T00:00:00Z is 1651795200000 ms.
        assert_eq!(
            parse_date("%Y-%m-%d", "2022-05-06"),
            Some(1_651_795_200_000)
        );
        assert_eq!(
            parse_date("%Y-%m-%d %H:%M:%S", "2022-05-06 01:02:03"),
            Some(1_651_795_200_000 + 3_723_000)
        );
        assert_eq!(
            parse_date("%Y-%m-%dT%H:%M:%S%z", "2022-05-06T02:00:00+0200"),
            Some(1_651_795_200_000)
        );
        assert_eq!(parse_date("%Y-%m-%d", "2026-02-29 foo"), None);
        assert_eq!(parse_date("%Y-%m-%d", "2026-02-29"), None);
    }

    #[test]
    fn dictionary_encoded_ips_are_read() {
        use datafusion::arrow::array::DictionaryArray;
        use datafusion::arrow::datatypes::Int32Type;
        let ips: DictionaryArray<Int32Type> = vec![Some("10.0.0.2"), None, Some("10.0.0.2")]
            .into_iter()
            .collect();
        let keys = addrs(&(Arc::new(ips) as ArrayRef)).unwrap();
        assert_eq!(
            keys,
            vec![parse_addr("10.0.0.2"), None, parse_addr("10.0.0.2")]
        );
    }

    #[test]
    fn ip_keys_order_as_elasticsearch_orders_ips() {
        let key = |t: &str| ip_key(parse_addr(t).unwrap());
        // IPv4 sorts as IPv4-mapped IPv6: after ::1, and in numeric order.
        assert!(key("::1") < key("127.0.0.1"));
        assert!(key("9.0.0.1") < key("10.0.0.2"));
        assert!(key("10.0.0.2") < key("fe80::1"));
        assert_eq!(key("::ffff:10.0.0.2"), key("10.0.0.2"));
    }

    #[test]
    fn prefixes_zero_the_host_bits() {
        // Elasticsearch's example: 1.2.3.4 /24 -> 1.2.3.0; fe80::cae2:65ff:fece:feb9 /112.
        let v4 = parse_addr("1.2.3.4").unwrap();
        assert_eq!(prefix(v4, 24, 0).as_deref(), Some("1.2.3.0"));
        assert_eq!(prefix(v4, 0, 0).as_deref(), Some("0.0.0.0"));
        assert_eq!(prefix(v4, 32, 0).as_deref(), Some("1.2.3.4"));
        assert_eq!(prefix(v4, 33, 0), None);
        let v6 = parse_addr("fe80::cae2:65ff:fece:feb9").unwrap();
        assert_eq!(
            prefix(v6, 0, 112).as_deref(),
            Some("fe80::cae2:65ff:fece:0")
        );
        assert_eq!(prefix(v6, 0, 129), None);
        // IPv4-mapped IPv6 is IPv4, by the v4 length.
        let mapped = parse_addr("::ffff:10.1.2.3").unwrap();
        assert_eq!(prefix(mapped, 8, 0).as_deref(), Some("10.0.0.0"));
    }
}
