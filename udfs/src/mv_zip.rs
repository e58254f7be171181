//! `mv_zip(a, b, delimiter)`: ES|QL's `MV_ZIP`, each value of `a` joined to
//! the value of `b` at the same place by `delimiter`; the longer side's
//! remaining values as they are. A NULL side gives the other unchanged
//! (both NULL: NULL), a NULL delimiter NULL. The result is a list (a
//! multi-valued keyword) even of one value.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, ListBuilder, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::Result;
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

/// Each row's values as text: a list's, or a single value's; `None` for NULL.
fn values(array: &ArrayRef) -> Result<Vec<Option<Vec<Option<String>>>>> {
    let rows = array.len();
    Ok(match array.data_type() {
        DataType::List(_) | DataType::LargeList(_) => {
            let list = cast(array, &DataType::new_list(DataType::Utf8, true))?;
            let list = list.as_list::<i32>();
            (0..rows)
                .map(|row| {
                    list.is_valid(row).then(|| {
                        let v = list.value(row);
                        v.as_string::<i32>()
                            .iter()
                            .map(|s| s.map(str::to_owned))
                            .collect()
                    })
                })
                .collect()
        }
        _ => {
            let text = cast(array, &DataType::Utf8)?;
            text.as_string::<i32>()
                .iter()
                .map(|s| s.map(|s| vec![Some(s.to_owned())]))
                .collect()
        }
    })
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
        let left = values(&args.args[0].to_array(rows)?)?;
        let right = values(&args.args[1].to_array(rows)?)?;
        let delimiter = cast(&args.args[2].to_array(rows)?, &DataType::Utf8)?;
        let delimiter = delimiter.as_string::<i32>();
        let mut out = ListBuilder::new(StringBuilder::new());
        for row in 0..rows {
            if delimiter.is_null(row) {
                out.append(false);
                continue;
            }
            let zipped: Vec<Option<String>> = match (&left[row], &right[row]) {
                (None, None) => {
                    out.append(false);
                    continue;
                }
                (Some(one), None) | (None, Some(one)) => one.clone(),
                (Some(l), Some(r)) => (0..l.len().max(r.len()))
                    .map(
                        |i| match (l.get(i).cloned().flatten(), r.get(i).cloned().flatten()) {
                            (Some(x), Some(y)) => Some(format!("{x}{}{y}", delimiter.value(row))),
                            (Some(x), None) | (None, Some(x)) => Some(x),
                            (None, None) => None,
                        },
                    )
                    .collect(),
            };
            out.append_value(zipped);
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}
