//! `cidr_match(ip, block, ...)`: ES|QL's `CIDR_MATCH`.
//!
//! True when `ip` lies in any of the blocks. Semantics follow ES|QL so that a hunt
//! written for Elasticsearch gives the same answer here:
//!
//! - a block is `a.b.c.d/n`, an IPv6 prefix `x:y::/n` (hex in any case), or a bare
//!   address without `/`, meaning exactly that address;
//! - IPv4 blocks never match IPv6 addresses and IPv6 blocks never match IPv4
//!   addresses; an IPv4-mapped IPv6 address (`::ffff:10.1.2.3`) *is* the IPv4
//!   address it carries (Elasticsearch stores IPv4 that way), and an IPv6 block
//!   inside `::ffff:0:0/96` is the IPv4 block it carries;
//! - `ip` NULL, empty or not an address gives NULL (so `NOT CIDR_MATCH(..)` drops
//!   the row, as in ES|QL); a NULL block gives NULL;
//! - a block literal that is not a block is a planning error naming the literal and
//!   its argument position; a bad block held in a column gives NULL for that row.
//!
//! `ip` may be `Utf8`, `LargeUtf8`, `Utf8View`, a dictionary of those, or binary
//! (Binary/LargeBinary/BinaryView of 4 or 16 bytes, FixedSizeBinary(4|16)).
//!
//! ```sql
//! SELECT * FROM events WHERE NOT CIDR_MATCH("destination.ip", '10.0.0.0/8', '::1', 'fe80::/10');
//! ```

use std::cell::RefCell;
use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

use crate::common::{
    LastArrays, boolean_through_dictionary, collect_bools, for_each_str, is_string_type,
    map_columnar, scalar_str,
};

pub use crate::ip::{Addr, Block, BlockSet, addr_from_bytes, parse_addr, parse_block};

/// The `cidr_match` scalar function.
///
/// Registered lowercase: `DataFusion` lowercases unquoted function names, so both
/// `CIDR_MATCH(...)` and `cidr_match(...)` resolve to it.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct CidrMatch {
    signature: Signature,
}

impl Default for CidrMatch {
    fn default() -> Self {
        Self {
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }
}

/// The singleton `cidr_match` function.
#[must_use]
pub fn cidr_match_udf() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> =
        LazyLock::new(|| Arc::new(ScalarUDF::new_from_impl(CidrMatch::default())));
    Arc::clone(&UDF)
}

/// True for the types an IP argument may have.
pub(crate) fn is_ip_type(data_type: &DataType) -> bool {
    match data_type {
        DataType::Dictionary(_, value) => is_ip_type(value),
        DataType::Null
        | DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(4 | 16) => true,
        other => is_string_type(other),
    }
}

