//! /proc/<pid>/limits parser: never panics; every row has a name.
#![no_main]
use coroner_fuzz as _;
use coroner_proc_reader::parse::limits::parse_limits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = parse_limits(data) {
        assert!(v.iter().all(|l| !l.name.is_empty()));
    }
});
