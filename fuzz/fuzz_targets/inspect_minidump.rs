//! `coroner inspect` of a minidump, over arbitrary bytes: the summary
//! (every stream it reads, each allowed to fail alone) must not panic, hang
//! or allocate without bound.
#![no_main]
use coroner_fuzz as _;

use coroner_capture::inspect::Summary;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Summary::from_minidump_bytes(data);
});
