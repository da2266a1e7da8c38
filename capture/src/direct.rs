//! Direct I/O for the output file: block-aligned buffers written with
//! `O_DIRECT` by a writer thread while the capture goes on.
//!
//! Why: written through the page cache, a multi-gigabyte dump makes the
//! kernel allocate (and on many VMs, fault in) as much fresh memory, which
//! was the slowest and least predictable part of a capture, and leaves it
//! all to fsync afterwards. With `O_DIRECT` the bytes go from a small
//! reused buffer to the disk, the disk works while the next chunk of the
//! target is read, and the final fsync has only metadata left.
//!
//! The buffers form a ring: the capture fills one while the writer thread
//! writes the others, and waits only when every buffer is waiting for the
//! disk. By default the ring is two 1 MiB buffers, so a frozen target is
//! held for as long as the disk takes to write its memory. With
//! [`DirectWriter::write_behind`] the ring may grow to a set size (see
//! `write_behind.rs`): up to that many bytes of the dump wait in coroner's
//! memory for the disk, and the target is resumed while they do.
//!
//! The capture reads the target straight into the open buffer
//! ([`DirectWriter::lend`]) and then says which parts were data and which
//! zero pages ([`DirectWriter::commit_lent`]): data after a hole moves down
//! over it, so holes take no room in the ring, and a run of zero pages
//! at the end of a read is simply not kept.
//!
//! Offsets and lengths of `O_DIRECT` writes must be block-aligned. A buffer
//! holds one or more extents, each a block-aligned run of the file: data is
//! staged from a block boundary, a hole that starts inside a block fills
//! the rest of that block with zeros and ends the extent (the next data
//! starts a new extent in the same buffer, so holes do not waste buffers),
//! the last block is padded and the file is truncated to its real length
//! by the caller.

use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use coroner_core_format::write::Lent;

use crate::os::FileExt;
use crate::write_behind::{Backlog, Buffer, Toucher};

/// Alignment of every direct write (offset and length).
const BLOCK: u64 = 4096;
/// Size of each of the two buffers of the default ring.
const SMALL_STAGE: usize = 1 << 20;
/// Buffers in the default ring: one filling, one being written.
const SMALL_RING: usize = 2;

/// A run of the file staged in a buffer: `len` bytes at buffer offset
/// `start` go to file offset `offset` (all three block multiples once the
/// extent is closed).
#[derive(Debug, Clone, Copy)]
struct Extent {
    offset: u64,
    start: usize,
    len: usize,
}

struct Job {
    buf: Buffer,
    extents: Vec<Extent>,
}

/// What comes back to the capture: a buffer ready to be filled.
pub(crate) enum Freed {
    /// A buffer the writer thread has written (or the error it met).
    Written(io::Result<Buffer>),
    /// A new buffer, its memory touched ahead (from the toucher thread).
    Fresh(Buffer),
}

/// Writes a file through `O_DIRECT`; see the module docs.
pub(crate) struct DirectWriter {
    /// The buffer being filled and its extents, if one is open.
    stage: Option<(Buffer, Vec<Extent>)>,
    /// Bytes used in the open buffer (a block multiple at each extent start).
    fill: usize,
    /// Logical position (next byte of the stream).
    pos: u64,
    /// Size of each buffer.
    stage_size: usize,
    /// Buffers the ring may hold.
    ring: usize,
    /// Buffers made so far by this thread (default ring only).
    allocated: usize,
    /// Whether the ring is a write-behind one (its buffers come from the
    /// toucher).
    behind: bool,
    /// Jobs sent to the writer thread whose buffer has not come back.
    in_flight: usize,
    jobs: Option<Sender<Job>>,
    freed: Receiver<Freed>,
    /// Set when the output is abandoned: queued writes are skipped.
    abandon: Arc<AtomicBool>,
    writer: Option<JoinHandle<()>>,
    toucher: Option<Toucher>,
    /// A sender for the toucher to clone, until the first write; then
    /// dropped, so that `freed` reports the writer thread's end instead
    /// of waiting forever.
    freed_tx: Option<Sender<Freed>>,
    /// Buffers sent to the writer thread and not yet written.
    backlog: Arc<Backlog>,
}

fn align_down(v: u64) -> u64 {
    v / BLOCK * BLOCK
}

fn stopped_writer() -> io::Error {
    io::Error::other("the output writer thread stopped")
}

