//! Freezing every thread of a process with `PTRACE_SEIZE` + `PTRACE_INTERRUPT`.

use std::collections::BTreeSet;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::parse::stat::Stat;
use crate::parse::status::Status;
use crate::process::{proc_path, Process};
use crate::regs::{read_registers, Registers};
use crate::sys::{self, WaitStatus, SIGINFO_SIZE};

/// `PTRACE_EVENT_STOP`, the event of an interrupt or group stop of a seized thread.
const PTRACE_EVENT_STOP: i32 = 128;

/// How many times an EPERM from `PTRACE_SEIZE` is retried (with 1, 2, 4,
/// 8, 16 ms pauses) before it is reported: see [`Frozen::seize`].
const SEIZE_EPERM_RETRIES: u32 = 5;

/// Longest sleep between polls for the stops PTRACE_INTERRUPT asked for.
const MAX_STOP_POLL_PAUSE: Duration = Duration::from_micros(100);

/// How a thread came to be stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopKind {
    /// By our `PTRACE_INTERRUPT` (the normal case).
    Interrupted,
    /// The process was (or became) job-control stopped by `signal` from
    /// elsewhere; it stays stopped after thawing, as it was.
    GroupStop {
        /// SIGSTOP, SIGTSTP, SIGTTIN or SIGTTOU.
        signal: i32,
    },
    /// On its way to receive `signal`; [`Thread::siginfo`] describes it and
    /// thawing delivers it, so it is not lost.
    Signal {
        /// The signal number.
        signal: i32,
    },
}

/// One frozen thread.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Thread {
    /// Thread id (global pid namespace).
    pub tid: u32,
    /// Thread name (`comm`).
    pub name: Vec<u8>,
    /// Registers.
    pub regs: Registers,
    /// How it stopped.
    pub stop: StopKind,
    /// Raw `siginfo_t` (128 bytes) of the signal being delivered, when the
    /// thread stopped for one (from `PTRACE_GETSIGINFO`).
    pub siginfo: Option<[u8; SIGINFO_SIZE]>,
    /// The thread's own `stat` (state, utime, stime …), read while frozen.
    pub stat: Option<Stat>,
    /// The thread's own `status` (SigPnd, SigBlk …), read while frozen.
    pub status: Option<Status>,
}

impl Thread {
    /// [`Thread::siginfo`] decoded: the signal the thread was on its way to
    /// receive when frozen, with its code and, for a fault, its address.
    pub fn signal_info(&self) -> Option<crate::parse::siginfo::SigInfo> {
        crate::parse::siginfo::parse_siginfo(self.siginfo.as_ref()?).ok()
    }
}

/// Options for [`Process::freeze_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct FreezeOptions {
    /// How long to wait for all threads to stop before giving up with
    /// [`Error::FreezeTimeout`] (and thawing what was stopped).
    pub timeout: Duration,
    /// Read each thread's `stat` and `status` too.
    pub thread_files: bool,
}

