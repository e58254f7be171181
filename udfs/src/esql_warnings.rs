//! ES|QL's warnings: where Elasticsearch answers NULL and says why.
//!
//! Three functions wrap the places ES|QL warns, count the rows concerned, and
//! otherwise change nothing of the translated SQL's meaning:
//!
//! - `esql_div(l, r)` and `esql_mod(l, r)` are `l / r` and `l % r` with NULL
//!   where `r` is zero, counting the rows where `l` is a value and `r` is zero
//!   (each operand appears once, so its own checks count once);
//! - `esql_mv_check(list)` is `list`, counting rows holding several distinct
//!   values, which a comparison or function then reads as NULL;
//! - `esql_long_sum(sum)` is an exact (decimal) sum as a long, NULL where it is
//!   outside the long range, counting those groups;
//! - `esql_add`, `esql_sub` and `esql_mul` are `+`, `-` and `*` on whole
//!   numbers, NULL where the result leaves the type's range (where SQL wraps),
//!   counting those rows; `esql_add` and `esql_sub` also take a time and a
//!   span, NULL past the time type's range (where SQL fails the query);
//! - `esql_finite(x)` is a math function's double result, NULL where it is not
//!   a finite number (the logarithm of 0, the square root of a negative
//!   number, `POW` past the double range), counting those rows;
//! - `esql_null_if(value, invalid)` is `value`, NULL where `invalid` is true
//!   (a function's argument Elasticsearch rejects row by row, such as a
//!   negative count for `REPEAT`), counting those rows;
//! - `esql_converted(value, original)` is `value`, a conversion's result,
//!   counting the values of `original` it has no value for (text that is not
//!   a number, an address or a date; a number out of the type's range): per
//!   row, or per value where both are lists.
//!
//! They are volatile, so the optimizer neither folds nor moves them: a row is
//! counted each time ES|QL would evaluate it. Each query registers fresh
//! counters ([`EsqlWarnings::register`]); the counts are read after it ran.
//!
//! Where a plan runs elsewhere (a cluster's executors), [`counter_of`] and
//! [`counting_into`] let the runner count each function's rows into counters
//! of its own and add them to the query's afterwards, and [`not_counted`]
//! records a function whose rows could not be brought back.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::common::map_columnar;
use crate::dates::plus_calendar;
use crate::mv_single::distinct_values;
use datafusion::arrow::array::{
    Array, ArrayRef, ArrowPrimitiveType, AsArray, Int64Array, PrimitiveArray,
};
use datafusion::arrow::compute::kernels::cmp::eq;
use datafusion::arrow::compute::kernels::numeric::{add, div, mul, rem, sub};
use datafusion::arrow::compute::{cast, nullif};
use datafusion::arrow::datatypes::{
    ArrowNativeTypeOp, DataType, Decimal128Type, DurationNanosecondType, Int32Type, Int64Type,
    IntervalMonthDayNanoType, IntervalUnit, TimeUnit, UInt64Type,
};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::Operator;
use datafusion::logical_expr::type_coercion::binary::BinaryTypeCoercer;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;

/// The kinds of warning, their function names and messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Kind {
    DivByZero,
    MultiValued,
    Overflow,
    Arithmetic,
    NotFinite,
    Invalid,
    Conversion,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::DivByZero => "division_by_zero",
            Kind::MultiValued => "multi_valued",
            Kind::Overflow => "long_overflow",
            Kind::Arithmetic => "arithmetic_overflow",
            Kind::NotFinite => "math_domain",
            Kind::Invalid => "invalid_argument",
            Kind::Conversion => "conversion",
        }
    }

    /// The name its counts travel under as an operator metric.
    fn metric(self) -> &'static str {
        match self {
            Kind::DivByZero => "esql_warnings_division_by_zero",
            Kind::MultiValued => "esql_warnings_multi_valued",
            Kind::Overflow => "esql_warnings_long_overflow",
            Kind::Arithmetic => "esql_warnings_arithmetic_overflow",
            Kind::NotFinite => "esql_warnings_math_domain",
            Kind::Invalid => "esql_warnings_invalid_argument",
            Kind::Conversion => "esql_warnings_conversion",
        }
    }

    fn message(self, n: u64) -> String {
        match self {
            Kind::DivByZero => format!("{n} divisions by zero gave NULL (ES|QL: / by zero)"),
            Kind::MultiValued => format!(
                "{n} multi-valued values read as NULL by a comparison or function \
                 (ES|QL: single-value function encountered multi-value)"
            ),
            Kind::Overflow => {
                format!("{n} sums outside the long range gave NULL (ES|QL: long overflow)")
            }
            Kind::Arithmetic => format!(
                "{n} additions, subtractions or multiplications outside the integer or long \
                 range, or times plus or minus a span outside the time range, gave NULL \
                 (ES|QL: integer overflow, long overflow)"
            ),
            Kind::NotFinite => format!(
                "{n} math results outside the function's domain or the double range gave \
                 NULL (ES|QL: Log of non-positive number, Square root of negative, \
                 double overflow)"
            ),
            Kind::Invalid => format!(
                "{n} values or arguments Elasticsearch rejects row by row gave NULL (ES|QL: \
                 failed to parse date field, Number parameter cannot be negative, integer \
                 overflow, unsigned_long overflow, Prefix length out of range, Values less than -1 bytes are not \
                 supported, Unsupported unit)"
            ),
            Kind::Conversion => format!(
                "{n} values that do not convert to a TO_* function's type gave NULL (ES|QL: \
                 evaluation of [TO_...] failed, treating result as null: Cannot parse number, \
                 not an IP string literal, failed to parse date field, out of [integer] range)"
            ),
        }
    }
}

