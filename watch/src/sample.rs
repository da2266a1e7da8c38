//! What one look at a process gives: the figures the triggers compare.

use std::time::Duration;

use coroner_proc_reader::parse::cgroup_files::{MemoryEvents, Pressure};

/// One sample of a process, taken at `at` on a monotonic clock (any
/// origin: only differences count, so tests use a fake clock).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Sample {
    /// When it was taken.
    pub at: Duration,
    /// The process's start time (`stat`'s starttime, clock ticks after
    /// boot): with the pid, who was sampled; a reused pid shows another.
    pub start_time: u64,
    /// Whether the process had exited (a zombie) when sampled.
    pub exited: bool,
    /// CPU time used so far, user + system, in clock ticks (`stat`'s
    /// utime + stime).
    pub cpu_ticks: u64,
    /// Clock ticks per second (`sysconf(_SC_CLK_TCK)`, 100 on Linux).
    pub ticks_per_second: u64,
    /// The memory measure of `--memory` and `--growth`: anonymous resident
    /// memory plus swap (`status`' RssAnon + VmSwap; VmRSS + VmSwap on
    /// kernels without RssAnon). This is where leaks show: file-backed
    /// pages come and go with the page cache.
    pub memory: u64,
    /// Threads (`stat`'s num_threads).
    pub threads: u64,
    /// Open file descriptors, when asked for (it costs a directory read).
    pub fds: Option<u64>,
    /// The process's memory cgroup, when asked for and found.
    pub cgroup: Option<CgroupMemory>,
}

/// A memory cgroup's usage against its limit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CgroupMemory {
    /// Bytes charged (v2 `memory.current`, v1 `memory.usage_in_bytes`).
    pub usage: u64,
    /// The tightest limit (v2 the lower of `memory.max` and `memory.high`,
    /// v1 `memory.limit_in_bytes`); `None` when unlimited.
    pub limit: Option<u64>,
    /// Boundary events so far (v2 `memory.events`, v1 `memory.oom_control`).
    pub events: MemoryEvents,
    /// Memory pressure (v2 `memory.pressure`; v1 has none).
    pub pressure: Option<Pressure>,
}

impl Sample {
    /// A sample at `at` with the given CPU ticks (100 per second), memory
    /// and threads; for tests and examples.
    pub fn new(at: Duration, cpu_ticks: u64, memory: u64, threads: u64) -> Sample {
        Sample {
            at,
            start_time: 0,
            exited: false,
            cpu_ticks,
            ticks_per_second: 100,
            memory,
            threads,
            fds: None,
            cgroup: None,
        }
    }

    /// With an fd count.
    pub fn with_fds(mut self, fds: u64) -> Sample {
        self.fds = Some(fds);
        self
    }

    /// With a memory cgroup reading.
    pub fn with_cgroup(mut self, cgroup: CgroupMemory) -> Sample {
        self.cgroup = Some(cgroup);
        self
    }

    /// CPU use between `earlier` and this sample, in percent of one core
    /// (200 = two cores busy); `None` when no time passed.
    pub fn cpu_percent_since(&self, earlier: &Sample) -> Option<f64> {
        let wall = self.at.checked_sub(earlier.at)?.as_secs_f64();
        if wall <= 0.0 || self.ticks_per_second == 0 {
            return None;
        }
        let ticks = self.cpu_ticks.saturating_sub(earlier.cpu_ticks) as f64;
        Some(ticks / self.ticks_per_second as f64 / wall * 100.0)
    }
}

impl CgroupMemory {
    /// Usage and limit, for tests and examples.
    pub fn new(usage: u64, limit: Option<u64>) -> CgroupMemory {
        CgroupMemory {
            usage,
            limit,
            events: MemoryEvents::default(),
            pressure: None,
        }
    }

    /// With boundary events.
    pub fn with_events(mut self, events: MemoryEvents) -> CgroupMemory {
        self.events = events;
        self
    }
}