impl DirectWriter {
    /// Start writing `file` (opened with `O_DIRECT`) from offset 0, with
    /// the default ring (two 1 MiB buffers).
    pub(crate) fn new(file: File) -> io::Result<DirectWriter> {
        let (jobs, rx) = channel::<Job>();
        let (freed_tx, freed) = channel::<Freed>();
        let abandon = Arc::new(AtomicBool::new(false));
        let backlog = Arc::new(Backlog::default());
        let writer = {
            let tx = freed_tx.clone();
            let (abandon, backlog) = (Arc::clone(&abandon), Arc::clone(&backlog));
            std::thread::Builder::new()
                .name("coroner-write".into())
                .spawn(move || write_jobs(&file, &rx, &tx, &abandon, &backlog))?
        };
        Ok(DirectWriter {
            stage: None,
            fill: 0,
            pos: 0,
            stage_size: SMALL_STAGE,
            ring: SMALL_RING,
            allocated: 0,
            behind: false,
            in_flight: 0,
            jobs: Some(jobs),
            freed,
            abandon,
            writer: Some(writer),
            toucher: None,
            freed_tx: Some(freed_tx),
            backlog,
        })
    }

    /// Let up to `bytes` of the stream wait in memory for the disk (rounded
    /// down to whole buffers; at most the default ring's 2 MiB is kept when
    /// `bytes` is smaller than two buffers, and 0 returned). `ahead` bytes
    /// of that memory (rounded up to whole buffers, at least two, at most
    /// the ring) are made before this returns, the rest by a thread that
    /// starts now, ahead of what the capture uses (see `write_behind.rs`).
    /// Only before the first write. Returns the bytes the ring may hold.
    pub(crate) fn write_behind(&mut self, bytes: u64, ahead: u64) -> io::Result<u64> {
        if self.pos > 0 || self.allocated > 0 || self.behind {
            return Err(io::Error::other(
                "write-behind is set before the first write",
            ));
        }
        let stage = crate::write_behind::BUFFER;
        let count = usize::try_from(bytes / stage as u64).unwrap_or(usize::MAX);
        if count < 2 {
            return Ok(0);
        }
        let freed = self
            .freed_tx
            .clone()
            .ok_or_else(|| io::Error::other("write-behind is set before the first write"))?;
        let ahead = usize::try_from(ahead.div_ceil(stage as u64)).unwrap_or(usize::MAX);
        let toucher = Toucher::start(count, ahead, Arc::clone(&self.backlog), freed)?;
        self.toucher = Some(toucher);
        self.stage_size = stage;
        self.ring = count;
        self.behind = true;
        Ok((count as u64).saturating_mul(stage as u64))
    }

    /// Let a write-behind ring grow by at most `bytes` more (whole
    /// buffers): the target no longer waits for the disk (it was resumed
    /// before the dump is written), or the memory is held by something
    /// else. The buffers already made stay in use (there are at least
    /// two).
    #[cfg(target_os = "linux")]
    pub(crate) fn limit_write_behind(&mut self, bytes: u64) {
        if let Some(t) = &self.toucher {
            t.allow_only(usize::try_from(bytes / self.stage_size as u64).unwrap_or(usize::MAX));
        }
    }

    /// A free buffer: a new one while the default ring has fewer than its
    /// two, else the next one that comes back from the writer thread
    /// (surfacing its error, if any); with write-behind, one ready (from
    /// the writer or the toucher), else a new one while the ring may grow,
    /// else the next to come back.
    fn acquire(&mut self) -> io::Result<Buffer> {
        self.freed_tx = None;
        if !self.behind && self.allocated < self.ring {
            self.allocated += 1;
            return Buffer::new(self.stage_size);
        }
        if self.behind {
            // A buffer ready now, else a new one while the ring may grow:
            // the capture does not wait for the disk or the toucher.
            match self.freed.try_recv() {
                Ok(freed) => return self.take(freed),
                Err(_) => {
                    if let Some(made) = self.toucher.as_ref().and_then(Toucher::grow) {
                        return made;
                    }
                }
            }
        }
        loop {
            match self.freed.recv_timeout(Duration::from_millis(100)) {
                Ok(freed) => return self.take(freed),
                // The toucher may still hold a sender: a writer thread that
                // ended (it only does on a panic) is noticed here.
                Err(RecvTimeoutError::Timeout)
                    if !self.writer.as_ref().is_some_and(JoinHandle::is_finished) => {}
                Err(_) => return Err(stopped_writer()),
            }
        }
    }

    fn take(&mut self, freed: Freed) -> io::Result<Buffer> {
        match freed {
            Freed::Written(r) => {
                self.in_flight = self.in_flight.saturating_sub(1);
                r
            }
            Freed::Fresh(buf) => Ok(buf),
        }
    }

