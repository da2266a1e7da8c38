//! Live minidumps of the test target read back by rust-minidump's `minidump`
//! crate (every stream we write), memory selection per mode (stacks, heap,
//! full, DONTDUMP, --exclude), and `inspect` of a dump written by the
//! `minidump-writer` crate compared with minidump-stackwalk's view.

use std::collections::BTreeSet;

use coroner_capture::inspect::Summary;
use coroner_capture::CaptureOptions;
use coroner_capture::Sink;
use coroner_capture::{capture_minidump, MemoryMode};
use coroner_capture::{Exclude, Selection};
use coroner_minidump_format::raw::MINIDUMP_STREAM_TYPE as ST;
use coroner_test_support::{minidump_stackwalk, pattern_word, target_path, Target};
use minidump::{
    Minidump, MinidumpException, MinidumpLinuxCpuInfo, MinidumpLinuxEnviron,
    MinidumpLinuxLsbRelease, MinidumpLinuxMaps, MinidumpLinuxProcStatus, MinidumpMemory64List,
    MinidumpMemoryInfoList, MinidumpMemoryList, MinidumpMiscInfo, MinidumpModuleList,
    MinidumpSystemInfo, MinidumpThreadList, MinidumpThreadNames, Module,
};

/// The target of the `--memory full` tests: 8 workers, a 4 MiB pattern,
/// a 1 GiB reservation that stays untouched, 256 KiB of shared memory.
#[rustfmt::skip]
const FULL_DUMP_TARGET: [&str; 8] = [
    "--threads", "8",
    "--pattern-mib", "4",
    "--reserve-gib", "1",
    "--shared-kib", "256",
];

fn dump(target: &Target, mode: MemoryMode, selection: Selection) -> (tempfile::TempDir, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.dmp");
    let sink = Sink::create(&path, false).unwrap();
    let options = CaptureOptions::default().with_selection(selection);
    let report = capture_minidump(target.pid(), sink, &options, mode).unwrap();
    assert_eq!(report.threads, 9);
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(report.bytes_written, bytes.len() as u64);
    (dir, bytes)
}

fn tids(pid: u32) -> BTreeSet<u32> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_str().unwrap().parse().unwrap())
        .collect()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Each stream in the directory, parsed with the `minidump` crate's typed
