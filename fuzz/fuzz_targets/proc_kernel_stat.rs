//! /proc/stat boot-time parser: never panics, whatever the bytes.
#![no_main]
use coroner_fuzz as _;
use coroner_proc_reader::parse::kernel_stat::parse_boot_time;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(btime) = parse_boot_time(data) {
        // The number was written out in decimal somewhere in the input.
        assert!(btime.to_string().len() <= data.len());
    }
});