    /// Whether the last extent of the open buffer ends at `pos` (data
    /// written now continues it).
    fn extent_open(&self) -> bool {
        match &self.stage {
            Some((_, extents)) => extents
                .last()
                .is_some_and(|e| e.offset + e.len as u64 == self.pos),
            None => false,
        }
    }

    /// Start an extent at `pos`: from the block boundary before it, the
    /// bytes of that block before `pos` (part of a hole) as zeros.
    fn open_extent(&mut self) -> io::Result<()> {
        if self.stage.is_none() {
            let buf = self.acquire()?;
            self.stage = Some((buf, Vec::new()));
            self.fill = 0;
        }
        let offset = align_down(self.pos);
        let before = (self.pos - offset) as usize;
        let start = self.fill;
        if let Some((buf, extents)) = &mut self.stage {
            // `fill` and the buffer size are block multiples, so a block
            // of room is left.
            buf.bytes_mut()[start..start + before].fill(0);
            extents.push(Extent {
                offset,
                start,
                len: before,
            });
        }
        self.fill += before;
        Ok(())
    }

    /// Add `n` bytes, already in the buffer at `fill`, to the open extent.
    fn grow_extent(&mut self, n: usize) {
        if let Some((_, extents)) = &mut self.stage {
            if let Some(e) = extents.last_mut() {
                e.len += n;
            }
        }
        self.fill += n;
        self.pos += n as u64;
    }

    /// Send the open buffer (its extents are closed: whole blocks).
    fn submit(&mut self) -> io::Result<()> {
        let Some((buf, mut extents)) = self.stage.take() else {
            return Ok(());
        };
        // Lent memory that held only zeros leaves an empty extent.
        extents.retain(|e| e.len > 0);
        debug_assert!(extents.iter().all(|e| e.len as u64 % BLOCK == 0));
        self.fill = 0;
        let tx = self
            .jobs
            .as_ref()
            .ok_or_else(|| io::Error::other("output already finished"))?;
        self.backlog.add();
        if tx.send(Job { buf, extents }).is_err() {
            self.backlog.remove();
            return Err(stopped_writer());
        }
        self.in_flight += 1;
        Ok(())
    }

