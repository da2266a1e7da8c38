//! Live capture as an ELF core file.
//!
//! Order of work, to keep the target stopped as briefly as possible:
//! 1. before freezing: process facts (stat, status, cmdline, auxv, filter);
//! 2. freeze (proc-reader: `PTRACE_SEIZE` + `PTRACE_INTERRUPT`, registers);
//! 3. frozen: mappings + smaps, selection, core model, then core-format's
//!    writer streams headers, notes and memory into the sink;
//! 4. thaw; then fsync + rename of the output (not counted as frozen).

use std::io;
use std::ops::Range;
use std::time::{Duration, Instant};

use coroner_core_format::write::{MemorySource, WriteOptions, WriteStats};
use coroner_proc_reader::Process;

use super::{dumped_bytes, write_core};
use crate::byte_runs::ByteRuns;
use crate::cow_copy;
use crate::live::{self, LiveMemory};
use crate::pre_copy::{CleanBytes, Fallback, PreCopiedMemory, PreCopy, PreCopyReport};
use crate::progress::{self, Phase, Reporter};
use crate::sink::Sink;
use crate::snapshot::{Snapshot, ThreadState};
use crate::{CaptureError, CaptureOptions, CaptureReport};

/// A memory source that reports progress: each hint window counts as done
/// when the next one starts (a window is 64 MiB, so the reports stay few).
struct Progressing<'a, 'p, M> {
    inner: &'a mut M,
    pending: u64,
    progress: Reporter<'p>,
}

impl<'p, M> Progressing<'_, 'p, M> {
    fn new<'a>(inner: &'a mut M, progress: Reporter<'p>) -> Progressing<'a, 'p, M> {
        Progressing {
            inner,
            pending: 0,
            progress,
        }
    }

    /// Count the last window and report: the copy is over.
    fn finish(mut self) {
        self.progress.advance(std::mem::take(&mut self.pending));
        self.progress.flush();
    }
}

impl<M: MemorySource> MemorySource for Progressing<'_, '_, M> {
    fn read_at(&mut self, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read_at(addr, buf)
    }

    fn present_ranges(
        &mut self,
        start: u64,
        end: u64,
        out: &mut Vec<Range<u64>>,
    ) -> io::Result<()> {
        self.progress.advance(std::mem::replace(
            &mut self.pending,
            end.saturating_sub(start),
        ));
        self.inner.present_ranges(start, end, out)
    }
}

/// The core writer's options for a capture: `options`' buffer, and memory
/// asked about in 64 MiB windows (each one a progress step).
fn write_options(options: &CaptureOptions) -> WriteOptions {
    WriteOptions::default()
        .with_buffer_size(options.buffer_size)
        .with_hint_window(64 << 20)
}

/// Write `snap`'s core from `memory` into `sink`, reporting the copy as
/// `phase`.
fn write_reported<M: MemorySource>(
    snap: &Snapshot,
    memory: &mut M,
    sink: &mut Sink,
    options: &CaptureOptions,
    phase: Phase,
) -> Result<WriteStats, CaptureError> {
    let progress = Reporter::start(options.on_progress.as_ref(), phase, dumped_bytes(snap));
    let mut source = Progressing::new(memory, progress);
    let stats = write_core(snap, &mut source, sink, write_options(options))?;
    source.finish();
    Ok(stats)
}

