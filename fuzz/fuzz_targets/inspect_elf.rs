//! `coroner inspect` of an ELF core, over arbitrary bytes: the summary
//! (threads, mappings, modules with build-ids from header pages, totals)
//! must not panic, hang or allocate without bound.
#![no_main]
use coroner_fuzz as _;

use coroner_capture::inspect::Summary;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Summary::from_bytes(data);
});
