//! Real dumps of a live multi-threaded helper.
//!
//! - `minidump-writer` (an independent writer) dumps the helper; our reader
//!   must return the same threads, modules and stack bytes as rust-minidump's
//!   `minidump` crate.
//! - That dump, read by our reader and written again by our writer (once as
//!   it was, once with its memory also in a Memory64List), is processed by
//!   `minidump-stackwalk` with status OK, every thread, and each worker's
//!   stack unwound into its `park_in_N` function.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use coroner_minidump_format::model::{MemoryRange, MinidumpModel};
use coroner_minidump_format::{parse, raw};
use coroner_test_support::{oracle, Target, PARK_FUNCTIONS};
use minidump::Module as _;

const WORKERS: usize = 8;

/// Dump the live target with minidump-writer.
fn minidump_writer_dump(target: &Target) -> Vec<u8> {
    let pid = target.pid() as i32;
    let mut file = tempfile::tempfile().unwrap();
    minidump_writer::minidump_writer::MinidumpWriterConfig::new(pid, pid)
        .write(&mut file)
        .expect("minidump-writer dumps the helper");
    use std::io::{Read, Seek};
    file.rewind().unwrap();
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).unwrap();
    bytes
}

fn task_ids(pid: u32) -> BTreeSet<u32> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().parse().unwrap())
        .collect()
}

#[test]
fn minidump_writer_dump_read_by_us_matches_minidump_crate() {
    let target = Target::spawn(&["--threads", "8", "--pattern-mib", "1", "--reserve-gib", "0"]);
    let tids = task_ids(target.pid());
    let bytes = minidump_writer_dump(&target);

    let ours = parse(&bytes).unwrap();
    let theirs = minidump::Minidump::read(&bytes[..]).unwrap();

    // Threads: the same ids (those of the live process), stacks and contexts.
    let threads: Vec<_> = ours
        .threads()
        .unwrap()
        .unwrap()
        .iter()
        .collect::<Result<_, _>>()
        .unwrap();
    let our_tids: BTreeSet<u32> = threads.iter().map(|t| t.thread_id()).collect();
    assert_eq!(our_tids, tids, "thread ids are the live process's tasks");
    assert_eq!(threads.len(), WORKERS + 1);
    let their_threads = theirs.get_stream::<minidump::MinidumpThreadList>().unwrap();
    let unified = theirs.get_memory().unwrap_or_default();
    let sys = theirs.get_stream::<minidump::MinidumpSystemInfo>().unwrap();
    for (a, b) in threads.iter().zip(&their_threads.threads) {
        assert_eq!(a.thread_id(), b.raw.thread_id);
        let stack = a.stack_bytes().unwrap();
        assert!(!stack.is_empty(), "thread {} has a stack", a.thread_id());
        assert_eq!(
            stack,
            b.stack_memory(&unified).unwrap().bytes(),
            "stack bytes of {}",
            a.thread_id()
        );
        let ctx = a.context().unwrap().unwrap();
        let sp = ctx.stack_pointer().unwrap();
        let range = a.stack_range().unwrap();
        assert!(
            (range.start..range.start + range.size).contains(&sp),
            "sp inside the dumped stack"
        );
        let their_ctx = b.context(&sys, None).unwrap();
        assert_eq!(
            Some(their_ctx.get_instruction_pointer()),
            ctx.instruction_pointer()
        );
        assert_eq!(Some(their_ctx.get_stack_pointer()), ctx.stack_pointer());
    }

    // Modules: names, bases, sizes, code ids; the helper binary is among them.
    let modules: Vec<_> = ours
        .modules()
        .unwrap()
        .unwrap()
        .iter()
        .collect::<Result<_, _>>()
        .unwrap();
    let their_modules: Vec<_> = theirs
        .get_stream::<minidump::MinidumpModuleList>()
        .unwrap()
        .iter()
        .cloned()
        .collect();
    assert_eq!(modules.len(), their_modules.len());
    for (a, b) in modules.iter().zip(&their_modules) {
        assert_eq!(a.base(), b.base_address());
        assert_eq!(u64::from(a.size()), b.size());
        assert_eq!(a.name().unwrap(), b.code_file());
        assert_eq!(
            a.code_id().unwrap(),
            b.code_identifier().map(|c| c.to_string())
        );
        assert_eq!(
            a.debug_id().unwrap(),
            b.debug_identifier().map(|d| d.breakpad().to_string())
        );
    }
    let exe = coroner_test_support::target_path().canonicalize().unwrap();
    let helper = modules
        .iter()
        .find(|m| Path::new(&m.name().unwrap()) == exe)
        .expect("helper binary listed");
    assert!(helper.code_id().unwrap().is_some(), "helper has a build id");

    // Everything else our reader understands agrees too (memory, system info,
    // Linux streams, thread names, exception …).
    common::cross_check(&bytes).unwrap();
    let model = ours.to_model().unwrap();
    assert!(
        model.linux.maps.is_some()
            && model.linux.proc_status.is_some()
            && model.linux.auxv.is_some()
    );
    assert!(model
        .linux
        .dso_debug
        .as_ref()
        .is_some_and(|d| !d.link_maps.is_empty()));
    let names: BTreeSet<_> = model.thread_names.iter().map(|n| n.name.clone()).collect();
    for i in 0..WORKERS {
        assert!(
            names.contains(&format!("worker-{i}")),
            "thread names {names:?}"
        );
    }
    let auxv: Vec<_> = ours.linux_auxv().unwrap().unwrap().collect();
    assert!(auxv.iter().any(|(k, _)| *k == 6), "AT_PAGESZ in auxv");
}

