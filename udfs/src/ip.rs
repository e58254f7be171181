//! IP addresses and CIDR blocks as ES|QL reads them, without allocating.
//!
//! Pure parsing and range logic, shared by `cidr_match` and `ip_is_global`, with
//! no DataFusion types, so the fuzz target (`fuzz/`) builds it on its own.
//!
//! Parsing is most of `cidr_match`'s cost, so both parsers avoid per-byte
//! branches where they can: IPv4 uses SSSE3 shuffles when the processor has them
//! (one of the project's three `unsafe` calls, guarded by runtime detection;
//! the others map files, in lakehunt's `scan::mmap`, and set a malloc tunable,
//! in its `cli`), and
//! falls back to a byte-at-a-time parser elsewhere. Both are checked against the
//! standard library's parser by unit tests and the fuzz target.

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
    // IPv4 first: it rejects IPv6 text at its first check, and an IPv6 address
    // always has a `:` that no IPv4 address has, so the order cannot change an answer.
    match parse_v4(bytes) {
        Some(v4) => Some(Addr::V4(v4)),
        None => parse_v6(bytes).map(|v6| Addr::from_v6(Ipv6Addr::from(v6))),
    }
}

/// A whole dotted-quad IPv4 address (the hot path of IPv4 data): with SSSE3
/// where the processor has it, else a byte at a time.
fn parse_v4(text: &[u8]) -> Option<u32> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("ssse3") {
        // SAFETY: the processor has SSSE3, checked just above.
        #[allow(unsafe_code)]
        return unsafe { ssse3::parse_v4(text) };
    }
    parse_v4_scalar(text)
}

