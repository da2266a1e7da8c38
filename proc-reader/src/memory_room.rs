//! How much memory there is room for: the machine's `MemAvailable` and the
//! tightest cgroup v2 memory limit over coroner's own cgroup and the cgroups
//! above it, which is where memory coroner allocates is charged.

use std::path::{Path, PathBuf};

use crate::parse::cgroup::parse_cgroup;
use crate::parse::meminfo::parse_meminfo;

/// Room for new memory, each part `None` when it cannot be read (or, for the
/// cgroup, when no limit is set or cgroup v2 is not mounted).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemoryRoom {
    /// `MemAvailable` of `/proc/meminfo`, in bytes.
    pub available: Option<u64>,
    /// The tightest `memory.max` / `memory.high` over this process's cgroup
    /// and its ancestors.
    pub cgroup: Option<CgroupRoom>,
}

/// Bytes left under one cgroup memory limit.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CgroupRoom {
    /// The limit minus the cgroup's `memory.current` (0 when over it).
    pub room: u64,
    /// The file that sets the limit (`…/memory.max` or `…/memory.high`).
    pub limit_file: PathBuf,
}

impl MemoryRoom {
    /// Read the room this process has, from `/proc/meminfo`,
    /// `/proc/self/cgroup` and the cgroup v2 files under `/sys/fs/cgroup`.
    ///
    /// ```
    /// let room = coroner_proc_reader::MemoryRoom::read();
    /// assert!(room.available.is_some());
    /// ```
    pub fn read() -> MemoryRoom {
        let available = std::fs::read("/proc/meminfo")
            .ok()
            .and_then(|m| parse_meminfo(&m).mem_available);
        let cgroup = std::fs::read("/proc/self/cgroup")
            .ok()
            .and_then(|c| parse_cgroup(&c).ok())
            .and_then(|entries| entries.into_iter().find(|e| e.hierarchy == 0))
            .and_then(|v2| tightest_cgroup_limit(Path::new("/sys/fs/cgroup"), &v2.path));
        MemoryRoom { available, cgroup }
    }
}

/// The tightest `memory.max` / `memory.high` from the cgroup `cgroup` (a
/// path as `/proc/PID/cgroup` gives it) up to the root of the cgroup v2
/// hierarchy mounted at `root`; `None` when none is set.
pub fn tightest_cgroup_limit(root: &Path, cgroup: &[u8]) -> Option<CgroupRoom> {
    let rel = String::from_utf8_lossy(cgroup);
    let mut dir = PathBuf::from(rel.trim().trim_start_matches('/'));
    let mut best: Option<CgroupRoom> = None;
    loop {
        let here = root.join(&dir);
        let current = read_limit(&here.join("memory.current"));
        for name in ["memory.max", "memory.high"] {
            let limit_file = here.join(name);
            let (Some(limit), Some(current)) = (read_limit(&limit_file), current) else {
                continue;
            };
            let room = limit.saturating_sub(current);
            if best.as_ref().map_or(true, |b| room < b.room) {
                best = Some(CgroupRoom { room, limit_file });
            }
        }
        if !dir.pop() {
            return best;
        }
    }
}

/// A number from a cgroup file; `None` for `max`, absent or unreadable.
fn read_limit(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tightest_limit_of_the_cgroup_and_its_ancestors_counts() {
        let root = tempfile::tempdir().unwrap();
        let a = root.path().join("a");
        let leaf = a.join("b");
        std::fs::create_dir_all(&leaf).unwrap();
        let put = |dir: &Path, name: &str, v: &str| std::fs::write(dir.join(name), v).unwrap();
        put(root.path(), "memory.current", "100\n"); // the root has no limits
        put(&a, "memory.current", "1000\n");
        put(&a, "memory.max", "5000\n");
        put(&a, "memory.high", "max\n");
        put(&leaf, "memory.current", "500\n");
        put(&leaf, "memory.max", "max\n");
        put(&leaf, "memory.high", "9000\n");
        let tight = tightest_cgroup_limit(root.path(), b"/a/b").unwrap();
        assert_eq!(tight.room, 4000);
        assert_eq!(tight.limit_file, a.join("memory.max"));
        assert_eq!(tightest_cgroup_limit(root.path(), b"/"), None);
    }
}
