//! Pre-copy: read the target's private anonymous memory while it runs,
//! then, frozen, read again only the pages written since, so that the pause
//! is proportional to what the target wrote meanwhile rather than to its
//! size (live migration's approach, here with the kernel's asynchronous
//! userfaultfd write protection: proc-reader's [`WriteTracker`]).
//!
//! Order of work:
//! 1. before freezing: check the target can be tracked
//!    ([`WriteTracker::plan`]), has no pinned memory (`VmPin`: pages a
//!    device or io_uring writes without a fault), and how much memory the
//!    copy may hold (the write-behind's bound, [`crate::WRITE_BEHIND_MAX`]
//!    at most);
//! 2. a short freeze to make the tracker (two injected calls);
//! 3. running: each private anonymous mapping is registered and its present
//!    pages (not in huge pages) write-protected, then read; pages of zeros
//!    are not kept; each kept page's frame number is noted;
//! 4. frozen (the capture's own freeze): a kept page is *clean* when it was
//!    not written since it was protected and still has the same frame (a
//!    frame that changed means the page was replaced: unmapped and mapped
//!    again, moved by `mremap`, swapped out and in, migrated — the kept
//!    bytes are then not trusted). The rest of what the dump holds is read
//!    from the frozen target into memory, and the dump is written from the
//!    two after the thaw (`elf/capture.rs`; when the rest would not fit
//!    under the memory bound, the dump is written frozen, clean pages from
//!    the copy).
//!
//! Frame numbers need `CAP_SYS_ADMIN`; without them no page is clean and
//! the pre-copy is abandoned.

use std::io;
use std::ops::Range;
use std::time::{Duration, Instant};

use coroner_dump_source::is_zero;
use coroner_proc_reader::{Mapping, Process, TrackPlan, WriteTracker};

use crate::byte_runs::{read_overlaid, ByteRuns, Overlay};
use crate::write_behind::{Buffer, Pages};

use crate::CaptureError;

/// Bytes read from the running target at a time.
const CHUNK: usize = 4 << 20;
/// Size of each block of the copy.
const BLOCK: usize = 16 << 20;
const PAGE: u64 = 4096;

/// How a capture used the pre-copy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PreCopyReport {
    /// Whether pages read before the freeze went into the dump.
    pub used: bool,
    /// Why a pre-copy was asked for and not used.
    pub fallback: Option<String>,
    /// Bytes read from the running target and kept (pages of zeros are not).
    pub bytes_copied: u64,
    /// Of those, bytes unchanged at the freeze: not read again.
    pub bytes_clean: u64,
    /// How long the target was frozen to start tracking its writes.
    pub tracking_pause: Duration,
}

/// Why a pre-copy was given up after the target was stopped to start it,
/// and how long that stop was.
#[derive(Debug)]
pub(crate) struct Fallback {
    pub(crate) why: String,
    pub(crate) tracking_pause: Duration,
}

/// One run of kept pages: `start..end` in the target, its frame numbers
/// from `frame`, and its bytes at `offset` of block `block` — or, for a
/// run of pages of zeros, no bytes (`zero`).
#[derive(Debug, Clone)]
struct Run {
    start: u64,
    end: u64,
    zero: bool,
    block: usize,
    offset: usize,
    frame: usize,
}

/// Append the one-page run `page` to sorted `runs`, as part of the last
/// one when it continues it: next in the target and, for data, next in
/// the same block (frames are numbered in the order pages are kept, so
/// they continue with it).
fn push_page(runs: &mut Vec<Run>, page: Run) {
    if let Some(r) = runs.last_mut() {
        let next_byte = r.offset + (r.end - r.start) as usize;
        if r.end == page.start
            && r.zero == page.zero
            && (page.zero || (r.block == page.block && next_byte == page.offset))
        {
            r.end = page.end;
            return;
        }
    }
    runs.push(page);
}

