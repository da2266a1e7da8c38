//! End-to-end: `coroner capture` of the 8-thread test target, checked by
//! tools we did not write (gdb, lldb, eu-stack) and against a core the
//! kernel wrote for the same program.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::Command;

mod common;

use common::{
    assert_gdb_read_libc, capture_ok, gdb_backtrace_threads, gdb_batch, inspect_json, lldb_batch,
    lldb_listed_threads, run_tool,
};
use coroner_test_support::{
    gcore, kernel_core, oracle, pattern_word, target_path, Target, PARK_FUNCTIONS,
};
use serde_json::Value;

/// The 8-thread helper, plus 256 KiB of shared memory that only a child
/// process wrote (first half) and nobody touched (second half).
const TARGET_ARGS: [&str; 4] = ["--threads", "8", "--shared-kib", "256"];

/// A running target and our core of it.
struct Captured {
    target: Target,
    _dir: tempfile::TempDir,
    core: PathBuf,
    json: Value,
}

fn capture_target() -> Captured {
    let target = Target::spawn(&TARGET_ARGS);
    let dir = tempfile::tempdir().unwrap();
    let core = dir.path().join(format!("core.{}", target.pid()));
    let json: Value = serde_json::from_str(&capture_ok(target.pid(), &core, &["--json"]))
        .expect("one JSON object on stdout");
    Captured {
        target,
        _dir: dir,
        core,
        json,
    }
}

/// Every worker's backtrace reaches its park function: each of the 8 names
/// appears in the tool's output.
fn assert_park_frames(tool: &str, text: &str) {
    for f in PARK_FUNCTIONS {
        assert!(text.contains(f), "{tool}: no frame in {f}:\n{text}");
    }
}

/// The bytes of the core at virtual address `addr` (None if not in the file).
fn core_bytes_at(core: &[u8], addr: u64, len: usize) -> Option<Vec<u8>> {
    let parsed = coroner_core_format::parse(core).unwrap();
    let mut buf = vec![0u8; len];
    parsed.read_memory(addr, &mut buf).ok().map(|()| buf)
}

fn segment_filesz(core: &[u8], addr: u64) -> u64 {
    let parsed = coroner_core_format::parse(core).unwrap();
    let seg = parsed
        .segments()
        .find(|s| s.contains(addr))
        .expect("a PT_LOAD covers the address");
    seg.filesz()
}

#[test]
fn capture_holds_the_pattern_not_the_dontdump_bytes_costs_no_blocks_for_the_reservation_and_is_0600(
) {
    let mut c = capture_target();
    let ready = c.target.ready.clone();
    assert_eq!(c.json["pid"], c.target.pid());
    assert_eq!(c.json["threads"], 9);
    assert_eq!(c.json["path"], c.core.to_str().unwrap());
    assert!(c.json["frozen_seconds"].as_f64().unwrap() > 0.0);

    let md = std::fs::metadata(&c.core).unwrap();
    assert_eq!(md.mode() & 0o777, 0o600, "core file mode");
    assert_eq!(c.json["bytes_written"], md.len());
    assert_eq!(c.json["bytes_allocated"], md.blocks() * 512);

    let core = std::fs::read(&c.core).unwrap();
    // The 64 MiB pattern, checked at its start, middle and end.
    let pattern = ready.u64("pattern");
    let words = ready.u64("pattern_len") / 8;
    for i in [0, 1, words / 2, words - 1] {
        let got = core_bytes_at(&core, pattern + i * 8, 8).expect("pattern word in the core");
        assert_eq!(
            u64::from_le_bytes(got.try_into().unwrap()),
            pattern_word(i),
            "pattern word {i}"
        );
    }
    // MADV_DONTDUMP: a program header with no bytes, and the bytes nowhere in the file.
    let dontdump = ready.u64("dontdump");
    assert_eq!(segment_filesz(&core, dontdump), 0);
    assert!(
        !core.windows(16).any(|w| w == b"DONTDUMPDONTDUMP"),
        "DONTDUMP bytes leaked into the core"
    );
    // The untouched 8 GiB reservation: no bytes, and the file's disk blocks
    // are about the pattern plus stacks and libraries, not gigabytes.
    let reserve = ready.u64("reserve");
    assert_eq!(segment_filesz(&core, reserve), 0);
    let allocated = md.blocks() * 512;
    assert!(
        allocated < ready.u64("pattern_len") + (48 << 20),
        "allocated {allocated} bytes on disk"
    );

    // The target runs on: not stopped, not traced, heartbeat advancing.
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert!(c.target.is_running());
    assert!(
        matches!(c.target.state(), 'S' | 'R'),
        "state {}",
        c.target.state()
    );
    let status = std::fs::read_to_string(format!("/proc/{}/status", c.target.pid())).unwrap();
    assert!(status.contains("TracerPid:\t0"), "still traced:\n{status}");
}

