//! `ip_to_string(ip)`: an IP as ECS text, whatever way it is stored.
//!
//! Some lakes store IPs as 4 or 16 raw bytes (Binary, FixedSizeBinary(16)); ECS
//! and ES|QL show them as text. Binary of 4 bytes is IPv4, 16 bytes IPv6, and an
//! IPv4-mapped IPv6 address is shown as the IPv4 address it carries (as
//! Elasticsearch shows it). Binary of any other length is NULL. Strings are
//! returned unchanged (as `Utf8`), so the function can be applied to a column
//! whose files disagree on how they store IPs.
//!
//! ```sql
//! SELECT ip_to_string("destination.ip") FROM events;
//! ```

use std::cell::RefCell;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::builder::make_view;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, GenericStringArray, ListArray, OffsetSizeTrait, StringArray,
    StringBuilder, StringViewArray,
};
use datafusion::arrow::buffer::{Buffer, ScalarBuffer};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

use crate::cidr_match::is_ip_type;
use crate::common::{LastArrays, is_string_type, map_columnar};
use crate::ip::{Addr, addr_from_bytes, parse_addr};

/// The `ip_to_string` scalar function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct IpToString {
    signature: Signature,
}

impl Default for IpToString {
    fn default() -> Self {
        Self {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

/// The singleton `ip_to_string` function.
#[must_use]
pub fn ip_to_string_udf() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> =
        LazyLock::new(|| Arc::new(ScalarUDF::new_from_impl(IpToString::default())));
    Arc::clone(&UDF)
}

/// The text of an address: dotted quad, or IPv6 in its canonical form.
fn write_addr(out: &mut impl std::fmt::Write, addr: Addr) -> std::fmt::Result {
    match addr {
        Addr::V4(v4) => write!(out, "{}", Ipv4Addr::from(v4)),
        Addr::V6(v6) => write!(out, "{}", Ipv6Addr::from(v6)),
    }
}

fn binary_to_text<'a>(rows: impl Iterator<Item = Option<&'a [u8]>>) -> ArrayRef {
    let mut out = StringBuilder::new();
    for row in rows {
        match row.and_then(addr_from_bytes) {
            Some(addr) => {
                // Writing to a builder does not fail.
                let _ = write_addr(&mut out, addr);
                out.append_value("");
            }
            None => out.append_null(),
        }
    }
    Arc::new(out.finish())
}

/// Converts one array of IPs to `Utf8` text.
fn to_text(array: &ArrayRef) -> Result<ArrayRef> {
    Ok(match array.data_type() {
        DataType::Utf8 => Arc::clone(array),
        t if is_string_type(t) => cast(array, &DataType::Utf8)?,
        DataType::Binary => binary_to_text(array.as_binary::<i32>().iter()),
        DataType::LargeBinary => binary_to_text(array.as_binary::<i64>().iter()),
        DataType::BinaryView => binary_to_text(array.as_binary_view().iter()),
        DataType::FixedSizeBinary(_) => binary_to_text(array.as_fixed_size_binary().iter()),
        DataType::Null => Arc::new(StringArray::new_null(array.len())),
        DataType::Dictionary(_, value) => to_text(&cast(array, value)?)?,
        other => return exec_err!("ip_to_string: expected a string or binary IP, got {other}"),
    })
}

impl ScalarUDFImpl for IpToString {
    fn name(&self) -> &'static str {
        "ip_to_string"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        match args.arg_fields {
            [ip] if is_ip_type(ip.data_type()) => {
                Ok(Arc::new(Field::new(self.name(), DataType::Utf8, true)))
            }
            [ip] => plan_err!(
                "ip_to_string: argument 1 must be a string or binary IP, got {}",
                ip.data_type()
            ),
            _ => plan_err!("ip_to_string takes one argument"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [ip] = args.args.as_slice() else {
            return exec_err!("ip_to_string takes one argument");
        };
        map_columnar(ip, to_text)
    }
}

/// `esql_ip_text(ip)`: text IPs as Elasticsearch writes a stored `ip` field,
/// which it keeps as 16 bytes: an IPv4-mapped address as its IPv4 address
/// (`::ffff:10.0.0.1` is `10.0.0.1`), IPv6 in its canonical form (lower case,
/// the longest run of zeros as `::`). A value that is not an address stays as
/// it is (CIDR_MATCH and comparisons still read it as no address). The array
/// comes back unchanged, not copied, where every value already is canonical:
/// a dotted quad that parses is (the parser takes no leading zeros). Strings
/// of any layout, or lists of them (a multi-valued field), keep their type.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct IpText {
    signature: Signature,
}

/// The singleton `esql_ip_text` function.
#[must_use]
pub fn ip_text_udf() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| {
        Arc::new(ScalarUDF::new_from_impl(IpText {
            signature: Signature::any(1, Volatility::Immutable),
        }))
    });
    Arc::clone(&UDF)
}