    /// Append `data`.
    pub(crate) fn write(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            if !self.extent_open() {
                self.open_extent()?;
            }
            let at = self.fill;
            let n = (self.stage_size - at).min(data.len());
            if let Some((buf, _)) = &mut self.stage {
                buf.bytes_mut()[at..at + n].copy_from_slice(&data[..n]);
            }
            self.grow_extent(n);
            data = &data[n..];
            if self.fill == self.stage_size {
                self.submit()?;
            }
        }
        Ok(())
    }

    /// Room in the open buffer for the next bytes of the stream, at most
    /// `max` (see [`coroner_dump_source::Sink::lend`]): the capture reads
    /// the target straight into the ring. Its first byte is at the buffer
    /// offset that matches `pos` within a block, as for [`Self::write`].
    pub(crate) fn lend(&mut self, max: usize) -> io::Result<&mut [u8]> {
        if !self.extent_open() {
            self.open_extent()?;
        }
        let at = self.fill;
        let n = (self.stage_size - at).min(max);
        match &mut self.stage {
            Some((buf, _)) => Ok(&mut buf.bytes_mut()[at..at + n]),
            None => Err(io::Error::other("no buffer open to lend")),
        }
    }

    /// Take the start of what [`Self::lend`] gave as `parts` of the stream.
    /// Data stays where it was read, or moves down over a hole before it in
    /// the same buffer (so holes take no room in the ring); a hole closes
    /// the extent as [`Self::hole`] does.
    pub(crate) fn commit_lent(&mut self, parts: &[Lent]) -> io::Result<()> {
        // Where the next part's bytes lie in the buffer; `fill` (where they
        // belong) is never past it.
        let mut src = self.fill;
        for part in parts {
            match *part {
                Lent::Data(n) => {
                    if !self.extent_open() {
                        // After a hole: `src` and `pos` agree within a block,
                        // so the extent's zeros before `pos` end at or
                        // before `src`.
                        self.open_extent()?;
                    }
                    let at = self.fill;
                    let Some((buf, _)) = &mut self.stage else {
                        return Err(io::Error::other("no buffer open for lent data"));
                    };
                    if src != at {
                        buf.bytes_mut().copy_within(src..src + n, at);
                    }
                    self.grow_extent(n);
                    src += n;
                }
                Lent::Hole(n) => {
                    // Zeros to the end of the block, as `hole` writes them:
                    // the bytes at `fill` may be stale when data moved.
                    let len = n as u64;
                    let zeros = if self.extent_open() {
                        (BLOCK - self.pos % BLOCK) % BLOCK
                    } else {
                        0
                    }
                    .min(len) as usize;
                    let at = self.fill;
                    if let Some((buf, _)) = &mut self.stage {
                        buf.bytes_mut()[at..at + zeros].fill(0);
                    }
                    self.grow_extent(zeros);
                    self.pos += len - zeros as u64;
                    src += n;
                }
            }
            if self.fill == self.stage_size {
                // `src` is at the end too: nothing more lies in this buffer.
                self.submit()?;
                src = 0;
            }
        }
        Ok(())
    }

    /// Skip `len` zero bytes.
    pub(crate) fn hole(&mut self, mut len: u64) -> io::Result<()> {
        if self.extent_open() {
            // Zeros up to the end of the current block; past it the extent
            // is closed and the file keeps a hole.
            let to_block_end = (BLOCK - self.pos % BLOCK) % BLOCK;
            let zeros = to_block_end.min(len) as usize;
            let at = self.fill;
            if let Some((buf, _)) = &mut self.stage {
                buf.bytes_mut()[at..at + zeros].fill(0);
            }
            self.grow_extent(zeros);
            len -= zeros as u64;
            if self.fill == self.stage_size {
                self.submit()?;
            }
        }
        self.pos += len;
        Ok(())
    }

    /// Write what is staged (padded to a whole block) and wait for every
    /// write, asking `stop` in between (an error from it abandons the
    /// writes left). The file may then be longer than the stream by the
    /// padding: the caller truncates it.
    pub(crate) fn finish(&mut self, stop: &dyn Fn() -> io::Result<()>) -> io::Result<()> {
        if self.extent_open() {
            let pad = ((BLOCK - self.pos % BLOCK) % BLOCK) as usize;
            let at = self.fill;
            if let Some((buf, extents)) = &mut self.stage {
                buf.bytes_mut()[at..at + pad].fill(0);
                if let Some(e) = extents.last_mut() {
                    e.len += pad;
                }
            }
            self.fill += pad;
        }
        self.submit()?;
        // No more buffers are needed.
        if let Some(t) = self.toucher.take() {
            t.stop();
        }
        let mut first_err = None;
        while self.in_flight > 0 {
            if let Err(e) = stop() {
                self.abandon.store(true, Ordering::Relaxed);
                return Err(e);
            }
            match self.freed.recv_timeout(Duration::from_millis(50)) {
                Ok(freed) => {
                    if let Err(e) = self.take(freed) {
                        first_err.get_or_insert(e);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    first_err.get_or_insert_with(stopped_writer);
                    break;
                }
            }
        }
        let stopped = self.stop();
        match first_err {
            Some(e) => Err(e),
            None => stopped,
        }
    }

    /// Stop the threads after the queued writes (skipped once `abandon` is
    /// set); the first write error not yet seen, if any.
    fn stop(&mut self) -> io::Result<()> {
        if let Some(t) = self.toucher.take() {
            t.stop();
        }
        drop(self.jobs.take());
        let mut first_err = None;
        if let Some(t) = self.writer.take() {
            if t.join().is_err() {
                first_err = Some(io::Error::other("the output writer thread panicked"));
            }
        }
        while let Ok(freed) = self.freed.try_recv() {
            if let Freed::Written(Err(e)) = freed {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

/// The writer thread: each job's extents in order, then the buffer back.
fn write_jobs(
    file: &File,
    jobs: &Receiver<Job>,
    freed: &Sender<Freed>,
    abandon: &AtomicBool,
    backlog: &Backlog,
) {
    while let Ok(job) = jobs.recv() {
        let result = job
            .extents
            .iter()
            .take_while(|_| !abandon.load(Ordering::Relaxed))
            .try_for_each(|e| {
                file.write_all_at(&job.buf.bytes()[e.start..e.start + e.len], e.offset)
            })
            .map(|()| job.buf);
        backlog.remove();
        if freed.send(Freed::Written(result)).is_err() {
            return;
        }
    }
}

impl Drop for DirectWriter {
    fn drop(&mut self) {
        // Not finished: an error or a stop unwinds the capture, and the
        // file is going away; the writes still queued are not worth waiting
        // for.
        self.abandon.store(true, Ordering::Relaxed);
        let _ = self.stop();
    }
}
