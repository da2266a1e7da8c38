//! Counting a capture's copied bytes and reporting them at a bounded rate
//! (see the module above).

use super::{Phase, Progress, ProgressFn};

/// The smallest step between two reports.
const MIN_STEP: u64 = 1 << 20;
/// Reports per phase at most, besides its first and last.
const STEPS: u64 = 256;

/// Counts the bytes of one phase and reports them to the callback, if any,
/// at a bounded rate.
pub(crate) struct Reporter<'a> {
    callback: Option<&'a (dyn Fn(Progress) + Send + Sync)>,
    phase: Phase,
    done: u64,
    total: u64,
    /// The count at which the next report is due.
    next: u64,
    /// The count last reported.
    reported: Option<u64>,
}

impl<'a> Reporter<'a> {
    /// A phase of `total` bytes; reports 0 done.
    pub(crate) fn start(callback: Option<&'a ProgressFn>, phase: Phase, total: u64) -> Self {
        let mut r = Reporter {
            callback: callback.map(|f| &**f),
            phase,
            done: 0,
            total,
            next: 0,
            reported: None,
        };
        r.report();
        r
    }

    /// Bytes counted so far (at most the total).
    pub(crate) fn done(&self) -> u64 {
        self.done
    }

    /// Count `bytes` more; reports when a step has been crossed.
    pub(crate) fn advance(&mut self, bytes: u64) {
        self.done = self.done.saturating_add(bytes).min(self.total);
        if self.done >= self.next {
            self.report();
        }
    }

    /// Report the count now, whatever the step, unless it was just
    /// reported (the end of a phase).
    pub(crate) fn flush(&mut self) {
        if self.reported != Some(self.done) {
            self.report();
        }
    }

    fn report(&mut self) {
        let step = (self.total / STEPS).max(MIN_STEP);
        self.next = self.done.saturating_add(step);
        self.reported = Some(self.done);
        if let Some(f) = self.callback {
            f(Progress {
                phase: self.phase,
                done: self.done,
                total: self.total,
            });
        }
    }
}

/// Report [`Phase::Finishing`] of a dump that copied `total` bytes: it is
/// being flushed and named.
pub(crate) fn finishing(callback: Option<&ProgressFn>, total: u64) {
    if let Some(f) = callback {
        f(Progress {
            phase: Phase::Finishing,
            done: total,
            total,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Every report: phase, done, total.
    type Seen = Arc<Mutex<Vec<(Phase, u64, u64)>>>;

    fn recorder() -> (ProgressFn, Seen) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let f: ProgressFn = Arc::new(move |p: Progress| {
            log.lock().unwrap().push((p.phase, p.done, p.total));
        });
        (f, seen)
    }

    #[test]
    fn page_sized_steps_are_reported_a_bounded_number_of_times() {
        let (f, seen) = recorder();
        let total = 1u64 << 30;
        let mut r = Reporter::start(Some(&f), Phase::Copying, total);
        for _ in 0..total / 4096 {
            r.advance(4096);
        }
        r.flush();
        finishing(Some(&f), total);
        let seen = seen.lock().unwrap();
        // Start, one per 4 MiB step (1 GiB / 256; the last one at the
        // total, so the flush has nothing new), the finish.
        assert_eq!(seen.len(), 1 + 256 + 1, "{seen:?}");
        assert_eq!(seen[0], (Phase::Copying, 0, total));
        assert_eq!(seen[1], (Phase::Copying, 4 << 20, total));
        assert!(seen.windows(2).all(|w| w[0].1 <= w[1].1));
        assert_eq!(seen[seen.len() - 1], (Phase::Finishing, total, total));
    }

    #[test]
    fn a_small_dump_is_reported_at_its_start_and_end_only() {
        let (f, seen) = recorder();
        let mut r = Reporter::start(Some(&f), Phase::CopyingFromSnapshot, 100 << 10);
        for _ in 0..25 {
            r.advance(4096);
        }
        r.flush();
        assert_eq!(r.done(), 100 << 10);
        let seen = seen.lock().unwrap();
        assert_eq!(
            *seen,
            [
                (Phase::CopyingFromSnapshot, 0, 100 << 10),
                (Phase::CopyingFromSnapshot, 100 << 10, 100 << 10)
            ]
        );
    }

    #[test]
    fn the_count_never_passes_the_total_and_works_without_a_callback() {
        let mut r = Reporter::start(None, Phase::Copying, 10);
        r.advance(7);
        r.advance(7);
        assert_eq!(r.done(), 10);
    }
}