#[test]
fn gdb_shows_all_threads_reaching_their_park_functions_and_finds_libc() {
    let Some(gdb) = oracle("gdb") else { return };
    let c = capture_target();
    let text = gdb_batch(
        &gdb,
        target_path(),
        &c.core,
        &["info threads", "thread apply all bt", "info sharedlibrary"],
    );
    let threads = gdb_backtrace_threads(&text);
    assert_eq!(threads, 9, "gdb thread count:\n{text}");
    // gdb reads the vDSO image from the core: complete, it raises no warning.
    assert!(!text.contains("system-supplied DSO"), "{text}");
    assert_park_frames("gdb", &text);
    assert!(
        text.contains("main_heartbeat"),
        "main thread backtrace:\n{text}"
    );
    assert_gdb_read_libc(&text);
}

#[test]
fn lldb_shows_all_threads_reaching_their_park_functions() {
    let Some(lldb) = oracle("lldb") else { return };
    let c = capture_target();
    let text = lldb_batch(
        &lldb,
        target_path(),
        &c.core,
        &["thread list", "thread backtrace all"],
    );
    let threads = lldb_listed_threads(&text);
    assert_eq!(threads, 9, "lldb thread list:\n{text}");
    assert_park_frames("lldb", &text);
}

#[test]
fn eu_stack_shows_all_threads_reaching_their_park_functions() {
    let Some(eu_stack) = oracle("eu-stack") else {
        return;
    };
    let c = capture_target();
    let mut cmd = Command::new(eu_stack);
    cmd.arg("--core")
        .arg(&c.core)
        .arg("--executable")
        .arg(target_path());
    let text = run_tool(cmd);
    let threads = text.lines().filter(|l| l.starts_with("TID ")).count();
    assert_eq!(threads, 9, "eu-stack threads:\n{text}");
    assert_park_frames("eu-stack", &text);
}

/// A mapping independent of where ASLR put it: (path, perms, size, dumped).
fn mapping_key(m: &Value) -> (String, String, u64, u64) {
    (
        m["path"].as_str().unwrap_or("").to_owned(),
        m["perms"].as_str().unwrap().to_owned(),
        m["total"].as_u64().unwrap(),
        m["dumped"].as_u64().unwrap(),
    )
}

