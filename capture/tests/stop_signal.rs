//! Both formats record the same signal for a frozen process: a thread
//! caught on its way into a signal is the ELF core's NT_SIGINFO and that
//! thread's pr_cursig, and the minidump's exception (code = signal, flags =
//! si_code); a process frozen with no signal in flight is an all-zero
//! siginfo and DUMP_REQUESTED.
//!
//! In a test binary of its own: catching a thread between a signal and its
//! delivery needs the target's signalling threads to get CPU time.

use std::time::{Duration, Instant};

use coroner_capture::Sink;
use coroner_capture::{capture_elf, CaptureOptions};
use coroner_capture::{capture_minidump, MemoryMode};
use coroner_minidump_format::raw::DUMP_REQUESTED;
use coroner_test_support::{Target, SIGNAL_STORM};

const SIGURG: i32 = 23;
const SI_TKILL: i32 = -6;

/// (signal, si_code, tid) the ELF core records; signal 0 when none.
fn elf_signal(pid: u32, dir: &std::path::Path) -> (i32, i32, u32) {
    let path = dir.join("core");
    let _ = std::fs::remove_file(&path);
    let sink = Sink::create(&path, false).unwrap();
    capture_elf(pid, sink, &CaptureOptions::default()).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let core = coroner_core_format::parse(&bytes).unwrap();
    let si = core.siginfo().unwrap().expect("NT_SIGINFO");
    let signalled: Vec<(u32, i16, i32)> = core
        .threads()
        .map(|t| t.unwrap())
        .filter(|t| t.cursig() != 0)
        .map(|t| (t.tid(), t.cursig(), t.prstatus_common().pr_info.si_signo))
        .collect();
    if si.signo() == 0 {
        assert!(signalled.is_empty(), "{signalled:?}");
        return (0, 0, 0);
    }
    // The thread that NT_SIGINFO describes has it as its current signal.
    let (tid, cursig, signo) = signalled[0];
    assert_eq!((i32::from(cursig), signo), (si.signo(), si.signo()));
    (si.signo(), si.code(), tid)
}

/// (signal, si_code, tid) the minidump's exception records; 0 for
/// DUMP_REQUESTED.
fn minidump_signal(pid: u32, dir: &std::path::Path) -> (i32, i32, u32) {
    let path = dir.join("t.dmp");
    let _ = std::fs::remove_file(&path);
    let sink = Sink::create(&path, false).unwrap();
    capture_minidump(pid, sink, &CaptureOptions::default(), MemoryMode::Stacks).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let md = coroner_minidump_format::parse(&bytes).unwrap();
    let e = md.exception().unwrap().expect("exception stream");
    if e.code() == DUMP_REQUESTED {
        return (0, 0, 0);
    }
    let model = e.to_model().unwrap();
    (
        i32::try_from(e.code()).unwrap(),
        i32::from_ne_bytes(model.flags.to_ne_bytes()),
        e.thread_id(),
    )
}

#[test]
fn both_formats_record_the_signal_a_thread_was_stopped_for() {
    let target = Target::spawn(&SIGNAL_STORM);
    let pid = target.pid();
    let dir = tempfile::tempdir().unwrap();
    let storm: Vec<u32> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_str().unwrap().parse().unwrap())
        .filter(|tid| {
            std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/comm"))
                .is_ok_and(|c| c.trim() == "sigstorm")
        })
        .collect();
    assert_eq!(storm.len(), 2);
    let (mut elf_caught, mut md_caught, mut rounds) = (false, false, 0);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !(elf_caught && md_caught) && Instant::now() < deadline {
        rounds += 1;
        for (format, got) in [
            ("elf", elf_signal(pid, dir.path())),
            ("minidump", minidump_signal(pid, dir.path())),
        ] {
            match got {
                (0, _, _) => {}
                (signal, code, tid) => {
                    assert_eq!(
                        (signal, code),
                        (SIGURG, SI_TKILL),
                        "{format}: SIGURG from pthread_kill"
                    );
                    assert!(storm.contains(&tid), "{format}: thread {tid}");
                    if format == "elf" {
                        elf_caught = true;
                    } else {
                        md_caught = true;
                    }
                }
            }
        }
    }
    assert!(
        elf_caught && md_caught,
        "in {rounds} rounds: ELF caught a signal {elf_caught}, minidump {md_caught}"
    );
    eprintln!("both formats caught SIGURG within {rounds} rounds");
}

#[test]
fn both_formats_record_no_signal_for_a_parked_process() {
    let target = Target::spawn(&["--threads", "2", "--pattern-mib", "1", "--reserve-gib", "0"]);
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(elf_signal(target.pid(), dir.path()), (0, 0, 0));
    assert_eq!(minidump_signal(target.pid(), dir.path()), (0, 0, 0));
}
