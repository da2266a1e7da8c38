//! Direct I/O for the output file: block-aligned staging buffers written
//! with `O_DIRECT` by a helper thread while the capture goes on.
//!
//! Why: written through the page cache, a multi-gigabyte dump makes the
//! kernel allocate (and on many VMs, fault in) as much fresh memory, which
//! was the slowest and least predictable part of a capture, and leaves it
//! all to fsync afterwards. With `O_DIRECT` the bytes go from a small
//! reused buffer to the disk, the disk works while the next chunk of the
//! target is read, and the final fsync has only metadata left.
//!
//! Offsets and lengths of `O_DIRECT` writes must be block-aligned: data is
//! staged from a block boundary; a hole that starts inside a block fills the
//! rest of that block with zeros; the last block is padded and the file is
//! truncated to its real length by the caller.

use std::fs::File;
use std::io;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use crate::os::FileExt;

/// Alignment of every direct write (offset and length).
const BLOCK: u64 = 4096;
/// Size of one staging buffer.
const STAGE: usize = 1 << 20;
/// Staging buffers in rotation: one filling, one being written.
const BUFFERS: usize = 2;

/// A `STAGE`-byte, `BLOCK`-aligned buffer carved out of a slightly larger
/// vector (the vector's heap pointer does not move when it is sent).
struct AlignedBuf {
    v: Vec<u8>,
    start: usize,
}

impl AlignedBuf {
    fn new() -> AlignedBuf {
        let v = vec![0u8; STAGE + BLOCK as usize];
        let misalign = v.as_ptr() as usize % BLOCK as usize;
        let start = (BLOCK as usize - misalign) % BLOCK as usize;
        AlignedBuf { v, start }
    }

    fn bytes(&self) -> &[u8] {
        &self.v[self.start..self.start + STAGE]
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.v[self.start..self.start + STAGE]
    }
}

struct Job {
    offset: u64,
    buf: AlignedBuf,
    len: usize,
}

/// Writes a file through `O_DIRECT`; see the module docs.
pub(crate) struct DirectWriter {
    /// The buffer being filled, if a stage is open.
    stage: Option<AlignedBuf>,
    /// File offset of the stage's first byte (block-aligned).
    stage_off: u64,
    /// Bytes in the stage; `stage_off + stage_len == pos` while it is open.
    stage_len: usize,
    /// Logical position (next byte of the stream).
    pos: u64,
    allocated: usize,
    jobs: Option<SyncSender<Job>>,
    done: Receiver<io::Result<AlignedBuf>>,
    thread: Option<JoinHandle<()>>,
}

fn align_down(v: u64) -> u64 {
    v / BLOCK * BLOCK
}

impl DirectWriter {
    /// Start writing `file` (opened with `O_DIRECT`) from offset 0.
    pub(crate) fn new(file: File) -> io::Result<DirectWriter> {
        let (jobs, rx) = sync_channel::<Job>(BUFFERS);
        let (tx, done) = sync_channel::<io::Result<AlignedBuf>>(BUFFERS);
        let thread = std::thread::Builder::new()
            .name("coroner-write".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    let result = file
                        .write_all_at(&job.buf.bytes()[..job.len], job.offset)
                        .map(|()| job.buf);
                    if tx.send(result).is_err() {
                        return;
                    }
                }
            })?;
        Ok(DirectWriter {
            stage: None,
            stage_off: 0,
            stage_len: 0,
            pos: 0,
            allocated: 0,
            jobs: Some(jobs),
            done,
            thread: Some(thread),
        })
    }

    /// A free buffer: a new one while fewer than `BUFFERS` exist, else the
    /// next one the writer thread hands back (surfacing its error, if any).
    fn acquire(&mut self) -> io::Result<AlignedBuf> {
        if self.allocated < BUFFERS {
            self.allocated += 1;
            return Ok(AlignedBuf::new());
        }
        match self.done.recv() {
            Ok(r) => r,
            Err(_) => Err(io::Error::other("the output writer thread stopped")),
        }
    }

    fn open_stage(&mut self) -> io::Result<()> {
        let mut buf = self.acquire()?;
        self.stage_off = align_down(self.pos);
        self.stage_len = (self.pos - self.stage_off) as usize;
        // Bytes of this block before `pos` belong to a hole: zeros.
        buf.bytes_mut()[..self.stage_len].fill(0);
        self.stage = Some(buf);
        Ok(())
    }

    /// Send the open stage (its length is a whole number of blocks).
    fn submit(&mut self) -> io::Result<()> {
        let Some(buf) = self.stage.take() else {
            return Ok(());
        };
        debug_assert_eq!(self.stage_len as u64 % BLOCK, 0);
        let job = Job {
            offset: self.stage_off,
            buf,
            len: self.stage_len,
        };
        self.stage_len = 0;
        match &self.jobs {
            Some(tx) => tx
                .send(job)
                .map_err(|_| io::Error::other("the output writer thread stopped")),
            None => Err(io::Error::other("output already finished")),
        }
    }

    /// Append `data`.
    pub(crate) fn write(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            if self.stage.is_none() {
                self.open_stage()?;
            }
            let n = (STAGE - self.stage_len).min(data.len());
            if let Some(buf) = &mut self.stage {
                buf.bytes_mut()[self.stage_len..self.stage_len + n].copy_from_slice(&data[..n]);
            }
            self.stage_len += n;
            self.pos += n as u64;
            data = &data[n..];
            if self.stage_len == STAGE {
                self.submit()?;
            }
        }
        Ok(())
    }

    /// Skip `len` zero bytes.
    pub(crate) fn hole(&mut self, mut len: u64) -> io::Result<()> {
        if self.stage.is_some() {
            // Zeros up to the end of the current block, then the stage can go.
            let to_block_end = (BLOCK - self.pos % BLOCK) % BLOCK;
            let fill = to_block_end.min(len) as usize;
            if let Some(buf) = &mut self.stage {
                buf.bytes_mut()[self.stage_len..self.stage_len + fill].fill(0);
            }
            self.stage_len += fill;
            self.pos += fill as u64;
            len -= fill as u64;
            if len > 0 || self.stage_len == STAGE {
                self.submit()?;
            }
        }
        self.pos += len;
        Ok(())
    }

    /// Write what is staged (padded to a whole block) and wait for every
    /// write. The file may then be longer than the stream by the padding:
    /// the caller truncates it.
    pub(crate) fn finish(&mut self) -> io::Result<()> {
        if self.stage.is_some() {
            let padded = (self.stage_len as u64).div_ceil(BLOCK) * BLOCK;
            let padded = padded as usize;
            if let Some(buf) = &mut self.stage {
                buf.bytes_mut()[self.stage_len..padded].fill(0);
            }
            self.stage_len = padded;
            self.submit()?;
        }
        self.stop()
    }

    /// Stop the thread after the queued writes; the first write error, if any.
    fn stop(&mut self) -> io::Result<()> {
        drop(self.jobs.take());
        let mut first_err = None;
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                first_err = Some(io::Error::other("the output writer thread panicked"));
            }
        }
        while let Ok(r) = self.done.try_recv() {
            if let Err(e) = r {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

impl Drop for DirectWriter {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
