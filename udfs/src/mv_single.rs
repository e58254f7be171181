//! `mv_single(field)`: a field's value as ES|QL's comparisons see it.
//!
//! ECS fields such as `event.category` are arrays. In ES|QL, `==` and most
//! functions on a multi-valued field give NULL, so `event.category == "network"`
//! keeps `["network"]` and drops `["network", "process"]`. Elasticsearch stores
//! keyword arrays de-duplicated, so `["network", "network"]` is single-valued.
//!
//! `mv_single` turns a list into that view: the one value when the list holds a
//! single distinct non-NULL value (strings are de-duplicated, as keyword doc values
//! are; other element types are not, as numeric doc values are not), NULL when it
//! holds none or several. A non-list argument is returned unchanged, and the call
//! is removed while planning, so it costs nothing on plain string columns and keeps
//! their predicates eligible for Parquet pruning.
//!
//! ```sql
//! SELECT count(*) FROM events WHERE mv_single("event.category") = 'network';
//! ```

use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

use crate::common::{LastArrays, is_string_type, map_columnar};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, OffsetSizeTrait, UInt64Array};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::compute::{cast, take};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// Element type of a list type, `None` for anything else.
pub(crate) fn list_element_type(data_type: &DataType) -> Option<&DataType> {
    match data_type {
        DataType::List(f) | DataType::LargeList(f) => Some(f.data_type()),
        _ => None,
    }
}

/// For each row of a list array: how many distinct non-NULL values it holds,
/// counting no further than `cap`, and the index in the values array of the first
/// of them. Strings (dictionary-encoded or not) are de-duplicated, as keyword doc
/// values are; other element types are counted as they are.
pub fn distinct_values(array: &dyn Array, cap: usize) -> Result<Vec<(usize, usize)>> {
    match array.data_type() {
        DataType::List(_) => {
            let list = array.as_list::<i32>();
            rows_of(list.values(), list.offsets(), list.nulls(), cap)
        }
        DataType::LargeList(_) => {
            let list = array.as_list::<i64>();
            rows_of(list.values(), list.offsets(), list.nulls(), cap)
        }
        other => exec_err!("expected a list, got {other}"),
    }
}

fn rows_of<O: OffsetSizeTrait>(
    values: &ArrayRef,
    offsets: &[O],
    nulls: Option<&NullBuffer>,
    cap: usize,
) -> Result<Vec<(usize, usize)>> {
    // Dictionary-encoded strings compare by value: decode once per batch.
    let decoded = match values.data_type() {
        DataType::Dictionary(_, inner) if is_string_type(inner) => cast(values, inner)?,
        _ => Arc::clone(values),
    };
    let v = decoded.as_ref();
    // One type dispatch per batch; the row loop is monomorphized per string layout.
    Ok(match v.data_type() {
        DataType::Utf8 => {
            let s = v.as_string::<i32>();
            scan(v, offsets, nulls, cap, Some(&|i| s.value(i)))
        }
        DataType::LargeUtf8 => {
            let s = v.as_string::<i64>();
            scan(v, offsets, nulls, cap, Some(&|i| s.value(i)))
        }
        DataType::Utf8View => {
            let s = v.as_string_view();
            scan(v, offsets, nulls, cap, Some(&|i| s.value(i)))
        }
        _ => scan(v, offsets, nulls, cap, None::<&fn(usize) -> &'static str>),
    })
}

/// Lists longer than this are de-duplicated through a hash set.
const SHORT_LIST: usize = 16;

fn scan<'a, O: OffsetSizeTrait>(
    values: &dyn Array,
    offsets: &[O],
    nulls: Option<&NullBuffer>,
    cap: usize,
    text: Option<&impl Fn(usize) -> &'a str>,
) -> Vec<(usize, usize)> {
    let mut out = Vec::with_capacity(offsets.len().saturating_sub(1));
    let mut seen: Vec<&str> = Vec::new();
    let mut many: HashSet<&str> = HashSet::new();
    // Read once: `values.is_valid` would be a virtual call per row.
    let value_nulls = values.nulls();
    let is_valid = |i: usize| value_nulls.is_none_or(|n| n.is_valid(i));
    for (row, bounds) in offsets.windows(2).enumerate() {
        if nulls.is_some_and(|n| n.is_null(row)) {
            out.push((0, 0));
            continue;
        }
        let (start, end) = (bounds[0].as_usize(), bounds[1].as_usize());
        // Most ECS arrays hold one value: nothing to compare.
        if end - start <= 1 || cap == 0 {
            let valid = end > start && is_valid(start) && cap > 0;
            out.push((usize::from(valid), if valid { start } else { 0 }));
            continue;
        }
        let mut first = None;
        let mut count = 0;
        seen.clear();
        many.clear();
        for i in (start..end).filter(|&i| is_valid(i)) {
            if count >= cap {
                break;
            }
            if let Some(text) = text {
                let value = text(i);
                // A linear search while the list is short; a hash set past
                // that, so a long list costs O(n), not O(n^2).
                let fresh = if many.is_empty() && seen.len() < SHORT_LIST {
                    !seen.contains(&value) && {
                        seen.push(value);
                        true
                    }
                } else {
                    if many.is_empty() {
                        many.extend(seen.iter().copied());
                    }
                    many.insert(value)
                };
                if !fresh {
                    continue;
                }
            }
            first.get_or_insert(i);
            count += 1;
        }
        out.push((count, first.unwrap_or(0)));
    }
    out
}

