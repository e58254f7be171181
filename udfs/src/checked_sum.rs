//! `checked_sum(x)`: the exact sum of whole numbers as a `BIGINT`, or an error.
//!
//! `SUM` over `BIGINT` in DataFusion wraps silently past 2^63 - 1. Summing through
//! `DECIMAL(38, 0)` and casting back is exact but costs a 16-byte value per row
//! and per group. `checked_sum` keeps 8 bytes per group and is still exact: each
//! group holds its sum modulo 2^64 (an `i64`, added with `overflowing_add`) and,
//! only for the groups whose running sum ever left the `BIGINT` range, how many
//! times it wrapped, in a side map. The true sum is `sum + wraps * 2^64`, so the
//! order of the rows never matters: a group that goes past the range and comes
//! back (negative values) ends exact, and a group whose true sum is outside it
//! fails the query with an error that names the sum. Elasticsearch's own `SUM`
//! on a long fails too, with "long overflow" (`Math.addExact`;
//! elastic/elasticsearch#110437 asks for NULL with a warning instead).
//!
//! Every integer type is accepted, `BIGINT UNSIGNED` included (a value past
//! 2^63 - 1 adds one wrap); the result is `BIGINT`, NULL for a group with no
//! non-NULL value. `checked_sum(DISTINCT x)` sums each distinct value once,
//! kept in a set (so its memory grows with the distinct values).
//!
//! The partial aggregation's state is two `BIGINT` columns: the sum modulo
//! 2^64 and the wraps (NULL for none). When DataFusion skips the partial
//! aggregation (many groups), each row becomes a state row without copying its
//! values: the input column itself and an all-NULL wraps column.

use std::collections::HashMap;
use std::fmt;
use std::mem::size_of;
use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int64Array, UInt64Array, new_null_array,
};
use datafusion::arrow::buffer::ScalarBuffer;
use datafusion::arrow::datatypes::{
    ArrowPrimitiveType, DataType, Field, FieldRef, Int64Type, UInt64Type,
};
use datafusion::common::types::{
    NativeType, logical_int8, logical_int16, logical_int32, logical_int64, logical_uint8,
    logical_uint16, logical_uint32,
};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Coercion, EmitTo, GroupsAccumulator, Signature,
    TypeSignature, TypeSignatureClass, Volatility,
};
use datafusion_functions_aggregate_common::aggregate::groups_accumulator::accumulate::NullState;
use datafusion_functions_aggregate_common::aggregate::groups_accumulator::nulls::filtered_null_mask;
use datafusion_functions_aggregate_common::utils::GenericDistinctBuffer;

/// The `checked_sum` aggregate function.
#[must_use]
pub fn checked_sum_udaf() -> Arc<AggregateUDF> {
    static UDAF: LazyLock<Arc<AggregateUDF>> =
        LazyLock::new(|| Arc::new(AggregateUDF::new_from_impl(CheckedSum::new())));
    Arc::clone(&UDAF)
}

/// `checked_sum(x)`: see the [module documentation](self).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct CheckedSum {
    signature: Signature,
}

impl Default for CheckedSum {
    fn default() -> Self {
        Self::new()
    }
}

impl CheckedSum {
    /// The function, taking any integer.
    #[must_use]
    pub fn new() -> Self {
        let narrower = [
            logical_int8(),
            logical_int16(),
            logical_int32(),
            logical_uint8(),
            logical_uint16(),
            logical_uint32(),
        ]
        .into_iter()
        .map(TypeSignatureClass::Native)
        .collect();
        Self {
            signature: Signature::one_of(
                vec![
                    TypeSignature::Coercible(vec![Coercion::new_implicit(
                        TypeSignatureClass::Native(logical_int64()),
                        narrower,
                        NativeType::Int64,
                    )]),
                    TypeSignature::Exact(vec![DataType::UInt64]),
                ],
                Volatility::Immutable,
            ),
        }
    }
}

