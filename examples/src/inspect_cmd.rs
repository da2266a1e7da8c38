//! `coroner inspect FILE [--json]`.
//!
//! JSON schema (one object; addresses are numbers; `null` where unknown):
//!
//! ```json
//! {
//!   "schema": "coroner-inspect/1",
//!   "file": "core.1234",
//!   "format": "elf-core",            // or "minidump"
//!   "machine": "x86_64",
//!   "process": { "pid": 1234, "name": "server", "args": "server --port 80",
//!                "signal": 11, "fault_address": 0 },
//!   "threads": [ { "tid": 1234, "name": "server", "pc": 4198400, "sp": 140733,
//!                  "signal": 11, "crashed": true } ],
//!   "mappings": [ { "start": 4194304, "end": 4198400, "perms": "r-x",
//!                   "path": "/usr/bin/server", "file_offset": 0,
//!                   "dumped": 4096, "total": 4096 } ],
//!   "modules": [ { "path": "/usr/lib/libc.so.6", "base": 1396, "end": 1400,
//!                  "build_id": "3a1b…" } ],
//!   "totals": { "threads": 9, "mappings": 40, "mappings_dumped": 25,
//!               "bytes_dumped": 70000000, "bytes_mapped": 9000000000,
//!               "modules": 3, "modules_with_build_id": 3,
//!               "file_size": 70100000, "file_allocated": 67000000 },
//!   "warnings": [ "…" ]              // only when something is implausible
//! }
//! ```
//! `threads[0]` is the thread the dump names current (the crashing one for
//! a kernel core, the main thread for a live capture); `crashed` marks the
//! thread whose signal caused the dump. `dumped` is `p_filesz`, `total` is
//! `p_memsz`. `build_id` is read from the module's first page in the dump.
//! `warnings` says what is implausible (sizes that add up past 2^64, an
//! offset past the end of a file …) or could not be read; a figure it names
//! is shown saturated, never wrapped.

use std::fmt::Write as _;

use coroner_capture::inspect::Summary;
use serde::Serialize;

use crate::error_text::{describe, Output};
use crate::failure::Failure;
use crate::input::Input;
use crate::InspectArgs;

/// Schema identifier in `--json` output.
pub const SCHEMA: &str = "coroner-inspect/1";

