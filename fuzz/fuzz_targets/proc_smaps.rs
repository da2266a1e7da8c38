//! /proc/<pid>/smaps parser and the maps/smaps join: never panic; walk
//! every VmFlags iterator.
#![no_main]
use coroner_fuzz as _;
use coroner_proc_reader::parse::maps::{join_maps_smaps, parse_maps, parse_smaps};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = parse_smaps(data) {
        for m in &v {
            assert!(m.has_smaps);
            let flags: Vec<&str> = m.vm_flags.iter().collect();
            assert!(flags.iter().all(|f| m.vm_flags.contains(f)));
            let _ = (
                m.vm_flags.dont_dump(),
                m.vm_flags.io(),
                m.vm_flags.hugetlb(),
                m.rss,
                m.anonymous,
            );
        }
        if let Ok(maps) = parse_maps(data) {
            let n = maps.len();
            assert_eq!(join_maps_smaps(maps, &v).len(), n);
        }
    }
});
