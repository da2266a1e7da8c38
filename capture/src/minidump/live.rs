//! Live capture as a minidump: the same facts / freeze / snapshot / thaw
//! sequence as the ELF capture, with the model built from the snapshot by
//! [`super::build::minidump_model`].

use std::io;
use std::sync::mpsc;
use std::time::Instant;

use coroner_minidump_format::model::MinidumpModel;
use coroner_minidump_format::write::{Layout, MemorySource};
use coroner_proc_reader::parse::maps::{join_maps_smaps, parse_maps, Mapping};
use coroner_proc_reader::{FreezeOptions, Frozen, Process};

use super::build::minidump_model;
use super::recorded::Recorded;
use super::MemoryMode;
use crate::live::{self, LiveMemory};
use crate::progress::{self, Phase, ProgressFn, Reporter};
use crate::sink::Sink;
use crate::snapshot::{SelectedMapping, Snapshot};
use crate::{CaptureError, CaptureOptions, CaptureReport};

/// Counts bytes pulled by the writer and reports progress (at the
/// [`Reporter`]'s bounded rate, not per read).
pub(crate) struct Counting<'a, 'p, M: ?Sized> {
    pub(crate) inner: &'a mut M,
    pub(crate) progress: Reporter<'p>,
}

impl<M: MemorySource + ?Sized> MemorySource for Counting<'_, '_, M> {
    fn read_at(&mut self, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read_at(addr, buf)?;
        self.progress.advance(buf.len() as u64);
        Ok(n)
    }

    /// The inner source's hint, so that absent pages are not read (they
    /// count as done at once).
    fn present_ranges(
        &mut self,
        start: u64,
        end: u64,
        out: &mut Vec<std::ops::Range<u64>>,
    ) -> io::Result<()> {
        let before = out.len();
        self.inner.present_ranges(start, end, out)?;
        let present: u64 = out
            .get(before..)
            .unwrap_or_default()
            .iter()
            .map(|r| r.end.min(end).saturating_sub(r.start.max(start)))
            .sum();
        self.progress
            .advance(end.saturating_sub(start).saturating_sub(present));
        Ok(())
    }
}

/// `/proc/<pid>/maps`, raw and parsed (read while frozen), and given to
/// `memory` so that it knows which absent pages hold data.
fn read_maps(
    process: &Process,
    memory: &mut LiveMemory,
) -> Result<(Vec<u8>, Vec<Mapping>), CaptureError> {
    let maps = process.maps_raw()?;
    let listed = parse_maps(&maps).map_err(|source| coroner_proc_reader::Error::Parse {
        pid: process.pid(),
        path: format!("/proc/{}/maps", process.pid()).into(),
        source,
    })?;
    memory.set_mappings(&listed);
    Ok((maps, listed))
}

/// Whether the stacks-only `model` planned from `early` (mappings from
/// `maps` alone) is the one `real` (joined to `smaps`) gives. Every
/// mapping fact but `dump_len` (which only `heap` and `full` use) must be
/// the same, except that smaps may mark mappings MADV_DONTDUMP (`excluded`)
/// that the model does not use: anonymous ones (a module's header and
/// build-id are read from file mappings) that hold none of its memory
/// ranges. A stack or pc window in such a mapping is a memory range, so it
/// sends the plan back to be made again, as does any other difference.
fn plan_still_holds(
    early: &[SelectedMapping],
    real: &[SelectedMapping],
    model: &MinidumpModel,
) -> bool {
    let ranges: Vec<(u64, u64)> = model
        .memory_list
        .iter()
        .chain(&model.memory64_list)
        .chain(model.threads.iter().filter_map(|t| t.stack.as_ref()))
        .map(|r| (r.start, r.start.saturating_add(r.size)))
        .collect();
    early.len() == real.len()
        && early.iter().zip(real).all(|(a, b)| {
            let (am, bm) = (&a.mapping, &b.mapping);
            let same = (am.start, am.end, am.perms) == (bm.start, bm.end, bm.perms)
                && (am.offset, am.inode, &am.path, &a.file)
                    == (bm.offset, bm.inode, &bm.path, &b.file);
            let unused = || {
                !am.is_file_backed()
                    && a.file.is_none()
                    && !ranges.iter().any(|&(s, e)| s < am.end && am.start < e)
            };
            same && (a.excluded == b.excluded || (!a.excluded && b.excluded && unused()))
        })
}

/// Bytes of memory `model` holds.
fn memory_total(model: &MinidumpModel) -> u64 {
    model
        .memory_list
        .iter()
        .chain(&model.memory64_list)
        .map(|r| r.size)
        .sum()
}