impl ScalarUDFImpl for CidrMatch {
    fn name(&self) -> &'static str {
        "cidr_match"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    /// Checks the call's shape and every literal block while planning, so a typo
    /// in a block fails before any data is read.
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        if args.arg_fields.len() < 2 {
            return plan_err!("cidr_match takes an IP and at least one CIDR block");
        }
        let ip_type = args.arg_fields[0].data_type();
        if !is_ip_type(ip_type) {
            return plan_err!(
                "cidr_match: argument 1 must be a string or binary IP, got {ip_type}"
            );
        }
        for (i, field) in args.arg_fields.iter().enumerate().skip(1) {
            let data_type = field.data_type();
            if !(is_string_type(data_type)
                || matches!(data_type, DataType::Null | DataType::Dictionary(..)))
            {
                return plan_err!(
                    "cidr_match: argument {} must be a string CIDR block, got {data_type}",
                    i + 1
                );
            }
            let literal = match args.scalar_arguments.get(i) {
                Some(Some(value)) => scalar_str(value)?,
                _ => None,
            };
            if let Some(text) = literal.filter(|t| parse_block(t).is_none()) {
                return plan_err!(
                    "cidr_match: argument {} is not a valid CIDR block: '{text}'",
                    i + 1
                );
            }
        }
        Ok(Arc::new(Field::new(self.name(), DataType::Boolean, true)))
    }

    /// Compiles literal blocks once per query, not per batch: the call becomes a
    /// [`CidrMatchCompiled`] holding the sorted, merged ranges.
    fn simplify(&self, args: Vec<Expr>, _info: &SimplifyContext) -> Result<ExprSimplifyResult> {
        let Some((ip, blocks)) = args.split_first() else {
            return Ok(ExprSimplifyResult::Original(args));
        };
        let mut texts = Vec::with_capacity(blocks.len());
        for block in blocks {
            match block {
                Expr::Literal(value, _) => match scalar_str(value) {
                    Ok(Some(text)) => texts.push(text.to_owned()),
                    // NULL or non-string literals keep the general path (and its errors).
                    _ => return Ok(ExprSimplifyResult::Original(args)),
                },
                _ => return Ok(ExprSimplifyResult::Original(args)),
            }
        }
        let Ok(set) = BlockSet::parse(texts.iter().map(String::as_str)) else {
            return Ok(ExprSimplifyResult::Original(args));
        };
        let compiled = CidrMatchCompiled {
            signature: Signature::variadic_any(Volatility::Immutable),
            set,
        };
        // The literals stay as arguments so plans show them; they are not read again.
        let mut call_args = vec![ip.clone()];
        call_args.extend(blocks.iter().cloned());
        Ok(ExprSimplifyResult::Simplified(Expr::ScalarFunction(
            ScalarFunction::new_udf(Arc::new(ScalarUDF::new_from_impl(compiled)), call_args),
        )))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (ip, blocks) = args
            .args
            .split_first()
            .ok_or_else(|| datafusion::common::DataFusionError::Internal("no args".into()))?;
        let all_literal = blocks.iter().all(|b| matches!(b, ColumnarValue::Scalar(_)));
        if !all_literal {
            let arrays = ColumnarValue::values_to_arrays(&args.args)?;
            return Ok(ColumnarValue::Array(Arc::new(per_row_blocks(&arrays)?)));
        }
        let mut texts = Vec::with_capacity(blocks.len());
        for block in blocks {
            if let ColumnarValue::Scalar(value) = block {
                match scalar_str(value)? {
                    Some(text) => texts.push(text),
                    // A NULL block makes every answer NULL.
                    None => return Ok(ColumnarValue::Scalar(ScalarValue::Boolean(None))),
                }
            }
        }
        let set = match BlockSet::parse(texts.iter().copied()) {
            Ok(set) => set,
            Err(i) => {
                return exec_err!(
                    "cidr_match: argument {} is not a valid CIDR block: '{}'",
                    i + 2,
                    texts[i]
                );
            }
        };
        map_columnar(ip, |array| match_array(array, &set))
    }
}

/// `cidr_match(ip, <literal blocks>)` after planning: the blocks compiled once.
///
/// Built only by [`CidrMatch`]'s simplification; never registered by name. The
/// block literals remain arguments (plans show them) but only `ip` is read.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct CidrMatchCompiled {
    signature: Signature,
    set: BlockSet,
}

impl CidrMatchCompiled {
    /// The compiled function for these blocks, as planning makes it; `None` when a
    /// block is invalid. Call it with the IP as its only argument. For benchmarks
    /// and callers that build plans in code.
    #[must_use]
    pub fn new_udf(blocks: &[&str]) -> Option<ScalarUDF> {
        let set = BlockSet::parse(blocks.iter().copied()).ok()?;
        Some(ScalarUDF::new_from_impl(CidrMatchCompiled {
            signature: Signature::variadic_any(Volatility::Immutable),
            set,
        }))
    }
}

impl ScalarUDFImpl for CidrMatchCompiled {
    fn name(&self) -> &'static str {
        "cidr_match"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let Some(ip) = args.args.first() else {
            return exec_err!("cidr_match: no IP argument");
        };
        map_columnar(ip, |array| match_array(array, &self.set))
    }
}