impl AggregateUDFImpl for CheckedSum {
    fn name(&self) -> &'static str {
        "checked_sum"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        if args.is_distinct {
            let data_type = args.expr_fields[0].data_type();
            match data_type {
                DataType::UInt64 => Ok(Box::new(DistinctSumAccumulator::<UInt64Type> {
                    values: GenericDistinctBuffer::new(data_type.clone()),
                })),
                _ => Ok(Box::new(DistinctSumAccumulator::<Int64Type> {
                    values: GenericDistinctBuffer::new(DataType::Int64),
                })),
            }
        } else {
            Ok(Box::<SumAccumulator>::default())
        }
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        if args.is_distinct {
            return Ok(vec![Arc::new(Field::new_list(
                format_state_name(args.name, "distinct values"),
                Field::new_list_field(args.input_fields[0].data_type().clone(), true),
                false,
            ))]);
        }
        Ok(vec![
            Arc::new(Field::new(
                format_state_name(args.name, "sum"),
                DataType::Int64,
                true,
            )),
            Arc::new(Field::new(
                format_state_name(args.name, "wraps"),
                DataType::Int64,
                true,
            )),
        ])
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        !args.is_distinct
    }

    fn create_groups_accumulator(
        &self,
        _args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::<SumGroups>::default())
    }
}

/// The true sum, `low` (the sum modulo 2^64) plus `wraps` times 2^64.
fn exact(low: i64, wraps: i64) -> i128 {
    i128::from(low) + (i128::from(wraps) << 64)
}

fn out_of_range<T>(sum: i128) -> Result<T> {
    exec_err!(
        "checked_sum: a sum of {sum} is outside the BIGINT range \
         ({} to {}); sum through DECIMAL(38, 0) instead to report it",
        i64::MIN,
        i64::MAX
    )
}

/// The argument of an update: `BIGINT` (narrower integers are coerced to it by
/// the signature) or `BIGINT UNSIGNED`.
enum Argument<'a> {
    Signed(&'a Int64Array),
    Unsigned(&'a UInt64Array),
}

fn argument(values: &[ArrayRef]) -> Result<Argument<'_>> {
    let [array] = values else {
        return exec_err!("checked_sum takes one argument, got {}", values.len());
    };
    if let Some(array) = array.as_primitive_opt::<Int64Type>() {
        Ok(Argument::Signed(array))
    } else if let Some(array) = array.as_primitive_opt::<UInt64Type>() {
        Ok(Argument::Unsigned(array))
    } else {
        exec_err!(
            "checked_sum: expected an integer, got {}",
            array.data_type()
        )
    }
}

/// The partial state's two columns: the sum modulo 2^64 and the wraps.
fn state_columns(states: &[ArrayRef]) -> Result<(&Int64Array, &Int64Array)> {
    let [low, wraps] = states else {
        return exec_err!(
            "checked_sum: expected 2 state columns, got {}",
            states.len()
        );
    };
    let (Some(low), Some(wraps)) = (
        low.as_primitive_opt::<Int64Type>(),
        wraps.as_primitive_opt::<Int64Type>(),
    ) else {
        return exec_err!("checked_sum: state columns must be BIGINT");
    };
    Ok((low, wraps))
}

/// Adds `value` to `sum` modulo 2^64 and counts a wrap of `group` when the
/// running sum leaves the `BIGINT` range, forgetting the group's entry when its
/// wraps come back to zero (the sum is then exact in `sum` alone).
#[inline]
fn add(sum: &mut i64, value: i64, wraps: &mut HashMap<usize, i64>, group: usize) {
    let (next, wrapped) = sum.overflowing_add(value);
    *sum = next;
    if wrapped {
        add_wraps(wraps, group, if value < 0 { -1 } else { 1 });
    }
}

/// [`add`] for an unsigned value: the running sum can only leave the range
/// upwards, by at most one wrap.
#[inline]
fn add_unsigned(sum: &mut i64, value: u64, wraps: &mut HashMap<usize, i64>, group: usize) {
    let (next, wrapped) = sum.overflowing_add_unsigned(value);
    *sum = next;
    if wrapped {
        add_wraps(wraps, group, 1);
    }
}

#[cold]
fn add_wraps(wraps: &mut HashMap<usize, i64>, group: usize, n: i64) {
    let entry = wraps.entry(group).or_insert(0);
    *entry += n;
    if *entry == 0 {
        wraps.remove(&group);
    }
}

/// `checked_sum` per group: 8 bytes per group plus a validity bit.
#[derive(Debug, Default)]
struct SumGroups {
    /// Each group's sum modulo 2^64.
    sums: Vec<i64>,
    /// The groups whose sum is outside the `BIGINT` range: how many times 2^64
    /// `sums` lacks. Empty unless a sum has left the range.
    wraps: HashMap<usize, i64>,
    /// Which groups have seen a value (the others are NULL).
    seen: NullState,
}

