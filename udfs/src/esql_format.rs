//! `esql_fmt(kind, value[, unit])`: ES|QL's `FMT_BYTES`, `FMT_BYTES_SI`,
//! `FMT_DURATION` and `FMT_PERCENT`, text as Elasticsearch writes it.
//!
//! - `'bytes'`: a byte count in binary units (`b`, `kb`, `mb`, `gb`, `tb`,
//!   `pb`, 1024 apart), as Elasticsearch's `ByteSizeValue` prints it: the
//!   largest unit that keeps the value at least 1, one decimal at most,
//!   truncated, a trailing `.0` dropped (`1536` is `1.5kb`);
//! - `'bytes_si'`: the same in SI units (`B`, `KB`, ... 1000 apart);
//! - `'duration'`: nanoseconds as `TimeValue.toHumanReadableString(1)` prints
//!   them (`nanos`, `micros`, `ms`, `s`, `m`, `h`, `d`; `0` is `0s`);
//! - `'percent'`: a ratio times 100 with one decimal rounded half up, a
//!   trailing `.0` dropped, and `%` (`0.75` is `75%`).
//!
//! A `unit` (any case) pins the output to that unit instead. `-1` is
//! Elasticsearch's "unbounded" value and prints as `-1b`, `-1B` or `-1`
//! whatever the unit. Where Elasticsearch rejects the row (a value below `-1`,
//! an unknown unit) the result is NULL; the ES|QL translation counts those
//! rows as warnings. NULL in, NULL out.
//!
//! Decimals follow Java's `Double.toString` digits (the shortest that read
//! back as the same double), which Elasticsearch's formatting cuts, including
//! its `E` notation below 0.001 and from 10^7 (`FMT_BYTES(1, "mb")` is
//! `9.5E-7mb`).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::esql_text::java_double;

/// What is formatted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Bytes,
    BytesSi,
    Duration,
    Percent,
}

impl Kind {
    fn parse(name: &str) -> Option<Kind> {
        Some(match name {
            "bytes" => Kind::Bytes,
            "bytes_si" => Kind::BytesSi,
            "duration" => Kind::Duration,
            "percent" => Kind::Percent,
            _ => return None,
        })
    }

    /// Its units, smallest first: (name as written out, size in the base).
    fn units(self) -> &'static [(&'static str, u64)] {
        match self {
            Kind::Bytes => &[
                ("b", 1),
                ("kb", 1 << 10),
                ("mb", 1 << 20),
                ("gb", 1 << 30),
                ("tb", 1 << 40),
                ("pb", 1 << 50),
            ],
            Kind::BytesSi => &[
                ("B", 1),
                ("KB", 1_000),
                ("MB", 1_000_000),
                ("GB", 1_000_000_000),
                ("TB", 1_000_000_000_000),
                ("PB", 1_000_000_000_000_000),
            ],
            Kind::Duration => &[
                ("nanos", 1),
                ("micros", 1_000),
                ("ms", 1_000_000),
                ("s", 1_000_000_000),
                ("m", 60_000_000_000),
                ("h", 3_600_000_000_000),
                ("d", 86_400_000_000_000),
            ],
            Kind::Percent => &[],
        }
    }

    /// The unit `name` means (compared lower-cased, as Java's
    /// `toLowerCase(Locale.ROOT)`).
    fn unit(self, name: &str) -> Option<(&'static str, u64)> {
        let lower = name.to_lowercase();
        self.units()
            .iter()
            .copied()
            .find(|(unit, _)| unit.eq_ignore_ascii_case(&lower))
    }
}

/// Elasticsearch's `Strings.format1Decimals`: `value`'s Java text cut to one
/// decimal, without a `.0`, then `suffix`.
fn format1_decimals(value: f64, suffix: &str) -> String {
    let p = java_double(value);
    let Some(dot) = p.find('.') else {
        return p + suffix;
    };
    let exponent = p.find('E').map_or("", |e| &p[e..]);
    let fraction = p.as_bytes().get(dot + 1).copied().unwrap_or(b'0');
    if fraction == b'0' {
        format!("{}{exponent}{suffix}", &p[..dot])
    } else {
        format!("{}.{}{exponent}{suffix}", &p[..dot], fraction as char)
    }
}

