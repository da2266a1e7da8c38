//! A traced process's SIGUSR1 is caught before its handler runs, the
//! process is frozen with the caught thread lent to the freeze, and the
//! handler runs exactly once after the resume, with the original sender.
#![cfg(target_os = "linux")]

use std::time::Duration;

use coroner_proc_reader::{with_held_threads, Process, SignalTrap, StopKind};
use coroner_test_support::Behave;

fn handled(b: &Behave) -> usize {
    b.lines()
        .iter()
        .filter(|l| l.starts_with("HANDLED"))
        .count()
}

fn send_usr1(pid: u32) {
    send(pid, libc::SIGUSR1);
}

/// `kill -SIG PID` with kill(1), which keeps `unsafe` out of the tests.
fn send(pid: u32, signal: i32) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn sigusr1_is_held_for_the_freeze_then_handled_once() {
    let b = Behave::spawn(&["--usr1", "--idle-threads", "3"]);
    let process = Process::open(b.pid()).unwrap();
    let mut trap = SignalTrap::attach(&process, &[libc::SIGUSR1]).unwrap();
    // Nothing caught while nothing is sent.
    assert_eq!(trap.wait(Duration::from_millis(50)).unwrap(), None);
    for round in 1..=2 {
        send_usr1(b.pid());
        let caught = trap
            .wait(Duration::from_secs(5))
            .unwrap()
            .expect("SIGUSR1 caught");
        assert_eq!(caught.signal, libc::SIGUSR1);
        let info =
            coroner_proc_reader::parse::siginfo::parse_siginfo(&caught.siginfo.unwrap()).unwrap();
        assert_eq!(info.signo, libc::SIGUSR1);
        // Every thread is held; a freeze through the loan sees them all,
        // the caught one on its way to SIGUSR1.
        let held = trap.held();
        assert_eq!(held.len(), 4, "{held:?}");
        let threads = with_held_threads(b.pid(), &held, || {
            let frozen = process.freeze().expect("freeze with held threads");
            let threads = frozen.threads().to_vec();
            frozen.thaw().unwrap();
            threads
        });
        assert_eq!(threads.len(), 4);
        let t = threads.iter().find(|t| t.tid == caught.tid).unwrap();
        assert_eq!(
            t.stop,
            StopKind::Signal {
                signal: libc::SIGUSR1
            }
        );
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(handled(&b), round - 1, "the handler ran before the resume");
        trap.resume();
        assert!(b.wait_for_line(|l| l == format!("HANDLED {round}"), Duration::from_secs(5)));
    }
    trap.detach().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(handled(&b), 2, "{:?}", b.lines());
    let status = std::fs::read_to_string(format!("/proc/{}/status", b.pid())).unwrap();
    assert!(status.contains("TracerPid:\t0"), "{status}");
}

#[test]
fn other_signals_and_new_threads_pass_through() {
    // Threads keep appearing while traced; SIGUSR2 is not trapped and
    // kills the process as its default action would.
    let b = Behave::spawn(&["--spawn", "5", "--tick", "20"]);
    let process = Process::open(b.pid()).unwrap();
    let mut trap = SignalTrap::attach(&process, &[libc::SIGUSR1]).unwrap();
    assert_eq!(trap.wait(Duration::from_millis(300)).unwrap(), None);
    assert_eq!(process.tasks().unwrap().len(), 7);
    trap.stop_all().unwrap();
    assert_eq!(
        trap.held().len(),
        7,
        "threads created while traced are traced"
    );
    trap.resume();
    send(b.pid(), libc::SIGUSR2);
    assert_eq!(trap.wait(Duration::from_secs(2)).unwrap(), None);
    assert!(!trap.is_alive());
    // The trap, tracing the leader, collected its exit (this test is also
    // its parent, so the exit status went to the trap's waitpid): the
    // process is gone, not stopped or left a zombie.
    assert!(
        !std::path::Path::new(&format!("/proc/{}", b.pid())).exists(),
        "the process is gone"
    );
    drop(b);
}
