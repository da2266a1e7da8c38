//! Deciding, sample by sample, whether a process should be dumped now.
//!
//! Pure: an [`Evaluator`] sees [`Sample`]s with their timestamps and never
//! reads a clock, so every rule — CPU over the interval, `--for` holds,
//! growth windows, timers, cooldown — is tested with synthetic samples.

use std::collections::VecDeque;
use std::time::Duration;

use crate::sample::Sample;
use crate::trigger::{Condition, Firing, Measure, Trigger, OOM_RISK_PRESSURE};

/// The state of one trigger for one process.
#[derive(Debug, Clone)]
struct TriggerState {
    trigger: Trigger,
    /// Since when the condition has held without a break.
    holding_since: Option<Duration>,
    /// `--growth`: (time, memory) of the samples within the window.
    window: VecDeque<(Duration, u64)>,
    /// `--interval`: when the timer is next due.
    due: Option<Duration>,
}

/// Evaluates the triggers for one process.
#[derive(Debug, Clone)]
pub struct Evaluator {
    states: Vec<TriggerState>,
    cooldown: Duration,
    previous: Option<Sample>,
    /// No firing before this time (after a dump, `--cooldown`).
    quiet_until: Option<Duration>,
}

/// What a condition shows in one sample: whether it holds, the measured
/// value, and since when the evidence runs (the interval's start for CPU).
struct Reading {
    holds: bool,
    measured: Measure,
    evidence_from: Duration,
}

impl Evaluator {
    /// An evaluator of `triggers`, with `cooldown` between two dumps of the
    /// process.
    pub fn new(triggers: &[Trigger], cooldown: Duration) -> Evaluator {
        Evaluator {
            states: triggers
                .iter()
                .map(|&trigger| TriggerState {
                    trigger,
                    holding_since: None,
                    window: VecDeque::new(),
                    due: None,
                })
                .collect(),
            cooldown,
            previous: None,
            quiet_until: None,
        }
    }

    /// Whether a dump now would fall within the cooldown of the last one.
    pub fn cooling_down(&self, now: Duration) -> bool {
        self.quiet_until.is_some_and(|until| now < until)
    }

    /// Take in a sample; the first trigger that fires, if any. Samples must
    /// come in time order. Conditions are tracked during a cooldown too
    /// (a `--for` hold keeps counting), but nothing fires then.
    pub fn observe(&mut self, sample: &Sample) -> Option<Firing> {
        let previous = self.previous.replace(sample.clone());
        let quiet = self.cooling_down(sample.at);
        let mut fired = None;
        for state in &mut self.states {
            let Some(reading) = read(state, previous.as_ref(), sample) else {
                state.holding_since = None;
                continue;
            };
            if !reading.holds {
                state.holding_since = None;
                continue;
            }
            let since = *state.holding_since.get_or_insert(reading.evidence_from);
            let held = sample.at.saturating_sub(since);
            if held < state.trigger.hold || quiet || fired.is_some() {
                continue;
            }
            fired = Some(Firing {
                trigger: state.trigger.condition.name(),
                measured: reading.measured,
                threshold: state.trigger.condition.threshold(),
                held: if state.trigger.hold.is_zero() {
                    Duration::ZERO
                } else {
                    held
                },
            });
        }
        fired
    }

    /// A dump was taken at `at` (for any trigger, a signal included): the
    /// cooldown starts, holds start over, growth is measured afresh, the
    /// timer counts from now.
    pub fn dumped(&mut self, at: Duration) {
        self.quiet_until = at.checked_add(self.cooldown);
        for state in &mut self.states {
            state.holding_since = None;
            state.window.clear();
            if let (Condition::Every(every), Some(_)) = (state.trigger.condition, state.due) {
                state.due = at.checked_add(every);
            }
        }
    }
}