fn rewrite(bytes: &[u8], also_memory64: bool) -> (MinidumpModel, Vec<u8>) {
    let ours = parse(bytes).unwrap();
    let mut model = ours.to_model().unwrap();
    if also_memory64 {
        // Full-dump style: the same memory again in a Memory64List (which
        // readers prefer), sorted and without overlaps.
        let mut ranges: Vec<MemoryRange> = model.memory_list.clone();
        ranges.sort();
        let mut merged: Vec<MemoryRange> = Vec::new();
        for r in ranges {
            match merged.last_mut() {
                Some(last) if r.start <= last.start + last.size => {
                    let end = (last.start + last.size).max(r.start + r.size);
                    last.size = end - last.start;
                }
                _ => merged.push(r),
            }
        }
        model.memory64_list = merged;
    }
    let mut out = Vec::new();
    let mut memory = ours.memory().unwrap();
    model.write(&mut memory, &mut out).unwrap();
    (model, out)
}

fn stackwalk(tool: &Path, bytes: &[u8], dir: &Path, name: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new(tool)
        .args(["--json", "--use-local-debuginfo"])
        .arg(&path)
        .output()
        .expect("run minidump-stackwalk");
    assert!(
        out.status.success(),
        "minidump-stackwalk failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .collect()
}

#[test]
fn minidump_stackwalk_processes_dumps_our_writer_made_from_the_helper() {
    let Some(tool) = oracle("minidump-stackwalk") else {
        return;
    };
    let target = Target::spawn(&["--threads", "8", "--pattern-mib", "1", "--reserve-gib", "0"]);
    let original = minidump_writer_dump(&target);
    drop(target);
    let dir = tempfile::tempdir().unwrap();
    for also_memory64 in [false, true] {
        let (model, ours) = rewrite(&original, also_memory64);
        assert_eq!(parse(&ours).unwrap().to_model().unwrap(), model);
        common::cross_check(&ours).unwrap();
        // Stack bytes survived the trip through our reader and writer.
        let a = parse(&original).unwrap();
        let b = parse(&ours).unwrap();
        for (x, y) in a
            .threads()
            .unwrap()
            .unwrap()
            .iter()
            .zip(b.threads().unwrap().unwrap().iter())
        {
            assert_eq!(
                x.unwrap().stack_bytes().unwrap(),
                y.unwrap().stack_bytes().unwrap()
            );
        }
        if also_memory64 {
            assert!(b
                .stream(raw::MINIDUMP_STREAM_TYPE::MEMORY64_LIST)
                .unwrap()
                .is_some());
        }

        let json = stackwalk(
            &tool,
            &ours,
            dir.path(),
            &format!("ours-{also_memory64}.dmp"),
        );
        assert!(
            json.contains(r#""status":"OK""#),
            "stackwalk status: {}",
            &json[..json.len().min(2000)]
        );
        let count = format!(r#""thread_count":{}"#, WORKERS + 1);
        assert!(json.contains(&count), "stackwalk saw every thread");
        for f in PARK_FUNCTIONS {
            assert!(
                json.contains(&format!(r#""function":"{f}""#)),
                "a worker unwound into {f}"
            );
        }
    }
}
