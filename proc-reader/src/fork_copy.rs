//! A copy-on-write copy of a frozen process, made by the process itself:
//! one of its threads runs a raw `clone` system call that we inject (see
//! `inject`), so the copy shares every page with the target until one side
//! writes it, and the target can run on while the copy is dumped.
//!
//! The copy
//! - is made by a raw `clone(CLONE_FILES, exit_signal 0)`: no atfork
//!   handler runs; it shares the target's descriptor table instead of
//!   holding a second reference to every file (a pipe or socket the target
//!   closes is closed); its exit sends no `SIGCHLD`, and `wait()` or
//!   `waitpid(-1, …)` without `__WALL`/`__WCLONE` never return it;
//! - is traced by us from birth (`PTRACE_O_TRACECLONE`), stopped before its
//!   first instruction, and has `PTRACE_O_EXITKILL`, so the kernel kills it
//!   if we die; should we die before that option is set, its first
//!   instructions call `exit_group` (see `inject`);
//! - lacks `MADV_DONTFORK` memory and holds zeros for `MADV_WIPEONFORK`
//!   memory: read those from the target while it is frozen;
//! - is killed by [`ForkCopy::destroy`] (or on drop), and the target is then
//!   made to reap it with an injected `wait4(pid, NULL, __WALL | WNOHANG)`,
//!   so no zombie stays among its children.
//!
//! If we die after the copy is made and before the target reaped it, a
//! zombie with exit signal 0 stays among the target's children (invisible
//! to its `wait()`); [`reap_leftover_copies`] (called by the next capture)
//! makes the target reap it.

use std::marker::PhantomData;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::copy_refusal::CopyRefusal;
use crate::error::{Error, Result};
use crate::freeze::Frozen;
use crate::injectable::Obstacle;
// The copy is made by injected x86_64 code (`inject`); on other
// architectures `plan` and `fork_copy` refuse with `Unsupported`, and what
// only the injection uses is compiled out.
#[cfg(target_arch = "x86_64")]
use crate::freeze::StopKind;
#[cfg(target_arch = "x86_64")]
use crate::inject::{self, Call, Gadgets};
use crate::parse::cgroup::parse_cgroup;
use crate::process::{proc_path, Process};
use crate::sys::{self, WaitStatus};

/// What [`ForkCopy::plan`] found before freezing: that a copy may be made,
/// and where the code it needs is.
#[derive(Debug, Clone)]
pub struct CopyPlan {
    #[cfg(target_arch = "x86_64")]
    pid: u32,
    #[cfg(target_arch = "x86_64")]
    gadgets: Gadgets,
}

/// A copy-on-write copy of a process, traced and stopped; killed and reaped
/// (by the target) on [`ForkCopy::destroy`] or drop.
///
/// Like [`Frozen`], it is tied to the thread that made it (ptrace tracees
/// belong to a thread), so it is neither `Send` nor `Sync`.
///
/// ```no_run
/// use coroner_proc_reader::{ForkCopy, Process};
/// let target = Process::open(1234)?;
/// let plan = ForkCopy::plan(&target)?;
/// let frozen = target.freeze()?;
/// let copy = frozen.fork_copy(&plan)?;
/// frozen.thaw()?; // the target runs on
/// let memory = copy.process().memory()?;
/// let mut word = [0u8; 8];
/// memory.read_exact_at(0x7f00_0000_0000, &mut word)?; // as it was at the copy
/// copy.destroy()?;
/// # Ok::<(), coroner_proc_reader::Error>(())
/// ```
#[derive(Debug)]
pub struct ForkCopy {
    /// The target, which reaps the copy's zombie through an injected call.
    #[cfg(target_arch = "x86_64")]
    target: Process,
    copy: Process,
    pid: u32,
    #[cfg(target_arch = "x86_64")]
    gadgets: Gadgets,
    destroyed: bool,
    _not_send: PhantomData<*const ()>,
}

fn refused(pid: u32, reason: CopyRefusal) -> Error {
    Error::CopyRefused {
        pid,
        path: proc_path(pid, ""),
        reason,
    }
}

