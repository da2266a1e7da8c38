//! Acceptance 2: cores written by the kernel and by gdb's `gcore` parse, and
//! hold every thread, the signal, the auxv, the mapped files and the
//! target's byte pattern.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use coroner_core_format::{parse, raw, Core, Machine, MemoryAt};
use coroner_test_support::{kernel_core, oracle, pattern_word, target_path, Ready, Target};

fn canonical_target() -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    std::fs::canonicalize(target_path())
        .unwrap()
        .as_os_str()
        .as_bytes()
        .to_vec()
}

/// Checks shared by both producers.
fn check_common(core: &Core<'_>, ready: &Ready, threads: usize) {
    assert_eq!(core.machine(), Machine::host());
    let pid = ready.pid();

    // Threads: main + workers, distinct tids, the current one first.
    let ts: Vec<_> = core.threads().collect::<Result<_, _>>().unwrap();
    assert_eq!(ts.len(), threads + 1, "threads in the core");
    let tids: BTreeSet<u32> = ts.iter().map(|t| t.tid()).collect();
    assert_eq!(tids.len(), ts.len(), "tids are distinct: {tids:?}");
    assert!(tids.contains(&pid), "main thread {pid} in {tids:?}");
    for t in &ts {
        let regs = t.registers().unwrap();
        assert_ne!(regs.pc(), 0, "thread {} pc", t.tid());
        assert_ne!(regs.sp(), 0, "thread {} sp", t.tid());
        let fp = t.fpregset().unwrap().expect("NT_FPREGSET");
        if core.machine() == Some(Machine::X86_64) {
            assert_eq!(fp.len(), raw::X86_64_FPREGSET_SIZE);
            assert!(t.xstate().unwrap().expect("NT_X86_XSTATE").len() >= 576);
        }
        // The stack pointer points into dumped memory.
        assert!(
            matches!(core.memory_at(regs.sp()), MemoryAt::Present(_)),
            "stack of {}",
            t.tid()
        );
    }

    // Auxv: the page size and the executable's program headers.
    let auxv: Vec<_> = core
        .auxv()
        .unwrap()
        .expect("NT_AUXV")
        .collect::<Result<_, _>>()
        .unwrap();
    let get = |k| auxv.iter().find(|e| e.key == k).map(|e| e.value);
    assert_eq!(get(raw::AT_PAGESZ), Some(4096));
    let phdr = get(raw::AT_PHDR).expect("AT_PHDR");
    assert!(
        matches!(core.memory_at(phdr), MemoryAt::Present(_)),
        "AT_PHDR memory is dumped"
    );
    assert!(get(raw::AT_ENTRY).is_some() && get(raw::AT_RANDOM).is_some());

    // NT_FILE lists the executable.
    let files = core.file_note().unwrap().expect("NT_FILE");
    let entries: Vec<_> = files.entries().collect::<Result<_, _>>().unwrap();
    assert_eq!(entries.len() as u64, files.count());
    let exe = canonical_target();
    let exe_maps: Vec<_> = entries
        .iter()
        .filter(|e| e.path == exe.as_slice())
        .collect();
    assert!(!exe_maps.is_empty(), "executable in NT_FILE");
    assert!(exe_maps.iter().any(|e| e.file_offset() == Some(0)));
    for e in &entries {
        assert!(
            e.start < e.end && e.start % 4096 == 0 && e.end % 4096 == 0,
            "{e:?}"
        );
        assert_eq!(e.file_offset().unwrap() % 4096, 0, "{e:?}");
        assert!(!e.path.is_empty());
    }

    // The pattern region, through both lookups.
    let pattern = ready.u64("pattern");
    let words = ready.u64("pattern_len") / 8;
    let map = core.memory_map().unwrap();
    for i in [0, 1, 511, 512, words / 2, words - 1] {
        let mut buf = [0u8; 8];
        core.read_memory(pattern + 8 * i, &mut buf).unwrap();
        assert_eq!(u64::from_le_bytes(buf), pattern_word(i), "pattern word {i}");
        assert_eq!(map.read_present(pattern + 8 * i, &mut buf), 8);
        assert_eq!(u64::from_le_bytes(buf), pattern_word(i));
    }
    // A read across the whole region crosses page boundaries.
    let mut all = vec![0u8; (words * 8) as usize];
    core.read_memory(pattern, &mut all).unwrap();
    assert!(all
        .chunks_exact(8)
        .enumerate()
        .all(|(i, w)| u64::from_le_bytes(w.try_into().unwrap()) == pattern_word(i as u64)));

    // Nothing is mapped at address 16.
    assert_eq!(core.memory_at(16), MemoryAt::NotMapped);
    assert_eq!(map.memory_at(16), MemoryAt::NotMapped);
    assert!(matches!(
        core.read_memory(16, &mut [0u8; 4]),
        Err(coroner_core_format::ReadError::NotMapped { addr: 16 })
    ));
}

