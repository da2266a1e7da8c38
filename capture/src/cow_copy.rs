//! Capturing from a copy-on-write copy of the target (`--snapshot`): the
//! target is frozen only to read its registers, the memory its copy will
//! lack, and to make the copy (proc-reader's [`ForkCopy`]); the dump is then
//! written from the copy while the target runs on.
//!
//! Order of work:
//! 1. before freezing: clear copies a killed capture left behind
//!    ([`reap_leftover_copies`]); check a copy may be made and find the code
//!    it needs ([`ForkCopy::plan`]); list the target's `MADV_DONTFORK` and
//!    `MADV_WIPEONFORK` mappings (smaps `dc`/`wf`), which the copy lacks or
//!    holds as zeros;
//! 2. frozen: registers (the freeze), `maps`, the present pages of those
//!    mappings (at most [`UNCOPIED_LIMIT`] bytes), the copy;
//! 3. thawed: the copy's mappings and smaps decide what is dumped, and its
//!    memory, with the pages read in 2 laid over it, is written;
//! 4. once every byte is read the copy is killed, so that the kernel tears
//!    it down while the dump is fsynced; then it is collected and the
//!    target made to reap it.
//!
//! When a copy cannot be made (or would be unsafe) the capture falls back
//! to holding the target frozen for the whole dump, and says why.

use std::io;
use std::ops::Range;

use coroner_proc_reader::{
    reap_leftover_copies, CopyPlan, Error as ProcError, ForkCopy, Frozen, Mapping, Process,
};

use crate::byte_runs::{read_overlaid, ByteRuns, Overlay};
use crate::live::{self, Facts, LiveMemory};
use crate::select::Selection;
use crate::snapshot::{Snapshot, ThreadState};
use crate::CaptureError;

/// Most memory read from the frozen target for the mappings its copy lacks
/// (`MADV_DONTFORK`) or holds as zeros (`MADV_WIPEONFORK`); beyond it the
/// capture falls back to a plain freeze (coroner's memory stays bounded).
pub const UNCOPIED_LIMIT: u64 = 64 << 20;

/// Whether to capture from a copy-on-write copy of the target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum CowMode {
    /// Freeze the target for the whole dump (the default).
    #[default]
    Off,
    /// Dump a copy; fall back to freezing for the whole dump, with the
    /// reason as a warning, when no copy can be made.
    Prefer,
    /// Dump a copy or fail.
    Require,
}

/// How a capture went about it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CowReport {
    /// Whether the dump was written from a copy.
    pub used: bool,
    /// Why a copy was asked for and not used.
    pub fallback: Option<String>,
    /// The copy's pid, when one was made.
    pub copy_pid: Option<u32>,
    /// Leftover copies of an earlier, killed capture that were reaped.
    pub reaped_leftovers: Vec<u32>,
}

/// What is known before freezing.
#[derive(Debug)]
pub(crate) struct Prepared {
    plan: Option<CopyPlan>,
    /// The mappings the copy lacks or wipes, as the target's smaps gave
    /// them.
    uncopied: Vec<Mapping>,
    pub(crate) report: CowReport,
    mode: CowMode,
}

fn refusal_text(e: &ProcError) -> String {
    match e {
        ProcError::CopyRefused { reason, .. } => reason.to_string(),
        other => other.to_string(),
    }
}

impl Prepared {
    /// Step 1. `Err` only for `Require` when no copy can be made, or when
    /// the process cannot be read at all.
    pub(crate) fn new(process: &Process, mode: CowMode) -> Result<Prepared, CaptureError> {
        let mut report = CowReport::default();
        if mode == CowMode::Off {
            return Ok(Prepared {
                plan: None,
                uncopied: Vec::new(),
                report,
                mode,
            });
        }
        match reap_leftover_copies(process) {
            Ok(reaped) => report.reaped_leftovers = reaped,
            Err(e) if e.is_gone() => return Err(e.into()),
            // The leftovers stay (invisible to the target's wait()); the
            // next capture tries again.
            Err(_) => {}
        }
        let plan = match ForkCopy::plan(process) {
            Ok(plan) => Some(plan),
            Err(e @ ProcError::CopyRefused { .. }) if mode == CowMode::Prefer => {
                report.fallback = Some(refusal_text(&e));
                None
            }
            Err(e) => return Err(e.into()),
        };
        let uncopied = if plan.is_some() {
            process
                .mappings()?
                .into_iter()
                .filter(|m| m.vm_flags.contains("dc") || m.vm_flags.contains("wf"))
                .collect()
        } else {
            Vec::new()
        };
        Ok(Prepared {
            plan,
            uncopied,
            report,
            mode,
        })
    }

