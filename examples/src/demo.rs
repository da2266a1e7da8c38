//! `coroner demo`: start the bundled sample (this binary, `sample-process`),
//! capture it as an ELF core and as a minidump, inspect both, stop the sample.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use coroner_capture::CaptureOptions;
use coroner_capture::Sink;

use crate::error_text::{describe, Output};
use crate::failure::Failure;
use crate::input::Input;
use crate::output::{note, print};
use crate::units::{count, size};
use crate::DemoArgs;

/// Kills and reaps the sample whatever happens to the demo.
struct SampleGuard(Child);

impl Drop for SampleGuard {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Run the subcommand.
pub fn run(args: &DemoArgs) -> Result<(), Failure> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find my own executable: {e}"))?;
    let mut child = Command::new(&exe)
        .args(["sample-process", "--threads", "4", "--pattern-mib", "4"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the sample process {}: {e}", exe.display()))?;
    let stdout = child.stdout.take().ok_or("sample has no stdout")?;
    let mut guard = SampleGuard(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| format!("reading the sample's READY line: {e}"))?;
    if !line.starts_with("READY ") {
        return Err(format!("the sample process did not start (printed {line:?})").into());
    }
    let pid = guard.0.id();
    note(&format!(
        "coroner demo: started sample process {pid} ({})",
        line.trim()
    ));

    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("coroner-demo-{pid}")),
    };
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join(format!("core.{pid}"));
    let sink = Sink::create(&path, false).map_err(|e| describe(&e, Output::Nothing))?;
    let report = coroner_capture::capture_elf(pid, sink, &CaptureOptions::default())
        .map_err(|e| format!("capturing the sample: {}", describe(&e, Output::Nothing)))?;
    let dump_path = dir.join(format!("{pid}.dmp"));
    let sink = Sink::create(&dump_path, false).map_err(|e| describe(&e, Output::Nothing))?;
    let dump_report = coroner_capture::capture_minidump(
        pid,
        sink,
        &CaptureOptions::default(),
        coroner_capture::MemoryMode::Stacks,
    )
    .map_err(|e| {
        format!(
            "capturing the sample as a minidump: {}",
            describe(&e, Output::Nothing)
        )
    })?;
    note(&format!(
        "coroner demo: minidump of {}, {}",
        count(dump_report.threads, "thread"),
        size(dump_report.bytes_written)
    ));
    let still_running = matches!(guard.0.try_wait(), Ok(None));
    note(&format!(
        "coroner demo: captured {}, {}/{} mappings, {} on disk in {:.3} s (frozen {:.3} s); \
         sample still running: {}",
        count(report.threads, "thread"),
        report.mappings_dumped,
        report.mappings,
        size(report.bytes_allocated),
        report.wall.as_secs_f64(),
        report.frozen.as_secs_f64(),
        if still_running { "yes" } else { "NO" }
    ));
    drop(guard);

    print("\n")?;
    crate::inspect_cmd::print_file(&Input::open(&path)?, false)?;
    print("\n")?;
    crate::inspect_cmd::print_file(&Input::open(&dump_path)?, false)?;
    let dump_path = dump_path.canonicalize().unwrap_or(dump_path);
    let path: PathBuf = path.canonicalize().unwrap_or(path);
    print(&format!(
        "\nminidump:  {} (minidump-stackwalk --use-local-debuginfo, lldb -c)\n\
         core file: {}\n\
         open it:   gdb {} {} -ex 'thread apply all bt'\n\
         inspect:   {} inspect {}   (lists every mapping)\n\
         (the sample process has been stopped; delete {} when done)\n",
        dump_path.display(),
        path.display(),
        exe.display(),
        path.display(),
        exe.display(),
        path.display(),
        dir.display()
    ))?;
    if !still_running {
        return Err("the sample process died during the capture".into());
    }
    Ok(())
}
