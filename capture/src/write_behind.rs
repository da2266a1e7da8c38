//! Write-behind for the direct-I/O output: a ring of buffers that grows,
//! up to a set size, as far as the disk falls behind the capture.
//!
//! Why: with the default two-buffer ring, a frozen target is held for as
//! long as the disk takes to write its memory (measured on the benchmark
//! machine: the pause of a capture of a 1 GiB redis was the disk's write
//! time; see BENCHMARKS.md). Reading the target runs at memory speed; the
//! disk does not. When the bytes the disk has not taken yet may wait in
//! coroner's memory, the target is resumed once its memory is read, and
//! the writer thread finishes writing after the thaw (before the file is
//! fsynced and named, as always).
//!
//! The buffers are fresh anonymous memory (page-aligned, as `O_DIRECT`
//! needs), and on a VM whose host takes free guest memory back (free page
//! reporting, as on the benchmark machine) the first touch of fresh memory
//! is what costs: about 1 s per GiB there, not shared out by a second
//! thread (two threads touching 1 GiB took longer than one), against
//! 0.15 s per GiB to copy into memory already touched. So some buffers are
//! made *before* the freeze, as many as the caller asks for
//! ([`Toucher::start`]'s `ahead`: `made_ahead.rs` sizes it to what the
//! freeze is expected to need beyond what the disk and the toucher supply
//! while it lasts), and the others by a thread of its own (the toucher),
//! which keeps 32 MiB more than the disk's backlog ready; when none is
//! ready and the ring may still grow, the capture makes a buffer itself
//! rather than wait. Each buffer is backed by memory by whoever makes it,
//! so that its page faults are not taken inside the capture's reads.
//!
//! The capture reads the target straight into these buffers (the sink
//! lends them: `Sink::lend` in coroner-dump-source), so a byte of the dump
//! is copied once while the target is frozen, not twice.
//!
//! Buffers are backed with `MADV_POPULATE_WRITE` (one call, else a write
//! per page). Those made before the freeze are in 4 KiB pages, those made
//! while the capture runs (by the toucher, or the capture) ask for huge
//! pages. Why, on the benchmark machine (transparent huge pages on
//! `madvise`, with direct compaction):
//! - making fresh memory advised `MADV_HUGEPAGE` cost 2.9 s per GiB, 4 KiB
//!   pages 0.53 s (0.41 s populated in one call): a dense target's data,
//!   all made ahead, would lengthen the wall time by seconds in huge pages;
//! - with huge pages for the buffers made during the capture the ring
//!   grows less while the target is read (likely because a direct write
//!   from huge pages is fewer, larger segments for the disk; not measured
//!   apart): on
//!   the gcore benchmark's workload (half zeros, little made ahead) the
//!   ring all in 4 KiB pages took wall 1.28–1.47 s and 400–580 MiB,
//!   huge pages for what is made during the capture 1.02–1.14 s and
//!   220–370 MiB, in one window of alternating runs; the redis pause was
//!   no longer (0.32–0.34 s against 0.35–0.47 s; BENCHMARKS.md, issue 16).
//!
//! When the disk keeps up, the ring stays small; it never holds more than
//! the size it was given.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;

use memmap2::{MmapMut, MmapOptions};

use crate::direct::Freed;

/// Size of each buffer of a write-behind ring: two 2 MiB huge pages, and
/// large direct writes.
pub(crate) const BUFFER: usize = 4 << 20;
/// Buffers the toucher keeps ready beyond those the disk has not written
/// yet: how far it runs ahead of the capture (32 MiB).
const AHEAD: usize = 8;

/// The pages a buffer is made of. Buffers made before the freeze are in
/// 4 KiB pages, which are faster to make; those made while the capture
/// runs ask for huge pages, which the disk writes faster (see the module
/// docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pages {
    Small,
    Huge,
}

/// One buffer of the ring: an anonymous mapping, page-aligned.
pub(crate) struct Buffer {
    map: MmapMut,
}

impl Buffer {
    /// A new buffer of `size` bytes, in 4 KiB pages (see the module docs
    /// for why not huge ones), backed by memory at its first use.
    pub(crate) fn new(size: usize) -> io::Result<Buffer> {
        Buffer::with_pages(size, Pages::Small)
    }

    fn with_pages(size: usize, pages: Pages) -> io::Result<Buffer> {
        let map = MmapOptions::new().len(size).map_anon()?;
        #[cfg(target_os = "linux")]
        {
            // Transparent huge pages set to "always" would give them
            // anyway; "never" gives none whatever is asked.
            let _ = map.advise(match pages {
                Pages::Small => memmap2::Advice::NoHugePage,
                Pages::Huge => memmap2::Advice::HugePage,
            });
        }
        #[cfg(not(target_os = "linux"))]
        let _ = pages;
        Ok(Buffer { map })
    }

