//! Acceptance point 4: a missing or dead pid, a zombie, and a process we may
//! not trace each give their specific error (the already-traced case is in
//! tests/freeze.rs).

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use coroner_proc_reader::{Error, PermissionReason, Process};
use coroner_test_support::{proc_state, retry_text_file_busy, Target};

#[test]
fn missing_pid_is_process_gone() {
    // A pid that just exited and was reaped.
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    match Process::open(pid) {
        Err(Error::ProcessGone {
            pid: p,
            zombie: false,
            path,
        }) => {
            assert_eq!(p, pid);
            assert_eq!(path, std::path::PathBuf::from(format!("/proc/{pid}")));
        }
        Err(other) => panic!("expected ProcessGone, got {other:?}"),
        Ok(_) => eprintln!("pid {pid} was reused at once; nothing to check"),
    }
    // Beyond any pid_max.
    assert!(matches!(
        Process::open(u32::MAX),
        Err(Error::ProcessGone { zombie: false, .. })
    ));
    assert!(matches!(Process::open(0), Err(Error::ProcessGone { .. })));
}

#[test]
fn thread_id_is_not_a_process() {
    let target = Target::spawn(&["--threads", "1", "--pattern-mib", "1", "--reserve-gib", "0"]);
    let process = Process::open(target.pid()).unwrap();
    let tid = *process
        .tasks()
        .unwrap()
        .iter()
        .find(|&&t| t != target.pid())
        .unwrap();
    let err = Process::open(tid).unwrap_err();
    assert!(
        matches!(&err, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::InvalidInput),
        "{err:?}"
    );
}

#[test]
fn process_dying_after_open_is_process_gone() {
    let target = Target::spawn(&["--threads", "2", "--pattern-mib", "1", "--reserve-gib", "0"]);
    let pid = target.pid();
    let process = Process::open(pid).unwrap();
    let memory = process.memory().unwrap();
    let pattern = target.ready.u64("pattern");
    drop(target); // SIGKILL and reap
    let gone = |r: Result<(), Error>, what: &str| match r {
        Err(Error::ProcessGone {
            pid: p,
            zombie: false,
            ..
        }) => assert_eq!(p, pid, "{what}"),
        other => panic!("{what}: expected ProcessGone, got {other:?}"),
    };
    gone(process.status().map(drop), "status");
    gone(process.stat().map(drop), "stat");
    gone(process.mappings().map(drop), "smaps");
    gone(process.exe().map(drop), "exe");
    gone(process.tasks().map(drop), "tasks");
    gone(process.freeze().map(drop), "freeze");
    gone(process.memory().map(drop), "memory");
    gone(memory.read_at(pattern, &mut [0u8; 64]).map(drop), "read_at");
    gone(
        memory.present_pages(pattern, pattern + 4096).map(drop),
        "pagemap",
    );
    let err = process.status().unwrap_err();
    assert!(err.to_string().contains("has exited"), "{err}");
}

#[test]
fn zombie_is_process_gone_with_zombie_flag() {
    let mut child = Command::new("sh")
        .args(["-c", "exit 3"])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(5);
    while proc_state(pid) != Some('Z') {
        assert!(Instant::now() < deadline, "child never became a zombie");
        std::thread::sleep(Duration::from_millis(5));
    }
    let process = Process::open(pid).unwrap();
    assert!(process.status().unwrap().is_zombie());
    assert_eq!(process.zombie(), Some(true));
    let is_zombie_gone = |r: Result<(), Error>, what: &str| match r {
        Err(Error::ProcessGone {
            zombie: true,
            pid: p,
            ..
        }) => assert_eq!(p, pid),
        other => panic!("{what}: expected ProcessGone {{ zombie: true }}, got {other:?}"),
    };
    is_zombie_gone(process.freeze().map(drop), "freeze");
    is_zombie_gone(process.exe().map(drop), "exe");
    match process.memory() {
        Ok(memory) => is_zombie_gone(memory.read_at(0x400000, &mut [0u8; 8]).map(drop), "read_at"),
        Err(e) => is_zombie_gone(Err(e), "memory"),
    }
    let msg = process.freeze().unwrap_err().to_string();
    assert!(msg.contains("zombie"), "{msg}");
    child.wait().unwrap();
}

/// Environment variable that turns `helper_unprivileged` into the child run
/// as an unprivileged user: the pid to try.
const UNPRIV_ENV: &str = "COR_PROC_READER_UNPRIV_PID";

/// Not a test of its own: the child that `unprivileged_user_gets_missing_cap`
/// runs as uid/gid 65534 (this test binary re-executed). It prints what each
/// operation on the root-owned pid gave.
#[test]
#[ignore = "child process of unprivileged_user_gets_missing_cap; needs COR_PROC_READER_UNPRIV_PID"]
fn helper_unprivileged() {
    let Some(pid) = std::env::var(UNPRIV_ENV).ok().and_then(|p| p.parse().ok()) else {
        eprintln!("{UNPRIV_ENV} not set: nothing to try");
        return;
    };
    report_denials(pid);
}

