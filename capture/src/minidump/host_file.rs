//! Opening files of the converting host that a dump names (the mapped
//! objects of `NT_FILE`, for build-ids missing from the dump's memory).
//!
//! A dump is untrusted input: the paths in it are whatever its author
//! wrote. So a conversion looks on disk only under a [`Sysroot`] the user
//! gave (none by default), and every open — also of a live process's
//! `/proc/PID/map_files/…` entries — goes through [`open_regular`]: regular
//! files only, opened without blocking, so a FIFO, a device or a socket
//! named in a dump is never opened or waited on.

use std::fs::File;
use std::path::{Component, Path, PathBuf};

/// A directory standing for the root of the system a dump was taken on
/// (`/` for the converting host itself): a path `/usr/lib/libc.so.6` named
/// in a dump is looked for as `SYSROOT/usr/lib/libc.so.6`.
///
/// ```
/// use std::path::Path;
/// use coroner_capture::Sysroot;
/// let root = Sysroot::new("/srv/target-root");
/// assert_eq!(root.locate("/usr/lib/libc.so.6").as_deref(),
///            Some(Path::new("/srv/target-root/usr/lib/libc.so.6")));
/// // Relative paths and `..` cannot reach outside it.
/// assert_eq!(root.locate("../etc/shadow"), None);
/// assert_eq!(root.locate("/usr/../../etc/shadow"), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sysroot {
    root: PathBuf,
}

impl Sysroot {
    /// Look for dump paths under `root`.
    pub fn new(root: impl Into<PathBuf>) -> Sysroot {
        Sysroot { root: root.into() }
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the file the dump calls `path` would be: `None` unless `path`
    /// is absolute and free of `..` (the kernel writes canonical paths).
    pub fn locate(&self, path: &str) -> Option<PathBuf> {
        let path = Path::new(path);
        let mut parts = path.components();
        if parts.next() != Some(Component::RootDir) {
            return None;
        }
        let mut out = self.root.clone();
        for part in parts {
            match part {
                Component::Normal(p) => out.push(p),
                Component::CurDir => {}
                _ => return None,
            }
        }
        Some(out)
    }

    /// Open the regular file the dump calls `path`, if there is one.
    pub fn open(&self, path: &str) -> Option<File> {
        open_regular(&self.locate(path)?)
    }
}

/// Open `path` for reading if it is a regular file, never blocking and
/// never opening anything else: the type is checked before the open (so no
/// device or FIFO is opened) and again on the open file with `O_NONBLOCK`
/// (so a path swapped for a FIFO in between cannot make the open wait).
/// Symbolic links are followed (`/proc/PID/map_files/…` entries are links)
/// but must end at a regular file too.
pub fn open_regular(path: &Path) -> Option<File> {
    if !std::fs::metadata(path).ok()?.is_file() {
        return None;
    }
    let file = crate::os::open_read_nonblocking(path).ok()?;
    file.metadata().ok()?.is_file().then_some(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn mkfifo(path: &Path) {
        let status = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .unwrap();
        assert!(status.success());
    }

    #[test]
    fn only_regular_files_are_opened_and_nothing_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        mkfifo(&fifo);
        let started = Instant::now();
        assert!(open_regular(&fifo).is_none());
        assert!(open_regular(Path::new("/dev/null")).is_none());
        assert!(open_regular(dir.path()).is_none());
        let fifo_link = dir.path().join("fifo-link");
        std::os::unix::fs::symlink(&fifo, &fifo_link).unwrap();
        assert!(open_regular(&fifo_link).is_none());
        assert!(started.elapsed() < Duration::from_secs(1));

        let file = dir.path().join("file");
        std::fs::write(&file, b"\x7fELF").unwrap();
        assert!(open_regular(&file).is_some());
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert!(open_regular(&link).is_some());
    }

    #[test]
    fn a_sysroot_finds_files_under_it_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("usr/lib")).unwrap();
        std::fs::write(dir.path().join("usr/lib/libx.so"), b"x").unwrap();
        mkfifo(&dir.path().join("usr/lib/fifo"));
        let root = Sysroot::new(dir.path());
        assert!(root.open("/usr/lib/libx.so").is_some());
        assert!(root.open("/usr/lib/fifo").is_none());
        assert!(root.open("/usr/lib/missing").is_none());
        assert!(root.open("usr/lib/libx.so").is_none(), "relative");
        assert!(root.open("/usr/lib/../lib/libx.so").is_none(), "..");
    }
}