/// Writes `text`'s canonical spelling into `out` where it is an address
/// spelled otherwise (returning `true`). `out` is reused from value to
/// value, so writing allocates once.
fn respell(text: &str, out: &mut String) -> bool {
    let Some(addr) = parse_addr(text) else {
        return false;
    };
    // A dotted quad that parses is canonical (the parser takes no leading
    // zeros); anything else is written as std writes it (RFC 5952) and
    // compared.
    if matches!(addr, Addr::V4(_)) && !text.contains(':') {
        return false;
    }
    out.clear();
    let _ = write_addr(out, addr);
    out != text
}

/// [`canonical`] of `Utf8` or `LargeUtf8` text (rebuilt whole where any
/// value changes).
fn respelled_strings<O: OffsetSizeTrait>(array: &ArrayRef) -> ArrayRef {
    let strings = array.as_string::<O>();
    let mut text = String::new();
    if !strings.iter().flatten().any(|v| respell(v, &mut text)) {
        return Arc::clone(array);
    }
    Arc::new(
        strings
            .iter()
            .map(|v| {
                v.map(|v| {
                    if respell(v, &mut text) {
                        text.clone()
                    } else {
                        v.to_owned()
                    }
                })
            })
            .collect::<GenericStringArray<O>>(),
    )
}

/// `array` with each address canonical (see [`IpText`]); the same array
/// where nothing changes.
fn canonical(array: &ArrayRef) -> Result<ArrayRef> {
    let mut text = String::new();
    Ok(match array.data_type() {
        DataType::Utf8View => {
            // The views of the values that stay, a new buffer for the rest.
            let strings = array.as_string_view();
            let mut views: Option<Vec<u128>> = None;
            let mut extra: Vec<u8> = vec![];
            let block = u32::try_from(strings.data_buffers().len()).unwrap_or(u32::MAX);
            for (i, v) in strings.iter().enumerate() {
                if let Some(v) = v
                    && respell(v, &mut text)
                {
                    let offset = u32::try_from(extra.len()).unwrap_or(u32::MAX);
                    extra.extend_from_slice(text.as_bytes());
                    let views = views.get_or_insert_with(|| strings.views().to_vec());
                    views[i] = make_view(text.as_bytes(), block, offset);
                }
            }
            let Some(views) = views else {
                return Ok(Arc::clone(array));
            };
            let mut buffers = strings.data_buffers().to_vec();
            buffers.push(Buffer::from_vec(extra));
            Arc::new(StringViewArray::try_new(
                ScalarBuffer::from(views),
                buffers,
                strings.nulls().cloned(),
            )?)
        }
        DataType::Utf8 => respelled_strings::<i32>(array),
        DataType::LargeUtf8 => respelled_strings::<i64>(array),
        DataType::List(item) => {
            let list = array.as_list::<i32>();
            let values = canonical(list.values())?;
            if Arc::ptr_eq(&values, list.values()) {
                return Ok(Arc::clone(array));
            }
            Arc::new(ListArray::try_new(
                Arc::clone(item),
                list.offsets().clone(),
                values,
                list.nulls().cloned(),
            )?)
        }
        _ => Arc::clone(array),
    })
}

thread_local! {
    /// The last arrays this thread respelled: one STATS can read a field
    /// in several aggregates (VALUES and COUNT_DISTINCT of one address).
    static LAST_RESPELLED: RefCell<LastArrays<ArrayRef, 2>> =
        const { RefCell::new(LastArrays::new()) };
}

/// [`canonical`], once per array per thread.
fn canonical_cached(array: &ArrayRef) -> Result<ArrayRef> {
    LAST_RESPELLED.with_borrow_mut(|last| {
        last.get_or_try_insert(array, || canonical(array))
            .map(|out| Arc::clone(out))
    })
}

