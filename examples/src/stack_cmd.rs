//! `coroner stack FILE|PID [--json] [--thread TID] [--sysroot DIR] [--debug-dir DIR]…`:
//! every thread's symbolized backtrace, from an ELF core, a minidump or a
//! live process (Linux), by the `coroner-stack` library.
//!
//! JSON schema (one object; addresses are numbers; `null` where unknown):
//!
//! ```json
//! {
//!   "schema": "coroner-stack/1",
//!   "input": "core.1234",              // or "pid 1234"
//!   "pid": 1234, "arch": "x86_64",
//!   "frozen_ms": 1.7,                  // live process only: how long it was stopped
//!   "threads": [ { "tid": 1234, "name": "server", "crashed": true, "signal": 11,
//!                  "truncated": null,  // why the walk stopped early, if it did
//!                  "frames": [ { "pc": 4198400, "sp": 140733, "source": "cfi",
//!                                "module": "server", "module_offset": 4096,
//!                                "function": "main", "function_offset": 16,
//!                                "file": "server.c", "line": 12 } ] } ],
//!   "modules": [ { "path": "/usr/lib/libc.so.6", "base": 1396, "build_id": "3a1b…",
//!                  "file": "/usr/lib/libc.so.6", "debug_file": null,
//!                  "problem": "build-id mismatch: …" } ]
//! }
//! ```
//! `source` is how the frame was found: `context` (the thread's registers),
//! `cfi`, `frame-pointer`, `scan` (a guess from a return-address-looking
//! word on the stack), `inlined` (a function inlined into the next frame) or
//! `tail-call` (a function that jumped to the frame before it and so left no
//! frame on the stack, put back from the DWARF call-site records as gdb
//! does; its `pc` is the address after that jump).

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;
use coroner_stack::{Frame, FrameSource, Options, Stacks};
use serde::Serialize;

use crate::error_text::{describe, Output};
use crate::failure::Failure;

/// Arguments of `coroner stack`.
#[derive(Debug, Args)]
pub struct StackArgs {
    /// An ELF core or a minidump, or the id of a live process (a number
    /// that is not the name of a file in the current directory).
    pub target: String,
    /// Print one JSON object (schema `coroner-stack/1`).
    #[arg(long)]
    pub json: bool,
    /// Only this thread.
    #[arg(long, value_name = "TID")]
    pub thread: Option<u32>,
    /// Read the modules the dump names under DIR (a copy of the crashed
    /// machine's root filesystem, a container image …).
    #[arg(long, value_name = "DIR")]
    pub sysroot: Option<PathBuf>,
    /// Separate debug info (`DIR/.build-id/xx/rest.debug`); repeatable;
    /// default /usr/lib/debug.
    #[arg(long = "debug-dir", value_name = "DIR")]
    pub debug_dirs: Vec<PathBuf>,
}

/// Run `coroner stack`.
pub fn run(args: &StackArgs) -> Result<(), Failure> {
    let options = Options::default()
        .with_thread(args.thread)
        .with_sysroot(args.sysroot.clone())
        .with_debug_dirs(args.debug_dirs.clone());
    let path = PathBuf::from(&args.target);
    let pid = args.target.parse::<u32>().ok().filter(|_| !path.exists());
    let (stacks, input) = match pid {
        Some(pid) => (live(pid, &options)?, format!("pid {pid}")),
        None => (
            coroner_stack::stacks_of_file(&path, &options)
                .map_err(|e| describe(&e, Output::Nothing))?,
            args.target.clone(),
        ),
    };
    if args.json {
        let json = serde_json::to_string_pretty(&StackJson::new(&input, &stacks))
            .map_err(|e| describe(&e, Output::Nothing))?;
        crate::output::print(&format!("{json}\n"))
    } else {
        crate::output::print(&text(&stacks))
    }
}

#[cfg(target_os = "linux")]
fn live(pid: u32, options: &Options) -> Result<Stacks, Failure> {
    coroner_stack::stacks_of_process(pid, options)
        .map_err(|e| Failure::Message(describe(&e, Output::Nothing)))
}

#[cfg(not(target_os = "linux"))]
fn live(pid: u32, _options: &Options) -> Result<Stacks, Failure> {
    Err(Failure::Message(format!(
        "{pid} is not a file here, and live processes can only be read on Linux; \
         give an ELF core or a minidump"
    )))
}

