//! Argument and array helpers shared by the functions of this crate.
//!
//! Nothing here is specific to one function: string access over every Arrow
//! string layout, "evaluate once per distinct dictionary value", packing
//! booleans a word at a time, and keeping what was computed from an array for
//! the next call on it.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayBuilder, ArrayRef, AsArray, BooleanArray, ListBuilder, StringBuilder,
};
use datafusion::arrow::buffer::{BooleanBuffer, Buffer, NullBuffer};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::ColumnarValue;

/// True for the Arrow types that hold UTF-8 strings directly.
#[must_use]
pub fn is_string_type(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    )
}

/// The string held by a string scalar: `Ok(None)` for a typed NULL, an error for
/// a scalar that is not a string at all.
pub fn scalar_str(value: &ScalarValue) -> Result<Option<&str>> {
    match value {
        ScalarValue::Utf8(s) | ScalarValue::LargeUtf8(s) | ScalarValue::Utf8View(s) => {
            Ok(s.as_deref())
        }
        ScalarValue::Null => Ok(None),
        ScalarValue::Dictionary(_, inner) => scalar_str(inner),
        other => exec_err!("expected a string, got {}", other.data_type()),
    }
}

/// Calls `f` with each row of a string array (`None` for NULL rows).
///
/// Works for `Utf8`, `LargeUtf8` and `Utf8View`; other types are an error.
#[inline]
pub fn for_each_str<'a>(array: &'a dyn Array, f: impl FnMut(Option<&'a str>)) -> Result<()> {
    match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().iter().for_each(f),
        DataType::LargeUtf8 => array.as_string::<i64>().iter().for_each(f),
        DataType::Utf8View => array.as_string_view().iter().for_each(f),
        other => return exec_err!("expected a string array, got {other}"),
    }
    Ok(())
}

/// Applies an array kernel to a column or a scalar: arrays map to arrays, and a
/// scalar is evaluated as a one-row array and returned as a scalar.
pub fn map_columnar(
    value: &ColumnarValue,
    kernel: impl FnOnce(&ArrayRef) -> Result<ArrayRef>,
) -> Result<ColumnarValue> {
    match value {
        ColumnarValue::Array(array) => Ok(ColumnarValue::Array(kernel(array)?)),
        ColumnarValue::Scalar(scalar) => {
            let out = kernel(&scalar.to_array()?)?;
            Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?))
        }
    }
}

/// Each row of `lists` (cast to lists of texts) as a new list of texts:
/// `f` is given the row's values (NULL items left out) and appends the
/// new list's to the builder. A NULL list stays NULL, a list `f` leaves
/// empty is NULL.
pub fn map_text_lists(
    lists: &ArrayRef,
    mut f: impl FnMut(Vec<&str>, &mut StringBuilder),
) -> Result<ArrayRef> {
    let lists = cast(lists, &DataType::new_list(DataType::Utf8, true))?;
    let lists = lists.as_list::<i32>();
    let mut out = ListBuilder::new(StringBuilder::new());
    for row in 0..lists.len() {
        if lists.is_null(row) {
            out.append_null();
            continue;
        }
        let items = lists.value(row);
        let before = ArrayBuilder::len(out.values());
        f(
            items.as_string::<i32>().iter().flatten().collect(),
            out.values(),
        );
        let any = ArrayBuilder::len(out.values()) > before;
        out.append(any);
    }
    Ok(Arc::new(out.finish()))
}

/// What a function computed from each of the last `N` arrays it was given,
/// latest first, for one thread.
///
/// A hunt and its data checks pass one column to the same function more than
/// once per batch (the egress hunt: `cidr_match(destination.ip, ...)` in the
/// check for bad addresses and in the filter; `mv_count` and `mv_single` of
/// `event.category` three times), so what is costly (parsing, counting) is
/// kept for the next call. More than one entry, because DataFusion evaluates
/// the right side of a selective `AND` on only the rows its left side kept: a
/// filtered copy can come between two calls on the whole batch.
pub struct LastArrays<T, const N: usize> {
    /// Each array is held so that its memory cannot be reused for another
    /// array while its pointer identifies it.
    held: [Option<(ArrayRef, T)>; N],
}

