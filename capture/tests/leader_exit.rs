//! A process whose main thread has exited (pthread_exit) while its workers
//! run on: its own `/proc/<pid>/maps`, `cmdline` and `map_files` are empty,
//! so the address-space files must be read through a live thread. Both
//! formats must hold the mappings, modules, stacks and arguments.

use std::path::Path;
use std::time::{Duration, Instant};

use coroner_capture::Sink;
use coroner_capture::{capture_elf, CaptureOptions};
use coroner_capture::{capture_minidump, MemoryMode};
use coroner_test_support::{minidump_stackwalk, proc_state, target_path, Target};
use minidump::{
    Minidump, MinidumpLinuxMaps, MinidumpMemoryInfoList, MinidumpModuleList, MinidumpSystemInfo,
    MinidumpThreadList, Module,
};

/// Stream type of the Linux command line (Breakpad's MD_LINUX_CMD_LINE).
const LINUX_CMD_LINE: u32 = 0x4767_0006;

fn leader_exited_target() -> Target {
    let target = Target::spawn(&[
        "--leader-exit",
        "--threads",
        "3",
        "--pattern-mib",
        "1",
        "--reserve-gib",
        "0",
    ]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while proc_state(target.pid()) != Some('Z') {
        assert!(Instant::now() < deadline, "main thread never exited");
        std::thread::sleep(Duration::from_millis(2));
    }
    // The main thread's own view of the address space is empty: this is
    // the case the capture has to work around.
    let own_maps = std::fs::read(format!("/proc/{}/maps", target.pid())).unwrap();
    assert!(own_maps.is_empty(), "a zombie leader's maps are empty");
    target
}

#[test]
fn a_minidump_of_a_process_whose_main_thread_exited_has_mappings_modules_stacks_and_args() {
    let target = leader_exited_target();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.dmp");
    let sink = Sink::create(&path, false).unwrap();
    let report = capture_minidump(
        target.pid(),
        sink,
        &CaptureOptions::default(),
        MemoryMode::Stacks,
    )
    .unwrap();
    assert_eq!(report.threads, 3, "the three workers");
    assert!(report.mappings > 10, "{} mappings", report.mappings);
    let bytes = std::fs::read(&path).unwrap();
    let md = Minidump::read(&bytes[..]).unwrap();

    let info: MinidumpMemoryInfoList = md.get_stream().unwrap();
    assert!(info.iter().count() > 10);
    let maps: MinidumpLinuxMaps = md.get_stream().unwrap();
    assert!(maps.iter().count() > 10);

    let modules: MinidumpModuleList = md.get_stream().unwrap();
    let exe = target_path().to_str().unwrap();
    let module = modules
        .iter()
        .find(|m| m.code_file() == exe)
        .expect("the target's own module");
    // The build-id comes from the file (through a live thread's map_files)
    // or from memory; either way it is the 20-byte GNU one.
    assert_eq!(module.code_identifier().unwrap().to_string().len(), 40);
    assert!(modules.iter().any(|m| m.code_file().contains("/libc.so")));

    let threads: MinidumpThreadList = md.get_stream().unwrap();
    let system: MinidumpSystemInfo = md.get_stream().unwrap();
    let memory = md.get_memory().unwrap();
    assert_eq!(threads.threads.len(), 3);
    for t in &threads.threads {
        let sp = t.context(&system, None).unwrap().get_stack_pointer();
        let stack = t.stack_memory(&memory).expect("a stack per thread");
        assert!(stack.base_address() <= sp && sp < stack.base_address() + stack.size());
    }

    let cmdline = md.get_raw_stream(LINUX_CMD_LINE).unwrap();
    let args: Vec<&[u8]> = cmdline
        .split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .collect();
    assert_eq!(args.first().copied(), Some(exe.as_bytes()));
    assert!(args.contains(&&b"--leader-exit"[..]), "{args:?}");

    stackwalk_finds_the_parked_workers(&path);
}

/// minidump-stackwalk, which we did not write, unwinds each worker into
/// its park function.
fn stackwalk_finds_the_parked_workers(dump: &Path) {
    let Some(json) = minidump_stackwalk(dump) else {
        return;
    };
    let threads = json["threads"].as_array().unwrap();
    assert_eq!(threads.len(), 3);
    for t in threads {
        let functions: Vec<&str> = t["frames"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f["function"].as_str())
            .collect();
        assert!(
            functions.iter().any(|f| f.starts_with("park_in_")),
            "{:?}: {functions:?}",
            t["thread_name"]
        );
    }
}

#[test]
fn an_elf_core_of_a_process_whose_main_thread_exited_has_its_args() {
    let target = leader_exited_target();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("core");
    let sink = Sink::create(&path, false).unwrap();
    let report = capture_elf(target.pid(), sink, &CaptureOptions::default()).unwrap();
    assert_eq!(report.threads, 3);
    let summary = coroner_capture::inspect::Summary::from_file(&path).unwrap();
    // psargs holds the first 80 bytes of the command line.
    let args = summary.process.args.unwrap_or_default();
    let full = format!("{} --leader-exit", target_path().display());
    assert!(!args.is_empty() && full.starts_with(&args), "{args:?}");
    assert!(summary.mappings.len() > 10);
}