    /// Whether a copy will be tried.
    pub(crate) fn wanted(&self) -> bool {
        self.plan.is_some()
    }

    /// Step 2, while `frozen`: read the uncopied memory and make the copy.
    /// `Ok(None)` (with the reason in the report) when the capture must go
    /// on frozen instead; `Err` for `Require`.
    pub(crate) fn copy(&mut self, frozen: &Frozen<'_>) -> Result<Option<Copied>, CaptureError> {
        let Some(plan) = self.plan.take() else {
            return Ok(None);
        };
        match self.try_copy(frozen, &plan) {
            Ok(copied) => {
                self.report.used = true;
                self.report.copy_pid = Some(copied.copy.pid());
                Ok(Some(copied))
            }
            Err(Fallback::Reason(why)) if self.mode == CowMode::Prefer => {
                self.report.fallback = Some(why);
                Ok(None)
            }
            Err(Fallback::Reason(why)) => Err(CaptureError::CopyRefused { reason: why }),
            Err(Fallback::Error(e)) => Err(e),
        }
    }

    fn try_copy(&mut self, frozen: &Frozen<'_>, plan: &CopyPlan) -> Result<Copied, Fallback> {
        let process = frozen.process();
        let maps = process.maps().map_err(|e| Fallback::Error(e.into()))?;
        let memory = process.memory().map_err(|e| Fallback::Error(e.into()))?;
        let mut overlay = Vec::new();
        let mut held = 0u64;
        for m in std::mem::take(&mut self.uncopied) {
            // Gone or changed since the scan: nothing to lay over.
            if !maps.iter().any(|n| n.start == m.start && n.end == m.end) {
                continue;
            }
            let present = memory
                .present_pages(m.start, m.end)
                .map_err(|e| Fallback::Error(e.into()))?;
            let mut pages = ByteRuns::default();
            for r in present {
                let len = r.end.saturating_sub(r.start);
                held = held.saturating_add(len);
                if held > UNCOPIED_LIMIT {
                    return Err(Fallback::Reason(format!(
                        "more than {} MiB of its memory is excluded from fork copies \
                         (MADV_DONTFORK/MADV_WIPEONFORK) and would have to be held in memory",
                        UNCOPIED_LIMIT >> 20
                    )));
                }
                let mut bytes = vec![0u8; usize::try_from(len).unwrap_or(0)];
                memory
                    .read_with_holes(r.start, &mut bytes)
                    .map_err(|e| Fallback::Error(e.into()))?;
                pages.push(r.start, bytes);
            }
            overlay.push(Uncopied { mapping: m, pages });
        }
        let copy = frozen.fork_copy(plan).map_err(|e| match e {
            e @ ProcError::CopyRefused { .. } => Fallback::Reason(refusal_text(&e)),
            e => Fallback::Error(e.into()),
        })?;
        Ok(Copied { copy, overlay })
    }
}

enum Fallback {
    Reason(String),
    Error(CaptureError),
}

/// One mapping the copy lacks or wipes, with its pages as they were.
#[derive(Debug)]
struct Uncopied {
    mapping: Mapping,
    pages: ByteRuns,
}

/// The copy, and what it lacks.
#[derive(Debug)]
pub(crate) struct Copied {
    copy: ForkCopy,
    overlay: Vec<Uncopied>,
}

impl Copied {
    /// The copy as a process.
    pub(crate) fn process(&self) -> &Process {
        self.copy.process()
    }

    /// The mappings to dump: the copy's (with its smaps), with those it
    /// lacks or wipes as the target had them.
    pub(crate) fn mappings(&self) -> Result<Vec<Mapping>, CaptureError> {
        let mut all: Vec<Mapping> = self
            .copy
            .process()
            .mappings()?
            .into_iter()
            .filter(|m| {
                !self
                    .overlay
                    .iter()
                    .any(|u| u.mapping.start == m.start && u.mapping.end == m.end)
            })
            .collect();
        all.extend(self.overlay.iter().map(|u| u.mapping.clone()));
        all.sort_by_key(|m| m.start);
        Ok(all)
    }

