//! /proc/<pid>/coredump_filter parser: never panics.
#![no_main]
use coroner_fuzz as _;
use coroner_proc_reader::parse::coredump_filter::{parse_coredump_filter, CoredumpFilter};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(f) = parse_coredump_filter(data) {
        let _ = f.has(CoredumpFilter::ANON_PRIVATE | CoredumpFilter::ELF_HEADERS);
        // What we parse is what the kernel would print back.
        let printed = format!("{:08x}\n", f.0);
        assert_eq!(parse_coredump_filter(printed.as_bytes()), Ok(f));
    }
});
