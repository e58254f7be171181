//! `mv_zip(a, b, delimiter)`: ES|QL's `MV_ZIP`, each value of `a` joined to
//! the value of `b` at the same place by `delimiter`; the longer side's
//! remaining values as they are. A NULL side gives the other unchanged
//! (both NULL: NULL), a NULL delimiter NULL. The result is a list (a
//! multi-valued keyword) even of one value.

use std::fmt::Write as _;
use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, ListBuilder, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// `mv_zip` (see the module).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct MvZip {
    signature: Signature,
}

/// `mv_zip`.
#[must_use]
pub fn mv_zip_udf() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| {
        Arc::new(ScalarUDF::new_from_impl(MvZip {
            signature: Signature::any(3, Volatility::Immutable),
        }))
    });
    Arc::clone(&UDF)
}

/// One argument's values as text, borrowed: a list's, or each row's one
/// value.
struct Side {
    text: ArrayRef,
    /// Where each row's values start in `text` (one more than the rows).
    starts: Vec<usize>,
    /// Each row's validity (a NULL row is no side at all).
    valid: Vec<bool>,
}

impl Side {
    fn of(array: &ArrayRef) -> Result<Side> {
        let rows = array.len();
        let valid = (0..rows).map(|row| array.is_valid(row)).collect();
        Ok(match array.data_type() {
            DataType::List(_) | DataType::LargeList(_) => {
                let list = cast(array, &DataType::new_list(DataType::Utf8, true))?;
                let list = list.as_list::<i32>();
                let starts = list.offsets().iter().map(|o| o.unsigned_abs() as usize);
                Side {
                    text: Arc::clone(list.values()),
                    starts: starts.collect(),
                    valid,
                }
            }
            _ => Side {
                text: cast(array, &DataType::Utf8)?,
                starts: (0..=rows).collect(),
                valid,
            },
        })
    }

    /// Row `row`'s values, `None` for a NULL row.
    fn row(&self, row: usize) -> Option<impl Iterator<Item = Option<&str>>> {
        let text = self.text.as_string::<i32>();
        self.valid[row].then(|| {
            (self.starts[row]..self.starts[row + 1])
                .map(|i| text.is_valid(i).then(|| text.value(i)))
        })
    }
}

impl ScalarUDFImpl for MvZip {
    fn name(&self) -> &'static str {
        "mv_zip"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::List(Arc::new(Field::new(
            "item",
            DataType::Utf8,
            true,
        ))))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let left = Side::of(&args.args[0].to_array(rows)?)?;
        let right = Side::of(&args.args[1].to_array(rows)?)?;
        let delimiter = cast(&args.args[2].to_array(rows)?, &DataType::Utf8)?;
        let delimiter = delimiter.as_string::<i32>();
        let mut out = ListBuilder::new(StringBuilder::new());
        for row in 0..rows {
            let (l, r) = (left.row(row), right.row(row));
            if delimiter.is_null(row) || (l.is_none() && r.is_none()) {
                out.append(false);
                continue;
            }
            let mut l = l.into_iter().flatten();
            let mut r = r.into_iter().flatten();
            loop {
                let (x, y) = match (l.next(), r.next()) {
                    (None, None) => break,
                    (x, y) => (x.flatten(), y.flatten()),
                };
                let values = out.values();
                match (x, y) {
                    (Some(x), Some(y)) => {
                        values
                            .write_str(x)
                            .and_then(|()| values.write_str(delimiter.value(row)))
                            .and_then(|()| values.write_str(y))
                            .map_err(|e| DataFusionError::Execution(e.to_string()))?;
                        values.append_value("");
                    }
                    (Some(one), None) | (None, Some(one)) => values.append_value(one),
                    (None, None) => values.append_null(),
                }
            }
            out.append(true);
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}
