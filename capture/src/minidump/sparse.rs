use std::io::{self, Write};

use crate::sink::Sink;

const PAGE: usize = 4096;

/// An [`io::Write`] over a [`Sink`] that turns every all-zero, page-aligned
/// 4 KiB block into a hole, so a minidump's zero memory costs no disk
/// blocks (a stream sink writes the zeros).
pub struct ZeroHoles<'a> {
    sink: &'a mut Sink,
    /// Bytes of dump skipped as holes (statistics).
    pub hole_bytes: u64,
}

impl<'a> ZeroHoles<'a> {
    /// Wrap `sink`.
    pub fn new(sink: &'a mut Sink) -> ZeroHoles<'a> {
        ZeroHoles {
            sink,
            hole_bytes: 0,
        }
    }
}

impl std::fmt::Debug for ZeroHoles<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZeroHoles")
            .field("hole_bytes", &self.hole_bytes)
            .finish()
    }
}

impl Write for ZeroHoles<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let pos = self.sink.position();
        let misalign = usize::try_from(pos % PAGE as u64).unwrap_or(0);
        let head = if misalign == 0 { 0 } else { PAGE - misalign };
        if head > 0 {
            let n = head.min(buf.len());
            self.sink.write_all(&buf[..n])?;
            return Ok(n);
        }
        if buf.len() < PAGE {
            self.sink.write_all(buf)?;
            return Ok(buf.len());
        }
        // Aligned: consume whole pages, zero runs as holes.
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
                self.sink.hole(run.len() as u64)?;
                self.hole_bytes += run.len() as u64;
            } else {
                self.sink.write_all(run)?;
            }
            i = j;
        }
        Ok(pages * PAGE)
    }

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
        let dir = std::env::temp_dir().join(format!("coroner-zh-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
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
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