/// Maps each row of an IP array through `f`; rows that are NULL or not an IP give NULL.
pub(crate) fn map_addrs(array: &dyn Array, f: &impl Fn(Addr) -> bool) -> Result<BooleanArray> {
    let len = array.len();
    let nulls = array.nulls();
    let valid = |i: usize| nulls.is_none_or(|n| n.is_valid(i));
    Ok(match array.data_type() {
        DataType::Utf8 => {
            let a = array.as_string::<i32>();
            collect_bools(len, |i| valid(i).then(|| parse_addr(a.value(i)).map(f))?)
        }
        DataType::LargeUtf8 => {
            let a = array.as_string::<i64>();
            collect_bools(len, |i| valid(i).then(|| parse_addr(a.value(i)).map(f))?)
        }
        DataType::Utf8View => {
            let a = array.as_string_view();
            collect_bools(len, |i| valid(i).then(|| parse_addr(a.value(i)).map(f))?)
        }
        DataType::Binary => {
            let a = array.as_binary::<i32>();
            collect_bools(len, |i| {
                valid(i).then(|| addr_from_bytes(a.value(i)).map(f))?
            })
        }
        DataType::LargeBinary => {
            let a = array.as_binary::<i64>();
            collect_bools(len, |i| {
                valid(i).then(|| addr_from_bytes(a.value(i)).map(f))?
            })
        }
        DataType::BinaryView => {
            let a = array.as_binary_view();
            collect_bools(len, |i| {
                valid(i).then(|| addr_from_bytes(a.value(i)).map(f))?
            })
        }
        DataType::FixedSizeBinary(_) => {
            let a = array.as_fixed_size_binary();
            collect_bools(len, |i| {
                valid(i).then(|| addr_from_bytes(a.value(i)).map(f))?
            })
        }
        DataType::Null => BooleanArray::new_null(len),
        DataType::Dictionary(..) => {
            return boolean_through_dictionary(array, |values| map_addrs(values.as_ref(), f));
        }
        other => {
            return exec_err!("cidr_match: argument 1 must be a string or binary IP, got {other}");
        }
    })
}

thread_local! {
    /// The last two string arrays this thread matched, parsed into addresses
    /// (`None`: NULL or not an IP): parsing is most of a match's cost. They
    /// are held (with their buffers) until that thread's next matches.
    static LAST_PARSED: RefCell<LastArrays<Vec<Option<Addr>>, 2>> =
        const { RefCell::new(LastArrays::new()) };
}

fn match_array(array: &ArrayRef, set: &BlockSet) -> Result<ArrayRef> {
    if !is_string_type(array.data_type()) {
        // Binary addresses are cheap to read; dictionaries are matched once
        // per distinct value.
        return Ok(Arc::new(map_addrs(array.as_ref(), &|addr| {
            set.contains(addr)
        })?));
    }
    LAST_PARSED.with_borrow_mut(|last| {
        let addrs = last.get_or_try_insert(array, || {
            let mut addrs = Vec::with_capacity(array.len());
            for_each_str(array.as_ref(), |text| addrs.push(text.and_then(parse_addr)))?;
            Ok(addrs)
        })?;
        Ok(Arc::new(collect_bools(addrs.len(), |i| {
            addrs[i].map(|addr| set.contains(addr))
        })) as ArrayRef)
    })
}

