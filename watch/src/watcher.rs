//! The watch loop: find the target's processes, sample them every poll,
//! evaluate the triggers, and hand each dump to the caller, who owns the
//! capture (this crate knows nothing of dump formats).
//!
//! With signal triggers, each process is kept traced ([`SignalTrap`]);
//! the time between polls is spent serving its ptrace events. A dump for
//! any trigger then goes through the trap: every thread is held by it and
//! lent to the caller's capture ([`with_held_threads`]), and released
//! afterwards — for a caught signal that delivers it, so its handler runs
//! once, after the dump.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use coroner_proc_reader::{with_held_threads, SignalTrap};

use crate::cgroup::{CgroupMounts, MemoryCgroup};
use crate::error::WatchError;
use crate::evaluate::Evaluator;
use crate::sample::CgroupMemory;
use crate::sampler::{sample_with, Needs};
use crate::target::{self, Found, Identity, Target};
use crate::trigger::{Condition, Firing, Trigger};

/// What to watch, for what, and how often.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// The processes.
    pub target: Target,
    /// Conditions over samples.
    pub triggers: Vec<Trigger>,
    /// Signals to dump on before delivery (`--signal`).
    pub signals: Vec<i32>,
    /// Sampling interval.
    pub poll: Duration,
    /// Dumps in all before the watch ends (`-n`); `None`: no end.
    pub count: Option<u64>,
    /// Least time between two dumps of one process.
    pub cooldown: Duration,
}

impl Config {
    /// A config with a 1 s poll, no count and no cooldown.
    pub fn new(target: Target, triggers: Vec<Trigger>, signals: Vec<i32>) -> Config {
        Config {
            target,
            triggers,
            signals,
            poll: Duration::from_secs(1),
            count: None,
            cooldown: Duration::ZERO,
        }
    }
}

/// A dump the caller is asked to take now.
#[derive(Debug)]
#[non_exhaustive]
pub struct DumpRequest<'a> {
    /// The process.
    pub pid: u32,
    /// Its name (comm).
    pub name: &'a str,
    /// Why.
    pub firing: &'a Firing,
    /// The number this dump would have in the watch, from 1.
    pub number: u64,
}

/// What became of a requested dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DumpOutcome {
    /// Written and kept: it counts towards `-n`.
    Written,
    /// Not taken or not kept (a retention limit): does not count.
    Skipped,
    /// The capture failed: does not count.
    Failed,
}

/// Something the operator may want to hear about.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A process is now watched.
    Watching {
        /// Its pid.
        pid: u32,
        /// Its name.
        name: &'a str,
    },
    /// No process matches yet.
    Waiting,
    /// A watched process exited.
    Exited {
        /// Its pid.
        pid: u32,
        /// Its name.
        name: &'a str,
    },
    /// A trigger fired but the process is cooling down from its last dump
    /// (only reported for signals: a condition is simply re-evaluated).
    CoolingDown {
        /// The pid.
        pid: u32,
        /// Why it would have been dumped.
        firing: &'a Firing,
    },
    /// A process could not be sampled or traced; it is dropped.
    Problem {
        /// The pid.
        pid: u32,
        /// What went wrong.
        message: String,
    },
}

/// The caller's side of a watch.
pub trait Handler {
    /// Take the dump (the process is held by the signal trap when there is
    /// one, so a capture of it must run on this thread).
    fn dump(&mut self, request: &DumpRequest<'_>) -> DumpOutcome;
    /// Hear about an event.
    fn event(&mut self, event: Event<'_>);
    /// Whether to end the watch now (SIGINT, SIGTERM).
    fn should_stop(&mut self) -> bool;
}

/// Why a watch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum End {
    /// `-n` dumps were written.
    CountReached,
    /// `--pid`'s process exited.
    TargetExited {
        /// Its pid.
        pid: u32,
    },
    /// [`Handler::should_stop`] said so.
    Stopped,
}

struct Watched {
    found: Found,
    evaluator: Evaluator,
    trap: Option<SignalTrap>,
    cgroup: Option<MemoryCgroup>,
}

/// How long one trap is served before the next gets its turn.
const TRAP_SLICE: Duration = Duration::from_millis(20);

/// Without traps, how often a wait between polls looks at `should_stop`.
const STOP_CHECK: Duration = Duration::from_millis(50);

struct Loop<'h> {
    config: Config,
    handler: &'h mut dyn Handler,
    origin: Instant,
    needs: Needs,
    mounts: CgroupMounts,
    watched: BTreeMap<Identity, Watched>,
    written: u64,
    announced_waiting: bool,
}

