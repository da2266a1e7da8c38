//! /proc/<pid>/cmdline and environ parsers: pieces reassemble the input.
#![no_main]
use coroner_fuzz as _;
use coroner_proc_reader::parse::cmdline::{parse_cmdline, parse_environ};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let args = parse_cmdline(data);
    let joined = args.join(&0u8);
    let trimmed = data.strip_suffix(b"\0").unwrap_or(data);
    assert_eq!(joined, trimmed);
    for v in parse_environ(data) {
        assert!(!v.name.is_empty() || v.has_equals);
        assert!(v.has_equals || v.value.is_empty());
    }
});