    /// The copy's memory with the uncopied pages laid over it; `memory` is
    /// a [`LiveMemory`] of the copy.
    pub(crate) fn memory(self, memory: LiveMemory) -> (CowMemory, ForkCopy) {
        (
            CowMemory {
                copy: memory,
                overlay: self.overlay,
            },
            self.copy,
        )
    }
}

/// The copy's memory, with the pages it lacks (read from the frozen
/// target) laid over it.
#[derive(Debug)]
pub struct CowMemory {
    copy: LiveMemory,
    overlay: Vec<Uncopied>,
}

/// The uncopied mapping holding `addr`, if any.
fn uncopied_at(overlay: &[Uncopied], addr: u64) -> Option<&Uncopied> {
    overlay
        .iter()
        .find(|u| u.mapping.start <= addr && addr < u.mapping.end)
}

/// Where an uncopied mapping holds `addr` (up to its end), or where the
/// next one starts.
fn overlay_at(overlay: &[Uncopied], addr: u64) -> Overlay {
    match uncopied_at(overlay, addr) {
        Some(u) => Overlay::Covered(u.mapping.end),
        None => Overlay::Next(
            overlay
                .iter()
                .map(|u| u.mapping.start)
                .filter(|&s| s > addr)
                .min()
                .unwrap_or(u64::MAX),
        ),
    }
}

impl CowMemory {
    /// Warnings of the underlying reader.
    pub fn take_warnings(&mut self) -> Vec<String> {
        self.copy.take_warnings()
    }
}

impl coroner_core_format::write::MemorySource for CowMemory {
    fn read_at(&mut self, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
        let (overlay, copy) = (&self.overlay, &mut self.copy);
        read_overlaid(
            addr,
            buf,
            |here| overlay_at(overlay, here),
            |here, piece| {
                if let Some(u) = uncopied_at(overlay, here) {
                    u.pages.copy_into(here, piece);
                }
                Ok(())
            },
            |here, piece| copy.read_at(here, piece).map(|_| ()),
        )?;
        Ok(buf.len())
    }

    fn present_ranges(
        &mut self,
        start: u64,
        end: u64,
        out: &mut Vec<Range<u64>>,
    ) -> io::Result<()> {
        let mut here = start;
        while here < end {
            match overlay_at(&self.overlay, here) {
                Overlay::Covered(stop) => {
                    let stop = stop.min(end);
                    if let Some(u) = uncopied_at(&self.overlay, here) {
                        u.pages.present(here, stop, out);
                    }
                    here = stop;
                }
                Overlay::Next(next) => {
                    let stop = next.min(end);
                    self.copy.present_ranges(here, stop, out)?;
                    here = stop;
                }
            }
        }
        Ok(())
    }
}

/// After the thaw: the snapshot from the copy — `facts` and `threads` of
/// the frozen target, the copy's mappings and smaps (and, with `maps_text`,
/// its `maps`, for formats that keep it) — and the memory to dump, with the
/// copy to destroy once it is written.
pub(crate) fn snapshot(
    facts: &Facts,
    threads: Vec<ThreadState>,
    copied: Copied,
    maps_text: bool,
    selection: &Selection,
) -> Result<(Snapshot, CowMemory, ForkCopy), CaptureError> {
    let copy = copied.process();
    let mappings = copied.mappings()?;
    let maps = if maps_text {
        Some(copy.maps_raw()?)
    } else {
        None
    };
    let mut copy_memory = LiveMemory::open_copy(copy)?;
    copy_memory.set_mappings(&mappings);
    let facts = facts.through(copy);
    let snap = live::snapshot_of(&facts, threads, mappings, maps, &mut copy_memory, selection)?;
    let (memory, fork) = copied.memory(copy_memory);
    Ok((snap, memory, fork))
}

/// Finish with the copy: kill it and make the target reap it; a failure
/// becomes a warning.
pub(crate) fn destroy(copy: ForkCopy, warnings: &mut Vec<String>) {
    let pid = copy.pid();
    if let Err(e) = copy.destroy() {
        warnings.push(format!(
            "the copy (pid {pid}) is dead, but the target could not be made to reap it ({e}); \
             it stays a zombie the target's wait() cannot see, until the next --snapshot capture \
             clears it"
        ));
    }
}

/// The warnings, with the reason a copy was asked for and not made first.
pub(crate) fn with_fallback(mut warnings: Vec<String>, report: &CowReport) -> Vec<String> {
    if let Some(why) = &report.fallback {
        warnings.insert(
            0,
            format!("no copy-on-write snapshot ({why}); the process was frozen for the whole dump"),
        );
    }
    warnings
}

