//! The metadata getters against the shared target, checked against what we
//! know independently (our own pid, the target's arguments, its READY line).

use coroner_proc_reader::parse::auxv::{auxv_value, AT_ENTRY, AT_PAGESZ, AT_SYSINFO_EHDR};
use coroner_proc_reader::parse::coredump_filter::CoredumpFilter;
use coroner_proc_reader::Process;
use coroner_test_support::{target_path, Target};

#[test]
fn metadata_of_the_target() {
    let dir = tempfile::tempdir().unwrap();
    let target = Target::spawn_in(
        &["--threads", "3", "--pattern-mib", "2", "--reserve-gib", "1"],
        Some(dir.path()),
    );
    let pid = target.pid();
    let p = Process::open(pid).unwrap();

    let status = p.status().unwrap();
    assert_eq!(
        status.name, b"coroner-test-ta",
        "comm is truncated to 15 bytes"
    );
    assert_eq!(
        (status.tgid, status.pid, status.ppid, status.tracer_pid),
        (pid, pid, std::process::id(), 0)
    );
    assert_eq!(status.threads, Some(4));
    assert_eq!(status.nspid.last(), Some(&pid));
    assert_eq!(p.nspid().unwrap(), pid, "same pid namespace as ours");

    let stat = p.stat().unwrap();
    let me = Process::open(std::process::id()).unwrap().stat().unwrap();
    assert_eq!(stat.pid, pid);
    assert_eq!(stat.ppid as u32, std::process::id());
    assert_eq!(
        (stat.pgrp, stat.session),
        (me.pgrp, me.session),
        "inherited from us"
    );
    assert!(stat.start_time >= me.start_time);
    assert_eq!(stat.num_threads, 4);

    let cmdline = p.cmdline().unwrap();
    assert_eq!(cmdline[0], target_path().as_os_str().as_encoded_bytes());
    assert_eq!(
        &cmdline[1..],
        [
            &b"--threads"[..],
            b"3",
            b"--pattern-mib",
            b"2",
            b"--reserve-gib",
            b"1"
        ]
    );
    let env = p.environ().unwrap();
    let ours: Vec<(Vec<u8>, Vec<u8>)> = std::env::vars_os()
        .map(|(k, v)| (k.into_encoded_bytes(), v.into_encoded_bytes()))
        .collect();
    assert_eq!(env, ours, "the target inherited our environment");
    assert!(p.environ_raw().unwrap().ends_with(b"\0"));

    let auxv = p.auxv().unwrap();
    assert_eq!(
        auxv_value(&auxv, AT_PAGESZ),
        Some(coroner_proc_reader::page_size())
    );
    let raw = p.auxv_raw().unwrap();
    assert_eq!(raw.len() % 16, 0);
    assert!(raw.len() >= (auxv.len() + 1) * 16, "raw keeps AT_NULL");

    let exe = p.exe().unwrap();
    assert_eq!(exe, target_path());
    assert_eq!(p.cwd().unwrap(), dir.path().canonicalize().unwrap());

    let limits = p.limits().unwrap();
    assert!(limits.len() >= 16, "{limits:?}");
    let nofile = limits.iter().find(|l| l.name == "Max open files").unwrap();
    assert_eq!(nofile.units, "files");
    assert!(nofile.soft.is_some());
    assert!(!p.cgroups().unwrap().is_empty());
    assert_eq!(p.coredump_filter().unwrap(), CoredumpFilter::DEFAULT);

    let maps = p.mappings().unwrap();
    assert!(
        maps.windows(2).all(|w| w[0].end <= w[1].start),
        "sorted, disjoint"
    );
    let entry = auxv_value(&auxv, AT_ENTRY).unwrap();
    let code = maps.iter().find(|m| m.contains(entry)).unwrap();
    assert!(code.perms.exec && code.path == exe.as_os_str().as_encoded_bytes() && code.inode != 0);
    let vdso = auxv_value(&auxv, AT_SYSINFO_EHDR).unwrap();
    assert_eq!(
        maps.iter()
            .find(|m| m.contains(vdso))
            .unwrap()
            .pseudo_name(),
        Some(&b"[vdso]"[..])
    );
    let pattern = target.ready.u64("pattern");
    let plen = target.ready.u64("pattern_len");
    let pm = maps.iter().find(|m| m.start == pattern).unwrap();
    assert_eq!(
        (pm.len(), pm.rss, pm.anonymous),
        (plen, plen, plen),
        "written anonymous memory"
    );
    assert!(pm.perms.read && pm.perms.write && !pm.perms.shared && !pm.vm_flags.dont_dump());
    let dd = maps
        .iter()
        .find(|m| m.start == target.ready.u64("dontdump"))
        .unwrap();
    assert!(
        dd.vm_flags.dont_dump(),
        "MADV_DONTDUMP shows as dd: {:?}",
        dd.vm_flags
    );
    let reserve = maps
        .iter()
        .find(|m| m.start == target.ready.u64("reserve"))
        .unwrap();
    assert_eq!(
        (reserve.len(), reserve.rss, reserve.anonymous),
        (1 << 30, 0, 0)
    );
    assert!(reserve.vm_flags.contains("nr"), "MAP_NORESERVE shows as nr");
    // maps and smaps agree on the list itself.
    let plain = p.maps().unwrap();
    assert_eq!(plain.len(), maps.len());
    assert!(plain
        .iter()
        .zip(&maps)
        .all(|(a, b)| (a.start, a.end, &a.path) == (b.start, b.end, &b.path)));

    let tasks = p.tasks().unwrap();
    assert_eq!(tasks.len(), 4);
    let names: Vec<Vec<u8>> = tasks.iter().map(|&t| p.thread_name(t).unwrap()).collect();
    for i in 0..3 {
        assert!(names.contains(&format!("worker-{i}").into_bytes()));
    }
    assert!(tasks
        .iter()
        .all(|&t| p.thread_status(t).unwrap().tgid == pid));
    assert!(tasks.iter().all(|&t| p.thread_stat(t).unwrap().pid == t));
    assert!(p.read_file("does-not-exist").is_err());
}

