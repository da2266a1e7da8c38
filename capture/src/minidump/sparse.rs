use std::io::{self, Write};

use crate::sink::Sink;

const PAGE: usize = 4096;

/// An [`io::Write`] over a [`Sink`] that turns every all-zero, page-aligned
/// 4 KiB block into a hole, so a minidump's zero memory costs no disk
/// blocks (a stream sink writes the zeros).
///
/// A zero run is held back until data follows it; [`ZeroHoles::finish`]
/// ends a file that would end in a hole with one real zero page instead, so
/// the file already has its full length and the sink need not truncate it
/// (a truncate costs a journal transaction on ext4). Dropping without
/// `finish` still accounts for the held-back zeros, as a hole.
pub struct ZeroHoles<'a> {
    sink: &'a mut Sink,
    /// Zero bytes not yet passed to the sink.
    deferred: u64,
    /// Bytes of dump skipped as holes (statistics).
    pub hole_bytes: u64,
}

static ZERO_PAGE: [u8; PAGE] = [0; PAGE];

impl<'a> ZeroHoles<'a> {
    /// Wrap `sink`.
    pub fn new(sink: &'a mut Sink) -> ZeroHoles<'a> {
        ZeroHoles {
            sink,
            deferred: 0,
            hole_bytes: 0,
        }
    }

    fn release(&mut self) -> io::Result<()> {
        if self.deferred > 0 {
            self.sink.hole(self.deferred)?;
            self.hole_bytes += self.deferred;
            self.deferred = 0;
        }
        Ok(())
    }

    /// Pass the held-back zeros on: all but the last page as a hole, the
    /// last page as written zeros.
    pub fn finish(mut self) -> io::Result<()> {
        let tail = self.deferred.min(PAGE as u64);
        self.deferred -= tail;
        self.release()?;
        self.sink.write_all(&ZERO_PAGE[..tail as usize])?;
        self.sink.flush()
    }
}

impl Drop for ZeroHoles<'_> {
    fn drop(&mut self) {
        let _ = self.release();
    }
}

impl std::fmt::Debug for ZeroHoles<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZeroHoles")
            .field("deferred", &self.deferred)
            .field("hole_bytes", &self.hole_bytes)
            .finish()
    }
}

impl Write for ZeroHoles<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let pos = self.sink.position() + self.deferred;
        let misalign = usize::try_from(pos % PAGE as u64).unwrap_or(0);
        let head = if misalign == 0 { 0 } else { PAGE - misalign };
        if head > 0 || buf.len() < PAGE {
            let n = if head > 0 {
                head.min(buf.len())
            } else {
                buf.len()
            };
            self.release()?;
            self.sink.write_all(&buf[..n])?;
            return Ok(n);
        }
        // Aligned: consume whole pages, zero runs held back as holes.
        let pages = buf.len() / PAGE;
        let mut i = 0;
        while i < pages {
            let zero = buf[i * PAGE..(i + 1) * PAGE].iter().all(|b| *b == 0);
            let mut j = i + 1;
            while j < pages && buf[j * PAGE..(j + 1) * PAGE].iter().all(|b| *b == 0) == zero {
                j += 1;
            }
            let run = &buf[i * PAGE..j * PAGE];
            if zero {
                self.deferred += run.len() as u64;
            } else {
                self.release()?;
                self.sink.write_all(run)?;
            }
            i = j;
        }
        Ok(pages * PAGE)
    }

    /// Flushes the sink; held-back zeros stay held back (see [`ZeroHoles::finish`]).
    fn flush(&mut self) -> io::Result<()> {
        self.sink.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn zero_pages_become_holes_and_bytes_survive() {
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path();
        let path = dir.join("x.dmp");
        let _ = std::fs::remove_file(&path);
        let mut sink = Sink::create(&path, false).unwrap();
        let mut data = vec![0u8; 100];
        data.extend(std::iter::repeat(7u8).take(5000));
        data.extend(std::iter::repeat(0u8).take(1 << 20));
        data.extend_from_slice(b"tail");
        let holes = {
            let mut w = ZeroHoles::new(&mut sink);
            w.write_all(&data).unwrap();
            w.hole_bytes
        };
        assert!(holes >= (1 << 20) - 2 * 4096, "{holes}");
        let report = sink.finish().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), data);
        let md = std::fs::metadata(&path).unwrap();
        assert!(md.blocks() * 512 < 64 << 10, "{} blocks", md.blocks());
        assert_eq!(report.bytes_written, data.len() as u64);
    }

    #[test]
    fn a_dump_ending_in_zeros_gets_its_length_with_or_without_finish() {
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path();
        // Data, then zero pages up to the very end.
        let mut data = vec![9u8; 8192];
        data.extend(std::iter::repeat(0u8).take(3 * 4096));
        for finish in [true, false] {
            let path = dir.join(format!("x-{finish}.dmp"));
            let _ = std::fs::remove_file(&path);
            let mut sink = Sink::create(&path, false).unwrap();
            {
                let mut w = ZeroHoles::new(&mut sink);
                w.write_all(&data).unwrap();
                if finish {
                    w.finish().unwrap();
                }
            }
            assert_eq!(sink.position(), data.len() as u64);
            sink.finish().unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), data, "finish: {finish}");
        }
    }
}
