//! /proc/cpuinfo parser: never panics; the processor count fits the input.
#![no_main]
use coroner_fuzz as _;
use coroner_proc_reader::parse::cpuinfo::parse_cpuinfo;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let c = parse_cpuinfo(data);
    // Each `processor` line takes at least "processor:" (10 bytes).
    assert!(c.processors <= data.len() / 10);
    if let Some(v) = &c.vendor_id {
        assert!(v.len() <= data.len());
    }
});
