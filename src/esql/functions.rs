//! ES|QL function calls and aggregates -> SQL.

use std::fmt::Write as _;

use super::ast::Expr;
use super::expr::Sql;
use super::patterns::{java_date_pattern, java_date_pattern_at};
use super::{Result, check_arity, date_span, error, item_type, quote, string_literal};

impl Sql<'_> {
    /// `ROUND_TO(v, p1, p2, ...)`: the largest point not above `v`; below
    /// every point, the smallest; in the arguments' common type.
    fn round_to(&self, args: &[Expr], pos: usize) -> Result<String> {
        let (v0, v) = (self.text(&args[0], true)?, self.text_again(&args[0])?);
        let to = match self.infer(&Expr::Call("round_to".into(), args.to_vec(), pos)) {
            Some(arrow::datatypes::DataType::Float64) => "DOUBLE",
            Some(arrow::datatypes::DataType::Int64) => "BIGINT",
            Some(arrow::datatypes::DataType::Int32) => "INT",
            _ => "",
        };
        let mut points = vec![];
        for p in &args[1..] {
            let p = self.text(p, true)?;
            points.push(if to.is_empty() {
                p
            } else {
                format!("CAST({p} AS {to})")
            });
        }
        let below: Vec<String> = points
            .iter()
            .map(|p| format!("CASE WHEN {p} <= {v} THEN {p} END"))
            .collect();
        let v0 = if to.is_empty() {
            v0
        } else {
            format!("CAST({v0} AS {to})")
        };
        Ok(format!(
            "CASE WHEN {v0} IS NULL THEN NULL ELSE coalesce(greatest({}), least({})) END",
            below.join(", "),
            points.join(", ")
        ))
    }

    /// `ROUND(v, d)` of a whole number: exact, in a decimal, and NULL with a
    /// warning where the result leaves `v`'s type (`ROUND(2^64 - 1, -19)`
    /// would be 2 * 10^19: Elasticsearch's `unsigned_long overflow`). Any
    /// `d` of a long is taken (DataFusion's `round` casts it to an integer):
    /// a positive one keeps `v`, one of -25 or less rounds to 0 as -25 does.
    /// `None` where `v` is no whole number.
    pub(super) fn round_whole(&self, v: &Expr, d: &Expr) -> Result<Option<String>> {
        use arrow::datatypes::DataType as T;
        let (arrow, min, max) = match self.infer(v) {
            Some(T::UInt64) => ("UInt64", "0".to_string(), u64::MAX.to_string()),
            Some(T::Int64) => ("Int64", i64::MIN.to_string(), i64::MAX.to_string()),
            Some(T::Int32) => ("Int32", i32::MIN.to_string(), i32::MAX.to_string()),
            _ => return Ok(None),
        };
        let (v0, v) = (self.text(v, true)?, self.text_again(v)?);
        let d0 = self.text(d, true)?;
        let d = self.text_again(d)?;
        // A NULL number of digits stays NULL (LEAST and GREATEST skip it).
        let places = |v: &str, d: &str| {
            format!(
                "round(CAST({v} AS DECIMAL(38, 0)), CAST(CASE WHEN CAST({d} AS BIGINT) > 0 THEN 0 \
                 WHEN CAST({d} AS BIGINT) < -25 THEN -25 ELSE CAST({d} AS BIGINT) END AS INT))"
            )
        };
        let (r0, r) = (places(&v0, &d0), places(&v, &d));
        Ok(Some(format!(
            "arrow_cast(esql_null_if({r0}, {r} < {min} OR {r} > {max}), '{arrow}')"
        )))
    }

    /// `TO_UNSIGNED_LONG(v)`: 0 to 2^64 - 1; decimals and text truncated
    /// toward zero; true is 1; a time its milliseconds; a value outside the
    /// range NULL with a warning.
    fn to_unsigned_long(&self, arg: &Expr) -> Result<String> {
        use arrow::datatypes::DataType as T;
        let (v0, v) = (self.text(arg, true)?, self.text_again(arg)?);
        let u64 = |x: &str| format!("arrow_cast({x}, 'UInt64')");
        let ms = |v: &str| {
            format!("CAST(arrow_cast({v}, 'Timestamp(Millisecond, Some(\"UTC\"))') AS BIGINT)")
        };
        Ok(match self.infer(arg) {
            Some(T::Boolean) => u64(&format!("CASE WHEN {v0} THEN 1 WHEN NOT {v} THEN 0 END")),
            Some(t) if t.is_integer() => {
                format!(
                    "esql_null_if({}, {v} < 0)",
                    u64(&format!("greatest({v0}, 0)"))
                )
            }
            Some(T::Timestamp(..)) => format!(
                "esql_null_if({}, {} < 0)",
                u64(&format!("greatest({}, 0)", ms(&v0))),
                ms(&v)
            ),
            Some(t) if t.is_floating() => {
                // Truncated toward zero (a cast to a decimal would round).
                let inside = format!("({v} >= 0 AND {v} < 18446744073709551616.0)");
                format!(
                    "esql_null_if({}, NOT {inside})",
                    u64(&format!("CASE WHEN {inside} THEN trunc({v0}) END"))
                )
            }
            _ => {
                // Text: the whole part of a plain number exactly (a cast to a
                // decimal would round), else as a double, truncated. (A value
                // of a type not inferred is read as its text.)
                let (v0, v) = (
                    format!("CAST({v0} AS VARCHAR)"),
                    format!("CAST({v} AS VARCHAR)"),
                );
                let d = |first: &str| {
                    format!(
                        "coalesce(try_cast(CASE WHEN strpos(lower({first}), 'e') = 0 \
                         THEN split_part(trim({v}), '.', 1) END AS DECIMAL(38, 0)), \
                         try_cast(trunc(try_cast({v} AS DOUBLE)) AS DECIMAL(38, 0)))"
                    )
                };
                let inside = format!("({} >= 0 AND {} <= 18446744073709551615)", d(&v0), d(&v));
                let d = d(&v);
                format!(
                    "esql_null_if({}, NOT {inside})",
                    u64(&format!("CASE WHEN {inside} THEN {d} END"))
                )
            }
        })
    }
}

/// A constant number, folded as Elasticsearch folds constants before it
/// checks an argument that must be one (`PERCENTILE(x, 25 * 2)`).
#[derive(Clone, Copy)]
enum Constant {
    Whole(i64),
    Double(f64),
}

impl Constant {
    fn of(e: &Expr) -> Option<Constant> {
        use Constant::{Double, Whole};
        Some(match e {
            Expr::Int(n) => Whole(*n),
            Expr::Float(x) => Double(*x),
            Expr::Neg(inner) => match Constant::of(inner)? {
                Whole(n) => Whole(n.checked_neg()?),
                Double(x) => Double(-x),
            },
            Expr::Binary(left, op, right) => {
                Constant::arithmetic(Constant::of(left)?, op, Constant::of(right)?)?
            }
            // `concat("2", "0")::int`, `TO_DOUBLE(1)`.
            Expr::Call(name, args, _) => match (name.as_str(), args.as_slice()) {
                ("to_integer" | "to_int" | "to_long", [arg]) => match Constant::of(arg) {
                    Some(Whole(n)) => Whole(n),
                    Some(Double(_)) => return None,
                    None => Whole(super::parser::constant_text(arg)?.trim().parse().ok()?),
                },
                ("to_double" | "to_dbl", [arg]) => match Constant::of(arg) {
                    Some(c) => Double(c.value()),
                    None => Double(super::parser::constant_text(arg)?.trim().parse().ok()?),
                },
                _ => return None,
            },
            _ => return None,
        })
    }

    /// `left op right`: whole numbers in integer arithmetic, nothing past
    /// the range or divided by zero (NULL in ES|QL, not a constant here).
    fn arithmetic(left: Constant, op: &str, right: Constant) -> Option<Constant> {
        if let (Constant::Whole(a), Constant::Whole(b)) = (left, right) {
            return Some(Constant::Whole(match op {
                "+" => a.checked_add(b)?,
                "-" => a.checked_sub(b)?,
                "*" => a.checked_mul(b)?,
                "/" => a.checked_div(b)?,
                "%" => a.checked_rem(b)?,
                _ => return None,
            }));
        }
        let (a, b) = (left.value(), right.value());
        let x = match op {
            "+" => a + b,
            "-" => a - b,
            "*" => a * b,
            "/" if b != 0.0 => a / b,
            _ => return None,
        };
        x.is_finite().then_some(Constant::Double(x))
    }

    fn value(self) -> f64 {
        match self {
            Constant::Whole(n) => n as f64,
            Constant::Double(x) => x,
        }
    }
}

/// A constant number (`-1.5`, `25 * 2`).
fn number(e: &Expr) -> Option<f64> {
    Constant::of(e).map(Constant::value)
}

/// A constant whole number (`20`, `concat("2", "0")::int`).
fn whole_number(e: &Expr) -> Option<i64> {
    match Constant::of(e)? {
        Constant::Whole(n) => Some(n),
        Constant::Double(_) => None,
    }
}

/// The SQL type a conversion function converts each value of a list to.
pub(super) fn list_conversion(name: &str) -> Option<&'static str> {
    Some(match name {
        "to_string" | "to_str" | "to_text" | "to_version" | "to_ver" => "VARCHAR",
        "to_double" => "DOUBLE",
        "to_long" => "BIGINT",
        "to_integer" | "to_int" => "INT",
        "to_unsigned_long" | "to_ulong" | "to_ul" => "BIGINT UNSIGNED",
        _ => return None,
    })
}

/// The value a `CASE(cond, value)` gives (an aggregate's `WHERE` reads its
/// argument so), else `e` itself.
fn case_value(e: &Expr) -> &Expr {
    match e {
        Expr::Call(f, args, _) if f == "case" && args.len() == 2 => &args[1],
        _ => e,
    }
}

