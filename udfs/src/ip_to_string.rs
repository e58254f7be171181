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

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

use crate::cidr_match::is_ip_type;
use crate::common::{is_string_type, map_columnar};
use crate::ip::{Addr, addr_from_bytes};

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
}
