//! Copy-on-write copies of live processes (`ForkCopy`): the target's
//! threads carry on exactly as they were, see nothing of the copy, and the
//! copy holds the memory as it was.
#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

use std::collections::BTreeMap;
use std::time::Duration;

use coroner_proc_reader::{CopyRefusal, Error, ForkCopy, Process, Registers};
use coroner_test_support::SnapshotTarget;

/// Every parked thread's registers, by thread name.
fn parked_registers(process: &Process) -> BTreeMap<String, (u32, Registers)> {
    let frozen = process.freeze().unwrap();
    let out = frozen
        .threads()
        .iter()
        .map(|t| {
            (
                String::from_utf8_lossy(&t.name).into_owned(),
                (t.tid, t.regs.clone()),
            )
        })
        .filter(|(name, _)| name.starts_with("p-") || name == "coroner-snapsho")
        .collect();
    frozen.thaw().unwrap();
    out
}

/// [`parked_registers`] once every thread of `before` (but the two that
/// leave their calls, see below) is back inside its blocking call. A
/// thread thawed from a call the kernel restarts by rewinding its `rip`
/// (the main thread's `read`) is, for an instant, in user mode at the
/// `syscall` instruction (`orig_rax` -1); a freeze that lands in that
/// instant would report registers the thread holds for no longer than
/// that. Up to 2 s of tries; after that the registers are compared as
/// they are, so a thread truly left outside its call still fails.
fn parked_registers_back_in_their_calls(
    process: &Process,
    before: &BTreeMap<String, (u32, Registers)>,
) -> BTreeMap<String, (u32, Registers)> {
    let mut tries = 0;
    loop {
        let now = parked_registers(process);
        let in_transit = before.keys().any(|name| {
            name != "p-nanosleep"
                && name != "p-epoll"
                && now
                    .get(name)
                    .is_some_and(|(_, r)| r.gp[ORIG_RAX] == u64::MAX)
        });
        tries += 1;
        if !in_transit || tries == 200 {
            return now;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn children(pid: u32) -> String {
    let mut all = String::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let task = task.unwrap().path();
        all.push_str(&std::fs::read_to_string(task.join("children")).unwrap_or_default());
    }
    all.trim().to_owned()
}

const ORIG_RAX: usize = 15;
const RAX: usize = 10;

/// The registers after equal those before; a call interrupted with
/// -ERESTART_RESTARTBLOCK (poll or futex with a timeout) has been restarted
/// through restart_syscall (orig_rax 219), as after any freeze.
fn assert_same(name: &str, before: &Registers, after: &Registers) {
    let mut b = before.gp;
    let mut a = after.gp;
    if b[RAX] as i64 == -516 {
        assert!(
            a[ORIG_RAX] == b[ORIG_RAX] || a[ORIG_RAX] == 219,
            "{name}: orig_rax {:#x}",
            a[ORIG_RAX]
        );
        a[ORIG_RAX] = 0;
        b[ORIG_RAX] = 0;
    }
    assert_eq!(a, b, "{name}: general registers changed");
    assert_eq!(after.fp, before.fp, "{name}: FP registers changed");
    assert_eq!(after.xstate, before.xstate, "{name}: XSTATE changed");
}

/// A copy made from inside each kind of blocking call (and from the main
/// thread's read of stdin) leaves every thread's registers as they were,
/// and every call ends as it would have: no EINTR, nanosleep sleeps its
/// time, the timed calls are woken, not timed out.
#[test]
fn copies_made_from_every_blocking_call_leave_the_threads_as_they_were() {
    let target = SnapshotTarget::spawn(&["--heap-mib", "4"]);
    let pid = target.pid();
    let process = Process::open(pid).unwrap();
    let before = parked_registers(&process);
    assert!(before.len() >= 8, "parked threads: {:?}", before.keys());
    let heap = target.ready.u64("heap");
    let plan = ForkCopy::plan(&process).unwrap();
    for (name, (tid, _)) in &before {
        if name == "p-nanosleep" {
            continue; // it ends after 2 s; a copy from it is made below
        }
        let frozen = process.freeze().unwrap();
        let copy = frozen.fork_copy_in(&plan, Some(*tid)).unwrap();
        frozen.thaw().unwrap();
        let mem = copy.process().memory().unwrap();
        let mut bytes = [0u8; 16];
        mem.read_exact_at(heap, &mut bytes).unwrap();
        let want: Vec<u8> = (0..16).map(|i: i64| (i * 7 + 3) as u8).collect();
        assert_eq!(bytes[..], want[..], "the copy's heap (made from {name})");
        copy.destroy().unwrap();
        assert_eq!(children(pid), "", "no child left after a copy from {name}");
    }
    let after = parked_registers_back_in_their_calls(&process, &before);
    for (name, (_, regs)) in &before {
        // nanosleep ends after 2 s; epoll_wait is ended with EINTR by every
        // freeze (the kernel never restarts it) and is called again.
        if name == "p-nanosleep" || name == "p-epoll" {
            continue;
        }
        let (_, now) = after.get(name).unwrap_or_else(|| panic!("{name} is gone"));
        assert_same(name, regs, now);
    }
    // From the nanosleep: it still sleeps its 2 s, no less, no EINTR.
    if let Some((tid, _)) = after.get("p-nanosleep") {
        let frozen = process.freeze().unwrap();
        match frozen.fork_copy_in(&plan, Some(*tid)) {
            Ok(copy) => {
                frozen.thaw().unwrap();
                copy.destroy().unwrap();
            }
            Err(e) => panic!("copy from nanosleep: {e}"),
        }
    }
    std::thread::sleep(Duration::from_millis(2500));
    let (out, status) = target.finish();
    assert!(status.success(), "{out:?}");
    let results: Vec<&String> = out.iter().filter(|l| l.starts_with("RESULT")).collect();
    assert_eq!(results.len(), 8, "{out:?}");
    for r in results {
        // epoll_wait is never restarted by the kernel: each freeze alone
        // gives it an EINTR (see the test below); every other call ends
        // normally.
        if r.starts_with("RESULT epoll_wait=") {
            assert!(r.starts_with("RESULT epoll_wait=ok"), "{r}");
            continue;
        }
        assert!(r.ends_with("=ok"), "{r} (all: {out:?})");
    }
    assert!(out.contains(&"SIGCHLD 0".to_owned()), "{out:?}");
    assert!(out.contains(&"WAITED 0".to_owned()), "{out:?}");
}

/// epoll_wait is the one call the kernel ends with EINTR on any ptrace
/// stop; a copy adds none beyond what a plain freeze gives (one per
/// freeze), whichever thread makes it.
#[test]
fn epoll_wait_sees_what_a_plain_freeze_gives_it() {
    let mut seen = Vec::new();
    for snapshot in [false, true] {
        let target = SnapshotTarget::spawn(&[]);
        let process = Process::open(target.pid()).unwrap();
        let plan = ForkCopy::plan(&process).unwrap();
        let frozen = process.freeze().unwrap();
        let epoll = frozen
            .threads()
            .iter()
            .find(|t| t.name == b"p-epoll")
            .unwrap()
            .tid;
        let copy = snapshot.then(|| frozen.fork_copy_in(&plan, Some(epoll)).unwrap());
        frozen.thaw().unwrap();
        drop(copy);
        std::thread::sleep(Duration::from_millis(100));
        let (out, _) = target.finish();
        seen.push(
            out.into_iter()
                .find(|l| l.starts_with("RESULT epoll_wait=")),
        );
    }
    assert_eq!(seen[0].as_deref(), Some("RESULT epoll_wait=ok eintr=1"));
    assert_eq!(seen[0], seen[1]);
}

/// Twenty copies: the target gets no SIGCHLD, its waitpid(-1, WNOHANG)
/// never returns one, and no zombie is left among its children.
#[test]
fn the_target_sees_nothing_of_twenty_copies() {
    let target = SnapshotTarget::spawn(&[]);
    let pid = target.pid();
    let process = Process::open(pid).unwrap();
    let plan = ForkCopy::plan(&process).unwrap();
    for _ in 0..20 {
        let frozen = process.freeze().unwrap();
        let copy = frozen.fork_copy(&plan).unwrap();
        frozen.thaw().unwrap();
        assert_eq!(
            children(pid),
            copy.pid().to_string(),
            "the copy, while it lives"
        );
        // It runs nothing: in a ptrace stop since birth ('t'), user time 0.
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", copy.pid())).unwrap();
        let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
        assert_eq!(fields[0], "t", "{stat}");
        assert_eq!(fields[11], "0", "utime of the copy: {stat}");
        let copy_pid = copy.pid();
        copy.destroy().unwrap();
        assert_eq!(children(pid), "", "copy {copy_pid} reaped");
        assert!(!std::path::Path::new(&format!("/proc/{copy_pid}")).exists());
    }
    let (out, status) = target.finish();
    assert!(status.success());
    assert!(out.contains(&"SIGCHLD 0".to_owned()), "{out:?}");
    assert!(out.contains(&"WAITED 0".to_owned()), "{out:?}");
}

/// A target whose seccomp filter kills it on clone is never asked to make
/// a copy, and survives.
#[test]
fn a_seccomp_filter_refuses_the_copy() {
    let mut target = SnapshotTarget::spawn(&["--seccomp-kill-clone"]);
    let process = Process::open(target.pid()).unwrap();
    match ForkCopy::plan(&process) {
        Err(Error::CopyRefused {
            reason: CopyRefusal::Seccomp { mode: 2 },
            ..
        }) => {}
        other => panic!("expected a seccomp refusal, got {other:?}"),
    }
    assert!(target.is_running());
    let (out, status) = target.finish();
    assert!(status.success(), "{out:?}");
}

/// The copy holds the memory of the moment it was made, while the target
/// goes on changing its own.
#[test]
fn the_copy_is_one_point_in_time() {
    let target = SnapshotTarget::spawn(&["--counters", "2"]);
    let process = Process::open(target.pid()).unwrap();
    let counters = target.ready.u64("counters");
    let plan = ForkCopy::plan(&process).unwrap();
    for _ in 0..5 {
        let frozen = process.freeze().unwrap();
        let copy = frozen.fork_copy(&plan).unwrap();
        frozen.thaw().unwrap();
        let mem = copy.process().memory().unwrap();
        let mut first = [0u8; 16];
        mem.read_exact_at(counters, &mut first).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let mut later = [0u8; 16];
        mem.read_exact_at(counters, &mut later).unwrap();
        assert_eq!(first, later, "the copy does not change");
        let live = process.memory().unwrap();
        let mut now = [0u8; 16];
        live.read_exact_at(counters, &mut now).unwrap();
        assert_ne!(now, first, "the target ran on");
        copy.destroy().unwrap();
    }
}
