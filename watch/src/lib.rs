//! When to dump a live process: the triggers of `coroner watch`.
//!
//! ProcDump-style triggers, done over samples of `/proc` that
//! [`coroner_proc_reader`] reads:
//!
//! - [`Sample`]: one look at a process (CPU ticks, anonymous + swap
//!   memory, threads, descriptors, its memory cgroup);
//! - [`Trigger`] / [`Condition`]: CPU over the last interval (not a
//!   lifetime average), memory above/below, growth within a window, OOM
//!   risk from the memory cgroup, threads, descriptors, a timer — each
//!   with an optional hold (`--for`);
//! - [`Evaluator`]: pure evaluation of those over timestamped samples,
//!   with the cooldown between dumps — tested without processes or clocks;
//! - [`retention`], [`naming`]: which dumps to keep and what to call them;
//! - on Linux, [`watcher::run`]: the loop that finds the processes (by pid,
//!   name glob or cgroup, each known by pid + start time), samples them,
//!   traps signals before delivery, and asks its [`watcher::Handler`] for
//!   each dump — the capture itself stays with the caller.
//!
//! ```
//! use coroner_watch::{Condition, Evaluator, Sample, Trigger};
//! use std::time::Duration;
//! let cpu = Trigger::new(Condition::CpuAbove(90.0)).held_for(Duration::from_secs(2));
//! let mut e = Evaluator::new(&[cpu], Duration::from_secs(60));
//! let at = |s| Duration::from_secs(s);
//! // 100 ticks a second is one core busy.
//! assert!(e.observe(&Sample::new(at(0), 0, 0, 1)).is_none());
//! assert!(e.observe(&Sample::new(at(1), 100, 0, 1)).is_none());
//! let firing = e.observe(&Sample::new(at(2), 200, 0, 1)).unwrap();
//! assert_eq!(firing.trigger, "cpu");
//! ```
#![deny(missing_docs)]

pub mod evaluate;
pub mod naming;
pub mod retention;
pub mod sample;
pub mod trigger;
pub mod units;

#[cfg(target_os = "linux")]
pub mod cgroup;
#[cfg(target_os = "linux")]
mod error;
#[cfg(target_os = "linux")]
pub mod sampler;
#[cfg(target_os = "linux")]
pub mod target;
#[cfg(target_os = "linux")]
pub mod watcher;

#[cfg(target_os = "linux")]
pub use error::WatchError;

/// The README's example, compiled and run as a doc test so it stays true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
pub use evaluate::Evaluator;
pub use sample::{CgroupMemory, Sample};
pub use trigger::{Condition, Firing, Measure, Trigger};