/// Capture process `pid` as an ELF core into `sink`, equivalent to the core
/// the kernel would write if it crashed now (its `coredump_filter` rules,
/// `MADV_DONTDUMP` honoured; [`Selection`](crate::Selection) changes which
/// memory), and finish the sink (fsync + rename for a file).
/// [`CaptureOptions::with_progress`] follows the copy of the memory.
pub fn capture_elf(
    pid: u32,
    mut sink: Sink,
    options: &CaptureOptions,
) -> Result<CaptureReport, CaptureError> {
    let started = Instant::now();
    let process = Process::open(pid)?;
    let facts = live::read_facts(&process, false)?;
    let mut cow = cow_copy::Prepared::new(&process, options.cow)?;
    let mut memory = LiveMemory::open(&process)?;
    let mut pre_report = PreCopyReport::default();
    let mut pre = None;
    if options.pre_copy && !cow.wanted() {
        // The pre-copy holds the memory a write-behind ring would use: the
        // ring grows again only if the dump is written frozen after all.
        sink.limit_write_behind(0);
        match start_pre_copy(&process)? {
            Ok(p) => pre = Some(p),
            Err(f) => {
                sink.limit_write_behind(u64::MAX);
                pre_report.fallback = Some(f.why);
                pre_report.tracking_pause = f.tracking_pause;
            }
        }
    }

    let freeze_started = Instant::now();
    let frozen = process.freeze()?;
    if cow.wanted() {
        if let Some(copied) = cow.copy(&frozen)? {
            let threads = live::thread_states(&frozen);
            let thawed = frozen.thaw();
            let mut warnings = Vec::new();
            let frozen_for = live::frozen_time(thawed, pid, freeze_started, &mut warnings);
            return from_copy(FromCopy {
                facts,
                threads,
                copied,
                sink,
                options,
                started,
                frozen_for,
                warnings,
                report: cow.report,
            });
        }
    }
    let written = (|| {
        let mappings = frozen.process().mappings()?;
        memory.set_mappings(&mappings);
        let snap = live::snapshot(
            &facts,
            &frozen,
            mappings,
            None,
            &mut memory,
            &options.selection,
        )?;
        if let Some((pre, bound)) = pre.take() {
            return frozen_with_pre_copy(pre, bound, snap, &mut memory, &mut sink, options);
        }
        let stats = write_reported(&snap, &mut memory, &mut sink, options, Phase::Copying)?;
        Ok::<_, CaptureError>(Written::Done(snap, stats))
    })();
    // Thaw first, whatever happened. A write error ends the capture; a thaw
    // error does not lose the (complete) dump but is reported loudly.
    let thawed = frozen.thaw();
    // A failure while the target was frozen is its exit's fault if it has
    // exited meanwhile (killed, or a thread called exit): say that, not the
    // failed read it caused.
    let written = written.map_err(|e| e.blame_exit(&process))?;
    let mut warnings = memory.take_warnings();
    let frozen_for = live::frozen_time(thawed, pid, freeze_started, &mut warnings);
    let (snap, stats) = match written {
        Written::Done(snap, stats) => (snap, stats),
        Written::PreCopied(snap, stats, report, warning) => {
            pre_report = report;
            warnings.push(warning);
            (snap, stats)
        }
        Written::Deferred {
            snap,
            clean,
            mut read_frozen,
            tracker,
            report,
        } => {
            pre_report = report;
            // The target runs again: end the tracking (its protection is
            // removed) and write the dump from what was read.
            sink.limit_write_behind(0);
            drop(tracker);
            let mut memory = PreCopiedMemory {
                clean: &clean,
                base: &mut read_frozen,
            };
            let stats = write_reported(&snap, &mut memory, &mut sink, options, Phase::Copying)?;
            (snap, stats)
        }
    };

    progress::finishing(options.on_progress.as_ref(), dumped_bytes(&snap));
    let report = sink.finish()?;
    if snap.threads.iter().any(|t| t.fp_regs.is_none()) {
        warnings.push("floating-point registers of some threads could not be read".to_owned());
    }
    Ok(CaptureReport {
        pid,
        path: report.path,
        threads: snap.threads.len(),
        mappings: snap.mappings.len(),
        mappings_dumped: snap.mappings.iter().filter(|m| m.dump_len > 0).count(),
        bytes_written: report.bytes_written,
        bytes_allocated: report.bytes_allocated,
        memory_bytes_read: stats.memory_read_bytes,
        wall: started.elapsed(),
        frozen: frozen_for,
        warnings: cow_copy::with_fallback(warnings, &cow.report),
        copy: cow.report,
        pre_copy: pre_report,
    })
}

