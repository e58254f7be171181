//! `ip_is_global(ip)`: true for globally routable unicast addresses.
//!
//! Follows the IANA IPv4 and IPv6 Special-Purpose Address Registries as last
//! updated 2025-10-09: an address takes the "Globally Reachable" value of the most
//! specific registry block holding it (so 192.0.0.9 is global although
//! 192.0.0.0/24 is not); blocks marked N/A or deprecated count as not global.
//! Outside the registries, an IPv4 address is global unless multicast
//! (224.0.0.0/4); an IPv6 address is global only in the global unicast space
//! 2000::/3 (IANA IPv6 Address Space registry), multicast ff00::/8 never. An
//! IPv4-mapped IPv6 address is judged as the IPv4 address it carries.
//!
//! `ip` NULL, empty or not an address gives NULL. Inputs as for `cidr_match`:
//! strings of any layout, dictionaries, binary of 4 or 16 bytes.
//!
//! ```sql
//! SELECT * FROM events WHERE ip_is_global("destination.ip");
//! ```
//!
//! Where it differs from the 26-block list of Elastic's egress hunt: the list
//! excludes 192.0.0.9, 192.0.0.10, 192.31.196.0/24, 192.52.193.0/24 and
//! 192.175.48.0/24, which the registry marks globally reachable, and keeps 0.0.0.0/8,
//! the IPv6 unique-local fc00::/7, documentation 2001:db8::/32 and 3fff::/20, 6to4
//! 2002::/16, Teredo and the rest of 2001::/23, 64:ff9b:1::/48, 100::/64, 5f00::/16
//! and everything outside 2000::/3, which are not.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

use crate::cidr_match::{Addr, Block, is_ip_type, map_addrs, parse_block};
use crate::common::map_columnar;

/// (block, globally reachable) rows of the IANA IPv4 Special-Purpose Address
/// Registry, 2025-10-09.
const IPV4_REGISTRY: &[(&str, bool)] = &[
    ("0.0.0.0/8", false),
    ("0.0.0.0/32", false),
    ("10.0.0.0/8", false),
    ("100.64.0.0/10", false),
    ("127.0.0.0/8", false),
    ("169.254.0.0/16", false),
    ("172.16.0.0/12", false),
    ("192.0.0.0/24", false),
    ("192.0.0.0/29", false),
    ("192.0.0.8/32", false),
    ("192.0.0.9/32", true),
    ("192.0.0.10/32", true),
    ("192.0.0.170/32", false),
    ("192.0.0.171/32", false),
    ("192.0.2.0/24", false),
    ("192.31.196.0/24", true),
    ("192.52.193.0/24", true),
    // Deprecated 6to4 relay anycast (no value in the registry): not global.
    ("192.88.99.0/24", false),
    ("192.88.99.2/32", false),
    ("192.168.0.0/16", false),
    ("192.175.48.0/24", true),
    ("198.18.0.0/15", false),
    ("198.51.100.0/24", false),
    ("203.0.113.0/24", false),
    ("240.0.0.0/4", false),
    ("255.255.255.255/32", false),
    // Not in the registry: multicast is not unicast.
    ("224.0.0.0/4", false),
];

/// (block, globally reachable) rows of the IANA IPv6 Special-Purpose Address
/// Registry, 2025-10-09, and the address-space frame around them.
const IPV6_REGISTRY: &[(&str, bool)] = &[
    // Frame: only 2000::/3 is global unicast space; multicast is not unicast.
    ("::/0", false),
    ("2000::/3", true),
    ("ff00::/8", false),
    // Registry rows. ::ffff:0:0/96 is absent: mapped addresses are judged as IPv4.
    ("::1/128", false),
    ("::/128", false),
    ("64:ff9b::/96", true),
    ("64:ff9b:1::/48", false),
    ("100::/64", false),
    ("100:0:0:1::/64", false),
    ("2001::/23", false),
    ("2001::/32", false),
    ("2001:1::1/128", true),
    ("2001:1::2/128", true),
    ("2001:1::3/128", true),
    ("2001:2::/48", false),
    ("2001:3::/32", true),
    ("2001:4:112::/48", true),
    ("2001:10::/28", false),
    ("2001:20::/28", true),
    ("2001:30::/28", true),
    ("2001:db8::/32", false),
    ("2002::/16", false),
    ("2620:4f:8000::/48", true),
    ("3fff::/20", false),
    ("5f00::/16", false),
    ("fc00::/7", false),
    ("fe80::/10", false),
];