/// Print one `RESULT op kind detail` line per operation.
fn report_denials(pid: u32) {
    let process = Process::open(pid).unwrap();
    let show = |op: &str, r: Result<(), Error>| {
        let line = match r {
            Ok(()) => format!("RESULT {op} ok"),
            Err(Error::PermissionDenied {
                reason:
                    PermissionReason::MissingCapSysPtrace {
                        our_uid,
                        target_uids,
                    },
                ..
            }) => {
                format!(
                    "RESULT {op} missing-cap our={our_uid} target={target_uids:?} msg={}",
                    r.as_ref().unwrap_err()
                )
            }
            Err(Error::PermissionDenied {
                reason: PermissionReason::MissingCapCheckpointRestore,
                ..
            }) => format!(
                "RESULT {op} missing-checkpoint-restore msg={}",
                r.as_ref().unwrap_err()
            ),
            Err(e) => format!("RESULT {op} other {e:?}"),
        };
        println!("{line}");
    };
    show("freeze", process.freeze().map(drop));
    show("memory", process.memory().map(drop));
    show("exe", process.exe().map(drop));
    show("status", process.status().map(drop));
    // map_files needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE even for our
    // own mappings.
    let me = Process::open(std::process::id()).unwrap();
    let first = me.maps().unwrap().into_iter().next().unwrap();
    show(
        "map_files",
        me.mapping_file_data(first.start, first.end, first.offset)
            .map(drop),
    );
}

#[test]
fn unprivileged_user_gets_missing_cap() {
    let target = Target::spawn(&["--threads", "1", "--pattern-mib", "1", "--reserve-gib", "0"]);
    let pid = target.pid();
    let me = Process::open(std::process::id()).unwrap().status().unwrap();
    if me.uid[1] != 0 {
        // Not root here: we are the unprivileged one; try pid 1 directly.
        eprintln!("not root: checking against pid 1 instead of dropping privileges");
        let p1 = Process::open(1).unwrap();
        let err = p1.freeze().unwrap_err();
        assert!(
            matches!(
                err,
                Error::PermissionDenied {
                    reason: PermissionReason::MissingCapSysPtrace { .. },
                    ..
                }
            ),
            "{err:?}"
        );
        return;
    }
    // Run a copy from a world-readable place: the build tree may sit under
    // a directory uid 65534 cannot enter.
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let exe = dir.path().join("errors-test");
    std::fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
    std::fs::set_permissions(&exe, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut run_copy = Command::new(&exe);
    run_copy
        .args([
            "--exact",
            "helper_unprivileged",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(UNPRIV_ENV, pid.to_string())
        .uid(65534)
        .gid(65534)
        .stdin(Stdio::null());
    // The copy just written may be "Text file busy" for a moment: another
    // test's fork can hold its write descriptor until that child execs.
    let out = retry_text_file_busy(|| run_copy.output())
        .expect("run a copy of the test binary as uid 65534");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = |op: &str| {
        text.lines()
            .find_map(|l| {
                l.find(&format!("RESULT {op} "))
                    .map(|at| l[at..].to_owned())
            })
            .unwrap_or_else(|| {
                panic!(
                    "no result for {op} in child output:\n{text}\n{}",
                    String::from_utf8_lossy(&out.stderr)
                )
            })
    };
    for op in ["freeze", "memory", "exe"] {
        let l = line(op);
        assert!(l.contains("missing-cap our=65534 target=[0, 0, 0]"), "{l}");
        assert!(
            l.contains("CAP_SYS_PTRACE"),
            "the message says what to do: {l}"
        );
    }
    assert!(line("status").ends_with(" ok"), "status is world-readable");
    let l = line("map_files");
    assert!(l.contains("missing-checkpoint-restore"), "{l}");
    assert!(l.contains("CAP_CHECKPOINT_RESTORE"), "{l}");
    // And the target was left alone.
    assert!(!matches!(proc_state(pid), Some('t' | 'T')));
}

#[test]
fn kernel_thread_is_refused_with_its_reason() {
    // kthreadd is pid 2 wherever kernel threads are visible (not inside a
    // container's pid namespace, where pid 2 is an ordinary process).
    let Ok(p) = Process::open(2) else {
        eprintln!("no pid 2 here; nothing to check");
        return;
    };
    let stat = p.stat().unwrap();
    if stat.flags & 0x0020_0000 == 0 {
        eprintln!("pid 2 is not a kernel thread here (container?); nothing to check");
        return;
    }
    assert_kernel_thread_refusal(&p.freeze().unwrap_err());
    // Reading its auxv (ESRCH from the kernel) says the same. (Its maps is
    // just empty.)
    assert_kernel_thread_refusal(&p.auxv().unwrap_err());
}

/// `err` refuses pid 2 for being a kernel thread, and says so: not as a
/// permission problem.
fn assert_kernel_thread_refusal(err: &Error) {
    assert!(
        matches!(
            err,
            Error::PermissionDenied {
                reason: PermissionReason::KernelThread,
                ..
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with("pid 2 is a kernel thread") && !text.contains("permission denied"),
        "a kernel thread is not a permission problem: {text}"
    );
}
