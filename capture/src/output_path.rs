//! Which way a capture's output goes, chosen so that the target's pause is
//! the shortest that is safe.
//!
//! - [`OutputPath::PageCache`]: the dump is held in memory while the target
//!   is frozen ([`Sink::stage_in_memory`](crate::sink::Sink::stage_in_memory),
//!   an in-memory file allocated before the freeze) and written to disk
//!   after it is resumed. The pause is a memory copy; the price is memory
//!   as large as the dump's data, for the length of the capture.
//! - [`OutputPath::Direct`]: the dump goes to the disk with direct I/O by a
//!   writer thread while the target is frozen. How long the target waits
//!   for the disk depends on the write-behind allowed
//!   ([`OutputChoice::write_behind`], `write_behind.rs`): with none
//!   (`--direct`) the pause is the disk's write time and memory stays at
//!   two 1 MiB buffers; with some (the CLI's default) up to that many bytes
//!   of the dump wait in memory for the disk, the target is resumed once
//!   its memory is read, and the rest is written before the file is
//!   fsynced.
//!
//! The write-behind allowed is the smallest of the target's estimated
//! dump data, 1/8 of the available memory, 1/4 of the room under
//! coroner's cgroup limits, and [`WRITE_BEHIND_MAX`] (1 GiB): a bound on
//! coroner's memory whatever the target's size. The ring grows to it only
//! as far as the disk falls behind the reading.
//!
//! The page cache is chosen only when there is clearly room for the dump
//! (twice its estimated size plus a margin): in the machine's available
//! memory (`MemAvailable`), and under every memory limit (`memory.max`,
//! `memory.high`) of coroner's own cgroup and its ancestors, which is where
//! the memory is charged. When coroner runs inside the target's cgroup (a
//! container), those are the target's limits: its room is not taken.
//!
//! The kernel's dirty-page limits do not bear on this choice: the staged
//! memory is an in-memory file, which the kernel neither counts as dirty nor
//! throttles, and the disk write after the thaw uses direct I/O where the
//! file system allows it.

use coroner_proc_reader::parse::status::Status;
use coroner_proc_reader::{MemoryRoom, Process};

use crate::made_ahead::{sample_data, size_made_ahead, MadeAhead};

/// Room left beyond twice the dump's size before the page cache is used.
const MARGIN: u64 = 256 << 20;

/// The most memory the write-behind of the direct path may take, whatever
/// the target's size and the room: 1 GiB.
pub const WRITE_BEHIND_MAX: u64 = 1 << 30;

/// The two ways a dump can reach the disk; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutputPath {
    /// Held in memory while frozen, written after the thaw.
    PageCache,
    /// Written with direct I/O while frozen.
    Direct,
}

impl OutputPath {
    /// `"page-cache"` or `"direct"`, as the CLI's flags name them.
    pub fn name(self) -> &'static str {
        match self {
            OutputPath::PageCache => "page-cache",
            OutputPath::Direct => "direct",
        }
    }
}

/// A chosen output path and why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OutputChoice {
    /// The path.
    pub path: OutputPath,
    /// Why, in a sentence (figures in MiB).
    pub reason: String,
    /// Estimated bytes of memory data in the dump (the target's resident
    /// anonymous and shared memory): what to reserve for the page cache.
    pub estimate: u64,
    /// Bytes of the dump that may wait in memory for the disk on the
    /// direct path ([`Sink::write_behind`](crate::sink::Sink::write_behind));
    /// 0 when the facts could not be read.
    pub write_behind: u64,
    /// How [`OutputChoice::write_behind`] was sized, in a sentence.
    pub write_behind_reason: String,
}

impl OutputChoice {
    /// How much of [`OutputChoice::write_behind`] to make before the target
    /// `pid` is frozen, and why: what the freeze is expected to need, sized
    /// from a sample of the target's resident memory taken now (7–15 ms;
    /// see `made_ahead.rs`). For
    /// [`Sink::write_behind_made_ahead`](crate::sink::Sink::write_behind_made_ahead).
    /// Nothing without a write-behind or an estimate of the target's
    /// memory.
    pub fn made_ahead(&self, pid: u32) -> MadeAhead {
        if self.write_behind == 0 || self.estimate == u64::MAX {
            return MadeAhead {
                bytes: 0,
                reason: "nothing made before the freeze beyond the two buffers always made: \
                         no write-behind or no estimate of the target's memory"
                    .to_owned(),
            };
        }
        size_made_ahead(self.write_behind, self.estimate, sample_data(pid))
    }
}

