//! A live minidump written from a copy-on-write copy of the target
//! (`--snapshot`, see [`crate::cow_copy`]): the target is frozen only for
//! its registers and the copy; the copy's `maps` and `smaps` (so
//! MADV_DONTDUMP is honoured at no frozen cost) and memory make the dump.

use std::time::Instant;

use coroner_minidump_format::write::Layout;
use coroner_proc_reader::{FreezeOptions, Process};

use super::build::minidump_model;
use super::live::Counting;
use super::MemoryMode;
use crate::cow_copy::{self, Prepared};
use crate::live;
use crate::progress::{self, Phase, Reporter};
use crate::sink::Sink;
use crate::{CaptureError, CaptureOptions, CaptureReport};

/// Capture `pid` as a minidump from a copy; `Ok(Err(report))` when no copy
/// was made and `--snapshot` falls back (the caller then captures with the
/// plain freeze and reports why with `report`).
pub(crate) fn capture(
    pid: u32,
    mut sink: Sink,
    options: &CaptureOptions,
    mode: MemoryMode,
) -> Result<Result<CaptureReport, (Sink, cow_copy::CowReport)>, CaptureError> {
    let started = Instant::now();
    let process = Process::open(pid)?;
    let facts = live::read_facts(&process, true)?;
    let mut cow = Prepared::new(&process, options.cow)?;
    if !cow.wanted() {
        return Ok(Err((sink, cow.report)));
    }
    let mut freeze = FreezeOptions::default();
    freeze.thread_files = false;
    let freeze_started = Instant::now();
    let frozen = process.freeze_with(freeze)?;
    let Some(copied) = cow.copy(&frozen)? else {
        drop(frozen);
        return Ok(Err((sink, cow.report)));
    };
    let threads = live::thread_states(&frozen);
    let thawed = frozen.thaw();
    let mut warnings = Vec::new();
    let frozen_for = live::frozen_time(thawed, pid, freeze_started, &mut warnings);

    let (snap, mut memory, fork) =
        cow_copy::snapshot(&facts, threads, copied, true, &options.selection)?;
    let model = minidump_model(&snap, &mut memory, mode)?;
    let layout = Layout::plan(&model)?;
    let total = model
        .memory_list
        .iter()
        .chain(&model.memory64_list)
        .map(|r| r.size)
        .sum();
    let mut source = Counting {
        inner: &mut memory,
        progress: Reporter::start(
            options.on_progress.as_ref(),
            Phase::CopyingFromSnapshot,
            total,
        ),
    };
    layout.write(&mut source, &mut sink)?;
    source.progress.flush();
    let read = source.progress.done();
    warnings.extend(memory.take_warnings());
    // Every byte is read: the kernel tears the copy down while the dump is
    // fsynced, instead of before or after it.
    fork.kill();
    progress::finishing(options.on_progress.as_ref(), total);
    let written = sink.finish()?;
    cow_copy::destroy(fork, &mut warnings);
    let without_stack = model.threads.iter().filter(|t| t.stack.is_none()).count();
    if without_stack > 0 {
        warnings.push(format!(
            "{without_stack} thread(s) have no stack in the dump (stack pointer outside any readable, included mapping)"
        ));
    }
    let mappings_dumped = snap
        .mappings
        .iter()
        .filter(|s| {
            model
                .memory_list
                .iter()
                .chain(&model.memory64_list)
                .any(|r| {
                    r.start < s.mapping.end && s.mapping.start < r.start.saturating_add(r.size)
                })
        })
        .count();
    Ok(Ok(CaptureReport {
        pid,
        path: written.path,
        threads: model.threads.len(),
        mappings: snap.mappings.len(),
        mappings_dumped,
        bytes_written: written.bytes_written,
        bytes_allocated: written.bytes_allocated,
        memory_bytes_read: read,
        wall: started.elapsed(),
        frozen: frozen_for,
        warnings,
        copy: cow.report,
        pre_copy: crate::PreCopyReport::default(),
    }))
}
