//! Which memory of each mapping goes into a dump.
//!
//! [`kernel_dump_size`] mirrors the Linux kernel's `vma_dump_size()`
//! (`fs/coredump.c`) as a pure function over a [`MappingDesc`] and a
//! `coredump_filter` mask, so a live capture selects the same bytes the kernel
//! would have written had the process crashed. [`Selection`] adds what the
//! operator asked for on top: another mask (`--filter`), everything readable
//! (`--all`) and exclusions (`--exclude`).
//!
//! What user space cannot see exactly, and how it is approximated:
//!
//! - `vma->anon_vma` (the mapping has had private pages written, "ever
//!   COWed"): taken as `Anonymous + Swap > 0` in smaps. A mapping whose anonymous
//!   pages were all dropped again (`MADV_DONTNEED`) still has an `anon_vma` in
//!   the kernel; we then dump nothing where the kernel dumps holes, which
//!   holds the same bytes.
//! - `i_nlink == 0` of a shared mapping's file: the path ends in ` (deleted)`
//!   or names the shmem backing of anonymous shared memory (`/dev/zero`,
//!   `/SYSV…`, `/memfd:…`).
//! - DAX mappings are not visible in smaps; they are treated like ordinary
//!   file mappings.
//! - "Special" mappings the kernel always dumps (`[vdso]`, `[vvar]`,
//!   `[vvar_vclock]`, `[vsyscall]`, `[uprobes]`) are recognised by name.

// The decisions serve live capture, which is Linux-only; elsewhere only the
// option types (`Selection`, `Exclude`, `CoredumpFilter`) are used.
#![cfg_attr(not(target_os = "linux"), allow(dead_code))]

mod exclude;
mod kernel;
#[cfg(test)]
mod tests;

/// The `coredump_filter` mask, typed (proc-reader parses it from
/// `/proc/<pid>/coredump_filter`); re-exported so a caller of
/// [`Selection`] needs no other crate.
pub use coroner_proc_reader::CoredumpFilter;
pub use exclude::{Exclude, ExcludeParseError};
pub use kernel::{kernel_dump_size, KernelDump, MappingDesc};

/// Why a mapping is (not) dumped, for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The kernel's rules under the filter in use.
    Kernel,
    /// `--all` took every readable mapping.
    All,
    /// `--all`, but the mapping is not readable.
    Unreadable,
    /// An `--exclude` rule matched.
    Excluded,
}

/// The decision for one mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// What to dump.
    pub dump: KernelDump,
    /// Why.
    pub reason: Reason,
}

/// What the operator asked to dump: by default what the kernel would dump
/// under the target's own `coredump_filter`.
///
/// ```
/// use coroner_capture::{parse_filter, Exclude, Selection};
/// let selection = Selection::default()
///     .with_filter(parse_filter("0x3f"))
///     .with_exclude(vec![Exclude::parse("*/huge-cache")?]);
/// assert_eq!(selection.filter.map(|f| f.bits()), Some(0x3f));
/// assert!(!selection.all);
/// # Ok::<(), coroner_capture::ExcludeParseError>(())
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Selection {
    /// A `coredump_filter` mask overriding the target's own; `None` uses the target's.
    pub filter: Option<CoredumpFilter>,
    /// Every readable mapping, MADV_DONTDUMP and filtered-out ones included.
    pub all: bool,
    /// Mappings never dumped, whatever else says.
    pub exclude: Vec<Exclude>,
}

impl Selection {
    /// Use the `coredump_filter` mask `filter` instead of the target's own
    /// (`None`, the default: the target's).
    #[must_use]
    pub fn with_filter(mut self, filter: Option<CoredumpFilter>) -> Selection {
        self.filter = filter;
        self
    }

    /// Dump every readable mapping, `MADV_DONTDUMP` and filtered-out ones
    /// included (`--all`; default off).
    #[must_use]
    pub fn with_all(mut self, all: bool) -> Selection {
        self.all = all;
        self
    }

    /// Never dump a byte of the mappings `exclude` matches, whatever else
    /// says (`--exclude`; default none).
    #[must_use]
    pub fn with_exclude(mut self, exclude: Vec<Exclude>) -> Selection {
        self.exclude = exclude;
        self
    }

    /// The decision for `m`, given the target's own `coredump_filter`.
    pub(crate) fn decide(&self, m: &MappingDesc<'_>, target_filter: CoredumpFilter) -> Decision {
        if self.exclude.iter().any(|e| e.matches(m)) {
            return Decision {
                dump: KernelDump::Nothing,
                reason: Reason::Excluded,
            };
        }
        if self.all {
            let readable = m.read || m.is_always_dumped();
            return if readable {
                Decision {
                    dump: KernelDump::Whole,
                    reason: Reason::All,
                }
            } else {
                Decision {
                    dump: KernelDump::Nothing,
                    reason: Reason::Unreadable,
                }
            };
        }
        let filter = self.filter.unwrap_or(target_filter);
        Decision {
            dump: kernel_dump_size(m, filter),
            reason: Reason::Kernel,
        }
    }
}

/// Parse a `coredump_filter` value as `/proc/pid/coredump_filter` shows it
/// and `--filter` takes it: hex, `0x` optional (proc-reader's parser, so
/// the two agree). Unknown bits are kept: see [`CoredumpFilter::from_bits`]
/// to refuse them.
pub fn parse_filter(s: &str) -> Option<CoredumpFilter> {
    coroner_proc_reader::parse::coredump_filter::parse_coredump_filter(s.as_bytes()).ok()
}
