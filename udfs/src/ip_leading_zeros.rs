//! `ip_leading_zeros(text, mode)`: dotted IPv4 text whose parts have leading
//! zeros, read as ES|QL's `TO_IP(s, {"leading_zeros": mode})` reads them.
//!
//! - `decimal`: a part's leading zeros are dropped (`1.1.010.1` is
//!   `1.1.10.1`);
//! - `octal`: a part with a leading zero is octal, as `inet_aton` reads it
//!   (`1.1.010.1` is `1.1.8.1`).
//!
//! Text that is not four dot-separated runs of digits (IPv6, a name) comes
//! back unchanged, as does a part past 255 or, in octal, a digit 8 or 9: the
//! address check after it (`TO_IP`'s) then refuses it. NULL stays NULL.
//!
//! `ip_values(list, mode)` is `TO_IP` of a list: each text that is an
//! address (read first as `mode` says: `reject`, `decimal` or `octal`), the
//! others dropped; a list with none left is NULL.
//!
//! ```sql
//! SELECT ip_leading_zeros('1.1.010.1', 'octal');  -- 1.1.8.1
//! SELECT ip_values(['10.0.0.1', 'x', '::1'], 'reject');  -- [10.0.0.1, ::1]
//! ```

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
#[cfg(test)]
use datafusion::common::ScalarValue;
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::common::{map_columnar, map_text_lists};

/// `text` with each part of a dotted IPv4 address read in `octal` or
/// decimal; `None` where it is not one (then it stays as it is).
fn normalized(text: &str, octal: bool) -> Option<String> {
    let parts: Vec<&str> = text.split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    let mut out = Vec::with_capacity(4);
    for part in parts {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let radix = if octal && part.len() > 1 && part.starts_with('0') {
            8
        } else {
            10
        };
        let value = u32::from_str_radix(part, radix).ok()?;
        if value > 255 {
            return None;
        }
        out.push(value.to_string());
    }
    Some(out.join("."))
}

/// See the module's docs.
#[derive(Debug, PartialEq, Eq, Hash)]
struct IpLeadingZeros {
    signature: Signature,
}

impl ScalarUDFImpl for IpLeadingZeros {
    fn name(&self) -> &'static str {
        "ip_leading_zeros"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        if arg_types.len() == 2 {
            Ok(DataType::Utf8)
        } else {
            plan_err!("ip_leading_zeros takes an address's text and \"decimal\" or \"octal\"")
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let octal = match mode(self.name(), &args.args[1])? {
            LeadingZeros::Octal => true,
            LeadingZeros::Decimal => false,
            LeadingZeros::Reject => {
                return exec_err!("ip_leading_zeros: the mode is \"decimal\" or \"octal\"");
            }
        };
        map_columnar(&args.args[0], |text: &ArrayRef| {
            let text = cast(text, &DataType::Utf8)?;
            let text = text.as_string::<i32>();
            let out: StringArray = (0..text.len())
                .map(|i| {
                    (!text.is_null(i)).then(|| {
                        let value = text.value(i);
                        normalized(value, octal).unwrap_or_else(|| value.to_owned())
                    })
                })
                .collect();
            Ok(Arc::new(out) as ArrayRef)
        })
    }
}

/// `ip_leading_zeros` (see the module).
#[must_use]
pub fn ip_leading_zeros_udf() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::new_from_impl(IpLeadingZeros {
        signature: Signature::any(2, Volatility::Immutable),
    }))
}

/// How `TO_IP` reads a dotted part with leading zeros.
#[derive(Clone, Copy)]
enum LeadingZeros {
    Reject,
    Decimal,
    Octal,
}

/// The mode argument of both functions.
fn mode(name: &str, arg: &ColumnarValue) -> Result<LeadingZeros> {
    let ColumnarValue::Scalar(mode) = arg else {
        return exec_err!("{name}: the mode must be a constant");
    };
    match mode.try_as_str().flatten() {
        Some(m) if m.eq_ignore_ascii_case("octal") => Ok(LeadingZeros::Octal),
        Some(m) if m.eq_ignore_ascii_case("decimal") => Ok(LeadingZeros::Decimal),
        Some(m) if m.eq_ignore_ascii_case("reject") => Ok(LeadingZeros::Reject),
        other => {
            exec_err!("{name}: the mode is \"reject\", \"decimal\" or \"octal\", got {other:?}")
        }
    }
}