/// reader (or, for the three it has none for, checked raw).
fn check_every_stream(bytes: &[u8], target: &Target) {
    let pid = target.pid();
    let md = Minidump::read(bytes).expect("minidump crate parses the header");
    let ours = coroner_minidump_format::parse(bytes).unwrap();
    let mut seen = BTreeSet::new();
    for s in ours.streams() {
        let s = s.unwrap();
        seen.insert(s.stream_type);
        match s.stream_type {
            ST::SYSTEM_INFO => {
                let si: MinidumpSystemInfo = md.get_stream().unwrap();
                assert_eq!(si.os, minidump::system_info::Os::Linux);
                assert!(si.raw.number_of_processors >= 1);
                assert_eq!(si.cpu, minidump::system_info::Cpu::X86_64);
            }
            ST::THREAD_LIST => {
                let tl: MinidumpThreadList = md.get_stream().unwrap();
                let sys: MinidumpSystemInfo = md.get_stream().unwrap();
                let memory = md.get_memory().unwrap();
                let got: BTreeSet<u32> = tl.threads.iter().map(|t| t.raw.thread_id).collect();
                assert_eq!(got, tids(pid));
                for t in &tl.threads {
                    let ctx = t.context(&sys, None).expect("context");
                    let sp = ctx.get_stack_pointer();
                    let stack = t.stack_memory(&memory).expect("stack memory");
                    let (base, size) = (stack.base_address(), stack.size());
                    assert!(
                        base <= sp && sp < base + size,
                        "{sp:#x} {base:#x}+{size:#x}"
                    );
                }
            }
            ST::THREAD_NAMES => {
                let names: MinidumpThreadNames = md.get_stream().unwrap();
                assert_eq!(names.get_name(pid).as_deref(), Some("coroner-test-ta"));
                let workers = tids(pid)
                    .iter()
                    .filter(|t| {
                        names
                            .get_name(**t)
                            .is_some_and(|n| n.starts_with("worker-"))
                    })
                    .count();
                assert_eq!(workers, 8);
            }
            ST::MODULE_LIST => {
                let ml: MinidumpModuleList = md.get_stream().unwrap();
                let exe = target_path().to_str().unwrap();
                let m = ml
                    .iter()
                    .find(|m| m.code_file() == exe)
                    .expect("target module");
                let id = m.code_identifier().expect("code id").to_string();
                assert_eq!(id.len(), 40, "{id}");
                assert!(ml.iter().any(|m| m.code_file().contains("/libc.so")));
            }
            ST::MEMORY_LIST => {
                let _: MinidumpMemoryList = md.get_stream().unwrap();
            }
            ST::MEMORY64_LIST => {
                let _: MinidumpMemory64List = md.get_stream().unwrap();
            }
            ST::MEMORY_INFO_LIST => {
                let mi: MinidumpMemoryInfoList = md.get_stream().unwrap();
                let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
                assert_eq!(mi.iter().count(), maps.lines().count());
            }
            ST::EXCEPTION => {
                let e: MinidumpException = md.get_stream().unwrap();
                assert_eq!(e.raw.exception_record.exception_code, 0xffff_ffff);
                assert_eq!(e.thread_id, pid);
            }
            ST::MISC_INFO => {
                let mi: MinidumpMiscInfo = md.get_stream().unwrap();
                assert_eq!(mi.raw.process_id(), Some(&pid));
                let created = mi.process_create_time().expect("create time");
                let age = std::time::SystemTime::now()
                    .duration_since(created)
                    .unwrap();
                assert!(age.as_secs() < 600, "{age:?}");
            }
            ST::LINUX_CPU_INFO => {
                let c: MinidumpLinuxCpuInfo = md.get_stream().unwrap();
                assert!(c.iter().any(|(k, _)| k.to_string_lossy() == "processor"));
            }
            ST::LINUX_PROC_STATUS => {
                let c: MinidumpLinuxProcStatus = md.get_stream().unwrap();
                let tgid = c
                    .iter()
                    .find(|(k, _)| k.to_string_lossy() == "Tgid")
                    .unwrap()
                    .1;
                assert_eq!(tgid.to_string_lossy().trim(), pid.to_string());
            }
            ST::LINUX_LSB_RELEASE => {
                let c: MinidumpLinuxLsbRelease = md.get_stream().unwrap();
                assert!(c.iter().count() > 0);
            }
            ST::LINUX_ENVIRON => {
                let c: MinidumpLinuxEnviron = md.get_stream().unwrap();
                let raw = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
                assert_eq!(md.get_raw_stream(ST::LINUX_ENVIRON).unwrap(), &raw[..]);
                // The crate splits on newlines (it expects Breakpad's raw
                // NUL-separated copy, as written here, to read as one entry).
                assert!(c.iter().count() >= 1);
            }
            ST::LINUX_MAPS => {
                let m: MinidumpLinuxMaps = md.get_stream().unwrap();
                let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
                assert_eq!(m.iter().count(), maps.lines().count());
            }
            ST::LINUX_CMD_LINE => {
                let raw = md.get_raw_stream(ST::LINUX_CMD_LINE).unwrap();
                assert_eq!(
                    raw,
                    &std::fs::read(format!("/proc/{pid}/cmdline")).unwrap()[..]
                );
            }
            ST::LINUX_AUXV => {
                let raw = md.get_raw_stream(ST::LINUX_AUXV).unwrap();
                assert_eq!(
                    raw,
                    &std::fs::read(format!("/proc/{pid}/auxv")).unwrap()[..]
                );
            }
            ST::LINUX_DSO_DEBUG => {
                // No typed reader in the crate: the raw bytes are reachable,
                // and ours decodes the link map (exe, vdso, libc, ld.so …).
                let raw = md.get_raw_stream(ST::LINUX_DSO_DEBUG).unwrap();
                assert!(raw.len() >= 40);
                let dso = ours.linux_dso_debug().unwrap().unwrap().to_model().unwrap();
                assert!(
                    dso.link_maps.iter().any(|l| l.name.contains("libc.so")),
                    "{dso:?}"
                );
                assert_eq!(dso.version, 1);
            }
            other => panic!("unexpected stream {other:#x}"),
        }
    }
    let want = [
        ST::SYSTEM_INFO,
        ST::THREAD_LIST,
        ST::THREAD_NAMES,
        ST::MODULE_LIST,
        ST::MEMORY_LIST,
        ST::MEMORY_INFO_LIST,
        ST::EXCEPTION,
        ST::MISC_INFO,
        ST::LINUX_CPU_INFO,
        ST::LINUX_PROC_STATUS,
        ST::LINUX_LSB_RELEASE,
        ST::LINUX_CMD_LINE,
        ST::LINUX_ENVIRON,
        ST::LINUX_AUXV,
        ST::LINUX_MAPS,
        ST::LINUX_DSO_DEBUG,
    ];
    for w in want {
        assert!(seen.contains(&w), "stream {w:#x} missing");
    }
}