impl<T, const N: usize> LastArrays<T, N> {
    /// Nothing kept yet.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            held: [const { None }; N],
        }
    }

    /// The value kept for `array` if it is one of the last `N` (the same
    /// allocation, not merely equal values), else `compute()`'s, kept in
    /// place of the oldest.
    pub fn get_or_try_insert(
        &mut self,
        array: &ArrayRef,
        compute: impl FnOnce() -> Result<T>,
    ) -> Result<&mut T> {
        let held = |entry: &Option<(ArrayRef, T)>| {
            entry.as_ref().is_some_and(|(a, _)| Arc::ptr_eq(a, array))
        };
        if let Some(k) = self.held.iter().position(held) {
            self.held[..=k].rotate_right(1);
        } else {
            let value = compute()?;
            self.held.rotate_right(1);
            self.held[0] = Some((Arc::clone(array), value));
        }
        match &mut self.held[0] {
            Some((_, value)) => Ok(value),
            None => unreachable!("the latest entry was just filled"),
        }
    }
}

impl<T, const N: usize> Default for LastArrays<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

/// `test` of each of `items`, written a 64-bit word at a time: [`collect_bools`]
/// without a validity bitmap, for callers that keep their input's nulls.
/// The string-view comparison of the egress hunt (flat 10M, 7.1 M rows) cost
/// 207 M instructions through arrow's `BooleanBuffer::collect_bool`, whose
/// iterator adapters did not inline the test; 182 M with an index closure here
/// (a bounds check per row), 156 M with `chunks(64)` alone, 145 M as written.
#[inline]
pub fn pack_bits<T: Copy>(items: &[T], mut test: impl FnMut(T) -> bool) -> BooleanBuffer {
    // Whole words apart from the last partial one, whose fixed length the
    // compiler can unroll.
    #[inline]
    fn word<T: Copy>(chunk: &[T], test: &mut impl FnMut(T) -> bool) -> u64 {
        let mut word = 0u64;
        for (k, &item) in chunk.iter().enumerate() {
            word |= u64::from(test(item)) << k;
        }
        word
    }
    let mut words = Vec::with_capacity(items.len().div_ceil(64));
    let mut chunks = items.chunks_exact(64);
    for chunk in &mut chunks {
        words.push(word(chunk, &mut test));
    }
    if !chunks.remainder().is_empty() {
        words.push(word(chunks.remainder(), &mut test));
    }
    BooleanBuffer::new(Buffer::from_vec(words), 0, items.len())
}

/// Builds a boolean array of `len` rows from `row(i)` (`None` is NULL), writing
/// the value and validity bitmaps a 64-bit word at a time instead of appending
/// bit by bit through a builder.
pub fn collect_bools(len: usize, mut row: impl FnMut(usize) -> Option<bool>) -> BooleanArray {
    let words = len.div_ceil(64);
    let mut values = Vec::with_capacity(words);
    let mut valid = Vec::with_capacity(words);
    for word in 0..words {
        let base = word * 64;
        let (mut value_bits, mut valid_bits) = (0u64, 0u64);
        for bit in 0..(len - base).min(64) {
            let out = row(base + bit);
            value_bits |= u64::from(out == Some(true)) << bit;
            valid_bits |= u64::from(out.is_some()) << bit;
        }
        values.push(value_bits);
        valid.push(valid_bits);
    }
    let nulls = NullBuffer::new(BooleanBuffer::new(Buffer::from_vec(valid), 0, len));
    BooleanArray::new(
        BooleanBuffer::new(Buffer::from_vec(values), 0, len),
        (nulls.null_count() > 0).then_some(nulls),
    )
}

/// Evaluates a boolean function of a dictionary-encoded array once per distinct
/// value, then spreads the answers over the rows through the keys.
///
/// `eval_values` receives the dictionary's values array. A NULL key gives NULL.
pub fn boolean_through_dictionary(
    array: &dyn Array,
    eval_values: impl FnOnce(&ArrayRef) -> Result<BooleanArray>,
) -> Result<BooleanArray> {
    let Some(dict) = array.as_any_dictionary_opt() else {
        return exec_err!("expected a dictionary array, got {}", array.data_type());
    };
    let per_value = eval_values(dict.values())?;
    let keys = dict.normalized_keys();
    Ok(collect_bools(keys.len(), |row| {
        let key = keys[row];
        if dict.keys().is_null(row) || key >= per_value.len() || per_value.is_null(key) {
            None
        } else {
            Some(per_value.value(key))
        }
    }))
}

