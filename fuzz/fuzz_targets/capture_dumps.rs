//! What `coroner inspect` and `coroner convert` do with a file, over
//! arbitrary bytes: summarise it (ELF core or minidump, detected), and
//! convert it to each format with every memory mode, into a sink that
//! keeps nothing. Neither may panic, hang or allocate without bound.
#![no_main]

use coroner_capture::convert::{convert_bytes, DumpFormat};
use coroner_capture::inspect::Summary;
use coroner_capture::sink::Sink;
use coroner_capture::MemoryMode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Summary::from_bytes(data);
    for to in [None, Some(DumpFormat::Elf), Some(DumpFormat::Minidump)] {
        for mode in [MemoryMode::Stacks, MemoryMode::Heap, MemoryMode::Full] {
            let _ = convert_bytes(data, to, mode, Sink::stream(std::io::sink()));
        }
    }
});
