//! What a truncated dump lacks, in the terms `inspect` and `convert` report:
//! how much of the file is missing, which memory, and which threads' stacks
//! are in that memory. The facts come from the format crates' readers
//! (core-format's and minidump-format's `Truncation`).

use std::ops::Range;

use coroner_minidump_format::read::MemoryLocation;

use crate::ranges::{merge, subtract};

/// A dump file shorter than its headers say (copied or written
/// incompletely: `head -c`, a full disk, a killed writer).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Truncation {
    /// Bytes in the file.
    pub file_size: u64,
    /// Bytes its headers describe.
    pub expected_size: u64,
    /// Memory the headers say is dumped but the file lacks, sorted and
    /// merged.
    pub missing_ranges: Vec<Range<u64>>,
    /// Threads whose stack pointer lies in that memory.
    pub threads: Vec<u32>,
}

impl Truncation {
    /// From an ELF core's truncation facts.
    pub(crate) fn from_core(t: &coroner_core_format::read::Truncation) -> Truncation {
        Truncation {
            file_size: t.file_len,
            expected_size: t.expected_len,
            missing_ranges: merge(t.segments.iter().map(|s| s.missing()).collect()),
            threads: Vec::new(),
        }
    }

    /// From a minidump's truncation facts and its memory `locations`: an
    /// address another range still holds is not missing.
    pub(crate) fn from_minidump(
        t: &coroner_minidump_format::read::Truncation,
        locations: &[MemoryLocation],
    ) -> Truncation {
        let missing = merge(t.ranges.iter().map(|r| r.missing()).collect());
        let present = merge(
            locations
                .iter()
                .map(|l| {
                    let held = l.size.min(t.file_len.saturating_sub(l.offset));
                    l.start..l.start.saturating_add(held)
                })
                .collect(),
        );
        Truncation {
            file_size: t.file_len,
            expected_size: t.expected_len,
            missing_ranges: subtract(missing, &present),
            threads: Vec::new(),
        }
    }

    /// Record which of `threads` (tid, stack pointer) have their stack
    /// pointer in missing memory.
    pub(crate) fn with_threads(
        mut self,
        threads: impl IntoIterator<Item = (u32, u64)>,
    ) -> Truncation {
        self.threads = threads
            .into_iter()
            .filter(|&(_, sp)| self.is_missing(sp))
            .map(|(tid, _)| tid)
            .collect();
        self
    }

    /// Bytes the file lacks.
    pub fn missing_bytes(&self) -> u64 {
        self.expected_size.saturating_sub(self.file_size)
    }

    /// Bytes of memory the file lacks.
    pub fn missing_memory(&self) -> u64 {
        self.missing_ranges
            .iter()
            .map(|r| r.end.saturating_sub(r.start))
            .sum()
    }

    /// Whether the memory at `addr` is missing.
    pub fn is_missing(&self, addr: u64) -> bool {
        let i = self.missing_ranges.partition_point(|r| r.end <= addr);
        self.missing_ranges
            .get(i)
            .is_some_and(|r| r.start <= addr && addr < r.end)
    }

    /// One sentence for an operator: what is missing and what it affects.
    pub fn describe(&self) -> String {
        let mut text = format!(
            "the file is truncated: it has {} of the {} bytes its headers describe ({} missing)",
            self.file_size,
            self.expected_size,
            self.missing_bytes()
        );
        if !self.missing_ranges.is_empty() {
            let shown: Vec<String> = self
                .missing_ranges
                .iter()
                .take(8)
                .map(|r| format!("{:#x}-{:#x}", r.start, r.end))
                .collect();
            let more = self.missing_ranges.len().saturating_sub(shown.len());
            text.push_str(&format!(
                "; {} bytes of memory in {} range{} are not in it: {}{}",
                self.missing_memory(),
                self.missing_ranges.len(),
                if self.missing_ranges.len() == 1 {
                    ""
                } else {
                    "s"
                },
                shown.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ));
        }
        if !self.threads.is_empty() {
            let tids: Vec<String> = self.threads.iter().map(u32::to_string).collect();
            text.push_str(&format!(
                "; the stacks of thread{} {} are in the missing memory",
                if tids.len() == 1 { "" } else { "s" },
                tids.join(", ")
            ));
        }
        text
    }
}

/// Add what a truncated core lacks to its summary: `core` may be parsed
/// from a prefix of the file (at least its headers), `file_size` is the
/// file's real size.
pub(crate) fn record_core(
    summary: &mut crate::inspect::Summary,
    core: &coroner_core_format::Core<'_>,
    file_size: u64,
) {
    let facts =
        coroner_core_format::read::Truncation::of(core.header(), core.program_headers(), file_size);
    if let Some(t) = facts {
        record(summary, Truncation::from_core(&t));
    }
}

/// Add what a truncated minidump lacks to its summary.
pub(crate) fn record_minidump(summary: &mut crate::inspect::Summary, file: &std::fs::File) {
    let Ok(dump) = coroner_minidump_format::read::MinidumpFile::open(file) else {
        return;
    };
    if let Some(t) = dump.truncation() {
        record(
            summary,
            Truncation::from_minidump(&t, &dump.memory_locations()),
        );
    }
}

fn record(summary: &mut crate::inspect::Summary, t: Truncation) {
    let t = t.with_threads(summary.threads.iter().map(|t| (t.tid, t.sp)));
    summary.warnings.push(t.describe());
    summary.truncation = Some(t);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_what_is_missing_and_whose_stack_it_holds() {
        let t = Truncation {
            file_size: 1000,
            expected_size: 5096,
            missing_ranges: vec![0x1000..0x2000, 0x5000..0x5100],
            threads: Vec::new(),
        }
        .with_threads([(7, 0x1800), (8, 0x3000), (9, 0x50ff)]);
        assert_eq!(t.threads, [7, 9]);
        assert_eq!(t.missing_memory(), 0x1100);
        let text = t.describe();
        assert!(text.contains("1000 of the 5096 bytes"), "{text}");
        assert!(text.contains("4096 missing"), "{text}");
        assert!(text.contains("0x1000-0x2000, 0x5000-0x5100"), "{text}");
        assert!(text.contains("threads 7, 9"), "{text}");
    }
}