impl SumGroups {
    fn accumulate(
        &mut self,
        values: &Argument<'_>,
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) {
        self.sums.resize(total_num_groups, 0);
        let Self { sums, wraps, seen } = self;
        match values {
            Argument::Signed(values) => seen.accumulate(
                group_indices,
                values,
                opt_filter,
                total_num_groups,
                |group, value| add(&mut sums[group], value, wraps, group),
            ),
            Argument::Unsigned(values) => seen.accumulate(
                group_indices,
                values,
                opt_filter,
                total_num_groups,
                |group, value| add_unsigned(&mut sums[group], value, wraps, group),
            ),
        }
    }

    /// Takes the first groups' sums (all, or `n`) with their NULLs, and their
    /// wraps, renumbering the wraps of the groups that stay.
    fn take(&mut self, emit_to: EmitTo) -> (Int64Array, HashMap<usize, i64>) {
        let sums = emit_to.take_needed(&mut self.sums);
        let nulls = self.seen.build(emit_to);
        let wraps = match emit_to {
            EmitTo::All => std::mem::take(&mut self.wraps),
            EmitTo::First(n) => {
                let (taken, kept) = std::mem::take(&mut self.wraps)
                    .into_iter()
                    .partition::<HashMap<_, _>, _>(|&(group, _)| group < n);
                self.wraps = kept.into_iter().map(|(group, w)| (group - n, w)).collect();
                taken
            }
        };
        (Int64Array::new(sums.into(), nulls), wraps)
    }
}

impl GroupsAccumulator for SumGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        let values = argument(values)?;
        self.accumulate(&values, group_indices, opt_filter, total_num_groups);
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let (sums, wraps) = self.take(emit_to);
        if let Some(sum) = wraps
            .iter()
            .map(|(&group, &w)| exact(sums.value(group), w))
            .max_by_key(|sum| sum.unsigned_abs())
        {
            return out_of_range(sum);
        }
        Ok(Arc::new(sums))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let (sums, wraps) = self.take(emit_to);
        let wraps: ArrayRef = if wraps.is_empty() {
            new_null_array(&DataType::Int64, sums.len())
        } else {
            Arc::new(
                (0..sums.len())
                    .map(|group| wraps.get(&group).copied())
                    .collect::<Int64Array>(),
            )
        };
        Ok(vec![Arc::new(sums), wraps])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        let (sums, wraps) = state_columns(values)?;
        self.accumulate(
            &Argument::Signed(sums),
            group_indices,
            None,
            total_num_groups,
        );
        if wraps.null_count() < wraps.len() {
            for (&group, w) in group_indices.iter().zip(wraps) {
                if let Some(w) = w.filter(|&w| w != 0) {
                    add_wraps(&mut self.wraps, group, w);
                }
            }
        }
        Ok(())
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        // Each row's value as the sum modulo 2^64 (the column itself when it
        // is BIGINT) and its wraps: none, or one for an unsigned value past
        // 2^63 - 1. A row the filter drops is NULL in both.
        let nulls = filtered_null_mask(opt_filter, values[0].as_ref());
        let len = values[0].len();
        let (low, wraps): (_, ArrayRef) = match argument(values)? {
            Argument::Signed(values) => (
                values.values().clone(),
                new_null_array(&DataType::Int64, len),
            ),
            Argument::Unsigned(values) => (
                // The same bits, read as `BIGINT`: the value modulo 2^64.
                ScalarBuffer::from(values.values().inner().clone()),
                Arc::new(
                    (0..len)
                        .map(|row| {
                            let valid = nulls.as_ref().is_none_or(|n| n.is_valid(row));
                            (valid && values.value(row) > i64::MAX as u64).then_some(1)
                        })
                        .collect::<Int64Array>(),
                ),
            ),
        };
        Ok(vec![Arc::new(Int64Array::new(low, nulls)), wraps])
    }

    fn size(&self) -> usize {
        self.sums.capacity() * size_of::<i64>()
            + self.wraps.capacity() * size_of::<(usize, i64)>()
            + self.seen.size()
    }
}

/// `checked_sum` without groups: one exact 128-bit sum.
#[derive(Debug, Default)]
struct SumAccumulator {
    sum: i128,
    seen: bool,
}