/// Memory a pre-copy leaves to the rest of the capture beyond the
/// write-behind's bound: the output's buffers and the frame numbers.
const PRE_COPY_MARGIN: u64 = 16 << 20;

/// How far beyond the write-behind's bound the memory read frozen after a
/// pre-copy may take the capture, as a fraction of the bound: what the
/// target wrote during the pre-copy, and what it mapped since. The bound
/// is at most 1/8 of the available memory and 1/4 of the room under the
/// cgroup limits, so a quarter more stays well within both. A heavier
/// writer gets the dump written frozen, at the disk's speed (and a
/// warning), rather than more of coroner's memory.
const PRE_COPY_OVERSHOOT: u64 = 4;

/// What the frozen part of a capture produced.
enum Written {
    /// The dump, written while frozen.
    Done(Snapshot, WriteStats),
    /// The dump, written while frozen with clean pages from the pre-copy,
    /// and the warning that says why.
    PreCopied(Snapshot, WriteStats, PreCopyReport, String),
    /// Everything to write the dump after the thaw.
    Deferred {
        snap: Snapshot,
        clean: CleanBytes,
        read_frozen: ByteRuns,
        tracker: coroner_proc_reader::WriteTracker,
        report: PreCopyReport,
    },
}

/// Steps 1–3 of `pre_copy.rs`, before the capture's freeze: `Ok(Err(why))`
/// when the capture goes on without.
/// The memory it may hold is the write-behind's bound (see
/// `output_path.rs`); with what is read frozen the capture's memory stays
/// within a quarter of it more ([`PRE_COPY_OVERSHOOT`]) and
/// [`PRE_COPY_MARGIN`].
fn start_pre_copy(
    process: &coroner_proc_reader::Process,
) -> Result<Result<(PreCopy, u64), Fallback>, CaptureError> {
    let output = crate::output_path::choose(process.pid());
    let plan = match PreCopy::plan(process, &output)? {
        Ok(plan) => plan,
        Err(why) => {
            return Ok(Err(Fallback {
                why,
                tracking_pause: Duration::ZERO,
            }))
        }
    };
    let bound = output.write_behind;
    match PreCopy::make(process, &plan, bound) {
        Ok(made) => Ok(made.map(|p| (p, bound))),
        // The process exiting ends the capture; anything else (memory for
        // the copy, a read) only the pre-copy, whose tracking ended with it.
        Err(e) => match e.blame_exit(process) {
            e @ CaptureError::ExitedDuringCapture { .. } => Err(e),
            e => Ok(Err(Fallback {
                why: format!("the pre-copy failed: {e}"),
                tracking_pause: Duration::ZERO,
            })),
        },
    }
}

/// Frozen, with a pre-copy: find the clean pages, then either read the
/// rest of the dump into memory (written after the thaw) or, when that
/// would take the capture's memory too far over `bound`, write the dump
/// now, without write-behind, and say so in `warnings`.
fn frozen_with_pre_copy(
    pre: PreCopy,
    bound: u64,
    snap: Snapshot,
    memory: &mut LiveMemory,
    sink: &mut Sink,
    options: &CaptureOptions,
) -> Result<Written, CaptureError> {
    let (clean, report, tracker) = pre.clean();
    // What the dump holds that the clean pages do not: only there is
    // pagemap asked which pages are present.
    let dumped: Vec<Range<u64>> = snap
        .mappings
        .iter()
        .filter(|m| m.dump_len > 0)
        .map(|m| m.mapping.start..m.mapping.start.saturating_add(m.dump_len))
        .collect();
    let mut needed = Vec::new();
    for gap in crate::ranges::subtract(crate::ranges::merge(dumped), &clean.ranges(0, u64::MAX)) {
        memory
            .present_ranges(gap.start, gap.end, &mut needed)
            .map_err(CaptureError::from_memory)?;
    }
    let needed = crate::ranges::merge(needed);
    let bytes: u64 = needed.iter().map(|r| r.end - r.start).sum();

    let held = clean.held_bytes();
    let room = bound
        .saturating_add(bound / PRE_COPY_OVERSHOOT)
        .saturating_add(PRE_COPY_MARGIN)
        .saturating_sub(held);
    if bytes <= room {
        let read_frozen =
            crate::pre_copy::read_frozen(memory, &needed).map_err(CaptureError::from_memory)?;
        return Ok(Written::Deferred {
            snap,
            clean,
            read_frozen,
            tracker,
            report,
        });
    }
    sink.limit_write_behind(room);
    let mut memory = PreCopiedMemory {
        clean: &clean,
        base: memory,
    };
    let stats = write_reported(&snap, &mut memory, sink, options, Phase::Copying)?;
    drop(tracker);
    let warning = format!(
        "{} MiB of the dump had changed or was new since the pre-copy (the process wrote or \
         mapped that much meanwhile), more than the capture may hold in memory besides the \
         pre-copy's {} MiB: the dump was written while the process was stopped, at the disk's \
         speed; --no-pre-copy avoids that for such a process",
        bytes >> 20,
        held >> 20
    );
    Ok(Written::PreCopied(snap, stats, report, warning))
}

