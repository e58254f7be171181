//! `sort_as(list, type, order, distinct)`: a list of texts that are
//! addresses or versions, sorted as Elasticsearch orders its `ip` and
//! `version` types, not as text (`9.0.0.1` before `10.0.0.1`, `1.2.3` before
//! `1.10`).
//!
//! - `type` is `'ip'` (by the 16 bytes of the IPv6 form, an IPv4 address
//!   as its mapped form; text that is no address after every address,
//!   bytewise) or `'version'` (by [`crate::version::key`]);
//! - `order` is `'ASC'` or `'DESC'`;
//! - `distinct`: each value once (equal keys: `1.1.1.1` and `::ffff:1.1.1.1`
//!   are one address), as a stored field's doc values hold them.
//!
//! NULL items are dropped; a NULL list stays NULL, and a list left empty is
//! NULL. Equal keys keep their order.
//!
//! ```sql
//! SELECT sort_as(['10.0.0.1', '9.0.0.1'], 'ip', 'ASC', false);  -- [9.0.0.1, 10.0.0.1]
//! ```

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::common::{map_columnar, map_text_lists};
use crate::esql_parse::ip_key;
use crate::ip::parse_addr;

/// The sort key of an address's text: a valid one before any other text.
fn address_key(text: &str) -> Vec<u8> {
    if let Some(addr) = parse_addr(text) {
        let mut key = vec![0];
        key.extend_from_slice(&ip_key(addr));
        key
    } else {
        let mut key = vec![1];
        key.extend_from_slice(text.as_bytes());
        key
    }
}

/// `values` sorted by `key` (stable), `descending` or not, each key once
/// where `distinct` (the first of equal ones kept).
fn sorted(
    values: Vec<&str>,
    key: fn(&str) -> Vec<u8>,
    descending: bool,
    distinct: bool,
) -> Vec<&str> {
    let mut keyed: Vec<(Vec<u8>, &str)> = values.into_iter().map(|v| (key(v), v)).collect();
    // Stable: equal keys keep their order either way.
    if descending {
        keyed.sort_by(|a, b| b.0.cmp(&a.0));
    } else {
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
    }
    if distinct {
        keyed.dedup_by(|a, b| a.0 == b.0);
    }
    keyed.into_iter().map(|(_, v)| v).collect()
}

/// See the module's docs.
#[derive(Debug, PartialEq, Eq, Hash)]
struct SortAs {
    signature: Signature,
}

/// A constant text argument.
fn text_arg(arg: &ColumnarValue, what: &str) -> Result<String> {
    match arg {
        ColumnarValue::Scalar(s) => {
            if let Some(t) = s.try_as_str().flatten() {
                Ok(t.to_ascii_lowercase())
            } else {
                exec_err!("sort_as: the {what} must be text")
            }
        }
        ColumnarValue::Array(_) => exec_err!("sort_as: the {what} must be a constant"),
    }
}

impl ScalarUDFImpl for SortAs {
    fn name(&self) -> &'static str {
        "sort_as"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        if let Some(DataType::List(_) | DataType::LargeList(_) | DataType::Null) = arg_types.first()
        {
            Ok(DataType::new_list(DataType::Utf8, true))
        } else {
            plan_err!("sort_as takes a list of texts, 'ip' or 'version', an order, distinct")
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let key: fn(&str) -> Vec<u8> = match text_arg(&args.args[1], "type")?.as_str() {
            "ip" => address_key,
            "version" => crate::version::key,
            other => return exec_err!("sort_as: the type is 'ip' or 'version', not {other:?}"),
        };
        let descending = match text_arg(&args.args[2], "order")?.as_str() {
            "asc" => false,
            "desc" => true,
            other => return exec_err!("sort_as: the order is 'ASC' or 'DESC', not {other:?}"),
        };
        let distinct = match &args.args[3] {
            ColumnarValue::Scalar(ScalarValue::Boolean(Some(b))) => *b,
            _ => return exec_err!("sort_as: distinct must be a constant true or false"),
        };
        map_columnar(&args.args[0], |lists: &ArrayRef| {
            map_text_lists(lists, |values, out| {
                for v in sorted(values, key, descending, distinct) {
                    out.append_value(v);
                }
            })
        })
    }
}

/// `sort_as` (see the module).
#[must_use]
pub fn sort_as_udf() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| {
        Arc::new(ScalarUDF::new_from_impl(SortAs {
            signature: Signature::any(4, Volatility::Immutable),
        }))
    });
    Arc::clone(&UDF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_sort_by_address_and_versions_by_version() {
        // std's parser orders the oracle's addresses (IPv4 as mapped IPv6).
        let texts = [
            "10.0.0.1",
            "9.0.0.1",
            "::1",
            "x",
            "::ffff:9.0.0.1",
            "fe80::1",
        ];
        let mut oracle: Vec<&str> = texts.to_vec();
        oracle.sort_by_key(|t| {
            t.parse::<std::net::IpAddr>().map_or((1, vec![]), |a| {
                let v6 = match a {
                    std::net::IpAddr::V4(v4) => v4.to_ipv6_mapped(),
                    std::net::IpAddr::V6(v6) => v6,
                };
                (0, v6.octets().to_vec())
            })
        });
        assert_eq!(sorted(texts.to_vec(), address_key, false, false), oracle);
        assert_eq!(
            sorted(texts.to_vec(), address_key, false, true),
            ["::1", "9.0.0.1", "10.0.0.1", "fe80::1", "x"]
        );
        assert_eq!(
            sorted(texts.to_vec(), address_key, true, false),
            [
                "x",
                "fe80::1",
                "10.0.0.1",
                "9.0.0.1",
                "::ffff:9.0.0.1",
                "::1"
            ]
        );
        assert_eq!(
            sorted(
                vec!["1.10", "1.2.3", "1.2.3-alpha", "2"],
                crate::version::key,
                false,
                false
            ),
            ["1.2.3-alpha", "1.2.3", "1.10", "2"]
        );
    }
}
