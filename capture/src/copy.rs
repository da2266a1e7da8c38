//! Copying a range of target memory into a [`Sink`], fast and sparse.
//!
//! For each window of at most `buffer.len()` bytes: ask the page map which
//! pages exist (present in RAM or swapped out); pages that do not are holes
//! without being read (reading them would make the kernel map the zero page
//! into the target). Runs of existing pages are read with one large request;
//! if a read comes back short, the rest of the run is read page by page and
//! unreadable pages become holes. Every all-zero page becomes a hole too. The
//! one buffer is reused, so memory use does not depend on the target's size.

use std::io::{self, Write};

use crate::sink::{is_zero, Sink};

/// What a memory copy needs from a live process (or anything else).
pub trait PagedMemory {
    /// Page size in bytes (a power of two).
    fn page_size(&self) -> u64;

    /// For each page starting at `addr` (page-aligned), whether it holds
    /// data (present or swapped); `out.len()` pages. An error means "unknown":
    /// the copy then reads every page.
    fn pages_with_data(&mut self, addr: u64, out: &mut [bool]) -> io::Result<()>;

    /// Read up to `buf.len()` bytes at `addr`; a short count means the byte
    /// after the last one returned could not be read.
    fn read_at(&mut self, addr: u64, buf: &mut [u8]) -> io::Result<usize>;
}

/// Counters of one or more copies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CopyStats {
    /// Bytes read from the target.
    pub bytes_read: u64,
    /// Bytes written as data.
    pub bytes_data: u64,
    /// Pages skipped because the page map says they hold nothing.
    pub pages_absent: u64,
    /// Pages read and found all zero.
    pub pages_zero: u64,
    /// Pages that could not be read (written as holes).
    pub pages_unreadable: u64,
}

/// A reusable copier: one fixed buffer for every range it copies.
#[derive(Debug)]
pub struct Copier {
    buffer: Vec<u8>,
    present: Vec<bool>,
    /// What was copied so far.
    pub stats: CopyStats,
}

impl Copier {
    /// A copier with a `buffer_size`-byte buffer (rounded up to 4 KiB).
    pub fn new(buffer_size: usize) -> Copier {
        Copier {
            buffer: vec![0; buffer_size.max(4096)],
            present: Vec::new(),
            stats: CopyStats::default(),
        }
    }

    /// Copy `[start, start + len)` of `mem` into `sink` (exactly `len` bytes
    /// of output, data or holes), calling `progress(bytes)` after each window.
    /// `start` must be page-aligned.
    pub fn copy_range<M: PagedMemory + ?Sized>(
        &mut self,
        mem: &mut M,
        start: u64,
        len: u64,
        sink: &mut Sink,
        progress: &mut dyn FnMut(u64),
    ) -> io::Result<()> {
        copy_range(
            mem,
            start,
            len,
            &mut self.buffer,
            &mut self.present,
            sink,
            &mut self.stats,
            progress,
        )
    }
}

#[allow(clippy::too_many_arguments)]
fn copy_range<M: PagedMemory + ?Sized>(
    mem: &mut M,
    start: u64,
    len: u64,
    buffer: &mut [u8],
    present: &mut Vec<bool>,
    sink: &mut Sink,
    stats: &mut CopyStats,
    progress: &mut dyn FnMut(u64),
) -> io::Result<()> {
    let page = mem.page_size();
    let page_usize = usize::try_from(page).map_err(|_| io::Error::other("page size"))?;
    let window = (buffer.len() as u64 / page).max(1) * page;
    if (buffer.len() as u64) < page {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "copy buffer smaller than a page",
        ));
    }
    let mut addr = start;
    let end = start + len;
    while addr < end {
        let this = window.min(end - addr);
        let pages = usize::try_from(this.div_ceil(page)).map_err(|_| io::Error::other("window"))?;
        present.clear();
        present.resize(pages, true);
        if mem.pages_with_data(addr, present).is_err() {
            present.iter_mut().for_each(|p| *p = true);
        }
        let mut i = 0;
        while i < pages {
            let run_start = i;
            let has = present[i];
            while i < pages && present[i] == has {
                i += 1;
            }
            let run_addr = addr + run_start as u64 * page;
            let run_len = ((i - run_start) as u64 * page).min(end - run_addr);
            if !has {
                stats.pages_absent += (i - run_start) as u64;
                sink.hole(run_len)?;
                continue;
            }
            let buf = &mut buffer[..run_len as usize];
            let got = read_full(mem, run_addr, buf)?;
            stats.bytes_read += got as u64;
            // Page by page for whatever the bulk read did not return.
            let mut done = got / page_usize * page_usize;
            while done < buf.len() {
                let upto = (done + page_usize).min(buf.len());
                match mem.read_at(run_addr + done as u64, &mut buf[done..upto]) {
                    Ok(n) if n == upto - done => stats.bytes_read += n as u64,
                    _ => {
                        stats.pages_unreadable += 1;
                        buf[done..upto].fill(0);
                    }
                }
                done = upto;
            }
            write_pages(sink, buf, page_usize, stats)?;
        }
        addr += this;
        progress(this);
    }
    Ok(())
}