/// What the choice is made from (proc-reader reads it).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Facts {
    estimate: u64,
    available: Option<u64>,
    /// The tightest memory limit over coroner's cgroup and its ancestors:
    /// bytes left under it, and the file that sets it.
    cgroup_room: Option<(u64, String)>,
}

const MIB: u64 = 1 << 20;

/// Choose the output path for a capture of `pid` (see the module docs).
/// Facts that cannot be read count against the page cache.
pub fn choose(pid: u32) -> OutputChoice {
    let status = Process::open(pid).and_then(|p| p.status()).ok();
    let room = MemoryRoom::read();
    let facts = Facts {
        estimate: status
            .as_ref()
            .and_then(resident_estimate)
            .unwrap_or(u64::MAX),
        available: room.available,
        cgroup_room: room
            .cgroup
            .map(|c| (c.room, c.limit_file.display().to_string())),
    };
    decide(&facts)
}

fn decide(f: &Facts) -> OutputChoice {
    let (write_behind, write_behind_reason) = write_behind(f);
    let direct = |reason: String| OutputChoice {
        path: OutputPath::Direct,
        reason,
        estimate: f.estimate,
        write_behind,
        write_behind_reason: write_behind_reason.clone(),
    };
    if f.estimate == u64::MAX {
        return direct("the target's resident memory could not be read".into());
    }
    let need = f.estimate.saturating_mul(2).saturating_add(MARGIN);
    let est = f.estimate / MIB;
    let Some(available) = f.available else {
        return direct("MemAvailable could not be read from /proc/meminfo".into());
    };
    if available < need {
        return direct(format!(
            "not clearly enough memory to hold the dump: {} MiB available, {} MiB wanted \
             (twice the target's {est} MiB of resident memory plus {} MiB)",
            available / MIB,
            need / MIB,
            MARGIN / MIB
        ));
    }
    let cgroup = match &f.cgroup_room {
        Some((room, what)) if *room < need => {
            return direct(format!(
                "not clearly enough room under the memory limit {what}: {} MiB left, {} MiB \
                 wanted (twice the target's {est} MiB of resident memory plus {} MiB)",
                room / MIB,
                need / MIB,
                MARGIN / MIB
            ));
        }
        Some((room, what)) => format!(", {} MiB left under {what}", room / MIB),
        None => ", no memory limit on coroner's cgroup".to_owned(),
    };
    OutputChoice {
        path: OutputPath::PageCache,
        reason: format!(
            "room for the target's {est} MiB of resident memory: {} MiB available{cgroup}",
            available / MIB
        ),
        estimate: f.estimate,
        write_behind,
        write_behind_reason,
    }
}

/// The write-behind for the direct path (see the module docs), and why.
fn write_behind(f: &Facts) -> (u64, String) {
    if f.estimate == u64::MAX {
        return (
            0,
            "no write-behind: the target's resident memory could not be read".into(),
        );
    }
    let Some(available) = f.available else {
        return (
            0,
            "no write-behind: MemAvailable could not be read from /proc/meminfo".into(),
        );
    };
    let mut size = f.estimate.min(available / 8).min(WRITE_BEHIND_MAX);
    let mut limits = format!(
        "the target's {} MiB of resident memory, 1/8 of the {} MiB available",
        f.estimate / MIB,
        available / MIB
    );
    if let Some((room, what)) = &f.cgroup_room {
        size = size.min(room / 4);
        limits.push_str(&format!(
            ", 1/4 of the {} MiB left under {what}",
            room / MIB
        ));
    }
    (
        size,
        format!(
            "up to {} MiB of the dump may wait in memory for the disk (the least of {limits} \
             and {} MiB)",
            size / MIB,
            WRITE_BEHIND_MAX / MIB
        ),
    )
}