/// A list per row from `values`: row `i` holds `values[picked[j]]` for `j`
/// in `ends[i]..ends[i + 1]` (`ends` starts at 0, one more than the rows),
/// NULL where that is empty. For lookups that gather several matches per
/// row (ENRICH's range policies, INLINE STATS by a multi-valued key).
pub fn gather_lists(values: &ArrayRef, picked: Vec<u32>, ends: Vec<i32>) -> Result<ArrayRef> {
    use datafusion::arrow::array::{ListArray, UInt32Array};
    use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
    let taken = datafusion::arrow::compute::take(values, &UInt32Array::from(picked), None)?;
    let nulls = NullBuffer::from(ends.windows(2).map(|w| w[1] > w[0]).collect::<Vec<_>>());
    let field = Arc::new(datafusion::arrow::datatypes::Field::new(
        "item",
        values.data_type().clone(),
        true,
    ));
    Ok(Arc::new(ListArray::try_new(
        field,
        OffsetBuffer::new(ends.into()),
        taken,
        Some(nulls),
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{DictionaryArray, StringArray};
    use datafusion::arrow::datatypes::Int8Type;
    use std::sync::Arc;

    #[test]
    fn dictionary_values_are_evaluated_once_and_null_keys_stay_null() {
        let dict: DictionaryArray<Int8Type> = vec![Some("a"), None, Some("b"), Some("a")]
            .into_iter()
            .collect();
        let mut calls = 0;
        let out = boolean_through_dictionary(&dict, |values| {
            calls += 1;
            let values = values.as_string::<i32>();
            Ok(values.iter().map(|v| v.map(|s| s == "a")).collect())
        })
        .unwrap();
        assert_eq!(calls, 1);
        assert_eq!(
            out,
            BooleanArray::from(vec![Some(true), None, Some(false), Some(true)])
        );
    }

    #[test]
    fn collect_bools_matches_the_iterator_on_every_length() {
        for len in [0, 1, 63, 64, 65, 200] {
            let row = |i: usize| match i % 3 {
                0 => None,
                1 => Some(true),
                _ => Some(i.is_multiple_of(7)),
            };
            let expected: BooleanArray = (0..len).map(row).collect();
            assert_eq!(collect_bools(len, row), expected, "{len}");
        }
        let all_valid = collect_bools(70, |_| Some(false));
        assert_eq!(all_valid.null_count(), 0);
        assert!(all_valid.nulls().is_none());
    }

    #[test]
    fn for_each_str_reads_every_string_layout() {
        let utf8: ArrayRef = Arc::new(StringArray::from(vec![Some("x"), None]));
        for array in [
            Arc::clone(&utf8),
            datafusion::arrow::compute::cast(&utf8, &DataType::LargeUtf8).unwrap(),
            datafusion::arrow::compute::cast(&utf8, &DataType::Utf8View).unwrap(),
        ] {
            let mut seen = vec![];
            for_each_str(array.as_ref(), |s| seen.push(s.map(str::to_owned))).unwrap();
            assert_eq!(seen, vec![Some("x".to_owned()), None]);
        }
    }

    #[test]
    fn pack_bits_sets_each_bit_it_is_given() {
        // Lengths around word boundaries, against the bits one by one.
        for len in [0, 1, 63, 64, 65, 128, 130] {
            let bit = |i: usize| i.is_multiple_of(3) || i % 7 == 5;
            let items: Vec<usize> = (0..len).collect();
            let packed = pack_bits(&items, bit);
            assert_eq!(packed.len(), len);
            assert_eq!(
                packed.iter().collect::<Vec<_>>(),
                (0..len).map(bit).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn last_arrays_keeps_the_latest_by_identity() {
        use datafusion::arrow::array::Int32Array;
        let array = |v: i32| -> ArrayRef { Arc::new(Int32Array::from(vec![v])) };
        let (a, b, c, a_twin) = (array(1), array(2), array(3), array(1));
        let mut last: LastArrays<i32, 2> = LastArrays::new();
        let mut computed = vec![];
        let mut get = |last: &mut LastArrays<i32, 2>, x: &ArrayRef| {
            let v = x
                .as_primitive::<datafusion::arrow::datatypes::Int32Type>()
                .value(0);
            *last
                .get_or_try_insert(x, || {
                    computed.push(v);
                    Ok(v * 10)
                })
                .unwrap()
        };
        assert_eq!(get(&mut last, &a), 10);
        assert_eq!(get(&mut last, &b), 20);
        assert_eq!(get(&mut last, &a), 10); // kept, and now the latest
        assert_eq!(get(&mut last, &c), 30); // replaces b, the oldest
        assert_eq!(get(&mut last, &a), 10);
        assert_eq!(get(&mut last, &b), 20); // computed again
        assert_eq!(get(&mut last, &a_twin), 10); // equal values, another array
        assert_eq!(computed, vec![1, 2, 3, 2, 1]);
        // A failed computation keeps nothing.
        let failed = last.get_or_try_insert(&c, || exec_err!("no"));
        assert!(failed.is_err());
        assert_eq!(*last.get_or_try_insert(&a_twin, || Ok(0)).unwrap(), 10);
    }
}
