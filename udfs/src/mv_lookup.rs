//! `mv_lookup(keys, group_keys, group_values)`: for each of a row's key
//! values, the value of its group, as a list (ES|QL's `INLINE STATS ... BY`
//! a multi-valued key gives the row each of its groups' aggregates).
//!
//! `group_keys` and `group_values` are one list each, the same in every
//! row: the groups' keys and one aggregate's values, in the same order (a
//! STATS collapsed into one row). A row's keys (a list, or one value) are
//! looked up in order, each distinct key once; no keys (NULL, or an empty
//! list) is the NULL key's group. A key without a group adds nothing; none
//! found is NULL.
//!
//! `mv_lookup_rows(keys, group_keys, group_values)` is the same lookup where
//! each row has groups of its own (INLINE STATS by a multi-valued key beside
//! other keys: the groups of the row's other keys), read row by row.
//!
//! `enrich_lookup(keys, table_keys, table_values)` is the same lookup for
//! ES|QL's `ENRICH` on a multi-valued key, where Elasticsearch looks every
//! value up and merges the matches' values into one multi-value: no keys
//! match nothing (NULL), and a match whose value is NULL adds nothing.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use crate::common::gather_lists;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, new_null_array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// Which lookup (see the module).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Kind {
    /// `mv_lookup`: the same groups in every row.
    Groups,
    /// `mv_lookup_rows`: each row's own groups.
    RowGroups,
    /// `enrich_lookup`: no NULL-key group, NULL values left out.
    Enrich,
}

/// `mv_lookup`, `mv_lookup_rows` or `enrich_lookup` (see the module).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct MvLookup {
    signature: Signature,
    kind: Kind,
}

fn udf(kind: Kind) -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::new_from_impl(MvLookup {
        signature: Signature::any(3, Volatility::Immutable),
        kind,
    }))
}

/// `mv_lookup`.
#[must_use]
pub fn mv_lookup_udf() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| udf(Kind::Groups));
    Arc::clone(&UDF)
}

/// `mv_lookup_rows`.
#[must_use]
pub fn mv_lookup_rows_udf() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| udf(Kind::RowGroups));
    Arc::clone(&UDF)
}

/// `enrich_lookup`.
#[must_use]
pub fn enrich_lookup_udf() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| udf(Kind::Enrich));
    Arc::clone(&UDF)
}

fn item(t: &DataType) -> Option<&DataType> {
    match t {
        DataType::List(f) | DataType::LargeList(f) => Some(f.data_type()),
        _ => None,
    }
}

/// A list array's values, and each row's range of them (a NULL row: none).
fn flattened(array: &ArrayRef) -> Result<(ArrayRef, Vec<(usize, usize)>)> {
    let list = match array.data_type() {
        DataType::LargeList(f) => cast(array, &DataType::List(Arc::clone(f)))?,
        _ => Arc::clone(array),
    };
    let list = list.as_list::<i32>();
    let offsets = list.offsets();
    let ranges = (0..list.len())
        .map(|row| {
            if list.is_null(row) {
                (0, 0)
            } else {
                (
                    offsets[row].unsigned_abs() as usize,
                    offsets[row + 1].unsigned_abs() as usize,
                )
            }
        })
        .collect();
    Ok((Arc::clone(list.values()), ranges))
}

/// A list array's row `row` as its own array (a `LargeList` read as a list).
fn row_values(array: &ArrayRef, row: usize) -> Result<ArrayRef> {
    let list = match array.data_type() {
        DataType::LargeList(f) => cast(array, &DataType::List(Arc::clone(f)))?,
        _ => Arc::clone(array),
    };
    Ok(list.as_list::<i32>().value(row))
}

