//! A summary of an ELF core file: process, threads, mappings, modules
//! (with build-ids read from the dumped memory) and totals.
//!
//! Works on cores written by coroner, by the kernel and by gdb's `gcore`.
//! [`Summary::from_file`] reads only the headers, the notes and the first
//! page of each module from the file, so summarising a multi-gigabyte core
//! costs a few hundred kilobytes of memory.

// Dump contents are untrusted: the same no-panic lint wall as the format crates.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::cast_possible_truncation,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )
)]

mod elf;

pub use crate::minidump::elf::build_id_in_file;
pub use elf::build_id_in_header_page;
use elf::summarise;

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use crate::os::FileExt;

use coroner_core_format::{raw, read, Core, ReadError};

/// Why a dump could not be summarised.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InspectError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The file is not a well-formed ELF core.
    #[error("{path} is not a readable ELF core file: {source}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong.
        #[source]
        source: ReadError,
    },
    /// The file starts like a minidump but is not a well-formed one.
    #[error("{path} is not a readable minidump: {source}")]
    Minidump {
        /// The file.
        path: String,
        /// What is wrong.
        #[source]
        source: coroner_minidump_format::ReadError,
    },
}

/// The process as the dump describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessSummary {
    /// Process id (`NT_PRPSINFO`, else the first thread's).
    pub pid: Option<u32>,
    /// Command name (`pr_fname`).
    pub name: Option<String>,
    /// Command line, arguments separated by spaces (`pr_psargs`, at most 80 bytes).
    pub args: Option<String>,
    /// The signal that caused the dump (`NT_SIGINFO`, else the first
    /// thread's `pr_cursig`); `None` for a live capture.
    pub signal: Option<i32>,
    /// Faulting address of that signal when it has one (SIGSEGV, SIGBUS …).
    pub fault_address: Option<u64>,
}

/// One thread.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreadSummary {
    /// Thread id.
    pub tid: u32,
    /// Thread name when known (ELF cores store only the process name; it is
    /// given for the main thread).
    pub name: Option<String>,
    /// Program counter.
    pub pc: u64,
    /// Stack pointer.
    pub sp: u64,
    /// `pr_cursig` of the thread.
    pub signal: i32,
    /// Whether this thread is the one that crashed (has a signal).
    pub crashed: bool,
}

/// One mapping (`PT_LOAD`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MappingSummary {
    /// Start address.
    pub start: u64,
    /// End address (exclusive).
    pub end: u64,
    /// `rwx` from `p_flags`.
    pub perms: String,
    /// File path from `NT_FILE`, when file-backed.
    pub path: Option<String>,
    /// Offset in that file.
    pub file_offset: Option<u64>,
    /// Bytes of the mapping in the dump (`p_filesz`).
    pub dumped: u64,
    /// Size of the mapping (`p_memsz`).
    pub total: u64,
}

/// A loaded ELF object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModuleSummary {
    /// Path of the file.
    pub path: String,
    /// Address its first mapping starts at.
    pub base: u64,
    /// End of its last mapping.
    pub end: u64,
    /// GNU build-id in hex, read from the ELF header page in the dump;
    /// `None` when that page is not in the dump or has no build-id note.
    pub build_id: Option<String>,
}

/// Totals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    /// Threads.
    pub threads: usize,
    /// Mappings.
    pub mappings: usize,
    /// Mappings with bytes in the dump.
    pub mappings_dumped: usize,
    /// Sum of `p_filesz`.
    pub bytes_dumped: u64,
    /// Sum of `p_memsz`.
    pub bytes_mapped: u64,
    /// Modules.
    pub modules: usize,
    /// Modules with a build-id.
    pub modules_with_build_id: usize,
    /// Size of the file.
    pub file_size: u64,
    /// Bytes the file occupies on disk (`None` when not from a file).
    pub file_allocated: Option<u64>,
}

/// Everything `coroner inspect` shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// `"elf-core"` or `"minidump"`.
    pub format: &'static str,
    /// `"x86_64"`, `"aarch64"` or `e_machine` in decimal.
    pub machine: String,
    /// The process.
    pub process: ProcessSummary,
    /// Threads in file order (the first is the current / crashing one).
    pub threads: Vec<ThreadSummary>,
    /// Mappings in file order.
    pub mappings: Vec<MappingSummary>,
    /// ELF objects found through `NT_FILE` entries at file offset 0.
    pub modules: Vec<ModuleSummary>,
    /// Totals.
    pub totals: Totals,
    /// What in the dump is implausible or could not be read, in words: the
    /// figures above leave it out or show it as said here (never a wrapped
    /// value).
    pub warnings: Vec<String>,
    /// Set when the file is shorter than its headers say: how much is
    /// missing, which memory, which threads' stacks (also in `warnings`).
    pub truncation: Option<crate::truncated::Truncation>,
}

/// Sum `values`; on overflow the total is `u64::MAX` and a warning saying
/// so (naming `what`) is added to `warnings`.
pub(crate) fn checked_total(
    values: impl IntoIterator<Item = u64>,
    what: &str,
    warnings: &mut Vec<String>,
) -> u64 {
    let total = values
        .into_iter()
        .try_fold(0u64, |sum, v| sum.checked_add(v));
    total.unwrap_or_else(|| {
        warnings.push(format!(
            "{what} add up to more than 2^64 bytes, which no address space holds: the \
             dump's sizes are corrupt (shown as {})",
            u64::MAX
        ));
        u64::MAX
    })
}