/// The pages read before the freeze.
#[derive(Debug)]
pub(crate) struct PreCopy {
    tracker: WriteTracker,
    /// The write-protected ranges, in address order.
    spans: Vec<Range<u64>>,
    runs: Vec<Run>,
    blocks: Vec<Block>,
    frames: Vec<u64>,
    /// Blocks made by a thread of their own while the target is read.
    made: Option<std::sync::mpsc::Receiver<io::Result<Buffer>>>,
    pub(crate) report: PreCopyReport,
}

/// Make backed blocks for up to `bytes`, on a thread of their own, one
/// ahead of their use: making fresh memory costs about as much as reading
/// the target (see `write_behind.rs`), and the two overlap.
fn block_maker(bytes: u64) -> std::sync::mpsc::Receiver<io::Result<Buffer>> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let count = bytes.div_ceil(BLOCK as u64);
    std::thread::spawn(move || {
        for _ in 0..count {
            if tx.send(Buffer::backed(BLOCK, Pages::Small)).is_err() {
                break;
            }
        }
    });
    rx
}

/// Memory for kept pages: backed before use, so that its page faults are
/// taken while the target runs (see `write_behind.rs` on what first
/// touches cost on a VM).
struct Block {
    buf: Buffer,
    used: usize,
}

impl std::fmt::Debug for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Block").field("used", &self.used).finish()
    }
}

impl Block {
    fn bytes(&self) -> &[u8] {
        self.buf.bytes().get(..self.used).unwrap_or(&[])
    }
}

/// Whether `m` is private anonymous memory (no file, or the heap or a
/// stack) the process can read.
fn anonymous_private(m: &Mapping) -> bool {
    m.inode == 0
        && (m.path.is_empty() || m.path == b"[heap]" || m.path.starts_with(b"[stack"))
        && !m.perms.shared
        && m.perms.read
}

/// Whether `m` (with its smaps flags) is memory the pre-copy handles:
/// private anonymous, dumped by default, and not already watched by a
/// userfaultfd.
fn trackable(m: &Mapping) -> bool {
    anonymous_private(m)
        && !["dd", "io", "pf", "ht", "uw", "um", "ui"]
            .iter()
            .any(|f| m.vm_flags.contains(f))
}

/// Why frame numbers are needed and missing.
fn hidden_frames() -> String {
    "the page frame numbers the pre-copy checks are hidden (they need CAP_SYS_ADMIN)".to_owned()
}

/// Whether this process sees the target's page frame numbers: a present
/// page of its private anonymous memory shows one (without
/// `CAP_SYS_ADMIN` they read as 0). `true` when none of the first 64 MiB
/// of it is present. From `maps`, not `smaps`, which would walk every
/// page of the target once more.
fn frames_visible(process: &Process) -> Result<bool, CaptureError> {
    let memory = process.memory()?;
    let mut left: u64 = 64 << 20;
    for m in process.maps()?.iter().filter(|m| anonymous_private(m)) {
        let end = m.end.min(m.start.saturating_add(left));
        let (mut present, mut framed) = (false, false);
        memory.scan_pagemap(m.start, end, |_, e| {
            present |= e.present();
            framed |= e.pfn().is_some_and(|f| f != 0);
        })?;
        if present {
            return Ok(framed);
        }
        left -= end - m.start;
        if left == 0 {
            break;
        }
    }
    Ok(true)
}