// Needs the C target of the unpublished coroner-test-support: only in the
// repository (build.rs), not from the published package.
#[cfg(all(test, coroner_repo_tests))]
mod tests {
    use super::*;

    /// `Private_Clean` + `Private_Dirty` of `/proc/<pid>/smaps_rollup`:
    /// memory only this process maps.
    fn private_bytes(pid: u32) -> u64 {
        let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap();
        text.lines()
            .filter(|l| l.starts_with("Private_Clean:") || l.starts_with("Private_Dirty:"))
            .map(|l| l.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() << 10)
            .sum()
    }

    /// The target with one thread and 32 MiB of patterned memory, and a
    /// copy of it made as a `--snapshot` capture makes one (the copy alive
    /// until the [`Copied`] is dropped, the target thawed); with the facts
    /// read before the freeze and the threads read during it.
    fn target_and_its_copy() -> (
        coroner_test_support::Target,
        Process,
        Facts,
        Copied,
        Vec<ThreadState>,
    ) {
        let target = coroner_test_support::Target::spawn(&[
            "--threads",
            "1",
            "--pattern-mib",
            "32",
            "--reserve-gib",
            "0",
        ]);
        let process = Process::open(target.pid()).unwrap();
        let facts = live::read_facts(&process, false).unwrap();
        let mut prepared = Prepared::new(&process, CowMode::Require).unwrap();
        let frozen = process.freeze().unwrap();
        let copied = prepared.copy(&frozen).unwrap().expect("a copy");
        let threads = live::thread_states(&frozen);
        frozen.thaw().unwrap();
        (target, process, facts, copied, threads)
    }

    /// A plain capture's reads of a process whose pages a child shares
    /// copy-on-write (here its copy, alive meanwhile) leave them shared:
    /// the target's own private memory does not grow by what was read.
    #[test]
    fn reading_a_process_that_forked_does_not_duplicate_its_pages() {
        let (target, process, facts, copied, _) = target_and_its_copy();
        // The capture proper, the copy still alive.
        let (frozen, snap, mut memory) =
            crate::test_snapshot::freeze_and_snapshot(&process, &facts);
        let before = private_bytes(target.pid());
        let read = read_dump(&snap, &mut memory);
        let after = private_bytes(target.pid());
        frozen.thaw().unwrap();
        drop(copied);
        assert!(read >= 32 << 20, "read only {read} bytes");
        assert!(
            after.saturating_sub(before) < 4 << 20,
            "the target's private memory grew from {before} to {after} bytes while {read} \
             bytes were read from it: the pages it shares with its child were duplicated"
        );
    }

    /// Read every byte `snap` dumps from `memory`; how many.
    fn read_dump(
        snap: &Snapshot,
        memory: &mut impl coroner_core_format::write::MemorySource,
    ) -> u64 {
        let mut buf = vec![0u8; 1 << 20];
        let mut read = 0u64;
        for m in snap.mappings.iter().filter(|m| m.dump_len > 0) {
            let mut at = m.mapping.start;
            let end = m.mapping.start + m.dump_len;
            while at < end {
                let n = buf.len().min(usize::try_from(end - at).unwrap());
                memory.read_at(at, &mut buf[..n]).unwrap();
                at += n as u64;
                read += n as u64;
            }
        }
        read
    }

    /// Reading the whole dump from the copy leaves its pages shared with
    /// the target: no page is duplicated into the copy (as a read-only
    /// pin of `process_vm_readv` makes the kernel do).
    #[test]
    fn reading_the_copy_does_not_duplicate_its_pages() {
        let (_target, _process, facts, copied, threads) = target_and_its_copy();
        let (snap, mut memory, fork) =
            snapshot(&facts, threads, copied, false, &Selection::default()).unwrap();
        let before = private_bytes(fork.pid());
        let read = read_dump(&snap, &mut memory);
        assert!(read >= 32 << 20, "read only {read} bytes");
        let after = private_bytes(fork.pid());
        let mut warnings = Vec::new();
        destroy(fork, &mut warnings);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(
            after.saturating_sub(before) < 4 << 20,
            "the copy's private memory grew from {before} to {after} bytes while {read} \
             bytes were read from it: its pages were duplicated"
        );
    }
}
