//! Holding a dump in memory while the target is frozen, to write it to disk
//! after the target is resumed.
//!
//! Why: a capture is one thread that reads the target, scans for zero pages
//! and writes. Written straight into the destination's page cache, each
//! 4 KiB of the dump needs a fresh page-cache page, and on a VM whose host
//! takes free guest memory back (virtio-balloon free page reporting, as on
//! the benchmark machine) touching that page first makes the host find and
//! zero memory for it. `perf record -e cpu-clock` of a `--page-cache`
//! capture of an 880 MB redis showed 60 % of the capture's CPU in
//! `copy_folio_from_iter_atomic` (that first touch) against 15 % for
//! reading the target (`_copy_to_iter` of `process_vm_readv`); see
//! BENCHMARKS.md.
//!
//! So the memory is allocated and touched *before* the freeze: chunks of
//! coroner's own memory, about the target's resident size, written once
//! so the kernel (and the host) back every page. While frozen, the target
//! is read straight into them ([`Staging::lend`]: no page fault, no second
//! copy); data after a zero page moves down over it, holes are only
//! counted. After the thaw,
//! [`Staging::replay`] hands the same sequence of writes and holes to the
//! real output (direct I/O where the file system allows it), which is
//! fsynced as always.
//!
//! Why not an in-memory file (`memfd`, not counted in coroner's RSS):
//! measured on the benchmark machine, `pwrite` of 1 GiB into a memfd whose
//! pages were allocated ahead with `fallocate` cost 0.21–0.70 s of CPU,
//! a `memcpy` into touched anonymous memory 0.085–0.10 s (shmem looks up
//! and locks every 4 KiB page, and has no huge pages here).
//!
//! Memory: the dump's data bytes, in coroner's RSS (charged to its memory
//! cgroup) until the output is finished, plus one 16-byte record per run of
//! data between holes. [`crate::output_path`] chooses this only when there
//! is clearly room.

use std::io;

use coroner_core_format::write::Lent;

/// Size of one chunk of staging memory. Chunks, not one vector, so that
/// data beyond the reserve costs a new chunk rather than a copy of all
/// that came before.
const CHUNK: usize = 64 << 20;

/// One run of the output stream: `hole` zero bytes, then `data` bytes
/// taken from the chunks in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    hole: u64,
    data: u64,
}

/// A chunk of staging memory: `CHUNK` bytes, every page backed, of which
/// the first `used` hold the stream.
#[derive(Debug)]
struct Chunk {
    bytes: Vec<u8>,
    used: usize,
}

/// The shortest room at the end of a chunk worth lending: below it (and
/// below what is asked), the rest of the chunk is left unused and the
/// next chunk lent, so that reads of the target stay large.
const LEND_MIN: usize = 1 << 20;

/// The dump's bytes held in memory until [`Staging::replay`].
#[derive(Debug)]
pub(crate) struct Staging {
    /// Chunks in use, the last one being filled.
    chunks: Vec<Chunk>,
    /// Chunks allocated and touched ahead, not yet in use.
    spare: Vec<Chunk>,
    /// Bytes allocated before the freeze.
    reserved: u64,
    runs: Vec<Run>,
    /// Hole bytes not yet followed by data.
    pending_hole: u64,
}

/// A chunk whose every page has been written (so it is backed by memory
/// now, not at its first use).
fn touched_chunk() -> Chunk {
    // Not zeros: LLVM turns an allocation followed by zeroing into a
    // zeroed allocation (untouched pages, faulted in during the freeze —
    // measured: 14 % of the capture in page faults). The bytes are
    // overwritten before they are read.
    Chunk {
        bytes: vec![0xa5u8; CHUNK],
        used: 0,
    }
}

/// A chunk allocated during the capture, beyond what was made ahead.
fn new_chunk() -> io::Result<Chunk> {
    let mut bytes = Vec::new();
    bytes.try_reserve_exact(CHUNK).map_err(|_| {
        io::Error::new(
            io::ErrorKind::OutOfMemory,
            "no memory left to stage the dump in",
        )
    })?;
    bytes.resize(CHUNK, 0);
    Ok(Chunk { bytes, used: 0 })
}

impl Staging {
    /// A staging area with at least `reserve` bytes allocated and touched
    /// now (whole chunks of 64 MiB).
    pub(crate) fn new(reserve: u64) -> io::Result<Staging> {
        let count = usize::try_from(reserve.div_ceil(CHUNK as u64))
            .map_err(|_| io::Error::new(io::ErrorKind::OutOfMemory, "reserve too large"))?;
        let mut spare = Vec::new();
        spare
            .try_reserve_exact(count)
            .map_err(|_| io::Error::new(io::ErrorKind::OutOfMemory, "reserve too large"))?;
        spare.extend(std::iter::repeat_with(touched_chunk).take(count));
        Ok(Staging {
            chunks: Vec::new(),
            spare,
            reserved: (count as u64).saturating_mul(CHUNK as u64),
            runs: Vec::new(),
            pending_hole: 0,
        })
    }

    /// Bytes allocated before the freeze.
    pub(crate) fn reserved(&self) -> u64 {
        self.reserved
    }

    /// The next chunk into use: one made ahead, else a new one.
    fn next_chunk(&mut self) -> io::Result<&mut Chunk> {
        let next = match self.spare.pop() {
            Some(c) => c,
            None => new_chunk()?,
        };
        self.chunks.push(next);
        self.chunks
            .last_mut()
            .ok_or_else(|| io::Error::other("no chunk"))
    }

    /// `n` more bytes of data, now in the chunks.
    fn add_data(&mut self, n: u64) {
        if n == 0 {
            return;
        }
        let hole = std::mem::take(&mut self.pending_hole);
        match self.runs.last_mut() {
            Some(last) if hole == 0 => last.data += n,
            _ => self.runs.push(Run { hole, data: n }),
        }
    }