/// `Name:   123 kB` of a status file, in bytes.
fn status_bytes(raw: &[u8], name: &str) -> Option<u64> {
    let text = String::from_utf8_lossy(raw);
    let line = text.lines().find(|l| l.starts_with(name))?;
    let kib: u64 = line
        .get(name.len()..)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    kib.checked_mul(1024)
}

/// A number from a cgroup file; `None` for `max`, absent or unreadable.
fn cgroup_number(path: &std::path::Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The target's cgroup directories, innermost first, for the v2 hierarchy
/// and for the v1 hierarchy of `controller`.
fn cgroup_dirs(process: &Process, controller: &str) -> Vec<PathBuf> {
    let Ok(raw) = process.read_file("cgroup") else {
        return Vec::new();
    };
    let Ok(entries) = parse_cgroup(&raw) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries {
        let v1 = e.controllers.iter().any(|c| c == controller);
        let root = if e.hierarchy == 0 {
            PathBuf::from("/sys/fs/cgroup")
        } else if v1 {
            PathBuf::from("/sys/fs/cgroup").join(controller)
        } else {
            continue;
        };
        let rel = String::from_utf8_lossy(&e.path).into_owned();
        let mut dir = PathBuf::from(rel.trim().trim_start_matches('/'));
        loop {
            out.push(root.join(&dir));
            if !dir.pop() {
                break;
            }
        }
    }
    out
}

/// Room under each `(limit, usage, file)`: v1's "no limit" (a number near
/// 2^63) is no limit.
fn rooms_left(limits: Vec<(u64, u64, String)>) -> Vec<(u64, String)> {
    limits
        .into_iter()
        .filter(|(limit, _, _)| *limit < 1 << 60)
        .map(|(limit, usage, file)| (limit.saturating_sub(usage), file))
        .collect()
}

/// Whether the tightest of `rooms` holds a copy's page tables (the
/// target's `page_tables`) and an eighth of its `anon` resident anonymous
/// memory, the guess at what it rewrites (and so duplicates) while the copy
/// lives.
fn enough_room(
    page_tables: u64,
    anon: u64,
    rooms: Vec<(u64, String)>,
) -> std::result::Result<(), CopyRefusal> {
    let needed = page_tables.saturating_add(anon.checked_div(8).unwrap_or(0));
    match rooms.into_iter().min_by_key(|r| r.0) {
        Some((room, where_)) if room < needed => Err(CopyRefusal::MemoryRoom {
            needed,
            page_tables,
            anon,
            room,
            where_,
        }),
        _ => Ok(()),
    }
}

impl ForkCopy {
    /// Check, before freezing, that a copy of `process` may be made and
    /// find the code it needs. [`Error::CopyRefused`] says why not:
    /// exiting, seccomp, shadow stacks, a full pids cgroup, too little
    /// memory room (the copy's page tables — the target's `VmPTE` — plus an
    /// eighth of its resident anonymous memory for the pages it may rewrite
    /// while the copy lives, against the tightest of its memory cgroups'
    /// `memory.max`/`memory.high` (v2) or `memory.limit_in_bytes` (v1) and
    /// `MemAvailable`), or missing code.
    pub fn plan(process: &Process) -> Result<CopyPlan> {
        let pid = process.pid();
        if !cfg!(target_arch = "x86_64") {
            return Err(refused(pid, CopyRefusal::Unsupported));
        }
        let crate::injectable::Injectable { raw, status } = match crate::injectable::check(process)?
        {
            Ok(i) => i,
            Err(o) => {
                return Err(refused(
                    pid,
                    match o {
                        Obstacle::Exiting => CopyRefusal::Exiting,
                        Obstacle::Seccomp(mode) => CopyRefusal::Seccomp { mode },
                        Obstacle::ShadowStack => CopyRefusal::ShadowStack,
                    },
                ))
            }
        };
        for dir in cgroup_dirs(process, "pids") {
            let max = dir.join("pids.max");
            if let (Some(limit), Some(current)) = (
                cgroup_number(&max),
                cgroup_number(&dir.join("pids.current")),
            ) {
                if current >= limit {
                    return Err(refused(pid, CopyRefusal::PidsLimit { file: max }));
                }
            }
        }
        let page_tables = status_bytes(&raw, "VmPTE:").unwrap_or(0);
        let anon = status.rss_anon.unwrap_or(0);
        let mut limits = Vec::new();
        for dir in cgroup_dirs(process, "memory") {
            let current = cgroup_number(&dir.join("memory.current"))
                .or_else(|| cgroup_number(&dir.join("memory.usage_in_bytes")));
            for name in ["memory.max", "memory.high", "memory.limit_in_bytes"] {
                let file = dir.join(name);
                if let (Some(limit), Some(current)) = (cgroup_number(&file), current) {
                    limits.push((limit, current, file.display().to_string()));
                }
            }
        }
        let rooms: Vec<(u64, String)> = rooms_left(limits)
            .into_iter()
            .chain(
                crate::MemoryRoom::read()
                    .available
                    .map(|a| (a, "MemAvailable".to_owned())),
            )
            .collect();
        enough_room(page_tables, anon, rooms).map_err(|r| refused(pid, r))?;
        #[cfg(target_arch = "x86_64")]
        {
            let gadgets = Gadgets::find(process)?.map_err(|r| refused(pid, r))?;
            Ok(CopyPlan { pid, gadgets })
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            Err(refused(pid, CopyRefusal::Unsupported))
        }
    }

    /// The copy's pid.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The copy, for its memory, mappings and smaps (as the target's were
    /// at the copy, without `MADV_DONTFORK` mappings).
    pub fn process(&self) -> &Process {
        &self.copy
    }

    /// Send the copy `SIGKILL` without waiting for it to die: the kernel
    /// then frees its address space (for a big process a page-table
    /// teardown that takes a while) on the copy's own task, while the
    /// caller goes on — with the fsync of the dump, say. Its memory can no
    /// longer be read. [`ForkCopy::destroy`] (or the drop) then collects it
    /// and has the target reap it, as without this call.
    pub fn kill(&self) {
        if !self.destroyed {
            let _ = sys::kill(self.pid, libc::SIGKILL);
        }
    }

    /// Kill the copy, reap it, and make the target reap its zombie (one of
    /// its threads is stopped for an injected `wait4`, for well under a
    /// millisecond). An error means the copy is dead but a zombie may be
    /// left among the target's children for the next capture to clear.
    pub fn destroy(mut self) -> Result<()> {
        self.destroy_now()
    }

    fn destroy_now(&mut self) -> Result<()> {
        if self.destroyed {
            return Ok(());
        }
        self.destroyed = true;
        kill_and_collect(self.pid);
        #[cfg(target_arch = "x86_64")]
        {
            reap_in_target(&self.target, self.pid, &self.gadgets)
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            Ok(())
        }
    }
}

impl Drop for ForkCopy {
    fn drop(&mut self) {
        let _ = self.destroy_now();
    }
}

/// SIGKILL our traced copy and collect its end (as its tracer: the zombie
/// then waits for its real parent, the target).
fn kill_and_collect(pid: u32) {
    let _ = sys::kill(pid, libc::SIGKILL);
    let deadline = Instant::now().checked_add(Duration::from_secs(10));
    loop {
        match sys::waitpid_nohang(pid) {
            Ok(Some(WaitStatus::Gone)) | Err(_) => return,
            Ok(Some(_) | None) => {}
        }
        if deadline.is_some_and(|d| Instant::now() > d) {
            return;
        }
        std::thread::sleep(Duration::from_micros(100));
    }
}

impl Frozen<'_> {
    /// Make a copy-on-write copy of the frozen process (see [`ForkCopy`]):
    /// one of its threads runs an injected raw `clone` and is put back
    /// exactly as it was, registers, FP state and signal mask included, with
    /// an interrupted system call set to restart as the kernel would have
    /// restarted it. Thaw soon after: the copy holds the memory as it was.
    ///
    /// [`Error::CopyRefused`] when no copy could be made; the process is as
    /// it was and still frozen.
    pub fn fork_copy(&self, plan: &CopyPlan) -> Result<ForkCopy> {
        self.fork_copy_in(plan, None)
    }

    /// [`Frozen::fork_copy`] with the call made by thread `tid` (tests use
    /// it to make the call from each kind of blocking system call).
    #[doc(hidden)]
    pub fn fork_copy_in(&self, plan: &CopyPlan, tid: Option<u32>) -> Result<ForkCopy> {
        let process = self.process();
        let pid = process.pid();
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (plan, tid);
            return Err(refused(pid, CopyRefusal::Unsupported));
        }
        #[cfg(target_arch = "x86_64")]
        {
            if plan.pid != pid {
                return Err(Error::Io {
                    pid,
                    path: proc_path(pid, ""),
                    op: "fork_copy",
                    source: std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        format!("the plan is for process {}", plan.pid),
                    ),
                });
            }
            if self
                .threads()
                .iter()
                .any(|t| matches!(t.stop, StopKind::GroupStop { .. }))
            {
                return Err(refused(pid, CopyRefusal::JobControlStopped));
            }
            let Some(thread) = self
                .threads()
                .iter()
                .filter(|t| t.stop == StopKind::Interrupted)
                .filter(|t| tid.map_or(true, |tid| t.tid == tid))
                .filter_map(|t| inject::suitability(&t.regs).map(|s| (s, t)))
                .min_by_key(|(s, _)| *s)
                .map(|(_, t)| t)
            else {
                return Err(refused(pid, CopyRefusal::NoThread));
            };
            let maps = process.maps()?;
            let flags = u64::try_from(libc::CLONE_FILES).unwrap_or(0);
            let outcome = inject::inject(
                process,
                thread.tid,
                &thread.regs,
                &plan.gadgets,
                &maps,
                Call::clone(flags),
            )?
            .map_err(|r| refused(pid, r))?;
            let child = match (outcome.ret, outcome.child) {
                (ret, Some(child)) if ret > 0 => child,
                (ret, child) => {
                    if let Some(c) = child {
                        kill_and_collect(c);
                    }
                    let errno = i32::try_from(ret.saturating_neg()).unwrap_or(0);
                    return Err(refused(pid, CopyRefusal::CallFailed { errno }));
                }
            };
            // The copy is the first the OOM killer should pick.
            let _ = std::fs::write(format!("/proc/{child}/oom_score_adj"), "1000");
            let copy = match Process::open(child) {
                Ok(c) => c,
                Err(e) => {
                    kill_and_collect(child);
                    let _ = reap_in_target(process, child, &plan.gadgets);
                    return Err(e);
                }
            };
            Ok(ForkCopy {
                target: process.try_clone()?,
                copy,
                pid: child,
                gadgets: plan.gadgets,
                destroyed: false,
                _not_send: PhantomData,
            })
        }
    }
}

