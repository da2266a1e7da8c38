//! /proc/<pid>/coredump_filter parser: never panics.
#![no_main]
use coroner_fuzz as _;
use coroner_proc_reader::parse::coredump_filter::{parse_coredump_filter, CoredumpFilter};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(f) = parse_coredump_filter(data) {
        let _ = f.contains(CoredumpFilter::ANON_PRIVATE | CoredumpFilter::ELF_HEADERS);
        // A mask a user may type is exactly one made of the kernel's bits.
        assert_eq!(CoredumpFilter::from_bits(f.bits()).is_some(), CoredumpFilter::ALL.contains(f));
        // What we parse is what the kernel would print back.
        let printed = format!("{:08x}\n", f.bits());
        assert_eq!(parse_coredump_filter(printed.as_bytes()), Ok(f));
    }
});