/// What `state`'s condition shows in `sample`; `None` when it cannot tell
/// yet (the first sample for CPU, no fd count, no cgroup).
fn read(state: &mut TriggerState, previous: Option<&Sample>, sample: &Sample) -> Option<Reading> {
    let now = sample.at;
    let point = |holds: bool, measured: Measure| Reading {
        holds,
        measured,
        evidence_from: now,
    };
    match state.trigger.condition {
        Condition::CpuAbove(limit) | Condition::CpuBelow(limit) => {
            let previous = previous?;
            let cpu = sample.cpu_percent_since(previous)?;
            let holds = match state.trigger.condition {
                Condition::CpuAbove(_) => cpu >= limit,
                _ => cpu < limit,
            };
            Some(Reading {
                holds,
                measured: Measure::Percent(cpu),
                evidence_from: previous.at,
            })
        }
        Condition::MemoryAbove(limit) => {
            Some(point(sample.memory >= limit, Measure::Bytes(sample.memory)))
        }
        Condition::MemoryBelow(limit) => {
            Some(point(sample.memory < limit, Measure::Bytes(sample.memory)))
        }
        Condition::Growth { bytes, within } => {
            let window = &mut state.window;
            window.push_back((now, sample.memory));
            while window
                .front()
                .is_some_and(|&(at, _)| now.saturating_sub(at) > within)
            {
                window.pop_front();
            }
            let low = window.iter().map(|&(_, m)| m).min()?;
            let grown = sample.memory.saturating_sub(low);
            Some(point(grown >= bytes, Measure::Bytes(grown)))
        }
        Condition::OomRisk(within_pct) => {
            let cgroup = sample.cgroup.as_ref()?;
            let before = previous.and_then(|p| p.cgroup.as_ref());
            let grew = |f: fn(&crate::sample::CgroupMemory) -> u64| {
                before.is_some_and(|b| f(cgroup) > f(b))
            };
            if grew(|c| c.events.oom.max(c.events.max)) {
                return Some(point(true, Measure::Event("memory.max reached")));
            }
            if grew(|c| c.events.high) {
                return Some(point(true, Measure::Event("memory.high exceeded")));
            }
            if let Some(p) = cgroup
                .pressure
                .filter(|p| p.some.avg10 >= OOM_RISK_PRESSURE)
            {
                return Some(point(
                    true,
                    Measure::Percent(f64::from(p.some.avg10) / 100.0),
                ));
            }
            let limit = cgroup.limit?;
            if limit == 0 {
                return Some(point(true, Measure::Percent(100.0)));
            }
            let used = cgroup.usage as f64 / limit as f64 * 100.0;
            Some(point(used >= 100.0 - within_pct, Measure::Percent(used)))
        }
        Condition::ThreadsAbove(limit) => Some(point(
            sample.threads >= limit,
            Measure::Count(sample.threads),
        )),
        Condition::FdsAbove(limit) => {
            let fds = sample.fds?;
            Some(point(fds >= limit, Measure::Count(fds)))
        }
        Condition::Every(every) => {
            let due = *state.due.get_or_insert_with(|| now.saturating_add(every));
            Some(point(now >= due, Measure::Duration(every)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::CgroupMemory;

    const MIB: u64 = 1 << 20;

    fn s(secs: f64, ticks: u64, memory: u64) -> Sample {
        Sample::new(Duration::from_secs_f64(secs), ticks, memory, 1)
    }

    fn t(c: Condition) -> Trigger {
        Trigger::new(c)
    }

    #[test]
    fn cpu_is_the_last_interval_not_the_lifetime() {
        let mut e = Evaluator::new(&[t(Condition::CpuAbove(80.0))], Duration::ZERO);
        // An hour idle then a busy second: the lifetime average is ~0%.
        assert_eq!(e.observe(&s(3600.0, 0, 0)), None, "no interval yet");
        let f = e
            .observe(&s(3601.0, 95, 0))
            .expect("95% over the last second");
        assert_eq!(f.trigger, "cpu");
        assert_eq!(f.measured, Measure::Percent(95.0));
        assert_eq!(f.threshold, Measure::Percent(80.0));
        // Two cores busy read as 200%.
        let mut e = Evaluator::new(&[t(Condition::CpuAbove(150.0))], Duration::ZERO);
        e.observe(&s(0.0, 0, 0));
        assert!(e.observe(&s(0.5, 100, 0)).is_some());
    }

    #[test]
    fn cpu_below_fires_on_an_idle_interval() {
        let mut e = Evaluator::new(&[t(Condition::CpuBelow(5.0))], Duration::ZERO);
        e.observe(&s(0.0, 0, 0));
        assert_eq!(e.observe(&s(1.0, 50, 0)), None);
        let f = e.observe(&s(2.0, 52, 0)).unwrap();
        assert_eq!(
            (f.trigger, f.measured),
            ("cpu-below", Measure::Percent(2.0))
        );
    }

    #[test]
    fn a_hold_suppresses_a_short_spike_and_fires_on_a_long_one() {
        let trigger = t(Condition::CpuAbove(50.0)).held_for(Duration::from_secs(3));
        let mut e = Evaluator::new(&[trigger], Duration::ZERO);
        e.observe(&s(0.0, 0, 0));
        // Two busy seconds, then a quiet one: the spike never fires.
        assert_eq!(e.observe(&s(1.0, 100, 0)), None);
        assert_eq!(e.observe(&s(2.0, 200, 0)), None);
        assert_eq!(e.observe(&s(3.0, 200, 0)), None);
        // Three busy seconds in a row (from t=3 to t=6) fire at t=6.
        assert_eq!(e.observe(&s(4.0, 300, 0)), None);
        assert_eq!(e.observe(&s(5.0, 400, 0)), None);
        let f = e.observe(&s(6.0, 500, 0)).unwrap();
        assert_eq!(f.held, Duration::from_secs(3));
    }

    #[test]
    fn memory_thresholds_use_the_memory_measure() {
        let mut e = Evaluator::new(
            &[
                t(Condition::MemoryAbove(100 * MIB)),
                t(Condition::MemoryBelow(10 * MIB)),
            ],
            Duration::ZERO,
        );
        assert_eq!(e.observe(&s(0.0, 0, 50 * MIB)), None);
        let f = e.observe(&s(1.0, 0, 100 * MIB)).unwrap();
        assert_eq!(
            (f.trigger, f.measured),
            ("memory", Measure::Bytes(100 * MIB))
        );
        let f = e.observe(&s(2.0, 0, 9 * MIB)).unwrap();
        assert_eq!(f.trigger, "memory-below");
    }

    #[test]
    fn growth_counts_within_the_window_only() {
        let within = Duration::from_secs(10);
        let mut e = Evaluator::new(
            &[t(Condition::Growth {
                bytes: 50 * MIB,
                within,
            })],
            Duration::ZERO,
        );
        // 10 MiB every 5 s: 20 MiB per 10 s never reaches 50 MiB.
        for i in 0..20u64 {
            assert_eq!(
                e.observe(&s(i as f64 * 5.0, 0, i * 10 * MIB)),
                None,
                "step {i}"
            );
        }
        // Then a jump of 60 MiB within 5 s: 70 MiB over the 10 s window.
        let f = e.observe(&s(100.0, 0, 250 * MIB)).unwrap();
        assert_eq!(f.trigger, "growth");
        assert_eq!(f.measured, Measure::Bytes(70 * MIB));
        // After a dump growth is measured afresh.
        e.dumped(Duration::from_secs(100));
        assert_eq!(e.observe(&s(101.0, 0, 260 * MIB)), None);
    }

    #[test]
    fn growth_from_a_dip_counts_from_the_lowest_point() {
        let within = Duration::from_secs(60);
        let mut e = Evaluator::new(
            &[t(Condition::Growth {
                bytes: 30 * MIB,
                within,
            })],
            Duration::ZERO,
        );
        assert_eq!(e.observe(&s(0.0, 0, 100 * MIB)), None);
        assert_eq!(e.observe(&s(10.0, 0, 80 * MIB)), None);
        assert!(e.observe(&s(20.0, 0, 110 * MIB)).is_some());
    }

    #[test]
    fn threads_and_fds() {
        let mut e = Evaluator::new(
            &[t(Condition::ThreadsAbove(10)), t(Condition::FdsAbove(100))],
            Duration::ZERO,
        );
        assert_eq!(e.observe(&Sample::new(Duration::ZERO, 0, 0, 9)), None);
        let f = e
            .observe(&Sample::new(Duration::from_secs(1), 0, 0, 3).with_fds(100))
            .unwrap();
        assert_eq!((f.trigger, f.measured), ("fds", Measure::Count(100)));
        let f = e
            .observe(&Sample::new(Duration::from_secs(2), 0, 0, 10))
            .unwrap();
        assert_eq!(f.trigger, "threads");
    }

    #[test]
    fn cooldown_silences_and_a_timer_counts_from_the_last_dump() {
        let every = Duration::from_secs(10);
        let mut e = Evaluator::new(&[t(Condition::Every(every))], Duration::from_secs(25));
        assert_eq!(e.observe(&s(0.0, 0, 0)), None);
        assert_eq!(e.observe(&s(9.0, 0, 0)), None);
        assert!(e.observe(&s(10.0, 0, 0)).is_some());
        e.dumped(Duration::from_secs(10));
        // Due again at 20 and 30, but cooling down until 35.
        assert_eq!(e.observe(&s(20.0, 0, 0)), None);
        assert_eq!(e.observe(&s(30.0, 0, 0)), None);
        assert!(e.cooling_down(Duration::from_secs(34)));
        assert!(e.observe(&s(35.0, 0, 0)).is_some());
    }

    #[test]
    fn a_hold_keeps_counting_through_a_cooldown() {
        let trigger = t(Condition::MemoryAbove(MIB)).held_for(Duration::from_secs(5));
        let mut e = Evaluator::new(&[trigger], Duration::from_secs(3));
        e.dumped(Duration::ZERO);
        assert_eq!(e.observe(&s(0.0, 0, 2 * MIB)), None);
        assert_eq!(e.observe(&s(2.0, 0, 2 * MIB)), None);
        assert_eq!(e.observe(&s(4.0, 0, 2 * MIB)), None);
        assert!(e.observe(&s(5.0, 0, 2 * MIB)).is_some());
    }

    #[test]
    fn oom_risk_by_limit_events_and_pressure() {
        let mut e = Evaluator::new(&[t(Condition::OomRisk(10.0))], Duration::ZERO);
        let at = |secs: u64, c: CgroupMemory| {
            Sample::new(Duration::from_secs(secs), 0, 0, 1).with_cgroup(c)
        };
        assert_eq!(
            e.observe(&at(0, CgroupMemory::new(80 * MIB, Some(100 * MIB)))),
            None
        );
        // No limit: no risk by usage.
        assert_eq!(e.observe(&at(1, CgroupMemory::new(900 * MIB, None))), None);
        let f = e
            .observe(&at(2, CgroupMemory::new(91 * MIB, Some(100 * MIB))))
            .unwrap();
        assert_eq!(f.trigger, "oom-risk");
        assert_eq!(f.measured, Measure::Percent(91.0));
        // A new `max` event fires even far from the limit.
        let mut events = coroner_proc_reader::parse::cgroup_files::MemoryEvents::default();
        events.max = 1;
        let mut e = Evaluator::new(&[t(Condition::OomRisk(10.0))], Duration::ZERO);
        assert_eq!(
            e.observe(&at(0, CgroupMemory::new(10, Some(100 * MIB)))),
            None
        );
        let f = e
            .observe(&at(
                1,
                CgroupMemory::new(10, Some(100 * MIB)).with_events(events),
            ))
            .unwrap();
        assert_eq!(f.measured, Measure::Event("memory.max reached"));
        // The same count again is no new event.
        assert_eq!(
            e.observe(&at(
                2,
                CgroupMemory::new(10, Some(100 * MIB)).with_events(events)
            )),
            None
        );
        // Pressure.
        let mut c = CgroupMemory::new(10, None);
        let mut p = coroner_proc_reader::parse::cgroup_files::Pressure::default();
        p.some.avg10 = 2500;
        c.pressure = Some(p);
        assert_eq!(
            e.observe(&at(3, c)).unwrap().measured,
            Measure::Percent(25.0)
        );
    }

    #[test]
    fn only_one_firing_per_sample_the_first_trigger_wins() {
        let mut e = Evaluator::new(
            &[t(Condition::ThreadsAbove(1)), t(Condition::MemoryAbove(0))],
            Duration::ZERO,
        );
        assert_eq!(e.observe(&s(0.0, 0, 0)).unwrap().trigger, "threads");
    }
}