impl Default for FreezeOptions {
    fn default() -> Self {
        FreezeOptions {
            timeout: Duration::from_secs(10),
            thread_files: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TraceeState {
    /// Seized and interrupted, its stop not yet collected.
    Running,
    /// In a ptrace stop.
    Stopped(StopKind),
}

#[derive(Debug)]
struct Tracee {
    tid: u32,
    state: TraceeState,
    /// Lent by the caller already stopped ([`crate::with_held_threads`]):
    /// never seized, interrupted or detached here.
    held: bool,
}

/// A frozen process: every thread is in a ptrace stop until this guard is
/// thawed or dropped (also during a panic). No SIGSTOP is ever sent, so if
/// the capturing process dies the kernel detaches and the target runs on.
///
/// ptrace ties a tracee to the tracing *thread*, so the guard is neither
/// `Send` nor `Sync`: thaw it on the thread that froze.
///
/// ```
/// use coroner_proc_reader::{Process, StopKind};
/// let mut child = std::process::Command::new("sleep").arg("10").spawn().unwrap();
/// let process = Process::open(child.id())?;
/// let frozen = process.freeze()?;
/// for t in frozen.threads() {
///     assert_eq!(t.stop, StopKind::Interrupted);
///     println!("{} {:?} sp={:#x}", t.tid, String::from_utf8_lossy(&t.name), t.regs.sp());
/// }
/// let thawed = frozen.thaw()?;
/// println!("frozen for {:?}", thawed.frozen_for);
/// # child.kill().unwrap();
/// # child.wait().unwrap();
/// # Ok::<(), coroner_proc_reader::Error>(())
/// ```
#[derive(Debug)]
pub struct Frozen<'p> {
    process: &'p Process,
    tracees: Vec<Tracee>,
    threads: Vec<Thread>,
    started: Instant,
    thawed: bool,
    _not_send: PhantomData<*const ()>,
}

/// What [`Frozen::thaw`] leaves behind.
#[derive(Debug)]
#[non_exhaustive]
pub struct Thawed {
    /// The threads as they were while frozen.
    pub threads: Vec<Thread>,
    /// How long the process was held, from the first attach to the last detach.
    pub frozen_for: Duration,
}

fn errno(e: &std::io::Error) -> Option<i32> {
    e.raw_os_error()
}

impl<'p> Frozen<'p> {
    /// Stop every thread, re-listing `/proc/<pid>/task` until no new thread
    /// appears; threads that exit meanwhile are dropped from the set.
    pub(crate) fn new(process: &'p Process, opts: FreezeOptions) -> Result<Frozen<'p>> {
        let pid = process.pid();
        if pid == std::process::id() {
            return Err(Error::Io {
                pid,
                path: proc_path(pid, ""),
                op: "PTRACE_SEIZE",
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "a process cannot freeze itself with ptrace; capture it from another process",
                ),
            });
        }
        match process.zombie() {
            None => {
                return Err(Error::ProcessGone {
                    pid,
                    path: proc_path(pid, ""),
                    zombie: false,
                })
            }
            Some(true) => {
                return Err(Error::ProcessGone {
                    pid,
                    path: proc_path(pid, ""),
                    zombie: true,
                })
            }
            Some(false) => {}
        }
        let mut frozen = Frozen {
            process,
            tracees: Vec::new(),
            threads: Vec::new(),
            started: Instant::now(),
            thawed: false,
            _not_send: PhantomData,
        };
        let deadline = Instant::now()
            .checked_add(opts.timeout)
            .unwrap_or_else(Instant::now);
        let mut gone: BTreeSet<u32> = BTreeSet::new();
        loop {
            let listed = process.tasks()?;
            let mut seized = Vec::new();
            for &tid in &listed {
                if gone.contains(&tid) || frozen.tracees.iter().any(|t| t.tid == tid) {
                    continue;
                }
                if let Some(stop) = crate::held::held_stop(pid, tid) {
                    frozen.tracees.push(Tracee {
                        tid,
                        state: TraceeState::Stopped(stop),
                        held: true,
                    });
                    continue;
                }
                match frozen.seize(tid) {
                    Ok(true) => {}
                    Ok(false) => {
                        gone.insert(tid);
                        continue;
                    }
                    Err(e) => {
                        return Err(process.classify(e, "PTRACE_SEIZE", &format!("task/{tid}")))
                    }
                }
                frozen.tracees.push(Tracee {
                    tid,
                    state: TraceeState::Running,
                    held: false,
                });
                seized.push(tid);
            }
            // Interrupt them back to back, once all are seized, so they stop
            // as close together in time as ptrace allows.
            for &tid in &seized {
                if let Err(e) = sys::ptrace_interrupt(tid) {
                    // ESRCH: it died after the seize; the wait reports it.
                    if errno(&e) != Some(libc::ESRCH) {
                        return Err(process.classify(
                            e,
                            "PTRACE_INTERRUPT",
                            &format!("task/{tid}"),
                        ));
                    }
                }
            }
            let attached_any = !seized.is_empty();
            frozen.wait_for_stops(deadline, &mut gone)?;
            if !attached_any {
                // No new thread in this listing. But the kernel's listing
                // ends early when the thread it is at exits meanwhile
                // (`next_tid` gives up on a dead task), so it can miss live
                // threads after that one. The thread count cannot: the set
                // is final when every thread the kernel counts is one we
                // hold stopped (or the exited leader, which stays counted
                // as a zombie and cannot be seized). Stopped threads create
                // no new ones, and held ones cannot leave uncounted.
                let stat = process.stat().ok();
                let leader_zombie = stat.as_ref().is_some_and(|s| s.is_zombie())
                    && !frozen.tracees.iter().any(|t| t.tid == pid);
                let held = frozen
                    .tracees
                    .len()
                    .saturating_add(usize::from(leader_zombie));
                let counted = stat.and_then(|s| usize::try_from(s.num_threads).ok());
                if counted != Some(held) {
                    if Instant::now() > deadline {
                        return Err(Error::FreezeTimeout {
                            pid,
                            tid: pid,
                            path: proc_path(pid, "task"),
                            waited: deadline.saturating_duration_since(frozen.started),
                        });
                    }
                    continue;
                }
                // Threads we hold that are no longer listed and whose /proc
                // entry is gone have exited: let them go. (One that merely
                // fell out of a cut-short listing stays held.)
                let stale: Vec<u32> = frozen
                    .tracees
                    .iter()
                    .map(|t| t.tid)
                    .filter(|t| !listed.contains(t) && process.thread_stat(*t).is_err())
                    .collect();
                for tid in stale {
                    let _ = frozen.detach_one(tid);
                }
                break;
            }
        }
        if frozen.tracees.is_empty() {
            let zombie = process.zombie();
            return Err(Error::ProcessGone {
                pid,
                path: proc_path(pid, "task"),
                zombie: zombie == Some(true),
            });
        }
        frozen.collect_threads(opts)?;
        Ok(frozen)
    }

    /// `PTRACE_SEIZE` of `tid`: `Ok(false)` when it has exited (or is
    /// exiting) instead. An exiting thread refuses a seize with EPERM before
    /// its stat shows it, as do the threads of a process that is exec'ing
    /// (the kernel ends them, and the exec'ing thread takes over the pid);
    /// so EPERM is asked again a few times, over about 30 ms, before it is
    /// taken for a real refusal.
    fn seize(&self, tid: u32) -> std::io::Result<bool> {
        let mut pause = Duration::from_millis(1);
        for attempt in 0..=SEIZE_EPERM_RETRIES {
            match sys::ptrace_seize(tid) {
                Ok(()) => return Ok(true),
                Err(e) if errno(&e) == Some(libc::ESRCH) || self.thread_exiting(tid) => {
                    return Ok(false)
                }
                Err(e) if errno(&e) != Some(libc::EPERM) || attempt == SEIZE_EPERM_RETRIES => {
                    return Err(e)
                }
                Err(_) => {
                    std::thread::sleep(pause);
                    pause = pause.saturating_mul(2);
                }
            }
        }
        Ok(false)
    }

    /// Whether `tid` is exiting (zombie or gone): such a thread refuses a seize.
    fn thread_exiting(&self, tid: u32) -> bool {
        self.process
            .thread_stat(tid)
            .map_or(true, |s| s.is_zombie())
    }

    fn wait_for_stops(&mut self, deadline: Instant, gone: &mut BTreeSet<u32>) -> Result<()> {
        let pid = self.process.pid();
        let mut pause = Duration::from_micros(10);
        loop {
            let mut i = 0usize;
            while let Some(t) = self.tracees.get_mut(i) {
                if t.state != TraceeState::Running {
                    i = i.saturating_add(1);
                    continue;
                }
                let tid = t.tid;
                match sys::waitpid_nohang(tid) {
                    Ok(Some(WaitStatus::Stopped { signal, event })) => {
                        t.state = TraceeState::Stopped(if event == PTRACE_EVENT_STOP {
                            if signal == libc::SIGTRAP {
                                StopKind::Interrupted
                            } else {
                                StopKind::GroupStop { signal }
                            }
                        } else {
                            StopKind::Signal { signal }
                        });
                    }
                    Ok(Some(WaitStatus::Gone)) | Err(_) => {
                        // Exited (ECHILD: already reaped); nothing to detach.
                        self.tracees.remove(i);
                        gone.insert(tid);
                        continue;
                    }
                    Ok(Some(WaitStatus::Other) | None) => {}
                }
                i = i.saturating_add(1);
            }
            let Some(waiting) = self
                .tracees
                .iter()
                .find(|t| t.state == TraceeState::Running)
            else {
                return Ok(());
            };
            if Instant::now() > deadline {
                return Err(Error::FreezeTimeout {
                    pid,
                    tid: waiting.tid,
                    path: proc_path(pid, &format!("task/{}", waiting.tid)),
                    waited: deadline.saturating_duration_since(self.started),
                });
            }
            std::thread::sleep(pause);
            // Parked threads usually stop within ~1-2 ms; a cap of 100 µs notices
            // that promptly (a 1 ms cap overshot by up to a millisecond, the
            // whole freeze of a small process) for a few cheap WNOHANG polls.
            pause = pause.saturating_mul(2).min(MAX_STOP_POLL_PAUSE);
        }
    }

    fn collect_threads(&mut self, opts: FreezeOptions) -> Result<()> {
        let pid = self.process.pid();
        let mut threads = Vec::with_capacity(self.tracees.len());
        for t in &self.tracees {
            let TraceeState::Stopped(stop) = t.state else {
                continue;
            };
            let tid = t.tid;
            let task = format!("task/{tid}");
            let regs = read_registers(tid)
                .map_err(|e| self.process.classify(e, "PTRACE_GETREGSET", &task))?;
            let siginfo = match stop {
                StopKind::Signal { .. } => sys::ptrace_getsiginfo(tid).ok(),
                _ => None,
            };
            let name = thread_name(self.process, tid)?;
            let (stat, status) = if opts.thread_files {
                (
                    self.process.thread_stat(tid).ok(),
                    self.process.thread_status(tid).ok(),
                )
            } else {
                (None, None)
            };
            threads.push(Thread {
                tid,
                name,
                regs,
                stop,
                siginfo,
                stat,
                status,
            });
        }
        // The main thread first, then by tid.
        threads.sort_by_key(|t| (t.tid != pid, t.tid));
        self.threads = threads;
        Ok(())
    }

    fn detach_one(&mut self, tid: u32) -> Result<()> {
        let Some(at) = self.tracees.iter().position(|t| t.tid == tid) else {
            return Ok(());
        };
        let t = self.tracees.remove(at);
        if !detach(self.process, t)? {
            reap(vec![tid], Duration::from_millis(100));
        }
        Ok(())
    }

    /// The process.
    pub fn process(&self) -> &'p Process {
        self.process
    }

    /// The frozen threads, main thread first.
    pub fn threads(&self) -> &[Thread] {
        &self.threads
    }

    /// The thread with `tid`.
    pub fn thread(&self, tid: u32) -> Option<&Thread> {
        self.threads.iter().find(|t| t.tid == tid)
    }

    /// How long the process has been held so far.
    pub fn frozen_for(&self) -> Duration {
        self.started.elapsed()
    }

    /// Let every thread run again (delivering any signal a thread stopped
    /// for). Returns the threads as captured and the time held. Threads that
    /// died meanwhile are skipped; the first other error is returned after
    /// every thread has been tried.
    pub fn thaw(mut self) -> Result<Thawed> {
        let result = self.thaw_all();
        let frozen_for = self.started.elapsed();
        let threads = std::mem::take(&mut self.threads);
        result.map(|()| Thawed {
            threads,
            frozen_for,
        })
    }

    fn thaw_all(&mut self) -> Result<()> {
        self.thawed = true;
        let mut first_err = None;
        let mut dying = Vec::new();
        for t in std::mem::take(&mut self.tracees) {
            let tid = t.tid;
            match detach(self.process, t) {
                Ok(true) => {}
                Ok(false) => dying.push(tid),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        let a_thread_vanished = !dying.is_empty();
        reap(dying, Duration::from_secs(1));
        if a_thread_vanished {
            release_exec_leader(self.process.pid());
        }
        first_err.map_or(Ok(()), Err)
    }
}

/// A thread that execs takes over the process's pid: if it was our tracee,
/// it is still traced by us under the leader's pid after the leader itself
/// was detached (its old tid answers ESRCH). Let it go. PTRACE_INTERRUPT
/// fails with ESRCH unless we trace `pid`, so this touches nothing else.
fn release_exec_leader(pid: u32) {
    // Not our tracee when the interrupt fails: give up at once, without a
    // wait on `pid` that could reap the exit of a child of ours (as a
    // test's target is) or hold the thaw up for nothing.
    let Some(signal) = stop_for_detach(pid, IfInterruptFails::GiveUp) else {
        return;
    };
    let _ = sys::ptrace_detach(pid, signal);
}

/// A thread's `comm` without the newline, in one `read`: the kernel prints
/// at most 15 bytes and a newline, and answers a read at offset 0 whole.
/// (Cheaper than [`Process::thread_name`]'s general file read, which matters
/// while the target is held: three system calls per thread instead of six.)
fn thread_name(process: &Process, tid: u32) -> Result<Vec<u8>> {
    use std::io::Read;
    let name = format!("task/{tid}/comm");
    let mut file = std::fs::File::from(process.open_file(&name, libc::O_RDONLY)?);
    let mut buf = [0u8; 64];
    let n = loop {
        match file.read(&mut buf) {
            Ok(n) => break n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(process.classify(e, "read", &name)),
        }
    };
    let mut comm = buf.get(..n).unwrap_or_default().to_vec();
    if comm.last() == Some(&b'\n') {
        comm.pop();
    }
    Ok(comm)
}

/// Detach one thread. `Ok(false)` when it was no longer in a stop: it was
/// killed (a thread detached before it may have started a group exit, or
/// SIGKILL arrived) and, as our tracee, waits for us to reap it.
fn detach(process: &Process, t: Tracee) -> Result<bool> {
    if t.held {
        // Its owner resumes it (and delivers its signal) after the dump.
        return Ok(true);
    }
    let signal = match t.state {
        TraceeState::Stopped(stop) => signal_to_deliver(stop),
        TraceeState::Running => {
            // Seized but its stop not collected (an error cut the freeze
            // short, possibly before its interrupt): PTRACE_DETACH needs a
            // stopped tracee, so interrupt (again, harmlessly: a failure
            // says nothing the wait does not) and collect the stop first.
            match stop_for_detach(t.tid, IfInterruptFails::WaitAnyway) {
                Some(signal) => signal,
                None => return Ok(true),
            }
        }
    };
    match sys::ptrace_detach(t.tid, signal) {
        Ok(()) => Ok(true),
        Err(e) if errno(&e) == Some(libc::ESRCH) => Ok(false),
        Err(e) => Err(process.classify(e, "PTRACE_DETACH", &format!("task/{}", t.tid))),
    }
}

/// Reap tracees that are exiting, so none lingers as a zombie only we could
/// release (which would keep its whole process from being reaped). A thread
/// found stopped again is detached.
fn reap(mut tids: Vec<u32>, limit: Duration) {
    let deadline = Instant::now().checked_add(limit);
    while !tids.is_empty() {
        tids.retain(|&tid| match sys::waitpid_nohang(tid) {
            Ok(Some(WaitStatus::Gone)) | Err(_) => false,
            Ok(Some(WaitStatus::Stopped { signal, event })) => {
                let sig = if event == 0 { signal } else { 0 };
                sys::ptrace_detach(tid, sig).is_err()
            }
            Ok(Some(WaitStatus::Other) | None) => true,
        });
        match deadline {
            Some(d) if Instant::now() <= d => {}
            _ => break,
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// What [`stop_for_detach`] does when its `PTRACE_INTERRUPT` fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IfInterruptFails {
    /// Wait for the stop all the same: the thread is known to be our
    /// tracee, maybe interrupted already.
    WaitAnyway,
    /// Return `None` without waiting: the thread may not be our tracee.
    GiveUp,
}

/// Bring a seized thread whose stop was not collected into a stop, so
/// that `PTRACE_DETACH` (which needs one) can let it go: interrupt it and
/// wait up to 500 ms for the stop. The signal to pass on at the detach
/// (0 for none), or `None` when it died or did not stop.
fn stop_for_detach(tid: u32, if_interrupt_fails: IfInterruptFails) -> Option<i32> {
    if sys::ptrace_interrupt(tid).is_err() && if_interrupt_fails == IfInterruptFails::GiveUp {
        return None;
    }
    wait_stop(tid, Duration::from_millis(500)).map(signal_to_deliver)
}

/// The signal a thread in `stop` gets when detached: the one it stopped
/// to receive, so it is not lost; none (0) after an interrupt or a group
/// stop.
fn signal_to_deliver(stop: StopKind) -> i32 {
    match stop {
        StopKind::Signal { signal } => signal,
        StopKind::Interrupted | StopKind::GroupStop { .. } => 0,
    }
}

/// Wait up to `limit` for a seized thread's stop; `None` if it died or
/// did not stop.
fn wait_stop(tid: u32, limit: Duration) -> Option<StopKind> {
    let deadline = Instant::now().checked_add(limit)?;
    loop {
        match sys::waitpid_nohang(tid) {
            Ok(Some(WaitStatus::Stopped { signal, event })) => {
                return Some(if event == PTRACE_EVENT_STOP {
                    StopKind::Interrupted
                } else {
                    StopKind::Signal { signal }
                })
            }
            Ok(Some(WaitStatus::Gone)) | Err(_) => return None,
            Ok(Some(WaitStatus::Other) | None) => {}
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_micros(100));
    }
}

impl Drop for Frozen<'_> {
    fn drop(&mut self) {
        if !self.thawed {
            let _ = self.thaw_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `release_exec_leader` acts only on a process we trace. One we do not
    /// trace but are the parent of, here one that has exited, keeps its
    /// exit status for its parent to collect: no wait on it reaps it.
    #[test]
    fn releasing_the_exec_leader_leaves_an_untraced_child_alone() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !is_zombie(pid) {
            assert!(Instant::now() < deadline, "{pid} did not exit");
            std::thread::sleep(Duration::from_millis(1));
        }
        release_exec_leader(pid);
        let status = child
            .wait()
            .expect("the child's exit status is still ours to collect");
        assert!(status.success());
    }

    fn is_zombie(pid: u32) -> bool {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let (_, after_comm) = stat.rsplit_once(')').unwrap();
        after_comm.trim_start().starts_with('Z')
    }
}
