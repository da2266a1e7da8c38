//! Threads the calling thread already holds in ptrace stops, lent to the
//! freezes it makes meanwhile.
//!
//! ptrace lets one tracer per thread: a process that
//! [`crate::SignalTrap`] keeps traced cannot be seized again, so a capture
//! of it would fail with EPERM. Inside [`with_held_threads`], a freeze of
//! that process takes the lent threads as already stopped (with the stop
//! they are in: a signal waiting to be delivered stays recorded in the
//! dump), and its thaw leaves them stopped for their owner, who resumes
//! them — delivering the signal — when the dump is done. A thread-local
//! because ptrace ties tracees to the tracing thread.

use std::cell::RefCell;

use crate::freeze::StopKind;

thread_local! {
    /// (pid, tid, stop) of every lent thread.
    static HELD: RefCell<Vec<(u32, u32, StopKind)>> = const { RefCell::new(Vec::new()) };
}

/// Run `f` with the threads `held` of process `pid` (thread id and the stop
/// each is in, all traced and stopped by the calling thread) lent to every
/// freeze of `pid` that `f` makes on this thread: those freezes seize only
/// the other threads, and thaw only those. The loan ends when `f` returns
/// or panics.
pub fn with_held_threads<R>(pid: u32, held: &[(u32, StopKind)], f: impl FnOnce() -> R) -> R {
    struct Loan {
        pid: u32,
    }
    impl Drop for Loan {
        fn drop(&mut self) {
            HELD.with(|h| h.borrow_mut().retain(|&(pid, _, _)| pid != self.pid));
        }
    }
    HELD.with(|h| {
        let mut h = h.borrow_mut();
        h.retain(|&(p, _, _)| p != pid);
        h.extend(held.iter().map(|&(tid, stop)| (pid, tid, stop)));
    });
    let _loan = Loan { pid };
    f()
}

/// The stop of thread `tid` of `pid` when it is lent to freezes now.
pub(crate) fn held_stop(pid: u32, tid: u32) -> Option<StopKind> {
    HELD.with(|h| {
        h.borrow()
            .iter()
            .find(|&&(p, t, _)| p == pid && t == tid)
            .map(|&(_, _, stop)| stop)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loan_ends_with_its_closure_even_on_panic() {
        let stop = StopKind::Signal { signal: 10 };
        with_held_threads(7, &[(8, stop)], || {
            assert_eq!(held_stop(7, 8), Some(stop));
            assert_eq!(held_stop(7, 9), None);
            assert_eq!(held_stop(6, 8), None);
        });
        assert_eq!(held_stop(7, 8), None);
        let r = std::panic::catch_unwind(|| {
            with_held_threads(7, &[(8, stop)], || panic!("inside"));
        });
        assert!(r.is_err());
        assert_eq!(held_stop(7, 8), None);
    }
}
