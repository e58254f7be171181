//! Statistics over one row's list of numbers, as ES|QL's multi-value
//! functions compute them (`DataFusion`'s `array_sum` is a floating sum):
//!
//! - `mv_sum_exact(list)`: the exact sum of whole numbers as `DECIMAL(38, 0)`
//!   (the caller makes a sum past the type's range NULL with a warning), or the
//!   sum of doubles;
//! - `mv_median(list)`: the middle value; with an even count, the mean of the
//!   two middle ones, rounded toward negative infinity for whole numbers (as
//!   Elasticsearch's `(a & b) + ((a ^ b) >> 1)`), in the list's item type;
//! - `mv_mad(list)`: the median absolute deviation, `median(|x - median(x)|)`,
//!   as a double (`MEDIAN_ABSOLUTE_DEVIATION` over a group's collected values);
//! - `mv_variance(list)`: the population variance, as a double (`VARIANCE`
//!   and `STD_DEV` over a group's collected values of a multi-valued field);
//! - `mv_pseries(list, p)`: `sum(x[i] / (i + 1)^p)` in stored order, with
//!   compensated summation, as a double (`MV_PSERIES_WEIGHTED_SUM`);
//! - `mv_percentile(list, p)`: the `p`th percentile (0 to 100, else NULL),
//!   interpolated linearly between the closest ranks, in the list's item
//!   type (whole numbers interpolate toward negative infinity), as
//!   Elasticsearch's `MV_PERCENTILE`;
//! - `esql_percentile(list, p)`: the `p`th percentile (0 to 100, else NULL)
//!   of a list of doubles, as Elasticsearch's `PERCENTILE` aggregate answers
//!   from its digest's sorted values (`Dist.quantile`: `low + weight * (high
//!   - low)` at `p / 100 * (n - 1)`), over a group's collected values;
//! - `mv_median_absolute_deviation(list)`: `median(|x - median(x)|)` in the
//!   list's item type, each median of an even count the mean of the middle
//!   two rounded toward zero for whole numbers (`MV_MEDIAN_ABSOLUTE_DEVIATION`).
//!
//! A NULL or empty list gives NULL; NULL items are skipped.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Decimal128Builder, Float64Array, Float64Builder, Int64Array,
    PrimitiveArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    ArrowPrimitiveType, DataType, Float64Type, Int64Type, UInt64Type,
};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::common::map_columnar;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Op {
    SumExact,
    Median,
    Mad,
    Pseries,
    Percentile,
    Quantile,
    MvMad,
    Variance,
}

/// One of the list statistics (see the module).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ListStat {
    op: Op,
    signature: Signature,
}

fn udf(op: Op) -> ScalarUDF {
    let arity = if matches!(op, Op::Pseries | Op::Percentile | Op::Quantile) {
        2
    } else {
        1
    };
    ScalarUDF::new_from_impl(ListStat {
        op,
        signature: Signature::any(arity, Volatility::Immutable),
    })
}

/// `mv_sum_exact`.
#[must_use]
pub fn mv_sum_exact_udf() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| Arc::new(udf(Op::SumExact)));
    Arc::clone(&UDF)
}

/// `mv_median`.
#[must_use]
pub fn mv_median_udf() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| Arc::new(udf(Op::Median)));
    Arc::clone(&UDF)
}

/// `mv_mad`.
#[must_use]
pub fn mv_mad_udf() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| Arc::new(udf(Op::Mad)));
    Arc::clone(&UDF)
}

/// `mv_variance`.
#[must_use]
pub fn mv_variance_udf() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| Arc::new(udf(Op::Variance)));
    Arc::clone(&UDF)
}

/// `mv_pseries`.
#[must_use]
pub fn mv_pseries_udf() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| Arc::new(udf(Op::Pseries)));
    Arc::clone(&UDF)
}

/// `mv_percentile`.
#[must_use]
pub fn mv_percentile_udf() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| Arc::new(udf(Op::Percentile)));
    Arc::clone(&UDF)
}

/// `esql_percentile`.
#[must_use]
pub fn esql_percentile_udf() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| Arc::new(udf(Op::Quantile)));
    Arc::clone(&UDF)
}

/// `mv_median_absolute_deviation`.
#[must_use]
pub fn mv_median_absolute_deviation_udf() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| Arc::new(udf(Op::MvMad)));
    Arc::clone(&UDF)
}

