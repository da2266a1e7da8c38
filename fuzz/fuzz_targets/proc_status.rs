//! /proc/<pid>/status parser: never panics; fields it accepts are consistent.
#![no_main]
use coroner_fuzz as _;
use coroner_proc_reader::parse::status::parse_status;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = parse_status(data) {
        // The unescaped name is never longer than its escaped form.
        assert!(s.name.len() <= data.len());
        let _ = s.is_zombie();
        let _ = (s.nspid.last(), s.groups.len(), s.vm_rss, s.tracer_pid);
    }
});