impl Summary {
    /// Fill `totals` from the threads, mappings and modules read so far;
    /// the byte sums and the file size are each format's own.
    pub(crate) fn count_totals(&mut self, bytes_dumped: u64, bytes_mapped: u64, file_size: u64) {
        self.totals = Totals {
            threads: self.threads.len(),
            mappings: self.mappings.len(),
            mappings_dumped: self.mappings.iter().filter(|m| m.dumped > 0).count(),
            bytes_dumped,
            bytes_mapped,
            modules: self.modules.len(),
            modules_with_build_id: self.modules.iter().filter(|m| m.build_id.is_some()).count(),
            file_size,
            file_allocated: None,
        };
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Read `len` bytes at `offset` of the dump file.
type ReadAt<'a> = dyn FnMut(u64, usize) -> Option<Vec<u8>> + 'a;

impl Summary {
    /// Summarise the core file at `path`, reading only what is needed.
    pub fn from_file(path: &Path) -> Result<Summary, InspectError> {
        let shown = path.display().to_string();
        let io_err = |source| InspectError::Io {
            path: shown.clone(),
            source,
        };
        let mut file = File::open(path).map_err(io_err)?;
        let md = file.metadata().map_err(io_err)?;
        // Headers and notes come first in every core writer's layout: read
        // a prefix that holds the program header table and the PT_NOTE.
        let mut prefix = Vec::new();
        (&mut file)
            .take(64 << 10)
            .read_to_end(&mut prefix)
            .map_err(io_err)?;
        if prefix.starts_with(b"MDMP") {
            // Minidumps keep metadata anywhere in the file: read all of it
            // but the memory.
            let data = crate::minidump::without_memory::read_without_memory(&file, md.len())
                .map_err(io_err)?;
            let mut s = crate::minidump::inspect::summarise(&data).map_err(|source| {
                InspectError::Minidump {
                    path: shown.clone(),
                    source,
                }
            })?;
            s.totals.file_allocated = Some(crate::os::allocated_bytes(&md));
            crate::truncated::record_minidump(&mut s, &file);
            return Ok(s);
        }
        let format_err = |source| InspectError::Format {
            path: shown.clone(),
            source,
        };
        let header = read::read_header(&prefix).map_err(format_err)?;
        // With 65,535 or more segments the count is in section header 0,
        // which the kernel writes after the memory: read it where it is.
        let section_header_0 = read::section_header_0_offset(&header).and_then(|at| {
            let mut sh = [0u8; raw::SHDR_SIZE];
            file.read_exact_at(&mut sh, at).ok().map(|()| sh)
        });
        let phnum = read::program_header_count(&header, section_header_0.as_ref().map(|b| &b[..]))
            .map_err(format_err)?;
        // Then the program header table, then every note.
        let limit = md.len().min(256 << 20);
        let mut needed = read::program_header_table_end(&header, phnum).unwrap_or(u64::MAX);
        loop {
            if needed > prefix.len() as u64 && needed <= limit {
                prefix.resize(usize::try_from(needed).unwrap_or(usize::MAX), 0);
                file.read_exact_at(&mut prefix, 0).map_err(io_err)?;
            }
            let core = read::parse_with_phnum(&prefix, phnum).map_err(format_err)?;
            let end = read::metadata_end(&core);
            if end <= prefix.len() as u64 || end > limit {
                break;
            }
            needed = end;
        }
        let core = read::parse_with_phnum(&prefix, phnum).map_err(format_err)?;
        let mut read_at = |offset: u64, len: usize| {
            let mut buf = vec![0u8; len];
            file.read_exact_at(&mut buf, offset).ok().map(|()| buf)
        };
        let mut s = summarise(core, &mut read_at).map_err(format_err)?;
        s.totals.file_size = md.len();
        s.totals.file_allocated = Some(crate::os::allocated_bytes(&md));
        crate::truncated::record_core(&mut s, &core, md.len());
        Ok(s)
    }

    /// Summarise a minidump held in memory.
    pub fn from_minidump_bytes(data: &[u8]) -> Result<Summary, coroner_minidump_format::ReadError> {
        crate::minidump::inspect::summarise(data)
    }

    /// Summarise a core held in memory.
    pub fn from_bytes(data: &[u8]) -> Result<Summary, ReadError> {
        let mut read_at = |offset: u64, len: usize| {
            let start = usize::try_from(offset).ok()?;
            data.get(start..start.checked_add(len)?).map(<[u8]>::to_vec)
        };
        let core = coroner_core_format::parse(data)?;
        let mut s = summarise(core, &mut read_at)?;
        s.totals.file_size = data.len() as u64;
        crate::truncated::record_core(&mut s, &core, data.len() as u64);
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_build_id_of_this_test_binary() {
        let exe = std::fs::read("/proc/self/exe").unwrap();
        let page = &exe[..4096.min(exe.len())];
        // Rust test binaries are linked with a build-id on Linux by default;
        // compare with the section the linker wrote.
        if let Some(id) = build_id_in_header_page(page) {
            assert!(id.len() >= 8, "{id:?}");
        }
        // The C test target's 20-byte id: tests/build_ids.rs (it needs the
        // unpublished coroner-test-support, so it stays out of the package).
    }

    #[test]
    fn garbage_has_no_build_id() {
        assert_eq!(build_id_in_header_page(b""), None);
        assert_eq!(build_id_in_header_page(b"\x7fELF\x02\x01"), None);
        let mut page = vec![0u8; 4096];
        page[..4].copy_from_slice(b"\x7fELF");
        page[4] = 2;
        page[5] = 1;
        page[0x20] = 0x40;
        page[0x36] = 56;
        page[0x38] = 0xff;
        page[0x39] = 0xff;
        assert_eq!(build_id_in_header_page(&page), None);
    }
}