/// The kernel's core of the crashing target and ours of the same program
/// running agree on threads, mappings and dumped sizes. Documented
/// differences: the kernel core has a signal (SIGSEGV on the main thread,
/// marked crashed), ours has none; everything else must match.
#[test]
fn kernel_core_and_our_core_list_the_same_threads_and_mappings() {
    let dir = tempfile::tempdir().unwrap();
    let Some(kcore) = kernel_core(&TARGET_ARGS, dir.path()) else {
        return;
    };
    let c = capture_target();
    let theirs = inspect_json(&kcore.path);
    let ours = inspect_json(&c.core);

    assert_eq!(theirs["process"]["signal"], 11);
    assert_eq!(theirs["threads"][0]["crashed"], true);
    assert_eq!(ours["process"]["signal"], Value::Null);
    assert_eq!(theirs["process"]["name"], ours["process"]["name"]);

    let tids = |v: &Value| v["threads"].as_array().unwrap().len();
    assert_eq!(tids(&theirs), 9);
    assert_eq!(tids(&ours), 9);
    // Main thread first in both.
    assert_eq!(theirs["threads"][0]["tid"], theirs["process"]["pid"]);
    assert_eq!(ours["threads"][0]["tid"], ours["process"]["pid"]);

    let keys = |v: &Value| {
        let mut k: Vec<_> = v["mappings"]
            .as_array()
            .unwrap()
            .iter()
            .map(mapping_key)
            .collect();
        k.sort();
        k
    };
    let (kt, ko) = (keys(&theirs), keys(&ours));
    if kt != ko {
        let only_kernel: Vec<_> = kt.iter().filter(|k| !ko.contains(k)).collect();
        let only_ours: Vec<_> = ko.iter().filter(|k| !kt.contains(k)).collect();
        panic!("mappings differ:\nonly in the kernel's core: {only_kernel:#?}\nonly in ours: {only_ours:#?}");
    }
    assert_eq!(
        theirs["totals"]["bytes_dumped"],
        ours["totals"]["bytes_dumped"]
    );
    // Modules and their build-ids (from the dumped header pages) agree.
    let mods = |v: &Value| {
        let mut m: Vec<(String, String)> = v["modules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["path"].as_str().unwrap().to_owned(),
                    m["build_id"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect();
        m.sort();
        m
    };
    assert_eq!(mods(&theirs), mods(&ours));
    assert!(
        mods(&ours)
            .iter()
            .any(|(p, id)| p.contains("libc.so") && !id.is_empty()),
        "{:?}",
        mods(&ours)
    );

    // Contents the two processes share, byte for byte: the vDSO (the same
    // kernel image in every process; pages the process never touched
    // included), and the shared memory a child wrote, which neither process
    // mapped itself (pagemap shows it absent; the kernel reads it anyway).
    let (kbytes, obytes) = (
        std::fs::read(&kcore.path).unwrap(),
        std::fs::read(&c.core).unwrap(),
    );
    let (kparsed, oparsed) = (
        coroner_core_format::parse(&kbytes[..]).unwrap(),
        coroner_core_format::parse(&obytes[..]).unwrap(),
    );
    // The vDSO has no path in NT_FILE: find it by AT_SYSINFO_EHDR.
    let vdso = |parsed: &coroner_core_format::read::Core<'_>| {
        parsed
            .auxv()
            .unwrap()
            .unwrap()
            .flatten()
            .find(|e| e.key == 33)
            .map(|e| e.value)
            .unwrap()
    };
    let contents = |parsed: &coroner_core_format::read::Core<'_>, v: &Value, path: &str| {
        let m = v["mappings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| {
                if path == "[vdso]" {
                    m["start"] == vdso(parsed)
                } else {
                    m["path"] == path
                }
            })
            .unwrap_or_else(|| panic!("no {path} mapping"));
        let (start, end) = (m["start"].as_u64().unwrap(), m["end"].as_u64().unwrap());
        let mut buf = vec![0u8; usize::try_from(end - start).unwrap()];
        // A page in neither file reads as zeros, as a debugger shows it.
        for (i, chunk) in buf.chunks_mut(4096).enumerate() {
            let _ = parsed.read_memory(start + 4096 * i as u64, chunk);
        }
        buf
    };
    let kvdso = contents(&kparsed, &theirs, "[vdso]");
    assert!(kvdso.starts_with(b"\x7fELF"));
    assert!(
        kvdso == contents(&oparsed, &ours, "[vdso]"),
        "[vdso] bytes differ between the kernel's core and ours"
    );
    let shared = "/dev/zero (deleted)";
    let kshared = contents(&kparsed, &theirs, shared);
    let half = kshared.len() / 2;
    assert!(kshared[..half].chunks(8).all(|w| w == b"SHAREDMM"));
    assert!(kshared[half..].iter().all(|&b| b == 0));
    assert!(
        kshared == contents(&oparsed, &ours, shared),
        "shared memory differs between the kernel's core and ours"
    );
    // Reading it did not make the kernel allocate the half nobody wrote.
    let status = std::fs::read_to_string(format!("/proc/{}/status", c.target.pid())).unwrap();
    let rss_shmem_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("RssShmem:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap();
    // 128 kB were written (and are mapped now); 256 would mean the untouched
    // half was allocated too.
    assert!(
        rss_shmem_kib <= 192,
        "RssShmem {rss_shmem_kib} kB:\n{status}"
    );
}