/// Stop one thread of `target` after another until one can run an injected
/// `wait4(child, NULL, __WALL | WNOHANG)`, and reap the dead `child` with it.
#[cfg(target_arch = "x86_64")]
fn reap_in_target(target: &Process, child: u32, gadgets: &Gadgets) -> Result<()> {
    let pid = target.pid();
    let mut last = None;
    for tid in target.tasks()? {
        if sys::ptrace_seize(tid).is_err() {
            continue;
        }
        let _ = sys::ptrace_interrupt(tid);
        let stop = loop_until_stopped(tid);
        let mut deliver = 0;
        let mut done = false;
        match stop {
            Some((signal, 128)) if signal == libc::SIGTRAP => {
                if let Ok(regs) = crate::regs::read_registers(tid) {
                    if inject::suitability(&regs).is_some() {
                        let maps = target.maps()?;
                        match inject::inject(target, tid, &regs, gadgets, &maps, Call::reap(child))
                        {
                            Ok(Ok(o)) if o.ret == i64::from(child) => done = true,
                            Ok(Ok(o)) if o.ret == i64::from(libc::ECHILD).wrapping_neg() => {
                                done = true
                            }
                            Ok(Ok(o)) => {
                                last = Some(CopyRefusal::CallFailed {
                                    errno: i32::try_from(o.ret.saturating_neg()).unwrap_or(0),
                                })
                            }
                            Ok(Err(r)) => last = Some(r),
                            Err(e) => {
                                let _ = sys::ptrace_detach(tid, 0);
                                return Err(e);
                            }
                        }
                    }
                }
            }
            Some((signal, 0)) => deliver = signal,
            Some(_) => {}
            None => continue,
        }
        let _ = sys::ptrace_detach(tid, deliver);
        if done {
            return Ok(());
        }
    }
    Err(refused(pid, last.unwrap_or(CopyRefusal::NoThread)))
}