/// The 8-byte pattern word at `addr` as the `minidump` crate finds it.
fn word_at(bytes: &[u8], addr: u64) -> Option<u64> {
    let md = Minidump::read(bytes).unwrap();
    let mem = md.get_memory()?;
    let region = mem.memory_at_address(addr)?;
    region.get_memory_at_address::<u64>(addr)
}

#[test]
fn the_minidump_crate_reads_every_stream_of_a_stacks_dump() {
    let target = Target::spawn(&["--threads", "8", "--pattern-mib", "4", "--reserve-gib", "1"]);
    let mut target = target;
    let (_dir, bytes) = dump(&target, MemoryMode::Stacks, Selection::default());
    // The target runs on, no thread left in a tracing stop.
    assert!(target.is_running());
    for tid in tids(target.pid()) {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/task/{tid}/stat", target.pid())).unwrap();
        let state = stat.rsplit(") ").next().unwrap().chars().next().unwrap();
        assert!(
            !matches!(state, 't' | 'T'),
            "thread {tid} left in state {state}"
        );
    }
    check_every_stream(&bytes, &target);
    // Stacks only: the pattern is not there, and the dump is small.
    assert_eq!(word_at(&bytes, target.ready.u64("pattern")), None);
    assert!(bytes.len() < 1 << 20, "{}", bytes.len());
}

/// `--all` lets a stacks-only capture skip smaps (only its DONTDUMP flag
/// matters there). Where no stack or pc lies in a DONTDUMP mapping, the dump
/// holds the same memory ranges, threads and modules as with smaps read.
#[test]
fn stacks_dumps_with_all_match_the_default_where_no_stack_is_dontdump() {
    let target = Target::spawn(&["--threads", "8", "--pattern-mib", "4", "--reserve-gib", "1"]);
    let all = Selection::default().with_all(true);
    let (_d1, default) = dump(&target, MemoryMode::Stacks, Selection::default());
    let (_d2, with_all) = dump(&target, MemoryMode::Stacks, all);
    check_every_stream(&with_all, &target);
    // The main thread runs on between the two captures (its heartbeat
    // loop): its stack and its pc window (256 bytes each side of the pc,
    // which can merge with the workers' window) may differ, in either
    // capture, and are left out; the parked workers' must match.
    let pid = target.pid();
    let main_pc_sp = |bytes: &[u8]| {
        let ours = coroner_minidump_format::parse(bytes).unwrap();
        let main = ours
            .threads()
            .unwrap()
            .unwrap()
            .iter()
            .map(Result::unwrap)
            .find(|t| t.thread_id() == pid)
            .and_then(|t| t.context().unwrap())
            .unwrap();
        (
            main.instruction_pointer().unwrap(),
            main.stack_pointer().unwrap(),
        )
    };
    let mains = [main_pc_sp(&default), main_pc_sp(&with_all)];
    let view = |bytes: &[u8]| {
        let md = Minidump::read(bytes).unwrap();
        let ranges: Vec<(u64, u64)> = md
            .get_stream::<MinidumpMemoryList>()
            .unwrap()
            .iter()
            .map(|r| (r.base_address, r.size))
            .filter(|&(start, size)| {
                let end = start + size;
                !mains.iter().any(|&(pc, sp)| {
                    (start <= sp && sp < end) || (start < pc + 256 && pc.saturating_sub(256) < end)
                })
            })
            .collect();
        let threads: Vec<(u32, Option<u64>)> = md
            .get_stream::<MinidumpThreadList>()
            .unwrap()
            .threads
            .iter()
            .filter(|t| t.raw.thread_id != pid)
            .map(|t| {
                (
                    t.raw.thread_id,
                    (t.raw.stack.memory.data_size > 0).then_some(t.raw.stack.start_of_memory_range),
                )
            })
            .collect();
        let modules: Vec<(String, Option<String>)> = md
            .get_stream::<MinidumpModuleList>()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m.code_file().into_owned(),
                    m.code_identifier().map(|c| c.to_string()),
                )
            })
            .collect();
        (ranges, threads, modules)
    };
    let (a, b) = (view(&default), view(&with_all));
    assert!(!a.0.is_empty() && a.1.len() == 8 && !a.2.is_empty());
    assert_eq!(a, b);
}

