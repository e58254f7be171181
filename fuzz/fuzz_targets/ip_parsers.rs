//! Fuzzes the address and CIDR block parsers of `cidr_match` and `ip_is_global`.
//!
//! Builds the parser module on its own (no DataFusion), so a run starts in seconds:
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run ip_parsers -- -max_total_time=300` from `fuzz/`.
//! Checks: no panic on any input, the same answers as the standard library's
//! parser, and the invariants below.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../udfs/src/ip.rs"]
#[allow(dead_code)]
mod ip;

use ip::{Addr, Block, BlockSet, addr_from_bytes, parse_addr, parse_block};

fuzz_target!(|data: &[u8]| {
    // Binary IPs: only 4 and 16 bytes are addresses.
    let binary = addr_from_bytes(data);
    assert_eq!(binary.is_some(), data.len() == 4 || data.len() == 16);

    let Ok(text) = std::str::from_utf8(data) else { return };
    // Every line is tried as an address and as a block.
    let lines: Vec<&str> = text.split('\n').collect();
    for line in &lines {
        let addr = parse_addr(line);
        // Exactly the standard library's grammar.
        let std_addr = match line.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V4(a)) => Some(Addr::V4(u32::from(a))),
            Ok(std::net::IpAddr::V6(a)) => Some(match a.to_ipv4_mapped() {
                Some(v4) => Addr::V4(u32::from(v4)),
                None => Addr::V6(u128::from(a)),
            }),
            Err(_) => None,
        };
        assert_eq!(addr, std_addr, "{line:?}");
        match parse_block(line) {
            Some(Block::V4(first, last)) => assert!(first <= last),
            Some(Block::V6(first, last)) => assert!(first <= last),
            None => {}
        }
        // A bare address is the block of exactly itself.
        if let (Some(a), false) = (addr, line.contains('/')) {
            let set = BlockSet::parse([*line]).expect("an address is a block");
            assert!(set.contains(a));
            let other = match a {
                Addr::V4(x) => Addr::V4(x.wrapping_add(1)),
                Addr::V6(x) => Addr::V6(x.wrapping_add(1)),
            };
            assert!(!set.contains(other) || other == a);
        }
    }
    // A set matches exactly what one of its blocks matches.
    if let Ok(set) = BlockSet::parse(lines.iter().copied()) {
        let blocks: Vec<Block> = lines.iter().filter_map(|l| parse_block(l)).collect();
        for line in &lines {
            if let Some(a) = parse_addr(line) {
                let any = blocks.iter().any(|b| match (*b, a) {
                    (Block::V4(f, l), Addr::V4(x)) => (f..=l).contains(&x),
                    (Block::V6(f, l), Addr::V6(x)) => (f..=l).contains(&x),
                    _ => false,
                });
                assert_eq!(set.contains(a), any, "{line}");
            }
        }
    }
});
