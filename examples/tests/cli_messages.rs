//! What the `coroner` command line says and does at its edges: a closed
//! pipe, a closed stdout, `-` for stdin and stdout, error messages that name
//! the real cause and only flags the command has, and its help text.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use coroner_test_support::Target;
use serde_json::Value;

/// A one-thread target with a little memory.
const ONE_THREAD: [&str; 8] = [
    "--threads",
    "0",
    "--pattern-mib",
    "1",
    "--dontdump-kib",
    "0",
    "--reserve-gib",
    "0",
];

fn coroner(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_coroner"));
    c.args(args).stdin(Stdio::null());
    c
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Capture `target` as an ELF core at `path`.
fn core_of(target: &Target, path: &Path) {
    let o = coroner(&["capture", &target.pid().to_string(), "-o"])
        .arg(path)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Run `command` with stdout a connection whose reader has already gone: a
/// socket pair with one end closed, which fails writes with EPIPE exactly as
/// a pipe does, without a race against the reader's exit.
fn with_closed_pipe(mut command: Command) -> Output {
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
    drop(ours);
    command
        .stdout(std::os::fd::OwnedFd::from(theirs))
        .stderr(Stdio::piped());
    command.output().unwrap()
}

/// Run a shell command line with `$C` set to the coroner binary.
fn sh(script: &str, dir: &Path) -> Output {
    Command::new("sh")
        .args(["-c", script])
        .env("C", env!("CARGO_BIN_EXE_coroner"))
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// `inspect --json` of the summary, without the `file` field.
fn json_without_file(text: &str) -> Value {
    let mut v: Value = serde_json::from_str(text).unwrap();
    v.as_object_mut().unwrap().remove("file");
    v
}

/// Issue 10 point 4: `inspect core | head -1` and `capture --json | true`
/// end quietly (status 0, nothing on stderr), not with a panic (status 101).
#[test]
fn a_reader_that_goes_away_ends_the_command_quietly() {
    let target = Target::spawn(&ONE_THREAD);
    let dir = tempfile::tempdir().unwrap();
    let core = dir.path().join("core");
    core_of(&target, &core);

    for json in [false, true] {
        let mut c = coroner(&["inspect"]);
        c.arg(&core);
        if json {
            c.arg("--json");
        }
        let o = with_closed_pipe(c);
        assert_eq!(o.status.code(), Some(0), "json {json}: {}", stderr(&o));
        assert_eq!(stderr(&o), "", "json {json}");
    }

    // The pipeline of the issue, with the reader given a second to exit
    // before anything is written.
    let o = sh(
        "{ sleep 1; \"$C\" inspect core; echo \"status $?\" >&2; } | true",
        dir.path(),
    );
    assert_eq!(stderr(&o), "status 0\n");

    let mut c = coroner(&["capture", &target.pid().to_string(), "--json", "-o"]);
    c.arg(dir.path().join("core2"));
    let o = with_closed_pipe(c);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    // The dump itself is complete: only the summary had no reader.
    assert!(coroner_core_format::parse(&std::fs::read(dir.path().join("core2")).unwrap()).is_ok());
}

/// Issue 10 point 8: with stdout closed, Rust's runtime opens /dev/null in
/// its place; a dump sent there would be lost while the command reported
/// success. It is refused before the target is touched.
#[test]
fn a_dump_to_a_closed_stdout_is_refused() {
    let target = Target::spawn(&ONE_THREAD);
    let dir = tempfile::tempdir().unwrap();
    let core = dir.path().join("core");
    core_of(&target, &core);
    let pid = target.pid();
    for script in [
        format!("exec \"$C\" capture {pid} -o - >&-"),
        format!("exec \"$C\" capture {pid} -o - --format minidump >&-"),
        "exec \"$C\" convert core - >&-".to_owned(),
        format!("exec \"$C\" capture {pid} -o - >/dev/null"),
    ] {
        let o = sh(&script, dir.path());
        assert_eq!(o.status.code(), Some(1), "{script}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("stdout is closed or /dev/null"),
            "{script}: {}",
            stderr(&o)
        );
    }
}

/// Issue 10 point 9: `convert core -` writes the dump to stdout (not a file
/// named `-`), `inspect -` reads stdin, and `inspect /dev/stdin` from a pipe
/// gives the same summary as the file (not size 0 without build-ids).
#[test]
fn a_dash_is_stdin_or_stdout_and_pipes_are_read_whole() {
    let target = Target::spawn(&ONE_THREAD);
    let dir = tempfile::tempdir().unwrap();
    let core = dir.path().join("core");
    core_of(&target, &core);

    let o = coroner(&["convert", "core", "-"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!dir.path().join("-").exists(), "a file named - was created");
    let o2 = coroner(&["convert", "core", "file.dmp"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(o2.status.success(), "{}", stderr(&o2));
    assert_eq!(
        o.stdout,
        std::fs::read(dir.path().join("file.dmp")).unwrap(),
        "convert to stdout writes the same minidump as to a file"
    );

    let of_file = coroner(&["inspect", "core", "--json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(of_file.status.success(), "{}", stderr(&of_file));
    let expected = json_without_file(&stdout(&of_file));
    assert!(expected["totals"]["file_size"].as_u64().unwrap() > 0);
    assert!(
        expected["totals"]["modules_with_build_id"]
            .as_u64()
            .unwrap()
            > 0
    );
    for script in [
        "exec \"$C\" inspect - --json < core",
        "cat core | \"$C\" inspect - --json",
        "cat core | \"$C\" inspect /dev/stdin --json",
        "cat file.dmp | \"$C\" convert - back.core && exec \"$C\" inspect back.core --json >/dev/null",
    ] {
        let o = sh(script, dir.path());
        assert!(o.status.success(), "{script}: {}", stderr(&o));
        if script.ends_with("/dev/null") {
            continue;
        }
        let mut got = json_without_file(&stdout(&o));
        // A copy of a pipe is not sparse: only the allocation may differ.
        got["totals"]["file_allocated"] = expected["totals"]["file_allocated"].clone();
        assert_eq!(got, expected, "{script}");
    }
    // Nothing left in the temporary directory by the copies of the pipes.
    let tmp = tempfile::tempdir().unwrap();
    let o = sh(
        &format!(
            "cat core | TMPDIR={} \"$C\" inspect - >/dev/null",
            tmp.path().display()
        ),
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);

    // Not a dump: refused from its first bytes, not copied without end.
    let o = coroner(&["inspect", "/dev/zero"]).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("not a dump"), "{}", stderr(&o));
}

/// Issue 10 point 10 (and issue 9 point 5): input errors are typed, so they
/// read as what they are, and hints name only flags the command has.
#[test]
fn convert_errors_say_what_happened_and_name_only_its_own_flags() {
    let dir = tempfile::tempdir().unwrap();
    let o = coroner(&["convert", "missing.core", "out"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("No such file"), "{err}");
    assert!(!err.contains("unsupported"), "{err}");

    let o = coroner(&["convert", ".", "out"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("directory"), "{err}");
    assert!(!err.contains("unsupported"), "{err}");

    let target = Target::spawn(&ONE_THREAD);
    let core = dir.path().join("core");
    core_of(&target, &core);
    std::fs::write(dir.path().join("taken"), b"keep").unwrap();
    for (args, wanted) in [
        (
            &["convert", "core", "core"][..],
            "both the input and the output",
        ),
        (
            &["convert", "core", "core", "--force"],
            "both the input and the output",
        ),
        (&["convert", "core", "taken"], "--force"),
    ] {
        let o = coroner(args).current_dir(dir.path()).output().unwrap();
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let err = stderr(&o);
        assert!(err.contains(wanted), "{args:?}: {err}");
        assert!(!err.contains("-o"), "convert has no -o: {err}");
    }
    assert_eq!(std::fs::read(dir.path().join("taken")).unwrap(), b"keep");
    assert!(coroner_core_format::parse(&std::fs::read(&core).unwrap()).is_ok());
}

/// Issue 10 point 10: a full file system during `convert` is named by the
/// output's path, with convert's own advice; the input is not blamed.
#[test]
fn a_full_disk_during_convert_names_the_output() {
    let target = Target::spawn(&["--threads", "0", "--pattern-mib", "4", "--reserve-gib", "0"]);
    let dir = tempfile::tempdir().unwrap();
    let core = dir.path().join("big.core");
    core_of(&target, &core);
    let small = dir.path().join("small");
    std::fs::create_dir(&small).unwrap();
    // A private mount namespace: the 1 MiB tmpfs disappears with it.
    let o = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c"])
        .arg(
            "mount -t tmpfs -o size=1M tmpfs small || exit 77; \
             \"$C\" convert big.core small/out.dmp --memory full; rc=$?; ls -A small >&2; exit $rc",
        )
        .env("C", env!("CARGO_BIN_EXE_coroner"))
        .current_dir(dir.path())
        .output()
        .unwrap();
    if o.status.code() == Some(77) || !stderr(&o).contains("coroner") {
        eprintln!(
            "SKIP: cannot mount a tmpfs in a new mount namespace: {}",
            stderr(&o)
        );
        return;
    }
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("No space left on device"), "{err}");
    assert!(err.contains("small/out.dmp"), "the output is named: {err}");
    assert!(!err.contains("big.core"), "the input is not blamed: {err}");
    assert!(err.contains("give an OUT path elsewhere"), "{err}");
    assert!(!err.contains("-o"), "{err}");
    // `ls -A small` printed nothing after the error: no partial file.
    let after = err
        .lines()
        .skip_while(|l| !l.contains("coroner: error"))
        .skip(1);
    assert_eq!(after.count(), 0, "left behind: {err}");
}

/// Issue 10 point 10: a full stream cannot be cleaned up, so the message
/// must not say that nothing partial was left behind.
#[test]
fn a_full_stream_is_not_said_to_leave_nothing_behind() {
    let target = Target::spawn(&ONE_THREAD);
    let mut c = coroner(&["capture", &target.pid().to_string(), "-o", "-"]);
    c.stdout(
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap(),
    );
    let o = c.output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("No space left on device"), "{err}");
    assert!(err.contains("incomplete"), "{err}");
    assert!(!err.contains("nothing partial"), "{err}");
}

/// Issue 10 point 10: pid 2 is a kernel thread, which is what the message
/// says, rather than "permission denied … No such process".
#[test]
fn a_kernel_thread_is_named_as_one() {
    let stat = std::fs::read_to_string("/proc/2/stat").unwrap_or_default();
    let flags: u64 = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(6))
        .and_then(|f| f.parse().ok())
        .unwrap_or(0);
    if flags & 0x0020_0000 == 0 {
        eprintln!("SKIP: pid 2 is not a kernel thread here (a container?)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let o = coroner(&["capture", "2"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("pid 2 is a kernel thread"), "{err}");
    assert!(!err.contains("permission denied"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// Issue 10 point 12: the help says what the defaults and inputs really are.
#[test]
fn help_text_tells_the_truth() {
    let help = |args: &[&str]| {
        let o = coroner(args).output().unwrap();
        assert!(o.status.success(), "{args:?}");
        stdout(&o)
    };
    let capture = help(&["capture", "--help"]);
    assert!(capture.contains("core.<PID>"), "{capture}");
    assert!(capture.contains("<PID>.dmp"), "{capture}");
    let inspect = help(&["inspect", "--help"]);
    assert!(inspect.contains("minidump"), "{inspect}");
    assert!(
        !inspect.contains(".rs"),
        "help points to a source file: {inspect}"
    );
    let top = help(&["--help"]);
    let inspect_line = top
        .lines()
        .find(|l| l.trim_start().starts_with("inspect"))
        .unwrap();
    assert!(inspect_line.contains("minidump"), "{inspect_line}");
}

/// Issue 10 point 12: flags that would be ignored or match nothing are usage
/// errors (status 2).
#[test]
fn ignored_or_empty_flags_are_usage_errors() {
    for args in [
        &["capture", "1", "--memory", "full"][..],
        &["capture", "1", "--format", "elf", "--memory", "heap"],
        &["capture", "1", "--exclude", ""],
    ] {
        let o = coroner(args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
    let o = coroner(&["capture", "1", "--memory", "full"])
        .output()
        .unwrap();
    assert!(stderr(&o).contains("--format minidump"), "{}", stderr(&o));
}

/// Issue 10 point 12: "1 thread", and a small dump's size in a unit that
/// shows it (not "0 MiB (0 MiB on disk)").
#[test]
fn summaries_count_and_size_like_people_do() {
    let target = Target::spawn(&ONE_THREAD);
    let dir = tempfile::tempdir().unwrap();
    let o = coroner(&["capture", &target.pid().to_string(), "--format", "minidump"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains(", 1 thread,"), "{err}");
    assert!(!err.contains("0 MiB"), "{err}");
    assert!(err.contains("KiB"), "{err}");
    let dump = format!("{}.dmp", target.pid());
    assert!(dir.path().join(&dump).exists(), "default minidump name");

    let o = coroner(&["convert", &dump, "back.core"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains(" 1 thread,"), "{err}");
    assert!(!err.contains("1 threads"), "{err}");
    std::io::stderr().flush().unwrap();
}
