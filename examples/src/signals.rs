//! SIGINT, SIGTERM, SIGHUP and SIGQUIT during `capture` and `convert`.
//!
//! Left to their default action these signals kill coroner mid-write. The
//! kernel then resumes the target by itself (it was only `PTRACE_SEIZE`d)
//! and an unnamed output file vanishes with its descriptor, but where the
//! output had to be a hidden temporary file that file stays behind, and
//! the operator gets no word of what happened. So the first such signal
//! only records its number (signal-hook's flag handlers: async-signal-safe
//! and without `unsafe` here). The sink checks the flag on every write and
//! fails with `Stopped`; the capture unwinds as on any error — the target
//! is thawed, the partial file removed — and coroner exits with status
//! 128 + the signal number, as a shell reports a process killed by it.
//!
//! A second signal of the four ends coroner at once with the same status:
//! the way out when a write is blocked (a stalled pipe on `-o -`). The
//! kernel still resumes the target then.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

#[cfg(unix)]
use signal_hook::consts::signal::{SIGHUP, SIGQUIT};
use signal_hook::consts::signal::{SIGINT, SIGTERM};

/// The signals that stop a capture or a conversion cleanly (Windows has
/// only the first two).
const STOPPING: &[(i32, &str)] = &[
    (SIGINT, "SIGINT"),
    (SIGTERM, "SIGTERM"),
    #[cfg(unix)]
    (SIGHUP, "SIGHUP"),
    #[cfg(unix)]
    (SIGQUIT, "SIGQUIT"),
];

/// The number of the last stopping signal received, 0 before any.
static RECEIVED: OnceLock<Arc<AtomicUsize>> = OnceLock::new();

/// Install the handlers (once per process; later calls do nothing).
pub fn install() -> io::Result<()> {
    if RECEIVED.get().is_some() {
        return Ok(());
    }
    let received = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(AtomicBool::new(false));
    for &(signal, _) in STOPPING {
        let number = usize::try_from(signal).map_err(io::Error::other)?;
        // Registered first, so it sees `seen` as it was before this signal.
        signal_hook::flag::register_conditional_shutdown(signal, 128 + signal, seen.clone())?;
        signal_hook::flag::register(signal, seen.clone())?;
        signal_hook::flag::register_usize(signal, received.clone(), number)?;
    }
    let _ = RECEIVED.set(received);
    Ok(())
}

/// The flag to give a sink's `stop_when`: it holds the signal number once
/// one arrived. `None` when [`install`] was not called.
pub fn stop_flag() -> Option<Arc<AtomicUsize>> {
    RECEIVED.get().cloned()
}

/// The stopping signal received, if any: its number and name.
pub fn received() -> Option<(i32, &'static str)> {
    let number = RECEIVED.get()?.load(Ordering::SeqCst);
    STOPPING
        .iter()
        .copied()
        .find(|(signal, _)| usize::try_from(*signal).ok() == Some(number))
}

/// The exit status that reports `signal`: 128 + its number.
pub fn exit_status(signal: i32) -> u8 {
    u8::try_from(128 + signal).unwrap_or(1)
}