#[test]
fn kernel_core_has_threads_signal_auxv_files_and_pattern() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--threads",
        "4",
        "--pattern-mib",
        "4",
        "--reserve-gib",
        "1",
        "--dontdump-kib",
        "64",
    ];
    let Some(kc) = kernel_core(&args, dir.path()) else {
        return;
    };
    let data = std::fs::read(&kc.path).unwrap();
    let core = parse(&data).unwrap();
    check_common(&core, &kc.ready, 4);
    let pid = kc.ready.pid();

    // The kernel's layout: PT_NOTE first, page-aligned PT_LOADs.
    let phdrs: Vec<_> = core.program_headers().collect();
    assert_eq!(phdrs[0].p_type, raw::PT_NOTE);
    assert!(phdrs[1..]
        .iter()
        .all(|p| p.p_type == raw::PT_LOAD && p.p_align == 4096 && p.p_offset % 4096 == 0));

    // The crashing main thread comes first, with SIGSEGV.
    let first = core.threads().next().unwrap().unwrap();
    assert_eq!(first.tid(), pid);
    assert_eq!(first.cursig(), 11);
    assert_eq!(first.prstatus().unwrap().info.si_signo, 11);
    let si = core.siginfo().unwrap().expect("NT_SIGINFO");
    assert_eq!(
        (si.signo(), si.code(), si.addr()),
        (11, 1, 0),
        "SIGSEGV SEGV_MAPERR at NULL"
    );
    assert_eq!(first.siginfo().unwrap(), Some(si));
    let ps = core.prpsinfo().unwrap().expect("NT_PRPSINFO");
    assert_eq!(ps.pid, pid as i32);
    assert_eq!(ps.fname_bytes(), b"coroner-test-ta");
    // The kernel's NT_FILE convention.
    assert_eq!(core.file_note().unwrap().unwrap().page_size(), 4096);

    // MADV_DONTDUMP memory and the untouched reservation are mapped but not in the file.
    assert_eq!(
        core.memory_at(kc.ready.u64("dontdump")),
        MemoryAt::NotInFile
    );
    assert_eq!(
        core.memory_at(kc.ready.u64("reserve") + (1 << 29)),
        MemoryAt::NotInFile
    );
    assert!(matches!(
        core.read_memory(kc.ready.u64("dontdump"), &mut [0u8; 8]),
        Err(coroner_core_format::ReadError::NotInFile { .. })
    ));
}

fn tids_of(pid: u32) -> BTreeSet<u32> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_str().unwrap().parse().unwrap())
        .collect()
}

fn auxv_of(pid: u32) -> Vec<(u64, u64)> {
    let raw = std::fs::read(format!("/proc/{pid}/auxv")).unwrap();
    raw.chunks_exact(16)
        .map(|c| {
            (
                u64::from_le_bytes(c[..8].try_into().unwrap()),
                u64::from_le_bytes(c[8..].try_into().unwrap()),
            )
        })
        .take_while(|&(k, _)| k != 0)
        .collect()
}

/// File-backed mappings of /proc/pid/maps: (start, end, offset, path).
fn file_maps_of(pid: u32) -> BTreeSet<(u64, u64, u64, Vec<u8>)> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    maps.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.splitn(6, ' ').collect();
            let path = f.get(5)?.trim_start();
            if !path.starts_with('/') {
                return None;
            }
            let (s, e) = f[0].split_once('-')?;
            let p = |x| u64::from_str_radix(x, 16).unwrap();
            Some((p(s), p(e), p(f[2]), path.as_bytes().to_vec()))
        })
        .collect()
}

pub fn gcore(gdb: &Path, pid: u32, out: &Path) {
    let status = Command::new(gdb)
        .args(["-batch", "-nx", "-p", &pid.to_string(), "-ex"])
        .arg(format!("gcore {}", out.display()))
        .output()
        .unwrap();
    assert!(
        out.is_file(),
        "gcore wrote nothing: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}

#[test]
fn gdb_gcore_has_threads_signal_auxv_files_and_pattern() {
    let Some(gdb) = oracle("gdb") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let target = Target::spawn(&["--threads", "3", "--pattern-mib", "2", "--reserve-gib", "0"]);
    let pid = target.pid();
    std::thread::sleep(std::time::Duration::from_millis(100));
    let tids = tids_of(pid);
    let auxv = auxv_of(pid);
    let maps = file_maps_of(pid);
    let path = dir.path().join("core.gdb");
    gcore(&gdb, pid, &path);
    let ready = target.ready.clone();
    drop(target);

    let data = std::fs::read(&path).unwrap();
    let core = parse(&data).unwrap();
    check_common(&core, &ready, 3);

    // Exactly the live thread ids.
    let core_tids: BTreeSet<u32> = core.threads().map(|t| t.unwrap().tid()).collect();
    assert_eq!(core_tids, tids);
    // gdb stops the process with SIGSTOP and records it per thread.
    let si = core.siginfo().unwrap().expect("NT_SIGINFO");
    assert_eq!(si.signo(), 19, "SIGSTOP from gdb's attach");
    for t in core.threads() {
        assert_eq!(t.unwrap().siginfo().unwrap().map(|s| s.signo()), Some(19));
    }
    // The auxv is the live one.
    let core_auxv: Vec<_> = core
        .auxv()
        .unwrap()
        .unwrap()
        .map(|e| e.map(|e| (e.key, e.value)))
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(core_auxv, auxv);
    // gdb's NT_FILE convention: byte offsets; entries are the file mappings of /proc/pid/maps.
    let files = core.file_note().unwrap().unwrap();
    assert_eq!(files.page_size(), 1);
    for e in files.entries() {
        let e = e.unwrap();
        let key = (e.start, e.end, e.file_offset().unwrap(), e.path.to_vec());
        assert!(
            maps.contains(&key),
            "NT_FILE entry {e:?} not in /proc/{pid}/maps"
        );
    }
    assert!(
        files.count() >= 4,
        "at least the executable's and libc's mappings"
    );
}