/// Wait up to a second for a seized, interrupted thread's stop.
#[cfg(target_arch = "x86_64")]
fn loop_until_stopped(tid: u32) -> Option<(i32, i32)> {
    let deadline = Instant::now().checked_add(Duration::from_secs(1))?;
    loop {
        match sys::waitpid_nohang(tid) {
            Ok(Some(WaitStatus::Stopped { signal, event })) => return Some((signal, event)),
            Ok(Some(WaitStatus::Gone)) | Err(_) => return None,
            Ok(Some(WaitStatus::Other) | None) => {}
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_micros(50));
    }
}

/// Children of `process` that are copies a capture left behind when it
/// died: zombies with exit signal 0 that were killed by SIGKILL (by the
/// kernel, for the dead tracer) or exited with the status a copy's escape
/// path uses. Makes the target reap each and returns their pids.
pub fn reap_leftover_copies(process: &Process) -> Result<Vec<u32>> {
    let mut leftovers = Vec::new();
    for tid in process.tasks()? {
        let Ok(children) = process.read_file(&format!("task/{tid}/children")) else {
            continue;
        };
        for child in String::from_utf8_lossy(&children)
            .split_whitespace()
            .filter_map(|c| c.parse::<u32>().ok())
        {
            let Ok(stat) = std::fs::read(format!("/proc/{child}/stat")) else {
                continue;
            };
            let Ok(stat) = crate::parse::stat::parse_stat(&stat) else {
                continue;
            };
            #[cfg(target_arch = "x86_64")]
            let marker = i32::from(inject::COPY_EXIT_STATUS).wrapping_shl(8);
            #[cfg(not(target_arch = "x86_64"))]
            let marker = -1;
            if stat.is_zombie()
                && stat.exit_signal == Some(0)
                && matches!(stat.exit_code, Some(c) if c == libc::SIGKILL || c == marker)
            {
                leftovers.push(child);
            }
        }
    }
    if leftovers.is_empty() {
        return Ok(leftovers);
    }
    #[cfg(target_arch = "x86_64")]
    {
        let gadgets = Gadgets::find(process)?.map_err(|r| refused(process.pid(), r))?;
        let mut reaped = Vec::new();
        for child in leftovers {
            reap_in_target(process, child, &gadgets)?;
            reaped.push(child);
        }
        Ok(reaped)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tightest_room_must_hold_the_page_tables_and_an_eighth_of_anon() {
        let limits = vec![
            (10 << 30, 1 << 30, "a/memory.max".to_owned()),
            (u64::MAX / 2, 0, "v1/memory.limit_in_bytes".to_owned()), // no limit
            (3 << 30, (3 << 30) - (20 << 20), "b/memory.high".to_owned()),
        ];
        let rooms = rooms_left(limits);
        assert_eq!(rooms.len(), 2);
        // 20 MiB left under b: 4 MiB of page tables + 128 MiB / 8 fits.
        assert_eq!(enough_room(4 << 20, 128 << 20, rooms.clone()), Ok(()));
        // 4 MiB + 256 MiB / 8 = 36 MiB does not.
        match enough_room(4 << 20, 256 << 20, rooms) {
            Err(CopyRefusal::MemoryRoom {
                needed,
                room,
                where_,
                ..
            }) => {
                assert_eq!(needed, 36 << 20);
                assert_eq!(room, 20 << 20);
                assert_eq!(where_, "b/memory.high");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(enough_room(1 << 40, 1 << 40, Vec::new()), Ok(()));
    }
}