/// What the capture from a copy needs.
struct FromCopy<'a> {
    facts: live::Facts,
    threads: Vec<ThreadState>,
    copied: cow_copy::Copied,
    sink: Sink,
    options: &'a CaptureOptions,
    started: Instant,
    frozen_for: Duration,
    warnings: Vec<String>,
    report: cow_copy::CowReport,
}

/// Write the core from the copy, the target already running again.
fn from_copy(c: FromCopy<'_>) -> Result<CaptureReport, CaptureError> {
    let FromCopy {
        facts,
        threads,
        copied,
        mut sink,
        options,
        started,
        frozen_for,
        mut warnings,
        report,
    } = c;
    let (snap, mut memory, fork) =
        cow_copy::snapshot(&facts, threads, copied, false, &options.selection)?;
    let stats = write_reported(
        &snap,
        &mut memory,
        &mut sink,
        options,
        Phase::CopyingFromSnapshot,
    )?;
    warnings.extend(memory.take_warnings());
    // Every byte is read: the kernel tears the copy down while the dump is
    // fsynced, instead of before or after it.
    fork.kill();
    progress::finishing(options.on_progress.as_ref(), dumped_bytes(&snap));
    let out = sink.finish()?;
    cow_copy::destroy(fork, &mut warnings);
    if snap.threads.iter().any(|t| t.fp_regs.is_none()) {
        warnings.push("floating-point registers of some threads could not be read".to_owned());
    }
    Ok(CaptureReport {
        pid: snap.process.pid,
        path: out.path,
        threads: snap.threads.len(),
        mappings: snap.mappings.len(),
        mappings_dumped: snap.mappings.iter().filter(|m| m.dump_len > 0).count(),
        bytes_written: out.bytes_written,
        bytes_allocated: out.bytes_allocated,
        memory_bytes_read: stats.memory_read_bytes,
        wall: started.elapsed(),
        frozen: frozen_for,
        warnings,
        copy: report,
        pre_copy: PreCopyReport::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use coroner_core_format::write::BytesAt;

    #[test]
    fn progress_counts_each_window_when_the_next_one_starts() {
        use crate::progress::{Progress, ProgressFn};
        use std::sync::{Arc, Mutex};
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let f: ProgressFn = Arc::new(move |p: Progress| log.lock().unwrap().push(p.done));
        let mut mem = BytesAt {
            base: 0x1000,
            bytes: vec![7u8; 0x5000],
        };
        let mib = 1u64 << 20;
        let mut p = Progressing::new(
            &mut mem,
            Reporter::start(Some(&f), Phase::Copying, 1024 * mib),
        );
        let mut out = Vec::new();
        p.present_ranges(0, 512 * mib, &mut out).unwrap();
        p.present_ranges(512 * mib, 1024 * mib, &mut out).unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(p.read_at(0x1000, &mut buf).unwrap(), 16);
        p.finish();
        assert_eq!(*seen.lock().unwrap(), [0, 512 * mib, 1024 * mib]);
    }
}
