//! Bytes of some ranges of a process's memory, read while it was frozen and
//! kept for a dump written later: sorted, disjoint runs, zeros between them.
//! Used for what a `--snapshot` copy lacks (`cow_copy.rs`) and for what a
//! pre-copy had to read again (`pre_copy.rs`).

use std::io;
use std::ops::Range;

/// Sorted, disjoint runs of bytes at their addresses.
#[derive(Debug, Default)]
pub(crate) struct ByteRuns {
    runs: Vec<(Range<u64>, Vec<u8>)>,
}

impl ByteRuns {
    /// Add `bytes` at `at`, after every run added before.
    pub(crate) fn push(&mut self, at: u64, bytes: Vec<u8>) {
        let end = at.saturating_add(bytes.len() as u64);
        self.runs.push((at..end, bytes));
    }

    /// The runs overlapping `start..end`, clipped to it, in order.
    fn within(&self, start: u64, end: u64) -> impl Iterator<Item = (Range<u64>, &[u8])> {
        let first = self.runs.partition_point(|(r, _)| r.end <= start);
        self.runs
            .iter()
            .skip(first)
            .take_while(move |(r, _)| r.start < end)
            .filter_map(move |(r, bytes)| {
                let (a, b) = (r.start.max(start), r.end.min(end));
                let piece = bytes
                    .get(usize::try_from(a - r.start).ok()?..usize::try_from(b - r.start).ok()?)?;
                (a < b).then_some((a..b, piece))
            })
    }

    /// Fill `buf` with the memory at `addr`: the runs' bytes, zeros between.
    pub(crate) fn copy_into(&self, addr: u64, buf: &mut [u8]) {
        buf.fill(0);
        let end = addr.saturating_add(buf.len() as u64);
        for (r, src) in self.within(addr, end) {
            let at = usize::try_from(r.start - addr).unwrap_or(usize::MAX);
            if let Some(dst) = buf.get_mut(at..at.saturating_add(src.len())) {
                dst.copy_from_slice(src);
            }
        }
    }

    /// Append the runs' ranges within `start..end` to sorted `out`.
    pub(crate) fn present(&self, start: u64, end: u64, out: &mut Vec<Range<u64>>) {
        for (r, _) in self.within(start, end) {
            crate::ranges::push_joined(out, r);
        }
    }
}

/// Where an overlay stands relative to an address: it covers it up to
/// `Covered(end)`, or the next one starts at `Next(start)` (`u64::MAX`
/// when none does).
pub(crate) enum Overlay {
    Covered(u64),
    Next(u64),
}

/// Fill `buf`, the memory at `addr`, piece by piece where an overlay lies
/// over a base: `at` says where the overlay stands at an address, `over`
/// fills the covered pieces and `base` the others. For the memory sources
/// that lay pages read from a frozen target over another source.
pub(crate) fn read_overlaid(
    addr: u64,
    buf: &mut [u8],
    at: impl Fn(u64) -> Overlay,
    mut over: impl FnMut(u64, &mut [u8]) -> io::Result<()>,
    mut base: impl FnMut(u64, &mut [u8]) -> io::Result<()>,
) -> io::Result<()> {
    let mut pos = 0usize;
    while let Some(rest) = buf.get_mut(pos..).filter(|r| !r.is_empty()) {
        let here = addr.saturating_add(pos as u64);
        let (until, covered) = match at(here) {
            Overlay::Covered(end) => (end, true),
            Overlay::Next(start) => (start, false),
        };
        let n = rest
            .len()
            .min(usize::try_from(until.saturating_sub(here)).unwrap_or(usize::MAX))
            .max(1);
        let piece = &mut rest[..n];
        if covered {
            over(here, piece)?;
        } else {
            base(here, piece)?;
        }
        pos += n;
    }
    Ok(())
}

impl coroner_core_format::write::MemorySource for ByteRuns {
    fn read_at(&mut self, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.copy_into(addr, buf);
        Ok(buf.len())
    }

    fn present_ranges(
        &mut self,
        start: u64,
        end: u64,
        out: &mut Vec<Range<u64>>,
    ) -> io::Result<()> {
        self.present(start, end, out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_the_runs_bytes_with_zeros_between_and_present_ranges_are_clipped() {
        let mut runs = ByteRuns::default();
        runs.push(0x1000, vec![1; 0x1000]);
        runs.push(0x3000, vec![3; 0x2000]);
        let mut buf = vec![0xff; 0x3000];
        runs.copy_into(0x1800, &mut buf);
        assert!(buf[..0x800].iter().all(|&b| b == 1));
        assert!(buf[0x800..0x1800].iter().all(|&b| b == 0));
        assert!(buf[0x1800..].iter().all(|&b| b == 3));
        let mut out = Vec::new();
        runs.present(0x1800, 0x4000, &mut out);
        assert_eq!(out, vec![0x1800..0x2000, 0x3000..0x4000]);
    }
}