/// `bytes` (or nanoseconds) auto-scaled, or pinned to the unit `pinned`
/// (see [`Kind::unit`]); `None` where Elasticsearch rejects the row.
fn format_scaled(kind: Kind, value: i64, pinned: Option<(&'static str, u64)>) -> Option<String> {
    if value < -1 {
        return None;
    }
    let units = kind.units();
    if value == -1 {
        return Some(match kind {
            Kind::Duration => "-1".into(),
            _ => format1_decimals(-1.0, units[0].0),
        });
    }
    #[expect(
        clippy::cast_precision_loss,
        reason = "as Elasticsearch, which divides the count as a double"
    )]
    let as_double = |v: i64| v as f64;
    #[expect(
        clippy::cast_precision_loss,
        reason = "unit sizes are powers of 2 or of 10 below 2^53"
    )]
    let size = |s: u64| s as f64;
    if let Some((name, scale)) = pinned {
        return Some(format1_decimals(as_double(value) / size(scale), name));
    }
    if kind == Kind::Duration && value == 0 {
        return Some("0s".into());
    }
    let value_u = value.unsigned_abs();
    let (name, scale) = units
        .iter()
        .rev()
        .find(|(_, scale)| value_u >= *scale)
        .copied()
        .unwrap_or(units[0]);
    // A duration is `TimeValue.formatDecimal(scaled, 1)`, the same text as
    // `format1Decimals` for the values it gets here (1 up to 10^7, never in
    // `E` notation).
    Some(format1_decimals(as_double(value) / size(scale), name))
}

/// `String.format("%.1f", pct)` as Java writes it: the shortest digits of
/// `pct`, rounded half up to one decimal; then without a `.0`, and `%`.
fn format_percent(pct: f64) -> String {
    if !pct.is_finite() {
        return java_double(pct) + "%";
    }
    // Digits and the power of ten of the first, from the shortest form.
    let sci = format!("{:e}", pct.abs());
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i64 = exponent.parse().unwrap_or(0);
    let mut digits: Vec<u8> = mantissa
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect();
    // Keep the digits down to 10^-1: digit i is 10^(exponent - i).
    let keep = exponent + 2; // digits 0..keep are 10^exponent .. 10^-1
    let mut int_digits: Vec<u8>;
    if keep <= 0 {
        // Below 0.05 or from it: only the rounding digit can matter.
        let round_up = keep == 0 && digits.first().is_some_and(|&d| d >= 5);
        int_digits = vec![0, u8::from(round_up)];
    } else {
        let keep = usize::try_from(keep).unwrap_or(usize::MAX);
        let round_up = digits.get(keep).is_some_and(|&d| d >= 5);
        digits.resize(keep, 0);
        if round_up {
            let mut i = digits.len();
            loop {
                if i == 0 {
                    digits.insert(0, 1);
                    break;
                }
                i -= 1;
                if digits[i] == 9 {
                    digits[i] = 0;
                } else {
                    digits[i] += 1;
                    break;
                }
            }
        }
        int_digits = digits;
        if int_digits.len() == 1 {
            int_digits.insert(0, 0);
        }
    }
    let (int, tenth) = int_digits.split_at(int_digits.len() - 1);
    let mut text: String = int.iter().map(|d| char::from(b'0' + d)).collect();
    let text_trimmed = text.trim_start_matches('0');
    text = if text_trimmed.is_empty() {
        "0".into()
    } else {
        text_trimmed.into()
    };
    let sign = if pct.is_sign_negative() { "-" } else { "" };
    if tenth[0] == 0 {
        format!("{sign}{text}%")
    } else {
        format!("{sign}{text}.{}%", tenth[0])
    }
}

