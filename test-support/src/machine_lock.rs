//! A machine-wide lock around tests that change (or depend on) machine-wide
//! settings such as `/proc/sys/kernel/core_pattern` or `vm.max_map_count`.
//!
//! Several test binaries — of this worktree and of others on the same
//! machine — run at once. A test that installs a `core_pattern` handler would
//! steal the core of a process that another test crashes expecting the kernel
//! to write a plain `core` file. So:
//!
//! - tests that change a machine-wide setting hold [`MachineSettings::exclusive`]
//!   for as long as the setting differs from its normal value;
//! - tests that rely on the normal settings (a kernel-written core, see
//!   [`crate::kernel_core`]) hold [`MachineSettings::shared`] meanwhile.
//!
//! The lock is an `flock(2)` on [`LOCK_PATH`], so it covers every process on
//! the machine and is released by the kernel when a test process dies. Within
//! one process, `flock` on separately opened descriptors would let a thread
//! deadlock against its own process (or not exclude another thread in a way
//! that is easy to follow), so an in-process reader/writer lock is taken
//! first, and a thread that already holds the exclusive lock gets its shared
//! requests granted without waiting (a test that raises `vm.max_map_count`
//! and then asks the kernel for a core).

use std::cell::Cell;
use std::fs::{File, OpenOptions};
use std::path::Path;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The file every coroner test process locks. `/run/lock` is the FHS place for
/// lock files, world-writable and cleared at boot.
pub const LOCK_PATH: &str = "/run/lock/coroner-machine-settings.lock";

/// Orders this process's own threads before they reach the `flock`.
static IN_PROCESS: RwLock<()> = RwLock::new(());

thread_local! {
    /// Whether this thread holds the exclusive lock (so its shared requests
    /// are already satisfied).
    static HOLDS_EXCLUSIVE: Cell<bool> = const { Cell::new(false) };
}

/// A held machine-settings lock; released on drop (also when the holder
/// panics, and by the kernel when the process dies).
#[derive(Debug)]
#[must_use = "the lock is released when this guard is dropped"]
pub struct MachineSettings {
    held: Held,
}

#[derive(Debug)]
enum Held {
    Exclusive {
        _file: File,
        _in_process: RwLockWriteGuard<'static, ()>,
    },
    Shared {
        _file: File,
        _in_process: RwLockReadGuard<'static, ()>,
    },
    /// A shared request of a thread that holds the exclusive lock.
    Nested,
}

impl MachineSettings {
    /// Wait for the exclusive lock: no other test on the machine changes a
    /// machine-wide setting or relies on the normal ones until it is dropped.
    /// Panics when the lock file cannot be opened or locked (a test that
    /// goes on without it could break others).
    pub fn exclusive() -> MachineSettings {
        let in_process = IN_PROCESS.write().unwrap_or_else(|e| e.into_inner());
        let file = open_lock_file();
        file.lock()
            .unwrap_or_else(|e| panic!("flock(LOCK_EX) on {LOCK_PATH}: {e}"));
        HOLDS_EXCLUSIVE.with(|h| h.set(true));
        MachineSettings {
            held: Held::Exclusive {
                _file: file,
                _in_process: in_process,
            },
        }
    }

    /// Wait until no test changes a machine-wide setting, and keep it so
    /// until dropped. Many shared holders run at once.
    pub fn shared() -> MachineSettings {
        if HOLDS_EXCLUSIVE.with(Cell::get) {
            return MachineSettings { held: Held::Nested };
        }
        let in_process = IN_PROCESS.read().unwrap_or_else(|e| e.into_inner());
        let file = open_lock_file();
        file.lock_shared()
            .unwrap_or_else(|e| panic!("flock(LOCK_SH) on {LOCK_PATH}: {e}"));
        MachineSettings {
            held: Held::Shared {
                _file: file,
                _in_process: in_process,
            },
        }
    }
}

impl Drop for MachineSettings {
    fn drop(&mut self) {
        if matches!(self.held, Held::Exclusive { .. }) {
            HOLDS_EXCLUSIVE.with(|h| h.set(false));
        }
        // The file (and its flock) and the in-process guard drop next.
    }
}

fn open_lock_file() -> File {
    let path = Path::new(LOCK_PATH);
    // Anyone may create it and take it shared; 0666 so a test run as another
    // user can still open it (flock needs only an open descriptor).
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o666)
        .open(path)
        .unwrap_or_else(|e| panic!("open the machine-settings lock {LOCK_PATH}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn a_thread_holding_the_exclusive_lock_gets_shared_at_once_others_wait() {
        let exclusive = MachineSettings::exclusive();
        // Nested: would deadlock if it went to flock.
        let nested = MachineSettings::shared();
        assert!(matches!(nested.held, Held::Nested));
        drop(nested);

        let (tx, rx) = mpsc::channel();
        let other = std::thread::spawn(move || {
            let shared = MachineSettings::shared();
            tx.send(()).unwrap();
            drop(shared);
        });
        assert!(
            rx.recv_timeout(Duration::from_millis(200)).is_err(),
            "another thread got the shared lock while the exclusive one was held"
        );
        drop(exclusive);
        rx.recv_timeout(Duration::from_secs(30))
            .expect("the shared lock is granted once the exclusive one is dropped");
        other.join().unwrap();
    }

    #[test]
    fn another_process_waits_for_the_exclusive_lock() {
        let exclusive = MachineSettings::exclusive();
        // flock(1) (util-linux) with -n fails at once when the lock is taken.
        let status = std::process::Command::new("flock")
            .args(["-s", "-n", LOCK_PATH, "true"])
            .status()
            .expect("run flock(1) from util-linux");
        assert!(
            !status.success(),
            "another process took the shared lock during an exclusive hold"
        );
        drop(exclusive);
    }
}