impl ScalarUDFImpl for IpText {
    fn name(&self) -> &'static str {
        "esql_ip_text"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        let [t] = arg_types else {
            return plan_err!("esql_ip_text takes one argument");
        };
        Ok(t.clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [ip] = args.args.as_slice() else {
            return exec_err!("esql_ip_text takes one argument");
        };
        map_columnar(ip, canonical_cached)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{BinaryArray, FixedSizeBinaryArray};

    #[test]
    fn binary_of_4_and_16_bytes_and_mapped_addresses() {
        let mapped = Ipv6Addr::from(0xffff_0a00_0001_u128).octets();
        let v6 = "2001:db8::1".parse::<Ipv6Addr>().unwrap().octets();
        let binary: ArrayRef = Arc::new(BinaryArray::from(vec![
            Some(&[10u8, 0, 0, 1][..]),
            Some(&mapped[..]),
            Some(&v6[..]),
            Some(&[1u8, 2, 3][..]),
            None,
        ]));
        let text = to_text(&binary).unwrap();
        let text = text.as_string::<i32>();
        let got: Vec<Option<&str>> = text.iter().collect();
        assert_eq!(
            got,
            vec![
                Some("10.0.0.1"),
                Some("10.0.0.1"),
                Some("2001:db8::1"),
                None,
                None
            ]
        );
        let fixed: ArrayRef = Arc::new(
            FixedSizeBinaryArray::try_from_sparse_iter_with_size(
                vec![Some(v6), None].into_iter(),
                16,
            )
            .unwrap(),
        );
        let fixed = to_text(&fixed).unwrap();
        assert_eq!(fixed.as_string::<i32>().value(0), "2001:db8::1");
        assert!(fixed.is_null(1));
    }

    #[test]
    fn strings_pass_through() {
        let strings: ArrayRef = Arc::new(StringArray::from(vec![Some("not an ip"), None]));
        let view = cast(&strings, &DataType::Utf8View).unwrap();
        let text = to_text(&view).unwrap();
        assert_eq!(text.as_string::<i32>().value(0), "not an ip");
        assert!(text.is_null(1));
    }

    /// Against the standard library's parser and writer: each spelling of an
    /// address comes back as Rust writes it (RFC 5952), an IPv4-mapped one as
    /// its IPv4 address; other text and NULL as they were.
    #[test]
    fn addresses_come_back_canonical() {
        let cases = [
            ("10.0.0.1", "10.0.0.1"),
            ("::ffff:10.0.0.1", "10.0.0.1"),
            ("::FFFF:0a00:0001", "10.0.0.1"),
            ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
            ("2001:0db8::0001", "2001:db8::1"),
            ("::1", "::1"),
            ("fe80:0:0:1:0:0:0:0", "fe80:0:0:1::"),
            ("010.0.0.1", "010.0.0.1"),
            ("not-an-ip", "not-an-ip"),
        ];
        for (text, want) in cases {
            // The oracle: std's parser and Display, IPv4-mapped as IPv4.
            if let Ok(v6) = text.parse::<Ipv6Addr>() {
                let std = v6
                    .to_ipv4_mapped()
                    .map_or_else(|| v6.to_string(), |v4| v4.to_string());
                assert_eq!(std, want, "{text}");
            }
        }
        let input: ArrayRef = Arc::new(
            cases
                .iter()
                .map(|(t, _)| Some(*t))
                .chain([None])
                .collect::<StringViewArray>(),
        );
        let out = canonical(&input).unwrap();
        let got: Vec<Option<&str>> = out.as_string_view().iter().collect();
        let want: Vec<Option<&str>> = cases.iter().map(|(_, w)| Some(*w)).chain([None]).collect();
        assert_eq!(got, want);
        // Utf8 and LargeUtf8 keep their type.
        let flat: ArrayRef = Arc::new(StringArray::from(vec![Some("::FFFF:10.0.0.1"), None]));
        let out = canonical(&flat).unwrap();
        assert_eq!(out.as_string::<i32>().value(0), "10.0.0.1");
        assert!(out.is_null(1));
        let large: ArrayRef = Arc::new(datafusion::arrow::array::LargeStringArray::from(vec![
            "2001:0DB8::1",
        ]));
        assert_eq!(
            canonical(&large).unwrap().as_string::<i64>().value(0),
            "2001:db8::1"
        );
        // Nothing to change: the same array, not a copy.
        let plain: ArrayRef = Arc::new(StringArray::from(vec![Some("10.0.0.1"), None]));
        assert!(Arc::ptr_eq(&canonical(&plain).unwrap(), &plain));
        // A list's values.
        let list: ArrayRef = Arc::new(ListArray::from_iter_primitive::<
            datafusion::arrow::datatypes::Int32Type,
            _,
            _,
        >(vec![Some(vec![Some(1)])]));
        assert!(Arc::ptr_eq(&canonical(&list).unwrap(), &list));
    }
}