/// The dump's likely memory data: resident anonymous plus shared memory
/// (file pages are mostly left out of a core by the default filter), else
/// all resident memory.
fn resident_estimate(status: &Status) -> Option<u64> {
    match (status.rss_anon, status.rss_shmem) {
        (Some(a), Some(s)) => a.checked_add(s),
        _ => status.vm_rss,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

    #[test]
    fn estimate_prefers_anonymous_and_shared_resident_memory() {
        let mut status = Status::default();
        assert_eq!(resident_estimate(&status), None);
        status.vm_rss = Some(900 << 10);
        assert_eq!(resident_estimate(&status), Some(900 << 10));
        status.rss_anon = Some(500 << 10);
        assert_eq!(resident_estimate(&status), Some(900 << 10), "needs both");
        status.rss_shmem = Some(10 << 10);
        assert_eq!(resident_estimate(&status), Some(510 << 10));
    }

    #[test]
    fn page_cache_only_with_clear_room_everywhere() {
        let facts = |available, cgroup: Option<u64>| Facts {
            estimate: GIB,
            available,
            cgroup_room: cgroup.map(|r| (r, "/sys/fs/cgroup/x/memory.max".to_owned())),
        };
        let c = decide(&facts(Some(20 * GIB), None));
        assert_eq!(c.path, OutputPath::PageCache, "{}", c.reason);
        assert!(c.reason.contains("20480 MiB available"), "{}", c.reason);
        // 2 GiB + margin is the bar.
        let c = decide(&facts(Some(2 * GIB + MARGIN - 1), None));
        assert_eq!(c.path, OutputPath::Direct);
        assert!(c.reason.contains("available"), "{}", c.reason);
        assert_eq!(
            decide(&facts(Some(2 * GIB + MARGIN), None)).path,
            OutputPath::PageCache
        );
        // A tight cgroup wins over plenty of machine memory.
        let c = decide(&facts(Some(20 * GIB), Some(GIB)));
        assert_eq!(c.path, OutputPath::Direct);
        assert!(c.reason.contains("x/memory.max"), "{}", c.reason);
        let c = decide(&facts(Some(20 * GIB), Some(8 * GIB)));
        assert_eq!(c.path, OutputPath::PageCache);
        assert!(c.reason.contains("8192 MiB left under"), "{}", c.reason);
        // Unknown facts count against the page cache.
        assert_eq!(decide(&facts(None, None)).path, OutputPath::Direct);
        let mut unknown = facts(Some(20 * GIB), None);
        unknown.estimate = u64::MAX;
        assert_eq!(decide(&unknown).path, OutputPath::Direct);
    }

    #[test]
    fn write_behind_is_the_least_of_the_dump_the_room_and_the_cap() {
        let facts = |estimate, available, cgroup: Option<u64>| Facts {
            estimate,
            available,
            cgroup_room: cgroup.map(|r| (r, "/sys/fs/cgroup/x/memory.max".to_owned())),
        };
        // A small target: all of it.
        let c = decide(&facts(300 * MIB, Some(20 * GIB), None));
        assert_eq!(c.write_behind, 300 * MIB);
        assert!(
            c.write_behind_reason.contains("up to 300 MiB"),
            "{}",
            c.write_behind_reason
        );
        // A large one on a large machine: the cap.
        let c = decide(&facts(50 * GIB, Some(200 * GIB), None));
        assert_eq!(c.write_behind, WRITE_BEHIND_MAX);
        // Little available memory: an eighth of it.
        assert_eq!(
            decide(&facts(GIB, Some(2 * GIB), None)).write_behind,
            256 * MIB
        );
        // A tight cgroup: a quarter of its room.
        let c = decide(&facts(GIB, Some(20 * GIB), Some(400 * MIB)));
        assert_eq!(c.write_behind, 100 * MIB);
        assert!(
            c.write_behind_reason.contains("x/memory.max"),
            "{}",
            c.write_behind_reason
        );
        // Unknown facts: none.
        assert_eq!(
            decide(&facts(u64::MAX, Some(20 * GIB), None)).write_behind,
            0
        );
        assert_eq!(decide(&facts(GIB, None, None)).write_behind, 0);
    }
}
