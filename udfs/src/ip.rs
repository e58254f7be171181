//! IP addresses and CIDR blocks as ES|QL reads them, without allocating.
//!
//! Pure parsing and range logic, shared by `cidr_match` and `ip_is_global`, with
//! no DataFusion types, so the fuzz target (`fuzz/`) builds it on its own.

use std::net::{Ipv4Addr, Ipv6Addr};

/// An address as `cidr_match` compares it: IPv4-mapped IPv6 is IPv4.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Addr {
    /// An IPv4 address (also an IPv4-mapped IPv6 one).
    V4(u32),
    /// Any other IPv6 address.
    V6(u128),
}

impl Addr {
    fn from_v6(addr: Ipv6Addr) -> Self {
        match addr.to_ipv4_mapped() {
            Some(v4) => Addr::V4(u32::from(v4)),
            None => Addr::V6(u128::from(addr)),
        }
    }
}

/// Parses a textual IP address without allocating; `None` when it is not one.
#[must_use]
pub fn parse_addr(text: &str) -> Option<Addr> {
    if text.contains(':') {
        text.parse::<Ipv6Addr>().ok().map(Addr::from_v6)
    } else {
        text.parse::<Ipv4Addr>()
            .ok()
            .map(|a| Addr::V4(u32::from(a)))
    }
}

/// Reads a binary IP: 4 bytes are IPv4, 16 bytes IPv6 (mapped IPv4 included).
#[must_use]
pub fn addr_from_bytes(bytes: &[u8]) -> Option<Addr> {
    if let Ok(b) = <[u8; 4]>::try_from(bytes) {
        Some(Addr::V4(u32::from_be_bytes(b)))
    } else if let Ok(b) = <[u8; 16]>::try_from(bytes) {
        Some(Addr::from_v6(Ipv6Addr::from(b)))
    } else {
        None
    }
}

/// One parsed block: an inclusive range in one address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Block {
    /// IPv4 range, first and last address.
    V4(u32, u32),
    /// IPv6 range, first and last address.
    V6(u128, u128),
}

/// Parses `a.b.c.d/n`, `x:y::/n` or a bare address. Host bits below the prefix are
/// ignored, as Elasticsearch does. `None` when `text` is not a block.
#[must_use]
pub fn parse_block(text: &str) -> Option<Block> {
    let (addr, prefix) = match text.split_once('/') {
        Some((addr, bits)) => {
            // Digits only: Rust's integer parser would accept a leading `+`.
            if bits.is_empty() || bits.len() > 3 || !bits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            (addr, Some(bits.parse::<u32>().ok()?))
        }
        None => (text, None),
    };
    if addr.contains(':') {
        let v6 = u128::from(addr.parse::<Ipv6Addr>().ok()?);
        let prefix = prefix.unwrap_or(128);
        if prefix > 128 {
            return None;
        }
        // A block written inside ::ffff:0:0/96 is the IPv4 block it carries.
        if prefix >= 96 && v6 >> 32 == 0xffff {
            return Some(v4_block(v6 as u32, prefix - 96));
        }
        let mask = if prefix == 0 {
            0
        } else {
            u128::MAX << (128 - prefix)
        };
        let first = v6 & mask;
        Some(Block::V6(first, first | !mask))
    } else {
        let v4 = u32::from(addr.parse::<Ipv4Addr>().ok()?);
        let prefix = prefix.unwrap_or(32);
        if prefix > 32 {
            return None;
        }
        Some(v4_block(v4, prefix))
    }
}

fn v4_block(addr: u32, prefix: u32) -> Block {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    let first = addr & mask;
    Block::V4(first, first | !mask)
}

/// A set of blocks compiled to sorted, merged, inclusive ranges per family.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct BlockSet {
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
}

impl BlockSet {
    /// Compiles blocks. The error is the zero-based index of the first invalid one.
    pub fn parse<'a>(blocks: impl IntoIterator<Item = &'a str>) -> Result<Self, usize> {
        let mut set = BlockSet::default();
        for (i, text) in blocks.into_iter().enumerate() {
            match parse_block(text).ok_or(i)? {
                Block::V4(a, b) => set.v4.push((a, b)),
                Block::V6(a, b) => set.v6.push((a, b)),
            }
        }
        merge(&mut set.v4);
        merge(&mut set.v6);
        Ok(set)
    }

    /// True when `addr` lies in one of the blocks of its family.
    #[must_use]
    pub fn contains(&self, addr: Addr) -> bool {
        match addr {
            Addr::V4(a) => in_ranges(&self.v4, a),
            Addr::V6(a) => in_ranges(&self.v6, a),
        }
    }
}

