//! Compiles the C target program the integration tests dump.
use std::{env, path::PathBuf, process::Command};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let src = PathBuf::from("helpers/target.c");
    println!("cargo:rerun-if-changed={}", src.display());
    let compiler = cc::Build::new().get_compiler();
    let exe = out.join("coroner-test-target");
    // -O0 and frame pointers: every debugger must unwind every thread of it.
    let status = Command::new(compiler.path())
        .args([
            "-O0",
            "-g",
            "-fno-omit-frame-pointer",
            "-pthread",
            "-Wall",
            "-Wl,--build-id",
        ])
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .status()
        .expect("run the C compiler");
    assert!(status.success(), "compiling {} failed", src.display());
    println!("cargo:rustc-env=CORONER_TEST_TARGET={}", exe.display());

    // The copy-on-write snapshot tests' target: threads parked in blocking
    // calls that report how each call ended.
    let src = PathBuf::from("helpers/snapshot_target.c");
    println!("cargo:rerun-if-changed={}", src.display());
    let exe = out.join("coroner-snapshot-target");
    let status = Command::new(compiler.path())
        .args(["-O1", "-g", "-pthread", "-Wall", "-Wl,--build-id"])
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .status()
        .expect("run the C compiler");
    assert!(status.success(), "compiling {} failed", src.display());
    println!("cargo:rustc-env=CORONER_SNAPSHOT_TARGET={}", exe.display());

    // The target `coroner stack` unwinds: optimised and without frame
    // pointers, so only the DWARF CFI unwinds it; with debug info for
    // function names, inlined frames and file:line.
    let src = PathBuf::from("helpers/stack_target.c");
    println!("cargo:rerun-if-changed={}", src.display());
    let exe = out.join("coroner-stack-target");
    let status = Command::new(compiler.path())
        .args([
            "-O2",
            "-g",
            "-fomit-frame-pointer",
            "-pthread",
            "-Wall",
            "-Wl,--build-id",
        ])
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .status()
        .expect("run the C compiler");
    assert!(status.success(), "compiling {} failed", src.display());
    println!("cargo:rustc-env=CORONER_STACK_TARGET={}", exe.display());
    // The misbehaving process of `coroner watch`'s tests.
    let behave_src = PathBuf::from("helpers/behave.c");
    println!("cargo:rerun-if-changed={}", behave_src.display());
    let behave = out.join("coroner-test-behave");
    let status = Command::new(compiler.path())
        .args(["-O0", "-g", "-fno-omit-frame-pointer", "-pthread", "-Wall"])
        .arg(&behave_src)
        .arg("-o")
        .arg(&behave)
        .status()
        .expect("run the C compiler");
    assert!(
        status.success(),
        "compiling {} failed",
        behave_src.display()
    );
    println!("cargo:rustc-env=CORONER_TEST_BEHAVE={}", behave.display());

    // The crash handler's crasher: crashes on purpose (SIGSEGV, SIGABRT,
    // SIGBUS) in its main thread or a worker; -O0 with frame pointers so
    // gdb and minidump-stackwalk unwind it to the crashing function.
    let src = PathBuf::from("helpers/crasher.c");
    println!("cargo:rerun-if-changed={}", src.display());
    let exe = out.join("coroner-test-crasher");
    let status = Command::new(compiler.path())
        .args([
            "-O0",
            "-g",
            "-fno-omit-frame-pointer",
            "-pthread",
            "-Wall",
            "-Wl,--build-id",
        ])
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .status()
        .expect("run the C compiler");
    assert!(status.success(), "compiling {} failed", src.display());
    println!("cargo:rustc-env=CORONER_TEST_CRASHER={}", exe.display());
}
