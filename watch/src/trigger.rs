//! The conditions `coroner watch` dumps on, and what a firing reports.

use std::fmt;
use std::time::Duration;

use crate::units::{show_duration, show_size};

/// One condition, with its threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Condition {
    /// CPU over the last sampling interval at or above this percentage of
    /// one core (ProcDump's `-c` averages over the whole lifetime instead).
    CpuAbove(f64),
    /// CPU over the last interval below this percentage (`-cl`).
    CpuBelow(f64),
    /// The memory measure (anonymous + swap, see [`crate::Sample::memory`])
    /// at or above this many bytes (`-m`).
    MemoryAbove(u64),
    /// The memory measure below this many bytes (`-ml`).
    MemoryBelow(u64),
    /// The memory measure grew by at least `bytes` within `within`.
    Growth {
        /// How much.
        bytes: u64,
        /// Within how long.
        within: Duration,
    },
    /// The process's memory cgroup is within this percentage of its limit,
    /// or reports that it hit its limit (v2 `max`/`oom` events, v1
    /// `under_oom`) or reclaim above `memory.high` (v2 `high` events) since
    /// the last sample, or memory pressure (PSI `some avg10`) of at least
    /// [`OOM_RISK_PRESSURE`] hundredths of a percent.
    OomRisk(f64),
    /// Threads at or above this count (`-tc`).
    ThreadsAbove(u64),
    /// Open file descriptors at or above this count (`-fc`).
    FdsAbove(u64),
    /// Every so often, whatever the figures.
    Every(Duration),
}

/// Memory pressure that `--oom-risk` counts as a risk: 10% of the last
/// 10 s some task of the cgroup was stalled waiting for memory.
pub const OOM_RISK_PRESSURE: u32 = 1000;

impl Condition {
    /// The name a dump's file and event lines use: `cpu`, `cpu-below`,
    /// `memory`, `memory-below`, `growth`, `oom-risk`, `threads`, `fds`,
    /// `timer` (and `signal` for the signal trigger, which is not a
    /// condition over samples).
    pub fn name(&self) -> &'static str {
        match self {
            Condition::CpuAbove(_) => "cpu",
            Condition::CpuBelow(_) => "cpu-below",
            Condition::MemoryAbove(_) => "memory",
            Condition::MemoryBelow(_) => "memory-below",
            Condition::Growth { .. } => "growth",
            Condition::OomRisk(_) => "oom-risk",
            Condition::ThreadsAbove(_) => "threads",
            Condition::FdsAbove(_) => "fds",
            Condition::Every(_) => "timer",
        }
    }

    /// The threshold as a [`Measure`].
    pub fn threshold(&self) -> Measure {
        match *self {
            Condition::CpuAbove(p) | Condition::CpuBelow(p) | Condition::OomRisk(p) => {
                Measure::Percent(p)
            }
            Condition::MemoryAbove(b) | Condition::MemoryBelow(b) => Measure::Bytes(b),
            Condition::Growth { bytes, within } => Measure::Growth { bytes, within },
            Condition::ThreadsAbove(n) | Condition::FdsAbove(n) => Measure::Count(n),
            Condition::Every(d) => Measure::Duration(d),
        }
    }
}

/// A condition and how long it must hold before it fires (`--for`; zero:
/// at the first sample that shows it).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Trigger {
    /// The condition.
    pub condition: Condition,
    /// How long it must hold.
    pub hold: Duration,
}

impl Trigger {
    /// A trigger that fires as soon as `condition` holds.
    pub fn new(condition: Condition) -> Trigger {
        Trigger {
            condition,
            hold: Duration::ZERO,
        }
    }

    /// The same trigger, firing only once the condition held for `hold`.
    pub fn held_for(mut self, hold: Duration) -> Trigger {
        self.hold = hold;
        self
    }
}

/// A measured value or a threshold, printable for an operator.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Measure {
    /// A percentage (of one core for CPU, of the limit for the cgroup).
    Percent(f64),
    /// Bytes.
    Bytes(u64),
    /// Growth of `bytes` within `within`.
    Growth {
        /// How much.
        bytes: u64,
        /// Within how long.
        within: Duration,
    },
    /// A count (threads, descriptors).
    Count(u64),
    /// A time span.
    Duration(Duration),
    /// A signal number.
    Signal(i32),
    /// A memory cgroup event (`max`, `high`, `oom`) or pressure report.
    Event(&'static str),
}

impl Measure {
    /// The value as a JSON-friendly number (percent, bytes, count, seconds,
    /// signal number); `None` for an event.
    pub fn number(&self) -> Option<f64> {
        match *self {
            Measure::Percent(p) => Some(p),
            Measure::Bytes(b) | Measure::Growth { bytes: b, .. } | Measure::Count(b) => {
                Some(b as f64)
            }
            Measure::Duration(d) => Some(d.as_secs_f64()),
            Measure::Signal(s) => Some(f64::from(s)),
            Measure::Event(_) => None,
        }
    }
}

impl fmt::Display for Measure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Measure::Percent(p) => write!(f, "{p:.1}%"),
            Measure::Bytes(b) => f.write_str(&show_size(b)),
            Measure::Growth { bytes, within } => {
                write!(f, "{}/{}", show_size(bytes), show_duration(within))
            }
            Measure::Count(n) => write!(f, "{n}"),
            Measure::Duration(d) => f.write_str(&show_duration(d)),
            Measure::Signal(s) => write!(f, "signal {s}"),
            Measure::Event(e) => f.write_str(e),
        }
    }
}

/// A trigger that fired: which, what was measured, against what.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Firing {
    /// The trigger's name ([`Condition::name`], or `signal`).
    pub trigger: &'static str,
    /// The value that crossed the threshold.
    pub measured: Measure,
    /// The threshold.
    pub threshold: Measure,
    /// How long the condition had held (zero without `--for`).
    pub held: Duration,
}

impl Firing {
    /// The firing of a caught signal.
    pub fn signal(signal: i32) -> Firing {
        Firing {
            trigger: "signal",
            measured: Measure::Signal(signal),
            threshold: Measure::Signal(signal),
            held: Duration::ZERO,
        }
    }
}