    /// A new buffer whose every page is backed by memory now rather than
    /// at its first use: `MADV_POPULATE_WRITE` (one system call; Linux
    /// 5.14), else a write to each page. Not with zeros, which a later
    /// zero check could mistake for untouched memory; the bytes are
    /// overwritten before they are read.
    pub(crate) fn backed(size: usize, pages: Pages) -> io::Result<Buffer> {
        let mut buf = Buffer::with_pages(size, pages)?;
        #[cfg(target_os = "linux")]
        let populated = buf.map.advise(memmap2::Advice::PopulateWrite).is_ok();
        #[cfg(not(target_os = "linux"))]
        let populated = false;
        if !populated {
            for page in buf.map.chunks_mut(4096) {
                if let Some(b) = page.first_mut() {
                    *b = 0xa5;
                }
            }
            std::hint::black_box(&mut buf.map[..]);
        }
        Ok(buf)
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.map
    }

    pub(crate) fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.map
    }
}

/// Buffers handed to the writer thread and not yet written: the disk's
/// backlog, shared by the capture (which adds), the writer thread (which
/// takes away) and the toucher (which waits for it to grow).
#[derive(Default)]
pub(crate) struct Backlog {
    queued: Mutex<usize>,
    changed: Condvar,
}

impl Backlog {
    pub(crate) fn add(&self) {
        let mut q = self.queued.lock().unwrap_or_else(PoisonError::into_inner);
        *q = q.saturating_add(1);
        self.changed.notify_all();
    }

    pub(crate) fn remove(&self) {
        let mut q = self.queued.lock().unwrap_or_else(PoisonError::into_inner);
        *q = q.saturating_sub(1);
    }
}

/// The thread that makes the ring's buffers; see the module docs.
pub(crate) struct Toucher {
    backlog: Arc<Backlog>,
    /// Buffers made so far, by the thread or by [`Toucher::grow`]; never
    /// more than `count`.
    made: Arc<AtomicUsize>,
    /// Buffers the ring may have in all now ([`Toucher::allow_only`]).
    count: Arc<AtomicUsize>,
    /// The size it was given, which `count` never exceeds.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    size: usize,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// Count one more buffer made, if fewer than `count` are.
fn reserve(made: &AtomicUsize, count: &AtomicUsize) -> bool {
    made.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |m| {
        (m < count.load(Ordering::Relaxed)).then_some(m + 1)
    })
    .is_ok()
}