#[test]
fn nspid_inside_a_new_pid_namespace() {
    // `unshare --pid --fork` makes its child pid 1 of a new pid namespace.
    let Ok(mut unshare) = std::process::Command::new("unshare")
        .args(["--pid", "--fork", "sleep", "60"])
        .stdin(std::process::Stdio::null())
        .spawn()
    else {
        eprintln!("SKIP: unshare (util-linux) not available");
        return;
    };
    let outer = unshare.id();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let child = loop {
        let kids = std::fs::read_to_string(format!("/proc/{outer}/task/{outer}/children"))
            .unwrap_or_default();
        if let Some(pid) = kids
            .split_whitespace()
            .next()
            .and_then(|p| p.parse::<u32>().ok())
        {
            if Process::open(pid)
                .and_then(|p| p.exe())
                .is_ok_and(|e| e.ends_with("sleep"))
            {
                break Some(pid);
            }
        }
        if std::time::Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let result = std::panic::catch_unwind(|| {
        let pid = child.expect("unshare started its child");
        let p = Process::open(pid).unwrap();
        let status = p.status().unwrap();
        if status.nspid.len() < 2 {
            // unshare failed to create the namespace (no privilege here) and ran sleep directly.
            panic!("no nested pid namespace: NSpid {:?}", status.nspid);
        }
        assert_eq!(status.nspid, [pid, 1]);
        assert_eq!(p.nspid().unwrap(), 1, "pid 1 in its own namespace");
        let frozen = p.freeze().unwrap();
        assert_eq!(frozen.threads()[0].tid, pid, "thread ids are global");
        frozen.thaw().unwrap();
    });
    let _ = unshare.kill();
    if let Some(pid) = child {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
    let _ = unshare.wait();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