/// The median of sorted whole numbers, an even count's rounded toward zero.
fn median_toward_zero(sorted: &[i64]) -> i64 {
    let n = sorted.len();
    if n % 2 == 1 {
        return sorted[n / 2];
    }
    let sum = i128::from(sorted[n / 2 - 1]) + i128::from(sorted[n / 2]);
    // Within the two values' range, so it fits.
    i64::try_from(sum / 2).unwrap_or_default()
}

/// The median absolute deviation of whole numbers, each median of an even
/// count rounded toward zero (a deviation past the type saturates).
fn mad_of_whole(mut v: Vec<i64>) -> i64 {
    v.sort_unstable();
    let m = i128::from(median_toward_zero(&v));
    let mut deviations: Vec<i64> = v
        .iter()
        .map(|x| i64::try_from((i128::from(*x) - m).abs()).unwrap_or(i64::MAX))
        .collect();
    deviations.sort_unstable();
    median_toward_zero(&deviations)
}

/// The `p`th percentile of sorted whole numbers: interpolated, the
/// fraction of the step truncated (Elasticsearch's `(long) (frac * diff)`).
fn percentile_whole(sorted: &[i64], p: f64) -> i64 {
    let index = p / 100.0 * (sorted.len() - 1) as f64;
    let lo = index.floor() as usize;
    let Some(&hi) = sorted.get(lo + 1) else {
        return sorted[sorted.len() - 1];
    };
    let diff = i128::from(hi) - i128::from(sorted[lo]);
    let step = ((index - lo as f64) * diff as f64) as i128;
    i64::try_from(i128::from(sorted[lo]) + step).unwrap_or(hi)
}

/// The `p`th percentile of sorted doubles, interpolated.
fn percentile_float(sorted: &[f64], p: f64) -> f64 {
    let index = p / 100.0 * (sorted.len() - 1) as f64;
    let lo = index.floor() as usize;
    let Some(&hi) = sorted.get(lo + 1) else {
        return sorted[sorted.len() - 1];
    };
    let (low, frac) = (sorted[lo], index - lo as f64);
    if low < 0.0 && hi > 0.0 {
        (low + frac * hi) - frac * low
    } else {
        low + frac * (hi - low)
    }
}

/// The `q`th quantile (0 to 1) of sorted doubles, as Elasticsearch's
/// `Dist.quantile` (the digest of up to 20,000 values keeps them all).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let last = sorted.len() - 1;
    let index = q * last as f64;
    if index <= 0.0 {
        return sorted[0];
    }
    if index >= last as f64 {
        return sorted[last];
    }
    let lo = index.floor() as usize;
    let (low, high) = (sorted[lo], sorted[lo + 1]);
    low + (index - lo as f64) * (high - low)
}

/// The item type of a list type.
fn item(t: &DataType) -> Option<&DataType> {
    match t {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            Some(f.data_type())
        }
        _ => None,
    }
}

/// A whole number, signed or not, as [`median_whole`] computes with.
trait Whole:
    Copy
    + Ord
    + std::ops::BitAnd<Output = Self>
    + std::ops::BitXor<Output = Self>
    + std::ops::Shr<u32, Output = Self>
    + std::ops::Add<Output = Self>
{
}

impl<T> Whole for T where
    T: Copy
        + Ord
        + std::ops::BitAnd<Output = T>
        + std::ops::BitXor<Output = T>
        + std::ops::Shr<u32, Output = T>
        + std::ops::Add<Output = T>
{
}

/// Each row's median (see [`median_whole`]); NULL for a row without values.
fn medians<T>(rows: Vec<Option<Vec<T::Native>>>) -> PrimitiveArray<T>
where
    T: ArrowPrimitiveType,
    T::Native: Whole,
{
    rows.into_iter()
        .map(|row| {
            row.map(|mut v| {
                v.sort_unstable();
                median_whole(&v)
            })
        })
        .collect()
}

/// The median of sorted whole numbers (signed or not), rounded toward
/// negative infinity: the mean of the middle two without overflow.
fn median_whole<T: Whole>(sorted: &[T]) -> T {
    let n = sorted.len();
    if n % 2 == 1 {
        return sorted[n / 2];
    }
    let (a, b) = (sorted[n / 2 - 1], sorted[n / 2]);
    (a & b) + ((a ^ b) >> 1)
}

/// The median of sorted doubles.
fn median_float(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        f64::midpoint(sorted[n / 2 - 1], sorted[n / 2])
    }
}