/// Run a watch until it ends.
pub fn run(config: Config, handler: &mut dyn Handler) -> Result<End, WatchError> {
    let needs = Needs {
        fds: config
            .triggers
            .iter()
            .any(|t| matches!(t.condition, Condition::FdsAbove(_))),
        cgroup: config
            .triggers
            .iter()
            .any(|t| matches!(t.condition, Condition::OomRisk(_))),
    };
    let mounts = CgroupMounts::read();
    if let Target::Cgroup(path) = &config.target {
        if mounts.resolve(path).is_none() {
            return Err(WatchError::NoCgroup { path: path.clone() });
        }
    }
    let mut l = Loop {
        config,
        handler,
        origin: Instant::now(),
        needs,
        mounts,
        watched: BTreeMap::new(),
        written: 0,
        announced_waiting: false,
    };
    if let Target::Pid(pid) = l.config.target {
        let process = coroner_proc_reader::Process::open(pid)
            .map_err(|source| WatchError::Open { pid, source })?;
        drop(process);
        if target::open(pid).is_none() {
            return Err(WatchError::Open {
                pid,
                source: coroner_proc_reader::Error::ProcessGone {
                    pid,
                    path: format!("/proc/{pid}").into(),
                    zombie: true,
                },
            });
        }
    }
    l.run()
}