impl SumAccumulator {
    /// Adds states: sums modulo 2^64 and their wraps.
    fn add(&mut self, low: &Int64Array, wraps: &Int64Array) {
        for row in 0..low.len() {
            if low.is_valid(row) {
                let w = if wraps.is_valid(row) {
                    wraps.value(row)
                } else {
                    0
                };
                self.sum += exact(low.value(row), w);
                self.seen = true;
            }
        }
    }
}

impl Accumulator for SumAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let (sum, rows) = match argument(values)? {
            Argument::Signed(values) => (
                values.iter().flatten().map(i128::from).sum::<i128>(),
                values.len() - values.null_count(),
            ),
            Argument::Unsigned(values) => (
                values.iter().flatten().map(i128::from).sum::<i128>(),
                values.len() - values.null_count(),
            ),
        };
        self.sum += sum;
        self.seen |= rows > 0;
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let (low, wraps) = state_columns(states)?;
        self.add(low, wraps);
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        if !self.seen {
            return Ok(vec![ScalarValue::Int64(None), ScalarValue::Int64(None)]);
        }
        let low = self.sum as i64;
        let wraps = ((self.sum - i128::from(low)) >> 64) as i64;
        Ok(vec![
            ScalarValue::Int64(Some(low)),
            ScalarValue::Int64((wraps != 0).then_some(wraps)),
        ])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        if !self.seen {
            return Ok(ScalarValue::Int64(None));
        }
        match i64::try_from(self.sum) {
            Ok(sum) => Ok(ScalarValue::Int64(Some(sum))),
            Err(_) => out_of_range(self.sum),
        }
    }

    fn size(&self) -> usize {
        size_of::<Self>()
    }
}

/// `checked_sum(DISTINCT x)`: DataFusion's set of the values seen (as the
/// argument was coerced: `BIGINT` or `BIGINT UNSIGNED`), summed exactly at the
/// end.
#[derive(Debug)]
struct DistinctSumAccumulator<T: ArrowPrimitiveType> {
    values: GenericDistinctBuffer<T>,
}