/// Compensated (Kahan) sum.
fn kahan(values: impl Iterator<Item = f64>) -> f64 {
    let (mut sum, mut carry) = (0.0_f64, 0.0_f64);
    for v in values {
        let y = v - carry;
        let t = sum + y;
        carry = (t - sum) - y;
        sum = t;
    }
    sum
}

/// Each row's percentile, as a double; `None` where NULL.
fn p_values(p: Option<&ColumnarValue>, rows: usize) -> Result<Vec<Option<f64>>> {
    let Some(p) = p else {
        return Ok(vec![None; rows]);
    };
    let p = cast(&p.to_array(rows)?, &DataType::Float64)?;
    Ok(p.as_primitive::<Float64Type>().iter().collect())
}

impl ListStat {
    /// Each row's items as `T` (NULL items skipped); `None` for a NULL or
    /// empty list.
    fn rows<T: ArrowPrimitiveType>(list: &ArrayRef) -> Result<Vec<Option<Vec<T::Native>>>> {
        let list = cast(list, &DataType::new_list(T::DATA_TYPE, true))?;
        let list = list.as_list::<i32>();
        Ok((0..list.len())
            .map(|row| {
                if list.is_null(row) {
                    return None;
                }
                let values: Vec<T::Native> = list
                    .value(row)
                    .as_primitive::<T>()
                    .iter()
                    .flatten()
                    .collect();
                (!values.is_empty()).then_some(values)
            })
            .collect())
    }

    fn ints(list: &ArrayRef) -> Result<Vec<Option<Vec<i64>>>> {
        Self::rows::<Int64Type>(list)
    }

    fn floats(list: &ArrayRef) -> Result<Vec<Option<Vec<f64>>>> {
        Self::rows::<Float64Type>(list)
    }

    /// `mv_percentile`: each row at its own percentile.
    fn percentile(
        list: &ArrayRef,
        items: &DataType,
        p_array: Option<&ColumnarValue>,
    ) -> Result<ArrayRef> {
        let ps = p_values(p_array, list.len())?;
        let valid = |row: usize| ps[row].filter(|p| (0.0..=100.0).contains(p));
        Ok(if items.is_integer() {
            let values: Int64Array = Self::ints(list)?
                .into_iter()
                .enumerate()
                .map(|(row, v)| {
                    let (mut v, p) = (v?, valid(row)?);
                    v.sort_unstable();
                    Some(percentile_whole(&v, p))
                })
                .collect();
            cast(&(Arc::new(values) as ArrayRef), items)?
        } else {
            let values: Float64Array = Self::floats(list)?
                .into_iter()
                .enumerate()
                .map(|(row, v)| {
                    let (mut v, p) = (v?, valid(row)?);
                    v.sort_unstable_by(f64::total_cmp);
                    Some(percentile_float(&v, p))
                })
                .collect();
            Arc::new(values)
        })
    }

    /// `mv_median_absolute_deviation` of whole numbers, in their type.
    fn mad_whole(list: &ArrayRef, items: &DataType) -> Result<ArrayRef> {
        let values: Int64Array = Self::ints(list)?
            .into_iter()
            .map(|row| row.map(mad_of_whole))
            .collect();
        Ok(cast(&(Arc::new(values) as ArrayRef), items)?)
    }

    /// The sum or median of lists of unsigned longs, in their own range;
    /// `None` for the other statistics.
    fn unsigned(&self, list: &ArrayRef) -> Result<Option<ArrayRef>> {
        let rows = Self::rows::<UInt64Type>(list)?;
        Ok(Some(match self.op {
            Op::SumExact => {
                let mut out = Decimal128Builder::new();
                for row in rows {
                    out.append_option(row.map(|v| v.iter().map(|&x| i128::from(x)).sum::<i128>()));
                }
                Arc::new(out.finish().with_precision_and_scale(38, 0)?)
            }
            Op::Median => Arc::new(medians::<UInt64Type>(rows)),
            _ => return Ok(None),
        }))
    }