/// The human-readable report.
fn text(stacks: &Stacks) -> String {
    let mut out = String::new();
    if let Some(frozen) = stacks.frozen_for {
        let _ = writeln!(
            out,
            "process {} frozen for {:.3} ms ({} threads)",
            stacks.pid.unwrap_or(0),
            frozen.as_secs_f64() * 1000.0,
            stacks.threads.len()
        );
    }
    for (i, thread) in stacks.threads.iter().enumerate() {
        if i > 0 || stacks.frozen_for.is_some() {
            out.push('\n');
        }
        let _ = write!(out, "thread {}", thread.tid);
        if let Some(name) = &thread.name {
            let _ = write!(out, " \"{name}\"");
        }
        if thread.crashed {
            match thread.signal {
                Some(signal) => {
                    let _ = write!(out, " (crashed: signal {signal})");
                }
                None => out.push_str(" (crashed)"),
            }
        }
        out.push('\n');
        for (n, frame) in thread.frames.iter().enumerate() {
            let _ = writeln!(out, "  #{n:<3} {}", frame_text(frame));
        }
        if let Some(why) = &thread.truncated {
            let _ = writeln!(out, "  (backtrace stops here: {why})");
        }
    }
    let problems: Vec<_> = stacks
        .modules
        .iter()
        .filter_map(|m| m.problem.as_ref().map(|p| (m, p)))
        .collect();
    if !problems.is_empty() {
        out.push_str("\nmodules not used:\n");
        for (module, problem) in problems {
            let _ = writeln!(out, "  {}: {problem}", module.path);
        }
    }
    out
}

fn frame_text(frame: &Frame) -> String {
    let mut s = if frame.source == FrameSource::Inlined {
        format!("{:18} ", "(inlined)")
    } else {
        format!("{:#018x} ", frame.pc)
    };
    s.push_str(frame.function.as_deref().unwrap_or("??"));
    if let Some(offset) = frame.function_offset.filter(|o| *o != 0) {
        let _ = write!(s, "+{offset:#x}");
    }
    if let Some(module) = &frame.module {
        let _ = write!(s, " in {module}");
        if frame.function.is_none() {
            if let Some(offset) = frame.module_offset {
                let _ = write!(s, "+{offset:#x}");
            }
        }
    }
    if let Some(file) = &frame.file {
        let _ = write!(s, " at {file}");
        if let Some(line) = frame.line {
            let _ = write!(s, ":{line}");
        }
    }
    match frame.source {
        FrameSource::FramePointer => s.push_str(" [frame pointer]"),
        FrameSource::Scan => s.push_str(" [stack scan: a guess]"),
        FrameSource::TailCall => s.push_str(" [tail call]"),
        _ => {}
    }
    s
}

#[derive(Serialize)]
struct StackJson<'a> {
    schema: &'static str,
    input: &'a str,
    pid: Option<u32>,
    arch: &'static str,
    frozen_ms: Option<f64>,
    threads: Vec<ThreadJson<'a>>,
    modules: Vec<ModuleJson<'a>>,
}

#[derive(Serialize)]
struct ThreadJson<'a> {
    tid: u32,
    name: Option<&'a str>,
    crashed: bool,
    signal: Option<i32>,
    truncated: Option<&'a str>,
    frames: Vec<FrameJson<'a>>,
}

#[derive(Serialize)]
struct FrameJson<'a> {
    pc: u64,
    sp: u64,
    source: &'static str,
    module: Option<&'a str>,
    module_offset: Option<u64>,
    function: Option<&'a str>,
    function_offset: Option<u64>,
    file: Option<&'a str>,
    line: Option<u32>,
}

#[derive(Serialize)]
struct ModuleJson<'a> {
    path: &'a str,
    base: u64,
    build_id: Option<&'a str>,
    file: Option<String>,
    debug_file: Option<String>,
    problem: Option<String>,
}

impl<'a> StackJson<'a> {
    fn new(input: &'a str, stacks: &'a Stacks) -> StackJson<'a> {
        StackJson {
            schema: "coroner-stack/1",
            input,
            pid: stacks.pid,
            arch: stacks.arch.name(),
            frozen_ms: stacks.frozen_for.map(|d| d.as_secs_f64() * 1000.0),
            threads: stacks
                .threads
                .iter()
                .map(|t| ThreadJson {
                    tid: t.tid,
                    name: t.name.as_deref(),
                    crashed: t.crashed,
                    signal: t.signal,
                    truncated: t.truncated.as_deref(),
                    frames: t
                        .frames
                        .iter()
                        .map(|f| FrameJson {
                            pc: f.pc,
                            sp: f.sp,
                            source: f.source.name(),
                            module: f.module.as_deref(),
                            module_offset: f.module_offset,
                            function: f.function.as_deref(),
                            function_offset: f.function_offset,
                            file: f.file.as_deref(),
                            line: f.line,
                        })
                        .collect(),
                })
                .collect(),
            modules: stacks
                .modules
                .iter()
                .map(|m| ModuleJson {
                    path: &m.path,
                    base: m.base,
                    build_id: m.build_id.as_deref(),
                    file: m.file.as_ref().map(|p| p.display().to_string()),
                    debug_file: m.debug_file.as_ref().map(|p| p.display().to_string()),
                    problem: m.problem.as_ref().map(ToString::to_string),
                })
                .collect(),
        }
    }
}