impl ScalarUDFImpl for MvLookup {
    fn name(&self) -> &'static str {
        match self.kind {
            Kind::Groups => "mv_lookup",
            Kind::RowGroups => "mv_lookup_rows",
            Kind::Enrich => "enrich_lookup",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        let (Some(_), Some(values)) = (item(&args[1]), item(&args[2])) else {
            return plan_err!("{} takes the groups' keys and values as lists", self.name());
        };
        Ok(DataType::List(Arc::new(Field::new(
            "item",
            values.clone(),
            true,
        ))))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let keys = args.args[0].to_array(rows)?;
        let out_type = self.return_type(&[
            keys.data_type().clone(),
            args.args[1].data_type(),
            args.args[2].data_type(),
        ])?;
        if rows == 0 {
            return Ok(ColumnarValue::Array(new_null_array(&out_type, 0)));
        }
        // Every row's groups: the same in every row (read once, through an
        // index) or each row's own (a range of the flattened lists, searched).
        let enrich = self.kind == Kind::Enrich;
        let (group_keys, group_values, ranges) = if self.kind == Kind::RowGroups {
            let (keys, key_ranges) = flattened(&args.args[1].to_array(rows)?)?;
            let (values, value_ranges) = flattened(&args.args[2].to_array(rows)?)?;
            if key_ranges != value_ranges {
                return exec_err!("mv_lookup_rows: as many group keys as values expected");
            }
            (keys, values, Some(key_ranges))
        } else {
            let keys = row_values(&args.args[1].to_array(1)?, 0)?;
            let values = row_values(&args.args[2].to_array(1)?, 0)?;
            if keys.len() != values.len() {
                return exec_err!("mv_lookup: as many group keys as values expected");
            }
            (keys, values, None)
        };
        if u32::try_from(group_keys.len()).is_err() {
            return exec_err!("{}: over 2^32 groups in one batch", self.name());
        }
        // The groups' keys, read once per batch: an index where every row
        // has the same groups, else in order for each row's range.
        let group_key = |i: usize| ScalarValue::try_from_array(&group_keys, i);
        let mut index: HashMap<ScalarValue, u32> = HashMap::new();
        let mut row_keys: Vec<ScalarValue> = vec![];
        if ranges.is_none() {
            index.reserve(group_keys.len());
            for i in 0..group_keys.len() {
                index.entry(group_key(i)?).or_insert(i as u32);
            }
        } else {
            row_keys = (0..group_keys.len())
                .map(group_key)
                .collect::<Result<_>>()?;
        }
        // A match whose value is NULL adds nothing to ENRICH.
        let keep = |at: &u32| !(enrich && group_values.is_null(*at as usize));
        let null_key = ScalarValue::try_from(group_keys.data_type())?;
        // Each row's keys as one flat array of the groups' key type, cast
        // once per batch, and where each row's start.
        let (flat, starts): (ArrayRef, Vec<usize>) = if item(keys.data_type()).is_some() {
            let key_type = DataType::new_list(group_keys.data_type().clone(), true);
            let list = cast(&keys, &key_type)?;
            let list = list.as_list::<i32>();
            let starts = list.offsets().iter().map(|o| o.unsigned_abs() as usize);
            (Arc::clone(list.values()), starts.collect())
        } else {
            (cast(&keys, group_keys.data_type())?, (0..=rows).collect())
        };
        let mut picked: Vec<u32> = vec![];
        let mut ends: Vec<i32> = vec![0];
        let mut seen: Vec<ScalarValue> = vec![];
        for row in 0..rows {
            seen.clear();
            let (from, to) = (starts[row], starts[row + 1]);
            // No keys (NULL, or an empty list) is the NULL key's group;
            // ENRICH matches nothing.
            if keys.is_null(row) || from == to {
                if !enrich {
                    seen.push(null_key.clone());
                }
            } else {
                for i in from..to {
                    let key = ScalarValue::try_from_array(&flat, i)?;
                    if !seen.contains(&key) {
                        seen.push(key);
                    }
                }
            }
            match &ranges {
                None => picked.extend(
                    seen.iter()
                        .filter_map(|k| index.get(k))
                        .filter(|at| keep(at)),
                ),
                Some(ranges) => {
                    let (start, end) = ranges[row];
                    let found = seen.iter().filter_map(|key| {
                        (start..end)
                            .find(|&at| row_keys[at] == *key)
                            .map(|at| at as u32)
                    });
                    picked.extend(found.filter(keep));
                }
            }
            let Ok(end) = i32::try_from(picked.len()) else {
                return exec_err!("mv_lookup: over 2^31 values in one batch");
            };
            ends.push(end);
        }
        Ok(ColumnarValue::Array(gather_lists(
            &group_values,
            picked,
            ends,
        )?))
    }
}