    fn eval(
        &self,
        list: &ArrayRef,
        p: Option<f64>,
        p_array: Option<&ColumnarValue>,
    ) -> Result<ArrayRef> {
        let Some(items) = item(list.data_type()) else {
            return exec_err!("{} takes a list, got {}", self.name(), list.data_type());
        };
        let whole = items.is_integer();
        // Unsigned longs past the long range would not survive a cast to it.
        if items == &DataType::UInt64
            && let Some(out) = self.unsigned(list)?
        {
            return Ok(out);
        }
        Ok(match self.op {
            Op::SumExact if whole => {
                let mut out = Decimal128Builder::new();
                for row in Self::ints(list)? {
                    out.append_option(row.map(|v| v.iter().map(|&x| i128::from(x)).sum::<i128>()));
                }
                Arc::new(out.finish().with_precision_and_scale(38, 0)?)
            }
            Op::SumExact => {
                let mut out = Float64Builder::new();
                for row in Self::floats(list)? {
                    out.append_option(row.map(|v| v.iter().sum::<f64>()));
                }
                Arc::new(out.finish())
            }
            Op::Median if whole => {
                let values = medians::<Int64Type>(Self::ints(list)?);
                cast(&(Arc::new(values) as ArrayRef), items)?
            }
            Op::Median => {
                let values: Float64Array = Self::floats(list)?
                    .into_iter()
                    .map(|row| {
                        row.map(|mut v| {
                            v.sort_unstable_by(f64::total_cmp);
                            median_float(&v)
                        })
                    })
                    .collect();
                Arc::new(values)
            }
            Op::MvMad if whole => Self::mad_whole(list, items)?,
            Op::Mad | Op::MvMad => {
                let values: Float64Array = Self::floats(list)?
                    .into_iter()
                    .map(|row| {
                        row.map(|mut v| {
                            v.sort_unstable_by(f64::total_cmp);
                            let m = median_float(&v);
                            let mut deviations: Vec<f64> =
                                v.iter().map(|x| (x - m).abs()).collect();
                            deviations.sort_unstable_by(f64::total_cmp);
                            median_float(&deviations)
                        })
                    })
                    .collect();
                Arc::new(values)
            }
            Op::Percentile => Self::percentile(list, items, p_array)?,
            Op::Quantile => {
                let q = p.filter(|p| (0.0..=100.0).contains(p)).map(|p| p / 100.0);
                let values: Float64Array = Self::floats(list)?
                    .into_iter()
                    .map(|row| {
                        let (mut v, q) = (row?, q?);
                        v.sort_unstable_by(f64::total_cmp);
                        Some(quantile(&v, q))
                    })
                    .collect();
                Arc::new(values)
            }
            Op::Variance => {
                // Two passes: the mean, then the squared deviations from it.
                let values: Float64Array = Self::floats(list)?
                    .into_iter()
                    .map(|row| {
                        row.map(|v| {
                            let n = v.len() as f64;
                            let mean = kahan(v.iter().copied()) / n;
                            kahan(v.iter().map(|x| (x - mean) * (x - mean))) / n
                        })
                    })
                    .collect();
                Arc::new(values)
            }
            Op::Pseries => {
                let p = p.unwrap_or(1.0);
                let values: Float64Array = Self::floats(list)?
                    .into_iter()
                    .map(|row| {
                        row.map(|v| {
                            kahan(
                                v.iter()
                                    .enumerate()
                                    .map(|(i, x)| x / ((i + 1) as f64).powf(p)),
                            )
                        })
                    })
                    .collect();
                Arc::new(values)
            }
        })
    }
}

