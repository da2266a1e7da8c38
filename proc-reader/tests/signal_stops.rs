//! A thread caught on its way into a signal while we freeze: the stop is
//! reported with its siginfo, and thawing delivers the signal.
//!
//! In a test binary of its own: whether a freeze lands in that moment
//! depends on the target's signalling thread running on the other CPU, which
//! other tests competing for the two CPUs make rare.

use std::time::{Duration, Instant};

use coroner_proc_reader::{Process, StopKind};
use coroner_test_support::{proc_state, Target, SIGNAL_STORM};

#[test]
fn signal_caught_mid_freeze_is_reported_and_redelivered() {
    // Threads that send themselves SIGURG in a tight loop: once seized, each
    // SIGURG stops them for delivery (a tracer sees even ignored signals),
    // so some freezes catch them there rather than at our interrupt.
    let mut target = Target::spawn(&SIGNAL_STORM);
    let pid = target.pid();
    let process = Process::open(pid).unwrap();
    let (mut caught, mut freezes) = (0, 0);
    let deadline = Instant::now() + Duration::from_secs(20);
    while caught < 5 && Instant::now() < deadline {
        let frozen = process.freeze().unwrap();
        freezes += 1;
        assert_eq!(frozen.threads().len(), 4);
        for t in frozen.threads() {
            match t.stop {
                StopKind::Signal { signal } => {
                    assert_eq!(signal, 23, "SIGURG");
                    assert_eq!(t.name, b"sigstorm");
                    let info = t.siginfo.expect("siginfo for a signal-delivery stop");
                    let word = |at: usize| i32::from_ne_bytes(info[at..at + 4].try_into().unwrap());
                    assert_eq!(
                        (word(0), word(8)),
                        (23, -6),
                        "si_signo SIGURG, si_code SI_TKILL"
                    );
                    caught += 1;
                }
                StopKind::Interrupted => assert!(t.siginfo.is_none()),
                other => panic!("unexpected stop {other:?}"),
            }
        }
        frozen.thaw().unwrap();
    }
    assert!(
        caught > 0,
        "none of {freezes} freezes caught a storm thread on its way into a signal"
    );
    // The redelivered SIGURG is ignored as usual and everything runs on.
    std::thread::sleep(Duration::from_millis(20));
    assert!(target.is_running());
    assert!(!matches!(proc_state(pid), Some('t' | 'T')));
    eprintln!("caught {caught} signal-delivery stops in {freezes} freezes");
}