/// The slow path: at least one block comes from a column, so blocks are parsed per row.
fn per_row_blocks(arrays: &[ArrayRef]) -> Result<BooleanArray> {
    // Decode dictionaries once per batch, so each row is a plain lookup.
    let arrays = arrays
        .iter()
        .map(|a| match a.data_type() {
            DataType::Dictionary(_, value) => Ok(cast(a, value)?),
            _ => Ok(Arc::clone(a)),
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    let rows = arrays.first().map_or(0, Array::len);
    Ok((0..rows).map(|row| row_match(&arrays, row)).collect())
}

fn row_addr(array: &dyn Array, row: usize) -> Option<Addr> {
    if array.is_null(row) {
        return None;
    }
    match array.data_type() {
        DataType::Utf8 => parse_addr(array.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => parse_addr(array.as_string::<i64>().value(row)),
        DataType::Utf8View => parse_addr(array.as_string_view().value(row)),
        DataType::Binary => addr_from_bytes(array.as_binary::<i32>().value(row)),
        DataType::LargeBinary => addr_from_bytes(array.as_binary::<i64>().value(row)),
        DataType::BinaryView => addr_from_bytes(array.as_binary_view().value(row)),
        DataType::FixedSizeBinary(_) => addr_from_bytes(array.as_fixed_size_binary().value(row)),
        _ => None,
    }
}

fn row_str(array: &dyn Array, row: usize) -> Option<&str> {
    if array.is_null(row) {
        return None;
    }
    match array.data_type() {
        DataType::Utf8 => Some(array.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => Some(array.as_string::<i64>().value(row)),
        DataType::Utf8View => Some(array.as_string_view().value(row)),
        _ => None,
    }
}

fn row_match(arrays: &[ArrayRef], row: usize) -> Option<bool> {
    let addr = row_addr(arrays[0].as_ref(), row)?;
    let mut matched = false;
    for block in &arrays[1..] {
        let Some(block) = row_str(block.as_ref(), row).and_then(parse_block) else {
            // A NULL or invalid block held in a column: NULL for this row.
            return None;
        };
        matched |= match (block, addr) {
            (Block::V4(first, last), Addr::V4(a)) => (first..=last).contains(&a),
            (Block::V6(first, last), Addr::V6(a)) => (first..=last).contains(&a),
            _ => false,
        };
    }
    Some(matched)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(blocks: &[&str]) -> BlockSet {
        BlockSet::parse(blocks.iter().copied()).unwrap()
    }

    #[test]
    fn literal_blocks_compile_once_and_column_blocks_do_not() {
        use datafusion::common::DFSchema;
        use datafusion::prelude::{col, lit};
        let schema = datafusion::arrow::datatypes::Schema::new(vec![
            Field::new("ip", DataType::Utf8, true),
            Field::new("block", DataType::Utf8, true),
        ]);
        let info = SimplifyContext::builder()
            .with_schema(Arc::new(DFSchema::try_from(schema).unwrap()))
            .build();
        let udf = CidrMatch::default();
        let compiled = udf
            .simplify(vec![col("ip"), lit("10.0.0.0/8"), lit("::1")], &info)
            .unwrap();
        let ExprSimplifyResult::Simplified(Expr::ScalarFunction(f)) = compiled else {
            panic!("literal blocks are compiled")
        };
        let inner = f.func.inner().downcast_ref::<CidrMatchCompiled>().unwrap();
        assert_eq!(inner.set, set(&["10.0.0.0/8", "::1"]));
        assert_eq!(f.args.len(), 3, "literals stay visible in plans");
        for args in [
            vec![col("ip"), col("block")],
            vec![col("ip"), lit(ScalarValue::Utf8(None))],
        ] {
            assert!(matches!(
                udf.simplify(args, &info).unwrap(),
                ExprSimplifyResult::Original(_)
            ));
        }
    }

    #[test]
    fn a_parsed_array_is_reused_only_for_that_array() {
        use datafusion::arrow::array::{LargeStringArray, StringArray, StringViewArray};
        let rows = [
            Some("10.1.2.3"),
            None,
            Some("8.8.8.8"),
            Some("nope"),
            Some("::1"),
        ];
        let other = [
            Some("8.8.8.8"),
            Some("10.0.0.1"),
            None,
            Some("fd00::1"),
            Some("1.1"),
        ];
        let private = set(&["10.0.0.0/8", "::1/128"]);
        let any = set(&["0.0.0.0/0", "::/0"]);
        // What each call must give: map_addrs parses every row anew.
        let expected = |array: &ArrayRef, set: &BlockSet| -> ArrayRef {
            Arc::new(map_addrs(array.as_ref(), &|addr| set.contains(addr)).unwrap())
        };
        let arrays: Vec<ArrayRef> = vec![
            Arc::new(StringViewArray::from(rows.to_vec())),
            Arc::new(StringViewArray::from(other.to_vec())),
            Arc::new(StringArray::from(rows.to_vec())),
            Arc::new(LargeStringArray::from(other.to_vec())),
            // Same contents, another array: equal results, no stale ones.
            Arc::new(StringViewArray::from(rows.to_vec()).slice(1, 3)),
        ];
        // Each array twice in a row with two sets (the second call reuses the
        // parse), then all of them again interleaved (no call does).
        for array in &arrays {
            for set in [&any, &private] {
                assert_eq!(&match_array(array, set).unwrap(), &expected(array, set));
            }
        }
        for set in [&private, &any] {
            for array in arrays.iter().rev() {
                assert_eq!(&match_array(array, set).unwrap(), &expected(array, set));
            }
        }
    }
}