impl ScalarUDFImpl for ListStat {
    fn name(&self) -> &'static str {
        match self.op {
            Op::SumExact => "mv_sum_exact",
            Op::Median => "mv_median",
            Op::Mad => "mv_mad",
            Op::Pseries => "mv_pseries",
            Op::Percentile => "mv_percentile",
            Op::Quantile => "esql_percentile",
            Op::MvMad => "mv_median_absolute_deviation",
            Op::Variance => "mv_variance",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        let Some(items) = arg_types.first().and_then(item) else {
            return plan_err!("{} takes a list of numbers", self.name());
        };
        if !items.is_numeric() && items != &DataType::Null {
            return plan_err!("{} takes a list of numbers, got {items}", self.name());
        }
        Ok(match self.op {
            Op::SumExact if items.is_integer() => DataType::Decimal128(38, 0),
            Op::Median | Op::Percentile | Op::MvMad if items.is_integer() => items.clone(),
            _ => DataType::Float64,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        if self.op == Op::Percentile {
            // The percentile may differ per row.
            let rows = args.number_rows;
            let list = args.args[0].to_array(rows)?;
            let out = self.eval(&list, None, Some(&args.args[1]))?;
            return Ok(ColumnarValue::Array(out));
        }
        let p = match args.args.get(1) {
            None => None,
            Some(ColumnarValue::Scalar(s)) => match s.cast_to(&DataType::Float64)? {
                ScalarValue::Float64(p) => p,
                _ => None,
            },
            Some(ColumnarValue::Array(_)) => {
                return exec_err!("{}: the second argument must be a constant", self.name());
            }
        };
        map_columnar(&args.args[0], |list| self.eval(list, p, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_round_toward_negative_infinity_for_whole_numbers() {
        // Elasticsearch's examples: [3, 5, 1] -> 3, [3, 7, 1, 6] -> 4.
        assert_eq!(median_whole(&[1, 3, 5]), 3);
        assert_eq!(median_whole(&[1, 3, 6, 7]), 4);
        assert_eq!(median_whole(&[-4, -1]), -3);
        assert_eq!(median_whole(&[i64::MAX - 1, i64::MAX]), i64::MAX - 1);
        assert!((median_float(&[-6.77, 4.69, 5.05, 12.15]) - 4.87).abs() < 1e-12);
    }

    #[test]
    fn percentiles_match_elasticsearch_s_examples() {
        // mv_percentile.csv-spec: [5, 5, 10, 12, 5000] at 50 is 10; [0, 10]
        // at 75 is 7 as whole numbers, 7.5 as doubles; [0, 5, 10] at 75 is 7.
        assert_eq!(percentile_whole(&[5, 5, 10, 12, 5000], 50.0), 10);
        assert_eq!(percentile_whole(&[0, 10], 75.0), 7);
        assert!((percentile_float(&[0.0, 10.0], 75.0) - 7.5).abs() < 1e-12);
        assert_eq!(percentile_whole(&[0, 5, 10], 75.0), 7);
        assert!((percentile_float(&[0.0, 5.0, 10.0], 75.0) - 7.5).abs() < 1e-12);
        assert_eq!(percentile_whole(&[3, 9], 0.0), 3);
        assert_eq!(percentile_whole(&[3, 9], 100.0), 9);
        assert_eq!(percentile_whole(&[50], 90.0), 50);
    }

    #[test]
    fn the_aggregate_s_percentile_is_the_digest_s_interpolation() {
        // 100 salaries' 95th percentile: index 94.05, 5% of the step between
        // the 95th and 96th (Elasticsearch: 73584.95, stats_percentile and
        // inlinestats csv-spec); the quantized interpolation of DataFusion's
        // percentile_cont gave 73584.949861.
        let mut v: Vec<f64> = (0..100).map(f64::from).collect();
        v[94] = 73_578.0;
        v[95] = 73_717.0;
        assert_eq!(quantile(&v, 0.95).to_bits(), 73_584.95_f64.to_bits());
        assert_eq!(quantile(&[1.0, 2.0], 0.0).to_bits(), 1.0_f64.to_bits());
        assert_eq!(quantile(&[1.0, 2.0], 1.0).to_bits(), 2.0_f64.to_bits());
        assert_eq!(quantile(&[7.0], 0.3).to_bits(), 7.0_f64.to_bits());
        // Across zero the same formula (MV_PERCENTILE's differs there).
        assert_eq!(quantile(&[-1.0, 3.0], 0.5).to_bits(), 1.0_f64.to_bits());
    }

    #[test]
    fn median_absolute_deviations_round_toward_zero() {
        // mv_median_absolute_deviation.csv-spec: [0, 2, 5, 6] -> 2,
        // [-7, 11] -> 9, [-7, 0, 1] -> 1.
        assert_eq!(mad_of_whole(vec![6, 0, 5, 2]), 2);
        assert_eq!(mad_of_whole(vec![11, -7]), 9);
        assert_eq!(mad_of_whole(vec![-7, 0, 1]), 1);
        assert_eq!(mad_of_whole(vec![i64::MIN, i64::MAX]), i64::MAX);
        assert_eq!(median_toward_zero(&[-4, -1]), -2);
    }

    #[test]
    fn the_p_series_matches_elasticsearch_s_example() {
        // MV_PSERIES_WEIGHTED_SUM([70.0, 45.0, 21.0, 21.0, 21.0], 1.5) = 94.45465156212452.
        let v = [70.0_f64, 45.0, 21.0, 21.0, 21.0];
        let sum = kahan(
            v.iter()
                .enumerate()
                .map(|(i, x)| x / ((i + 1) as f64).powf(1.5)),
        );
        assert_eq!(sum.to_bits(), 94.454_651_562_124_52_f64.to_bits());
    }
}