    /// Append `buf` as data.
    pub(crate) fn write(&mut self, mut buf: &[u8]) -> io::Result<()> {
        let n = buf.len() as u64;
        while !buf.is_empty() {
            let chunk = match self.chunks.last_mut() {
                Some(c) if c.used < CHUNK => c,
                _ => self.next_chunk()?,
            };
            let take = (CHUNK - chunk.used).min(buf.len());
            let (now, rest) = buf.split_at(take);
            chunk.bytes[chunk.used..chunk.used + take].copy_from_slice(now);
            chunk.used += take;
            buf = rest;
        }
        self.add_data(n);
        Ok(())
    }

    /// Room for the next bytes of the stream, at most `max` (see
    /// [`coroner_core_format::write::Sink::lend`]): the capture reads the
    /// target straight into the staging memory.
    pub(crate) fn lend(&mut self, max: usize) -> io::Result<&mut [u8]> {
        let roomy = self
            .chunks
            .last()
            .is_some_and(|c| CHUNK - c.used >= max.clamp(1, LEND_MIN));
        if !roomy {
            self.next_chunk()?;
        }
        let chunk = self
            .chunks
            .last_mut()
            .ok_or_else(|| io::Error::other("no chunk"))?;
        let n = (CHUNK - chunk.used).min(max);
        Ok(&mut chunk.bytes[chunk.used..chunk.used + n])
    }

    /// Take the start of what [`Staging::lend`] gave as `parts` of the
    /// stream: data moves down over the holes before it, holes are counted.
    pub(crate) fn commit_lent(&mut self, parts: &[Lent]) -> io::Result<()> {
        let last = self
            .chunks
            .len()
            .checked_sub(1)
            .ok_or_else(|| io::Error::other("no memory was lent"))?;
        let mut src = self.chunks[last].used;
        for part in parts {
            match *part {
                Lent::Data(n) => {
                    let chunk = &mut self.chunks[last];
                    if src != chunk.used {
                        chunk.bytes.copy_within(src..src + n, chunk.used);
                    }
                    chunk.used += n;
                    src += n;
                    self.add_data(n as u64);
                }
                Lent::Hole(n) => {
                    self.hole(n as u64)?;
                    src += n;
                }
            }
        }
        Ok(())
    }

    /// Append `len` zero bytes.
    pub(crate) fn hole(&mut self, len: u64) -> io::Result<()> {
        self.pending_hole = self
            .pending_hole
            .checked_add(len)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "hole overflows"))?;
        Ok(())
    }

    /// Give the staged stream, in order, to `write` (data, in pieces of at
    /// most 4 MiB) and `hole` (zero runs). `keep_going` is asked before
    /// each piece: an error from it ends the replay.
    pub(crate) fn replay(
        &self,
        write: &mut dyn FnMut(&[u8]) -> io::Result<()>,
        hole: &mut dyn FnMut(u64) -> io::Result<()>,
        keep_going: &dyn Fn() -> io::Result<()>,
    ) -> io::Result<()> {
        const PIECE: usize = 4 << 20;
        let mut data = self
            .chunks
            .iter()
            .map(|c| &c.bytes[..c.used])
            .filter(|d| !d.is_empty());
        let mut current: &[u8] = &[];
        for run in &self.runs {
            hole(run.hole)?;
            let mut left = run.data;
            while left > 0 {
                keep_going()?;
                if current.is_empty() {
                    current = data
                        .next()
                        .ok_or_else(|| io::Error::other("staged data ends early"))?;
                }
                let n = usize::try_from(left)
                    .unwrap_or(usize::MAX)
                    .min(PIECE)
                    .min(current.len());
                let (piece, rest) = current.split_at(n);
                write(piece)?;
                current = rest;
                left -= n as u64;
            }
        }
        hole(self.pending_hole)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_gives_back_the_same_stream() {
        let mut s = Staging::new(1 << 20).unwrap();
        assert_eq!(s.reserved(), CHUNK as u64);
        s.hole(10).unwrap();
        s.write(b"abc").unwrap();
        s.write(b"def").unwrap();
        s.hole(3).unwrap();
        s.hole(4).unwrap();
        // Past the reserved chunk: more chunks, and a write across two.
        s.write(&vec![9u8; CHUNK + (5 << 20)]).unwrap();
        s.hole(2).unwrap();
        let mut out = Vec::new();
        let log = std::cell::RefCell::new(&mut out);
        s.replay(
            &mut |b| {
                log.borrow_mut().extend_from_slice(b);
                Ok(())
            },
            &mut |n| {
                log.borrow_mut()
                    .extend(std::iter::repeat_n(0u8, n as usize));
                Ok(())
            },
            &|| Ok(()),
        )
        .unwrap();
        let mut want = vec![0u8; 10];
        want.extend_from_slice(b"abcdef");
        want.extend_from_slice(&[0; 7]);
        want.extend_from_slice(&vec![9u8; CHUNK + (5 << 20)]);
        want.extend_from_slice(&[0; 2]);
        assert_eq!(out.len(), want.len());
        assert!(out == want);
        // Adjacent writes are one run; holes between them split runs.
        assert_eq!(s.runs.len(), 2);
    }

    #[test]
    fn a_stop_ends_the_replay() {
        let mut s = Staging::new(0).unwrap();
        s.write(b"x").unwrap();
        let err = s
            .replay(&mut |_| Ok(()), &mut |_| Ok(()), &|| {
                Err(io::Error::other("stop"))
            })
            .unwrap_err();
        assert_eq!(err.to_string(), "stop");
    }
}