fn merge<T: Ord + Copy + num_like::Succ>(ranges: &mut Vec<(T, T)>) {
    ranges.sort_unstable();
    let mut merged: Vec<(T, T)> = Vec::with_capacity(ranges.len());
    for &(first, last) in ranges.iter() {
        match merged.last_mut() {
            Some(prev) if prev.1 >= first || prev.1.succ() == Some(first) => {
                prev.1 = prev.1.max(last);
            }
            _ => merged.push((first, last)),
        }
    }
    *ranges = merged;
}

fn in_ranges<T: Ord + Copy>(ranges: &[(T, T)], addr: T) -> bool {
    // Index of the first range starting after `addr`; the one before may hold it.
    let after = ranges.partition_point(|&(first, _)| first <= addr);
    after > 0 && ranges[after - 1].1 >= addr
}

mod num_like {
    /// `x + 1` without overflow, for merging adjacent ranges.
    pub trait Succ: Sized {
        fn succ(self) -> Option<Self>;
    }
    impl Succ for u32 {
        fn succ(self) -> Option<Self> {
            self.checked_add(1)
        }
    }
    impl Succ for u128 {
        fn succ(self) -> Option<Self> {
            self.checked_add(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(blocks: &[&str]) -> BlockSet {
        BlockSet::parse(blocks.iter().copied()).unwrap()
    }

    fn ip(text: &str) -> Addr {
        parse_addr(text).unwrap()
    }

    #[test]
    fn prefix_zero_matches_every_ipv4_and_no_ipv6() {
        let s = set(&["0.0.0.0/0"]);
        assert!(s.contains(ip("0.0.0.0")));
        assert!(s.contains(ip("255.255.255.255")));
        assert!(!s.contains(ip("::2")));
    }

    #[test]
    fn bare_address_is_a_single_address_block() {
        let s = set(&["::1"]);
        assert!(s.contains(ip("::1")));
        assert!(!s.contains(ip("::2")));
        assert!(!s.contains(ip("::")));
    }

    #[test]
    fn mapped_address_is_its_ipv4_address() {
        assert_eq!(ip("::ffff:10.1.2.3"), ip("10.1.2.3"));
        assert!(set(&["10.0.0.0/8"]).contains(ip("::FFFF:10.1.2.3")));
        assert!(set(&["::ffff:10.0.0.0/104"]).contains(ip("10.200.0.1")));
    }

    #[test]
    fn block_edges_are_inclusive_and_one_past_is_out() {
        let s = set(&["172.16.0.0/12"]);
        assert!(!s.contains(ip("172.15.255.255")));
        assert!(s.contains(ip("172.16.0.0")));
        assert!(s.contains(ip("172.31.255.255")));
        assert!(!s.contains(ip("172.32.0.0")));
    }

    #[test]
    fn invalid_blocks_are_rejected() {
        for bad in [
            "10.0.0.0/33",
            "1.2.3",
            "fe80::/129",
            "abc",
            "",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "10.0.0.0/8/8",
            " 10.0.0.0/8",
        ] {
            assert_eq!(parse_block(bad), None, "{bad}");
        }
        assert_eq!(BlockSet::parse(["10.0.0.0/8", "nope"]), Err(1));
    }

    #[test]
    fn host_bits_are_masked_and_adjacent_ranges_merge() {
        assert_eq!(
            parse_block("10.1.2.3/8"),
            Some(Block::V4(0x0a00_0000, 0x0aff_ffff))
        );
        let s = set(&["10.0.0.0/9", "10.128.0.0/9", "255.255.255.255"]);
        assert_eq!(s.v4, vec![(0x0a00_0000, 0x0aff_ffff), (u32::MAX, u32::MAX)]);
    }

    #[test]
    fn binary_addresses_of_4_and_16_bytes() {
        assert_eq!(addr_from_bytes(&[10, 0, 0, 1]), Some(ip("10.0.0.1")));
        let mapped = Ipv6Addr::from(u128::from(0xffff_0a00_0001_u64)).octets();
        assert_eq!(addr_from_bytes(&mapped), Some(ip("10.0.0.1")));
        assert_eq!(addr_from_bytes(&[1, 2, 3]), None);
    }
}