/// One query's warning counters.
#[derive(Debug)]
pub struct EsqlWarnings {
    counts: Vec<(Kind, Arc<AtomicU64>)>,
    /// Functions whose rows were counted where they could not be read.
    not_counted: Arc<AtomicU64>,
}

impl EsqlWarnings {
    /// Registers the three functions in `ctx` with fresh counters.
    #[must_use]
    pub fn register(ctx: &SessionContext) -> EsqlWarnings {
        let counts: Vec<(Kind, Arc<AtomicU64>)> = [
            Kind::DivByZero,
            Kind::MultiValued,
            Kind::Overflow,
            Kind::Arithmetic,
            Kind::NotFinite,
            Kind::Invalid,
            Kind::Conversion,
        ]
        .into_iter()
        .map(|kind| (kind, Arc::new(AtomicU64::new(0))))
        .collect();
        let not_counted = Arc::new(AtomicU64::new(0));
        for (kind, count) in &counts {
            let ops: &[Option<Operator>] = match kind {
                Kind::DivByZero => &[Some(Operator::Divide), Some(Operator::Modulo)],
                Kind::Arithmetic => &[
                    Some(Operator::Plus),
                    Some(Operator::Minus),
                    Some(Operator::Multiply),
                ],
                _ => &[None],
            };
            for op in ops {
                ctx.register_udf(ScalarUDF::new_from_impl(Check::new(
                    *kind,
                    *op,
                    Arc::clone(count),
                    Arc::clone(&not_counted),
                )));
            }
        }
        EsqlWarnings {
            counts,
            not_counted,
        }
    }

    /// The warnings so far, one per kind that occurred: its name, how many
    /// rows it concerns, and the message with that count.
    #[must_use]
    pub fn report(&self) -> Vec<(&'static str, u64, String)> {
        let mut report: Vec<_> = self
            .counts
            .iter()
            .filter_map(|(kind, count)| {
                let n = count.load(Ordering::Relaxed);
                (n > 0).then(|| (kind.name(), n, kind.message(n)))
            })
            .collect();
        let n = self.not_counted.load(Ordering::Relaxed);
        if n > 0 {
            report.push((
                "not_counted",
                n,
                format!(
                    "{n} of ES|QL's warning checks ran where their counts could not be read \
                     back: the warnings above may be too few"
                ),
            ));
        }
        report
    }
}

/// The checking function's kind, as the metric its counts travel under, and
/// its counter; `None` for any other function.
#[must_use]
pub fn counter_of(udf: &ScalarUDF) -> Option<(&'static str, Arc<AtomicU64>)> {
    let check = udf.inner().downcast_ref::<Check>()?;
    Some((check.kind.metric(), Arc::clone(&check.count)))
}

/// The same checking function counting into `count` instead; `None` for any
/// other function.
#[must_use]
pub fn counting_into(udf: &ScalarUDF, count: Arc<AtomicU64>) -> Option<ScalarUDF> {
    let check = udf.inner().downcast_ref::<Check>()?;
    Some(ScalarUDF::new_from_impl(Check::new(
        check.kind,
        check.op,
        count,
        Arc::clone(&check.not_counted),
    )))
}

/// Records that the checking function `udf` runs where its counts cannot be
/// read back (its query's report then says so); any other function is left
/// as it is.
pub fn not_counted(udf: &ScalarUDF) {
    if let Some(check) = udf.inner().downcast_ref::<Check>() {
        check.not_counted.fetch_add(1, Ordering::Relaxed);
    }
}

