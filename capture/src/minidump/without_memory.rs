//! A minidump file read for a summary without the memory it holds, so
//! that inspecting a multi-gigabyte dump costs little more than its
//! streams.

// Dump contents are untrusted: the same no-panic lint wall as the format crates.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::cast_possible_truncation,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )
)]

use std::ops::Range;

use coroner_minidump_format::read;

/// The bytes of the minidump `file` (of `len` bytes) that [`summarise`](super::inspect::summarise)
/// reads, with the memory the dump holds left out: in their place the
/// buffer (the file's length, allocated zeroed, so pages never written
/// cost no memory) keeps zeros. A full-memory dump is summarised without
/// holding its memory in RAM. Anything that does not look like a minidump's
/// layout is read whole, for the parser to report.
pub(crate) fn read_without_memory(file: &std::fs::File, len: u64) -> std::io::Result<Vec<u8>> {
    use crate::os::FileExt;
    let size = usize::try_from(len).map_err(|_| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, "file too large to address")
    })?;
    let mut buf = vec![0u8; size];
    let fill = |buf: &mut Vec<u8>, range: Range<u64>| -> std::io::Result<()> {
        let end = range.end.min(len);
        if range.start >= end {
            return Ok(());
        }
        // Both ends are at most `len`, which fits in usize (checked above).
        let (Ok(a), Ok(b)) = (usize::try_from(range.start), usize::try_from(end)) else {
            return Ok(());
        };
        match buf.get_mut(a..b) {
            Some(part) => file.read_exact_at(part, range.start),
            None => Ok(()),
        }
    };
    // Positional, like every read here: the caller has already read from
    // `file`, so its cursor is not at the start.
    let whole = |mut buf: Vec<u8>| fill(&mut buf, 0..len).map(|()| buf);
    // The header and the stream directory, then every stream's own bytes,
    // each located by minidump-format's reader over what is filled so far.
    fill(&mut buf, 0..32)?;
    let directory = match read::parse(&buf) {
        Ok(dump) => {
            let h = dump.header();
            let start = u64::from(h.stream_directory_rva);
            start..start.saturating_add(u64::from(h.stream_count).saturating_mul(12))
        }
        Err(_) => return whole(buf),
    };
    fill(&mut buf, directory)?;
    let mut streams = Vec::new();
    match read::parse(&buf) {
        Ok(dump) => {
            for stream in dump.streams() {
                let Ok(stream) = stream else {
                    return whole(buf);
                };
                let start = stream.offset();
                streams.push(start..start.saturating_add(u64::from(stream.location.data_size)));
            }
        }
        Err(_) => return whole(buf),
    }
    for range in streams {
        fill(&mut buf, range)?;
    }
    // What the memory lists and thread stacks point at is memory; the
    // rest (contexts, names, CodeView records …) is read.
    let mut memory: Vec<Range<u64>> = Vec::new();
    {
        let Ok(dump) = read::parse(&buf) else {
            return whole(buf);
        };
        if let Ok(m) = dump.memory() {
            for r in m.regions().flatten() {
                memory.push(r.offset..r.offset.saturating_add(r.bytes.len() as u64));
            }
        }
        if let Ok(Some(threads)) = dump.threads() {
            for t in threads.iter().flatten() {
                let d = t.raw.stack.memory;
                let rva = u64::from(d.rva);
                memory.push(rva..rva.saturating_add(u64::from(d.data_size)));
            }
        }
    }
    memory.sort_by_key(|r| r.start);
    let mut at = 0u64;
    for r in memory {
        if r.start > at {
            fill(&mut buf, at..r.start)?;
        }
        at = at.max(r.end);
    }
    fill(&mut buf, at..len)?;
    Ok(buf)
}
