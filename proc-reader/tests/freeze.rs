//! Acceptance points 2 and 3, and the already-traced case of point 4:
//! thread churn, capturer death, signals while frozen, a second tracer.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use coroner_proc_reader::parse::maps::parse_maps;
use coroner_proc_reader::{Error, PermissionReason, Process, StopKind};
use coroner_test_support::{proc_state, Target};

/// Environment variable that turns `helper_freeze_and_hold` into the
/// capturer child: the pid to freeze.
const HOLD_ENV: &str = "COR_PROC_READER_HOLD_PID";

/// Not a test of its own: the child process that the capturer-death and
/// second-tracer tests start (this test binary re-executed). It freezes the
/// pid named in the environment, prints `FROZEN`, and holds it until killed.
#[test]
#[ignore = "child process of capturer_death_lets_target_run; needs COR_PROC_READER_HOLD_PID"]
fn helper_freeze_and_hold() {
    let Some(pid) = std::env::var(HOLD_ENV).ok().and_then(|p| p.parse().ok()) else {
        eprintln!("{HOLD_ENV} not set: nothing to hold");
        return;
    };
    let process = Process::open(pid).unwrap();
    let frozen = process.freeze().unwrap();
    println!("FROZEN threads={}", frozen.threads().len());
    std::io::stdout().flush().unwrap();
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// The holding child; killed and reaped on drop so a failing test leaves
/// nothing traced behind.
struct Holder(Child);

impl Holder {
    fn id(&self) -> u32 {
        self.0.id()
    }
    fn kill(&mut self) -> std::io::Result<()> {
        self.0.kill()
    }
    fn wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        self.0.wait()
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start the holding child for `pid` and wait until it has frozen it.
fn spawn_holder(pid: u32) -> Holder {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "helper_freeze_and_hold",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HOLD_ENV, pid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            // The harness prints "test helper_freeze_and_hold ... " before it.
            if let Some(at) = line.find("FROZEN") {
                let _ = tx.send(line[at..].to_owned());
            }
        }
    });
    let holder = Holder(child);
    let line = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("holder child froze the target");
    assert!(line.starts_with("FROZEN threads="), "{line}");
    holder
}

/// Send `signal` (named as kill(1) takes it, without the dash) to `pid`.
fn kill(signal: &str, pid: u32) {
    let sent = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -{signal} {pid}");
}

