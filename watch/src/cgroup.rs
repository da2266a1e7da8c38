//! Finding a process's memory cgroup (v2 or v1) and the processes of a
//! cgroup, through the mounts listed in `/proc/self/mounts`.

use std::path::{Path, PathBuf};

use coroner_proc_reader::parse::cgroup::CgroupEntry;
use coroner_proc_reader::parse::cgroup_files::{
    parse_cgroup_value, parse_memory_events, parse_pid_list, parse_pressure,
};

use crate::sample::CgroupMemory;

/// Where the cgroup hierarchies are mounted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CgroupMounts {
    /// The cgroup v2 (unified) hierarchy.
    pub v2: Option<PathBuf>,
    /// The cgroup v1 hierarchy with the memory controller.
    pub v1_memory: Option<PathBuf>,
    /// Every cgroup v1 hierarchy (for `--cgroup` paths given relative).
    pub v1_all: Vec<PathBuf>,
}

impl CgroupMounts {
    /// Read `/proc/self/mounts`.
    pub fn read() -> CgroupMounts {
        std::fs::read("/proc/self/mounts")
            .map(|m| CgroupMounts::parse(&m))
            .unwrap_or_default()
    }

    /// From the text of a `mounts` file (`dev dir type options …` lines).
    ///
    /// ```
    /// use coroner_watch::cgroup::CgroupMounts;
    /// let m = CgroupMounts::parse(b"cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n\
    ///     cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0\n");
    /// assert_eq!(m.v2.unwrap().to_str(), Some("/sys/fs/cgroup/unified"));
    /// assert_eq!(m.v1_memory.unwrap().to_str(), Some("/sys/fs/cgroup/memory"));
    /// ```
    pub fn parse(mounts: &[u8]) -> CgroupMounts {
        let mut out = CgroupMounts::default();
        for line in String::from_utf8_lossy(mounts).lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(dir), Some(kind), Some(options)) =
                (fields.get(1), fields.get(2), fields.get(3))
            else {
                continue;
            };
            let dir = PathBuf::from(dir.replace("\\040", " "));
            match *kind {
                "cgroup2" => out.v2 = out.v2.or(Some(dir)),
                "cgroup" => {
                    if options.split(',').any(|o| o == "memory") {
                        out.v1_memory = out.v1_memory.or(Some(dir.clone()));
                    }
                    out.v1_all.push(dir);
                }
                _ => {}
            }
        }
        out
    }

    /// The memory cgroup directory of a process with these `/proc/PID/cgroup`
    /// entries: cgroup v2 when its directory has `memory.current` (the
    /// memory controller is enabled there), else v1's memory hierarchy.
    pub fn memory_dir(&self, entries: &[CgroupEntry]) -> Option<MemoryCgroup> {
        let rel = |path: &[u8]| {
            let text = String::from_utf8_lossy(path).into_owned();
            PathBuf::from(text.trim_start_matches('/'))
        };
        if let (Some(root), Some(e)) = (&self.v2, entries.iter().find(|e| e.hierarchy == 0)) {
            let dir = root.join(rel(&e.path));
            if dir.join("memory.current").exists() {
                return Some(MemoryCgroup::V2(dir));
            }
        }
        let root = self.v1_memory.as_ref()?;
        let e = entries
            .iter()
            .find(|e| e.controllers.iter().any(|c| c == "memory"))?;
        Some(MemoryCgroup::V1(root.join(rel(&e.path))))
    }

    /// The directory of `--cgroup PATH`: PATH itself when it is a cgroup
    /// directory (has `cgroup.procs`), else PATH under the v2 root, then
    /// under each v1 hierarchy.
    pub fn resolve(&self, path: &Path) -> Option<PathBuf> {
        if path.join("cgroup.procs").exists() {
            return Some(path.to_path_buf());
        }
        let rel = path.strip_prefix("/").unwrap_or(path);
        self.v2
            .iter()
            .chain(self.v1_memory.iter())
            .chain(self.v1_all.iter())
            .map(|root| root.join(rel))
            .find(|dir| dir.join("cgroup.procs").exists())
    }
}

/// A memory cgroup directory, by version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum MemoryCgroup {
    /// cgroup v2: `memory.current`, `memory.max`, `memory.high`,
    /// `memory.events`, `memory.pressure`.
    V2(PathBuf),
    /// cgroup v1: `memory.usage_in_bytes`, `memory.limit_in_bytes`,
    /// `memory.oom_control`.
    V1(PathBuf),
}

impl MemoryCgroup {
    /// The directory.
    pub fn dir(&self) -> &Path {
        match self {
            MemoryCgroup::V2(d) | MemoryCgroup::V1(d) => d,
        }
    }

