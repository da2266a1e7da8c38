//! End-to-end minidump checks of `coroner capture --format minidump`,
//! `coroner convert` and `coroner inspect` on the 8-thread test target, by
//! tools we did not write: minidump-stackwalk (rust-minidump), lldb, gdb,
//! eu-readelf.

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

mod common;

use common::{
    assert_gdb_read_libc, capture_ok, coroner, inspect_json, lldb_listed_threads,
    lldb_minidump_backtraces, run_ok,
};
use coroner_test_support::{
    kernel_core, minidump_stackwalk, oracle, target_path, Target, PARK_FUNCTIONS,
};
use serde_json::Value;

const TARGET_ARGS: [&str; 6] = ["--threads", "8", "--pattern-mib", "4", "--reserve-gib", "1"];

fn run(mut cmd: Command) -> (bool, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `coroner capture PID --format minidump -o PATH --json [extra]`.
fn capture(pid: u32, out: &Path, extra: &[&str]) -> Value {
    let args = [&["--format", "minidump", "--json"], extra].concat();
    let json: Value = serde_json::from_str(&capture_ok(pid, out, &args)).expect("one JSON object");
    assert_eq!(json["format"], "minidump");
    json
}

fn convert(input: &Path, output: &Path, extra: &[&str]) {
    let mut cmd = coroner();
    cmd.arg("convert").arg(input).arg(output).args(extra);
    run_ok(cmd);
    let md = std::fs::metadata(output).unwrap();
    assert_eq!(md.mode() & 0o777, 0o600, "converted file mode");
}

/// The GNU build-id of `file` as `eu-readelf -n` (or binutils' readelf)
/// prints it.
fn readelf_build_id(file: &Path) -> String {
    let tool = oracle("eu-readelf").expect("eu-readelf");
    let mut cmd = Command::new(tool);
    cmd.arg("-n").arg(file);
    let text = run_ok(cmd);
    text.lines()
        .find_map(|l| l.trim().strip_prefix("Build ID:"))
        .unwrap_or_else(|| panic!("no Build ID in:\n{text}"))
        .trim()
        .to_lowercase()
}

fn frames(t: &Value) -> Vec<String> {
    t["frames"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["function"].as_str().map(str::to_owned))
        .collect()
}

/// The stackwalk acceptance checks: status OK, 9 threads, the
/// target module's code_id is its build-id, libc is listed, and every worker
/// thread's frames reach its park function (by name when the dump has
/// thread names, else every park function exactly once).
fn assert_stackwalk_ok(sw: &Value) {
    assert_eq!(sw["status"], "OK", "{sw:#}");
    let threads = sw["threads"].as_array().unwrap();
    assert_eq!(threads.len(), 9, "threads");
    assert_eq!(sw["thread_count"], 9);
    let modules = sw["modules"].as_array().unwrap();
    let name = target_path().file_name().unwrap().to_str().unwrap();
    let target = modules
        .iter()
        .find(|m| m["filename"] == name)
        .unwrap_or_else(|| panic!("no {name} module: {modules:#?}"));
    assert_eq!(
        target["code_id"].as_str().unwrap().to_lowercase(),
        readelf_build_id(target_path())
    );
    assert!(
        modules
            .iter()
            .any(|m| m["filename"].as_str().unwrap().starts_with("libc.so")),
        "libc not listed: {modules:#?}"
    );
    let mut parked = Vec::new();
    for t in threads {
        let f = frames(t);
        if let Some(n) = t["thread_name"]
            .as_str()
            .and_then(|n| n.strip_prefix("worker-"))
        {
            let want = PARK_FUNCTIONS[n.parse::<usize>().unwrap() % 8];
            assert!(f.iter().any(|x| x == want), "{n}: no {want} in {f:?}");
        }
        parked.extend(f.into_iter().filter(|x| x.starts_with("park_in_")));
    }
    parked.sort();
    assert_eq!(parked, PARK_FUNCTIONS, "park frames over all threads");
}

fn tids(pid: u32) -> BTreeSet<u64> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_str().unwrap().parse().unwrap())
        .collect()
}