impl<T> Accumulator for DistinctSumAccumulator<T>
where
    T: ArrowPrimitiveType + fmt::Debug,
    T::Native: Into<i128>,
{
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.values.update_batch(values)
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.values.merge_batch(states)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.values.state()
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        if self.values.values.is_empty() {
            return Ok(ScalarValue::Int64(None));
        }
        let sum: i128 = self.values.values.iter().map(|v| v.0.into()).sum();
        match i64::try_from(sum) {
            Ok(sum) => Ok(ScalarValue::Int64(Some(sum))),
            Err(_) => out_of_range(sum),
        }
    }

    fn size(&self) -> usize {
        self.values.size()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Each group's sum by its label, NULL for a group that saw no value.
    type Sums = BTreeMap<usize, Option<i128>>;

    /// Group ids as DataFusion hands them to an accumulator: dense, in order of
    /// first appearance, so every id below the total has appeared. `labels`
    /// lists the labels by id and grows with new ones.
    fn dense(rows: &[(Option<i128>, usize)], labels: &mut Vec<usize>) -> Vec<usize> {
        rows.iter()
            .map(|&(_, label)| {
                labels.iter().position(|&l| l == label).unwrap_or_else(|| {
                    labels.push(label);
                    labels.len() - 1
                })
            })
            .collect()
    }

    /// The rows' values as `BIGINT`, or as `BIGINT UNSIGNED`.
    fn values(rows: &[(Option<i128>, usize)], unsigned: bool) -> ArrayRef {
        let values = rows.iter().map(|r| r.0);
        if unsigned {
            Arc::new(
                values
                    .map(|v| v.map(|v| u64::try_from(v).expect("unsigned")))
                    .collect::<UInt64Array>(),
            )
        } else {
            Arc::new(
                values
                    .map(|v| v.map(|v| i64::try_from(v).expect("signed")))
                    .collect::<Int64Array>(),
            )
        }
    }

    fn by_label(out: &ArrayRef, labels: &[usize]) -> Sums {
        assert_eq!(out.len(), labels.len());
        let out = out.as_primitive::<Int64Type>();
        labels
            .iter()
            .zip(out)
            .map(|(&label, sum)| (label, sum.map(i128::from)))
            .collect()
    }

    /// The oracle: every group's sum in i128.
    fn oracle(rows: &[(Option<i128>, usize)]) -> Sums {
        let mut out = Sums::new();
        for &(value, label) in rows {
            let sum = out.entry(label).or_insert(None);
            if let Some(v) = value {
                *sum.get_or_insert(0) += v;
            }
        }
        out
    }

    /// An accumulator updated with `rows` in one batch, and its groups' labels.
    fn updated(rows: &[(Option<i128>, usize)], unsigned: bool) -> Result<(SumGroups, Vec<usize>)> {
        let mut acc = SumGroups::default();
        let mut labels = Vec::new();
        let ids = dense(rows, &mut labels);
        acc.update_batch(&[values(rows, unsigned)], &ids, None, labels.len())?;
        Ok((acc, labels))
    }

    /// One accumulator updated batch by batch, then evaluated.
    fn grouped(batches: &[&[(Option<i128>, usize)]], unsigned: bool) -> Result<Sums> {
        let mut acc = SumGroups::default();
        let mut labels = Vec::new();
        for rows in batches {
            let ids = dense(rows, &mut labels);
            acc.update_batch(&[values(rows, unsigned)], &ids, None, labels.len())?;
        }
        Ok(by_label(&acc.evaluate(EmitTo::All)?, &labels))
    }

    #[test]
    fn sums_past_the_range_and_back_are_exact() {
        let rows = [i64::MAX, i64::MAX, -i64::MAX, -i64::MAX, 5].map(|v| (Some(v.into()), 0));
        assert_eq!(
            grouped(&[&rows], false).unwrap(),
            Sums::from([(0, Some(5))])
        );
        // The other way: under i64::MIN twice, then back, over two batches.
        let rows = [i64::MIN, i64::MIN, i64::MAX, i64::MAX, 2].map(|v| (Some(v.into()), 7));
        let (first, second) = rows.split_at(2);
        assert_eq!(
            grouped(&[first, second], false).unwrap(),
            Sums::from([(7, Some(0))])
        );
    }

    #[test]
    fn a_sum_outside_the_range_is_an_error_naming_it() {
        let rows = [
            (Some(i64::MAX.into()), 0),
            (Some(i64::MAX.into()), 1),
            (Some(1), 1),
        ];
        let err = grouped(&[&rows], false).unwrap_err();
        assert!(
            err.to_string()
                .contains("a sum of 9223372036854775808 is outside the BIGINT range"),
            "{err}"
        );
    }

    #[test]
    fn groups_without_values_are_null() {
        let rows = [(None, 0), (Some(3), 1), (None, 2), (None, 0)];
        let want = Sums::from([(0, None), (1, Some(3)), (2, None)]);
        assert_eq!(grouped(&[&rows], false).unwrap(), want);
    }

    #[test]
    fn unsigned_values_past_the_signed_range_count_whole() {
        let big = i128::from(u64::MAX);
        let rows = [(Some(big), 0), (Some(1), 1)];
        let err = grouped(&[&rows], true).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("a sum of {big} is outside")),
            "{err}"
        );
        let rows = [(Some(1 << 62), 0), (Some(1 << 62), 0), (None, 1)];
        let err = grouped(&[&rows], true).unwrap_err();
        assert!(
            err.to_string().contains("a sum of 9223372036854775808 is"),
            "{err}"
        );
        let rows = [(Some(i128::from(i64::MAX)), 0), (Some(3), 1)];
        assert_eq!(
            grouped(&[&rows], true).unwrap(),
            Sums::from([(0, Some(i64::MAX.into())), (1, Some(3))])
        );
    }

    /// Random values near the ends of the range, in groups, through every path a
    /// plan can take: update, state and merge, convert_to_state with a filter,
    /// emitting the first group early, and the ungrouped accumulator. Each
    /// result is checked against i128 sums; where a sum leaves the `BIGINT`
    /// range, the path must fail.
    #[test]
    #[expect(
        clippy::too_many_lines,
        reason = "one oracle over every accumulator path, each a few lines"
    )]
    fn every_path_matches_i128_sums() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let (mut errors, mut exact) = (0, 0);
        for round in 0..300 {
            // One round in three is unsigned: values from 0 to 2^64 - 1.
            let unsigned = round % 3 == 0;
            let labels = 1 + next() % 6;
            let rows: Vec<(Option<i128>, usize)> = (0..next() % 40)
                .map(|_| {
                    let r = next();
                    let value = match (unsigned, r % 5) {
                        (_, 0) => None,
                        (false, 1) => Some(i128::from(i64::MAX - (r >> 40) as i64)),
                        (false, 2) => Some(i128::from(i64::MIN + (r >> 40) as i64)),
                        (false, 3) => Some(i128::from((r >> 32) as i64 - (1 << 31))),
                        (false, _) => Some(i128::from(r as i64)),
                        (true, 1) => Some(i128::from(u64::MAX - (r >> 40))),
                        (true, 2) => Some(i128::from(r >> 33)),
                        (true, _) => Some(i128::from(r)),
                    };
                    (value, (next() % labels) as usize)
                })
                .collect();
            let filter: Vec<Option<bool>> = rows
                .iter()
                .map(|_| match next() % 4 {
                    0 => None,
                    1 => Some(false),
                    _ => Some(true),
                })
                .collect();
            let filtered: Vec<(Option<i128>, usize)> = rows
                .iter()
                .zip(&filter)
                .map(|(&(v, g), f)| (v.filter(|_| *f == Some(true)), g))
                .collect();

            let mut check = |got: Result<Sums>, want: &Sums, path: &str| {
                let fits = want.values().flatten().all(|s| i64::try_from(*s).is_ok());
                match got {
                    Ok(got) => {
                        assert!(fits, "round {round} {path}: no error for {want:?}");
                        assert_eq!(&got, want, "round {round} {path}");
                        exact += 1;
                    }
                    Err(e) => {
                        assert!(!fits, "round {round} {path}: {e}");
                        assert!(e.to_string().contains("outside the BIGINT range"), "{e}");
                        errors += 1;
                    }
                }
            };

            // Two partial accumulators, merged into a final one through their
            // states.
            let (first, second) = rows.split_at(rows.len() / 2);
            let split = || -> Result<Sums> {
                let mut fin = SumGroups::default();
                let mut fin_labels = Vec::new();
                for part_rows in [first, second] {
                    let (mut part, part_labels) = updated(part_rows, unsigned)?;
                    let state = part.state(EmitTo::All)?;
                    let as_rows: Vec<_> = part_labels.iter().map(|&l| (None, l)).collect();
                    let ids = dense(&as_rows, &mut fin_labels);
                    fin.merge_batch(&state, &ids, fin_labels.len())?;
                }
                Ok(by_label(&fin.evaluate(EmitTo::All)?, &fin_labels))
            };
            check(split(), &oracle(&rows), "partial and final");

            // Each row its own state (a skipped partial aggregation), filtered.
            let through_rows = || -> Result<Sums> {
                let mut fin = SumGroups::default();
                let filter = BooleanArray::from(filter.clone());
                let state = fin.convert_to_state(&[values(&rows, unsigned)], Some(&filter))?;
                let mut labels = Vec::new();
                let ids = dense(&rows, &mut labels);
                fin.merge_batch(&state, &ids, labels.len())?;
                Ok(by_label(&fin.evaluate(EmitTo::All)?, &labels))
            };
            check(through_rows(), &oracle(&filtered), "convert_to_state");

            // The first group emitted early, then the rest.
            let early = || -> Result<Sums> {
                let (mut acc, labels) = updated(&rows, unsigned)?;
                let n = labels.len().min(1);
                let mut out = by_label(&acc.evaluate(EmitTo::First(n))?, &labels[..n]);
                out.extend(by_label(&acc.evaluate(EmitTo::All)?, &labels[n..]));
                Ok(out)
            };
            check(early(), &oracle(&rows), "emit first");

            // No groups: every row in one sum, through update, state and merge.
            let single = || -> Result<Sums> {
                let mut fin = SumAccumulator::default();
                for part_rows in [first, second] {
                    let mut part = SumAccumulator::default();
                    part.update_batch(&[values(part_rows, unsigned)])?;
                    let state = part
                        .state()?
                        .iter()
                        .map(ScalarValue::to_array)
                        .collect::<Result<Vec<_>>>()?;
                    fin.merge_batch(&state)?;
                }
                match fin.evaluate()? {
                    ScalarValue::Int64(sum) => Ok(Sums::from([(0, sum.map(i128::from))])),
                    other => exec_err!("not a BIGINT: {other:?}"),
                }
            };
            let mut all: Vec<_> = rows.iter().map(|&(v, _)| (v, 0)).collect();
            all.push((None, 0));
            check(single(), &oracle(&all), "ungrouped");
        }
        // Both outcomes were exercised, many times.
        assert!(
            errors > 100 && exact > 100,
            "errors {errors}, exact {exact}"
        );
    }
}
