//! `coroner stack`: backtraces of the optimised, frame-pointer-less test
//! helper (`helpers/stack_target.c`) compared frame by frame with tools we
//! did not write — gdb on the same ELF core, minidump-stackwalk on the same
//! minidump — for cores written by coroner, gdb and the kernel; a Rust
//! program's demangled frames; a live process.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

mod common;

use common::{capture_ok, coroner, run_ok, run_tool};
use coroner_test_support::{
    kernel_cores_unavailable, minidump_stackwalk, oracle, retry_text_file_busy, stack_target_path,
};
use serde_json::Value;

/// The stack helper, killed on drop.
struct Helper {
    child: Child,
}

impl Helper {
    fn spawn(exe: &Path, args: &[&str]) -> Helper {
        // A test that copies the helper and runs the copy can meet
        // "Text file busy" for a moment (see retry_text_file_busy).
        let mut child = retry_text_file_busy(|| {
            Command::new(exe)
                .args(args)
                .stdout(Stdio::piped())
                .stdin(Stdio::null())
                .spawn()
        })
        .expect("spawn the stack helper");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.starts_with("READY"), "helper said {line:?}");
        let helper = Helper { child };
        helper.wait_until_all_threads_sleep();
        helper
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Every thread in `pause()` (state S): READY is printed once the
    /// workers are counted, just before their pause().
    fn wait_until_all_threads_sleep(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            if thread_states(self.pid()).values().all(|s| *s == 'S') {
                // Inside pause(): wchan settles once the syscall is entered.
                std::thread::sleep(std::time::Duration::from_millis(20));
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        panic!("the helper's threads never all went to sleep");
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The state letter of each thread of `pid`.
fn thread_states(pid: u32) -> BTreeMap<u32, char> {
    let mut out = BTreeMap::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let task = task.unwrap();
        let tid: u32 = task.file_name().to_str().unwrap().parse().unwrap();
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let state = stat[stat.rfind(')').unwrap() + 1..]
            .trim_start()
            .chars()
            .next()
            .unwrap();
        out.insert(tid, state);
    }
    out
}

/// `coroner stack ARGS --json`.
fn stack_json(args: &[&std::ffi::OsStr]) -> Value {
    let mut cmd = coroner();
    cmd.arg("stack").args(args).arg("--json");
    let v: Value = serde_json::from_str(&run_ok(cmd)).unwrap();
    assert_eq!(v["schema"], "coroner-stack/1");
    v
}

/// Function names of each thread in our JSON, by tid ("??" where unknown).
fn our_functions(json: &Value) -> BTreeMap<u64, Vec<String>> {
    json["threads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let names = t["frames"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["function"].as_str().unwrap_or("??").to_owned())
                .collect();
            (t["tid"].as_u64().unwrap(), names)
        })
        .collect()
}

/// Names up to `main`, where gdb stops a backtrace by default.
fn up_to_main(mut names: Vec<String>) -> Vec<String> {
    if let Some(i) = names.iter().position(|n| n == "main") {
        names.truncate(i + 1);
    }
    names
}

/// gdb's `thread apply all bt` of `exe` + `core`: function names by LWP.
fn gdb_functions(exe: &Path, core: &Path) -> Option<BTreeMap<u64, Vec<String>>> {
    let gdb = oracle("gdb")?;
    let mut cmd = Command::new(gdb);
    // Past main and the entry point too: every frame is compared.
    cmd.args([
        "-batch",
        "-nx",
        "-ex",
        "set width 0",
        "-ex",
        "set backtrace past-main on",
        "-ex",
        "set backtrace past-entry on",
        "-ex",
        "thread apply all bt",
    ])
    .arg(exe)
    .arg(core);
    let text = run_tool(cmd);
    let mut out = BTreeMap::new();
    let mut current: Option<u64> = None;
    for line in text.lines() {
        if line.starts_with("Thread ") {
            let lwp = line
                .split("LWP ")
                .nth(1)
                .and_then(|r| r.split(')').next())
                .and_then(|n| n.trim().parse().ok());
            current = lwp;
            if let Some(tid) = current {
                out.insert(tid, Vec::new());
            }
        } else if let (Some(tid), Some(rest)) = (current, line.strip_prefix('#')) {
            // "#3  0x000055… in name (args…) at file:line" or, for an
            // inlined frame, "#4  name (args…) at …".
            let rest = rest.split_once(' ').map_or("", |(_, r)| r).trim_start();
            let rest = match rest.strip_prefix("0x") {
                Some(r) => r.split_once(" in ").map_or("", |(_, n)| n),
                None => rest,
            };
            let name = rest.split(" (").next().unwrap_or("").trim().to_owned();
            out.get_mut(&tid).unwrap().push(name);
        }
    }
    assert!(!out.is_empty(), "no threads in gdb's output:\n{text}");
    Some(out)
}

/// Whether libc's separate debug info (libc6-dbg) is installed: with it,
/// gdb and coroner read libc's DWARF, call-site records included.
/// COR_REQUIRE_ORACLES=1 requires it (.ci/run installs it).
fn libc_debug_info(json: &Value) -> bool {
    let found =
        json["modules"].as_array().unwrap().iter().any(|m| {
            m["path"].as_str().unwrap().contains("/libc.so") && !m["debug_file"].is_null()
        });
    assert!(
        found || !coroner_test_support::oracles_required(),
        "no debug info for libc (install libc6-dbg) and COR_REQUIRE_ORACLES=1: {}",
        json["modules"]
    );
    found
}

/// Our frames equal gdb's, thread by thread, name by name — tail-call
/// frames and the frames above `main` included: no thread and no frame is
/// left out of the comparison.
fn assert_same_as_gdb(exe: &Path, core: &Path, threads: usize) {
    let json = stack_json(&[core.as_os_str()]);
    let ours = our_functions(&json);
    assert_eq!(ours.len(), threads, "{ours:#?}");
    let Some(gdb) = gdb_functions(exe, core) else {
        return;
    };
    assert_eq!(ours, gdb, "ours (left) and gdb's (right) differ");
    // The chains the helper builds are there.
    let all: Vec<&String> = ours.values().flatten().collect();
    for f in [
        "_start",
        "stack_park",
        "stack_recurse",
        "stack_inlined",
        "stack_middle",
        "stack_tail_call",
        "compare_and_park",
        "stack_through_libc",
        "worker_main",
        "main_wait",
        "main",
    ] {
        assert!(all.iter().any(|n| *n == f), "no {f} frame: {ours:#?}");
    }
    // The functions that jumped to the next one are the tail-call frames:
    // the helper's own, and glibc's qsort (which jumps to qsort_r) when
    // libc's DWARF is there to say so.
    let mut tail_calls: Vec<&str> = json["threads"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["frames"].as_array().unwrap())
        .filter(|f| f["source"] == "tail-call")
        .map(|f| f["function"].as_str().unwrap())
        .collect();
    tail_calls.sort_unstable();
    tail_calls.dedup();
    // libc's DWARF names qsort by its internal alias (`__GI_qsort`).
    let libc_qsort = tail_calls.iter().any(|n| n.ends_with("qsort"));
    assert_eq!(libc_qsort, libc_debug_info(&json), "{tail_calls:?}");
    tail_calls.retain(|n| !n.ends_with("qsort"));
    assert_eq!(tail_calls, ["stack_tail_call"], "{json:#}");
}

#[test]
fn stack_of_our_core_equals_gdbs_backtraces() {
    let helper = Helper::spawn(stack_target_path(), &["--threads", "4"]);
    let dir = tempfile::tempdir().unwrap();
    let core = dir.path().join("core");
    capture_ok(helper.pid(), &core, &[]);
    assert_same_as_gdb(stack_target_path(), &core, 5);

    // --thread keeps one thread; a thread the core does not have is an
    // error that lists the ones it has.
    let all = stack_json(&[core.as_os_str()]);
    let tid = all["threads"][2]["tid"].as_u64().unwrap().to_string();
    let one = stack_json(&[core.as_os_str(), "--thread".as_ref(), tid.as_ref()]);
    assert_eq!(one["threads"].as_array().unwrap().len(), 1);
    assert_eq!(one["threads"][0], all["threads"][2]);
    let out = coroner()
        .arg("stack")
        .arg(&core)
        .args(["--thread", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("thread 1 is not in the input") && err.contains(&tid),
        "{err}"
    );
}

#[test]
fn stack_of_a_gcore_core_equals_gdbs_backtraces() {
    let helper = Helper::spawn(stack_target_path(), &["--threads", "4"]);
    let dir = tempfile::tempdir().unwrap();
    let Some(core) = coroner_test_support::gcore(helper.pid(), dir.path()) else {
        return;
    };
    assert_same_as_gdb(stack_target_path(), &core, 5);
}

#[test]
fn stack_of_a_kernel_core_equals_gdbs_and_puts_the_crashing_thread_first() {
    if let Some(why) = kernel_cores_unavailable() {
        eprintln!("SKIP: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new("sh")
        .arg("-c")
        .arg("ulimit -c unlimited && exec \"$0\" --threads 4 --crash > /dev/null")
        .arg(stack_target_path())
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(!status.success());
    let core = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_str().unwrap().starts_with("core"))
        .expect("the kernel wrote a core");
    assert_same_as_gdb(stack_target_path(), &core, 5);
    let json = stack_json(&[core.as_os_str()]);
    let first = &json["threads"][0];
    assert_eq!(first["crashed"], true);
    assert_eq!(first["signal"], 11);
    assert_eq!(first["frames"][0]["function"], "main_wait");
}

/// Two compilation units: `a_calls` calls `b_tail`, which is only declared
/// in its unit, and `b_tail` and `c_tail` in the other unit end in tail
/// calls, so two frames are missing from the stack and the call site names
/// its callee by linkage name, not by address.
const CROSS_UNIT_A: &str = r#"
#include <stdio.h>
#include <unistd.h>
int b_tail(int d);
volatile int sink;
__attribute__((noinline)) int park(int d) { for (;;) { pause(); sink += d; } }
__attribute__((noinline)) int a_calls(int d) { int r = b_tail(d); sink += r; return r; }
int main(void) { printf("READY\n"); fflush(stdout); a_calls(3); return 0; }
"#;
const CROSS_UNIT_B: &str = r#"
int park(int d);
__attribute__((noinline)) int c_tail(int d) { return park(d + 1); }
__attribute__((noinline)) int b_tail(int d) { return c_tail(d * 2); }
"#;

#[test]
fn a_chain_of_tail_calls_across_compilation_units_equals_gdbs() {
    let Some(cc) = oracle("cc") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.c"), CROSS_UNIT_A).unwrap();
    std::fs::write(dir.path().join("b.c"), CROSS_UNIT_B).unwrap();
    let exe = dir.path().join("tails");
    let mut build = Command::new(cc);
    build
        .current_dir(dir.path())
        .args([
            "-O2",
            "-g",
            "-fomit-frame-pointer",
            "-Wl,--build-id",
            "a.c",
            "b.c",
            "-o",
        ])
        .arg(&exe);
    run_ok(build);
    let helper = Helper::spawn(&exe, &[]);
    let core = dir.path().join("core");
    capture_ok(helper.pid(), &core, &[]);
    let json = stack_json(&[core.as_os_str()]);
    let frames: Vec<(&str, &str)> = json["threads"][0]["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["function"].as_str().unwrap_or("??"),
                f["source"].as_str().unwrap(),
            )
        })
        .collect();
    let at = frames
        .iter()
        .position(|(f, _)| *f == "park")
        .unwrap_or_else(|| panic!("{frames:?}"));
    assert_eq!(
        frames[at..at + 4],
        [
            ("park", "cfi"),
            ("c_tail", "tail-call"),
            ("b_tail", "tail-call"),
            ("a_calls", "cfi")
        ],
        "{frames:?}"
    );
    let ours = our_functions(&json);
    if let Some(gdb) = gdb_functions(&exe, &core) {
        assert_eq!(ours, gdb, "ours (left) and gdb's (right) differ");
    }
}

/// One physical frame as a stack-walker reports it: module, offset of the
/// pc in it (the return address itself, not minus one), how it was found,
/// the functions inlined there (innermost first) and the function the
/// frame is in.
#[derive(Debug)]
struct Walked {
    module: Option<String>,
    module_offset: u64,
    trust: String,
    inlined: Vec<String>,
    function: String,
    /// Where the symbol minidump-stackwalk named starts (module-relative).
    symbol_start: Option<u64>,
}

fn hex_field(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

/// minidump-stackwalk's frames of each thread, by tid.
fn stackwalk_frames(dump: &Path) -> Option<BTreeMap<u64, Vec<Walked>>> {
    let json = minidump_stackwalk(dump)?;
    Some(
        json["threads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                let frames = t["frames"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .enumerate()
                    .map(|(i, f)| {
                        let inlined = f["inlines"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|inline| inline["function"].as_str().unwrap().to_owned())
                            .collect();
                        // It reports a caller frame at its return address - 1.
                        let looked_up = hex_field(&f["module_offset"]);
                        let back = u64::from(i > 0);
                        Walked {
                            module: f["module"].as_str().map(str::to_owned),
                            module_offset: looked_up + back,
                            trust: f["trust"].as_str().unwrap().to_owned(),
                            inlined,
                            function: f["function"].as_str().unwrap_or("??").to_owned(),
                            symbol_start: f["function_offset"]
                                .as_str()
                                .map(|_| looked_up - hex_field(&f["function_offset"])),
                        }
                    })
                    .collect();
                (t["thread_id"].as_u64().unwrap(), frames)
            })
            .collect(),
    )
}

/// Our frames of each thread grouped like [`stackwalk_frames`]'s. Tail-call
/// frames are left out: they are rebuilt from the DWARF call-site records
/// (as gdb does), not found on the stack, and minidump-stackwalk does not
/// rebuild them.
fn our_walked(json: &Value) -> BTreeMap<u64, Vec<Walked>> {
    json["threads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let mut out = Vec::new();
            let mut inlined = Vec::new();
            for f in t["frames"].as_array().unwrap() {
                let name = f["function"].as_str().unwrap_or("??").to_owned();
                match f["source"].as_str().unwrap() {
                    "inlined" => inlined.push(name),
                    "tail-call" => inlined.clear(),
                    source => out.push(Walked {
                        module: f["module"].as_str().map(str::to_owned),
                        module_offset: f["module_offset"].as_u64().unwrap(),
                        trust: source.replace('-', "_"),
                        inlined: std::mem::take(&mut inlined),
                        function: name,
                        symbol_start: None,
                    }),
                }
            }
            (t["tid"].as_u64().unwrap(), out)
        })
        .collect()
}

