//! Where a module's files are: the path the dump records, under the
//! sysroot; its separate debug info in the debug directories.

use std::path::{Path, PathBuf};

/// Where to find the modules' files and their debug info.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// Prefix of every module path the dump records (the target's root
    /// filesystem copied to the analyst's machine, a container image …);
    /// `None` reads them where they are.
    pub sysroot: Option<PathBuf>,
    /// Directories of separate debug info, searched in order as
    /// `DIR/.build-id/xx/rest.debug` and by `.gnu_debuglink` name; empty
    /// means `/usr/lib/debug` (under the sysroot when one is given).
    pub debug_dirs: Vec<PathBuf>,
    /// Only this thread.
    pub thread: Option<u32>,
}

impl Options {
    /// Only `tid`.
    pub fn with_thread(mut self, tid: Option<u32>) -> Options {
        self.thread = tid;
        self
    }

    /// With this sysroot.
    pub fn with_sysroot(mut self, sysroot: Option<PathBuf>) -> Options {
        self.sysroot = sysroot;
        self
    }

    /// With these debug directories.
    pub fn with_debug_dirs(mut self, dirs: Vec<PathBuf>) -> Options {
        self.debug_dirs = dirs;
        self
    }

    /// Where the module the dump calls `path` is on this machine.
    pub(crate) fn module_path(&self, path: &str) -> PathBuf {
        under(self.sysroot.as_deref(), Path::new(path))
    }

    /// The debug directories to search.
    fn debug_dirs_or_default(&self) -> Vec<PathBuf> {
        if self.debug_dirs.is_empty() {
            vec![under(self.sysroot.as_deref(), Path::new("/usr/lib/debug"))]
        } else {
            self.debug_dirs.clone()
        }
    }

    /// Candidate separate debug files of a module, best first: by build-id,
    /// then by `.gnu_debuglink` name next to the module, in its `.debug/`
    /// and in each debug directory under the module's directory.
    pub(crate) fn debug_candidates(
        &self,
        build_id: Option<&[u8]>,
        module: &Path,
        debuglink: Option<&str>,
    ) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let dirs = self.debug_dirs_or_default();
        if let Some(id) = build_id.filter(|id| id.len() >= 2) {
            let hex = hex(id);
            let (head, rest) = hex.split_at(2);
            for dir in &dirs {
                out.push(
                    dir.join(".build-id")
                        .join(head)
                        .join(format!("{rest}.debug")),
                );
            }
        }
        if let (Some(link), Some(parent)) = (debuglink, module.parent()) {
            out.push(parent.join(link));
            out.push(parent.join(".debug").join(link));
            let relative = parent.strip_prefix("/").unwrap_or(parent);
            for dir in &dirs {
                out.push(dir.join(relative).join(link));
            }
        }
        out
    }
}

/// `path` under `root` (an absolute `path` is re-rooted there).
fn under(root: Option<&Path>, path: &Path) -> PathBuf {
    match root {
        Some(root) => root.join(path.strip_prefix("/").unwrap_or(path)),
        None => path.to_owned(),
    }
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_files_are_looked_up_by_build_id_then_by_debuglink() {
        let opts = Options::default().with_debug_dirs(vec![PathBuf::from("/dbg")]);
        let found = opts.debug_candidates(
            Some(&[0xab, 0xcd, 0xef]),
            Path::new("/usr/bin/prog"),
            Some("prog.debug"),
        );
        assert_eq!(
            found,
            [
                "/dbg/.build-id/ab/cdef.debug",
                "/usr/bin/prog.debug",
                "/usr/bin/.debug/prog.debug",
                "/dbg/usr/bin/prog.debug",
            ]
            .map(PathBuf::from)
        );
    }

    #[test]
    fn the_sysroot_prefixes_module_paths_and_the_default_debug_dir() {
        let opts = Options::default().with_sysroot(Some(PathBuf::from("/sysroot")));
        assert_eq!(
            opts.module_path("/lib/libc.so.6"),
            PathBuf::from("/sysroot/lib/libc.so.6")
        );
        assert_eq!(
            opts.debug_candidates(Some(&[1, 2]), Path::new("/x"), None),
            [PathBuf::from(
                "/sysroot/usr/lib/debug/.build-id/01/02.debug"
            )]
        );
    }
}