#[derive(Debug)]
struct Check {
    kind: Kind,
    /// For divisions: `/` or `%`; for arithmetic: `+`, `-` or `*`.
    op: Option<Operator>,
    count: Arc<AtomicU64>,
    not_counted: Arc<AtomicU64>,
    signature: Signature,
}

impl Check {
    fn new(
        kind: Kind,
        op: Option<Operator>,
        count: Arc<AtomicU64>,
        not_counted: Arc<AtomicU64>,
    ) -> Check {
        let signature = if op.is_some() {
            // Operands coerced as for SQL's own operator (see `coerce_types`).
            Signature::user_defined(Volatility::Volatile)
        } else if matches!(kind, Kind::Invalid | Kind::Conversion) {
            Signature::any(2, Volatility::Volatile)
        } else {
            Signature::any(1, Volatility::Volatile)
        };
        Check {
            kind,
            op,
            count,
            not_counted,
            signature,
        }
    }
}

impl PartialEq for Check {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.op == other.op && Arc::ptr_eq(&self.count, &other.count)
    }
}

impl Eq for Check {}

impl std::hash::Hash for Check {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.kind.hash(state);
        self.op.hash(state);
    }
}

/// `l op r` in `T`, NULL (and counted) where it leaves `T`'s range.
fn checked<T>(l: &ArrayRef, r: &ArrayRef, op: Operator, count: &AtomicU64) -> Result<ArrayRef>
where
    T: ArrowPrimitiveType,
{
    let (l, r) = (cast(l, &T::DATA_TYPE)?, cast(r, &T::DATA_TYPE)?);
    let (l, r) = (l.as_primitive::<T>(), r.as_primitive::<T>());
    let mut overflows = 0;
    let out: PrimitiveArray<T> = l
        .iter()
        .zip(r.iter())
        .map(|(left, right)| {
            let (left, right) = (left?, right?);
            let result = match op {
                Operator::Plus => left.add_checked(right),
                Operator::Minus => left.sub_checked(right),
                _ => left.mul_checked(right),
            }
            .ok();
            if result.is_none() {
                overflows += 1;
            }
            result
        })
        .collect();
    count.fetch_add(overflows, Ordering::Relaxed);
    Ok(Arc::new(out))
}

/// A time plus or minus a span (an interval or a duration), NULL (and
/// counted) past the time type's range where SQL fails the query
/// (dateMathArithmeticOverflow): months first, then days, then the
/// duration, as java.time adds a period (see `dates::plus_calendar`).
fn checked_time(l: &ArrayRef, r: &ArrayRef, op: Operator, count: &AtomicU64) -> Result<ArrayRef> {
    let DataType::Timestamp(unit, _) = l.data_type() else {
        return exec_err!("esql_add: a time goes first, got {}", l.data_type());
    };
    let sign: i64 = if op == Operator::Minus { -1 } else { 1 };
    // Each row's span as (months, days, nanoseconds); one span (a literal,
    // not spread to a row each) is every row's.
    let spans: Vec<Option<(i64, i64, i128)>> = match r.data_type() {
        DataType::Duration(_) => {
            let ns = cast(r, &DataType::Duration(TimeUnit::Nanosecond))?;
            ns.as_primitive::<DurationNanosecondType>()
                .iter()
                .map(|v| v.map(|n| (0, 0, i128::from(n))))
                .collect()
        }
        DataType::Interval(_) => {
            let mdn = cast(r, &DataType::Interval(IntervalUnit::MonthDayNano))?;
            mdn.as_primitive::<IntervalMonthDayNanoType>()
                .iter()
                .map(|v| {
                    v.map(|i| {
                        (
                            i64::from(i.months),
                            i64::from(i.days),
                            i128::from(i.nanoseconds),
                        )
                    })
                })
                .collect()
        }
        DataType::Null => vec![None; r.len()],
        other => return exec_err!("esql_add: a time plus {other}"),
    };
    let values = cast(l, &DataType::Int64)?;
    let mut overflows = 0;
    let out: Int64Array = values
        .as_primitive::<Int64Type>()
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let (v, (months, days, nanos)) = (v?, spans[if spans.len() == 1 { 0 } else { i }]?);
            let result = plus_calendar(
                v,
                *unit,
                sign * months,
                sign * days,
                i128::from(sign) * nanos,
            );
            if result.is_none() {
                overflows += 1;
            }
            result
        })
        .collect();
    count.fetch_add(overflows, Ordering::Relaxed);
    Ok(cast(&out, l.data_type())?)
}