    /// Read usage, limit, events and pressure; `None` when the usage
    /// cannot be read (the cgroup is gone).
    pub fn read(&self) -> Option<CgroupMemory> {
        let value = |dir: &Path, name: &str| {
            std::fs::read(dir.join(name))
                .ok()
                .and_then(|d| parse_cgroup_value(&d).ok())
        };
        match self {
            MemoryCgroup::V2(dir) => {
                let usage = value(dir, "memory.current")??;
                let limit = [
                    value(dir, "memory.max").flatten(),
                    value(dir, "memory.high").flatten(),
                ]
                .into_iter()
                .flatten()
                .min();
                let mut c = CgroupMemory::new(usage, limit);
                if let Some(e) = std::fs::read(dir.join("memory.events"))
                    .ok()
                    .and_then(|d| parse_memory_events(&d).ok())
                {
                    c.events = e;
                }
                c.pressure = std::fs::read(dir.join("memory.pressure"))
                    .ok()
                    .and_then(|d| parse_pressure(&d).ok());
                Some(c)
            }
            MemoryCgroup::V1(dir) => {
                let usage = value(dir, "memory.usage_in_bytes")??;
                let limit = value(dir, "memory.limit_in_bytes").flatten();
                let mut c = CgroupMemory::new(usage, limit);
                if let Some(e) = std::fs::read(dir.join("memory.oom_control"))
                    .ok()
                    .and_then(|d| parse_memory_events(&d).ok())
                {
                    c.events = e;
                }
                Some(c)
            }
        }
    }
}

/// The pids in a cgroup directory (`cgroup.procs`); empty when unreadable.
pub fn cgroup_pids(dir: &Path) -> Vec<u32> {
    std::fs::read(dir.join("cgroup.procs"))
        .ok()
        .and_then(|d| parse_pid_list(&d).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use coroner_proc_reader::parse::cgroup::parse_cgroup;

    #[test]
    fn v2_is_used_where_its_memory_controller_is_on_else_v1() {
        let root = tempfile::tempdir().unwrap();
        let v2 = root.path().join("unified");
        let v1 = root.path().join("memory");
        std::fs::create_dir_all(v2.join("app")).unwrap();
        std::fs::create_dir_all(v1.join("app")).unwrap();
        let mounts = CgroupMounts {
            v2: Some(v2.clone()),
            v1_memory: Some(v1.clone()),
            v1_all: vec![v1.clone()],
        };
        let entries = parse_cgroup(b"5:memory:/app\n0::/app\n").unwrap();
        assert_eq!(
            mounts.memory_dir(&entries),
            Some(MemoryCgroup::V1(v1.join("app")))
        );
        std::fs::write(v1.join("app/memory.usage_in_bytes"), "4096\n").unwrap();
        std::fs::write(
            v1.join("app/memory.limit_in_bytes"),
            "9223372036854771712\n",
        )
        .unwrap();
        std::fs::write(
            v1.join("app/memory.oom_control"),
            "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
        )
        .unwrap();
        let c = MemoryCgroup::V1(v1.join("app")).read().unwrap();
        assert_eq!((c.usage, c.limit, c.events.oom_kill), (4096, None, 2));

        std::fs::write(v2.join("app/memory.current"), "1000\n").unwrap();
        std::fs::write(v2.join("app/memory.max"), "max\n").unwrap();
        std::fs::write(v2.join("app/memory.high"), "5000\n").unwrap();
        std::fs::write(
            v2.join("app/memory.events"),
            "low 0\nhigh 3\nmax 0\noom 0\noom_kill 0\n",
        )
        .unwrap();
        std::fs::write(
            v2.join("app/memory.pressure"),
            "some avg10=1.00 avg60=0.00 avg300=0.00 total=5\n",
        )
        .unwrap();
        let dir = mounts.memory_dir(&entries).unwrap();
        assert_eq!(dir, MemoryCgroup::V2(v2.join("app")));
        let c = dir.read().unwrap();
        assert_eq!((c.usage, c.limit, c.events.high), (1000, Some(5000), 3));
        assert_eq!(c.pressure.unwrap().some.avg10, 100);
    }

    #[test]
    fn cgroup_paths_resolve_absolute_or_under_a_hierarchy() {
        let root = tempfile::tempdir().unwrap();
        let v1 = root.path().join("memory");
        std::fs::create_dir_all(v1.join("svc")).unwrap();
        std::fs::write(v1.join("svc/cgroup.procs"), "3\n4\n").unwrap();
        let mounts = CgroupMounts {
            v2: None,
            v1_memory: Some(v1.clone()),
            v1_all: vec![v1.clone()],
        };
        assert_eq!(mounts.resolve(Path::new("/svc")), Some(v1.join("svc")));
        assert_eq!(mounts.resolve(&v1.join("svc")), Some(v1.join("svc")));
        assert_eq!(mounts.resolve(Path::new("/nope")), None);
        assert_eq!(cgroup_pids(&v1.join("svc")), [3, 4]);
    }
}