/// See the module's docs.
#[derive(Debug, PartialEq, Eq, Hash)]
struct IpValues {
    signature: Signature,
}

impl ScalarUDFImpl for IpValues {
    fn name(&self) -> &'static str {
        "ip_values"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        if let [
            DataType::List(_) | DataType::LargeList(_) | DataType::Null,
            _,
        ] = arg_types
        {
            Ok(DataType::new_list(DataType::Utf8, true))
        } else {
            plan_err!("ip_values takes a list of texts and \"reject\", \"decimal\" or \"octal\"")
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let zeros = mode(self.name(), &args.args[1])?;
        map_columnar(&args.args[0], |lists: &ArrayRef| {
            map_text_lists(lists, |values, out| {
                for text in values {
                    let read = match zeros {
                        LeadingZeros::Reject => None,
                        LeadingZeros::Decimal => normalized(text, false),
                        LeadingZeros::Octal => normalized(text, true),
                    };
                    let text = read.as_deref().unwrap_or(text);
                    if crate::ip::parse_addr(text).is_some() {
                        out.append_value(text);
                    }
                }
            })
        })
    }
}

/// `ip_values` (see the module).
#[must_use]
pub fn ip_values_udf() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::new_from_impl(IpValues {
        signature: Signature::any(2, Volatility::Immutable),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_with_leading_zeros_read_as_decimal_or_octal() {
        assert_eq!(normalized("1.1.010.1", false).as_deref(), Some("1.1.10.1"));
        assert_eq!(normalized("1.1.010.1", true).as_deref(), Some("1.1.8.1"));
        assert_eq!(
            normalized("001.0.00.0377", true).as_deref(),
            Some("1.0.0.255")
        );
        assert_eq!(normalized("10.0.0.1", true).as_deref(), Some("10.0.0.1"));
        // Not an address of four decimal parts, or out of range: unchanged.
        assert_eq!(normalized("1.1.08.1", true), None);
        assert_eq!(normalized("1.1.0300.1", false), None);
        assert_eq!(normalized("fe80::1", true), None);
        assert_eq!(normalized("1.2.3", false), None);
        assert_eq!(normalized("1..2.3", false), None);
    }

    #[test]
    fn a_list_keeps_its_addresses() {
        let list = ScalarValue::List(ScalarValue::new_list_nullable(
            &[
                ScalarValue::from("10.0.0.1"),
                ScalarValue::from("x"),
                ScalarValue::Utf8(None),
                ScalarValue::from("1.1.010.1"),
                ScalarValue::from("::1"),
            ],
            &DataType::Utf8,
        ));
        let run = |mode: &str| {
            let args = ScalarFunctionArgs {
                args: vec![
                    ColumnarValue::Scalar(list.clone()),
                    ColumnarValue::Scalar(ScalarValue::from(mode)),
                ],
                arg_fields: vec![],
                number_rows: 1,
                return_field: Arc::new(datafusion::arrow::datatypes::Field::new(
                    "v",
                    DataType::new_list(DataType::Utf8, true),
                    true,
                )),
                config_options: Arc::default(),
            };
            let ColumnarValue::Scalar(ScalarValue::List(out)) =
                ip_values_udf().invoke_with_args(args).unwrap()
            else {
                panic!("a list")
            };
            let values = out.value(0);
            values
                .as_string::<i32>()
                .iter()
                .map(|v| v.unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        // std's parser as the oracle: "1.1.010.1" is no address to it.
        assert!("1.1.010.1".parse::<std::net::IpAddr>().is_err());
        assert_eq!(run("reject"), ["10.0.0.1", "::1"]);
        assert_eq!(run("octal"), ["10.0.0.1", "1.1.8.1", "::1"]);
    }
}