/// `value`, NULL (and counted) where `invalid` is true.
fn null_where(value: &ArrayRef, invalid: &ArrayRef, count: &AtomicU64) -> Result<ColumnarValue> {
    let invalid = cast(invalid, &DataType::Boolean)?;
    let invalid = invalid.as_boolean();
    // A NULL check is not a rejection: true_count skips NULLs, and nullif
    // reads them as false.
    count.fetch_add(invalid.true_count() as u64, Ordering::Relaxed);
    Ok(ColumnarValue::Array(nullif(value, invalid)?))
}

/// The values of `original` a conversion left without a value in `value`:
/// per value where both are lists, else per row.
fn not_converted(value: &ArrayRef, original: &ArrayRef) -> u64 {
    let len = value.len().min(original.len());
    if let (DataType::List(_), DataType::List(_)) = (value.data_type(), original.data_type()) {
        let (value, original) = (value.as_list::<i32>(), original.as_list::<i32>());
        // Each row's values that are not NULL (the items' nulls read once).
        let counts = |list: &datafusion::arrow::array::ListArray| -> Vec<u64> {
            let items = list.values().logical_nulls();
            list.offsets()
                .windows(2)
                .enumerate()
                .map(|(i, range)| {
                    if list.is_null(i) {
                        return 0;
                    }
                    let (start, end) = (range[0] as usize, range[1] as usize);
                    match &items {
                        Some(nulls) => (start..end).filter(|&j| nulls.is_valid(j)).count() as u64,
                        None => (end - start) as u64,
                    }
                })
                .collect()
        };
        return counts(original)
            .iter()
            .zip(counts(value))
            .take(len)
            .map(|(o, v)| o.saturating_sub(v))
            .sum();
    }
    // Logical NULLs: a NULL literal's array has no null buffer.
    let (value, original) = (value.logical_nulls(), original.logical_nulls());
    let null = |nulls: &Option<datafusion::arrow::buffer::NullBuffer>, i: usize| {
        nulls.as_ref().is_some_and(|n| n.is_null(i))
    };
    (0..len)
        .filter(|&i| !null(&original, i) && null(&value, i))
        .count() as u64
}

/// `x` as doubles, NULL (and counted) where not finite.
fn finite(x: &ColumnarValue, count: &Arc<AtomicU64>) -> Result<ColumnarValue> {
    let count = Arc::clone(count);
    map_columnar(x, move |array| {
        let array = cast(array, &DataType::Float64)?;
        let out: datafusion::arrow::array::Float64Array = array
            .as_primitive::<datafusion::arrow::datatypes::Float64Type>()
            .iter()
            .map(|v| {
                let v = v?;
                if v.is_finite() {
                    Some(v)
                } else {
                    count.fetch_add(1, Ordering::Relaxed);
                    None
                }
            })
            .collect();
        Ok(Arc::new(out) as ArrayRef)
    })
}

/// Rows where both are values and the divisor is zero.
fn zero_divisors(l: &ArrayRef, r: &ArrayRef) -> Result<u64> {
    let r = cast(r, &DataType::Float64)?;
    let r = r.as_primitive::<datafusion::arrow::datatypes::Float64Type>();
    Ok((0..r.len())
        .filter(|&i| l.is_valid(i) && r.is_valid(i) && r.value(i) == 0.0)
        .count() as u64)
}

