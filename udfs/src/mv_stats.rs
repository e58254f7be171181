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
//! - `mv_pseries(list, p)`: `sum(x[i] / (i + 1)^p)` in stored order, with
//!   compensated summation, as a double (`MV_PSERIES_WEIGHTED_SUM`).
//!
//! A NULL or empty list gives NULL; NULL items are skipped.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Decimal128Builder, Float64Array, Float64Builder, Int64Array,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{ArrowPrimitiveType, DataType, Float64Type, Int64Type};
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
}

/// One of the list statistics (see the module).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ListStat {
    op: Op,
    signature: Signature,
}

fn udf(op: Op) -> ScalarUDF {
    let arity = if op == Op::Pseries { 2 } else { 1 };
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

/// `mv_pseries`.
#[must_use]
pub fn mv_pseries_udf() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| Arc::new(udf(Op::Pseries)));
    Arc::clone(&UDF)
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

/// The median of sorted whole numbers, rounded toward negative infinity.
fn median_whole(sorted: &[i64]) -> i64 {
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

    fn eval(&self, list: &ArrayRef, p: Option<f64>) -> Result<ArrayRef> {
        let Some(items) = item(list.data_type()) else {
            return exec_err!("{} takes a list, got {}", self.name(), list.data_type());
        };
        let whole = items.is_integer();
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
                let values: Int64Array = Self::ints(list)?
                    .into_iter()
                    .map(|row| {
                        row.map(|mut v| {
                            v.sort_unstable();
                            median_whole(&v)
                        })
                    })
                    .collect();
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
            Op::Mad => {
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
            Op::Median if items.is_integer() => items.clone(),
            _ => DataType::Float64,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let p = match args.args.get(1) {
            None => None,
            Some(ColumnarValue::Scalar(s)) => match s.cast_to(&DataType::Float64)? {
                ScalarValue::Float64(p) => p,
                _ => None,
            },
            Some(ColumnarValue::Array(_)) => {
                return exec_err!("{}: the exponent must be a constant", self.name());
            }
        };
        map_columnar(&args.args[0], |list| self.eval(list, p))
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
