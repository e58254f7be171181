//! `esql_captures(text, regex)`: the capture groups of the first match of
//! `regex` in `text`, as a list: item `n` (from 1) is group `n`, NULL where
//! that group takes no part in the match (an optional `(x)?` that matched
//! nothing); the whole list NULL where the regex does not match or `text` is
//! NULL.
//!
//! GROK and DISSECT read their fields with it, one item per field
//! (`array_element(esql_captures(t, re), n)`; the call is the same for every
//! field, so DataFusion evaluates it once a row). DataFusion's `regexp_match`
//! leaves the groups that took no part out of its list, so the groups after
//! one shift: `(\w+)? (\d+)` on `" 2"` gives `["2"]`.
//!
//! ```sql
//! SELECT esql_captures(' 2', '(\w+)? (\d+)');   -- [NULL, '2']
//! ```

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use datafusion::arrow::array::{ArrayRef, ListBuilder, StringBuilder, new_null_array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use regex::Regex;

use crate::common::{for_each_str, is_string_type, map_columnar, scalar_str};

/// The `esql_captures` scalar function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct EsqlCaptures {
    signature: Signature,
}

/// The singleton `esql_captures` function.
#[must_use]
pub fn esql_captures_udf() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| {
        Arc::new(ScalarUDF::new_from_impl(EsqlCaptures {
            signature: Signature::any(2, Volatility::Immutable),
        }))
    });
    Arc::clone(&UDF)
}

/// Regexes compiled so far, by their text: a GROK pattern's regex takes
/// about 0.6 ms to compile (three fields with an IP's alternatives), which
/// every batch paid. Cleared past [`KEPT`] regexes.
static COMPILED: LazyLock<Mutex<HashMap<String, Arc<Regex>>>> = LazyLock::new(Mutex::default);

/// The most regexes [`COMPILED`] keeps.
const KEPT: usize = 64;

/// `re` compiled, once.
fn compiled(re: &str) -> Result<Arc<Regex>> {
    let mut kept = COMPILED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(regex) = kept.get(re) {
        return Ok(Arc::clone(regex));
    }
    let regex = match Regex::new(re) {
        Ok(regex) => Arc::new(regex),
        Err(e) => return exec_err!("esql_captures: invalid regex: {e}"),
    };
    if kept.len() >= KEPT {
        kept.clear();
    }
    kept.insert(re.to_owned(), Arc::clone(&regex));
    Ok(regex)
}

fn list_type() -> DataType {
    DataType::new_list(DataType::Utf8, true)
}

impl ScalarUDFImpl for EsqlCaptures {
    fn name(&self) -> &'static str {
        "esql_captures"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [text, _] if is_string_type(text) || text == &DataType::Null => Ok(list_type()),
            _ => plan_err!("esql_captures takes text and a regex"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        // The regex is a constant of the query (GROK's or DISSECT's pattern),
        // compiled once.
        let ColumnarValue::Scalar(re) = &args.args[1] else {
            return exec_err!("esql_captures: the regex must be a constant");
        };
        let Some(re) = scalar_str(re)? else {
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from(&list_type())?));
        };
        let re = compiled(re)?;
        map_columnar(&args.args[0], |text| {
            // A NULL column (`ROW n = null | GROK n ...`) captures nothing.
            if text.data_type() == &DataType::Null {
                return Ok(new_null_array(&list_type(), text.len()));
            }
            let mut out = ListBuilder::new(StringBuilder::new());
            for_each_str(text.as_ref(), |value| {
                match value.and_then(|v| re.captures(v)) {
                    Some(groups) => {
                        for group in groups.iter().skip(1) {
                            out.values().append_option(group.map(|m| m.as_str()));
                        }
                        out.append(true);
                    }
                    None => out.append(false),
                }
            })?;
            Ok(Arc::new(out.finish()) as ArrayRef)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Array, AsArray, NullArray, StringArray};
    use datafusion::arrow::datatypes::Field;
    use datafusion::config::ConfigOptions;

    fn captures(text: ArrayRef, re: &str) -> Vec<Option<Vec<Option<String>>>> {
        let rows = text.len();
        let args = ScalarFunctionArgs {
            args: vec![
                ColumnarValue::Array(text),
                ColumnarValue::Scalar(ScalarValue::Utf8(Some(re.to_owned()))),
            ],
            arg_fields: (0..2)
                .map(|_| Arc::new(Field::new("t", DataType::Utf8, true)))
                .collect(),
            number_rows: rows,
            return_field: Arc::new(Field::new("out", list_type(), true)),
            config_options: Arc::new(ConfigOptions::default()),
        };
        let ColumnarValue::Array(out) = esql_captures_udf().invoke_with_args(args).unwrap() else {
            panic!("an array in, an array out");
        };
        let lists = out.as_list::<i32>();
        (0..lists.len())
            .map(|i| {
                lists.is_valid(i).then(|| {
                    lists
                        .value(i)
                        .as_string::<i32>()
                        .iter()
                        .map(|v| v.map(str::to_owned))
                        .collect()
                })
            })
            .collect()
    }

    #[test]
    fn a_group_that_takes_no_part_is_null_and_the_others_keep_their_places() {
        let text: ArrayRef = Arc::new(StringArray::from(vec![
            Some(" 2"),
            Some("a 1"),
            Some("nothing"),
            None,
        ]));
        assert_eq!(
            captures(text, r"(\w+)? (\d+)"),
            vec![
                Some(vec![None, Some("2".into())]),
                Some(vec![Some("a".into()), Some("1".into())]),
                None,
                None,
            ]
        );
    }

    #[test]
    fn an_empty_capture_is_empty_text_not_null() {
        let text: ArrayRef = Arc::new(StringArray::from(vec![Some("x=")]));
        assert_eq!(
            captures(text, r"x=(.*)"),
            vec![Some(vec![Some(String::new())])]
        );
    }

    #[test]
    fn a_null_column_captures_nothing() {
        assert_eq!(
            captures(Arc::new(NullArray::new(2)), r"(\w+)"),
            vec![None, None]
        );
    }
}
