//! Parsing of the values users type: durations (`8h`), byte sizes (`1.5GiB`)
//! and instants (RFC 3339).
//!
//! Errors are plain strings describing the problem with the value; callers wrap
//! them with the flag or parameter name.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

/// Text read as Elasticsearch's `strict_date_optional_time`, in milliseconds
/// (re-exported here for `esql/`, which the fuzz target builds on its own).
pub use lakehunt_udfs::esql_parse::parse_iso;

/// A duration in nanoseconds from text like `8h`, `90m`, `1d12h`, `30s`, `2w`,
/// `500ms` or `8 hours`. Units are case-insensitive.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() {
        return Err("empty duration (examples: 8h, 30m, 1d, 1h30m)".into());
    }
    let bad = || format!("'{text}' is not a duration (examples: 8h, 30m, 1d, 1h30m)");
    let mut total: i64 = 0;
    let mut rest = compact.as_str();
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let number: i64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = rest[..unit_len].to_ascii_lowercase();
        rest = &rest[unit_len..];
        let nanos_per: i64 = match unit.as_str() {
            "ms" | "millisecond" | "milliseconds" => 1_000_000,
            "s" | "sec" | "second" | "seconds" => 1_000_000_000,
            "m" | "min" | "minute" | "minutes" => 60 * 1_000_000_000,
            "h" | "hour" | "hours" => 3_600 * 1_000_000_000,
            "d" | "day" | "days" => 86_400 * 1_000_000_000,
            "w" | "week" | "weeks" => 7 * 86_400 * 1_000_000_000,
            _ => return Err(bad()),
        };
        let part = number
            .checked_mul(nanos_per)
            .ok_or_else(|| format!("'{text}' is too long"))?;
        total = total
            .checked_add(part)
            .ok_or_else(|| format!("'{text}' is too long"))?;
    }
    if total <= 0 {
        return Err(format!("'{text}' must be longer than zero"));
    }
    Ok(total)
}

/// A byte count from text like `1073741824`, `1GiB`, `500MB`, `1.5GiB`, `64 KiB`.
///
/// Decimal units are powers of 1000 (`KB`, `MB`, `GB`, `TB`, `PB`), binary units
/// powers of 1024 (`KiB` ... `PiB`); units are case-insensitive and `B` is optional
/// after a unit letter. A fractional result is rounded up, since sums of whole bytes
/// reach `x` exactly when they reach `ceil(x)`.
pub fn parse_bytes(text: &str) -> Result<i64, String> {
    let bad = || format!("'{text}' is not a byte size (examples: 1073741824, 1GiB, 500MB, 1.5GiB)");
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    if number.is_empty() || number.starts_with('.') || number.ends_with('.') {
        return Err(bad());
    }
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "t" | "tb" => 1_000_000_000_000,
        "p" | "pb" => 1_000_000_000_000_000,
        "ki" | "kib" => 1 << 10,
        "mi" | "mib" => 1 << 20,
        "gi" | "gib" => 1 << 30,
        "ti" | "tib" => 1 << 40,
        "pi" | "pib" => 1 << 50,
        _ => return Err(bad()),
    };
    // Exact integer arithmetic: `1.5GiB` must be 1610612736, not a float's guess.
    let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
    if frac_part.contains('.') || frac_part.len() > 18 {
        return Err(bad());
    }
    let int: u128 = int_part.parse().map_err(|_| bad())?;
    let frac: u128 = if frac_part.is_empty() {
        0
    } else {
        frac_part.parse().map_err(|_| bad())?
    };
    let too_large = || format!("'{text}' is larger than the largest 64-bit count");
    let scale = 10u128.pow(frac_part.len() as u32);
    let value = int
        .checked_mul(scale)
        .and_then(|n| n.checked_add(frac))
        .and_then(|n| n.checked_mul(u128::from(multiplier)))
        .ok_or_else(too_large)?
        .div_ceil(scale);
    i64::try_from(value).map_err(|_| too_large())
}

