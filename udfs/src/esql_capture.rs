//! `esql_capture(text, regex, group)`: the text of capture group `group` (1
//! is the first) of the first match of `regex` in `text`; NULL where the
//! regex does not match, where the group takes no part in the match (an
//! optional `(x)?` that matched nothing), or where an argument is NULL.
//!
//! GROK and DISSECT read their fields with it. DataFusion's `regexp_match`
//! leaves the groups that took no part out of its list, so the groups after
//! one shift: `(\w+)? (\d+)` on `" 2"` gives `["2"]`, and group 2 is lost.
//!
//! ```sql
//! SELECT esql_capture('a 1', '(\w+) (\d+)', 2);   -- '1'
//! ```

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{ArrayRef, StringBuilder, new_null_array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use regex::Regex;

use crate::common::{for_each_str, is_string_type, map_columnar, scalar_str};

/// The `esql_capture` scalar function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct EsqlCapture {
    signature: Signature,
}

/// The singleton `esql_capture` function.
#[must_use]
pub fn esql_capture_udf() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| {
        Arc::new(ScalarUDF::new_from_impl(EsqlCapture {
            signature: Signature::any(3, Volatility::Immutable),
        }))
    });
    Arc::clone(&UDF)
}

impl ScalarUDFImpl for EsqlCapture {
    fn name(&self) -> &'static str {
        "esql_capture"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [text, _, _] if is_string_type(text) || text == &DataType::Null => Ok(DataType::Utf8),
            _ => plan_err!("esql_capture takes text, a regex and a group number"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        // The regex and the group are constants of the query (GROK's and
        // DISSECT's patterns), compiled once per batch.
        let (ColumnarValue::Scalar(re), ColumnarValue::Scalar(group)) =
            (&args.args[1], &args.args[2])
        else {
            return exec_err!("esql_capture: the regex and the group must be constants");
        };
        let Some(re) = scalar_str(re)? else {
            return Ok(ColumnarValue::Scalar(ScalarValue::Utf8(None)));
        };
        let re = match Regex::new(re) {
            Ok(re) => re,
            Err(e) => return exec_err!("esql_capture: invalid regex: {e}"),
        };
        let ScalarValue::Int64(Some(group)) = group.cast_to(&DataType::Int64)? else {
            return Ok(ColumnarValue::Scalar(ScalarValue::Utf8(None)));
        };
        let group = usize::try_from(group).unwrap_or(usize::MAX);
        map_columnar(&args.args[0], |text| {
            // A NULL column (`ROW n = null | GROK n ...`) captures nothing.
            if text.data_type() == &DataType::Null {
                return Ok(new_null_array(&DataType::Utf8, text.len()));
            }
            let mut out = StringBuilder::with_capacity(text.len(), 0);
            for_each_str(text.as_ref(), |value| {
                out.append_option(
                    value
                        .and_then(|v| re.captures(v))
                        .and_then(|c| c.get(group))
                        .map(|m| m.as_str()),
                );
            })?;
            Ok(Arc::new(out.finish()) as ArrayRef)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Array, AsArray, StringArray};
    use datafusion::arrow::datatypes::Field;
    use datafusion::config::ConfigOptions;

    fn capture(texts: Vec<Option<&str>>, re: &str, group: i64) -> Vec<Option<String>> {
        let text: ArrayRef = Arc::new(StringArray::from(texts));
        let rows = text.len();
        let args = ScalarFunctionArgs {
            args: vec![
                ColumnarValue::Array(text),
                ColumnarValue::Scalar(ScalarValue::Utf8(Some(re.to_owned()))),
                ColumnarValue::Scalar(ScalarValue::Int64(Some(group))),
            ],
            arg_fields: (0..3)
                .map(|_| Arc::new(Field::new("t", DataType::Utf8, true)))
                .collect(),
            number_rows: rows,
            return_field: Arc::new(Field::new("out", DataType::Utf8, true)),
            config_options: Arc::new(ConfigOptions::default()),
        };
        let ColumnarValue::Array(out) = esql_capture_udf().invoke_with_args(args).unwrap() else {
            panic!("an array in, an array out");
        };
        out.as_string::<i32>()
            .iter()
            .map(|v| v.map(str::to_owned))
            .collect()
    }

    #[test]
    fn a_group_that_takes_no_part_is_null_and_the_others_keep_their_numbers() {
        let re = r"(\w+)? (\d+)";
        let texts = vec![Some(" 2"), Some("a 1"), Some("nothing"), None];
        assert_eq!(
            capture(texts.clone(), re, 1),
            vec![None, Some("a".into()), None, None]
        );
        assert_eq!(
            capture(texts, re, 2),
            vec![Some("2".into()), Some("1".into()), None, None]
        );
    }

    #[test]
    fn a_null_column_captures_nothing() {
        let text: ArrayRef = Arc::new(datafusion::arrow::array::NullArray::new(2));
        let args = ScalarFunctionArgs {
            args: vec![
                ColumnarValue::Array(text),
                ColumnarValue::Scalar(ScalarValue::Utf8(Some(r"(\w+)".to_owned()))),
                ColumnarValue::Scalar(ScalarValue::Int64(Some(1))),
            ],
            arg_fields: (0..3)
                .map(|_| Arc::new(Field::new("t", DataType::Utf8, true)))
                .collect(),
            number_rows: 2,
            return_field: Arc::new(Field::new("out", DataType::Utf8, true)),
            config_options: Arc::new(ConfigOptions::default()),
        };
        let ColumnarValue::Array(out) = esql_capture_udf().invoke_with_args(args).unwrap() else {
            panic!("an array in, an array out");
        };
        assert_eq!((out.len(), out.null_count()), (2, 2));
    }

    #[test]
    fn an_empty_capture_is_empty_text_not_null() {
        assert_eq!(
            capture(vec![Some("x=")], r"x=(.*)", 1),
            vec![Some(String::new())]
        );
    }
}