#[test]
fn full_dumps_hold_the_pattern_in_a_memory64_list_but_never_dontdump_bytes() {
    let target = Target::spawn(&FULL_DUMP_TARGET);
    let pattern = target.ready.u64("pattern");
    let words = target.ready.u64("pattern_len") / 8;
    let (_dir, bytes) = dump(&target, MemoryMode::Full, Selection::default());
    check_every_stream(&bytes, &target);
    let md = Minidump::read(&bytes[..]).unwrap();
    let m64: MinidumpMemory64List = md.get_stream().unwrap();
    assert!(m64
        .iter()
        .any(|r| r.base_address <= pattern && pattern < r.base_address + r.size));
    for i in [0, 1, words / 2, words - 1] {
        assert_eq!(
            word_at(&bytes, pattern + i * 8),
            Some(pattern_word(i)),
            "word {i}"
        );
    }
    assert!(
        !contains(&bytes, b"DONTDUMPDONTDUMP"),
        "MADV_DONTDUMP bytes in the dump"
    );
    // inspect reads the file without its memory and says what a read of
    // the whole file says.
    let path = _dir.path().join("t.dmp");
    let mut from_file = Summary::from_file(&path).unwrap();
    from_file.totals.file_allocated = None;
    assert_eq!(
        from_file,
        coroner_capture::inspect::Summary::from_minidump_bytes(&bytes).unwrap()
    );
    // Shared memory only a child process wrote is there too.
    let shared = target.ready.u64("shared");
    assert_eq!(
        word_at(&bytes, shared + 8),
        Some(u64::from_le_bytes(*b"SHAREDMM"))
    );
    // The untouched 1 GiB reservation costs nothing.
    assert!(bytes.len() < 64 << 20, "{}", bytes.len());

    // --all takes DONTDUMP memory too; --exclude drops the pattern again.
    let all = Selection::default().with_all(true);
    let (_d, bytes) = dump(&target, MemoryMode::Full, all);
    assert!(contains(&bytes, b"DONTDUMPDONTDUMP"));
    let excl = Selection::default().with_exclude(vec![Exclude::parse(&format!(
        "{pattern:#x}-{:#x}",
        pattern + 1
    ))
    .unwrap()]);
    let (_d, bytes) = dump(&target, MemoryMode::Full, excl);
    assert_eq!(word_at(&bytes, pattern), None);
}

#[test]
fn heap_dumps_add_writable_anonymous_memory_only() {
    let target = Target::spawn(&["--threads", "8", "--pattern-mib", "4", "--reserve-gib", "1"]);
    let (_dir, bytes) = dump(&target, MemoryMode::Heap, Selection::default());
    check_every_stream(&bytes, &target);
    let pattern = target.ready.u64("pattern");
    assert_eq!(word_at(&bytes, pattern + 8), Some(pattern_word(1)));
    assert!(!contains(&bytes, b"DONTDUMPDONTDUMP"));
    let md = Minidump::read(&bytes[..]).unwrap();
    // No Memory64List below 3 GiB of heap: everything is in the MemoryList.
    assert!(md.get_stream::<MinidumpMemory64List>().is_err());
    // The executable's code is not heap: only the bytes around pcs are in.
    let ml: MinidumpModuleList = md.get_stream().unwrap();
    let exe = ml
        .iter()
        .find(|m| m.code_file() == target_path().to_str().unwrap())
        .unwrap();
    assert_eq!(word_at(&bytes, exe.base_address()), None);
}