impl ScalarUDFImpl for Check {
    fn name(&self) -> &'static str {
        match (self.kind, self.op) {
            (Kind::DivByZero, Some(Operator::Modulo)) => "esql_mod",
            (Kind::DivByZero, _) => "esql_div",
            (Kind::MultiValued, _) => "esql_mv_check",
            (Kind::Overflow, _) => "esql_long_sum",
            (Kind::Arithmetic, Some(Operator::Plus)) => "esql_add",
            (Kind::Arithmetic, Some(Operator::Minus)) => "esql_sub",
            (Kind::Arithmetic, _) => "esql_mul",
            (Kind::NotFinite, _) => "esql_finite",
            (Kind::Invalid, _) => "esql_null_if",
            (Kind::Conversion, _) => "esql_converted",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let (Some(op), [l, r]) = (self.op, arg_types) else {
            return plan_err!("{} takes two numbers", self.name());
        };
        let (l, r) = BinaryTypeCoercer::new(l, &op, r).get_input_types()?;
        Ok(vec![l, r])
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match (self.kind, arg_types) {
            (Kind::DivByZero | Kind::Arithmetic, [l, r]) => {
                let op = self.op.unwrap_or(Operator::Divide);
                BinaryTypeCoercer::new(l, &op, r).get_result_type()
            }
            (Kind::MultiValued, [list]) => Ok(list.clone()),
            (Kind::NotFinite, [_]) => Ok(DataType::Float64),
            (Kind::Invalid | Kind::Conversion, [value, _]) => Ok(value.clone()),
            (Kind::Overflow, [DataType::Decimal128(..) | DataType::Int64 | DataType::Null]) => {
                Ok(DataType::Int64)
            }
            (_, args) => plan_err!("{}: unexpected arguments {args:?}", self.name()),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        match (self.kind, args.args.as_slice()) {
            (Kind::DivByZero, [l, r]) => {
                let (l, r) = (l.to_array(rows)?, r.to_array(rows)?);
                self.count
                    .fetch_add(zero_divisors(&l, &r)?, Ordering::Relaxed);
                // A zero divisor is NULL: the quotient is NULL, not an error.
                let zero = ScalarValue::new_zero(r.data_type())?.to_scalar()?;
                let r = nullif(&r, &eq(&r, &zero)?)?;
                let out = if self.op == Some(Operator::Modulo) {
                    rem(&l, &r)?
                } else {
                    div(&l, &r)?
                };
                let to = self.return_type(&[l.data_type().clone(), r.data_type().clone()])?;
                Ok(ColumnarValue::Array(cast(&out, &to)?))
            }
            (Kind::Arithmetic, [l, ColumnarValue::Scalar(span)])
                if matches!(l.data_type(), DataType::Timestamp(..)) =>
            {
                // `t + 1 day`: the span read once, not once per row.
                let op = self.op.unwrap_or(Operator::Plus);
                let span = span.to_array_of_size(1)?;
                let out = checked_time(&l.to_array(rows)?, &span, op, &self.count)?;
                Ok(ColumnarValue::Array(out))
            }
            (Kind::Arithmetic, [l, r]) => {
                let (l, r) = (l.to_array(rows)?, r.to_array(rows)?);
                let to = self.return_type(&[l.data_type().clone(), r.data_type().clone()])?;
                let op = self.op.unwrap_or(Operator::Plus);
                let out = match to {
                    DataType::Timestamp(..) => checked_time(&l, &r, op, &self.count)?,
                    DataType::Int32 => checked::<Int32Type>(&l, &r, op, &self.count)?,
                    // unsigned_long: below 0 or past 2^64 - 1 is the overflow.
                    DataType::UInt64 => checked::<UInt64Type>(&l, &r, op, &self.count)?,
                    t if t.is_integer() => {
                        let out = checked::<Int64Type>(&l, &r, op, &self.count)?;
                        cast(&out, &t)?
                    }
                    // Floating point does not warn: SQL's own operator.
                    _ => match op {
                        Operator::Plus => add(&l, &r)?,
                        Operator::Minus => sub(&l, &r)?,
                        _ => mul(&l, &r)?,
                    },
                };
                Ok(ColumnarValue::Array(out))
            }
            (Kind::Invalid, [value, invalid]) => null_where(
                &value.to_array(rows)?,
                &invalid.to_array(rows)?,
                &self.count,
            ),
            (Kind::Conversion, [value, original]) => {
                let failed = not_converted(&value.to_array(rows)?, &original.to_array(rows)?);
                self.count.fetch_add(failed, Ordering::Relaxed);
                Ok(value.clone())
            }
            (Kind::NotFinite, [x]) => finite(x, &self.count),
            (Kind::MultiValued, [list]) => {
                let array = list.to_array(rows)?;
                if matches!(
                    array.data_type(),
                    DataType::List(_) | DataType::LargeList(_)
                ) {
                    let n = distinct_values(array.as_ref(), 2)?
                        .iter()
                        .filter(|(count, _)| *count > 1)
                        .count();
                    self.count.fetch_add(n as u64, Ordering::Relaxed);
                }
                Ok(list.clone())
            }
            (Kind::Overflow, [sum]) => {
                let count = Arc::clone(&self.count);
                map_columnar(sum, move |array| {
                    let out: Int64Array = match array.data_type() {
                        DataType::Decimal128(_, 0) => array
                            .as_primitive::<Decimal128Type>()
                            .iter()
                            .map(|v| {
                                let v = v?;
                                let long = i64::try_from(v).ok();
                                if long.is_none() {
                                    count.fetch_add(1, Ordering::Relaxed);
                                }
                                long
                            })
                            .collect(),
                        DataType::Int64 => array
                            .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
                            .clone(),
                        DataType::Null => Int64Array::new_null(array.len()),
                        other => {
                            return exec_err!(
                                "esql_long_sum: expected a whole decimal, got {other}"
                            );
                        }
                    };
                    Ok(Arc::new(out) as ArrayRef)
                })
            }
            _ => exec_err!("{}: unexpected arguments", self.name()),
        }
    }
}
