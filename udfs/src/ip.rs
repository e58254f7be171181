//! IP addresses and CIDR blocks as ES|QL reads them, without allocating.
//!
//! Pure parsing and range logic, shared by `cidr_match` and `ip_is_global`, with
//! no DataFusion types, so the fuzz target (`fuzz/`) builds it on its own.

use std::net::Ipv6Addr;

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
///
/// Accepts exactly what Rust's `Ipv4Addr`/`Ipv6Addr` parsers accept (the fuzz
/// target and a unit test check this against them), reading the text once as
/// bytes and building no error values.
#[must_use]
pub fn parse_addr(text: &str) -> Option<Addr> {
    let bytes = text.as_bytes();
    if bytes.contains(&b':') {
        parse_v6(bytes).map(|v6| Addr::from_v6(Ipv6Addr::from(v6)))
    } else {
        parse_v4(bytes).map(Addr::V4)
    }
}

/// A cursor over ASCII bytes, as the standard library's address parser reads.
struct Cursor<'a> {
    text: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek() == Some(byte)).then(|| self.pos += 1)
    }

    /// Runs `f`; on `None` the cursor goes back to where it was.
    fn atomically<T>(&mut self, f: impl FnOnce(&mut Self) -> Option<T>) -> Option<T> {
        let start = self.pos;
        let out = f(self);
        if out.is_none() {
            self.pos = start;
        }
        out
    }

    /// A decimal octet: 1 to 3 digits, no leading zero, at most 255.
    fn octet(&mut self) -> Option<u32> {
        self.atomically(|c| {
            let start = c.pos;
            let mut value = 0u32;
            while let Some(d) = c.peek().filter(u8::is_ascii_digit) {
                if c.pos - start == 3 {
                    return None;
                }
                value = value * 10 + u32::from(d - b'0');
                c.pos += 1;
            }
            let digits = c.pos - start;
            let leading_zero = digits > 1 && c.text[start] == b'0';
            (digits > 0 && !leading_zero && value <= 255).then_some(value)
        })
    }

    fn v4(&mut self) -> Option<u32> {
        self.atomically(|c| {
            let mut out = c.octet()?;
            for _ in 0..3 {
                c.eat(b'.')?;
                out = out << 8 | c.octet()?;
            }
            Some(out)
        })
    }

    /// A hex group: 1 to 4 digits (leading zeros allowed).
    fn group(&mut self) -> Option<u16> {
        self.atomically(|c| {
            let start = c.pos;
            let mut value = 0u16;
            while let Some(d) = c.peek().and_then(|b| char::from(b).to_digit(16)) {
                if c.pos - start == 4 {
                    return None;
                }
                value = value << 4 | d as u16;
                c.pos += 1;
            }
            (c.pos > start).then_some(value)
        })
    }

    /// Colon-separated groups with an optional trailing embedded IPv4 address;
    /// the count read and whether the IPv4 form ended it (the standard library's
    /// `read_groups`).
    fn groups(&mut self, out: &mut [u16]) -> (usize, bool) {
        let limit = out.len();
        for i in 0..limit {
            if i + 1 < limit {
                let v4 = self.atomically(|c| {
                    if i > 0 {
                        c.eat(b':')?;
                    }
                    c.v4()
                });
                if let Some(v4) = v4 {
                    out[i] = (v4 >> 16) as u16;
                    out[i + 1] = v4 as u16;
                    return (i + 2, true);
                }
            }
            let group = self.atomically(|c| {
                if i > 0 {
                    c.eat(b':')?;
                }
                c.group()
            });
            match group {
                Some(g) => out[i] = g,
                None => return (i, false),
            }
        }
        (limit, false)
    }

    fn v6(&mut self) -> Option<u128> {
        let mut head = [0u16; 8];
        let (head_len, head_v4) = self.groups(&mut head);
        if head_len < 8 {
            // An embedded IPv4 address may only end the address.
            if head_v4 {
                return None;
            }
            self.eat(b':')?;
            self.eat(b':')?;
            // `::` stands for at least one zero group.
            let mut tail = [0u16; 7];
            let limit = 8 - (head_len + 1);
            let (tail_len, _) = self.groups(&mut tail[..limit]);
            head[8 - tail_len..].copy_from_slice(&tail[..tail_len]);
        }
        Some(head.iter().fold(0u128, |acc, &g| acc << 16 | u128::from(g)))
    }
}