/// `--json` output of `inspect`.
#[derive(Debug, Serialize)]
pub struct InspectJson {
    /// [`SCHEMA`].
    pub schema: &'static str,
    /// The file inspected.
    pub file: String,
    /// `"elf-core"` or `"minidump"`.
    pub format: &'static str,
    /// Architecture.
    pub machine: String,
    /// The process.
    pub process: ProcessJson,
    /// Threads.
    pub threads: Vec<ThreadJson>,
    /// Mappings.
    pub mappings: Vec<MappingJson>,
    /// Modules.
    pub modules: Vec<ModuleJson>,
    /// Totals.
    pub totals: TotalsJson,
    /// What is implausible or unreadable in the dump (left out when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// `process` object.
#[derive(Debug, Serialize)]
pub struct ProcessJson {
    pid: Option<u32>,
    name: Option<String>,
    args: Option<String>,
    signal: Option<i32>,
    fault_address: Option<u64>,
}

/// `threads[]` object.
#[derive(Debug, Serialize)]
pub struct ThreadJson {
    tid: u32,
    name: Option<String>,
    pc: u64,
    sp: u64,
    signal: i32,
    crashed: bool,
}

/// `mappings[]` object.
#[derive(Debug, Serialize)]
pub struct MappingJson {
    start: u64,
    end: u64,
    perms: String,
    path: Option<String>,
    file_offset: Option<u64>,
    dumped: u64,
    total: u64,
}

/// `modules[]` object.
#[derive(Debug, Serialize)]
pub struct ModuleJson {
    path: String,
    base: u64,
    end: u64,
    build_id: Option<String>,
}

/// `totals` object.
#[derive(Debug, Serialize)]
pub struct TotalsJson {
    threads: usize,
    mappings: usize,
    mappings_dumped: usize,
    bytes_dumped: u64,
    bytes_mapped: u64,
    modules: usize,
    modules_with_build_id: usize,
    file_size: u64,
    file_allocated: Option<u64>,
}

impl InspectJson {
    /// From a summary of the dump shown as `file`.
    pub fn new(file: &str, s: &Summary) -> InspectJson {
        let p = &s.process;
        let t = &s.totals;
        InspectJson {
            schema: SCHEMA,
            file: file.to_owned(),
            format: s.format,
            machine: s.machine.clone(),
            process: ProcessJson {
                pid: p.pid,
                name: p.name.clone(),
                args: p.args.clone(),
                signal: p.signal,
                fault_address: p.fault_address,
            },
            threads: s
                .threads
                .iter()
                .map(|t| ThreadJson {
                    tid: t.tid,
                    name: t.name.clone(),
                    pc: t.pc,
                    sp: t.sp,
                    signal: t.signal,
                    crashed: t.crashed,
                })
                .collect(),
            mappings: s
                .mappings
                .iter()
                .map(|m| MappingJson {
                    start: m.start,
                    end: m.end,
                    perms: m.perms.clone(),
                    path: m.path.clone(),
                    file_offset: m.file_offset,
                    dumped: m.dumped,
                    total: m.total,
                })
                .collect(),
            modules: s
                .modules
                .iter()
                .map(|m| ModuleJson {
                    path: m.path.clone(),
                    base: m.base,
                    end: m.end,
                    build_id: m.build_id.clone(),
                })
                .collect(),
            totals: TotalsJson {
                threads: t.threads,
                mappings: t.mappings,
                mappings_dumped: t.mappings_dumped,
                bytes_dumped: t.bytes_dumped,
                bytes_mapped: t.bytes_mapped,
                modules: t.modules,
                modules_with_build_id: t.modules_with_build_id,
                file_size: t.file_size,
                file_allocated: t.file_allocated,
            },
            warnings: s.warnings.clone(),
        }
    }
}

/// Run the subcommand.
pub fn run(args: &InspectArgs) -> Result<(), Failure> {
    let input = Input::open(&args.file)?;
    if args.json {
        let s = summarise(&input)?;
        let json = serde_json::to_string_pretty(&InspectJson::new(&input.shown, &s))
            .map_err(|e| describe(&e, Output::Nothing))?;
        crate::output::print(&format!("{json}\n"))
    } else {
        print_file(&input, true)
    }
}

fn summarise(input: &Input) -> Result<Summary, Failure> {
    let s = Summary::from_file(&input.path).map_err(|e| {
        let text = describe(&e, Output::Nothing);
        if input.path.as_os_str() == input.shown.as_str() {
            text
        } else {
            format!("{}: {text}", input.shown)
        }
    })?;
    Ok(s)
}

fn mib(b: u64) -> String {
    if b >= 1 << 20 {
        format!("{:.1} MiB", b as f64 / f64::from(1u32 << 20))
    } else {
        format!("{:.1} KiB", b as f64 / 1024.0)
    }
}

/// Print the human-readable summary of `input` on stdout; the table of
/// mappings only when `list_mappings` (the demo leaves it out: dozens of
/// lines that bury the rest).
pub fn print_file(input: &Input, list_mappings: bool) -> Result<(), Failure> {
    let s = summarise(input)?;
    let mut out = String::new();
    write_summary(&mut out, &input.shown, &s, list_mappings)
        .map_err(|e| Failure::Message(format!("formatting the summary: {e}")))?;
    crate::output::print(&out)
}

fn write_summary(
    out: &mut String,
    shown: &str,
    s: &Summary,
    list_mappings: bool,
) -> std::fmt::Result {
    let p = &s.process;
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "?".into());
    writeln!(
        out,
        "{}: {} {}, {}",
        shown,
        s.machine,
        if s.format == "minidump" {
            "minidump"
        } else {
            "core"
        },
        mib(s.totals.file_size)
    )?;
    writeln!(
        out,
        "process  pid {}  name {}  args {:?}",
        p.pid.map_or("?".into(), |v| v.to_string()),
        opt(&p.name),
        p.args.clone().unwrap_or_default()
    )?;
    match (p.signal, p.fault_address) {
        (Some(sig), Some(addr)) => writeln!(out, "signal   {sig} at {addr:#x}")?,
        (Some(sig), None) => writeln!(out, "signal   {sig}")?,
        _ => writeln!(out, "signal   none (live capture)")?,
    }
    writeln!(out, "threads  {}", s.threads.len())?;
    for t in &s.threads {
        writeln!(
            out,
            "  {} {:>8}  pc {:#014x}  sp {:#014x}  {}",
            if t.crashed { "*" } else { " " },
            t.tid,
            t.pc,
            t.sp,
            t.name.clone().unwrap_or_default()
        )?;
    }
    writeln!(
        out,
        "mappings {} ({} dumped), {} of {} mapped in the file",
        s.totals.mappings,
        s.totals.mappings_dumped,
        mib(s.totals.bytes_dumped),
        mib(s.totals.bytes_mapped)
    )?;
    if list_mappings {
        for m in &s.mappings {
            writeln!(
                out,
                "  {:#014x}-{:#014x} {} {:>12} / {:<12} {}",
                m.start,
                m.end,
                m.perms,
                mib(m.dumped),
                mib(m.total),
                m.path.clone().unwrap_or_default()
            )?;
        }
    }
    writeln!(
        out,
        "modules  {} ({} with build-id)",
        s.totals.modules, s.totals.modules_with_build_id
    )?;
    for m in &s.modules {
        writeln!(
            out,
            "  {:#014x} {} {}",
            m.base,
            m.build_id.clone().unwrap_or_else(|| "-".into()),
            m.path
        )?;
    }
    if let Some(a) = s.totals.file_allocated {
        writeln!(
            out,
            "file     {} ({} on disk)",
            mib(s.totals.file_size),
            mib(a)
        )?;
    }
    for w in &s.warnings {
        eprintln!("coroner: warning: {w}");
    }
    Ok(())
}
