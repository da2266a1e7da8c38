//! /proc/<pid>/pagemap entry decoding: never panics; flags are consistent.
#![no_main]
use coroner_fuzz as _;
use coroner_proc_reader::parse::pagemap::{parse_pagemap, ENTRY_SIZE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse_pagemap(data) {
        Ok(v) => {
            assert_eq!(v.len() * ENTRY_SIZE, data.len());
            for e in v {
                assert_eq!(e.has_data(), e.present() || e.swapped());
                assert_eq!(e.pfn().is_some(), e.present());
                let _ = (
                    e.file_or_shared(),
                    e.exclusive(),
                    e.soft_dirty(),
                    e.uffd_wp(),
                );
            }
        }
        Err(_) => assert_ne!(data.len() % ENTRY_SIZE, 0),
    }
});