/// A whole dotted-quad IPv4 address, straight-line (the hot path of IPv4 data).
fn parse_v4(text: &[u8]) -> Option<u32> {
    let mut out = 0u32;
    let mut i = 0;
    for octet in 0..4 {
        if octet > 0 {
            if text.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let start = i;
        let mut value = 0u32;
        while let Some(&d) = text.get(i).filter(|d| d.is_ascii_digit()) {
            if i - start == 3 {
                return None;
            }
            value = value * 10 + u32::from(d - b'0');
            i += 1;
        }
        let digits = i - start;
        if digits == 0 || value > 255 || (digits > 1 && text[start] == b'0') {
            return None;
        }
        out = out << 8 | value;
    }
    (i == text.len()).then_some(out)
}

fn parse_v6(text: &[u8]) -> Option<u128> {
    let mut c = Cursor { text, pos: 0 };
    let out = c.v6()?;
    (c.pos == text.len()).then_some(out)
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
        let v6 = parse_v6(addr.as_bytes())?;
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
        let v4 = parse_v4(addr.as_bytes())?;
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
///
/// IPv4 lookups first consult a table over the 65536 /16 prefixes (none, all, or
/// some of the prefix in the set), so most addresses are answered by one load.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct BlockSet {
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
    /// Per /16 prefix: `NONE`, `ALL` or `SOME`; empty when there are no IPv4 blocks.
    v4_by_16: Vec<u8>,
}

const NONE: u8 = 0;
const ALL: u8 = 1;
const SOME: u8 = 2;

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
        if !set.v4.is_empty() {
            let mut table = vec![NONE; 1 << 16];
            for &(first, last) in &set.v4 {
                for prefix in (first >> 16)..=(last >> 16) {
                    let whole = first <= prefix << 16 && last >= (prefix << 16 | 0xffff);
                    table[prefix as usize] = if whole { ALL } else { SOME };
                }
            }
            set.v4_by_16 = table;
        }
        Ok(set)
    }

    /// True when `addr` lies in one of the blocks of its family.
    #[must_use]
    pub fn contains(&self, addr: Addr) -> bool {
        match addr {
            Addr::V4(a) => match self.v4_by_16.get((a >> 16) as usize) {
                None | Some(&NONE) => false,
                Some(&ALL) => true,
                Some(_) => in_ranges(&self.v4, a),
            },
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

    /// What the standard library makes of `text`, as an `Addr`.
    fn std_parse(text: &str) -> Option<Addr> {
        match text.parse::<std::net::IpAddr>().ok()? {
            std::net::IpAddr::V4(a) => Some(Addr::V4(u32::from(a))),
            std::net::IpAddr::V6(a) => Some(Addr::from_v6(a)),
        }
    }

    #[test]
    fn parser_agrees_with_std_on_tricky_inputs() {
        for text in [
            "0.0.0.0",
            "255.255.255.255",
            "256.0.0.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "1..2.3",
            "1.2.3.4 ",
            "",
            ".",
            "::",
            ":::",
            "::1",
            "1::",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7:8:9",
            "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8",
            "1::2:3:4:5:6:7:8",
            "12345::",
            "0000:0::",
            "::ffff:1.2.3.4",
            "::1.2.3.4",
            "1:2:3:4:5:6:1.2.3.4",
            "1:2:3:4:5:6:7:1.2.3.4",
            "1.2.3.4::",
            "1::1.2.3.4:5",
            "fe80::1%eth0",
            "FE80::ABCD",
            ":1::",
            "1:",
            "::ffff:1.2.3.04",
            "g::",
            "1:2:3:4:5:6:7:8:",
            "::ffff:255.255.255.255",
            "::ffff:256.1.1.1",
            "0:0:0:0:0:ffff:10.0.0.1",
        ] {
            assert_eq!(parse_addr(text), std_parse(text), "{text:?}");
        }
    }

    #[test]
    fn parser_agrees_with_std_on_random_text() {
        // SplitMix64 over an alphabet that makes near-addresses likely.
        let mut state = 7u64;
        let mut next = || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        let alphabet = b"0123456789abcdefABCDEF:.:.:0f%x ";
        for _ in 0..200_000 {
            let len = (next() % 24) as usize;
            let text: String = (0..len)
                .map(|_| char::from(alphabet[(next() % alphabet.len() as u64) as usize]))
                .collect();
            assert_eq!(parse_addr(&text), std_parse(&text), "{text:?}");
        }
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
    fn prefix_table_agrees_with_the_ranges() {
        let s = set(&[
            "10.0.0.0/8",
            "192.0.0.8/32",
            "192.0.0.9/32",
            "172.16.0.0/12",
            "100.64.0.0/10",
        ]);
        for a in [
            0x0a00_0000u32,
            0x0aff_ffff,
            0x0b00_0000,
            0xc000_0007,
            0xc000_0008,
            0xc000_0009,
            0xc000_000a,
        ] {
            assert_eq!(s.contains(Addr::V4(a)), in_ranges(&s.v4, a), "{a:#x}");
        }
        assert_eq!(s.v4_by_16[0x0a00], ALL);
        assert_eq!(s.v4_by_16[0xc000], SOME);
        assert_eq!(s.v4_by_16[0x0b00], NONE);
        assert!(!set(&["::1"]).contains(Addr::V4(1)));
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
