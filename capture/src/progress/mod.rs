//! How far a capture is, for a progress display: an optional callback in
//! [`CaptureOptions`](crate::CaptureOptions), called at a bounded rate.
//!
//! The copy loops count bytes with a reporter, which calls the
//! callback only when the count has moved by a step (a 256th of the total,
//! at least 1 MiB) and at the start and end of each phase: a few hundred
//! calls per capture whatever its size, none per page, and no call at all
//! without a callback. A callback runs on the capturing thread, some of
//! them while the target is frozen: it should return quickly (update a
//! progress bar, store a number), not block.

use std::sync::Arc;

/// What a capture is doing when it reports [`Progress`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    /// Copying the selected memory into the dump while the target is
    /// frozen.
    Copying,
    /// Copying the selected memory from a copy-on-write copy of the target
    /// ([`CowMode`](crate::CowMode)); the target runs meanwhile.
    CopyingFromSnapshot,
    /// Every byte is written; the dump is being flushed to disk and given
    /// its name (for a large dump this can take seconds). `done == total`.
    Finishing,
}

/// How far a capture is: bytes of the selected memory copied so far, out
/// of all it will copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// What the capture is doing.
    pub phase: Phase,
    /// Bytes of selected memory copied so far (never more than `total`).
    pub done: u64,
    /// Bytes of selected memory the dump will hold, known before the first
    /// one is copied (pages found empty are counted as copied).
    pub total: u64,
}

/// A progress callback (see [`CaptureOptions::with_progress`](crate::CaptureOptions::with_progress)).
/// Shared, so options holding one can be cloned.
pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

#[cfg(target_os = "linux")]
mod reporter;

#[cfg(target_os = "linux")]
pub(crate) use reporter::{finishing, Reporter};