#[test]
fn live_minidump_passes_minidump_stackwalk_and_inspect() {
    let target = Target::spawn(&TARGET_ARGS);
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("t.dmp");
    let json = capture(target.pid(), &dump, &[]);
    assert_eq!(json["threads"], 9);
    let md = std::fs::metadata(&dump).unwrap();
    assert_eq!(md.mode() & 0o777, 0o600);
    assert_eq!(json["bytes_written"], md.len());
    // stacks only: small whatever the 4 MiB pattern and 1 GiB reservation.
    assert!(md.len() < 1 << 20, "{} bytes", md.len());

    let v = inspect_json(&dump);
    assert_eq!(v["format"], "minidump");
    assert_eq!(v["process"]["pid"], target.pid());
    assert_eq!(v["process"]["signal"], Value::Null);
    let listed: BTreeSet<u64> = v["threads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tid"].as_u64().unwrap())
        .collect();
    assert_eq!(listed, tids(target.pid()));
    let exe = target_path().to_str().unwrap();
    let m = v["modules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["path"] == exe)
        .expect("target module");
    assert_eq!(
        m["build_id"].as_str().unwrap(),
        readelf_build_id(target_path())
    );

    let Some(sw) = minidump_stackwalk(&dump) else {
        return;
    };
    assert_stackwalk_ok(&sw);
    assert_eq!(sw["crash_info"]["type"], "DUMP_REQUESTED");
}

#[test]
fn lldb_loads_the_live_minidump_with_every_thread_and_backtrace() {
    let Some(lldb) = oracle("lldb") else { return };
    let target = Target::spawn(&TARGET_ARGS);
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("t.dmp");
    capture(target.pid(), &dump, &[]);
    let text = lldb_minidump_backtraces(&lldb, &dump);
    assert!(text.contains("was loaded"), "{text}");
    let threads = lldb_listed_threads(&text);
    assert_eq!(threads, 9, "lldb thread list:\n{text}");
    for f in PARK_FUNCTIONS {
        assert!(
            text.contains(&format!("`{f}")),
            "lldb: no frame in {f}:\n{text}"
        );
    }
    // The main thread's backtrace reaches main().
    assert!(text.contains("`main"), "{text}");
}

#[test]
fn elf_core_converted_to_minidump_passes_minidump_stackwalk() {
    let target = Target::spawn(&TARGET_ARGS);
    let dir = tempfile::tempdir().unwrap();
    let core = dir.path().join("core");
    let mut cmd = coroner();
    cmd.args(["capture", &target.pid().to_string(), "-o"])
        .arg(&core);
    run_ok(cmd);
    let dump = dir.path().join("from-core.dmp");
    convert(&core, &dump, &[]);
    assert_eq!(&std::fs::read(&dump).unwrap()[..4], b"MDMP");
    let v = inspect_json(&dump);
    assert_eq!(v["threads"].as_array().unwrap().len(), 9);
    let Some(sw) = minidump_stackwalk(&dump) else {
        return;
    };
    assert_stackwalk_ok(&sw);
}

#[test]
fn full_minidump_converted_to_elf_gives_gdb_backtraces() {
    let target = Target::spawn(&TARGET_ARGS);
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("full.dmp");
    capture(target.pid(), &dump, &["--memory", "full"]);
    let core = dir.path().join("core.from-minidump");
    convert(&dump, &core, &["--to", "elf"]);
    let v = inspect_json(&core);
    assert_eq!(v["format"], "elf-core");
    assert_eq!(v["process"]["pid"], target.pid());
    assert_eq!(v["threads"].as_array().unwrap().len(), 9);

    let Some(gdb) = oracle("gdb") else { return };
    let mut cmd = Command::new(gdb);
    cmd.args(["-batch", "-nx", "-c"])
        .arg(&core)
        .arg(target_path())
        .args([
            "-ex",
            "info threads",
            "-ex",
            "thread apply all bt",
            "-ex",
            "info sharedlibrary",
        ]);
    let text = run_ok(cmd);
    let threads = text
        .lines()
        .filter(|l| {
            l.trim_start_matches([' ', '*'])
                .starts_with(char::is_numeric)
                && l.contains("(LWP ")
        })
        .count();
    assert_eq!(threads, 9, "gdb info threads:\n{text}");
    for f in PARK_FUNCTIONS {
        assert!(
            text.contains(&format!(" in {f} ")),
            "gdb: no frame in {f}:\n{text}"
        );
    }
    assert!(text.contains(" in main "), "{text}");
    assert_gdb_read_libc(&text);
}