#[test]
fn inspect_of_a_minidump_writer_dump_lists_what_minidump_stackwalk_lists() {
    let target = Target::spawn(&["--threads", "8", "--pattern-mib", "1", "--reserve-gib", "0"]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mdw.dmp");
    let mut file = std::fs::File::create(&path).unwrap();
    let pid = i32::try_from(target.pid()).unwrap();
    minidump_writer::minidump_writer::MinidumpWriterConfig::new(pid, pid)
        .write(&mut file)
        .expect("minidump-writer dumps the target");
    drop(file);

    let s = Summary::from_file(&path).unwrap();
    // Read from the file without its memory, the summary is the one of the
    // whole file (minidump-writer interleaves memory with the streams).
    let mut whole =
        coroner_capture::inspect::Summary::from_minidump_bytes(&std::fs::read(&path).unwrap())
            .unwrap();
    whole.totals.file_allocated = s.totals.file_allocated;
    assert_eq!(s, whole);
    assert_eq!(s.format, "minidump");
    assert_eq!(s.process.pid, Some(target.pid()));
    let ours: BTreeSet<u64> = s.threads.iter().map(|t| u64::from(t.tid)).collect();
    assert_eq!(ours.len(), 9);
    let our_modules: BTreeSet<(String, u64)> = s
        .modules
        .iter()
        .map(|m| (m.path.rsplit('/').next().unwrap().to_owned(), m.base))
        .collect();
    assert!(our_modules.iter().any(|m| m.0.starts_with("libc.so")));

    let Some(sw) = minidump_stackwalk(&path) else {
        return;
    };
    let theirs: BTreeSet<u64> = sw["threads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["thread_id"].as_u64().expect("thread_id"))
        .collect();
    assert_eq!(ours, theirs);
    for t in sw["threads"].as_array().unwrap() {
        let tid = u32::try_from(t["thread_id"].as_u64().unwrap()).unwrap();
        let mine = s.threads.iter().find(|o| o.tid == tid).unwrap();
        assert_eq!(
            mine.name.as_deref(),
            t["thread_name"].as_str(),
            "thread {tid}"
        );
    }
    assert_eq!(sw["thread_count"].as_u64(), Some(ours.len() as u64));
    let their_modules: BTreeSet<(String, u64)> = sw["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let base = m["base_addr"].as_str().unwrap().trim_start_matches("0x");
            (
                m["filename"].as_str().unwrap().to_owned(),
                u64::from_str_radix(base, 16).unwrap(),
            )
        })
        .collect();
    assert_eq!(our_modules, their_modules);
    // Build-ids agree too.
    for m in sw["modules"].as_array().unwrap() {
        let name = m["filename"].as_str().unwrap();
        let ours = s.modules.iter().find(|o| o.path.ends_with(name)).unwrap();
        assert_eq!(ours.build_id.as_deref(), m["code_id"].as_str(), "{name}");
    }
}

/// A tiny deterministic generator for the mutation test.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn mutated_dumps_never_panic_inspect_or_convert() {
    use coroner_capture::{convert_bytes, DumpFormat};
    let target = Target::spawn(&["--threads", "8", "--pattern-mib", "1", "--reserve-gib", "0"]);
    let (_dir, minidump) = dump(&target, MemoryMode::Stacks, Selection::default());
    // A small ELF core of the same process, through our own conversion.
    let core = {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("core");
        let sink = Sink::create(&path, false).unwrap();
        convert_bytes(&minidump, Some(DumpFormat::Elf), MemoryMode::Stacks, sink).unwrap();
        std::fs::read(&path).unwrap()
    };
    let mut rng = Lcg(0x5eed);
    for original in [&minidump, &core] {
        for round in 0..1000 {
            let mut bytes = original.clone();
            let n = 1 + rng.next() % 16;
            for _ in 0..n {
                let at = (rng.next() as usize) % bytes.len();
                bytes[at] = rng.next() as u8;
            }
            if round % 10 == 0 {
                bytes.truncate((rng.next() as usize) % bytes.len());
            }
            let _ = coroner_capture::inspect::Summary::from_minidump_bytes(&bytes);
            let _ = coroner_capture::inspect::Summary::from_bytes(&bytes);
            for to in [None, Some(DumpFormat::Elf), Some(DumpFormat::Minidump)] {
                let sink = Sink::stream(std::io::sink());
                let _ = convert_bytes(&bytes, to, MemoryMode::Full, sink);
            }
        }
    }
}

