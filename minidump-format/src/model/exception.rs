//! The Exception stream.

use super::Context;
use crate::raw;

/// The Exception stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exception {
    /// The thread that crashed (or was dumped).
    pub thread_id: u32,
    /// Signal number, or [`DUMP_REQUESTED`](crate::raw::DUMP_REQUESTED) for a live capture.
    pub code: u32,
    /// `si_code`.
    pub flags: u32,
    /// Chained record address (0).
    pub record: u64,
    /// Faulting address.
    pub address: u64,
    /// Up to 15 parameters.
    pub parameters: Vec<u64>,
    /// The thread's context at the exception.
    pub context: Option<Context>,
}

impl Exception {
    /// A "dump requested" exception for a live capture of `thread_id`.
    ///
    /// ```
    /// use coroner_minidump_format::model::Exception;
    /// assert_eq!(Exception::dump_requested(7).code, 0xffff_ffff);
    /// ```
    pub fn dump_requested(thread_id: u32) -> Exception {
        Exception {
            thread_id,
            code: raw::DUMP_REQUESTED,
            ..Exception::default()
        }
    }
}