#[test]
fn kernel_crash_core_keeps_its_signal_through_both_conversions() {
    let dir = tempfile::tempdir().unwrap();
    let Some(k) = kernel_core(
        &["--threads", "2", "--pattern-mib", "1", "--reserve-gib", "0"],
        dir.path(),
    ) else {
        return;
    };
    let dump = dir.path().join("crash.dmp");
    convert(&k.path, &dump, &["--to", "minidump"]);
    let v = inspect_json(&dump);
    assert_eq!(v["process"]["signal"], 11);
    assert_eq!(v["process"]["fault_address"], 0);
    assert_eq!(v["threads"][0]["crashed"], true);
    assert_eq!(v["threads"][0]["tid"], k.ready.pid());
    if let Some(sw) = minidump_stackwalk(&dump) {
        assert_eq!(
            sw["crash_info"]["type"], "SIGSEGV / SEGV_MAPERR",
            "{:#}",
            sw["crash_info"]
        );
        let crashing = sw["crashing_thread"]["frames"].as_array().unwrap();
        assert!(
            crashing.iter().any(|f| f["function"] == "crash_here"),
            "{crashing:#?}"
        );
    }
    let back = dir.path().join("core.back");
    convert(&dump, &back, &[]);
    let v = inspect_json(&back);
    assert_eq!(v["process"]["signal"], 11);
    assert_eq!(v["threads"][0]["crashed"], true);
}

#[test]
fn convert_refuses_unknown_input_same_format_and_existing_output() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk");
    std::fs::write(&junk, b"not a dump").unwrap();
    let out = dir.path().join("out");
    let mut cmd = coroner();
    cmd.arg("convert").arg(&junk).arg(&out);
    let (ok, _, err) = run(cmd);
    assert!(!ok && err.contains("neither an ELF core"), "{err}");
    assert!(!out.exists());

    let target = Target::spawn(&TARGET_ARGS);
    let dump = dir.path().join("t.dmp");
    capture(target.pid(), &dump, &[]);
    let mut cmd = coroner();
    cmd.arg("convert")
        .arg(&dump)
        .arg(&out)
        .args(["--to", "minidump"]);
    let (ok, _, err) = run(cmd);
    assert!(!ok && err.contains("already"), "{err}");
    assert!(!out.exists());

    std::fs::write(&out, b"keep").unwrap();
    let mut cmd = coroner();
    cmd.arg("convert").arg(&dump).arg(&out);
    let (ok, _, err) = run(cmd);
    assert!(!ok && err.contains("--force"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), b"keep");
    let mut cmd = coroner();
    cmd.arg("convert").arg(&dump).arg(&out).arg("--force");
    run_ok(cmd);
    assert_eq!(&std::fs::read(&out).unwrap()[..4], b"\x7fELF");
}

#[test]
fn build_ids_come_from_the_file_on_disk_with_sysroot_when_the_header_page_is_not_dumped() {
    let target = Target::spawn(&TARGET_ARGS);
    let dir = tempfile::tempdir().unwrap();
    let core = dir.path().join("core");
    let mut cmd = coroner();
    cmd.args([
        "capture",
        &target.pid().to_string(),
        "--exclude",
        "*/libc.so*",
        "-o",
    ])
    .arg(&core);
    run_ok(cmd);
    // The core holds no byte of libc, so inspect of the core has no build-id …
    let v = inspect_json(&core);
    let libc = v["modules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["path"].as_str().unwrap().contains("/libc.so"))
        .expect("libc module in the core")
        .clone();
    assert_eq!(libc["build_id"], Value::Null);
    // … and neither has a plain conversion, which opens no host file …
    let path = libc["path"].as_str().unwrap();
    let module_in = |dump: &Path| {
        inspect_json(dump)["modules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["path"] == path)
            .cloned()
    };
    let plain = dir.path().join("plain.dmp");
    convert(&core, &plain, &[]);
    assert!(module_in(&plain).is_none_or(|m| m["build_id"] == Value::Null));
    // … but with `--sysroot /` the minidump's module list has it, read
    // from the file.
    let dump = dir.path().join("from-core.dmp");
    convert(&core, &dump, &["--sysroot", "/"]);
    let m = module_in(&dump).expect("libc module in the minidump");
    assert_eq!(
        m["build_id"].as_str().unwrap(),
        readelf_build_id(Path::new(path))
    );
}