/// Poll `done` every few milliseconds until it holds; fail with `what` once
/// `limit` has passed.
fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn heartbeat(path: &std::path::Path) -> u64 {
    for _ in 0..100 {
        if let Some(v) = std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            return v;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("unreadable heartbeat file {}", path.display());
}

#[test]
fn capturer_death_lets_target_run_20_times() {
    let dir = tempfile::tempdir().unwrap();
    let hb = dir.path().join("heartbeat");
    let target = Target::spawn(&[
        "--threads",
        "4",
        "--pattern-mib",
        "1",
        "--reserve-gib",
        "0",
        "--heartbeat",
        hb.to_str().unwrap(),
    ]);
    let pid = target.pid();
    // The target creates the file only after READY.
    wait_until(
        Duration::from_secs(10),
        "heartbeat file never appeared",
        || std::fs::read_to_string(&hb).is_ok_and(|s| s.trim().parse::<u64>().is_ok()),
    );
    let mut worst = Duration::ZERO;
    for round in 0..20 {
        let mut holder = spawn_holder(pid);
        assert_eq!(
            proc_state(pid),
            Some('t'),
            "round {round}: held in tracing stop"
        );
        let held = heartbeat(&hb);
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(
            heartbeat(&hb),
            held,
            "round {round}: heartbeat moved while frozen"
        );
        holder.kill().unwrap();
        let killed = Instant::now();
        holder.wait().unwrap();
        loop {
            let state = proc_state(pid).expect("target alive");
            if !matches!(state, 't' | 'T') && heartbeat(&hb) > held {
                break;
            }
            assert!(
                killed.elapsed() < Duration::from_secs(1),
                "round {round}: target still {state} after 1 s"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        worst = worst.max(killed.elapsed());
    }
    eprintln!("capturer death: target running again within {worst:?} (worst of 20)");
}

#[test]
fn second_tracer_is_reported_as_already_traced() {
    let target = Target::spawn(&["--threads", "2", "--pattern-mib", "1", "--reserve-gib", "0"]);
    let pid = target.pid();
    let mut holder = spawn_holder(pid);
    let process = Process::open(pid).unwrap();
    let err = process.freeze().unwrap_err();
    match &err {
        Error::PermissionDenied {
            pid: p,
            reason:
                PermissionReason::AlreadyTraced {
                    tracer_pid,
                    tracer_process,
                    tracer_name,
                },
            op,
            ..
        } => {
            assert_eq!(*p, pid);
            assert_eq!(*op, "PTRACE_SEIZE");
            assert_ne!(*tracer_pid, 0);
            assert_eq!(
                *tracer_process,
                Some(holder.id()),
                "the holder process traces it"
            );
            assert!(tracer_name.is_some());
        }
        other => panic!("expected AlreadyTraced, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("already traced by pid") && msg.contains("detach"),
        "{msg}"
    );
    holder.kill().unwrap();
    holder.wait().unwrap();
    // With the other tracer gone we may freeze it ourselves.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match process.freeze() {
            Ok(f) => {
                f.thaw().unwrap();
                break;
            }
            Err(e) => assert!(Instant::now() < deadline, "still cannot freeze: {e}"),
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn churn_frozen_and_thawed_100_times() {
    let mut target = Target::spawn(&[
        "--threads",
        "2",
        "--churn",
        "2",
        "--pattern-mib",
        "1",
        "--reserve-gib",
        "0",
    ]);
    let pid = target.pid();
    let process = Process::open(pid).unwrap();
    let memory = process.memory().unwrap();
    let hb_addr = target.ready.u64("heartbeat");
    let read_hb = || {
        let mut b = [0u8; 8];
        memory.read_exact_at(hb_addr, &mut b).unwrap();
        u64::from_ne_bytes(b)
    };
    let maps = process.maps().unwrap();
    let mut total = Duration::ZERO;
    let mut most = 0;
    for round in 0..100 {
        let frozen = process.freeze().unwrap();
        let mut tids: Vec<u32> = frozen.threads().iter().map(|t| t.tid).collect();
        tids.sort_unstable();
        assert!(
            tids.len() >= 5,
            "round {round}: main, 2 workers, 2 churners: {tids:?}"
        );
        most = most.max(tids.len());
        // Every thread the kernel lists now, while frozen, was captured
        // (except one caught in the instant of exiting, which is no longer a thread).
        for tid in process.tasks().unwrap() {
            if tids.binary_search(&tid).is_err() {
                let exiting = process.thread_stat(tid).map_or(true, |s| s.is_zombie());
                assert!(exiting, "round {round}: listed thread {tid} was not frozen");
            }
        }
        for t in frozen.threads() {
            assert!(
                t.regs.sp() != 0 && t.regs.pc() != 0,
                "round {round}: thread {} has registers",
                t.tid
            );
            assert!(!t.name.is_empty());
        }
        // The long-lived threads' stacks are in known mappings.
        let main = frozen.thread(pid).unwrap();
        assert!(maps.iter().any(|m| m.contains(main.regs.sp())));
        // Short-lived threads inherit their creator's name, so at least two.
        assert!(
            frozen
                .threads()
                .iter()
                .filter(|t| t.name == b"churn")
                .count()
                >= 2
        );
        total += frozen.thaw().unwrap().frozen_for;
    }
    // It keeps running.
    let before = read_hb();
    std::thread::sleep(Duration::from_millis(100));
    assert!(read_hb() > before, "heartbeat advances after 100 freezes");
    assert!(!matches!(target.state(), 't' | 'T'));
    assert!(target.is_running());
    eprintln!(
        "churn: 100 freezes, mean held {:?}, up to {most} threads",
        total / 100
    );
}

#[test]
fn signal_sent_while_frozen_is_delivered_after_thaw() {
    let mut target = Target::spawn(&["--threads", "2", "--pattern-mib", "1", "--reserve-gib", "0"]);
    let pid = target.pid();
    let process = Process::open(pid).unwrap();
    let frozen = process.freeze().unwrap();
    kill("TERM", pid);
    std::thread::sleep(Duration::from_millis(200));
    // Held, with SIGTERM pending for the process rather than lost or acted on.
    assert_eq!(proc_state(pid), Some('t'));
    let status = process.status().unwrap();
    assert_ne!(
        status.shd_pnd & (1 << (libc_sigterm() - 1)),
        0,
        "SIGTERM pending: {:#x}",
        status.shd_pnd
    );
    frozen.thaw().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while target.is_running() {
        if Instant::now() >= deadline {
            let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap();
            for t in tasks {
                let t = t.unwrap().path();
                eprintln!(
                    "{}: {}",
                    t.display(),
                    std::fs::read_to_string(t.join("stat")).unwrap_or_default()
                );
                eprintln!(
                    "{}",
                    std::fs::read_to_string(t.join("status"))
                        .unwrap_or_default()
                        .lines()
                        .filter(|l| l.contains("Pnd")
                            || l.contains("Tracer")
                            || l.contains("State"))
                        .collect::<Vec<_>>()
                        .join(" | ")
                );
            }
        }
        assert!(
            Instant::now() < deadline,
            "SIGTERM sent while frozen was lost"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn libc_sigterm() -> u32 {
    15
}

#[test]
fn drop_and_panic_thaw() {
    let target = Target::spawn(&["--threads", "3", "--pattern-mib", "1", "--reserve-gib", "0"]);
    let pid = target.pid();
    let process = Process::open(pid).unwrap();
    {
        let frozen = process.freeze().unwrap();
        assert_eq!(proc_state(pid), Some('t'));
        drop(frozen);
    }
    std::thread::sleep(Duration::from_millis(20));
    assert!(
        !matches!(proc_state(pid), Some('t' | 'T')),
        "thawed on drop"
    );
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _frozen = process.freeze().unwrap();
        assert_eq!(proc_state(pid), Some('t'));
        panic!("capture failed mid-way");
    }));
    assert!(result.is_err());
    std::thread::sleep(Duration::from_millis(20));
    assert!(
        !matches!(proc_state(pid), Some('t' | 'T')),
        "thawed on panic"
    );
    // Freezing again works: nothing was left attached.
    process.freeze().unwrap().thaw().unwrap();
}

#[test]
fn sigkill_while_frozen_leaves_nothing_to_reap() {
    let mut target = Target::spawn(&["--threads", "4", "--pattern-mib", "1", "--reserve-gib", "0"]);
    let pid = target.pid();
    let process = Process::open(pid).unwrap();
    let frozen = process.freeze().unwrap();
    kill("KILL", pid);
    // Thawing a process that died meanwhile is not an error; the dead
    // threads, our tracees, are reaped so the parent can reap the process.
    frozen.thaw().unwrap();
    wait_until(
        Duration::from_secs(1),
        "killed target still not reapable",
        || !target.is_running(),
    );
    assert!(process.status().unwrap_err().is_gone());
}

#[test]
fn job_control_stopped_target_stays_stopped() {
    let target = Target::spawn(&["--threads", "2", "--pattern-mib", "1", "--reserve-gib", "0"]);
    let pid = target.pid();
    kill("STOP", pid);
    wait_until(
        Duration::from_secs(5),
        "SIGSTOP did not stop the target",
        || proc_state(pid) == Some('T'),
    );
    let process = Process::open(pid).unwrap();
    let frozen = process.freeze().unwrap();
    assert_eq!(frozen.threads().len(), 3);
    for t in frozen.threads() {
        assert_eq!(
            t.stop,
            StopKind::GroupStop { signal: 19 },
            "thread {}",
            t.tid
        );
        assert!(t.regs.sp() != 0);
    }
    frozen.thaw().unwrap();
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        proc_state(pid),
        Some('T'),
        "still stopped as it was before we came"
    );
    kill("CONT", pid);
    wait_until(
        Duration::from_secs(5),
        "SIGCONT did not resume the target",
        || !matches!(proc_state(pid), Some('t' | 'T')),
    );
}

#[test]
fn freezing_ourselves_is_refused() {
    let me = Process::open(std::process::id()).unwrap();
    let err = me.freeze().unwrap_err();
    assert!(
        matches!(&err, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::InvalidInput),
        "{err:?}"
    );
}

#[test]
fn process_whose_main_thread_exited_is_frozen_through_its_other_threads() {
    let target = Target::spawn(&[
        "--threads",
        "3",
        "--leader-exit",
        "--pattern-mib",
        "1",
        "--reserve-gib",
        "0",
    ]);
    let pid = target.pid();
    wait_until(Duration::from_secs(5), "main thread never exited", || {
        proc_state(pid) == Some('Z')
    });
    let process = Process::open(pid).unwrap();
    assert_eq!(process.zombie(), Some(false), "alive in its other threads");
    // Address-space files come through a live thread.
    let maps = process.mappings().unwrap();
    assert!(maps.iter().any(|m| m.start == target.ready.u64("pattern")));
    assert_eq!(process.exe().unwrap(), coroner_test_support::target_path());
    assert!(!process.auxv().unwrap().is_empty());
    assert!(process.cmdline().unwrap().len() > 1);
    assert!(process.cmdline_raw().unwrap().starts_with(b"/"));
    assert_eq!(
        parse_maps(&process.maps_raw().unwrap()).unwrap().len(),
        maps.len()
    );
    // map_files is served by a live thread's own directory.
    let exe_mapping = maps.iter().find(|m| m.is_file_backed()).unwrap();
    let file = process
        .map_files_dir()
        .join(format!("{:x}-{:x}", exe_mapping.start, exe_mapping.end));
    assert!(std::fs::metadata(&file).is_ok(), "{}", file.display());
    let shared = process.mapping_file_data(exe_mapping.start, exe_mapping.end, exe_mapping.offset);
    assert!(shared.is_ok(), "{shared:?}");
    let frozen = process.freeze().unwrap();
    let names: Vec<&[u8]> = frozen.threads().iter().map(|t| t.name.as_slice()).collect();
    assert_eq!(names, [&b"worker-0"[..], b"worker-1", b"worker-2"]);
    assert!(
        frozen.thread(pid).is_none(),
        "the exited main thread has no registers"
    );
    let memory = process.memory().unwrap();
    let mut word = [0u8; 8];
    memory
        .read_exact_at(target.ready.u64("pattern") + 8 * 5, &mut word)
        .unwrap();
    assert_eq!(
        u64::from_le_bytes(word),
        coroner_test_support::pattern_word(5)
    );
    frozen.thaw().unwrap();
    std::thread::sleep(Duration::from_millis(20));
    for tid in process.tasks().unwrap().into_iter().filter(|&t| t != pid) {
        assert_ne!(
            process.thread_stat(tid).unwrap().state,
            b't',
            "thread {tid} thawed"
        );
    }
}

#[test]
fn freeze_failing_mid_way_leaves_nothing_attached() {
    // A zero timeout makes the freeze give up while threads are still on
    // their way into the stop: the error path must let every one of them go.
    let target = Target::spawn(&[
        "--threads",
        "48",
        "--pattern-mib",
        "1",
        "--reserve-gib",
        "0",
    ]);
    let pid = target.pid();
    let process = Process::open(pid).unwrap();
    let mut opts = coroner_proc_reader::FreezeOptions::default();
    opts.timeout = Duration::ZERO;
    let mut timeouts = 0;
    let mut attempts = 0;
    // At least 50 attempts, and on until one has timed out (how often that
    // happens depends on how busy the CPUs are), within reason.
    while attempts < 50 || (timeouts == 0 && attempts < 2000) {
        attempts += 1;
        match process.freeze_with(opts) {
            Err(Error::FreezeTimeout { pid: p, tid, .. }) => {
                assert_eq!(p, pid);
                assert!(process.tasks().unwrap().contains(&tid));
                timeouts += 1;
            }
            Err(other) => panic!("unexpected error {other:?}"),
            Ok(frozen) => drop(frozen),
        }
        for tid in process.tasks().unwrap() {
            let status = process.thread_status(tid).unwrap();
            assert_eq!(status.tracer_pid, 0, "thread {tid} left attached");
            assert_ne!(status.state, Some(b't'), "thread {tid} left stopped");
        }
    }
    assert!(
        timeouts > 0,
        "no freeze of 49 threads finished within zero time? unlikely"
    );
    eprintln!("{timeouts} of 50 freezes timed out and were unwound");
    // And a normal freeze works afterwards.
    assert_eq!(process.freeze().unwrap().threads().len(), 49);
}
