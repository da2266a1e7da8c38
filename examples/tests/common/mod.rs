//! Helpers shared by the CLI's integration tests (each test binary uses a
//! different subset of them).
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use serde_json::Value;

pub mod small_tmpfs;

/// The `coroner` binary under test: the one cargo built, or another build
/// named by `CORONER_TEST_BIN` (.ci/musl.sh runs the oracle tests against
/// the static musl binary that way).
pub fn coroner() -> Command {
    match std::env::var_os("CORONER_TEST_BIN") {
        Some(bin) => Command::new(bin),
        None => Command::new(env!("CARGO_BIN_EXE_coroner")),
    }
}

/// Run `cmd`, require success, and return its stdout.
pub fn run_ok(mut cmd: Command) -> String {
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Run an external tool, require success, and return stdout and stderr
/// together (debuggers print part of what we check on stderr).
pub fn run_tool(mut cmd: Command) -> String {
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

/// `coroner capture PID ARGS -o OUT`, required to succeed; its stdout.
pub fn capture_ok(pid: u32, out: &Path, args: &[&str]) -> String {
    let mut cmd = coroner();
    cmd.arg("capture")
        .arg(pid.to_string())
        .args(args)
        .arg("-o")
        .arg(out);
    run_ok(cmd)
}

/// `coroner inspect FILE --json`, checked to be of the documented schema.
pub fn inspect_json(file: &Path) -> Value {
    let mut cmd = coroner();
    cmd.arg("inspect").arg(file).arg("--json");
    let v: Value = serde_json::from_str(&run_ok(cmd)).unwrap();
    assert_eq!(v["schema"], "coroner-inspect/1");
    v
}

/// gdb's `info sharedlibrary` output lists libc with its symbols read.
pub fn assert_gdb_read_libc(text: &str) {
    let libc = text
        .lines()
        .find(|l| l.contains("libc.so"))
        .unwrap_or_else(|| panic!("no libc in:\n{text}"));
    assert!(libc.contains("Yes"), "libc symbols not read: {libc}");
}

/// gdb's answers (stdout and stderr) to `commands` on `core` of the
/// executable `exe`: in batch mode, without init files, required to
/// succeed.
pub fn gdb_batch(gdb: &Path, exe: &Path, core: &Path, commands: &[&str]) -> String {
    let mut cmd = Command::new(gdb);
    cmd.args(["-batch", "-nx"]);
    for c in commands {
        cmd.args(["-ex", c]);
    }
    cmd.arg(exe).arg(core);
    run_tool(cmd)
}

/// How many threads gdb's `thread apply all bt` shows: its
/// `Thread N (… (LWP tid)) …` headers.
pub fn gdb_backtrace_threads(text: &str) -> usize {
    text.lines()
        .filter(|l| l.starts_with("Thread ") && l.contains("(LWP "))
        .count()
}

/// lldb's answers (stdout and stderr) to `commands` on `core` of the
/// executable `exe`: in batch mode, required to succeed.
pub fn lldb_batch(lldb: &Path, exe: &Path, core: &Path, commands: &[&str]) -> String {
    let mut cmd = Command::new(lldb);
    cmd.arg("--batch").arg("-c").arg(core).arg(exe);
    for c in commands {
        cmd.args(["-o", c]);
    }
    run_tool(cmd)
}

/// lldb's answer (stdout and stderr) to `thread list` and `thread
/// backtrace all` on the minidump `dump`, whatever its exit status: the
/// caller checks the text.
pub fn lldb_minidump_backtraces(lldb: &Path, dump: &Path) -> String {
    let out = Command::new(lldb)
        .arg("--batch")
        .arg("-c")
        .arg(dump)
        .args(["-o", "thread list", "-o", "thread backtrace all"])
        .output()
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// How many threads lldb's `thread list` shows: its
/// `thread #N: tid = …` rows (`*` marks the selected one).
pub fn lldb_listed_threads(text: &str) -> usize {
    text.lines()
        .filter(|l| {
            l.trim_start_matches([' ', '*']).starts_with("thread #") && l.contains("tid = ")
        })
        .count()
}

/// Assert that two ELF cores hold the same memory: the same `PT_LOAD`s
/// (address and size), byte for byte (holes read as zeros); on a
/// difference, name the mapping and the first address that differs.
pub fn assert_same_memory(a: &Path, b: &Path) {
    let loads = |core: &Path| -> Vec<(u64, u64, Vec<u8>)> {
        let data = std::fs::read(core).unwrap();
        let parsed = coroner_core_format::parse(&data).unwrap();
        parsed
            .segments()
            .map(|s| (s.vaddr(), s.memsz(), s.data().to_vec()))
            .collect()
    };
    let (a, b) = (loads(a), loads(b));
    assert_eq!(
        a.len(),
        b.len(),
        "the cores have different numbers of segments"
    );
    for (x, y) in a.iter().zip(&b) {
        assert_eq!((x.0, x.1), (y.0, y.1), "segments differ");
        if x.2 != y.2 {
            let first = x.2.iter().zip(&y.2).position(|(p, q)| p != q).unwrap_or(0);
            let last = x.2.iter().zip(&y.2).rposition(|(p, q)| p != q).unwrap_or(0);
            panic!(
                "memory of the mapping at {:#x} (+{:#x}) differs from {:#x} to {:#x}",
                x.0,
                x.1,
                x.0 + first as u64,
                x.0 + last as u64
            );
        }
    }
}