/// The whole minidump of `model` serialised in memory, with its memory read
/// from the (frozen) target: the bytes (and holes) and how many bytes of
/// memory were read. Used while `smaps` is still being read, so that only one `write`
/// is left once it confirms the plan; the bytes go nowhere else unless it
/// does (they may hold MADV_DONTDUMP memory otherwise, and are dropped).
fn serialize(
    model: &MinidumpModel,
    memory: &mut LiveMemory,
    progress: Option<&ProgressFn>,
) -> Result<(Recorded, u64), CaptureError> {
    let layout = Layout::plan(model)?;
    let mut source = Counting {
        inner: memory,
        progress: Reporter::start(progress, Phase::Copying, memory_total(model)),
    };
    let mut bytes = Recorded::with_capacity(usize::try_from(layout.file_size()).unwrap_or(0));
    layout.write(&mut source, &mut bytes)?;
    source.progress.flush();
    Ok((bytes, source.progress.done()))
}

/// What the reader thread of a minidump capture brings back: the facts,
/// and (once the target is frozen) the mappings joined to `smaps`.
struct FromReader {
    facts: Result<live::Facts, CaptureError>,
    /// `None` when the freeze failed (the capture ends with its error).
    smaps: Option<Result<Vec<Mapping>, CaptureError>>,
}

/// The frozen target's snapshot with `mappings` (from `maps`, joined to
/// `smaps` when read), and its stacks-only or full minidump model.
fn plan(
    facts: &live::Facts,
    frozen: &Frozen<'_>,
    (maps, mappings): (&[u8], Vec<Mapping>),
    memory: &mut LiveMemory,
    options: &CaptureOptions,
    mode: MemoryMode,
) -> Result<(Snapshot, MinidumpModel), CaptureError> {
    let snap = live::snapshot(
        facts,
        frozen,
        mappings,
        Some(maps.to_vec()),
        memory,
        &options.selection,
    )?;
    let model = minidump_model(&snap, memory, mode)?;
    Ok((snap, model))
}