/// `inspect` reads gdb's cores too (NT_FILE with byte offsets, p_align 1,
/// whole mappings): same threads, modules with build-ids, and the pattern
/// mapping fully dumped.
#[test]
fn inspect_reads_gcore_cores() {
    let target = Target::spawn(&["--threads", "8", "--pattern-mib", "8", "--reserve-gib", "0"]);
    let dir = tempfile::tempdir().unwrap();
    let Some(core) = gcore(target.pid(), dir.path()) else {
        return;
    };
    let v = inspect_json(&core);
    assert_eq!(v["process"]["pid"], target.pid());
    assert_eq!(v["threads"].as_array().unwrap().len(), 9);
    let pattern = target.ready.u64("pattern");
    let m = v["mappings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["start"].as_u64().unwrap() <= pattern && pattern < m["end"].as_u64().unwrap())
        .expect("pattern mapping listed");
    assert_eq!(m["dumped"], m["total"]);
    let modules = v["modules"].as_array().unwrap();
    let libc = modules
        .iter()
        .find(|m| m["path"].as_str().unwrap().contains("libc.so"))
        .expect("libc module");
    assert!(
        libc["build_id"].as_str().is_some_and(|id| id.len() == 40),
        "{libc}"
    );
    let exe = modules
        .iter()
        .find(|m| m["path"].as_str().unwrap().ends_with("coroner-test-target"))
        .expect("exe");
    assert!(exe["build_id"].is_string(), "{exe}");
}

/// The parked threads' registers are the same in our core and in gdb's
/// gcore of the same process, and every page that both our core
/// (`--filter 0x3f`, so file mappings too) and gcore hold has the same bytes: anonymous
/// memory, file mappings, shared memory only a child process wrote, the
/// vDSO. The one exception allowed is a handful of pages of private
/// writable memory that change between the two captures: the running main
/// thread's heartbeat counter (in the executable's data), and glibc's
/// per-thread state at the top of each thread's stack mapping, which gdb's
/// attach (SIGSTOP to every thread) changes.
#[test]
fn our_core_holds_the_same_registers_and_bytes_as_gcore_of_the_same_process() {
    let target = Target::spawn(&[
        "--threads",
        "4",
        "--pattern-mib",
        "4",
        "--reserve-gib",
        "1",
        "--shared-kib",
        "256",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let ours = dir.path().join("ours.core");
    capture_ok(target.pid(), &ours, &["--filter", "0x3f"]);
    let Some(theirs) = gcore(target.pid(), dir.path()) else {
        return;
    };
    let theirs = std::fs::read(theirs).unwrap();
    let ours = std::fs::read(&ours).unwrap();
    let theirs = coroner_core_format::parse(&theirs[..]).unwrap();
    let ours_core = coroner_core_format::parse(&ours[..]).unwrap();

    // Registers: every parked worker's general and x87/SSE registers are
    // gdb's, to the bit (fs_base and gs_base included). The main thread
    // runs on between the two captures and is left out.
    let mut workers = 0;
    for t in theirs.threads().map(Result::unwrap) {
        if t.tid() == target.pid() {
            continue;
        }
        let mine = ours_core
            .threads()
            .map(Result::unwrap)
            .find(|m| m.tid() == t.tid())
            .unwrap_or_else(|| panic!("thread {} missing from our core", t.tid()));
        assert_eq!(
            mine.registers().unwrap(),
            t.registers().unwrap(),
            "tid {}",
            t.tid()
        );
        // The FXSAVE image but mxcsr_mask (bytes 28..32): gdb writes 0
        // there, we and the kernel's own cores the CPU's mask.
        let fxsave_without_mask = |f: Option<&[u8]>| {
            let mut f = f.expect("NT_FPREGSET").to_vec();
            f[28..32].fill(0);
            f
        };
        assert!(
            fxsave_without_mask(mine.fpregset().unwrap())
                == fxsave_without_mask(t.fpregset().unwrap()),
            "tid {}: FP registers differ",
            t.tid()
        );
        workers += 1;
    }
    assert_eq!(workers, 4);
    let ours = ours_core.memory_map().unwrap();

    // /proc/PID/maps: (start, end, shared, inode, writable) of each mapping.
    let maps: Vec<(u64, u64, bool, u64, bool)> =
        std::fs::read_to_string(format!("/proc/{}/maps", target.pid()))
            .unwrap()
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                let (a, b) = f[0].split_once('-').unwrap();
                let hex = |s: &str| u64::from_str_radix(s, 16).unwrap();
                let (shared, writable) = (f[1].ends_with('s'), f[1].contains('w'));
                (hex(a), hex(b), shared, f[4].parse().unwrap(), writable)
            })
            .collect();
    let private_writable = |addr: u64| {
        maps.iter()
            .any(|&(s, e, shared, _, writable)| s <= addr && addr < e && !shared && writable)
    };

    let (mut compared, mut differing) = (0usize, Vec::new());
    let mut kinds = std::collections::BTreeSet::new();
    for seg in theirs.segments() {
        for (i, page) in seg.data().chunks(4096).enumerate() {
            let addr = seg.vaddr() + 4096 * i as u64;
            let coroner_core_format::MemoryAt::Present(mine) = ours.memory_at(addr) else {
                continue;
            };
            let Some(mine) = mine.get(..page.len()) else {
                continue;
            };
            compared += 1;
            kinds.insert(
                maps.iter()
                    .find(|m| m.0 <= addr && addr < m.1)
                    .map(|m| (m.2, m.3 != 0)),
            );
            if mine != page {
                differing.push(addr);
            }
        }
    }
    assert!(compared > 1000, "only {compared} pages in both cores");
    // Shared memory, file mappings and private anonymous memory were compared.
    assert!(kinds.contains(&Some((true, true))), "{kinds:?}");
    assert!(kinds.contains(&Some((false, true))), "{kinds:?}");
    assert!(kinds.contains(&Some((false, false))), "{kinds:?}");
    for &addr in &differing {
        assert!(
            private_writable(addr),
            "page {addr:#x} differs and is not private writable memory"
        );
    }
    assert!(
        differing.len() <= 12,
        "{} of {compared} pages differ: {differing:#x?}",
        differing.len()
    );
}
