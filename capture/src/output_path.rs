//! Which way a capture's output goes, chosen so that the target's pause is
//! the shortest that is safe.
//!
//! - [`OutputPath::PageCache`]: the dump is held in memory while the target
//!   is frozen ([`Sink::stage_in_memory`](crate::sink::Sink::stage_in_memory),
//!   an in-memory file allocated before the freeze) and written to disk
//!   after it is resumed. The pause is a memory copy; the price is memory
//!   as large as the dump's data, for the length of the capture.
//! - [`OutputPath::Direct`]: the dump goes to the disk with direct I/O
//!   while the target is frozen. The pause is the disk's write time; memory
//!   stays at two 1 MiB buffers.
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

use std::path::{Path, PathBuf};

/// Room left beyond twice the dump's size before the page cache is used.
const MARGIN: u64 = 256 << 20;

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
}

/// What the choice is made from, read from /proc and /sys/fs/cgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Facts {
    estimate: u64,
    available: Option<u64>,
    /// The tightest memory limit over coroner's cgroup and its ancestors:
    /// bytes left under it, and the cgroup and file that set it.
    cgroup_room: Option<(u64, String)>,
}

const MIB: u64 = 1 << 20;

/// Choose the output path for a capture of `pid` (see the module docs).
/// Facts that cannot be read count against the page cache.
pub fn choose(pid: u32) -> OutputChoice {
    let status = std::fs::read(format!("/proc/{pid}/status")).unwrap_or_default();
    let meminfo = std::fs::read("/proc/meminfo").unwrap_or_default();
    let facts = Facts {
        estimate: resident_estimate(&status).unwrap_or(u64::MAX),
        available: mem_available(&meminfo),
        cgroup_room: own_cgroup_room(Path::new("/sys/fs/cgroup")),
    };
    decide(&facts)
}

fn decide(f: &Facts) -> OutputChoice {
    let direct = |reason: String| OutputChoice {
        path: OutputPath::Direct,
        reason,
        estimate: f.estimate,
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
    }
}

/// A `Key:   123 kB` line's value in bytes.
fn kib_field(text: &[u8], key: &str) -> Option<u64> {
    text.split(|&b| b == b'\n').find_map(|line| {
        let rest = line.strip_prefix(key.as_bytes())?.strip_prefix(b":")?;
        let rest = std::str::from_utf8(rest).ok()?.trim();
        let kib: u64 = rest.strip_suffix("kB")?.trim().parse().ok()?;
        kib.checked_mul(1024)
    })
}

/// The dump's likely memory data from `/proc/<pid>/status`: resident
/// anonymous plus shared memory (file pages are mostly left out of a core
/// by the default filter), else all resident memory.
fn resident_estimate(status: &[u8]) -> Option<u64> {
    match (kib_field(status, "RssAnon"), kib_field(status, "RssShmem")) {
        (Some(a), Some(s)) => a.checked_add(s),
        _ => kib_field(status, "VmRSS"),
    }
}

fn mem_available(meminfo: &[u8]) -> Option<u64> {
    kib_field(meminfo, "MemAvailable")
}

/// Bytes left under the tightest `memory.max` / `memory.high` from
/// coroner's own cgroup (v2) up to the root under `root`, with which limit
/// it is; `None` when no limit is set (or cgroup v2 is not mounted there).
fn own_cgroup_room(root: &Path) -> Option<(u64, String)> {
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let rel = own.lines().find_map(|l| l.strip_prefix("0::"))?;
    tightest_limit(root, rel.trim())
}

fn tightest_limit(root: &Path, rel: &str) -> Option<(u64, String)> {
    let mut best: Option<(u64, String)> = None;
    let mut dir = PathBuf::from(rel.trim_start_matches('/'));
    loop {
        let here = root.join(&dir);
        let current = read_u64(&here.join("memory.current"));
        for limit_file in ["memory.max", "memory.high"] {
            let (Some(limit), Some(current)) = (read_u64(&here.join(limit_file)), current) else {
                continue;
            };
            let room = limit.saturating_sub(current);
            if best.as_ref().map_or(true, |(b, _)| room < *b) {
                best = Some((room, format!("{}/{limit_file}", here.display())));
            }
        }
        if !dir.pop() {
            break;
        }
    }
    best
}

/// A number from a cgroup file; `None` for "max", absent or unreadable.
fn read_u64(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

    #[test]
    fn estimate_prefers_anonymous_and_shared_resident_memory() {
        let status = b"Name:\tredis\nVmRSS:\t  900 kB\nRssAnon:\t  500 kB\nRssFile:\t 390 kB\nRssShmem:\t  10 kB\n";
        assert_eq!(resident_estimate(status), Some(510 * 1024));
        assert_eq!(resident_estimate(b"VmRSS:\t 900 kB\n"), Some(900 * 1024));
        assert_eq!(resident_estimate(b"Name:\tx\n"), None);
        assert_eq!(
            mem_available(b"MemTotal: 8 kB\nMemAvailable:    4 kB\n"),
            Some(4096)
        );
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
    fn the_tightest_limit_of_the_cgroup_and_its_ancestors_counts() {
        let root = tempfile::tempdir().unwrap();
        let leaf = root.path().join("a/b");
        std::fs::create_dir_all(&leaf).unwrap();
        let put = |dir: &Path, name: &str, v: &str| std::fs::write(dir.join(name), v).unwrap();
        put(root.path(), "memory.current", "100\n"); // the root has no limits
        put(&root.path().join("a"), "memory.current", "1000\n");
        put(&root.path().join("a"), "memory.max", "5000\n");
        put(&root.path().join("a"), "memory.high", "max\n");
        put(&leaf, "memory.current", "500\n");
        put(&leaf, "memory.max", "max\n");
        put(&leaf, "memory.high", "9000\n");
        let (room, what) = tightest_limit(root.path(), "/a/b").unwrap();
        assert_eq!(room, 4000);
        assert!(what.ends_with("a/memory.max"), "{what}");
        assert_eq!(tightest_limit(root.path(), "/"), None);
    }
}
