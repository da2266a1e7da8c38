//! How to capture ([`CaptureOptions`]) and what a capture did
//! ([`CaptureReport`]). Both are `#[non_exhaustive]`, so fields can be added
//! without breaking users: options are made with [`Default`] and the
//! `with_*` setters, reports are only read.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::progress::{Progress, ProgressFn};
use crate::select::Selection;

/// How to capture.
///
/// ```
/// use coroner_capture::{CaptureOptions, Phase, Selection};
/// let options = CaptureOptions::default()
///     .with_selection(Selection::default().with_all(true))
///     .with_buffer_size(1 << 20)
///     .with_progress(|p| {
///         if p.phase == Phase::Copying {
///             eprint!("\r{} of {} bytes", p.done, p.total);
///         }
///     });
/// assert_eq!(options.buffer_size, 1 << 20);
/// assert!(options.selection.all);
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct CaptureOptions {
    /// Which memory to dump.
    pub selection: Selection,
    /// Size of the one buffer memory is copied through (default 4 MiB).
    pub buffer_size: usize,
    /// Whether to dump a copy-on-write copy of the target instead of
    /// holding it frozen (`--snapshot`); Linux x86_64 only.
    #[cfg(target_os = "linux")]
    pub cow: crate::CowMode,
    /// Whether to read the target's private anonymous memory before
    /// freezing it and, frozen, only the pages written since (ELF cores;
    /// see [`CaptureOptions::with_pre_copy`]). Off by default.
    #[cfg(target_os = "linux")]
    pub pre_copy: bool,
    /// Called with the capture's [`Progress`] (see
    /// [`CaptureOptions::with_progress`]); `None`, the default, reports
    /// nothing.
    pub on_progress: Option<ProgressFn>,
}

impl Default for CaptureOptions {
    fn default() -> CaptureOptions {
        CaptureOptions {
            selection: Selection::default(),
            buffer_size: 4 << 20,
            #[cfg(target_os = "linux")]
            cow: crate::CowMode::default(),
            #[cfg(target_os = "linux")]
            pre_copy: false,
            on_progress: None,
        }
    }
}

impl fmt::Debug for CaptureOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("CaptureOptions");
        d.field("selection", &self.selection)
            .field("buffer_size", &self.buffer_size);
        #[cfg(target_os = "linux")]
        d.field("cow", &self.cow).field("pre_copy", &self.pre_copy);
        d.field(
            "on_progress",
            &self.on_progress.as_ref().map(|_| "Fn(Progress)"),
        )
        .finish()
    }
}

impl CaptureOptions {
    /// Dump the memory `selection` chooses (default: what the kernel would).
    #[must_use]
    pub fn with_selection(mut self, selection: Selection) -> CaptureOptions {
        self.selection = selection;
        self
    }

    /// Copy memory through a buffer of `bytes` (default 4 MiB; at least a
    /// page is used): the capturer's memory stays about this size whatever
    /// the target's.
    #[must_use]
    pub fn with_buffer_size(mut self, bytes: usize) -> CaptureOptions {
        self.buffer_size = bytes;
        self
    }

    /// Dump a copy-on-write copy of the target ([`CowMode::Prefer`] or
    /// [`CowMode::Require`]) instead of holding it frozen for the whole
    /// dump (default [`CowMode::Off`]).
    ///
    /// [`CowMode::Prefer`]: crate::CowMode::Prefer
    /// [`CowMode::Require`]: crate::CowMode::Require
    /// [`CowMode::Off`]: crate::CowMode::Off
    #[cfg(target_os = "linux")]
    #[must_use]
    pub fn with_cow(mut self, mode: crate::CowMode) -> CaptureOptions {
        self.cow = mode;
        self
    }

    /// Pre-copy (ELF cores, Linux x86_64 6.7+): read the target's private
    /// anonymous memory while it runs, tracking its writes with the
    /// kernel's asynchronous userfaultfd write protection, then freeze it
    /// and read again only the pages written since; the dump is written
    /// after the thaw when what had to be read frozen fits in memory. The
    /// pause then lasts as long as the target's writes need, not its size.
    /// Falls back to a plain freeze, saying why in the report, when the
    /// target cannot be tracked (seccomp, its own userfaultfd, pinned
    /// memory, no `CAP_SYS_ADMIN` for frame numbers, an older kernel).
    /// Ignored with a copy-on-write snapshot.
    #[cfg(target_os = "linux")]
    #[must_use]
    pub fn with_pre_copy(mut self, yes: bool) -> CaptureOptions {
        self.pre_copy = yes;
        self
    }

    /// Call `on_progress` as the memory is copied: at the start and end of
    /// each [`Phase`](crate::Phase) and each time a 256th of the memory (at
    /// least 1 MiB) has been copied, never per page. It runs on the
    /// capturing thread, sometimes while the target is frozen: it should
    /// return at once (update a progress bar, store a number).
    #[must_use]
    pub fn with_progress(
        mut self,
        on_progress: impl Fn(Progress) + Send + Sync + 'static,
    ) -> CaptureOptions {
        self.on_progress = Some(Arc::new(on_progress));
        self
    }
}

/// What a capture did.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CaptureReport {
    /// The process.
    pub pid: u32,
    /// Final path (`None` for a stream).
    pub path: Option<PathBuf>,
    /// Threads written.
    pub threads: usize,
    /// Mappings (each one has a program header).
    pub mappings: usize,
    /// Mappings with bytes in the dump.
    pub mappings_dumped: usize,
    /// Logical size of the output.
    pub bytes_written: u64,
    /// Bytes the output occupies on disk.
    pub bytes_allocated: u64,
    /// Bytes of target memory read.
    pub memory_bytes_read: u64,
    /// Wall time from start to the file being in place.
    pub wall: Duration,
    /// Time the target was stopped.
    pub frozen: Duration,
    /// Non-fatal problems (threads that vanished, unreadable registers …).
    pub warnings: Vec<String>,
    /// Whether the dump came from a copy-on-write copy, or why not.
    #[cfg(target_os = "linux")]
    pub copy: crate::CowReport,
    /// Whether memory read before the freeze went into the dump, or why not.
    #[cfg(target_os = "linux")]
    pub pre_copy: crate::PreCopyReport,
}