/// See the module's docs.
#[derive(Debug, PartialEq, Eq, Hash)]
struct EsqlFmt {
    signature: Signature,
}

impl ScalarUDFImpl for EsqlFmt {
    fn name(&self) -> &'static str {
        "esql_fmt"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        let numeric = arg_types
            .get(1)
            .is_some_and(|t| t.is_numeric() || t.is_null());
        let unit = arg_types.get(2).is_none_or(|t| {
            t.is_null() || matches!(t, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8)
        });
        if (2..=3).contains(&arg_types.len()) && numeric && unit {
            Ok(DataType::Utf8)
        } else {
            plan_err!("esql_fmt takes a kind, a number and an optional unit, got {arg_types:?}")
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let kind = match &args.args[0] {
            ColumnarValue::Scalar(ScalarValue::Utf8(Some(k))) => Kind::parse(k),
            _ => None,
        };
        let Some(kind) = kind else {
            return exec_err!("esql_fmt: the kind is 'bytes', 'bytes_si', 'duration' or 'percent'");
        };
        let rows = args.number_rows;
        let scalar = args.args[1..]
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let value = args.args[1].to_array(rows)?;
        let unit = match args.args.get(2) {
            Some(u) => Some(cast(&u.to_array(rows)?, &DataType::Utf8)?),
            None => None,
        };
        let unit = unit.as_ref().map(AsArray::as_string::<i32>);
        let out: StringArray = if kind == Kind::Percent {
            let value = cast(&value, &DataType::Float64)?;
            let value = value.as_primitive::<Float64Type>();
            (0..value.len())
                .map(|i| (!value.is_null(i)).then(|| format_percent(value.value(i) * 100.0)))
                .collect()
        } else {
            let value = cast(&value, &DataType::Int64)?;
            let value = value.as_primitive::<Int64Type>();
            // The unit named last and what it means: a constant unit is
            // looked up once a batch, not once a row.
            let mut last: Option<(&str, Option<(&'static str, u64)>)> = None;
            (0..value.len())
                .map(|i| {
                    if value.is_null(i) || unit.is_some_and(|u| u.is_null(i)) {
                        return None;
                    }
                    let pinned = match unit.map(|u| u.value(i)) {
                        None => None,
                        Some(name) => match last {
                            Some((seen, meant)) if seen == name => Some(meant?),
                            _ => {
                                let meant = kind.unit(name);
                                last = Some((name, meant));
                                Some(meant?)
                            }
                        },
                    };
                    format_scaled(kind, value.value(i), pinned)
                })
                .collect()
        };
        let out = Arc::new(out) as ArrayRef;
        Ok(if scalar {
            ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?)
        } else {
            ColumnarValue::Array(out)
        })
    }
}

/// `esql_fmt` (see the module).
#[must_use]
pub fn esql_fmt_udf() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::new_from_impl(EsqlFmt {
        signature: Signature::variadic_any(Volatility::Immutable),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `value` formatted as the function formats a row with `unit`.
    fn scaled(kind: Kind, value: i64, unit: Option<&str>) -> Option<String> {
        let pinned = match unit {
            Some(name) => Some(kind.unit(name)?),
            None => None,
        };
        format_scaled(kind, value, pinned)
    }

    #[test]
    fn byte_counts_as_elasticsearch_writes_them() {
        let f = |v: i64, unit: Option<&str>| scaled(Kind::Bytes, v, unit);
        // format.csv-spec.
        assert_eq!(f(1536, None).as_deref(), Some("1.5kb"));
        assert_eq!(f(1_610_612_736, Some("mb")).as_deref(), Some("1536mb"));
        assert_eq!(f(2048, Some("KB")).as_deref(), Some("2kb"));
        assert_eq!(f(-1, Some("kb")).as_deref(), Some("-1b"));
        assert_eq!(f(-2, None), None);
        assert_eq!(f(1536, Some("eb")), None);
        // Worked by hand: 1023 stays bytes; 1024 is 1kb; the decimal is cut,
        // not rounded (1_048_575 / 1024 = 1023.999..., so 1023.9kb); a
        // fraction below 10^-3 is in E notation (1 / 2^20 = 9.5367...E-7).
        assert_eq!(f(0, None).as_deref(), Some("0b"));
        assert_eq!(f(1023, None).as_deref(), Some("1023b"));
        assert_eq!(f(1024, None).as_deref(), Some("1kb"));
        assert_eq!(f(1_048_575, None).as_deref(), Some("1023.9kb"));
        assert_eq!(f(1, Some("mb")).as_deref(), Some("9.5E-7mb"));
        assert_eq!(f(5 << 50, None).as_deref(), Some("5pb"));
        assert_eq!(f(i64::MAX, None).as_deref(), Some("8192pb"));
        let si = |v: i64, unit: Option<&str>| scaled(Kind::BytesSi, v, unit);
        assert_eq!(si(1500, None).as_deref(), Some("1.5KB"));
        assert_eq!(si(1_500_000_000, Some("MB")).as_deref(), Some("1500MB"));
        assert_eq!(si(-1, Some("KB")).as_deref(), Some("-1B"));
        assert_eq!(si(-2, None), None);
        assert_eq!(si(999, None).as_deref(), Some("999B"));
        assert_eq!(si(1_999_999, None).as_deref(), Some("1.9MB"));
    }

    #[test]
    fn durations_as_elasticsearch_writes_them() {
        let f = |v: i64, unit: Option<&str>| scaled(Kind::Duration, v, unit);
        assert_eq!(f(1_500_000_000, None).as_deref(), Some("1.5s"));
        assert_eq!(f(1_500_000_000, Some("ms")).as_deref(), Some("1500ms"));
        assert_eq!(f(-1, Some("s")).as_deref(), Some("-1"));
        assert_eq!(f(-2, None), None);
        assert_eq!(f(0, None).as_deref(), Some("0s"));
        assert_eq!(f(0, Some("ms")).as_deref(), Some("0ms"));
        assert_eq!(f(999, None).as_deref(), Some("999nanos"));
        assert_eq!(f(90_000_000_000, None).as_deref(), Some("1.5m"));
        assert_eq!(f(5_400_000_000_000, None).as_deref(), Some("1.5h"));
        assert_eq!(f(86_400_000_000_000 * 3, None).as_deref(), Some("3d"));
        assert_eq!(f(1_999, None).as_deref(), Some("1.9micros"));
        assert_eq!(f(1, Some("x")), None);
        assert_eq!(f(60_000_000_000, Some("M")).as_deref(), Some("1m"));
    }

    #[test]
    fn percents_round_half_up_on_the_shortest_digits() {
        for (ratio, text) in [
            (0.75, "75%"),
            (0.5, "50%"),
            (0.123, "12.3%"),
            (0.1234, "12.3%"),
            // 0.00125 * 100 = 0.125 (shortest digits), half up: 0.1.
            (0.001_25, "0.1%"),
            (0.0005, "0.1%"),
            (0.0004, "0%"),
            (1.0, "100%"),
            (12.3456, "1234.6%"),
            (0.999_99, "100%"),
            (0.0, "0%"),
            (-0.25, "-25%"),
            (-0.0004, "-0%"),
        ] {
            assert_eq!(format_percent(ratio * 100.0), text, "{ratio}");
        }
        // Half up on the shortest digits, as Java's Formatter: 0.15 and 0.25
        // are 0.1499... and exactly 0.25 in binary, which rounding the binary
        // value half to even would make 0.1 and 0.2.
        assert_eq!(format_percent(0.15), "0.2%");
        assert_eq!(format_percent(0.25), "0.3%");
        assert_eq!(format_percent(0.35), "0.4%");
        assert_eq!(format_percent(f64::NAN), "NaN%");
        assert_eq!(format_percent(f64::INFINITY), "Infinity%");
    }
}
