//! `mv_count(field)`: how many values a field holds, as ES|QL's `MV_COUNT`.
//!
//! A list counts its distinct non-NULL values for strings (Elasticsearch stores
//! keyword arrays de-duplicated) and its non-NULL values otherwise; an empty list or
//! NULL gives NULL (Elasticsearch has no empty arrays: the field is missing); any
//! other non-NULL value counts 1.
//!
//! ```sql
//! SELECT count(*) FROM events WHERE mv_count("event.category") > 1;
//! ```

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, ArrayRef, Int32Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::common::map_columnar;
use crate::mv_single::{list_element_type, with_counted};

/// The `mv_count` scalar function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct MvCount {
    signature: Signature,
}

impl Default for MvCount {
    fn default() -> Self {
        Self {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

/// The singleton `mv_count` function.
#[must_use]
pub fn mv_count_udf() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> =
        LazyLock::new(|| Arc::new(ScalarUDF::new_from_impl(MvCount::default())));
    Arc::clone(&UDF)
}

impl ScalarUDFImpl for MvCount {
    fn name(&self) -> &'static str {
        "mv_count"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        if arg_types.len() == 1 {
            Ok(DataType::Int32)
        } else {
            plan_err!("mv_count takes one argument")
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [arg] = args.args.as_slice() else {
            return exec_err!("mv_count takes one argument");
        };
        map_columnar(arg, count)
    }
}

pub(crate) fn count(array: &ArrayRef) -> Result<ArrayRef> {
    let out: Int32Array = if list_element_type(array.data_type()).is_some() {
        with_counted(array, |counted| {
            Ok(counted
                .counts
                .iter()
                .map(|&(n, _)| (n > 0).then(|| i32::try_from(n).unwrap_or(i32::MAX)))
                .collect())
        })?
    } else {
        (0..array.len())
            .map(|i| array.is_valid(i).then_some(1))
            .collect()
    };
    Ok(Arc::new(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{AsArray, StringArray};
    use datafusion::arrow::datatypes::Int32Type;

    #[test]
    fn plain_values_count_one_and_null_counts_null() {
        let input: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), None]));
        let out = count(&input).unwrap();
        let out = out.as_primitive::<Int32Type>();
        assert_eq!(out.iter().collect::<Vec<_>>(), vec![Some(1), None]);
    }
}
