//! How a writer streams memory: the tuning both format crates' writers take.

use crate::PAGE;

/// How [`Output::memory`](crate::Output::memory) streams memory and decides
/// holes; the same options for either format's writer.
///
/// ```
/// use coroner_dump_source::WriteOptions;
/// let options = WriteOptions::default().with_buffer_size(1 << 20);
/// assert_eq!(options.buffer_size, 1 << 20);
/// assert!(options.zero_pages_as_holes);
/// ```
///
/// Built from [`WriteOptions::default`] with the `with_*` methods: it is
/// `#[non_exhaustive]`, so that a later option is not a breaking change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriteOptions {
    /// Size of the one buffer memory is streamed through (and the largest
    /// `read_at` request). Default 4 MiB; at least one page is used, and no
    /// more than the largest range written needs.
    pub buffer_size: usize,
    /// Leave all-zero pages as holes (default `true`).
    pub zero_pages_as_holes: bool,
    /// Shortest run of zero bytes between data, within one buffer, that is
    /// left as a hole (default one page: every zero page is a hole). Shorter
    /// runs are written as zeros together with the data around them, which
    /// saves a seek and a write per run when zero and nonzero pages
    /// alternate. Runs at the start or end of a buffer are always holes.
    pub min_hole: u64,
    /// Largest range passed to
    /// [`MemorySource::present_ranges`](crate::MemorySource::present_ranges)
    /// at once (default 256 MiB), which bounds the ranges held in memory.
    pub hint_window: u64,
}

impl Default for WriteOptions {
    fn default() -> WriteOptions {
        WriteOptions {
            buffer_size: 4 << 20,
            zero_pages_as_holes: true,
            min_hole: PAGE,
            hint_window: 256 << 20,
        }
    }
}

impl WriteOptions {
    /// With a buffer of `bytes` (see [`WriteOptions::buffer_size`]).
    pub fn with_buffer_size(mut self, bytes: usize) -> WriteOptions {
        self.buffer_size = bytes;
        self
    }

    /// Whether all-zero pages become holes (see
    /// [`WriteOptions::zero_pages_as_holes`]).
    pub fn with_zero_pages_as_holes(mut self, yes: bool) -> WriteOptions {
        self.zero_pages_as_holes = yes;
        self
    }

    /// Shortest interior zero run left as a hole (see
    /// [`WriteOptions::min_hole`]).
    pub fn with_min_hole(mut self, bytes: u64) -> WriteOptions {
        self.min_hole = bytes;
        self
    }

    /// Largest range asked of `present_ranges` at once (see
    /// [`WriteOptions::hint_window`]).
    pub fn with_hint_window(mut self, bytes: u64) -> WriteOptions {
        self.hint_window = bytes;
        self
    }
}
