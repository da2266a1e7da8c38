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

use coroner_core_format::write::{MemorySource, WriteOptions};
use coroner_proc_reader::Process;

use super::{dumped_bytes, write_core};
use crate::cow_copy;
use crate::live::{self, LiveMemory};
use crate::progress::{self, Phase, Reporter};
use crate::sink::Sink;
use crate::snapshot::ThreadState;
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
        let progress = Reporter::start(
            options.on_progress.as_ref(),
            Phase::Copying,
            dumped_bytes(&snap),
        );
        let mut source = Progressing::new(&mut memory, progress);
        let stats = write_core(&snap, &mut source, &mut sink, write_options(options))?;
        source.finish();
        Ok::<_, CaptureError>((snap, stats))
    })();
    // Thaw first, whatever happened. A write error ends the capture; a thaw
    // error does not lose the (complete) dump but is reported loudly.
    let thawed = frozen.thaw();
    // A failure while the target was frozen is its exit's fault if it has
    // exited meanwhile (killed, or a thread called exit): say that, not the
    // failed read it caused.
    let (snap, stats) = written.map_err(|e| e.blame_exit(&process))?;
    let mut warnings = memory.take_warnings();
    let frozen_for = live::frozen_time(thawed, pid, freeze_started, &mut warnings);

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
    })
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
    let progress = Reporter::start(
        options.on_progress.as_ref(),
        Phase::CopyingFromSnapshot,
        dumped_bytes(&snap),
    );
    let mut source = Progressing::new(&mut memory, progress);
    let stats = write_core(&snap, &mut source, &mut sink, write_options(options))?;
    source.finish();
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
