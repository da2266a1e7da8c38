//! `coroner convert CORE OUT.dmp --memory heap` over arbitrary bytes, into a
//! sink that keeps nothing. One target per memory mode, so a crash in one
//! does not hide another.
#![no_main]
use coroner_fuzz as _;

use coroner_capture::{convert_bytes, DumpFormat};
use coroner_capture::Sink;
use coroner_capture::MemoryMode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let sink = Sink::stream(std::io::sink());
    let _ = convert_bytes(data, Some(DumpFormat::Minidump), MemoryMode::Heap, sink);
});
