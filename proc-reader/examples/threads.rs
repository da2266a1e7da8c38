//! Freeze a process briefly and print its threads, the way a sampling
//! profiler or a debugger would use this crate on its own:
//!
//! `cargo run -p coroner-proc-reader --example threads -- PID`

use std::process::ExitCode;

use coroner_proc_reader::{Process, Result};

fn run(pid: u32) -> Result<()> {
    let process = Process::open(pid)?;
    let status = process.status()?;
    let maps = process.maps()?;
    let memory = process.memory()?;
    let frozen = process.freeze()?;
    println!(
        "{} ({}) {} threads",
        pid,
        String::from_utf8_lossy(&status.name),
        frozen.threads().len()
    );
    for t in frozen.threads() {
        let (pc, sp) = (t.regs.pc(), t.regs.sp());
        let code = maps
            .iter()
            .find(|m| m.contains(pc))
            .map(|m| String::from_utf8_lossy(&m.path).into_owned());
        // The word at the top of the stack, read while the thread cannot move.
        let mut top = [0u8; 8];
        let top = memory
            .read_at(sp, &mut top)
            .ok()
            .filter(|&n| n == 8)
            .map(|_| u64::from_ne_bytes(top));
        println!(
            "  {:>7} {:<16} {:?} pc={pc:#x} sp={sp:#x} [sp]={} in {}",
            t.tid,
            String::from_utf8_lossy(&t.name),
            t.stop,
            top.map_or("?".to_owned(), |w| format!("{w:#x}")),
            code.as_deref().unwrap_or("?")
        );
    }
    let thawed = frozen.thaw()?;
    println!("held for {:?}", thawed.frozen_for);
    Ok(())
}

fn main() -> ExitCode {
    let Some(pid) = std::env::args().nth(1).and_then(|a| a.parse().ok()) else {
        eprintln!("usage: threads PID");
        return ExitCode::from(2);
    };
    match run(pid) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
