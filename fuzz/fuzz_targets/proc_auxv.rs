//! /proc/<pid>/auxv parser: entries fit the input and never hold AT_NULL.
#![no_main]
use coroner_fuzz as _;
use coroner_proc_reader::parse::auxv::{auxv_value, parse_auxv, AT_NULL, AT_PAGESZ, ENTRY_SIZE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = parse_auxv(data) {
        assert!(v.len() * ENTRY_SIZE <= data.len());
        assert!(v.iter().all(|e| e.key != AT_NULL));
        let _ = auxv_value(&v, AT_PAGESZ);
    }
});