/// Registry rows as ranges with their prefix size, most specific first.
struct Registry {
    v4: Vec<(u32, u32, bool)>,
    v6: Vec<(u128, u128, bool)>,
}

static REGISTRY: LazyLock<Registry> = LazyLock::new(|| {
    let mut v4 = vec![];
    let mut v6 = vec![];
    for (text, global) in IPV4_REGISTRY.iter().chain(IPV6_REGISTRY) {
        match parse_block(text) {
            Some(Block::V4(first, last)) => v4.push((first, last, *global)),
            Some(Block::V6(first, last)) => v6.push((first, last, *global)),
            None => {}
        }
    }
    // Smallest range first, so the first hit is the longest prefix.
    v4.sort_by_key(|&(first, last, _)| last - first);
    v6.sort_by_key(|&(first, last, _)| last - first);
    Registry { v4, v6 }
});

/// True when `addr` is globally routable unicast.
#[must_use]
pub fn is_global(addr: Addr) -> bool {
    let registry = &*REGISTRY;
    match addr {
        Addr::V4(a) => registry
            .v4
            .iter()
            .find(|&&(first, last, _)| (first..=last).contains(&a))
            .is_none_or(|&(_, _, global)| global),
        Addr::V6(a) => registry
            .v6
            .iter()
            .find(|&&(first, last, _)| (first..=last).contains(&a))
            .is_some_and(|&(_, _, global)| global),
    }
}

/// The `ip_is_global` scalar function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct IpIsGlobal {
    signature: Signature,
}

impl Default for IpIsGlobal {
    fn default() -> Self {
        Self {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

/// The singleton `ip_is_global` function.
#[must_use]
pub fn ip_is_global_udf() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> =
        LazyLock::new(|| Arc::new(ScalarUDF::new_from_impl(IpIsGlobal::default())));
    Arc::clone(&UDF)
}

impl ScalarUDFImpl for IpIsGlobal {
    fn name(&self) -> &'static str {
        "ip_is_global"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        match args.arg_fields {
            [ip] if is_ip_type(ip.data_type()) => {
                Ok(Arc::new(Field::new(self.name(), DataType::Boolean, true)))
            }
            [ip] => plan_err!(
                "ip_is_global: argument 1 must be a string or binary IP, got {}",
                ip.data_type()
            ),
            _ => plan_err!("ip_is_global takes one argument"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [ip] = args.args.as_slice() else {
            return exec_err!("ip_is_global takes one argument");
        };
        map_columnar(ip, |array| {
            Ok(Arc::new(map_addrs(array.as_ref(), &is_global)?) as ArrayRef)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cidr_match::parse_addr;

    fn global(text: &str) -> bool {
        is_global(parse_addr(text).unwrap())
    }

    #[test]
    fn every_registry_row_parses() {
        for (text, _) in IPV4_REGISTRY.iter().chain(IPV6_REGISTRY) {
            assert!(parse_block(text).is_some(), "{text}");
        }
    }

    #[test]
    fn most_specific_registry_row_wins() {
        assert!(!global("192.0.0.8"));
        assert!(global("192.0.0.9"));
        assert!(global("192.0.0.10"));
        assert!(!global("192.0.0.11"));
        assert!(global("2001:1::3"));
        assert!(!global("2001:1::4"));
        assert!(global("2001:20::1"));
        assert!(!global("2001:db8::1"));
    }

    #[test]
    fn unicast_space_and_mapped_addresses() {
        assert!(global("8.8.8.8"));
        assert!(!global("224.0.0.1"));
        assert!(!global("ff02::1"));
        assert!(global("2606:4700::1"));
        assert!(!global("4000::1"));
        assert!(global("64:ff9b::808:808"));
        assert!(!global("fd12::1"));
        assert!(!global("::ffff:10.0.0.1"));
        assert!(global("::ffff:8.8.8.8"));
    }
}