/// The `mv_single` scalar function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct MvSingle {
    signature: Signature,
}

impl Default for MvSingle {
    fn default() -> Self {
        Self {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

/// The singleton `mv_single` function.
#[must_use]
pub fn mv_single_udf() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> =
        LazyLock::new(|| Arc::new(ScalarUDF::new_from_impl(MvSingle::default())));
    Arc::clone(&UDF)
}

impl ScalarUDFImpl for MvSingle {
    fn name(&self) -> &'static str {
        "mv_single"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        if let [t] = arg_types {
            Ok(list_element_type(t).unwrap_or(t).clone())
        } else {
            plan_err!("mv_single takes one argument")
        }
    }

    fn simplify(&self, args: Vec<Expr>, info: &SimplifyContext) -> Result<ExprSimplifyResult> {
        match args.as_slice() {
            [arg] if list_element_type(&info.get_data_type(arg)?).is_none() => {
                Ok(ExprSimplifyResult::Simplified(arg.clone()))
            }
            _ => Ok(ExprSimplifyResult::Original(args)),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [arg] = args.args.as_slice() else {
            return exec_err!("mv_single takes one argument");
        };
        map_columnar(arg, single)
    }
}

pub(crate) fn single(array: &ArrayRef) -> Result<ArrayRef> {
    let values = match array.data_type() {
        DataType::List(_) => Arc::clone(array.as_list::<i32>().values()),
        DataType::LargeList(_) => Arc::clone(array.as_list::<i64>().values()),
        _ => return Ok(Arc::clone(array)),
    };
    with_counted(array, |counted| {
        if let Some(single) = &counted.single {
            return Ok(Arc::clone(single));
        }
        let indices: UInt64Array = counted
            .counts
            .iter()
            .map(|&(count, first)| (count == 1).then_some(first as u64))
            .collect();
        let single = take(values.as_ref(), &indices, None)?;
        counted.single = Some(Arc::clone(&single));
        Ok(single)
    })
}

/// A list array's distinct value counts, and its `mv_single` once asked for.
pub(crate) struct Counted {
    /// [`distinct_values`] of every row, uncapped.
    pub(crate) counts: Vec<(usize, usize)>,
    single: Option<ArrayRef>,
}

thread_local! {
    /// The last two list arrays this thread counted: `mv_count` and
    /// `mv_single` of one column in the same batch count it once. They are
    /// held (with their buffers) until that thread's next lists.
    static LAST_COUNTED: RefCell<LastArrays<Counted, 2>> = const { RefCell::new(LastArrays::new()) };
}

/// Runs `f` on `array`'s counts, computed unless `array` is one of the arrays
/// this thread counted last.
pub(crate) fn with_counted<R>(
    array: &ArrayRef,
    f: impl FnOnce(&mut Counted) -> Result<R>,
) -> Result<R> {
    LAST_COUNTED.with_borrow_mut(|last| {
        f(last.get_or_try_insert(array, || {
            Ok(Counted {
                counts: distinct_values(array.as_ref(), usize::MAX)?,
                single: None,
            })
        })?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{ListArray, StringArray};
    use datafusion::arrow::datatypes::Int64Type;

    fn strings(rows: Vec<Option<Vec<Option<&str>>>>) -> ArrayRef {
        let mut builder = datafusion::arrow::array::ListBuilder::new(
            datafusion::arrow::array::StringBuilder::new(),
        );
        for row in rows {
            match row {
                Some(values) => {
                    for v in values {
                        builder.values().append_option(v);
                    }
                    builder.append(true);
                }
                None => builder.append(false),
            }
        }
        Arc::new(builder.finish())
    }

    #[test]
    fn keyword_arrays_follow_esql_equality() {
        let input = strings(vec![
            Some(vec![Some("network")]),
            Some(vec![Some("network"), Some("network")]),
            Some(vec![Some("network"), Some("process")]),
            Some(vec![]),
            None,
            Some(vec![None, Some("network")]),
        ]);
        let out = single(&input).unwrap();
        let expected = StringArray::from(vec![
            Some("network"),
            Some("network"),
            None,
            None,
            None,
            Some("network"),
        ]);
        assert_eq!(out.as_string::<i32>(), &expected);
    }

    #[test]
    fn plain_columns_are_simplified_away_and_lists_are_kept() {
        use datafusion::arrow::datatypes::{Field, Schema};
        use datafusion::common::DFSchema;
        use datafusion::prelude::col;
        let list = DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)));
        let schema = Schema::new(vec![
            Field::new("s", DataType::Utf8View, true),
            Field::new("l", list, true),
        ]);
        let info = SimplifyContext::builder()
            .with_schema(Arc::new(DFSchema::try_from(schema).unwrap()))
            .build();
        let udf = MvSingle::default();
        assert!(matches!(
            udf.simplify(vec![col("s")], &info).unwrap(),
            ExprSimplifyResult::Simplified(e) if e == col("s")
        ));
        assert!(matches!(
            udf.simplify(vec![col("l")], &info).unwrap(),
            ExprSimplifyResult::Original(_)
        ));
    }

    #[test]
    fn numeric_arrays_are_not_deduplicated() {
        let input: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int64Type, _, _>(vec![
            Some(vec![Some(5)]),
            Some(vec![Some(5), Some(5)]),
        ]));
        let out = single(&input).unwrap();
        let out = out.as_primitive::<Int64Type>();
        assert_eq!(out.iter().collect::<Vec<_>>(), vec![Some(5), None]);
    }

    #[test]
    fn counts_are_reused_only_for_the_same_array() {
        use std::collections::BTreeSet;
        // The oracle: each row's distinct non-NULL values, from a BTreeSet.
        let oracle =
            |rows: &[Option<Vec<Option<String>>>]| -> (Vec<Option<i32>>, Vec<Option<String>>) {
                rows.iter()
                    .map(|row| {
                        let distinct: BTreeSet<&String> = row.iter().flatten().flatten().collect();
                        let n = i32::try_from(distinct.len()).unwrap();
                        let single = (n == 1).then(|| (*distinct.first().unwrap()).clone());
                        (row.as_ref().and_then(|_| (n > 0).then_some(n)), single)
                    })
                    .unzip()
            };
        let long: Vec<Option<String>> = (0..40)
            .map(|i| (i % 7 != 3).then(|| format!("v{}", i % 23)))
            .collect();
        let sets: Vec<Vec<Option<Vec<Option<String>>>>> = vec![
            vec![
                Some(vec![Some("network".into())]),
                Some(vec![Some("network".into()), Some("process".into())]),
                None,
                Some(long.clone()),
            ],
            vec![
                Some(vec![Some("process".into())]),
                Some(vec![]),
                Some(vec![Some("network".into()), Some("network".into())]),
                Some(long[..17].to_vec()),
            ],
        ];
        let build = |rows: &[Option<Vec<Option<String>>>]| {
            strings(
                rows.iter()
                    .map(|r| r.as_ref().map(|r| r.iter().map(|v| v.as_deref()).collect()))
                    .collect(),
            )
        };
        let check = |array: &ArrayRef, rows: &[Option<Vec<Option<String>>>]| {
            let (counts, singles) = oracle(rows);
            let got = crate::mv_count::count(array).unwrap();
            let got = got.as_primitive::<datafusion::arrow::datatypes::Int32Type>();
            assert_eq!(got.iter().collect::<Vec<_>>(), counts);
            let got = single(array).unwrap();
            let got: Vec<Option<String>> = got
                .as_string::<i32>()
                .iter()
                .map(|v| v.map(str::to_string))
                .collect();
            assert_eq!(got, singles);
        };
        // Same contents in another array must not be served stale results:
        // the second array of each pair equals the first's values.
        let arrays: Vec<(ArrayRef, usize)> = vec![
            (build(&sets[0]), 0),
            (build(&sets[1]), 1),
            (build(&sets[0]), 0),
        ];
        for (array, set) in &arrays {
            check(array, &sets[*set]);
            check(array, &sets[*set]);
        }
        for (array, set) in arrays.iter().rev() {
            check(array, &sets[*set]);
        }
    }
}
