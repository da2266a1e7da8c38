//! /proc/<pid>/cgroup parser: never panics; paths come from the input.
#![no_main]
use coroner_fuzz as _;
use coroner_proc_reader::parse::cgroup::parse_cgroup;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = parse_cgroup(data) {
        let bytes: usize = v.iter().map(|e| e.path.len()).sum();
        assert!(bytes <= data.len());
        assert!(v
            .iter()
            .all(|e| e.controllers.iter().all(|c| !c.is_empty())));
    }
});
