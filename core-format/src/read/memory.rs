use std::io;
use std::ops::Range;

use super::{Core, Segment};
use crate::write::MemorySource;
use crate::ReadError;

/// What a core holds at an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryAt<'data> {
    /// The bytes from the address to the end of its segment's file data.
    Present(&'data [u8]),
    /// Mapped, but not written to the file (beyond `p_filesz`, or the file
    /// is truncated).
    NotInFile,
    /// No segment maps the address.
    NotMapped,
}

/// An address index over the segments for `O(log n)` lookups. Also a
/// [`MemorySource`] (present bytes readable, the rest holes), which is how a
/// parsed core is written back.
///
/// Where segments overlap (only hostile or broken files do that), an
/// address belongs to the first segment in file order whose file data
/// covers it, else to the first that maps it; so the map,
/// [`Core::memory_at`] and a rewrite of the core all agree.
#[derive(Debug, Clone)]
pub struct MemoryMap<'data> {
    segments: Vec<Segment<'data>>,
    /// Non-overlapping, sorted ranges whose bytes are in the file.
    present: Vec<Piece>,
    /// Non-overlapping, sorted ranges that are mapped.
    mapped: Vec<Piece>,
}

/// `[start, end)` owned by `segments[seg]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Piece {
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) seg: usize,
}

/// Split possibly overlapping ranges `(start, end, priority)` into sorted,
/// non-overlapping pieces, each owned by the lowest priority covering it.
pub(crate) fn pieces(ranges: impl Iterator<Item = (u64, u64, usize)>) -> Vec<Piece> {
    let mut direct: Vec<Piece> = ranges
        .filter(|&(start, end, _)| start < end)
        .map(|(start, end, seg)| Piece { start, end, seg })
        .collect();
    direct.sort_unstable_by_key(|p| (p.start, p.seg));
    // The usual case: no overlaps, the sorted ranges are the pieces.
    if direct
        .windows(2)
        .all(|w| matches!(w, [a, b] if a.end <= b.start))
    {
        return direct;
    }
    let mut events: Vec<(u64, bool, usize)> = Vec::with_capacity(direct.len().saturating_mul(2));
    for p in &direct {
        events.push((p.start, true, p.seg));
        events.push((p.end, false, p.seg));
    }
    events.sort_unstable_by_key(|&(at, _, _)| at);
    let mut active = std::collections::BTreeSet::new();
    let mut out: Vec<Piece> = Vec::new();
    let mut i = 0usize;
    while let Some(&(at, _, _)) = events.get(i) {
        while let Some(&(a, opens, seg)) = events.get(i) {
            if a != at {
                break;
            }
            if opens {
                active.insert(seg);
            } else {
                active.remove(&seg);
            }
            i = i.saturating_add(1);
        }
        let (Some(&owner), Some(&(next, _, _))) = (active.first(), events.get(i)) else {
            continue;
        };
        match out.last_mut() {
            Some(last) if last.end == at && last.seg == owner => last.end = next,
            _ => out.push(Piece {
                start: at,
                end: next,
                seg: owner,
            }),
        }
    }
    out
}

/// Push onto `out` the parts of the sorted, disjoint `pieces` within
/// `[start, end)`: what a core holds there (`MemorySource::present_ranges`
/// of both the in-memory and the on-disk reader).
pub(crate) fn present_within(pieces: &[Piece], start: u64, end: u64, out: &mut Vec<Range<u64>>) {
    let first = pieces.partition_point(|p| p.end <= start);
    for p in pieces.get(first..).unwrap_or(&[]) {
        if p.start >= end {
            break;
        }
        let (s, e) = (p.start.max(start), p.end.min(end));
        if s < e {
            out.push(s..e);
        }
    }
}

/// The piece holding `addr`, if any.
pub(crate) fn find(pieces: &[Piece], addr: u64) -> Option<&Piece> {
    let idx = pieces.partition_point(|p| p.start <= addr);
    let piece = pieces.get(idx.checked_sub(1)?)?;
    (addr < piece.end).then_some(piece)
}

impl<'data> MemoryMap<'data> {
    pub(crate) fn new(core: &Core<'data>) -> Result<MemoryMap<'data>, ReadError> {
        // parse checked phnum against the file size, which bounds these.
        let segments: Vec<Segment<'data>> = core.segments().filter(|s| s.memsz() > 0).collect();
        let present = pieces(segments.iter().enumerate().map(|(i, s)| {
            let data_end = s.vaddr().saturating_add(s.data().len() as u64).min(s.end());
            (s.vaddr(), data_end, i)
        }));
        let mapped = pieces(
            segments
                .iter()
                .enumerate()
                .map(|(i, s)| (s.vaddr(), s.end(), i)),
        );
        Ok(MemoryMap {
            segments,
            present,
            mapped,
        })
    }

    /// The segments with a nonzero size, in file order.
    pub fn segments(&self) -> &[Segment<'data>] {
        &self.segments
    }

    /// The segment that serves `vaddr`: the one whose data holds it, else
    /// the one that maps it.
    pub fn segment_at(&self, vaddr: u64) -> Option<&Segment<'data>> {
        let piece = find(&self.present, vaddr).or_else(|| find(&self.mapped, vaddr))?;
        self.segments.get(piece.seg)
    }

    /// What the core holds at `vaddr`. `Present` bytes run to the end of
    /// the segment's file data (or to where an overlapping segment that
    /// comes first in the file takes over).
    pub fn memory_at(&self, vaddr: u64) -> MemoryAt<'data> {
        if let Some(piece) = find(&self.present, vaddr) {
            let bytes = self.segments.get(piece.seg).and_then(|seg| {
                let from = usize::try_from(vaddr.checked_sub(seg.vaddr())?).ok()?;
                let to = usize::try_from(piece.end.checked_sub(seg.vaddr())?).ok()?;
                seg.data().get(from..to)
            });
            if let Some(bytes) = bytes.filter(|b| !b.is_empty()) {
                return MemoryAt::Present(bytes);
            }
        }
        if find(&self.mapped, vaddr).is_some() {
            MemoryAt::NotInFile
        } else {
            MemoryAt::NotMapped
        }
    }

    /// Copy as many bytes at `vaddr` as are present contiguously (across
    /// adjacent segments); returns the count.
    pub fn read_present(&self, vaddr: u64, buf: &mut [u8]) -> usize {
        let mut done = 0usize;
        while done < buf.len() {
            let Some(addr) = vaddr.checked_add(done as u64) else {
                break;
            };
            let MemoryAt::Present(bytes) = self.memory_at(addr) else {
                break;
            };
            let dst = buf.get_mut(done..).unwrap_or(&mut []);
            let n = dst.len().min(bytes.len());
            if let (Some(d), Some(s)) = (dst.get_mut(..n), bytes.get(..n)) {
                d.copy_from_slice(s);
            }
            if n == 0 {
                break;
            }
            done = done.saturating_add(n);
        }
        done
    }
}

impl MemorySource for MemoryMap<'_> {
    fn read_at(&mut self, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
        Ok(self.read_present(addr, buf))
    }

    fn present_ranges(
        &mut self,
        start: u64,
        end: u64,
        out: &mut Vec<Range<u64>>,
    ) -> io::Result<()> {
        present_within(&self.present, start, end, out);
        Ok(())
    }
}