/// `VmPin:` of the status, in bytes.
fn pinned_bytes(process: &Process) -> Option<u64> {
    let raw = process.status_raw().ok()?;
    let text = String::from_utf8_lossy(&raw);
    let line = text.lines().find(|l| l.starts_with("VmPin:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb << 10)
}

impl PreCopy {
    /// Step 1: `Ok(Err(why))` when no pre-copy can be made, or could not
    /// hold the target's memory under the output path's write-behind bound.
    pub(crate) fn plan(
        process: &Process,
        output: &crate::OutputChoice,
    ) -> Result<Result<TrackPlan, String>, CaptureError> {
        if output.estimate > output.write_behind {
            return Ok(Err(format!(
                "the process's memory ({} MiB resident) is more than the capture may hold ({} MiB: \
                 {})",
                output.estimate >> 20,
                output.write_behind >> 20,
                output.write_behind_reason
            )));
        }
        if !frames_visible(process)? {
            return Ok(Err(hidden_frames()));
        }
        if pinned_bytes(process).unwrap_or(1) > 0 {
            return Ok(Err(
                "the process has pinned memory (VmPin), which can change without a write fault"
                    .to_owned(),
            ));
        }
        Ok(WriteTracker::plan(process)?.map_err(|r| r.to_string()))
    }

    /// Steps 2 and 3, holding at most `budget` bytes. `Ok(Err)` when no
    /// pre-copy was made; the target is as it was.
    pub(crate) fn make(
        process: &Process,
        plan: &TrackPlan,
        budget: u64,
    ) -> Result<Result<PreCopy, Fallback>, CaptureError> {
        let started = Instant::now();
        let frozen = process.freeze()?;
        let tracked = frozen.track_writes(plan);
        let thawed = frozen.thaw();
        let tracking_pause = match thawed {
            Ok(t) => t.frozen_for,
            Err(_) => started.elapsed(),
        };
        let tracker = match tracked? {
            Ok(t) => t,
            Err(r) => {
                return Ok(Err(Fallback {
                    why: r.to_string(),
                    tracking_pause,
                }))
            }
        };
        let mut pre = PreCopy {
            tracker,
            spans: Vec::new(),
            runs: Vec::new(),
            blocks: Vec::new(),
            frames: Vec::new(),
            made: None,
            report: PreCopyReport {
                tracking_pause,
                ..PreCopyReport::default()
            },
        };
        let memory = process.memory()?;
        let mut protected = Vec::new();
        for m in process.mappings()?.iter().filter(|m| trackable(m)) {
            if pre.tracker.register(m.start..m.end).is_err() {
                continue;
            }
            // A mapping replaced since it was listed is not tracked (the
            // scan stops at it): its pages are simply not kept.
            let mut these = Vec::new();
            if pre.tracker.protect(m.start..m.end, &mut these).is_ok() {
                protected.extend(these);
            }
        }
        pre.spans = crate::ranges::merge(protected);
        let spanned: u64 = pre.spans.iter().map(|r| r.end - r.start).sum();
        pre.made = Some(block_maker(spanned.min(budget)));
        let mut chunk = vec![0u8; CHUNK];
        let mut any_frame = false;
        for span in pre.spans.clone() {
            let mut at = span.start;
            while at < span.end {
                let len = usize::try_from(span.end - at).unwrap_or(CHUNK).min(CHUNK);
                let buf = &mut chunk[..len];
                memory.read_with_holes(at, buf)?;
                let frames = pre.tracker.frames(at..at + len as u64)?;
                any_frame |= frames.iter().any(|&f| f != 0);
                pre.keep(at, buf, &frames, budget)
                    .map_err(CaptureError::from_memory)?;
                at += len as u64;
            }
        }
        // Hidden frame numbers read as 0, as absent pages do: nothing was
        // kept, and the capture is better off with its plain freeze.
        if !any_frame && !pre.spans.is_empty() {
            return Ok(Err(Fallback {
                why: hidden_frames(),
                tracking_pause,
            }));
        }
        drop(memory);
        // Blocks made and not needed go now.
        pre.made = None;
        Ok(Ok(pre))
    }

    /// Keep the pages of `buf` (read at `addr`) with their frames: the
    /// bytes of those that hold data, the place of those of zeros.
    /// Pages of data beyond `budget` bytes are not kept (they are read
    /// while frozen).
    fn keep(&mut self, addr: u64, buf: &[u8], frames: &[u64], budget: u64) -> io::Result<()> {
        for (i, (page, &frame)) in buf.chunks(PAGE as usize).zip(frames).enumerate() {
            if frame == 0 {
                continue;
            }
            let here = addr + i as u64 * PAGE;
            let zero = is_zero(page);
            if !zero && self.report.bytes_copied + PAGE > budget {
                continue;
            }
            let (block, offset) = if zero {
                (0, 0)
            } else {
                if self
                    .blocks
                    .last()
                    .map_or(true, |b| b.used + page.len() > BLOCK)
                {
                    let made = self.made.as_ref().and_then(|rx| rx.recv().ok());
                    let buf = match made {
                        Some(b) => b?,
                        None => Buffer::backed(BLOCK, Pages::Small)?,
                    };
                    self.blocks.push(Block { buf, used: 0 });
                }
                let block = self.blocks.len() - 1;
                let Some(b) = self.blocks.last_mut() else {
                    continue;
                };
                let offset = b.used;
                if let Some(dst) = b.buf.bytes_mut().get_mut(offset..offset + page.len()) {
                    dst.copy_from_slice(page);
                }
                b.used += page.len();
                self.report.bytes_copied += PAGE;
                (block, offset)
            };
            self.frames.push(frame);
            push_page(
                &mut self.runs,
                Run {
                    start: here,
                    end: here + PAGE,
                    zero,
                    block,
                    offset,
                    frame: self.frames.len() - 1,
                },
            );
        }
        Ok(())
    }

    /// Step 4, frozen: the kept pages still as they were, the report,
    /// and the tracker (dropping it ends the tracking and removes the
    /// protection). When the kernel cannot say which pages are clean, none
    /// is (everything is read frozen) and the report says why.
    pub(crate) fn clean(mut self) -> (CleanBytes, PreCopyReport, WriteTracker) {
        let runs = match self.find_clean() {
            Ok(runs) => {
                self.report.bytes_clean = runs
                    .iter()
                    .filter(|r| !r.zero)
                    .map(|r| r.end - r.start)
                    .sum();
                self.report.used = true;
                runs
            }
            Err(e) => {
                self.report.fallback = Some(format!("finding the pages written meanwhile: {e}"));
                self.blocks.clear();
                Vec::new()
            }
        };
        let clean = CleanBytes {
            runs,
            blocks: self.blocks,
        };
        (clean, self.report, self.tracker)
    }

    fn find_clean(&self) -> Result<Vec<Run>, coroner_proc_reader::Error> {
        let mut written = Vec::new();
        for span in &self.spans {
            self.tracker.written(span.clone(), &mut written)?;
        }
        let mut clean: Vec<Run> = Vec::new();
        let mut w = 0usize;
        // Frame numbers now, read a span's chunk at a time (one read for
        // many runs).
        let mut window: Range<u64> = 0..0;
        let mut now: Vec<u64> = Vec::new();
        for run in &self.runs {
            for i in 0..((run.end - run.start) / PAGE) as usize {
                let addr = run.start + i as u64 * PAGE;
                while written.get(w).is_some_and(|r| r.end <= addr) {
                    w += 1;
                }
                if written.get(w).is_some_and(|r| r.start <= addr) {
                    continue;
                }
                if !window.contains(&addr) {
                    let span_end = self
                        .spans
                        .iter()
                        .find(|s| s.contains(&addr))
                        .map_or(addr + PAGE, |s| s.end);
                    window = addr..span_end.min(addr + CHUNK as u64 * 2);
                    now = self.tracker.frames(window.clone())?;
                }
                let frame_now = now.get(((addr - window.start) / PAGE) as usize).copied();
                if frame_now.is_none() || self.frames.get(run.frame + i).copied() != frame_now {
                    continue;
                }
                push_page(
                    &mut clean,
                    Run {
                        start: addr,
                        end: addr + PAGE,
                        zero: run.zero,
                        block: run.block,
                        offset: run.offset + i * PAGE as usize,
                        frame: run.frame + i,
                    },
                );
            }
        }
        Ok(clean)
    }
}

/// The runs within `start..end`; with `zeros`, runs of zeros too.
fn ranges_of(runs: &[Run], start: u64, end: u64, zeros: bool) -> Vec<Range<u64>> {
    let first = runs.partition_point(|r| r.end <= start);
    runs.iter()
        .skip(first)
        .take_while(|r| r.start < end)
        .filter(|r| zeros || !r.zero)
        .map(|r| r.start.max(start)..r.end.min(end))
        .collect()
}

/// The clean pages' bytes, the tracking over.
#[derive(Debug)]
pub(crate) struct CleanBytes {
    runs: Vec<Run>,
    blocks: Vec<Block>,
}

impl CleanBytes {
    /// The clean ranges within `start..end`, in order, pages of zeros
    /// included.
    pub(crate) fn ranges(&self, start: u64, end: u64) -> Vec<Range<u64>> {
        ranges_of(&self.runs, start, end, true)
    }

    /// Bytes of memory the kept pages occupy.
    pub(crate) fn held_bytes(&self) -> u64 {
        (self.blocks.len() * BLOCK) as u64
    }

    /// The clean run holding `addr`, or where the next one starts.
    fn find(&self, addr: u64) -> Result<&Run, u64> {
        let i = self.runs.partition_point(|r| r.end <= addr);
        match self.runs.get(i) {
            Some(r) if r.start <= addr => Ok(r),
            Some(r) => Err(r.start),
            None => Err(u64::MAX),
        }
    }
}

/// Read `ranges` (sorted) from `memory`, frozen, for a dump written after
/// the thaw.
pub(crate) fn read_frozen(
    memory: &mut dyn coroner_core_format::write::MemorySource,
    ranges: &[Range<u64>],
) -> io::Result<ByteRuns> {
    let mut runs = ByteRuns::default();
    for r in ranges {
        let mut bytes = vec![0u8; usize::try_from(r.end - r.start).unwrap_or(0)];
        memory.read_at(r.start, &mut bytes)?;
        runs.push(r.start, bytes);
    }
    Ok(runs)
}

/// The dump's memory: clean pages from the pre-copy, the rest from `base`
/// (the frozen target, or what was read of it while frozen).
#[derive(Debug)]
pub(crate) struct PreCopiedMemory<'a, M> {
    pub(crate) clean: &'a CleanBytes,
    pub(crate) base: &'a mut M,
}

impl<M: coroner_core_format::write::MemorySource> coroner_core_format::write::MemorySource
    for PreCopiedMemory<'_, M>
{
    fn read_at(&mut self, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
        let (clean, base) = (self.clean, &mut self.base);
        read_overlaid(
            addr,
            buf,
            |here| match clean.find(here) {
                Ok(r) => Overlay::Covered(r.end),
                Err(next) => Overlay::Next(next),
            },
            |here, piece| {
                let r = clean
                    .find(here)
                    .map_err(|_| io::Error::other("no pre-copy run at this address"))?;
                if r.zero {
                    piece.fill(0);
                    return Ok(());
                }
                let from = r.offset + (here - r.start) as usize;
                let src = clean
                    .blocks
                    .get(r.block)
                    .and_then(|b| b.bytes().get(from..from + piece.len()))
                    .ok_or_else(|| io::Error::other("pre-copy run out of its block"))?;
                piece.copy_from_slice(src);
                Ok(())
            },
            |here, piece| base.read_at(here, piece).map(|_| ()),
        )?;
        Ok(buf.len())
    }

    fn present_ranges(
        &mut self,
        start: u64,
        end: u64,
        out: &mut Vec<Range<u64>>,
    ) -> io::Result<()> {
        // The base's present pages, minus the clean pages of zeros (holes
        // without a read), plus the clean pages of data.
        let mut base = Vec::new();
        self.base.present_ranges(start, end, &mut base)?;
        let mut all = crate::ranges::subtract(
            crate::ranges::merge(base),
            &ranges_of(&self.clean.runs, start, end, true),
        );
        all.extend(ranges_of(&self.clean.runs, start, end, false));
        for r in crate::ranges::merge(all) {
            crate::ranges::push_joined(out, r)
        }
        Ok(())
    }
}

/// Why process `pid` would not be pre-copied (see
/// [`CaptureOptions::with_pre_copy`](crate::CaptureOptions::with_pre_copy)),
/// `None` when it would be tried: for a caller that sizes its output before
/// the capture. The capture checks the same again.
pub fn pre_copy_refusal(pid: u32) -> Result<Option<String>, CaptureError> {
    let process = Process::open(pid)?;
    Ok(PreCopy::plan(&process, &crate::output_path::choose(pid))?.err())
}