/// Capture process `pid` as a minidump into `sink` and finish the sink
/// (fsync + rename for a file). `options.selection` applies to the memory
/// of `heap` and `full`, and exclusions to everything;
/// [`CaptureOptions::with_progress`] follows the copy of the memory.
///
/// The work is that of the ELF capture ([`crate::capture_elf`]): facts,
/// freeze, one snapshot of the process, the model built from it, write, thaw. What
/// differs is only how the pause is kept short (see the comments inside).
pub fn capture_minidump(
    pid: u32,
    sink: Sink,
    options: &CaptureOptions,
    mode: MemoryMode,
) -> Result<CaptureReport, CaptureError> {
    // --snapshot: from a copy-on-write copy, unless none can be made.
    let (mut sink, cow_report) = if options.cow == crate::cow_copy::CowMode::Off {
        (sink, crate::cow_copy::CowReport::default())
    } else {
        match super::from_copy::capture(pid, sink, options, mode)? {
            Ok(report) => return Ok(report),
            Err(fell_back) => fell_back,
        }
    };
    let started = Instant::now();
    let process = Process::open(pid)?;
    // Per-thread stat/status files are not needed for a minidump (they
    // cost two opens per thread while the target is stopped).
    let mut freeze = FreezeOptions::default();
    freeze.thread_files = false;
    // Two threads share the work. This one freezes the target (ptrace ties
    // the tracees to the thread that seized them), then takes a snapshot
    // from `maps` alone and, for a stacks-only dump, plans it and
    // serialises it in memory. The other reads the facts during the freeze
    // and then `smaps`, the slowest file by far (the kernel walks every
    // resident page) and the only one with the MADV_DONTDUMP flag. It
    // waits for the freeze first: read earlier, a mapping the target
    // madvised meanwhile could show without that flag. The snapshot with
    // smaps decides: the early plan is kept only if it changes nothing in
    // it (no DONTDUMP mapping holds a stack, a pc or a module header), and
    // made again from the real snapshot otherwise; nothing reaches the sink
    // before that check, and the serialised bytes are dropped unwritten if
    // it fails.
    //
    // With `--all`, a stacks-only dump needs nothing from smaps: DONTDUMP is
    // not honoured, and the other flags and page counts decide only what
    // `heap` and `full` add. The page walk is then skipped.
    let need_smaps = !(options.selection.all && mode == MemoryMode::Stacks);
    // Opened before the reader thread exists: a process whose memory cannot
    // be opened (a kernel thread, a zombie, another user's process) fails
    // here, as the ELF capture does, with nothing to wait for or undo.
    let mut memory = LiveMemory::open(&process)?;
    let freeze_started = Instant::now();
    let (facts_tx, facts_rx) = mpsc::channel();
    let (frozen_tx, frozen_rx) = mpsc::channel::<bool>();
    let (smaps, facts, frozen, early) = std::thread::scope(|scope| {
        let process = &process;
        let reader = scope.spawn(move || {
            // The receiver is gone only if the main thread failed first.
            let _ = facts_tx.send(live::read_facts(process, true));
            match frozen_rx.recv() {
                Ok(true) if need_smaps => Some(process.mappings().map_err(CaptureError::from)),
                Ok(true) => Some(Ok(Vec::new())),
                // The freeze failed: the capture ends with its error.
                Ok(false) | Err(_) => None,
            }
        });
        // Every path from here reaches this send (the reader waits for it
        // before `smaps`), so the scope's join cannot wait forever.
        let frozen = process.freeze_with(freeze);
        let _ = frozen_tx.send(frozen.is_ok());
        drop(frozen_tx);
        let facts = facts_rx.recv().ok();
        let mut early = None;
        if let (Ok(frozen), Some(Ok(f)), MemoryMode::Stacks) = (&frozen, &facts, mode) {
            early = Some(read_maps(process, &mut memory).and_then(|(maps, listed)| {
                let (snap, model) = plan(
                    f,
                    frozen,
                    (&maps, listed.clone()),
                    &mut memory,
                    options,
                    mode,
                )?;
                let bytes = serialize(&model, &mut memory, options.on_progress.as_ref())?;
                Ok((maps, listed, snap, model, bytes))
            }));
        }
        let smaps = reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (smaps, facts, frozen, early)
    });
    let from_reader = FromReader {
        facts: facts.unwrap_or_else(|| {
            Err(CaptureError::Unsupported {
                what: format!("/proc/{pid}: the process files were not read"),
            })
        }),
        smaps,
    };
    let frozen = frozen?;
    // An error here drops `frozen`, which thaws the target.
    let written = (|| {
        let smaps = from_reader
            .smaps
            .ok_or_else(|| CaptureError::Unsupported {
                what: format!("/proc/{pid}/smaps was not read"),
            })??;
        let facts = from_reader.facts?;
        let (maps, listed, early) = match early {
            Some(e) => {
                let (maps, listed, snap, model, bytes) = e?;
                (maps, listed, Some((snap, model, bytes)))
            }
            None => {
                let (maps, listed) = read_maps(&process, &mut memory)?;
                (maps, listed, None)
            }
        };
        let joined = join_maps_smaps(listed, &smaps);
        // The early plan is kept only when the real snapshot (with smaps)
        // gives the same mappings in every way the plan used; otherwise
        // plan again from the real one.
        let real = live::snapshot(
            &facts,
            &frozen,
            joined,
            Some(maps),
            &mut memory,
            &options.selection,
        )?;
        if let Some((early_snap, model, (bytes, read))) = early {
            if plan_still_holds(&early_snap.mappings, &real.mappings, &model) {
                // Everything is read: written after the thaw, below.
                return Ok::<_, CaptureError>((real, model, read, Some(bytes)));
            }
        }
        let model = minidump_model(&real, &mut memory, mode)?;
        let layout = Layout::plan(&model)?;
        let mut source = Counting {
            inner: &mut memory,
            progress: Reporter::start(
                options.on_progress.as_ref(),
                Phase::Copying,
                memory_total(&model),
            ),
        };
        // The writer's buffer is no larger than the largest range (a
        // stacks-only dump's is often ~100 KiB).
        layout.write(&mut source, &mut sink)?;
        source.progress.flush();
        Ok::<_, CaptureError>((real, model, source.progress.done(), None))
    })();
    // Thaw first, whatever happened. A write error ends the capture; a thaw
    // error does not lose the (complete) dump but is reported loudly (as the
    // ELF capture does). A dump already serialised in memory (stacks only,
    // plan confirmed by smaps) reaches the file after the thaw: the target
    // is not kept stopped for the write.
    let thawed = frozen.thaw();
    let (snap, model, read, serialized) = written.map_err(|e| e.blame_exit(&process))?;
    if let Some(bytes) = serialized {
        bytes
            .replay(&mut sink)
            .map_err(|source| coroner_minidump_format::WriteError::Io {
                offset: bytes.len(),
                source,
            })?;
    }
    let mut warnings = memory.take_warnings();
    let frozen_for = live::frozen_time(thawed, pid, freeze_started, &mut warnings);
    progress::finishing(options.on_progress.as_ref(), memory_total(&model));
    let report = sink.finish()?;
    let without_stack = model.threads.iter().filter(|t| t.stack.is_none()).count();
    if without_stack > 0 {
        warnings.push(format!(
            "{without_stack} thread(s) have no stack in the dump (stack pointer outside any readable, included mapping)"
        ));
    }
    Ok(CaptureReport {
        pid,
        path: report.path,
        threads: model.threads.len(),
        mappings: snap.mappings.len(),
        mappings_dumped: snap
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
            .count(),
        bytes_written: report.bytes_written,
        bytes_allocated: report.bytes_allocated,
        memory_bytes_read: read,
        wall: started.elapsed(),
        frozen: frozen_for,
        warnings: crate::cow_copy::with_fallback(warnings, &cow_report),
        copy: cow_report,
        pre_copy: crate::PreCopyReport::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::held;
    use coroner_proc_reader::parse::maps::parse_maps_line;
    use std::path::PathBuf;

    fn mapping(start: u64, path: &str) -> SelectedMapping {
        let line = format!(
            "{:x}-{:x} rw-p 00000000 00:00 0 {path}",
            start,
            start + 0x1000
        );
        held(parse_maps_line(line.as_bytes(), 1).unwrap(), 0x1000, None)
    }

    /// The progress wrapper passes the source's hint of which pages hold
    /// data on (it reported every page present, so a minidump read absent
    /// pages the ELF capture skips), and counts absent bytes as done.
    #[test]
    fn counting_passes_the_data_hint_on() {
        use coroner_minidump_format::write::BytesAt;
        let mut inner = BytesAt::new(0x2000, vec![1u8; 0x1000]);
        let mut counting = Counting {
            inner: &mut inner,
            progress: Reporter::start(None, Phase::Copying, 0x4000),
        };
        let mut out = Vec::new();
        counting.present_ranges(0x1000, 0x5000, &mut out).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0], 0x2000..0x3000);
        let mut buf = [0u8; 0x1000];
        assert_eq!(counting.read_at(0x2000, &mut buf).unwrap(), 0x1000);
        assert_eq!(counting.progress.done(), 0x4000);
    }

    /// The plan made from `maps` alone is kept only when smaps changes
    /// nothing a stacks-only dump depends on: `dump_len` may change, and a
    /// DONTDUMP flag (`excluded`) may appear on an anonymous mapping that
    /// holds none of the model's memory; any other difference, a newly
    /// excluded mapping the model has memory from, or a file mapping, sends
    /// it back to be made again.
    #[test]
    fn a_plan_from_maps_alone_is_kept_only_when_smaps_changes_nothing_it_uses() {
        use coroner_minidump_format::model::{MemoryRange, Thread};
        let mut lib = mapping(0x5000, "/usr/lib/libx.so");
        lib.mapping.inode = 7;
        lib.file = Some(PathBuf::from("/proc/1/map_files/5000-6000"));
        let early = vec![mapping(0x1000, "[stack]"), mapping(0x3000, ""), lib];
        let mut model = MinidumpModel {
            memory_list: vec![MemoryRange {
                start: 0x1800,
                size: 0x100,
            }],
            ..MinidumpModel::default()
        };
        assert!(plan_still_holds(&early, &early, &model));
        let mut same = early.clone();
        same[1].dump_len = 0;
        assert!(plan_still_holds(&early, &same, &model));
        // DONTDUMP on the unused anonymous mapping: kept.
        let mut unused = early.clone();
        unused[1].excluded = true;
        assert!(plan_still_holds(&early, &unused, &model));
        // ... but not once the model holds memory from it, as a range or
        // as a thread's stack.
        let mut holding = model.clone();
        holding.memory_list.push(MemoryRange {
            start: 0x3ff0,
            size: 0x20,
        });
        assert!(!plan_still_holds(&early, &unused, &holding));
        let mut stack = model.clone();
        stack.threads.push(Thread {
            stack: Some(MemoryRange {
                start: 0x3000,
                size: 0x10,
            }),
            ..Thread::default()
        });
        assert!(!plan_still_holds(&early, &unused, &stack));
        // DONTDUMP where the model has memory (the stack), on a file
        // mapping (module header, build-id), or a flag that went away.
        let mut dontdump = early.clone();
        dontdump[0].excluded = true;
        assert!(!plan_still_holds(&early, &dontdump, &model));
        let mut module = early.clone();
        module[2].excluded = true;
        assert!(!plan_still_holds(&early, &module, &model));
        assert!(!plan_still_holds(&unused, &early, &model));
        let mut moved = early.clone();
        moved[1].mapping.end += 0x1000;
        assert!(!plan_still_holds(&early, &moved, &model));
        assert!(!plan_still_holds(&early, &early[..1], &model));
        model.memory_list.clear();
        assert!(plan_still_holds(&early, &unused, &model));
    }
}