/// The function symbols of an ELF file and of its separate debug file
/// (`/usr/lib/debug/.build-id/…`, libc6-dbg's), by address, as `nm` lists
/// them: every alias of each address.
fn symbol_names(module: &Path) -> BTreeMap<u64, Vec<String>> {
    let nm = oracle("nm").expect("nm (binutils) is installed with objcopy");
    let id = build_id(module);
    let debug = PathBuf::from(format!(
        "/usr/lib/debug/.build-id/{}/{}.debug",
        &id[..2],
        &id[2..]
    ));
    let mut out: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for (file, dynamic) in [(module, false), (module, true), (debug.as_path(), false)] {
        if !file.exists() {
            continue;
        }
        let mut cmd = Command::new(&nm);
        cmd.arg("--defined-only");
        if dynamic {
            cmd.arg("-D");
        }
        let out_text = cmd.arg(file).output().unwrap();
        for line in String::from_utf8_lossy(&out_text.stdout).lines() {
            let mut parts = line.split_whitespace();
            let (Some(addr), Some(kind), Some(name)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            if !matches!(kind, "T" | "t" | "W" | "w" | "i") {
                continue;
            }
            let Ok(addr) = u64::from_str_radix(addr, 16) else {
                continue;
            };
            // `name@@VERSION`: the name is the part before the version.
            let name = name.split('@').next().unwrap().to_owned();
            let names = out.entry(addr).or_default();
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    out
}

/// minidump-stackwalk's name without the leading underscore it drops: it
/// (samply-symbols' `demangle_any`) removes one `_` from every name it
/// cannot demangle (`__libc_pause` is printed `_libc_pause`, `_start`
/// `start`).
fn without_one_underscore(name: &str) -> String {
    name.strip_prefix('_').unwrap_or(name).to_owned()
}

#[test]
fn stack_of_our_minidump_equals_minidump_stackwalks_frames() {
    let helper = Helper::spawn(stack_target_path(), &["--threads", "4"]);
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("x.dmp");
    capture_ok(helper.pid(), &dump, &["--format", "minidump"]);
    let json = stack_json(&[dump.as_os_str()]);
    assert_eq!(json["pid"], helper.pid(), "MiscInfo's process id");
    let ours = our_walked(&json);
    assert_eq!(ours.len(), 5);
    let Some(theirs) = stackwalk_frames(&dump) else {
        return;
    };
    // Every physical frame of every thread: the same module, offset and
    // way of unwinding, the same inlined functions (both from DWARF), and
    // the same function:
    // - in the helper, by name (both take it from DWARF);
    // - in libc and the other system modules, by where it starts: there
    //   minidump-stackwalk names the symbol-table symbol at the function's
    //   start, one of several aliases (`_libc_start_main_alias_2`), where
    //   we, like gdb, print the DWARF name (`__libc_start_main_impl`), and
    //   for a GCC clone (`msort_with_tmp.part.0`) DWARF names the source
    //   function (`msort_with_tmp`). So: its name must be a symbol at the
    //   start of the function it reports, and ours a symbol at that same
    //   address or the source function of a clone there, by nm's listing
    //   of the module and its debug file.
    let helper_module = stack_target_path().file_name().unwrap().to_str().unwrap();
    let module_paths: BTreeMap<String, PathBuf> = json["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let path = PathBuf::from(m["path"].as_str().unwrap());
            (path.file_name().unwrap().to_str().unwrap().to_owned(), path)
        })
        .collect();
    let mut symbols: BTreeMap<String, BTreeMap<u64, Vec<String>>> = BTreeMap::new();
    let mut checked_by_alias = 0;
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>()
    );
    for (tid, our_frames) in &ours {
        let their_frames = &theirs[tid];
        let context = || format!("thread {tid}:\nours {our_frames:#?}\ntheirs {their_frames:#?}");
        assert_eq!(our_frames.len(), their_frames.len(), "{}", context());
        for (us, them) in our_frames.iter().zip(their_frames) {
            assert_eq!(
                (&us.module, us.module_offset, &us.trust),
                (&them.module, them.module_offset, &them.trust),
                "{}",
                context()
            );
            let normal = |names: &[String]| -> Vec<String> {
                names.iter().map(|n| without_one_underscore(n)).collect()
            };
            assert_eq!(normal(&us.inlined), normal(&them.inlined), "{}", context());
            let module = us.module.clone().unwrap();
            if module == helper_module {
                assert_eq!(
                    without_one_underscore(&us.function),
                    without_one_underscore(&them.function),
                    "{}",
                    context()
                );
                continue;
            }
            let start = them
                .symbol_start
                .unwrap_or_else(|| panic!("no symbol from minidump-stackwalk: {}", context()));
            let names = symbols
                .entry(module.clone())
                .or_insert_with(|| symbol_names(&module_paths[&module]))
                .get(&start)
                .cloned()
                .unwrap_or_default();
            assert!(
                names
                    .iter()
                    .any(|n| without_one_underscore(n) == them.function),
                "minidump-stackwalk's {} is not a symbol at {start:#x} of {module} ({names:?})",
                them.function
            );
            assert!(
                names
                    .iter()
                    .any(|n| *n == us.function || n.split('.').next() == Some(&us.function)),
                "our {} is not a symbol (or a clone's source function) at {start:#x} of \
                 {module} ({names:?})",
                us.function
            );
            checked_by_alias += 1;
        }
    }
    // libc's frames were compared: pause, start_thread, clone3 on every
    // thread, qsort_r's on one.
    assert!(checked_by_alias >= 10, "{checked_by_alias}");
}

#[test]
fn a_rust_programs_frames_are_demangled_with_file_and_line() {
    let mut sample = coroner()
        .args(["sample-process", "--threads", "2", "--pattern-mib", "1"])
        .stdout(Stdio::piped())
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(sample.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("READY"), "{line:?}");
    let dir = tempfile::tempdir().unwrap();
    let core = dir.path().join("core");
    capture_ok(sample.id(), &core, &[]);
    drop(sample.stdin.take());
    let _ = sample.kill();
    let _ = sample.wait();

    let json = stack_json(&[core.as_os_str()]);
    let frames: Vec<&Value> = json["threads"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["frames"].as_array().unwrap())
        .collect();
    for want in [
        "coroner::sample::sample_park_alpha",
        "coroner::sample::park_forever",
    ] {
        let frame = frames
            .iter()
            .find(|f| f["function"] == want)
            .unwrap_or_else(|| panic!("no {want} frame in {json:#}"));
        assert!(
            frame["file"].as_str().unwrap().ends_with("sample.rs"),
            "{frame}"
        );
        assert!(frame["line"].as_u64().unwrap() > 0, "{frame}");
    }
    // No mangled name is left.
    assert!(
        frames
            .iter()
            .filter_map(|f| f["function"].as_str())
            .all(|n| !n.starts_with("_ZN") && !n.starts_with("_R")),
        "{json:#}"
    );
}

/// The helper's executable copied into `dir`, stripped of its symbols and
/// debug info, which go to `dir/debug/.build-id/xx/rest.debug`.
fn stripped_copy(dir: &Path) -> Option<(PathBuf, PathBuf)> {
    let objcopy = oracle("objcopy")?;
    let exe = dir.join("stripped-helper");
    let debug = dir.join("helper.debug");
    std::fs::copy(stack_target_path(), &exe).unwrap();
    let run = |args: &[&std::ffi::OsStr]| {
        let status = Command::new(&objcopy).args(args).status().unwrap();
        assert!(status.success(), "objcopy {args:?}");
    };
    run(&[
        "--only-keep-debug".as_ref(),
        exe.as_os_str(),
        debug.as_os_str(),
    ]);
    run(&["--strip-all".as_ref(), exe.as_os_str()]);
    let id = build_id(&exe);
    let debug_dir = dir.join("debug");
    let target = debug_dir
        .join(".build-id")
        .join(&id[..2])
        .join(format!("{}.debug", &id[2..]));
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::fs::rename(&debug, &target).unwrap();
    Some((exe, debug_dir))
}

/// The GNU build-id of an ELF file, in hex (by readelf, not by us).
fn build_id(file: &Path) -> String {
    let mut cmd = Command::new("readelf");
    cmd.arg("-n").arg(file);
    let text = run_ok(cmd);
    text.lines()
        .find_map(|l| l.trim().strip_prefix("Build ID:"))
        .unwrap_or_else(|| panic!("no build-id in {text}"))
        .trim()
        .to_owned()
}

#[test]
fn a_stripped_binary_is_symbolized_through_debug_dir() {
    let dir = tempfile::tempdir().unwrap();
    let Some((exe, debug_dir)) = stripped_copy(dir.path()) else {
        return;
    };
    let helper = Helper::spawn(&exe, &["--threads", "2"]);
    let core = dir.path().join("core");
    capture_ok(helper.pid(), &core, &[]);

    // Without the debug info the helper's own (static, unexported)
    // functions have no names.
    let bare = stack_json(&[core.as_os_str()]);
    let bare_names: Vec<String> = our_functions(&bare).into_values().flatten().collect();
    assert!(
        !bare_names.iter().any(|n| n == "stack_park"),
        "{bare_names:?}"
    );

    let json = stack_json(&[
        core.as_os_str(),
        "--debug-dir".as_ref(),
        debug_dir.as_os_str(),
    ]);
    let ours = our_functions(&json);
    for names in ours.values() {
        let names = up_to_main(names.clone());
        assert!(
            names.ends_with(&["main_wait".to_owned(), "main".to_owned()])
                || names.iter().any(|n| n == "stack_park"),
            "{names:?}"
        );
    }
    let module = json["modules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["path"].as_str().unwrap().ends_with("stripped-helper"))
        .unwrap();
    assert!(
        module["debug_file"]
            .as_str()
            .unwrap()
            .starts_with(debug_dir.to_str().unwrap()),
        "{module}"
    );
    let park = json["threads"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["frames"].as_array().unwrap())
        .find(|f| f["function"] == "stack_park")
        .unwrap();
    assert!(park["file"].as_str().unwrap().ends_with("stack_target.c"));
}

#[test]
fn a_module_rebuilt_since_the_dump_is_a_build_id_mismatch_not_wrong_names() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("helper");
    std::fs::copy(stack_target_path(), &exe).unwrap();
    let helper = Helper::spawn(&exe, &["--threads", "2"]);
    let core = dir.path().join("core");
    capture_ok(helper.pid(), &core, &[]);
    drop(helper);

    // Another build at the same path: same code, another build-id.
    let Some(objcopy) = oracle("objcopy") else {
        return;
    };
    let old_id = build_id(&exe);
    let new_id: String = old_id
        .chars()
        .map(|c| if c == '0' { '1' } else { '0' })
        .collect();
    let status = Command::new(objcopy)
        .arg("--remove-section=.note.gnu.build-id")
        .arg(&exe)
        .status()
        .unwrap();
    assert!(status.success());
    let mut relink = Command::new("objcopy");
    relink
        .arg("--add-section")
        .arg(format!(
            ".note.gnu.build-id={}",
            note_file(dir.path(), &new_id).display()
        ))
        .arg("--set-section-flags=.note.gnu.build-id=alloc,readonly")
        .arg(&exe);
    run_ok(relink);
    assert_ne!(build_id(&exe), old_id);

    let json = stack_json(&[core.as_os_str()]);
    let module = json["modules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["path"] == exe.to_str().unwrap())
        .unwrap_or_else(|| panic!("{json:#}"));
    let problem = module["problem"].as_str().unwrap();
    assert!(problem.starts_with("build-id mismatch"), "{problem}");
    assert!(problem.contains(&old_id), "{problem}");
    assert_eq!(module["file"], Value::Null);
    // The helper's frames have no names rather than names from the other build.
    for frame in json["threads"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["frames"].as_array().unwrap())
        .filter(|f| f["module"] == "helper")
    {
        assert_eq!(frame["function"], Value::Null, "{frame}");
    }
    let mut text = coroner();
    text.arg("stack").arg(&core);
    assert!(run_ok(text).contains("build-id mismatch"));
}

/// A `.note.gnu.build-id` section's bytes with build-id `hex`, in a file.
fn note_file(dir: &Path, hex: &str) -> PathBuf {
    let id: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let mut note = Vec::new();
    note.extend_from_slice(&4u32.to_le_bytes());
    note.extend_from_slice(&(id.len() as u32).to_le_bytes());
    note.extend_from_slice(&3u32.to_le_bytes()); // NT_GNU_BUILD_ID
    note.extend_from_slice(b"GNU\0");
    note.extend_from_slice(&id);
    let path = dir.join("note");
    std::fs::write(&path, note).unwrap();
    path
}

#[test]
fn stack_of_a_live_100_thread_process_reports_its_pause_and_leaves_it_running() {
    let helper = Helper::spawn(stack_target_path(), &["--threads", "100"]);
    let pid = helper.pid();
    let json = stack_json(&[pid.to_string().as_ref()]);
    let frozen_ms = json["frozen_ms"].as_f64().expect("frozen_ms");
    assert!(frozen_ms > 0.0 && frozen_ms < 10_000.0, "{frozen_ms}");
    let ours = our_functions(&json);
    assert_eq!(ours.len(), 101);
    let parked = ours
        .values()
        .filter(|names| names.iter().any(|n| n == "stack_park"))
        .count();
    assert_eq!(parked, 100, "{ours:#?}");
    assert_eq!(json["threads"][0]["tid"], pid, "the main thread first");

    let mut text = coroner();
    text.arg("stack").arg(pid.to_string());
    let out = run_ok(text);
    assert!(
        out.starts_with(&format!("process {pid} frozen for ")),
        "{out}"
    );

    // Running afterwards: no thread is left in a stop, nobody traces it.
    std::thread::sleep(std::time::Duration::from_millis(50));
    let states = thread_states(pid);
    assert_eq!(states.len(), 101);
    assert!(states.values().all(|s| *s == 'S'), "{states:?}");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(status.contains("TracerPid:\t0\n"), "{status}");
}

/// A copy of `exe` in `dir` without its DWARF CFI (`.eh_frame`,
/// `.eh_frame_hdr`; neither helper has a `.debug_frame`), so unwinding its
/// frames must fall back to frame pointers or a stack scan.
fn without_cfi(exe: &Path, dir: &Path) -> Option<PathBuf> {
    let objcopy = oracle("objcopy")?;
    let copy = dir.join(format!(
        "{}-nocfi",
        exe.file_name().unwrap().to_str().unwrap()
    ));
    let status = Command::new(objcopy)
        .args([
            "--remove-section=.eh_frame",
            "--remove-section=.eh_frame_hdr",
        ])
        .arg(exe)
        .arg(&copy)
        .status()
        .unwrap();
    assert!(status.success());
    Some(copy)
}

/// Each thread's (function, source) pairs in the module `module`.
fn frames_in(json: &Value, module: &str) -> Vec<Vec<(String, String)>> {
    json["threads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            t["frames"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["module"] == module)
                .map(|f| {
                    (
                        f["function"].as_str().unwrap_or("??").to_owned(),
                        f["source"].as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        })
        .collect()
}

#[test]
fn without_cfi_the_frame_pointer_chain_takes_over_and_is_marked() {
    // The -O0 target keeps its frame pointers.
    let dir = tempfile::tempdir().unwrap();
    let Some(exe) = without_cfi(coroner_test_support::target_path(), dir.path()) else {
        return;
    };
    let helper = Helper::spawn(
        &exe,
        &["--threads", "2", "--pattern-mib", "1", "--reserve-gib", "0"],
    );
    let json = stack_json(&[helper.pid().to_string().as_ref()]);
    let module = exe.file_name().unwrap().to_str().unwrap();
    let threads = frames_in(&json, module);
    let workers: Vec<_> = threads
        .iter()
        .filter(|t| t.iter().any(|(f, _)| f.starts_with("park_in_")))
        .collect();
    assert_eq!(workers.len(), 2, "{json:#}");
    for frames in workers {
        // park_in_N was reached by libc's CFI; its callers by frame pointers.
        let park = frames
            .iter()
            .position(|(f, _)| f.starts_with("park_in_"))
            .unwrap();
        let callers = &frames[park + 1..];
        assert!(
            callers.iter().any(|(f, _)| f == "worker_main"),
            "{frames:?}"
        );
        assert!(
            callers.iter().all(|(_, s)| s == "frame-pointer"),
            "{frames:?}"
        );
    }
}

#[test]
fn without_cfi_or_frame_pointers_a_stack_scan_finds_the_callers_marked_as_a_guess() {
    let dir = tempfile::tempdir().unwrap();
    let Some(exe) = without_cfi(stack_target_path(), dir.path()) else {
        return;
    };
    let helper = Helper::spawn(&exe, &["--threads", "2"]);
    let json = stack_json(&[helper.pid().to_string().as_ref()]);
    let module = exe.file_name().unwrap().to_str().unwrap();
    for frames in frames_in(&json, module) {
        let names: Vec<&str> = frames.iter().map(|(f, _)| f.as_str()).collect();
        if names.first() == Some(&"main_wait") {
            continue;
        }
        for want in ["stack_park", "stack_recurse", "stack_middle", "worker_main"] {
            assert!(names.contains(&want), "no {want}: {frames:?}");
        }
        // stack_park was reached by libc's CFI (as is a function libc
        // returns to); the callers of CFI-less functions are a scan's
        // guesses, never frame-pointer walks of -fomit-frame-pointer code.
        assert_eq!(frames[0], ("stack_park".to_owned(), "cfi".to_owned()));
        assert_eq!(frames[1], ("stack_recurse".to_owned(), "scan".to_owned()));
        assert!(
            frames.iter().filter(|(_, s)| s == "scan").count() >= 3,
            "{frames:?}"
        );
        assert!(
            frames.iter().all(|(_, s)| s != "frame-pointer"),
            "{frames:?}"
        );
        let text = {
            let mut cmd = coroner();
            cmd.arg("stack").arg(helper.pid().to_string());
            run_ok(cmd)
        };
        assert!(text.contains("[stack scan: a guess]"), "{text}");
    }
}