impl Sql<'_> {
    /// A constant instant in milliseconds: text (strict_date_optional_time),
    /// NOW(), TO_DATETIME of text, or one of those plus or minus a fixed span.
    fn instant_ms(&self, e: &Expr) -> Option<i64> {
        match e {
            Expr::Str(text) => crate::params::parse_iso(text),
            // CONCAT, TO_LOWER, TO_UPPER of constant text (bucket.csv-spec
            // bucketYearInAggConstRefsConcat).
            Expr::Call(name, _, _)
                if matches!(name.as_str(), "concat" | "to_lower" | "to_upper") =>
            {
                crate::params::parse_iso(&super::parser::constant_text(e)?)
            }
            Expr::Now => Some(self.now.div_euclid(1_000_000)),
            Expr::Call(name, args, _) if matches!(name.as_str(), "to_datetime" | "to_dt") => {
                self.instant_ms(args.first()?)
            }
            Expr::Binary(l, op @ ("+" | "-"), r) => {
                let Expr::Span(ns) = **r else {
                    return None;
                };
                let ms = ns / 1_000_000;
                let t = self.instant_ms(l)?;
                if *op == "+" {
                    t.checked_add(ms)
                } else {
                    t.checked_sub(ms)
                }
            }
            _ => None,
        }
    }

    /// A list a conversion converts: a stored list's values as
    /// Elasticsearch returns them (sorted; keywords each once); a computed
    /// list (SPLIT, MV_SORT) in its own order.
    fn listed_values(&self, list: &Expr) -> Result<String> {
        if matches!(list, Expr::Field(f) if !self.computed.contains(f)) {
            self.sorted_values(list)
        } else {
            self.text(list, false)
        }
    }

    /// `converted`, a conversion of `arg`, counting the values it could not
    /// convert as ES|QL warns of them. `arg` is read a second time, so only
    /// where that cannot count a warning twice (a field, a literal); of any
    /// other argument the failures are NULL without a warning.
    fn conversion_warned(&self, converted: String, arg: &Expr) -> Result<String> {
        self.warned_against(converted, arg, false)
    }

    /// [`Sql::conversion_warned`] of a conversion of `arg`'s listed values
    /// ([`Sql::listed_values`]: a stored keyword list's each once), counted
    /// against those, so that a repeated value is no failure.
    fn conversion_of_listed_warned(&self, converted: String, arg: &Expr) -> Result<String> {
        self.warned_against(converted, arg, true)
    }

    fn warned_against(&self, converted: String, arg: &Expr, listed: bool) -> Result<String> {
        fn plain(e: &Expr) -> bool {
            match e {
                Expr::Field(_)
                | Expr::Str(_)
                | Expr::Int(_)
                | Expr::Float(_)
                | Expr::Bool(_)
                | Expr::Null => true,
                Expr::Neg(inner) => plain(inner),
                Expr::List(items, _) => items.iter().all(plain),
                _ => false,
            }
        }
        if !plain(arg) {
            return Ok(converted);
        }
        let original = if self.is_list(arg) && listed {
            self.listed_values(arg)?
        } else if self.is_list(arg) {
            self.text(arg, false)?
        } else {
            self.text_again(arg)?
        };
        Ok(format!("esql_converted({converted}, {original})"))
    }

    /// Functions whose ES|QL meaning needs more than a same-named SQL call;
    /// `false` when `name` is not one of them.
    #[expect(
        clippy::too_many_lines,
        reason = "one match arm per ES|QL function with its own semantics, each short"
    )]
    pub(super) fn special_call(
        &self,
        name: &str,
        args: &[Expr],
        pos: usize,
        out: &mut String,
    ) -> Result<bool> {
        use arrow::datatypes::DataType as T;
        let arity =
            |range: std::ops::RangeInclusive<usize>| check_arity(name, &range, args.len(), pos);
        let integer = |e: &Expr| self.infer(e).is_some_and(|t| t.is_integer());
        let timestamp = |e: &Expr| matches!(self.infer(e), Some(T::Timestamp(..)));
        // A conversion of a multi-valued field converts each value: values
        // that do not convert are dropped, and none left is NULL.
        if let Some(to) = list_conversion(name)
            && args.len() == 1
            && self.is_list(&args[0])
        {
            let item = item_type(self.infer(&args[0]).unwrap_or(T::Null));
            if item.is_floating() && matches!(to, "BIGINT" | "INT" | "BIGINT UNSIGNED") {
                return Err(error(
                    pos,
                    format!(
                        "{} of a multi-valued decimal field is not supported yet",
                        name.to_ascii_uppercase()
                    ),
                ));
            }
            // Dates convert to numbers as their milliseconds since the
            // epoch, as one date does (ints.csv-spec convertDatetimeToInt).
            let dates = matches!(item, T::Timestamp(..));
            if dates && to == "VARCHAR" {
                // Each date as TO_STRING writes one.
                let _ = write!(
                    out,
                    "esql_to_char({}, '%Y-%m-%dT%H:%M:%S%.3fZ')",
                    self.listed_values(&args[0])?
                );
                return Ok(true);
            }
            let mut v = self.listed_values(&args[0])?;
            if dates {
                v = format!(
                    "CAST(arrow_cast({v}, 'List(Timestamp(Millisecond, Some(\"UTC\")))') AS BIGINT[])"
                );
            }
            let converted = format!(
                "CASE WHEN cardinality(array_compact(TRY_CAST({v} AS {to}[]))) > 0 \
                 THEN array_compact(TRY_CAST({v} AS {to}[])) END"
            );
            out.push_str(&self.conversion_of_listed_warned(converted, &args[0])?);
            return Ok(true);
        }
        // TO_DEGREES and TO_RADIANS are conversions in Elasticsearch: each
        // value of a list is converted (floats.csv-spec toDegrees), by the
        // factor Java's Math.toDegrees and Math.toRadians multiply by.
        if matches!(name, "to_degrees" | "to_radians") && args.len() == 1 && self.is_list(&args[0])
        {
            let factor = if name == "to_degrees" {
                "(180.0 / pi())"
            } else {
                "(pi() / 180.0)"
            };
            let v = self.text(&args[0], false)?;
            write!(out, "array_scale(CAST({v} AS DOUBLE[]), {factor})")
                .map_err(|e| error(pos, e.to_string()))?;
            return Ok(true);
        }
        // ABS of an unsigned_long is the value itself, each value of a list
        // included (math.csv-spec absUnsignedLong).
        if name == "abs"
            && args.len() == 1
            && self
                .infer(&args[0])
                .is_some_and(|t| item_type(t) == T::UInt64)
        {
            out.push_str(&self.text(&args[0], false)?);
            return Ok(true);
        }
        let sql = match name {
            "match" => self.full_text_match(args, pos)?,
            "replace" => {
                arity(3..=3)?;
                // Java's replacement rules ($1, ${name}, \ escapes): esql_replace.
                format!(
                    "esql_replace({}, {}, {})",
                    self.text(&args[0], true)?,
                    self.text(&args[1], true)?,
                    self.text(&args[2], true)?
                )
            }
            "substring" => {
                arity(2..=3)?;
                // From 1; a negative start counts from the end; 0 is 1.
                let s = self.text(&args[0], true)?;
                let start = self.text(&args[1], true)?;
                let from = format!(
                    "CASE WHEN {start} > 0 THEN {start} \
                     WHEN {start} < 0 THEN greatest(character_length({s}) + {start} + 1, 1) \
                     ELSE 1 END"
                );
                match args.get(2) {
                    Some(len) => format!(
                        "substr({s}, {from}, greatest({}, 0))",
                        self.text(len, true)?
                    ),
                    None => format!("substr({s}, {from})"),
                }
            }
            "to_double" => {
                arity(1..=1)?;
                let v = self.text(&args[0], true)?;
                if timestamp(&args[0]) {
                    // A time is its milliseconds since the epoch.
                    format!(
                        "CAST(CAST(arrow_cast({v}, 'Timestamp(Millisecond, Some(\"UTC\"))') \
                         AS BIGINT) AS DOUBLE)"
                    )
                } else {
                    self.conversion_warned(format!("try_cast({v} AS DOUBLE)"), &args[0])?
                }
            }
            "to_integer" | "to_int" | "to_long" => {
                arity(1..=1)?;
                let to = if name == "to_long" { "BIGINT" } else { "INT" };
                let v = self.text(&args[0], true)?;
                // The range is checked before rounding, as Elasticsearch's
                // safeToInt/safeToLong do: 2147483647.2 is out of range.
                let (low, high) = if name == "to_long" {
                    ("-9223372036854775808.0", "9223372036854775807.0")
                } else {
                    ("-2147483648.0", "2147483647.0")
                };
                let d = format!("try_cast({v} AS DOUBLE)");
                let rounded = format!(
                    "try_cast(CASE WHEN {d} >= {low} AND {d} <= {high} THEN floor({d} + 0.5) END AS {to})"
                );
                let converted = if integer(&args[0]) {
                    format!("try_cast({v} AS {to})")
                } else if timestamp(&args[0]) {
                    // A time is its milliseconds since the epoch.
                    format!(
                        "try_cast(CAST(arrow_cast({v}, 'Timestamp(Millisecond, Some(\"UTC\"))') \
                         AS BIGINT) AS {to})"
                    )
                } else if self.infer(&args[0]).is_some_and(|t| t.is_floating()) {
                    // Rounded half up (Java's Math.round); out of range is NULL.
                    rounded
                } else {
                    // Text is read as a whole number first, exact to the last
                    // digit; else as a double, rounded.
                    format!("coalesce(try_cast({v} AS {to}), {rounded})")
                };
                self.conversion_warned(converted, &args[0])?
            }
            "to_string" | "to_str" => {
                arity(1..=1)?;
                let v = self.text(&args[0], true)?;
                if timestamp(&args[0]) {
                    format!("esql_to_char({v}, '%Y-%m-%dT%H:%M:%S%.3fZ')")
                } else if self.infer(&args[0]).is_some_and(|t| t.is_floating()) {
                    // Java's spelling of a double: 1.0E20, not 1e20.
                    format!("java_double_string({v})")
                } else if matches!(&args[0], Expr::Field(f) if self.stored_ip(f)) {
                    // An address as Elasticsearch writes an ip (esql_ip_text).
                    format!("esql_ip_text({v})")
                } else {
                    format!("CAST({v} AS VARCHAR)")
                }
            }
            "to_datetime" | "to_dt" if args.first().is_some_and(|a| self.is_list(a)) => {
                arity(1..=1)?;
                // Each value: text as strict_date_optional_time, numbers as
                // milliseconds.
                let v = self.text(&args[0], false)?;
                self.conversion_warned(format!("esql_to_datetime({v})"), &args[0])?
            }
            "to_datetime" | "to_dt" => {
                arity(1..=1)?;
                let v = self.text(&args[0], true)?;
                if timestamp(&args[0]) {
                    v
                } else if integer(&args[0]) {
                    // Whole numbers are milliseconds since the epoch.
                    // Read as UTC milliseconds directly: to_timestamp_millis
                    // gives a time without a zone, which a cast to UTC reads as
                    // local time and fails past chrono's years.
                    format!(
                        "arrow_cast(arrow_cast(CAST({v} AS BIGINT), \
                         'Timestamp(Millisecond, Some(\"UTC\"))'), '{}')",
                        self.time_type
                    )
                } else {
                    // Text as Elasticsearch's strict_date_optional_time;
                    // a decimal is milliseconds (esql_to_datetime reads both).
                    self.conversion_warned(
                        format!("arrow_cast(esql_to_datetime({v}), '{}')", self.time_type),
                        &args[0],
                    )?
                }
            }
            "to_ip" => {
                arity(1..=2)?;
                let list = self.is_list(&args[0]);
                let mut v = if list {
                    self.listed_values(&args[0])?
                } else {
                    self.text(&args[0], true)?
                };
                let mut zeros = "reject".to_string();
                // {"leading_zeros": "reject" (the default), "decimal" or
                // "octal"}: how a dotted IPv4 part with leading zeros reads
                // (ip.csv-spec convertFromStringLeadingZerosOctal).
                if let Some(options) = args.get(1) {
                    let Expr::Options(options, at) = options else {
                        return Err(error(
                            pos,
                            "TO_IP's second argument is { \"leading_zeros\": ... }",
                        ));
                    };
                    if options.len() > 1 {
                        return Err(error(*at, "TO_IP takes one option, leading_zeros"));
                    }
                    for (key, value) in options {
                        let mode = match value {
                            Expr::Str(mode) if key == "leading_zeros" => mode.to_ascii_lowercase(),
                            _ => {
                                return Err(error(
                                    *at,
                                    format!(
                                        "TO_IP takes the option leading_zeros (\"reject\", \"decimal\" or \"octal\"), not {key}"
                                    ),
                                ));
                            }
                        };
                        match mode.as_str() {
                            "reject" => {}
                            "decimal" | "octal" if list => zeros = mode,
                            "decimal" | "octal" => v = format!("ip_leading_zeros({v}, '{mode}')"),
                            other => {
                                return Err(error(
                                    *at,
                                    format!(
                                        "leading_zeros is \"reject\", \"decimal\" or \"octal\", not \"{other}\""
                                    ),
                                ));
                            }
                        }
                    }
                }
                // Of a list each value that is an address, the others
                // dropped with a warning.
                // Written as Elasticsearch writes an ip (esql_ip_text):
                // `::ffff:10.0.0.1` is 10.0.0.1.
                if list {
                    self.conversion_of_listed_warned(
                        format!("esql_ip_text(ip_values({v}, '{zeros}'))"),
                        &args[0],
                    )?
                } else {
                    self.conversion_warned(
                        format!(
                            "esql_ip_text(CASE WHEN cidr_match({v}, '0.0.0.0/0', '::/0') IS NOT NULL \
                             THEN {v} END)"
                        ),
                        &args[0],
                    )?
                }
            }
            // A list of booleans is already one (boolean.csv-spec convertFromBoolean).
            "to_boolean" | "to_bool"
                if args.len() == 1
                    && self.infer(&args[0]).map(item_type)
                        == Some(arrow::datatypes::DataType::Boolean) =>
            {
                self.text(&args[0], false)?
            }
            "to_boolean" | "to_bool" if args.first().is_some_and(|a| self.is_list(a)) => {
                arity(1..=1)?;
                format!("esql_boolean_list({})", self.text(&args[0], false)?)
            }
            "to_boolean" | "to_bool" => {
                arity(1..=1)?;
                let v = self.text(&args[0], true)?;
                if integer(&args[0]) || self.infer(&args[0]).is_some_and(|t| t.is_floating()) {
                    // Any number but zero is true.
                    format!("({v} <> 0)")
                } else {
                    format!(
                        "CASE WHEN {v} IS NULL THEN NULL ELSE lower(CAST({v} AS VARCHAR)) = 'true' END"
                    )
                }
            }
            "bucket" | "bin" => {
                // BUCKET(field, span): a time span buckets as DATE_TRUNC does; a
                // number buckets numbers (floor(x / span) * span, a double).
                if let [field, buckets, from, to] = args {
                    // BUCKET(field, buckets, from, to): the span Elasticsearch
                    // picks for at most `buckets` buckets over from..to.
                    let Some(buckets) = whole_number(buckets) else {
                        return Err(error(
                            pos,
                            "BUCKET takes a whole-number count of buckets second",
                        ));
                    };
                    // Numbers bucket numbers, dates dates (read from the
                    // bounds: a first translation may not know the types).
                    let span = match (number(from), number(to)) {
                        (Some(from), Some(to)) if !timestamp(field) => {
                            super::bucket::number_span(buckets, from, to)
                        }
                        _ => {
                            let (Some(from), Some(to)) =
                                (self.instant_ms(from), self.instant_ms(to))
                            else {
                                return Err(error(
                                    pos,
                                    "BUCKET's from and to must be constant numbers, or constant \
                                     dates (\"2023-02-01T00:00:00Z\", NOW() - 1 day)",
                                ));
                            };
                            let span = super::bucket::date_span(buckets, from, to);
                            return self.special_call(
                                "date_trunc",
                                &[span, field.clone()],
                                pos,
                                out,
                            );
                        }
                    };
                    if !span.is_finite() || span <= 0.0 {
                        out.push_str("CAST(NULL AS DOUBLE)");
                        return Ok(true);
                    }
                    let v = self.text(field, true)?;
                    let _ = write!(out, "(floor(CAST({v} AS DOUBLE) / {span:?}) * {span:?})");
                    return Ok(true);
                }
                arity(2..=2)?;
                match &args[1] {
                    Expr::Span(_) | Expr::Calendar(..) => {
                        return self.special_call(
                            "date_trunc",
                            &[args[1].clone(), args[0].clone()],
                            pos,
                            out,
                        );
                    }
                    // A span of zero buckets nothing: NULL (bucket.csv-spec
                    // zeroBucketsDouble).
                    Expr::Int(0) => "CAST(NULL AS DOUBLE)".to_owned(),
                    Expr::Float(x) if *x == 0.0 => "CAST(NULL AS DOUBLE)".to_owned(),
                    Expr::Int(_) | Expr::Float(_) => {
                        let v = self.text(&args[0], true)?;
                        let span = self.text(&args[1], true)?;
                        format!("(floor(CAST({v} AS DOUBLE) / {span}) * {span})")
                    }
                    _ => {
                        return Err(error(pos, "BUCKET takes a constant span second"));
                    }
                }
            }
            // A span or a date written as text (`DATE_TRUNC("1 month",
            // "1991-06-26T00:00:00Z")`), as ES|QL casts them.
            "date_trunc"
                if args.len() == 2
                    && (matches!(args[0], Expr::Str(_)) || matches!(args[1], Expr::Str(_))) =>
            {
                let span = match &args[0] {
                    Expr::Str(_) => super::parser::span_of_text(&args[0], pos)?,
                    other => other.clone(),
                };
                let date = match &args[1] {
                    text @ Expr::Str(_) => {
                        Expr::Call("to_datetime".into(), vec![text.clone()], pos)
                    }
                    other => other.clone(),
                };
                return self.special_call("date_trunc", &[span, date], pos, out);
            }
            "date_trunc" => {
                arity(2..=2)?;
                let date = self.text(&args[1], true)?;
                let zone = self.zone();
                match &args[0] {
                    Expr::Calendar(1, unit) => format!("esql_date_trunc('{unit}', {date}{zone})"),
                    // n months (quarters, years): whole months counted from
                    // 0001-01, floored to a multiple of n, as Elasticsearch's
                    // arbitrary intervals.
                    Expr::Calendar(n, unit) if *n > 0 => {
                        let months = match *unit {
                            "quarter" => n.checked_mul(3),
                            "year" => n.checked_mul(12),
                            _ => Some(*n),
                        }
                        .ok_or_else(|| error(pos, "DATE_TRUNC: the span is too long"))?;
                        format!(
                            "arrow_cast(esql_date_trunc('{months} months', {date}{zone}), '{}')",
                            self.time_type
                        )
                    }
                    // A calendar day; seven days are the ISO week from Monday.
                    Expr::Span(86_400_000_000_000) => {
                        format!("esql_date_trunc('day', {date}{zone})")
                    }
                    Expr::Span(604_800_000_000_000) => {
                        format!("esql_date_trunc('week', {date}{zone})")
                    }
                    // Any other span: buckets counted from the epoch (of whole
                    // milliseconds on any date; shorter ones in nanoseconds).
                    Expr::Span(ns) if *ns > 0 && ns % 1_000_000 == 0 => {
                        format!("esql_date_trunc('{} ms', {date}{zone})", ns / 1_000_000)
                    }
                    Expr::Span(ns) if *ns > 0 => {
                        format!("date_bin(INTERVAL '{ns} nanoseconds', {date})")
                    }
                    _ => {
                        return Err(error(
                            pos,
                            "DATE_TRUNC takes a time span first (1 hour, 15 minutes, 1 day, ...)",
                        ));
                    }
                }
            }
            "date_diff" => {
                arity(3..=3)?;
                // Whole units from start to end, truncated toward zero (Java's
                // ChronoUnit.between, which for UTC times is the duration over the
                // unit); past the int range NULL, as Elasticsearch's safeToInt.
                let Expr::Str(unit) = &args[0] else {
                    return Err(error(
                        pos,
                        "DATE_DIFF takes a unit string first (\"hour\", ...)",
                    ));
                };
                let nanos: i64 = match unit.to_ascii_lowercase().as_str() {
                    "nanosecond" | "nanoseconds" | "ns" => 1,
                    "microsecond" | "microseconds" | "mcs" => 1_000,
                    "millisecond" | "milliseconds" | "ms" => 1_000_000,
                    "second" | "seconds" | "ss" | "s" => 1_000_000_000,
                    "minute" | "minutes" | "mi" | "n" => 60_000_000_000,
                    "hour" | "hours" | "hh" => 3_600_000_000_000,
                    "day" | "days" | "dd" | "d" | "dayofyear" | "dy" | "y" | "weekday"
                    | "weekdays" | "dw" => 86_400_000_000_000,
                    "week" | "weeks" | "wk" | "ww" => 7 * 86_400_000_000_000,
                    // Calendar units, below: months per 1, 3 or 12.
                    "month" | "months" | "mm" | "m" => -1,
                    "quarter" | "quarters" | "qq" | "q" => -3,
                    "year" | "years" | "yyyy" | "yy" => -12,
                    other => {
                        return Err(error(pos, format!("DATE_DIFF: unknown unit \"{other}\"")));
                    }
                };
                // In the coarsest of milliseconds, microseconds and
                // nanoseconds that the unit and the columns need:
                // milliseconds hold any date, nanoseconds end in 2262.
                let column_unit = |e: &Expr| match (e, self.infer(e)) {
                    (Expr::Field(_), Some(T::Timestamp(unit, _))) => Some(unit),
                    _ => None,
                };
                let units = [column_unit(&args[1]), column_unit(&args[2])];
                let (unit, per) = if nanos == 1
                    || units.contains(&Some(arrow::datatypes::TimeUnit::Nanosecond))
                {
                    ("Nanosecond", 1)
                } else if nanos == 1_000
                    || units.contains(&Some(arrow::datatypes::TimeUnit::Microsecond))
                {
                    ("Microsecond", 1_000)
                } else {
                    ("Millisecond", 1_000_000)
                };
                let at = |e: &Expr| -> Result<String> {
                    Ok(format!(
                        "CAST(arrow_cast({}, 'Timestamp({unit}, Some(\"UTC\"))') AS BIGINT)",
                        self.text(e, true)?
                    ))
                };
                let (start, end) = (at(&args[1])?, at(&args[2])?);
                if nanos > 0 {
                    let step = nanos / per;
                    format!("try_cast(({end} - {start}) / {step} AS INT)")
                } else {
                    // Java's LocalDateTime.until in months: the end date moves a
                    // day toward the start when its time of day has not reached
                    // the start's; then whole months between the dates, counting
                    // the day of the month (prolepticMonth * 32 + day).
                    let day_step: i64 = 86_400_000_000_000 / per;
                    let to_time = match per {
                        1 => "to_timestamp_nanos",
                        1_000 => "to_timestamp_micros",
                        _ => "to_timestamp_millis",
                    };
                    let day = |t: &str| {
                        format!("(({t}) - ((({t}) % {day_step}) + {day_step}) % {day_step})")
                    };
                    let clock =
                        |t: &str| format!("(((({t}) % {day_step}) + {day_step}) % {day_step})");
                    let (start_day, end_day) = (day(&start), day(&end));
                    let (start_clock, end_clock) = (clock(&start), clock(&end));
                    let end_day = format!(
                        "CASE WHEN {end_day} > {start_day} AND {end_clock} < {start_clock} \
                         THEN {end_day} - {day_step} \
                         WHEN {end_day} < {start_day} AND {end_clock} > {start_clock} \
                         THEN {end_day} + {day_step} ELSE {end_day} END"
                    );
                    let packed = |d: &str| {
                        let date = format!("{to_time}({d})");
                        format!(
                            "((CAST(esql_date_part('year', {date}) AS BIGINT) * 12 \
                             + CAST(esql_date_part('month', {date}) AS BIGINT) - 1) * 32 \
                             + CAST(esql_date_part('day', {date}) AS BIGINT))"
                        )
                    };
                    format!(
                        "try_cast(({} - {}) / 32 / {} AS INT)",
                        packed(&end_day),
                        packed(&start_day),
                        -nanos
                    )
                }
            }
            "date_format" => {
                arity(1..=2)?;
                let (pattern, date) = match args {
                    // The offset where the query sets a zone (Z at UTC).
                    [date] => ("yyyy-MM-dd'T'HH:mm:ss.SSSXXX".to_owned(), date),
                    [Expr::Str(p), date] => (p.clone(), date),
                    _ => {
                        return Err(error(
                            pos,
                            "DATE_FORMAT takes a pattern string, then the date",
                        ));
                    }
                };
                let format =
                    java_date_pattern_at(&pattern, self.fixed_zone()).map_err(|m| error(pos, m))?;
                // A named zone's offset is written per date; where it is zero,
                // as Java writes a zero offset (`Z` for `X`).
                let at_zero = java_date_pattern_at(&pattern, Some(0)).map_err(|m| error(pos, m))?;
                let at_zero = if self.fixed_zone().is_none() && at_zero != format {
                    format!(", {}", string_literal(&at_zero))
                } else {
                    String::new()
                };
                format!(
                    "esql_to_char({}, {}{}{at_zero})",
                    self.text(date, true)?,
                    string_literal(&format),
                    self.zone()
                )
            }
            // The day's and month's names, where the query's zone puts them.
            "day_name" | "month_name" => {
                arity(1..=1)?;
                format!(
                    "esql_to_char({}, '{}'{})",
                    self.text(&args[0], true)?,
                    if name == "day_name" { "%A" } else { "%B" },
                    self.zone()
                )
            }
            "mv_count" => {
                arity(1..=1)?;
                if self.in_order(&args[0]) {
                    // Computed values keep their repeats.
                    format!(
                        "CAST(cardinality({}) AS BIGINT)",
                        self.text(&args[0], false)?
                    )
                } else {
                    format!("mv_count({})", self.text(&args[0], false)?)
                }
            }
            "mv_concat" => {
                arity(2..=2)?;
                let delim = self.text(&args[1], true)?;
                if self.is_list(&args[0]) {
                    format!(
                        "array_to_string({}, {delim})",
                        self.sorted_values(&args[0])?
                    )
                } else {
                    format!("CAST({} AS VARCHAR)", self.text(&args[0], false)?)
                }
            }
            "mv_dedupe" => {
                arity(1..=1)?;
                if self.in_order(&args[0]) {
                    // A list in its own order (a literal, SPLIT) keeps each
                    // value's first place, as Elasticsearch's reference shows:
                    // ["foo", "foo", "bar", "foo"] gives ["foo", "bar"].
                    format!("array_distinct({})", self.text(&args[0], false)?)
                } else if self.is_list(&args[0]) {
                    format!(
                        "array_sort(array_distinct({}))",
                        self.text(&args[0], false)?
                    )
                } else {
                    self.text(&args[0], false)?
                }
            }
            "mv_sort" => {
                arity(1..=2)?;
                let order = match args.get(1) {
                    None => "ASC",
                    Some(Expr::Str(o)) if o.eq_ignore_ascii_case("asc") => "ASC",
                    Some(Expr::Str(o)) if o.eq_ignore_ascii_case("desc") => "DESC",
                    Some(other) => {
                        return Err(error(
                            pos,
                            format!(
                                "Invalid order value in MV_SORT, expected one of [ASC, DESC] \
                                 but got [{}]",
                                match other {
                                    Expr::Str(s) => s.clone(),
                                    _ => "an expression".into(),
                                }
                            ),
                        ));
                    }
                };
                // A stored list's values as its doc values hold them (a
                // keyword, address or version once); repeats of a computed
                // one kept.
                if self.is_list(&args[0])
                    && let Some(kind) = self.sort_kind(&args[0])
                {
                    // Addresses and versions in their type's order.
                    format!(
                        "sort_as({}, '{kind}', '{order}', false)",
                        self.listed_values(&args[0])?
                    )
                } else if self.is_list(&args[0]) {
                    format!("array_sort({}, '{order}')", self.listed_values(&args[0])?)
                } else {
                    self.text(&args[0], false)?
                }
            }
            "mv_avg" => {
                arity(1..=1)?;
                if self.is_list(&args[0]) {
                    format!("array_avg({})", self.text(&args[0], false)?)
                } else {
                    format!("CAST({} AS DOUBLE)", self.text(&args[0], false)?)
                }
            }
            "mv_sum" => {
                arity(1..=1)?;
                let t = self.infer(&args[0]).map(item_type);
                if !self.is_list(&args[0]) {
                    self.text(&args[0], false)?
                } else if t == Some(T::UInt64) {
                    // Exact, then NULL with a warning past the unsigned range
                    // (math.csv-spec mvSumUnsignedLongsOverflow).
                    let sum = format!("mv_sum_exact({})", self.text(&args[0], false)?);
                    format!(
                        "arrow_cast(esql_null_if({sum}, {sum} > 18446744073709551615), 'UInt64')"
                    )
                } else if t == Some(T::Int32) {
                    // Exact, then NULL with a warning past the integer range.
                    let sum = format!("mv_sum_exact({})", self.text(&args[0], false)?);
                    format!(
                        "CAST(esql_null_if({sum}, {sum} > 2147483647 OR {sum} < -2147483648) AS INT)"
                    )
                } else if t.as_ref().is_some_and(T::is_integer) {
                    format!(
                        "esql_long_sum(mv_sum_exact({}))",
                        self.text(&args[0], false)?
                    )
                } else {
                    format!("mv_sum_exact({})", self.text(&args[0], false)?)
                }
            }
            "mv_zip" => {
                arity(2..=3)?;
                let delimiter = match args.get(2) {
                    Some(d) => self.text(d, true)?,
                    None => "','".to_owned(),
                };
                format!(
                    "mv_zip({}, {}, {delimiter})",
                    self.text(&args[0], false)?,
                    self.text(&args[1], false)?
                )
            }
            "mv_percentile" | "mv_median_absolute_deviation" => {
                arity(if name == "mv_percentile" {
                    2..=2
                } else {
                    1..=1
                })?;
                let v = self.text(&args[0], false)?;
                let list = if self.is_list(&args[0]) {
                    v
                } else {
                    format!("make_array({v})")
                };
                if name == "mv_percentile" {
                    // Outside 0..100: NULL with a warning.
                    let (p0, p) = (self.text(&args[1], true)?, self.text_again(&args[1])?);
                    format!(
                        "esql_null_if(mv_percentile({list}, {p0}), \
                         CAST({p} AS DOUBLE) < 0 OR CAST({p} AS DOUBLE) > 100)"
                    )
                } else {
                    format!("mv_median_absolute_deviation({list})")
                }
            }
            "mv_contains" => {
                arity(2..=2)?;
                // Every value of the second is among the first's; NULL second: true.
                let (a, b) = (self.text(&args[0], false)?, self.text(&args[1], false)?);
                let as_list = |e: &Expr, v: String| {
                    if self.is_list(e) {
                        v
                    } else {
                        format!("CASE WHEN {v} IS NOT NULL THEN make_array({v}) END")
                    }
                };
                let (a, b) = (as_list(&args[0], a), as_list(&args[1], b));
                format!(
                    "CASE WHEN {b} IS NULL THEN TRUE WHEN {a} IS NULL THEN FALSE \
                     ELSE array_has_all({a}, {b}) END"
                )
            }
            "round_to" => {
                if args.len() < 2 {
                    return Err(error(pos, "ROUND_TO takes a value and at least one point"));
                }
                self.round_to(args, pos)?
            }
            "copy_sign" => {
                arity(2..=2)?;
                let m0 = self.text(&args[0], true)?;
                let m = self.text_again(&args[0])?;
                let sign0 = format!("CAST({} AS DOUBLE)", self.text(&args[1], true)?);
                let sign = format!("CAST({} AS DOUBLE)", self.text_again(&args[1])?);
                if self.infer(&args[0]).is_some_and(|t| t.is_integer()) {
                    // Java's negation: the smallest value stays itself.
                    format!(
                        "CASE WHEN {m0} IS NULL OR {sign0} IS NULL THEN NULL \
                         WHEN ({m} < 0) = ({sign} < 0) THEN {m} \
                         WHEN {m} = {min} THEN {m} ELSE -{m} END",
                        min = if self.infer(&args[0]) == Some(T::Int32) {
                            "-2147483648"
                        } else {
                            "-9223372036854775808"
                        }
                    )
                } else {
                    // The sign bit, so -0.0 is negative (Math.copySign).
                    format!(
                        "CASE WHEN {sign0} IS NULL OR {m0} IS NULL THEN NULL \
                         WHEN atan2({sign}, -1.0) < 0 THEN -abs(CAST({m} AS DOUBLE)) \
                         ELSE abs(CAST({m} AS DOUBLE)) END"
                    )
                }
            }
            "to_unsigned_long" | "to_ulong" | "to_ul" => {
                arity(1..=1)?;
                self.to_unsigned_long(&args[0])?
            }
            "to_date_nanos" | "to_datenanos" => {
                arity(1..=1)?;
                if self.infer(&args[0]) == Some(T::Int32) {
                    return Err(error(
                        pos,
                        "TO_DATE_NANOS takes a long, a double, a date or text, not an integer",
                    ));
                }
                let ns = "'Timestamp(Nanosecond, Some(\"UTC\"))'";
                let nanos = |v: String| {
                    if integer(&args[0]) {
                        format!("arrow_cast(to_timestamp_nanos({v}), {ns})")
                    } else if self.infer(&args[0]).is_some_and(|t| t.is_floating()) {
                        format!(
                            "arrow_cast(to_timestamp_nanos(try_cast(floor({v} + 0.5) AS BIGINT)), \
                             {ns})"
                        )
                    } else {
                        format!("arrow_cast(try_cast({v} AS TIMESTAMP), {ns})")
                    }
                };
                let (t0, t) = (
                    nanos(self.text(&args[0], true)?),
                    nanos(self.text_again(&args[0])?),
                );
                // Before 1970: NULL with a warning, as Elasticsearch.
                format!(
                    "esql_null_if({t0}, {t} < arrow_cast(TIMESTAMP '1970-01-01T00:00:00', {ns}))"
                )
            }
            "to_version" | "to_ver" | "to_text" => {
                arity(1..=1)?;
                format!("CAST({} AS VARCHAR)", self.text(&args[0], true)?)
            }
            "mv_median" => {
                arity(1..=1)?;
                if self.is_list(&args[0]) {
                    format!("mv_median({})", self.text(&args[0], false)?)
                } else {
                    self.text(&args[0], false)?
                }
            }
            "mv_pseries_weighted_sum" => {
                arity(2..=2)?;
                if number(&args[1]).is_none() {
                    return Err(error(
                        pos,
                        "MV_PSERIES_WEIGHTED_SUM's p must be a constant number",
                    ));
                }
                // In the values' stored order (Elasticsearch keeps numbers sorted).
                let values = if self.is_list(&args[0]) {
                    self.sorted_values(&args[0])?
                } else {
                    format!("make_array({})", self.text(&args[0], false)?)
                };
                let mut p = String::new();
                self.expr(&args[1], &mut p)?;
                format!("esql_finite(mv_pseries({values}, {p}))")
            }
            "mv_append" => {
                arity(2..=2)?;
                let list = |e: &Expr| -> Result<String> {
                    Ok(if self.is_list(e) {
                        self.sorted_values(e)?
                    } else {
                        format!("make_array({})", self.text(e, false)?)
                    })
                };
                let (a, b) = (self.text(&args[0], false)?, self.text(&args[1], false)?);
                format!(
                    "CASE WHEN ({a}) IS NULL OR ({b}) IS NULL THEN NULL \
                     ELSE array_concat({}, {}) END",
                    list(&args[0])?,
                    list(&args[1])?
                )
            }
            // Without a pattern: strict_date_optional_time, TO_DATETIME's.
            "date_parse" if args.len() == 1 => {
                return self.special_call("to_datetime", args, pos, out);
            }
            "date_parse" if matches!(args.first(), Some(Expr::Null)) => {
                arity(2..=2)?;
                format!("arrow_cast(NULL, '{}')", self.time_type)
            }
            "date_parse" => {
                arity(1..=2)?;
                let Expr::Str(pattern) = &args[0] else {
                    return Err(error(
                        pos,
                        "DATE_PARSE takes a pattern literal first (DATE_PARSE(\"yyyy-MM-dd\", text))",
                    ));
                };
                let format = java_date_pattern(pattern)
                    .map_err(|m| error(pos, format!("invalid date pattern for DATE_PARSE: {m}")))?;
                let (text, again) = (self.text(&args[1], true)?, self.text_again(&args[1])?);
                let format = string_literal(&format);
                // A text that does not parse is NULL with a warning; NULL or
                // empty text is NULL.
                format!(
                    "esql_null_if(esql_date_parse({format}, {text}), \
                     esql_date_parse({format}, {again}) IS NULL AND {again} IS NOT NULL \
                     AND {again} <> '')"
                )
            }
            "ip_prefix" => {
                arity(3..=3)?;
                // A length out of range, a literal one too, is NULL with a
                // warning (ip.csv-spec ipPrefixWithWrongLengths); a NULL one
                // is NULL (ipPrefixWithNullArguments).
                let (ip, v4, v6) = (
                    self.text(&args[0], true)?,
                    format!("CAST({} AS BIGINT)", self.text(&args[1], true)?),
                    format!("CAST({} AS BIGINT)", self.text(&args[2], true)?),
                );
                format!(
                    "esql_null_if(ip_prefix({ip}, {v4}, {v6}), {v4} < 0 OR {v4} > 32 OR {v6} < 0 OR {v6} > 128)"
                )
            }
            "date_extract" => {
                arity(2..=2)?;
                let Expr::Str(part) = &args[0] else {
                    return Err(error(pos, "DATE_EXTRACT's part must be a string literal"));
                };
                let date = self.text(&args[1], true)?;
                let Some(sql) = date_extract(&part.to_ascii_lowercase(), &date, &self.zone())
                else {
                    return Err(error(
                        pos,
                        format!("invalid date field for DATE_EXTRACT: {part}"),
                    ));
                };
                sql
            }
            "mv_min" | "mv_max"
                if let Some(kind) = args
                    .first()
                    .filter(|a| self.is_list(a))
                    .and_then(|a| self.sort_kind(a)) =>
            {
                arity(1..=1)?;
                // By address or version, whatever the list's order.
                let index = if name == "mv_min" { 1 } else { -1 };
                format!(
                    "array_element(sort_as({}, '{kind}', 'ASC', false), {index})",
                    self.text(&args[0], false)?
                )
            }
            "mv_min" | "mv_max" if args.first().is_some_and(|a| self.is_list(a)) => {
                arity(1..=1)?;
                // The smallest and largest whatever the list's order (a
                // literal or SPLIT's keeps the order written).
                format!("array_{}({})", &name[3..], self.text(&args[0], false)?)
            }
            "mv_first" | "mv_last" | "mv_min" | "mv_max" => {
                arity(1..=1)?;
                if self.is_list(&args[0]) {
                    let index = if matches!(name, "mv_first" | "mv_min") {
                        1
                    } else {
                        -1
                    };
                    format!("array_element({}, {index})", self.sorted_values(&args[0])?)
                } else {
                    self.text(&args[0], false)?
                }
            }
            "mv_slice" => {
                arity(2..=3)?;
                // ES|QL counts from 0 (negative from the end), end included.
                let index = |e: &Expr| -> Result<i64> {
                    match e {
                        Expr::Int(n) => Ok(*n),
                        Expr::Neg(inner) => match **inner {
                            Expr::Int(n) => Ok(-n),
                            _ => Err(error(pos, "MV_SLICE takes whole-number positions")),
                        },
                        _ => Err(error(pos, "MV_SLICE takes whole-number positions")),
                    }
                };
                let start = index(&args[1])?;
                let end = args.get(2).map_or(Ok(start), index)?;
                // Constant positions are checked once, as Elasticsearch plans them.
                if start > end {
                    return Err(error(pos, "MV_SLICE: the start is after the end"));
                }
                if start < 0 && end >= 0 {
                    return Err(error(
                        pos,
                        "MV_SLICE: the start and the end have different signs",
                    ));
                }
                if self.is_list(&args[0]) {
                    // Negative positions count from the end; the range is clamped
                    // to the values, and NULL when it misses them all.
                    let v = self.sorted_values(&args[0])?;
                    let n = format!("CAST(cardinality({v}) AS BIGINT)");
                    let (from, to) = if start >= 0 {
                        (start.to_string(), format!("least({end}, {n} - 1)"))
                    } else {
                        (
                            format!("greatest({n} + {start}, 0)"),
                            format!("{n} + {end}"),
                        )
                    };
                    format!(
                        "CASE WHEN {from} < {n} AND {to} >= 0 \
                         THEN array_slice({v}, {from} + 1, {to} + 1) END"
                    )
                } else {
                    // One value: position 0, or -1 from the end.
                    let v = self.text(&args[0], false)?;
                    let hit = if start >= 0 { start == 0 } else { end == -1 };
                    format!("CASE WHEN {hit} THEN {v} END")
                }
            }
            _ => return Ok(false),
        };
        out.push_str(&sql);
        Ok(true)
    }

    /// `MATCH(field, query [, {options}])`, and `field : query`: Elasticsearch's
    /// match query, chosen by the field's kind as its mapping would choose it.
    ///
    /// Text (`esql_match`, lakehunt's UDF): `message`, `error.message` and
    /// `*.text` are analyzed text, `ip` and `*.ip` addresses, other strings
    /// keywords (the whole value, case-sensitive). Numbers, booleans and times
    /// are compared with the query read as one; a query they cannot read
    /// matches nothing, as ES|QL's MATCH is lenient. `boost`, `max_expansions`,
    /// `fuzzy_rewrite`, `lenient` and `auto_generate_synonyms_phrase_query`
    /// only change scores or Elasticsearch's term expansion: every term within
    /// the edits matches here.
    #[expect(
        clippy::too_many_lines,
        reason = "MATCH's option checks, one after another, as Elasticsearch's reference lists them"
    )]
    pub(super) fn full_text_match(&self, args: &[Expr], pos: usize) -> Result<String> {
        use arrow::datatypes::DataType as T;
        if let Some(why) = self.full_text.get() {
            return Err(error(pos, format!("MATCH {why}")));
        }
        check_arity("match", &(2..=3), args.len(), pos)?;
        let Expr::Field(field) = &args[0] else {
            return Err(error(pos, "MATCH takes a field first"));
        };
        if self.computed.contains(field) {
            return Err(error(
                pos,
                format!("MATCH cannot operate on {field}, which is not a field from the index"),
            ));
        }
        let constant = |e: &Expr| match e {
            Expr::Str(s) => Some(s.clone()),
            Expr::Int(n) => Some(n.to_string()),
            Expr::Float(x) => Some(format!("{x:?}")),
            Expr::Bool(b) => Some(b.to_string()),
            _ => None,
        };
        let Some(query) = constant(&args[1]) else {
            return Err(error(pos, "MATCH takes a constant query"));
        };
        let options: &[(String, Expr)] = match args.get(2) {
            None => &[],
            Some(Expr::Options(options, _)) => options,
            Some(_) => return Err(error(pos, "MATCH's third argument is its { options }")),
        };
        let mut spec = vec![];
        let mut fuzzy = false;
        for (name, value) in options {
            let text = constant(value).unwrap_or_default();
            let valid = match name.as_str() {
                "fuzziness" => {
                    fuzzy = text != "0";
                    let auto = text
                        .get(..5)
                        .is_some_and(|a| a.eq_ignore_ascii_case("auto:"));
                    text.eq_ignore_ascii_case("auto")
                        || ["0", "1", "2"].contains(&text.as_str())
                        || auto
                            && text[5..].split_once(',').is_some_and(|(l, h)| {
                                l.trim().parse::<u32>().is_ok() && h.trim().parse::<u32>().is_ok()
                            })
                }
                "operator" => ["and", "or"].contains(&text.to_ascii_lowercase().as_str()),
                "prefix_length" => text.parse::<u32>().is_ok(),
                "fuzzy_transpositions" => matches!(value, Expr::Bool(_)),
                "zero_terms_query" => ["all", "none"].contains(&text.to_ascii_lowercase().as_str()),
                "minimum_should_match" => text
                    .strip_suffix('%')
                    .unwrap_or(&text)
                    .parse::<i64>()
                    .is_ok(),
                "boost"
                | "max_expansions"
                | "fuzzy_rewrite"
                | "lenient"
                | "auto_generate_synonyms_phrase_query" => continue,
                "analyzer" => {
                    return Err(error(
                        pos,
                        "MATCH's analyzer option is not supported: text fields are read \
                         with the standard analyzer",
                    ));
                }
                other => {
                    return Err(error(
                        pos,
                        format!(
                            "invalid option [{other}] in MATCH, expected one of [analyzer, \
                             auto_generate_synonyms_phrase_query, boost, fuzziness, \
                             fuzzy_rewrite, fuzzy_transpositions, lenient, max_expansions, \
                             minimum_should_match, operator, prefix_length, zero_terms_query]"
                        ),
                    ));
                }
            };
            if !valid || text.contains(';') {
                return Err(error(
                    pos,
                    format!("invalid value [{text}] for MATCH's option {name}"),
                ));
            }
            spec.push(format!("{name}={text}"));
        }
        let list = self.is_list(&args[0]);
        let scalar = self.infer(&args[0]).map_or(T::Utf8, item_type);
        let value = quote(field);
        let equal = |literal: String| {
            if list {
                format!("coalesce(array_has({value}, {literal}), FALSE)")
            } else {
                format!("coalesce({value} = {literal}, FALSE)")
            }
        };
        Ok(match scalar {
            s if s.is_string() => {
                let leaf = field.rsplit('.').next().unwrap_or_default();
                let kind = if leaf == "ip" {
                    "ip"
                } else if field == "message"
                    || field == "error.message"
                    || (leaf == "text" && field.contains('.'))
                {
                    "text"
                } else {
                    "keyword"
                };
                spec.insert(0, format!("kind={kind}"));
                format!(
                    "esql_match({value}, {}, {})",
                    string_literal(&query),
                    string_literal(&spec.join(";"))
                )
            }
            // Fuzziness on a field without terms to expand matches nothing.
            _ if fuzzy => "FALSE".to_owned(),
            T::Boolean => match query.as_str() {
                "true" | "false" => equal(query.to_ascii_uppercase()),
                _ => "FALSE".to_owned(),
            },
            n if n.is_integer() => match query.trim().parse::<i64>() {
                Ok(v) => equal(v.to_string()),
                // A whole number written as a double (`2.0`) still matches.
                Err(_) => match query.trim().parse::<f64>() {
                    Ok(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => equal(format!("{x:.0}")),
                    _ => "FALSE".to_owned(),
                },
            },
            n if n.is_floating() => match query.trim().parse::<f64>() {
                Ok(x) if x.is_finite() => equal(format!("{x:?}")),
                _ => "FALSE".to_owned(),
            },
            T::Timestamp(..) if !list => match date_span(query.trim()) {
                // A date matches the whole span it names (a day, a second...).
                Some((start, unit)) => {
                    let start = format!(
                        "arrow_cast({}, '{}')",
                        string_literal(&start),
                        self.time_type
                    );
                    format!(
                        "coalesce({value} >= {start} AND {value} < {start} + INTERVAL '1 {unit}', FALSE)"
                    )
                }
                None => "FALSE".to_owned(),
            },
            other => {
                return Err(error(pos, format!("MATCH on {other} is not supported")));
            }
        })
    }

    /// WEIGHTED_AVG(value, weight): SUM(value * weight) / SUM(weight).
    fn weighted_avg(&self, arg: &Expr, weight: &Expr, pos: usize, out: &mut String) -> Result<()> {
        // SUM(value * weight) / SUM(weight), the weights of rows
        // without a value included (Elasticsearch's rewrite).
        let is_zero = |e: &Expr| {
            matches!(e, Expr::Int(0) | Expr::Null) || matches!(e, Expr::Float(x) if *x == 0.0)
        };
        if is_zero(weight) {
            return Err(error(pos, "WEIGHTED_AVG's weight cannot be null or 0"));
        }
        // A constant weight weighs every value alike: SUM / COUNT, of
        // every value of a multi-valued field, a sum of whole numbers NULL
        // past the long range (Elasticsearch's surrogate; stats.csv-spec
        // weightedAvgConstant, weightedAvgWithOverflow).
        if super::parser::constant(weight) {
            let (mut sum, mut count) = (String::new(), String::new());
            self.aggregate(
                pos,
                &Expr::Call("sum".into(), vec![arg.clone()], pos),
                &mut sum,
            )?;
            self.aggregate(
                pos,
                &Expr::Call("count".into(), vec![arg.clone()], pos),
                &mut count,
            )?;
            let _ = write!(out, "(CAST({sum} AS DOUBLE) / nullif({count}, 0))");
            return Ok(());
        }
        // Each side one value: a multi-valued one is NULL, with the
        // warning (weightedAvgFieldMvWarning). arrow_cast, not CAST:
        // DataFusion names an aggregate without its casts, and this
        // sum beside SUM(w) would make two columns of one name.
        let (mut v, mut w) = (String::new(), String::new());
        self.operand(arg, true, &mut v)?;
        self.operand(weight, true, &mut w)?;
        let _ = write!(
            out,
            "(sum(arrow_cast({v}, 'Float64') * arrow_cast({w}, 'Float64')) \
             / nullif(sum(arrow_cast({w}, 'Float64')), 0))"
        );
        Ok(())
    }

    /// The statistics aggregates (STD_DEV, PERCENTILE, WEIGHTED_AVG,
    /// MEDIAN_ABSOLUTE_DEVIATION, TOP); false when `args` do not fit.
    fn statistic(&self, name: &str, args: &[Expr], pos: usize, out: &mut String) -> Result<bool> {
        match (name, args) {
            // Of a multi-valued field: every value of every row, as
            // Elasticsearch aggregates one (stats.csv-spec stdDevMultiValue).
            ("variance" | "std_var" | "std_dev", [arg]) if self.is_list(arg) => {
                let mut v = String::new();
                self.expr(arg, &mut v)?;
                let all = format!(
                    "mv_variance(CAST(flatten(array_agg({v}) FILTER (WHERE {v} IS NOT NULL)) \
                     AS DOUBLE[]))"
                );
                if name == "std_dev" {
                    let _ = write!(out, "sqrt({all})");
                } else {
                    out.push_str(&all);
                }
            }
            ("variance" | "std_var", [arg]) => {
                // The population variance (STD_DEV squared).
                out.push_str("var_pop(CAST(");
                self.expr(arg, out)?;
                out.push_str(" AS DOUBLE))");
            }
            ("std_dev", [arg]) => {
                // The population standard deviation.
                out.push_str("stddev_pop(CAST(");
                self.expr(arg, out)?;
                out.push_str(" AS DOUBLE))");
            }
            ("percentile", [arg, p]) => {
                // Linear interpolation between the closest ranks, as
                // Elasticsearch's digest is up to 20,000 values (exact here
                // beyond); a percentile outside 0..100 is NULL.
                let Some(p) = number(p) else {
                    return Err(error(
                        pos,
                        "PERCENTILE's percentile must be a constant number",
                    ));
                };
                if (0.0..=100.0).contains(&p) {
                    // The values gathered and interpolated as Elasticsearch's
                    // digest does (percentile_cont quantizes the step to
                    // millionths: 73584.949861 for 73584.95).
                    let mut v = String::new();
                    self.expr(arg, &mut v)?;
                    let _ = write!(
                        out,
                        "esql_percentile(array_agg(CAST({v} AS DOUBLE)) FILTER (WHERE {v} IS NOT NULL), {p:?})"
                    );
                } else {
                    // Still an aggregate: one row without BY, not one per row.
                    out.push_str("max(CAST(NULL AS DOUBLE))");
                }
            }
            ("weighted_avg", [arg, weight]) => self.weighted_avg(arg, weight, pos, out)?,
            ("median_absolute_deviation", [arg]) => {
                out.push_str("mv_mad(array_agg(CAST(");
                self.expr(arg, out)?;
                out.push_str(" AS DOUBLE)))");
            }
            ("top", [arg, limit, order @ ..]) if order.len() <= 2 => {
                self.top(arg, limit, order, pos, out)?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// `TOP(field, limit[, order[, output]])` into `out`.
    fn top(
        &self,
        arg: &Expr,
        limit: &Expr,
        order: &[Expr],
        pos: usize,
        out: &mut String,
    ) -> Result<()> {
        let Expr::Int(limit) = limit else {
            return Err(error(pos, "TOP's limit must be a whole-number literal"));
        };
        if *limit < 1 {
            return Err(error(pos, "TOP's limit must be greater than 0"));
        }
        let (order, output) = match order {
            [order, output] => (Some(order), Some(output)),
            [order] => (Some(order), None),
            _ => (None, None),
        };
        let order = match order {
            None => "ASC",
            Some(Expr::Str(o)) if o.eq_ignore_ascii_case("asc") => "ASC",
            Some(Expr::Str(o)) if o.eq_ignore_ascii_case("desc") => "DESC",
            Some(_) => {
                return Err(error(pos, "TOP's order must be \"asc\" or \"desc\""));
            }
        };
        // The top values, repeats included; one value when the
        // limit is 1.
        let mut v = String::new();
        self.expr(arg, &mut v)?;
        // TOP(x, n, order, x) is TOP(x, n, order), as Elasticsearch rewrites it.
        let mut o = String::new();
        if let Some(output) = output {
            self.expr(output, &mut o)?;
        }
        if let Some(output) = output.filter(|_| o != v) {
            // TOP(field, n, order, output): the output field's
            // values of the top n rows by the field, ties by the
            // output in the same order, as Elasticsearch's sort of
            // pairs (the tallest of five at 2.1 is the highest
            // emp_no); rows where either is NULL are left out.
            if self.is_list(arg) || self.is_list(output) {
                return Err(error(
                    pos,
                    "TOP with an output field of a multi-valued field is not supported yet",
                ));
            }
            let sorted = format!(
                "array_agg({o} ORDER BY {v} {order}, {o} {order}) FILTER (WHERE {v} IS \
                 NOT NULL AND {o} IS NOT NULL)"
            );
            first_of(&sorted, *limit, out);
            return Ok(());
        }
        let gathered = format!("array_agg({v}) FILTER (WHERE {v} IS NOT NULL)");
        // Of a multi-valued field every value.
        let gathered = if self.is_list(arg) {
            format!("flatten({gathered})")
        } else {
            gathered
        };
        first_of(&format!("array_sort({gathered}, '{order}')"), *limit, out);
        Ok(())
    }

    /// MEDIAN, PERCENTILE and MEDIAN_ABSOLUTE_DEVIATION of a multi-valued
    /// field: every value, as for MIN and MAX (the rows' lists gathered into
    /// one, as doubles, which these answer); false when `args` do not fit.
    fn every_value(&self, name: &str, args: &[Expr], out: &mut String) -> Result<bool> {
        let (arg, p) = match (name, args) {
            ("median" | "median_absolute_deviation", [arg]) => (arg, 50.0),
            ("percentile", [arg, p]) if number(p).is_some() => (arg, number(p).unwrap_or(0.0)),
            _ => return Ok(false),
        };
        let mut v = String::new();
        self.expr(arg, &mut v)?;
        let all =
            format!("CAST(flatten(array_agg({v}) FILTER (WHERE {v} IS NOT NULL)) AS DOUBLE[])");
        let _ = match name {
            "median_absolute_deviation" => write!(out, "mv_mad({all})"),
            _ if (0.0..=100.0).contains(&p) => write!(out, "esql_percentile({all}, {p:?})"),
            _ => write!(out, "max(CAST(NULL AS DOUBLE))"),
        };
        Ok(true)
    }

    #[expect(
        clippy::too_many_lines,
        reason = "one match arm per aggregate and argument shape, each short"
    )]
    pub(super) fn aggregate(&self, at: usize, e: &Expr, out: &mut String) -> Result<()> {
        let Expr::Call(name, args, pos) = e else {
            return Err(error(
                at,
                "STATS takes aggregate functions: name = SUM(field) BY ...",
            ));
        };
        match (name.as_str(), args.as_slice()) {
            // COUNT() and COUNT(*) count rows.
            ("count", []) => out.push_str("count(*)"),
            ("count", [Expr::Field(star)]) if star == "*" => out.push_str("count(*)"),
            // Whether the group has a value of `arg` (PRESENT) or none
            // (ABSENT); a multi-valued value is one.
            ("present" | "absent", [arg]) => {
                // COUNT's values, so that an empty list is no value.
                let mut count = String::new();
                self.aggregate(
                    at,
                    &Expr::Call("count".into(), vec![arg.clone()], *pos),
                    &mut count,
                )?;
                let op = if name == "present" { ">" } else { "=" };
                let _ = write!(out, "(coalesce({count}, 0) {op} 0)");
            }
            ("count_distinct", [arg, ..]) if self.is_list(arg) => {
                // The distinct values of every row's list.
                let mut v = String::new();
                self.address_text(arg, &mut v)?;
                let _ = write!(
                    out,
                    "coalesce(CAST(cardinality(array_distinct(flatten(array_agg({v}) \
                     FILTER (WHERE {v} IS NOT NULL)))) AS BIGINT), 0)"
                );
            }
            ("count_distinct", [arg, ..]) => {
                // By 64-bit hashes (see `esql_count_distinct`), without an
                // estimate past ES|QL's precision threshold.
                out.push_str("esql_count_distinct(");
                if self.infer(arg) == Some(arrow::datatypes::DataType::Null) {
                    // DataFusion counts a NULL-typed column's one distinct
                    // value (`ROW x = null`): typed, it is a NULL, not counted.
                    out.push_str("CAST(");
                    self.expr(arg, out)?;
                    out.push_str(" AS BIGINT)");
                } else {
                    self.address_text(arg, out)?;
                }
                out.push(')');
            }
            ("values", [arg]) => {
                // The distinct values, sorted (ES|QL leaves their order open).
                let mut v = String::new();
                self.address_text(arg, &mut v)?;
                if self.is_list(arg) {
                    let _ = write!(out, "array_sort(array_distinct(flatten(array_agg({v}))))");
                } else {
                    let _ = write!(
                        out,
                        "array_sort(array_agg(DISTINCT {v}) FILTER (WHERE {v} IS NOT NULL))"
                    );
                }
            }
            ("first" | "last", [value, sort]) => {
                // The value (a list whole, NULL as NULL) of the row with the
                // earliest (FIRST) or latest (LAST) sort value: a list by its
                // smallest (largest) value, addresses and versions as such;
                // rows without one only where no row has one; among ties any.
                let first = name == "first";
                let mut v = String::new();
                self.expr(value, &mut v)?;
                let mut key = String::new();
                self.expr(sort, &mut key)?;
                let key = if self.is_list(sort) {
                    if self.is_ip(sort) || self.is_version(sort) {
                        return Err(error(
                            *pos,
                            "FIRST and LAST by a multi-valued ip or version are not supported yet",
                        ));
                    }
                    let of_list = if first { "array_min" } else { "array_max" };
                    format!("{of_list}({key})")
                } else if self.is_ip(sort) {
                    format!("ip_key({key})")
                } else if self.is_version(sort) {
                    format!("version_key({key})")
                } else {
                    key
                };
                let direction = if first { "ASC" } else { "DESC" };
                let _ = write!(
                    out,
                    "first_value({v} ORDER BY {key} {direction} NULLS LAST)"
                );
            }
            ("first" | "last", _) => {
                return Err(error(
                    *pos,
                    format!(
                        "{} takes 2 arguments (value, sort), got {}",
                        name.to_ascii_uppercase(),
                        args.len()
                    ),
                ));
            }
            ("median" | "median_absolute_deviation" | "percentile", [arg, ..])
                if self.is_list(arg) && self.every_value(name, args, out)? => {}
            ("median", [arg]) => {
                out.push_str("median(");
                self.expr(arg, out)?;
                out.push(')');
            }
            (
                "std_dev"
                | "variance"
                | "std_var"
                | "percentile"
                | "weighted_avg"
                | "median_absolute_deviation"
                | "top",
                _,
            ) if self.statistic(name, args, *pos, out)? => {}
            ("count", [arg]) if self.is_list(arg) => {
                // COUNT(field) counts values; Elasticsearch keeps a stored
                // keyword once, numbers (numeric doc values) with their
                // repeats, and computed lists (ROW, SPLIT) as they are.
                let strings = self.infer(arg).is_some_and(|t| item_type(t).is_string())
                    && !self.in_order(arg);
                let mut v = String::new();
                self.expr(arg, &mut v)?;
                // No values in the group is 0, not NULL.
                if strings {
                    let _ = write!(
                        out,
                        "coalesce(sum(cardinality(array_distinct({v}))), arrow_cast(0, 'UInt64'))"
                    );
                } else {
                    let _ = write!(
                        out,
                        "coalesce(sum(cardinality({v})), arrow_cast(0, 'UInt64'))"
                    );
                }
            }
            ("min" | "max", [arg])
                if self.is_ip(case_value(arg)) || self.is_version(case_value(arg)) =>
            {
                // Addresses and versions in their own order, not as text
                // (MAX of 9.0.0.1 and 10.0.0.1 is 10.0.0.1; of 1.2.3 and
                // 1.10, 1.10): the value of the row with the extreme key.
                // Of a multi-valued one, each row's extreme value first.
                let value = case_value(arg);
                let mut v = String::new();
                self.expr(arg, &mut v)?;
                if self.is_list(value)
                    && let Some(kind) = self.sort_kind(value)
                {
                    let index = if name == "min" { 1 } else { -1 };
                    v = format!("array_element(sort_as({v}, '{kind}', 'ASC', false), {index})");
                }
                let key = if self.is_ip(value) {
                    format!("ip_key({v})")
                } else {
                    format!("version_key({v})")
                };
                let direction = if name == "min" { "ASC" } else { "DESC" };
                let _ = write!(
                    out,
                    "first_value({v} ORDER BY {key} {direction} NULLS LAST)"
                );
            }
            ("min" | "max" | "sum" | "avg", [arg]) if self.is_list(arg) => {
                // Every value of every row, as Elasticsearch aggregates a
                // multi-valued field.
                let whole = self.infer(arg).is_some_and(|t| item_type(t).is_integer());
                let mut v = String::new();
                self.expr(arg, &mut v)?;
                let _ = match name.as_str() {
                    "min" => write!(out, "min(array_min({v}))"),
                    "max" => write!(out, "max(array_max({v}))"),
                    "sum" if whole => write!(out, "esql_long_sum(sum(mv_sum_exact({v})))"),
                    "sum" => write!(out, "sum(mv_sum_exact({v}))"),
                    _ => write!(out, "(sum(array_sum({v})) / sum(cardinality({v})))"),
                };
            }
            ("sum" | "avg", [arg]) if self.infer(arg) == Some(arrow::datatypes::DataType::Null) => {
                // Of NULLs only: NULL (SQL's SUM has no NULL type to sum).
                let _ = write!(out, "{name}(CAST(");
                self.expr(arg, out)?;
                out.push_str(" AS DOUBLE))");
            }
            ("sum", [arg]) if !self.infer(arg).is_some_and(|t| t.is_integer()) => {
                // Not a whole-number field: a plain (floating) sum.
                out.push_str("sum(");
                self.expr(arg, out)?;
                out.push(')');
            }
            ("sum" | "count" | "min" | "max" | "avg", [arg]) => {
                if name == "sum" {
                    // ES|QL's SUM of longs is a long; DECIMAL(38,0) keeps the sum
                    // exact, and a sum past the long range is NULL with a warning.
                    out.push_str("esql_long_sum(sum(CAST(");
                    self.expr(arg, out)?;
                    out.push_str(" AS DECIMAL(38,0))))");
                } else {
                    let _ = write!(out, "{name}(");
                    self.expr(arg, out)?;
                    out.push(')');
                }
            }
            (other, _) => {
                return Err(error(
                    *pos,
                    format!(
                        "aggregate {} is not supported yet",
                        other.to_ascii_uppercase()
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// `DATE_EXTRACT(part, date)` for a `java.time` `ChronoField` name (lower
/// case), in UTC, as a long; `None` for a name it does not know.
fn date_extract(part: &str, date: &str, zone: &str) -> Option<String> {
    // In the query's time zone (`zone`: the functions' argument, or empty for
    // UTC), but for the instant's own seconds.
    let p = |unit: &str| format!("CAST(esql_date_part('{unit}', {date}{zone}) AS BIGINT)");
    let (hour, minute, second) = (p("hour"), p("minute"), p("second"));
    let (dom, doy) = (p("day"), p("doy"));
    let epoch_seconds = format!("CAST(floor(esql_date_part('epoch', {date})) AS BIGINT)");
    Some(match part {
        "year" | "year_of_era" => p("year"),
        "era" => format!("CASE WHEN {} > 0 THEN 1 ELSE 0 END", p("year")),
        "month_of_year" => p("month"),
        "proleptic_month" => format!("({} * 12 + {} - 1)", p("year"), p("month")),
        "day_of_month" => dom,
        "day_of_year" => doy,
        // ISO: Monday is 1, Sunday 7 (SQL's dow: Sunday is 0).
        "day_of_week" => format!("CASE WHEN {0} = 0 THEN 7 ELSE {0} END", p("dow")),
        "aligned_day_of_week_in_month" => format!("((({dom}) - 1) % 7 + 1)"),
        "aligned_day_of_week_in_year" => format!("((({doy}) - 1) % 7 + 1)"),
        "aligned_week_of_month" => format!("((({dom}) - 1) / 7 + 1)"),
        "aligned_week_of_year" => format!("((({doy}) - 1) / 7 + 1)"),
        "epoch_day" => {
            format!("CAST(floor(esql_date_part('epoch', {date}{zone}) / 86400) AS BIGINT)")
        }
        "instant_seconds" => epoch_seconds,
        "hour_of_day" => hour,
        "clock_hour_of_day" => format!("CASE WHEN {hour} = 0 THEN 24 ELSE {hour} END"),
        "hour_of_ampm" => format!("({hour} % 12)"),
        "clock_hour_of_ampm" => {
            format!("CASE WHEN {hour} % 12 = 0 THEN 12 ELSE {hour} % 12 END")
        }
        "ampm_of_day" => format!("CASE WHEN {hour} >= 12 THEN 1 ELSE 0 END"),
        "minute_of_hour" => minute,
        "minute_of_day" => format!("({hour} * 60 + {minute})"),
        "second_of_minute" => second,
        "second_of_day" => format!("({hour} * 3600 + {minute} * 60 + {second})"),
        "milli_of_second" => format!("({} % 1000)", p("millisecond")),
        "micro_of_second" => format!("({} % 1000000)", p("microsecond")),
        "nano_of_second" => format!("({} % 1000000000)", p("nanosecond")),
        "milli_of_day" => format!(
            "(({hour} * 3600 + {minute} * 60 + {second}) * 1000 + {} % 1000)",
            p("millisecond")
        ),
        "micro_of_day" => format!(
            "(({hour} * 3600 + {minute} * 60 + {second}) * 1000000 + {} % 1000000)",
            p("microsecond")
        ),
        "nano_of_day" => format!(
            "(({hour} * 3600 + {minute} * 60 + {second}) * 1000000000 + {} % 1000000000)",
            p("nanosecond")
        ),
        "offset_seconds" => p("offset"),
        _ => return None,
    })
}

/// The first of a `sorted` list into `out`: the value for a `limit` of 1,
/// else the list of the first `limit` (TOP's answer).
fn first_of(sorted: &str, limit: i64, out: &mut String) {
    if limit == 1 {
        let _ = write!(out, "array_element({sorted}, 1)");
    } else {
        let _ = write!(out, "array_slice({sorted}, 1, {limit})");
    }
}