/// The parked threads' contexts in a `--memory full` minidump hold the
/// register values of gdb's gcore of the same process, and every byte of
/// the minidump that gcore also holds is the same, but for a few pages of private writable
/// memory that change between the two: the running main thread's heartbeat,
/// and glibc's per-thread state at the top of each thread's stack mapping,
/// which gdb's attach (SIGSTOP to every thread) changes. See the ELF core's
/// twin test in examples/tests/oracles.rs.
#[test]
fn full_minidump_registers_and_memory_match_gcore_of_the_same_process() {
    let target = Target::spawn(&FULL_DUMP_TARGET);
    let (dir, bytes) = dump(&target, MemoryMode::Full, Selection::default());
    let Some(core) = coroner_test_support::gcore(target.pid(), dir.path()) else {
        return;
    };
    let core = std::fs::read(core).unwrap();
    let core = coroner_core_format::parse(&core[..]).unwrap();

    // Each parked worker's context holds gdb's register values (the main
    // thread runs on between the two captures and is left out).
    let dump = coroner_minidump_format::parse(&bytes).unwrap();
    let mut workers = 0;
    for t in dump.threads().unwrap().unwrap().iter().map(Result::unwrap) {
        if t.thread_id() == target.pid() {
            continue;
        }
        let Some(coroner_minidump_format::model::Context::Amd64(c)) = t.context().unwrap() else {
            panic!("thread {}: no CONTEXT_AMD64", t.thread_id());
        };
        let theirs = core
            .threads()
            .map(Result::unwrap)
            .find(|g| g.tid() == t.thread_id())
            .unwrap_or_else(|| panic!("thread {} not in gcore's core", t.thread_id()));
        let coroner_core_format::Registers::X86_64(g) = theirs.registers().unwrap() else {
            panic!("gcore's core is not x86_64");
        };
        let ours = [
            c.rax,
            c.rbx,
            c.rcx,
            c.rdx,
            c.rsi,
            c.rdi,
            c.rbp,
            c.rsp,
            c.r8,
            c.r9,
            c.r10,
            c.r11,
            c.r12,
            c.r13,
            c.r14,
            c.r15,
            c.rip,
            u64::from(c.eflags),
            u64::from(c.cs),
            u64::from(c.ss),
            u64::from(c.mx_csr),
        ];
        let mxcsr = theirs
            .fpregset()
            .unwrap()
            .map(|f| u64::from(u32::from_le_bytes(f[24..28].try_into().unwrap())))
            .unwrap();
        let gdb = [
            g.rax, g.rbx, g.rcx, g.rdx, g.rsi, g.rdi, g.rbp, g.rsp, g.r8, g.r9, g.r10, g.r11,
            g.r12, g.r13, g.r14, g.r15, g.rip, g.eflags, g.cs, g.ss, mxcsr,
        ];
        assert_eq!(ours, gdb, "thread {}", t.thread_id());
        workers += 1;
    }
    assert_eq!(workers, 8);
    let core = core.memory_map().unwrap();
    let writable: Vec<(u64, u64)> = std::fs::read_to_string(format!("/proc/{}/maps", target.pid()))
        .unwrap()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (a, b) = f[0].split_once('-')?;
            let private_writable = f[1].contains('w') && f[1].ends_with('p');
            private_writable.then(|| {
                (
                    u64::from_str_radix(a, 16).unwrap(),
                    u64::from_str_radix(b, 16).unwrap(),
                )
            })
        })
        .collect();
    let memory = dump.memory().unwrap();
    let (mut compared, mut differing) = (0usize, Vec::new());
    for region in memory.regions() {
        let region = region.unwrap();
        for (i, page) in region.bytes.chunks(4096).enumerate() {
            let addr = region.start + 4096 * i as u64;
            let coroner_core_format::MemoryAt::Present(theirs) = core.memory_at(addr) else {
                continue;
            };
            let Some(theirs) = theirs.get(..page.len()) else {
                continue;
            };
            compared += 1;
            if theirs != page {
                differing.push(addr);
            }
        }
    }
    assert!(compared > 1000, "only {compared} pages in both");
    for &addr in &differing {
        assert!(
            writable.iter().any(|&(s, e)| s <= addr && addr < e),
            "page {addr:#x} differs and is not private writable memory"
        );
    }
    // Stacks are in both memory lists: count each page once.
    differing.sort_unstable();
    differing.dedup();
    assert!(
        differing.len() <= 16,
        "{} of {compared} pages differ: {differing:#x?}",
        differing.len()
    );
}