/// A whole dotted-quad IPv4 address, straight-line.
fn parse_v4_scalar(text: &[u8]) -> Option<u32> {
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

/// IPv4 parsing with SSSE3 byte shuffles, after Wojciech Muła and Daniel Lemire
/// ("Parsing IP addresses crazily fast", 2023).
///
/// The text is classified 16 bytes at once; the positions of its three dots and
/// the last octet's length pick one of the 81 valid shapes (each octet 1 to 3
/// digits) from a table built at compile time; one shuffle moves every digit to
/// its place, and two multiply-adds turn them into the four octet values. No
/// branch depends on the digits, so mixed octet lengths cost nothing extra.
#[cfg(target_arch = "x86_64")]
mod ssse3 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_cmpgt_epi32, _mm_cvtsi128_si32, _mm_madd_epi16,
        _mm_maddubs_epi16, _mm_min_epu8, _mm_movemask_epi8, _mm_packs_epi32, _mm_packus_epi16,
        _mm_set_epi64x, _mm_set1_epi8, _mm_set1_epi16, _mm_set1_epi32, _mm_setzero_si128,
        _mm_shuffle_epi8, _mm_sub_epi8,
    };

    /// One shape of address: the shuffle that right-aligns each octet's digits
    /// into 4-byte lanes as `[hundreds, tens, ones, 0]`, and the byte positions
    /// that start an octet of two or three digits (which may not be `0`).
    #[derive(Clone, Copy)]
    struct Shape {
        shuffle: u128,
        leading: u32,
    }

    /// Shapes indexed by `dots | (last_len - 1) << 12`; dots lie below bit 12.
    const INDEX_LEN: usize = 3 << 12;

    static SHAPES: ([u8; INDEX_LEN], [Shape; 82]) = {
        let mut index = [0u8; INDEX_LEN];
        let mut shapes = [Shape {
            shuffle: 0,
            leading: 0,
        }; 82];
        let mut n = 1;
        let mut code = 0;
        while code < 81 {
            let lens = [
                code % 3 + 1,
                code / 3 % 3 + 1,
                code / 9 % 3 + 1,
                code / 27 + 1,
            ];
            let mut shuffle = [0x80u8; 16];
            let mut dots = 0usize;
            let mut leading = 0u32;
            let mut start = 0;
            let mut octet = 0;
            while octet < 4 {
                let len = lens[octet];
                let mut k = 0;
                while k < len {
                    // Digit k of `len` goes to lane byte 3 - len + k.
                    shuffle[4 * octet + 3 - len + k] = (start + k) as u8;
                    k += 1;
                }
                if len > 1 {
                    leading |= 1 << start;
                }
                if octet < 3 {
                    dots |= 1 << (start + len);
                }
                start += len + 1;
                octet += 1;
            }
            index[dots | (lens[3] - 1) << 12] = n as u8;
            shapes[n] = Shape {
                shuffle: u128::from_le_bytes(shuffle),
                leading,
            };
            n += 1;
            code += 1;
        }
        (index, shapes)
    };

    #[target_feature(enable = "ssse3")]
    fn vector(bits: u128) -> __m128i {
        #[allow(clippy::cast_possible_wrap)]
        _mm_set_epi64x((bits >> 64) as i64, bits as i64)
    }

    /// Parses `text` as a dotted quad, exactly as [`super::parse_v4_scalar`] does.
    ///
    /// # Safety
    ///
    /// The processor must support SSSE3.
    #[target_feature(enable = "ssse3")]
    pub(super) fn parse_v4(text: &[u8]) -> Option<u32> {
        let len = text.len();
        if !(7..=15).contains(&len) {
            return None;
        }
        // Two overlapping little-endian loads cover 7 to 15 bytes; bytes past
        // the end are zero.
        let word = if len >= 8 {
            let head = u64::from_le_bytes(text[..8].try_into().ok()?);
            let tail = u64::from_le_bytes(text[len - 8..].try_into().ok()?);
            u128::from(head) | u128::from(tail) << (8 * (len - 8))
        } else {
            let head = u32::from_le_bytes(text[..4].try_into().ok()?);
            let tail = u32::from_le_bytes(text[3..7].try_into().ok()?);
            u128::from(head) | u128::from(tail) << 24
        };
        parse_word(word, len)
    }

    #[target_feature(enable = "ssse3")]
    fn parse_word(word: u128, len: usize) -> Option<u32> {
        let text = vector(word);
        #[allow(clippy::cast_possible_wrap)]
        let (dot, zero, nine) = (
            _mm_set1_epi8(b'.' as i8),
            _mm_set1_epi8(b'0' as i8),
            _mm_set1_epi8(9),
        );
        #[allow(clippy::cast_sign_loss)]
        let dots = _mm_movemask_epi8(_mm_cmpeq_epi8(text, dot)) as u32;
        // `b - '0'` as an unsigned byte is at most 9 exactly for digits.
        let values = _mm_sub_epi8(text, zero);
        #[allow(clippy::cast_sign_loss)]
        let digits = _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(values, nine), values)) as u32;
        if dots | digits != (1 << len) - 1 || dots >= 1 << 12 {
            return None;
        }
        // The last octet runs from the last dot to the end.
        let last_dot = 31usize.checked_sub(dots.leading_zeros() as usize)?;
        let last = len - last_dot - 1;
        if !(1..=3).contains(&last) {
            return None;
        }
        let shape = match SHAPES.0[dots as usize | (last - 1) << 12] {
            0 => return None, // The dots do not leave 1 to 3 digits per octet.
            n => SHAPES.1[usize::from(n)],
        };
        #[allow(clippy::cast_sign_loss)]
        let zeros = _mm_movemask_epi8(_mm_cmpeq_epi8(text, zero)) as u32;
        if zeros & shape.leading != 0 {
            return None; // A leading zero.
        }
        // Lanes of [hundreds, tens, ones, 0] weighed [100, 10, 1, 0]: pairs of
        // 16-bit sums, then one 32-bit value per octet.
        let lanes = _mm_shuffle_epi8(values, vector(shape.shuffle));
        let weights = vector(u128::from_le_bytes([
            100, 10, 1, 0, 100, 10, 1, 0, 100, 10, 1, 0, 100, 10, 1, 0,
        ]));
        let octets = _mm_madd_epi16(_mm_maddubs_epi16(lanes, weights), _mm_set1_epi16(1));
        if _mm_movemask_epi8(_mm_cmpgt_epi32(octets, _mm_set1_epi32(255))) != 0 {
            return None;
        }
        let empty = _mm_setzero_si128();
        let bytes = _mm_packus_epi16(_mm_packs_epi32(octets, empty), empty);
        // Octet 0 is the lowest byte; the address wants it highest.
        #[allow(clippy::cast_sign_loss)]
        Some((_mm_cvtsi128_si32(bytes) as u32).swap_bytes())
    }
}

