//! Catching chosen signals of a process before its handlers run.
//!
//! [`SignalTrap::attach`] seizes every thread (`PTRACE_SEIZE` with
//! `PTRACE_O_TRACECLONE`, so new threads are traced from their first
//! instruction, and `PTRACE_O_TRACEEXEC`; never SIGSTOP, never
//! `PTRACE_O_EXITKILL`: if the watcher dies the kernel detaches and the
//! process runs on). Each signal the kernel is about to deliver stops its
//! thread in a signal-delivery stop; [`SignalTrap::wait`] passes every
//! other signal on unchanged, and on a chosen one stops all the other
//! threads too and reports it. The process is then held as a freeze would
//! hold it: [`SignalTrap::held`] lends the stopped threads to a capture
//! ([`crate::with_held_threads`]), and [`SignalTrap::resume`] lets every
//! thread go, delivering the caught signal with its original `siginfo` —
//! so the handler runs once, after the dump, as if nothing had happened.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::freeze::StopKind;
use crate::process::{proc_path, Process};
use crate::sys::{self, WaitStatus, SIGINFO_SIZE};

const PTRACE_EVENT_CLONE: i32 = 3;
const PTRACE_EVENT_EXEC: i32 = 4;
const PTRACE_EVENT_STOP: i32 = 128;

/// Longest pause between polls for tracee events.
const POLL_PAUSE: Duration = Duration::from_millis(2);

/// How long stopping every thread after a catch may take.
const STOP_ALL_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Running (or in a group stop we let it sit in with `PTRACE_LISTEN`).
    Running,
    /// Held in a ptrace stop by us.
    Stopped(StopKind),
}

/// A signal caught on its way to a thread; every thread is stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Caught {
    /// The thread the kernel was delivering it to.
    pub tid: u32,
    /// The signal number.
    pub signal: i32,
    /// Its raw `siginfo_t` (sender, code), as the handler will see it.
    pub siginfo: Option<[u8; SIGINFO_SIZE]>,
}

/// A process whose chosen signals are caught before delivery; see the
/// module documentation. Like [`crate::Frozen`] it belongs to the thread
/// that attached (ptrace ties tracees to the tracing thread), and dropping
/// it detaches every thread, delivering any signal one was stopped for.
#[derive(Debug)]
pub struct SignalTrap {
    process: Process,
    signals: Vec<i32>,
    threads: BTreeMap<u32, State>,
    _not_send: std::marker::PhantomData<*const ()>,
}

fn errno(e: &std::io::Error) -> Option<i32> {
    e.raw_os_error()
}