/// Read until `buf` is full, the source returns 0, or an error (which ends
/// the bulk read; the caller retries page by page).
fn read_full<M: PagedMemory + ?Sized>(mem: &mut M, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match mem.read_at(addr + got as u64, &mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    Ok(got)
}

/// Write `buf` with all-zero pages as holes, coalescing runs of data pages.
fn write_pages(sink: &mut Sink, buf: &[u8], page: usize, stats: &mut CopyStats) -> io::Result<()> {
    let mut data_from: Option<usize> = None;
    let mut off = 0;
    while off < buf.len() {
        let upto = (off + page).min(buf.len());
        if is_zero(&buf[off..upto]) {
            if let Some(from) = data_from.take() {
                sink.write_all(&buf[from..off])?;
                stats.bytes_data += (off - from) as u64;
            }
            stats.pages_zero += 1;
            sink.hole((upto - off) as u64)?;
        } else if data_from.is_none() {
            data_from = Some(off);
        }
        off = upto;
    }
    if let Some(from) = data_from {
        sink.write_all(&buf[from..])?;
        stats.bytes_data += (buf.len() - from) as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Memory at `base`: pages listed in `absent` hold nothing, pages in
    /// `unreadable` fail to read (and stop a bulk read there).
    struct Fake {
        base: u64,
        data: Vec<u8>,
        absent: Vec<u64>,
        unreadable: Vec<u64>,
        reads: usize,
    }

    impl PagedMemory for Fake {
        fn page_size(&self) -> u64 {
            4096
        }
        fn pages_with_data(&mut self, addr: u64, out: &mut [bool]) -> io::Result<()> {
            for (i, o) in out.iter_mut().enumerate() {
                let p = (addr - self.base) / 4096 + i as u64;
                *o = !self.absent.contains(&p);
            }
            Ok(())
        }
        fn read_at(&mut self, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
            self.reads += 1;
            let off = (addr - self.base) as usize;
            let mut n = 0;
            while n < buf.len() {
                let p = ((off + n) / 4096) as u64;
                if self.unreadable.contains(&p) {
                    break;
                }
                buf[n] = self.data[off + n];
                n += 1;
            }
            if n == 0 && !buf.is_empty() {
                return Err(io::Error::from_raw_os_error(5));
            }
            Ok(n)
        }
    }

    fn run(fake: &mut Fake, buffer: usize) -> (Vec<u8>, u64, CopyStats) {
        let dir =
            std::env::temp_dir().join(format!("coroner-copy-{}-{buffer}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let dest = dir.join("out");
        let mut sink = Sink::create(&dest, false).unwrap();
        let mut copier = Copier::new(buffer);
        let mut seen = 0;
        let len = fake.data.len() as u64;
        let base = fake.base;
        copier
            .copy_range(fake, base, len, &mut sink, &mut |n| seen += n)
            .unwrap();
        let stats = copier.stats;
        assert_eq!(seen, len);
        let r = sink.finish().unwrap();
        let out = std::fs::read(&dest).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        (out, r.bytes_allocated, stats)
    }

    #[test]
    fn copies_data_and_leaves_absent_zero_and_unreadable_pages_as_holes() {
        let pages = 64u64;
        let mut data = vec![0u8; (pages * 4096) as usize];
        for p in 0..pages {
            if p % 3 != 0 {
                data[(p * 4096 + 7) as usize] = p as u8 + 1;
            }
        }
        // Page 5 has data but the page map says absent: it must not be read.
        let mut fake = Fake {
            base: 0x10_0000,
            data: data.clone(),
            absent: vec![5, 6, 40],
            unreadable: vec![20],
            reads: 0,
        };
        let (out, allocated, stats) = run(&mut fake, 16 * 4096);
        let mut expect = data.clone();
        for p in [5usize, 6, 40, 20] {
            expect[p * 4096..(p + 1) * 4096].fill(0);
        }
        assert_eq!(out, expect);
        assert_eq!(stats.pages_absent, 3);
        assert_eq!(stats.pages_unreadable, 1);
        let data_pages = (0..pages)
            .filter(|p| p % 3 != 0 && ![5, 40, 20].contains(p))
            .count() as u64;
        assert_eq!(stats.bytes_data, data_pages * 4096);
        assert!(
            allocated <= (data_pages + 8) * 4096,
            "allocated {allocated}"
        );
        // Large reads: far fewer calls than pages.
        assert!(fake.reads < 20, "{} reads", fake.reads);
    }

    #[test]
    fn a_one_page_buffer_still_works() {
        let mut data = vec![0u8; 8 * 4096];
        data[3 * 4096] = 9;
        let mut fake = Fake {
            base: 0,
            data: data.clone(),
            absent: vec![],
            unreadable: vec![],
            reads: 0,
        };
        let (out, _, stats) = run(&mut fake, 4096);
        assert_eq!(out, data);
        assert_eq!(stats.pages_zero, 7);
    }
}