impl Loop<'_> {
    fn run(&mut self) -> Result<End, WatchError> {
        loop {
            let started = Instant::now();
            if self.handler.should_stop() {
                return Ok(End::Stopped);
            }
            self.discover()?;
            if let Some(end) = self.poll() {
                return Ok(end);
            }
            if let Some(end) = self.wait_until(started + self.config.poll) {
                return Ok(end);
            }
        }
    }

    /// Add the target's new processes; drop the ones that are gone.
    fn discover(&mut self) -> Result<(), WatchError> {
        let pids = self.config.target.candidates(&self.mounts);
        for pid in pids {
            if self.watched.keys().any(|i| i.pid == pid) {
                continue;
            }
            let Some(found) = target::open(pid) else {
                continue;
            };
            let trap = if self.config.signals.is_empty() {
                None
            } else {
                match SignalTrap::attach(&found.process, &self.config.signals) {
                    Ok(t) => Some(t),
                    Err(source) if matches!(self.config.target, Target::Pid(_)) => {
                        return Err(WatchError::Trap { pid, source })
                    }
                    Err(e) => {
                        self.handler.event(Event::Problem {
                            pid,
                            message: format!("cannot trace it for the signal trigger: {e}"),
                        });
                        continue;
                    }
                }
            };
            let cgroup = if self.needs.cgroup {
                found
                    .process
                    .cgroups()
                    .ok()
                    .and_then(|entries| self.mounts.memory_dir(&entries))
            } else {
                None
            };
            self.handler.event(Event::Watching {
                pid,
                name: &found.name,
            });
            self.announced_waiting = false;
            self.watched.insert(
                found.identity,
                Watched {
                    found,
                    evaluator: Evaluator::new(&self.config.triggers, self.config.cooldown),
                    trap,
                    cgroup,
                },
            );
        }
        if self.watched.is_empty() && !self.announced_waiting {
            self.handler.event(Event::Waiting);
            self.announced_waiting = true;
        }
        Ok(())
    }

    /// Sample every process and dump the ones whose trigger fires.
    fn poll(&mut self) -> Option<End> {
        let ids: Vec<Identity> = self.watched.keys().copied().collect();
        // The processes of one cgroup (a container's) share its files:
        // read them once per poll.
        let mut cgroups: BTreeMap<MemoryCgroup, Option<CgroupMemory>> = BTreeMap::new();
        for id in ids {
            let Some(w) = self.watched.get_mut(&id) else {
                continue;
            };
            let reading = w
                .cgroup
                .as_ref()
                .and_then(|c| cgroups.entry(c.clone()).or_insert_with(|| c.read()).clone());
            // One `stat` read tells both the figures and whether it is
            // still the same, live process.
            let s = match sample_with(&w.found.process, self.origin, self.needs, reading) {
                Ok(s) if s.exited || s.start_time != id.start_time => return self.gone(id),
                Ok(s) => s,
                Err(_) if !target::still_there(&w.found.process, id) => return self.gone(id),
                Err(e) => {
                    self.handler.event(Event::Problem {
                        pid: id.pid,
                        message: format!("cannot sample it: {e}"),
                    });
                    continue;
                }
            };
            if let Some(firing) = w.evaluator.observe(&s) {
                if let Some(end) = self.dump(id, &firing) {
                    return Some(end);
                }
            }
        }
        None
    }

    /// A watched process is gone: say so; a `--pid` watch ends.
    fn gone(&mut self, id: Identity) -> Option<End> {
        let w = self.watched.remove(&id)?;
        self.handler.event(Event::Exited {
            pid: id.pid,
            name: &w.found.name,
        });
        match self.config.target {
            Target::Pid(pid) => Some(End::TargetExited { pid }),
            _ => None,
        }
    }

    /// Take a dump of `id` for `firing`.
    fn dump(&mut self, id: Identity, firing: &Firing) -> Option<End> {
        if self.config.count.is_some_and(|n| self.written >= n) {
            return Some(End::CountReached);
        }
        let number = self.written.saturating_add(1);
        let w = self.watched.get_mut(&id)?;
        let request = DumpRequest {
            pid: id.pid,
            name: &w.found.name,
            firing,
            number,
        };
        let outcome = match &mut w.trap {
            Some(trap) => {
                let outcome = match trap.stop_all() {
                    Ok(()) => {
                        let held = trap.held();
                        let handler = &mut *self.handler;
                        with_held_threads(id.pid, &held, || handler.dump(&request))
                    }
                    Err(e) => {
                        self.handler.event(Event::Problem {
                            pid: id.pid,
                            message: format!("cannot hold it for the dump: {e}"),
                        });
                        DumpOutcome::Failed
                    }
                };
                trap.resume();
                outcome
            }
            None => {
                // A pid reused since the sample would be another process:
                // the capture opens the pid anew, so look once more.
                if !target::still_there(&w.found.process, id) {
                    return self.gone(id);
                }
                self.handler.dump(&request)
            }
        };
        if let Some(w) = self.watched.get_mut(&id) {
            w.evaluator.dumped(self.origin.elapsed());
        }
        if outcome == DumpOutcome::Written {
            self.written = number;
            if self.config.count.is_some_and(|n| self.written >= n) {
                return Some(End::CountReached);
            }
        }
        None
    }

    /// Until `deadline`: serve the signal traps (dumping on a caught
    /// signal), or sleep, looking at `should_stop` regularly.
    fn wait_until(&mut self, deadline: Instant) -> Option<End> {
        loop {
            if self.handler.should_stop() {
                return Some(End::Stopped);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            let left = deadline - now;
            let trapped: Vec<Identity> = self
                .watched
                .iter()
                .filter(|(_, w)| w.trap.is_some())
                .map(|(id, _)| *id)
                .collect();
            if trapped.is_empty() {
                std::thread::sleep(left.min(STOP_CHECK));
                continue;
            }
            for id in trapped {
                let Some(trap) = self.watched.get_mut(&id).and_then(|w| w.trap.as_mut()) else {
                    continue;
                };
                let caught = match trap.wait(left.min(TRAP_SLICE)) {
                    Ok(c) => c,
                    Err(e) => {
                        self.handler.event(Event::Problem {
                            pid: id.pid,
                            message: format!("signal trap: {e}"),
                        });
                        None
                    }
                };
                if !trap.is_alive() {
                    if let Some(end) = self.gone(id) {
                        return Some(end);
                    }
                    continue;
                }
                let Some(caught) = caught else { continue };
                let firing = Firing::signal(caught.signal);
                let cooling = self
                    .watched
                    .get(&id)
                    .is_some_and(|w| w.evaluator.cooling_down(self.origin.elapsed()));
                if cooling || self.config.count.is_some_and(|n| self.written >= n) {
                    self.handler.event(Event::CoolingDown {
                        pid: id.pid,
                        firing: &firing,
                    });
                    if let Some(trap) = self.watched.get_mut(&id).and_then(|w| w.trap.as_mut()) {
                        trap.resume();
                    }
                    continue;
                }
                if let Some(end) = self.dump(id, &firing) {
                    return Some(end);
                }
            }
        }
    }
}
