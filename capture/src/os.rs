//! The few file operations whose spelling differs between operating systems,
//! so that reading, inspecting and converting dumps builds on any of them.
//!
//! Unix (Linux, macOS) has positioned reads and writes, file modes,
//! `O_NOFOLLOW` and `statvfs`; Windows has positioned reads and writes under
//! other names and none of the rest. Unnamed files (`O_TMPFILE`, linked by
//! `/proc/self/fd`) and direct I/O (`O_DIRECT`) are Linux's only; elsewhere
//! the sink falls back to a hidden named file through the page cache.

use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// Positioned reads and writes: `std::os::unix::fs::FileExt` on Unix, the
/// same methods over `seek_read`/`seek_write` on Windows.
#[cfg(unix)]
pub(crate) use std::os::unix::fs::FileExt;

/// Positioned reads and writes, as `std::os::unix::fs::FileExt` names them.
/// On Windows `seek_read`/`seek_write` also move the file's cursor, which
/// nothing here relies on.
#[cfg(windows)]
pub(crate) trait FileExt {
    /// Fill `buf` from `offset`, or fail with `UnexpectedEof`.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    /// Write all of `buf` at `offset`.
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;
}

#[cfg(windows)]
impl FileExt for File {
    fn read_exact_at(&self, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
        use std::os::windows::fs::FileExt as _;
        while !buf.is_empty() {
            match self.seek_read(buf, offset) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => {
                    buf = &mut buf[n..];
                    offset += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn write_all_at(&self, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
        use std::os::windows::fs::FileExt as _;
        while !buf.is_empty() {
            match self.seek_write(buf, offset) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    buf = &buf[n..];
                    offset += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// Bytes a file occupies on disk (less than its length when it is sparse).
/// Windows does not say without another call, so there it is the length.
pub(crate) fn allocated_bytes(md: &Metadata) -> u64 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        md.blocks().saturating_mul(512)
    }
    #[cfg(not(unix))]
    {
        md.len()
    }
}

/// Create `path`, which must not exist, for writing, readable by its owner
/// only (mode 0600) and never through a symbolic link (`O_NOFOLLOW`) on Unix.
/// On Windows `create_new` also refuses an existing link; the file gets the
/// directory's default permissions.
pub(crate) fn create_new_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    options.open(path)
}

/// An unnamed file (`O_TMPFILE`) in `dir`, readable (a spill file is read
/// back) and writable, mode 0600; it only gets a name by
/// [`link_unnamed`]. Fails with `Unsupported` off Linux.
pub(crate) fn create_unnamed(dir: &Path) -> io::Result<File> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        OpenOptions::new()
            .read(true)
            .write(true)
            .mode(0o600)
            .custom_flags(libc::O_TMPFILE)
            .open(dir)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = dir;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "unnamed files (O_TMPFILE) are Linux-only",
        ))
    }
}

/// `/proc/self/fd/N`: the path through which an unnamed file is reopened
/// and linked (and named in messages). Only Linux has such files; elsewhere
/// this is a placeholder for messages.
pub(crate) fn fd_path(file: &File) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()))
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        PathBuf::from("<unnamed file>")
    }
}

/// Give the unnamed `file` the name `dest`, failing if `dest` exists
/// (`linkat(2)` of its [`fd_path`] with `AT_SYMLINK_FOLLOW`).
pub(crate) fn link_unnamed(file: &File, dest: &Path) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        rustix::fs::linkat(
            rustix::fs::CWD,
            fd_path(file),
            rustix::fs::CWD,
            dest,
            rustix::fs::AtFlags::SYMLINK_FOLLOW,
        )
        .map_err(io::Error::from)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (file, dest);
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "unnamed files (O_TMPFILE) are Linux-only",
        ))
    }
}

/// Bytes an unprivileged writer may still use in the file system holding
/// `dir` (`statvfs`: `f_bavail × f_frsize`); `Unsupported` on Windows.
pub(crate) fn free_space(dir: &Path) -> io::Result<u64> {
    #[cfg(unix)]
    {
        let st = rustix::fs::statvfs(dir)?;
        Ok(st.f_bavail.saturating_mul(st.f_frsize))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "free space is not measured on this OS",
        ))
    }
}

/// Open `path` for reading without waiting (`O_NONBLOCK`, so a FIFO does
/// not block the open) and without making a terminal ours (`O_NOCTTY`).
/// Windows has neither FIFOs at file paths nor controlling terminals: a
/// plain open.
pub(crate) fn open_read_nonblocking(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC);
    }
    options.open(path)
}

/// Make `file` readable and writable by its owner only (the umask can only
/// have removed bits from 0600, but be explicit). Nothing to do on Windows.
pub(crate) fn restrict_to_owner(file: &File) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        Ok(())
    }
}

/// A second descriptor on the existing `path` with `O_DIRECT` (Linux), or
/// `None` where the file system or the OS has no direct I/O. A symbolic
/// link at `path` is followed only if `follow_links` (an unnamed file is
/// reopened through its `/proc` magic link; a named one never through a
/// link).
pub(crate) fn open_direct(path: &Path, follow_links: bool) -> Option<File> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let nofollow = if follow_links { 0 } else { libc::O_NOFOLLOW };
        OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_DIRECT | nofollow)
            .open(path)
            .ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (path, follow_links);
        None
    }
}
