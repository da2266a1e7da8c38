//! Compiles the C programs the integration tests dump.
use std::{env, path::Path, path::PathBuf, process::Command};

/// One C helper program: where its source is, how it is compiled, and the
/// environment variable through which the tests find the executable.
struct Helper {
    source: &'static str,
    flags: &'static [&'static str],
    /// Link a GNU build-id note in, for the tests that look one up.
    build_id: bool,
    exe: &'static str,
    env_var: &'static str,
}

/// -O0 and frame pointers: every debugger must unwind every thread of it.
const UNWINDABLE: &[&str] = &["-O0", "-g", "-fno-omit-frame-pointer", "-pthread", "-Wall"];

const HELPERS: &[Helper] = &[
    // The target program most tests dump.
    Helper {
        source: "helpers/target.c",
        flags: UNWINDABLE,
        build_id: true,
        exe: "coroner-test-target",
        env_var: "CORONER_TEST_TARGET",
    },
    // The copy-on-write snapshot tests' target: threads parked in blocking
    // calls that report how each call ended.
    Helper {
        source: "helpers/snapshot_target.c",
        flags: &["-O1", "-g", "-pthread", "-Wall"],
        build_id: true,
        exe: "coroner-snapshot-target",
        env_var: "CORONER_SNAPSHOT_TARGET",
    },
    // The target `coroner stack` unwinds: optimised and without frame
    // pointers, so only the DWARF CFI unwinds it; with debug info for
    // function names, inlined frames and file:line.
    Helper {
        source: "helpers/stack_target.c",
        flags: &["-O2", "-g", "-fomit-frame-pointer", "-pthread", "-Wall"],
        build_id: true,
        exe: "coroner-stack-target",
        env_var: "CORONER_STACK_TARGET",
    },
    // The misbehaving process of `coroner watch`'s tests.
    Helper {
        source: "helpers/behave.c",
        flags: UNWINDABLE,
        build_id: false,
        exe: "coroner-test-behave",
        env_var: "CORONER_TEST_BEHAVE",
    },
    // The crash handler's crasher: crashes on purpose (SIGSEGV, SIGABRT,
    // SIGBUS) in its main thread or a worker; -O0 with frame pointers so
    // gdb and minidump-stackwalk unwind it to the crashing function.
    Helper {
        source: "helpers/crasher.c",
        flags: UNWINDABLE,
        build_id: true,
        exe: "coroner-test-crasher",
        env_var: "CORONER_TEST_CRASHER",
    },
];

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let compiler = cc::Build::new().get_compiler();
    for helper in HELPERS {
        compile(compiler.path(), &out, helper);
    }
}

/// Compile `helper` into `out` and tell the tests where it is.
fn compile(compiler: &Path, out: &Path, helper: &Helper) {
    println!("cargo:rerun-if-changed={}", helper.source);
    let exe = out.join(helper.exe);
    let status = Command::new(compiler)
        .args(helper.flags)
        .args(helper.build_id.then_some("-Wl,--build-id"))
        .arg(helper.source)
        .arg("-o")
        .arg(&exe)
        .status()
        .expect("run the C compiler");
    assert!(status.success(), "compiling {} failed", helper.source);
    println!("cargo:rustc-env={}={}", helper.env_var, exe.display());
}