impl Toucher {
    /// Make up to `count` buffers, sending each to `freed` when it is
    /// touched: `ahead` of them now, before this returns (at least two, so
    /// the ring always has two whatever happens later; their errors are
    /// this call's), the others on a thread, which keeps `AHEAD` ready
    /// beyond the disk's `backlog`. Fewer are made if memory runs out.
    pub(crate) fn start(
        count: usize,
        ahead: usize,
        backlog: Arc<Backlog>,
        freed: Sender<Freed>,
    ) -> io::Result<Toucher> {
        let made = Arc::new(AtomicUsize::new(0));
        let first = AtomicUsize::new(count.min(ahead.max(2)));
        while reserve(&made, &first) {
            let buf = Buffer::backed(BUFFER, Pages::Small)?;
            freed
                .send(Freed::Fresh(buf))
                .map_err(|_| io::Error::other("the output writer stopped"))?;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let count = Arc::new(AtomicUsize::new(count));
        let thread = {
            let (backlog, made, count, stop) = (
                Arc::clone(&backlog),
                Arc::clone(&made),
                Arc::clone(&count),
                Arc::clone(&stop),
            );
            std::thread::Builder::new()
                .name("coroner-touch".into())
                .spawn(move || make_buffers(&made, &count, &backlog, &stop, &freed))?
        };
        let size = count.load(Ordering::Relaxed);
        Ok(Toucher {
            backlog,
            made,
            count,
            size,
            stop,
            thread: Some(thread),
        })
    }

    /// A new buffer for a capture that found none ready, while the ring
    /// may still grow: made (and faulted in as it is filled) on the
    /// capture's thread rather than waiting for the toucher or the disk.
    /// `None` once the ring has all its buffers.
    pub(crate) fn grow(&self) -> Option<io::Result<Buffer>> {
        reserve(&self.made, &self.count).then(|| Buffer::backed(BUFFER, Pages::Huge))
    }

    /// Let the ring grow by at most `more` buffers from now on (by the
    /// thread or [`Toucher::grow`]), never beyond the size it was given;
    /// a later call may allow more again.
    #[cfg(target_os = "linux")]
    pub(crate) fn allow_only(&self, more: usize) {
        let made = self.made.load(Ordering::Relaxed);
        self.count.store(
            self.size.min(made.saturating_add(more)).max(made),
            Ordering::Relaxed,
        );
    }

    /// Make no more buffers; returns when the thread has ended.
    pub(crate) fn stop(mut self) {
        self.end();
    }

    fn end(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        {
            // Under the lock, so the wake-up cannot fall between the
            // thread's check of `stop` and its wait.
            let _q = self
                .backlog
                .queued
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            self.backlog.changed.notify_all();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Toucher {
    fn drop(&mut self) {
        self.end();
    }
}

/// The toucher's loop: keep `made - backlog >= AHEAD` (buffers not at the
/// disk: the one being filled and those ready) until `count` are made.
fn make_buffers(
    made: &AtomicUsize,
    count: &AtomicUsize,
    backlog: &Backlog,
    stop: &AtomicBool,
    freed: &Sender<Freed>,
) {
    loop {
        {
            let mut q = backlog
                .queued
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            while !stop.load(Ordering::Relaxed)
                && made.load(Ordering::Relaxed).saturating_sub(*q) >= AHEAD
            {
                q = backlog
                    .changed
                    .wait(q)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        }
        if stop.load(Ordering::Relaxed) || !reserve(made, count) {
            return;
        }
        let Ok(buf) = Buffer::backed(BUFFER, Pages::Huge) else {
            // Out of memory (or address space): the ring stays as it is.
            return;
        };
        if freed.send(Freed::Fresh(buf)).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;
    use std::time::Duration;

    /// The toucher runs `AHEAD` buffers ahead of the disk's backlog, and
    /// never makes more than it was allowed, with the capture's own.
    #[test]
    fn the_ring_grows_with_the_backlog_up_to_its_size() {
        let backlog = Arc::new(Backlog::default());
        let (tx, rx) = channel();
        let toucher = Toucher::start(16, 0, Arc::clone(&backlog), tx).unwrap();
        let expect = |n: usize| {
            for i in 0..n {
                match rx.recv_timeout(Duration::from_secs(20)) {
                    Ok(Freed::Fresh(b)) => assert_eq!(b.bytes().len(), BUFFER),
                    Ok(Freed::Written(_)) => panic!("only fresh buffers here"),
                    Err(e) => panic!("buffer {i} of {n}: {e}"),
                }
            }
            // No more: a wait, or the thread's end once all are made.
            assert!(
                rx.recv_timeout(Duration::from_millis(300)).is_err(),
                "more than {n} buffers"
            );
        };
        // Nothing at the disk yet: AHEAD buffers, the first two made at once.
        expect(AHEAD);
        // Three at the disk: three more.
        for _ in 0..3 {
            backlog.add();
        }
        expect(3);
        // The capture makes two itself: they count.
        assert!(toucher.grow().unwrap().is_ok());
        assert!(toucher.grow().unwrap().is_ok());
        // Twenty at the disk: only up to the ring's sixteen.
        for _ in 0..17 {
            backlog.add();
        }
        expect(3);
        assert!(toucher.grow().is_none(), "the ring is full");
        toucher.stop();
    }

    /// The buffers asked for ahead are made before `start` returns (at
    /// least two, at most the ring); the thread adds none while they cover
    /// `AHEAD`.
    #[test]
    fn buffers_asked_for_ahead_are_ready_when_start_returns() {
        for (count, ahead, ready) in [(16, 12, 12), (16, 0, 2), (16, 40, 16), (1, 5, 1)] {
            let (tx, rx) = channel();
            let toucher = Toucher::start(count, ahead, Arc::new(Backlog::default()), tx).unwrap();
            for i in 0..ready {
                assert!(
                    matches!(rx.try_recv(), Ok(Freed::Fresh(_))),
                    "buffer {i} of {ready} ({count}, {ahead}) not ready"
                );
            }
            if ready >= AHEAD {
                assert!(
                    rx.recv_timeout(Duration::from_millis(300)).is_err(),
                    "more than {ready} buffers ({count}, {ahead})"
                );
            }
            toucher.stop();
        }
    }

    #[test]
    fn backed_buffers_are_page_aligned_and_resident() {
        use coroner_proc_reader::Process;
        let resident = |b: &Buffer| {
            let start = b.bytes().as_ptr() as u64;
            let process = Process::open(std::process::id()).unwrap();
            let mut present = 0;
            process
                .memory()
                .unwrap()
                .scan_pagemap(start, start + b.bytes().len() as u64, |_, e| {
                    present += usize::from(e.present());
                })
                .unwrap();
            present
        };
        let mut b = Buffer::backed(BUFFER, Pages::Small).unwrap();
        assert_eq!(b.bytes().as_ptr() as usize % 4096, 0);
        assert_eq!(resident(&b), BUFFER / 4096, "every page backed");
        b.bytes_mut()[4096] = 1;
        let fresh = Buffer::new(BUFFER).unwrap();
        assert_eq!(resident(&fresh), 0, "backed at first use only");
    }
}