impl SignalTrap {
    /// Trace every thread of `process` and catch `signals` (numbers such as
    /// `libc::SIGUSR1`). SIGKILL and SIGSTOP cannot be caught; they are
    /// refused.
    pub fn attach(process: &Process, signals: &[i32]) -> Result<SignalTrap> {
        let pid = process.pid();
        let process = process.try_clone()?;
        if let Some(&bad) = signals
            .iter()
            .find(|&&s| s == libc::SIGKILL || s == libc::SIGSTOP || !(1..=64).contains(&s))
        {
            return Err(Error::Io {
                pid,
                path: proc_path(pid, ""),
                op: "PTRACE_SEIZE",
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("signal {bad} cannot be caught before delivery (SIGKILL and SIGSTOP never reach a tracer)"),
                ),
            });
        }
        let mut trap = SignalTrap {
            process,
            signals: signals.to_vec(),
            threads: BTreeMap::new(),
            _not_send: std::marker::PhantomData,
        };
        let options = libc::PTRACE_O_TRACECLONE | libc::PTRACE_O_TRACEEXEC;
        // Threads cloned by a seized thread are traced by the kernel; the
        // others show up in a later listing. Stop when a listing adds none.
        loop {
            let mut added = false;
            for tid in trap.process.tasks()? {
                if trap.threads.contains_key(&tid) {
                    continue;
                }
                match sys::ptrace_seize_with(tid, options) {
                    Ok(()) => {
                        trap.threads.insert(tid, State::Running);
                        added = true;
                    }
                    // Gone, or exiting; or auto-attached by TRACECLONE
                    // before we got to it (EPERM), learnt from its parent's
                    // clone event.
                    Err(e) if matches!(errno(&e), Some(libc::ESRCH | libc::EPERM)) => {
                        if errno(&e) == Some(libc::EPERM) && trap.threads.is_empty() {
                            return Err(trap.process.classify(
                                e,
                                "PTRACE_SEIZE",
                                &format!("task/{tid}"),
                            ));
                        }
                    }
                    Err(e) => {
                        return Err(trap.process.classify(
                            e,
                            "PTRACE_SEIZE",
                            &format!("task/{tid}"),
                        ))
                    }
                }
            }
            if !added {
                break;
            }
        }
        if trap.threads.is_empty() {
            return Err(Error::ProcessGone {
                pid,
                path: proc_path(pid, "task"),
                zombie: false,
            });
        }
        Ok(trap)
    }

    /// The process.
    pub fn process(&self) -> &Process {
        &self.process
    }

    /// Whether any thread is still traced (false once the process exited).
    pub fn is_alive(&self) -> bool {
        !self.threads.is_empty()
    }

    /// Handle the threads' events for up to `timeout`: other signals are
    /// delivered unchanged, new threads traced, group stops respected.
    /// Returns the first chosen signal caught, with every thread then
    /// stopped (see [`SignalTrap::held`], [`SignalTrap::resume`]); `None`
    /// when the time ran out or the process exited.
    pub fn wait(&mut self, timeout: Duration) -> Result<Option<Caught>> {
        let deadline = Instant::now().checked_add(timeout);
        loop {
            if let Some(caught) = self.poll_once()? {
                self.stop_all()?;
                return Ok(Some(caught));
            }
            if self.threads.is_empty() {
                return Ok(None);
            }
            match deadline {
                Some(d) if Instant::now() < d => std::thread::sleep(POLL_PAUSE),
                _ => return Ok(None),
            }
        }
    }

    /// One pass over the threads' pending events; the first chosen signal
    /// is returned with its thread left in its signal-delivery stop.
    fn poll_once(&mut self) -> Result<Option<Caught>> {
        let tids: Vec<u32> = self.threads.keys().copied().collect();
        for tid in tids {
            if self.threads.get(&tid) != Some(&State::Running) {
                continue;
            }
            let Some(stop) = self.next_event(tid)? else {
                continue;
            };
            if let StopKind::Signal { signal } = stop {
                if self.signals.contains(&signal) {
                    self.threads.insert(tid, State::Stopped(stop));
                    return Ok(Some(Caught {
                        tid,
                        signal,
                        siginfo: sys::ptrace_getsiginfo(tid).ok(),
                    }));
                }
            }
            self.let_go(tid, stop);
        }
        Ok(None)
    }

    /// Collect `tid`'s next event. Events that only need bookkeeping (a
    /// clone, an exec, an exit) are handled here and give `None`, as does
    /// no event; a stop that the caller must decide on is returned with
    /// the thread left in it.
    fn next_event(&mut self, tid: u32) -> Result<Option<StopKind>> {
        match sys::waitpid_nohang(tid) {
            Ok(None) | Ok(Some(WaitStatus::Other)) => Ok(None),
            Ok(Some(WaitStatus::Gone)) | Err(_) => {
                self.threads.remove(&tid);
                Ok(None)
            }
            Ok(Some(WaitStatus::Stopped { signal, event })) => match event {
                0 => Ok(Some(StopKind::Signal { signal })),
                PTRACE_EVENT_CLONE => {
                    if let Ok(Ok(new)) = sys::ptrace_geteventmsg(tid).map(u32::try_from) {
                        self.threads.entry(new).or_insert(State::Running);
                    }
                    self.cont(tid, 0);
                    Ok(None)
                }
                PTRACE_EVENT_EXEC => {
                    // Every other thread is gone; the exec'ing one now has
                    // the leader's id, which is the one reporting.
                    self.threads.retain(|&t, _| t == tid);
                    self.cont(tid, 0);
                    Ok(None)
                }
                PTRACE_EVENT_STOP if signal == libc::SIGTRAP => Ok(Some(StopKind::Interrupted)),
                PTRACE_EVENT_STOP => Ok(Some(StopKind::GroupStop { signal })),
                _ => {
                    self.cont(tid, 0);
                    Ok(None)
                }
            },
        }
    }

    /// Resume `tid` from `stop` as if never traced: a signal is delivered,
    /// a group stop kept until SIGCONT.
    fn let_go(&mut self, tid: u32, stop: StopKind) {
        self.threads.insert(tid, State::Running);
        // An error is ESRCH: killed meanwhile; its exit is collected later.
        let _ = match stop {
            StopKind::Signal { signal } => sys::ptrace_cont(tid, signal),
            StopKind::GroupStop { .. } => sys::ptrace_listen(tid),
            StopKind::Interrupted => sys::ptrace_cont(tid, 0),
        };
    }

    fn cont(&self, tid: u32, signal: i32) {
        let _ = sys::ptrace_cont(tid, signal);
    }

    /// Stop every running thread (`PTRACE_INTERRUPT`) and wait for the
    /// stops, tracing threads created meanwhile. Called after a catch, or
    /// directly to hold the process for a dump taken for another reason.
    pub fn stop_all(&mut self) -> Result<()> {
        let pid = self.process.pid();
        let deadline = Instant::now().checked_add(STOP_ALL_TIMEOUT);
        let mut interrupted: Vec<u32> = Vec::new();
        loop {
            let running: Vec<u32> = self
                .threads
                .iter()
                .filter(|(_, s)| **s == State::Running)
                .map(|(t, _)| *t)
                .collect();
            if running.is_empty() {
                return Ok(());
            }
            for &tid in &running {
                if !interrupted.contains(&tid) {
                    let _ = sys::ptrace_interrupt(tid);
                    interrupted.push(tid);
                }
            }
            for tid in running {
                if let Some(stop) = self.next_event(tid)? {
                    self.threads.insert(tid, State::Stopped(stop));
                }
            }
            if deadline.is_some_and(|d| Instant::now() > d) {
                return Err(Error::FreezeTimeout {
                    pid,
                    tid: pid,
                    path: proc_path(pid, "task"),
                    waited: STOP_ALL_TIMEOUT,
                });
            }
            std::thread::sleep(Duration::from_micros(100));
        }
    }

    /// The stopped threads and their stops, for
    /// [`crate::with_held_threads`].
    pub fn held(&self) -> Vec<(u32, StopKind)> {
        self.threads
            .iter()
            .filter_map(|(&tid, &s)| match s {
                State::Stopped(stop) => Some((tid, stop)),
                State::Running => None,
            })
            .collect()
    }

    /// Let every stopped thread run on; a caught signal is delivered now.
    pub fn resume(&mut self) {
        let stopped = self.held();
        for (tid, stop) in stopped {
            self.let_go(tid, stop);
        }
    }

    /// Stop tracing: every thread runs on untraced, any signal it was
    /// stopped for delivered.
    pub fn detach(mut self) -> Result<()> {
        self.detach_all()
    }

    fn detach_all(&mut self) -> Result<()> {
        if self.threads.is_empty() {
            return Ok(());
        }
        // PTRACE_DETACH needs a ptrace stop: hold everyone first.
        let stopped = self.stop_all();
        for (tid, state) in std::mem::take(&mut self.threads) {
            let signal = match state {
                State::Stopped(StopKind::Signal { signal }) => signal,
                _ => 0,
            };
            let _ = sys::ptrace_detach(tid, signal);
        }
        stopped
    }
}

impl Drop for SignalTrap {
    fn drop(&mut self) {
        let _ = self.detach_all();
    }
}
