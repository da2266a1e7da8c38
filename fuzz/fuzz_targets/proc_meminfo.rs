//! /proc/meminfo parser: never panics, whatever the bytes; a figure it
//! gives is a whole number of KiB.
#![no_main]
use coroner_fuzz as _;
use coroner_proc_reader::parse::meminfo::parse_meminfo;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let m = parse_meminfo(data);
    for figure in [m.mem_total, m.mem_available].into_iter().flatten() {
        assert_eq!(figure % 1024, 0);
    }
});