/// Value of an ASCII hex digit, or 0xff.
const HEX: [u8; 256] = {
    let mut table = [0xff; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// An IPv6 address in one left-to-right pass, accepting exactly the standard
/// library's grammar (tests and the fuzz target compare it with `std`).
///
/// Groups of 1 to 4 hex digits separated by `:`; one `::` stands for one or more
/// zero groups; a dotted IPv4 address may end the text in place of the last two
/// groups, provided it fits.
fn parse_v6(text: &[u8]) -> Option<u128> {
    let len = text.len();
    // Groups read so far, each shifted in as the low 16 bits.
    let mut groups = 0u128;
    let mut count = 0u32;
    // Where `::` stands, as a group index.
    let mut gap = None;
    let mut i = 0;
    if text.starts_with(b"::") {
        gap = Some(0);
        i = 2;
        if len == 2 {
            return Some(0);
        }
    }
    loop {
        // A group (or the IPv4 address that ends the text) starts at `i`.
        let start = i;
        let mut value = 0u32;
        while i < len && i - start < 4 {
            let digit = HEX[usize::from(text[i])];
            if digit == 0xff {
                break;
            }
            value = value << 4 | u32::from(digit);
            i += 1;
        }
        if i < len && text[i] == b'.' {
            // The standard library tries IPv4 before each group; a dot can only
            // be read that way, so the rest of the text must be that address.
            let limit = if gap.is_some() { 7 } else { 8 };
            let v4 = parse_v4(&text[start..])?;
            if count + 2 > limit || (gap.is_none() && count + 2 != 8) {
                return None;
            }
            groups = groups << 32 | u128::from(v4);
            count += 2;
            break;
        }
        if i == start || (i < len && HEX[usize::from(text[i])] != 0xff) {
            return None; // No digits, or more than four.
        }
        if count == if gap.is_some() { 7 } else { 8 } {
            return None;
        }
        groups = groups << 16 | u128::from(value);
        count += 1;
        if i == len {
            break;
        }
        if text[i] != b':' {
            return None;
        }
        i += 1;
        if i < len && text[i] == b':' {
            if gap.is_some() {
                return None;
            }
            gap = Some(count);
            i += 1;
            if i == len {
                break;
            }
        }
        if i == len {
            return None; // A trailing single `:`.
        }
    }
    match gap {
        None if count == 8 => Some(groups),
        // The groups after `::` stay at the bottom; those before it move to the top.
        Some(at) if count <= 7 => {
            let tail_bits = 16 * (count - at);
            let tail = groups & !(u128::MAX.checked_shl(tail_bits).unwrap_or(0));
            let head = groups.checked_shr(tail_bits).unwrap_or(0);
            Some(head.checked_shl(16 * (8 - at)).unwrap_or(0) | tail)
        }
        _ => None,
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

    /// Both IPv4 parsers (the SSSE3 one where this processor has it) against
    /// `std`, on every dotted quad built from octets at and around each limit.
    #[test]
    fn ipv4_parsers_agree_with_std_on_every_octet_shape() {
        let octets = [
            "0", "1", "9", "10", "99", "100", "199", "200", "249", "250", "255", "256", "299",
            "300", "999", "00", "01", "010", "001", "1000", "", "a", "+1",
        ];
        let mut checked = 0;
        for a in octets {
            for b in octets {
                for c in octets {
                    for d in octets {
                        for text in [format!("{a}.{b}.{c}.{d}"), format!("{a}.{b}.{c}{d}")] {
                            let expected = text.parse::<std::net::Ipv4Addr>().ok().map(u32::from);
                            assert_eq!(parse_v4_scalar(text.as_bytes()), expected, "{text:?}");
                            assert_eq!(parse_v4(text.as_bytes()), expected, "{text:?}");
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(checked, 2 * octets.len().pow(4));
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