/// An RFC 3339 instant (`2026-03-01T08:00:00Z`, `2026-03-01T09:00:00+01:00`), or a
/// date alone (`2026-03-01`, meaning its midnight UTC), as nanoseconds since the
/// Unix epoch.
pub fn parse_instant(text: &str) -> Result<i64, String> {
    let parsed = DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
                .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
        })
        .map_err(|_| {
            format!("'{text}' is not an RFC 3339 instant (example: 2026-03-01T08:00:00Z)")
        })?;
    parsed
        .timestamp_nanos_opt()
        .ok_or_else(|| format!("'{text}' is outside the years 1677 to 2262"))
}

/// Formats nanoseconds since the epoch as RFC 3339 UTC.
#[must_use]
pub fn format_instant(nanos: i64) -> String {
    DateTime::from_timestamp_nanos(nanos).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// Formats a duration in nanoseconds the way [`parse_duration`] reads it.
#[must_use]
pub fn format_duration(nanos: i64) -> String {
    const UNITS: [(&str, i64); 6] = [
        ("d", 86_400_000_000_000),
        ("h", 3_600_000_000_000),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("ns", 1),
    ];
    let mut out = String::new();
    let mut rest = nanos;
    for (unit, size) in UNITS {
        if rest >= size {
            // Writing to a String cannot fail.
            let _ = write!(out, "{}{unit}", rest / size);
            rest %= size;
        }
    }
    if out.is_empty() { "0s".into() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000_000_000;

    #[test]
    fn durations_in_every_unit_and_combined() {
        assert_eq!(parse_duration("8h"), Ok(8 * HOUR));
        assert_eq!(parse_duration("8 hours"), Ok(8 * HOUR));
        assert_eq!(parse_duration("1d"), Ok(24 * HOUR));
        assert_eq!(parse_duration("1h30m"), Ok(HOUR * 3 / 2));
        assert_eq!(parse_duration("90S"), Ok(90_000_000_000));
        assert_eq!(parse_duration("2w"), Ok(14 * 24 * HOUR));
        assert_eq!(parse_duration("250ms"), Ok(250_000_000));
    }

    #[test]
    fn bad_durations_are_rejected() {
        for bad in ["8x", "", "h", "8", "-8h", "0h", "8.5h", "99999999999w"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn byte_sizes_decimal_and_binary() {
        assert_eq!(parse_bytes("1073741824"), Ok(1_073_741_824));
        assert_eq!(parse_bytes("1GiB"), Ok(1 << 30));
        assert_eq!(parse_bytes("1gib"), Ok(1 << 30));
        assert_eq!(parse_bytes("500MB"), Ok(500_000_000));
        assert_eq!(parse_bytes("1.5GiB"), Ok(1_610_612_736));
        assert_eq!(parse_bytes("64 KiB"), Ok(65_536));
        assert_eq!(parse_bytes("0.5B"), Ok(1));
        assert_eq!(parse_bytes("0"), Ok(0));
    }

    #[test]
    fn bad_byte_sizes_are_rejected() {
        for bad in [
            "1XB",
            "",
            "GiB",
            "1.2.3GB",
            ".5GB",
            "5.GB",
            "-1",
            "9EiB",
            "100000PiB",
            "1000000000000000000000000PiB",
            "999999999999999999999.999999999999999999GiB",
            "340282366920938463463374607431768211456",
        ] {
            assert!(parse_bytes(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn instants_with_offsets_and_dates() {
        assert_eq!(parse_instant("1970-01-01T00:00:01Z"), Ok(1_000_000_000));
        assert_eq!(parse_instant("1970-01-01T01:00:00+01:00"), Ok(0));
        assert_eq!(parse_instant("1970-01-02"), Ok(24 * HOUR));
        assert!(parse_instant("yesterday").is_err());
        assert!(parse_instant("2026-13-01T00:00:00Z").is_err());
    }

    #[test]
    fn formatted_values_parse_back() {
        assert_eq!(format_duration(8 * HOUR), "8h");
        assert_eq!(
            parse_duration(&format_duration(HOUR * 3 / 2)),
            Ok(HOUR * 3 / 2)
        );
        assert_eq!(format_instant(0), "1970-01-01T00:00:00Z");
    }
}
