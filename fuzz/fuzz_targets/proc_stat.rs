//! /proc/<pid>/stat parser: never panics; comm lies inside the input.
#![no_main]
use coroner_fuzz as _;
use coroner_proc_reader::parse::stat::parse_stat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = parse_stat(data) {
        assert!(s.comm.len() < data.len());
        let _ = (s.is_zombie(), s.start_time, s.exit_code);
    }
});
