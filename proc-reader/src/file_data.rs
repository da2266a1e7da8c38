//! Which pages of a file-backed mapping hold data in the file behind it,
//! found without touching the target: `SEEK_DATA` / `SEEK_HOLE` on the file
//! reached through `/proc/<pid>/map_files/`.
//!
//! This matters for shared memory. Shared anonymous mappings, memfds, SysV
//! and POSIX shared memory live in tmpfs files; a page another process
//! wrote is data even where the target itself never touched it (pagemap
//! shows it absent), and reading a page that was never written would make
//! the kernel allocate it. On tmpfs, `SEEK_DATA` reports exactly the pages
//! that exist (in memory or in swap); on other file systems, the file's
//! extents.

use std::ops::Range;
use std::os::fd::AsFd;

use crate::error::{Error, PermissionReason, Result};
use crate::process::{proc_path, Process};
use crate::sys;

impl Process {
    /// The parts of the mapping `start..end`, which maps its file from
    /// `file_offset`, whose file holds data there, as address ranges
    /// (page-granular on tmpfs). Needs CAP_SYS_ADMIN or
    /// CAP_CHECKPOINT_RESTORE besides ptrace access (the kernel's rule for
    /// `map_files`): without it, [`Error::PermissionDenied`] with
    /// [`PermissionReason::MissingCapCheckpointRestore`].
    ///
    /// ```no_run
    /// # fn main() -> Result<(), coroner_proc_reader::Error> {
    /// let p = coroner_proc_reader::Process::open(1234)?;
    /// for m in p.maps()?.iter().filter(|m| m.perms.shared) {
    ///     let data = p.mapping_file_data(m.start, m.end, m.offset)?;
    ///     println!("{:#x}-{:#x}: {} byte(s) of data", m.start, m.end,
    ///              data.iter().map(|r| r.end - r.start).sum::<u64>());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn mapping_file_data(
        &self,
        start: u64,
        end: u64,
        file_offset: u64,
    ) -> Result<Vec<Range<u64>>> {
        let name = format!("map_files/{start:x}-{end:x}");
        // `map_files` is only at the top of a process's directory: once the
        // main thread has exited, a live thread's own directory serves it.
        let opened = match self.address_space_thread() {
            None => self.open_file(&name, libc::O_RDONLY),
            Some(tid) => std::fs::File::open(proc_path(tid, &name))
                .map(std::os::fd::OwnedFd::from)
                .map_err(|e| self.classify(e, "open", &name)),
        };
        let fd = opened.map_err(|e| match e {
            Error::PermissionDenied {
                pid,
                path,
                op,
                source,
                ..
            } => Error::PermissionDenied {
                pid,
                path,
                op,
                reason: PermissionReason::MissingCapCheckpointRestore,
                source,
            },
            other => other,
        })?;
        let io_err = |source| Error::Io {
            pid: self.pid(),
            path: proc_path(self.pid(), &name),
            op: "lseek",
            source,
        };
        let len = end.saturating_sub(start);
        let file_end = file_offset.saturating_add(len);
        let mut out: Vec<Range<u64>> = Vec::new();
        let mut at = file_offset;
        while at < file_end {
            let Some(data) = sys::lseek(fd.as_fd(), at, libc::SEEK_DATA).map_err(io_err)? else {
                break;
            };
            if data >= file_end {
                break;
            }
            // A file always ends in a (virtual) hole, so this finds one.
            let hole = sys::lseek(fd.as_fd(), data, libc::SEEK_HOLE)
                .map_err(io_err)?
                .unwrap_or(file_end)
                .min(file_end);
            if hole <= data {
                break;
            }
            let a = start.saturating_add(data.saturating_sub(file_offset));
            let b = start.saturating_add(hole.saturating_sub(file_offset));
            match out.last_mut() {
                Some(last) if last.end >= a => last.end = last.end.max(b),
                _ => out.push(a..b),
            }
            at = hole;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shared anonymous mapping of this test process: pages written are
    /// data, the rest holes, exactly; a file mapping of a regular file is
    /// data where the file is (and nothing past its end).
    #[test]
    fn shared_memory_pages_and_file_extents() {
        use std::io::Write;
        let me = Process::open(std::process::id()).unwrap();
        let page = crate::page_size();
        let len = 16 * page;
        let map = SharedMap::new(len);
        map.write(3 * page, b"x");
        map.write(4 * page, b"y");
        map.write(10 * page, b"z");
        let start = map.addr();
        let data = me.mapping_file_data(start, start + len, 0).unwrap();
        assert_eq!(
            data,
            vec![
                start + 3 * page..start + 5 * page,
                start + 10 * page..start + 11 * page
            ]
        );

        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&vec![7u8; (2 * page) as usize]).unwrap();
        let fmap = SharedMap::of_file(&file, len);
        let s = fmap.addr();
        let data = me.mapping_file_data(s, s + len, 0).unwrap();
        assert_eq!(data, vec![s..s + 2 * page]);
    }

    /// A mapping made with `mmap(2)` for the test (through /proc, since the
    /// crate's only unsafe code is its sys module).
    struct SharedMap {
        memory: std::fs::File,
        addr: u64,
        len: u64,
    }

    impl SharedMap {
        fn new(len: u64) -> SharedMap {
            let (addr, memory) = crate::sys::test_mmap_shared(None, len);
            SharedMap { memory, addr, len }
        }
        fn of_file(file: &std::fs::File, len: u64) -> SharedMap {
            let (addr, memory) = crate::sys::test_mmap_shared(Some(file), len);
            SharedMap { memory, addr, len }
        }
        fn addr(&self) -> u64 {
            self.addr
        }
        fn write(&self, offset: u64, bytes: &[u8]) {
            use std::os::unix::fs::FileExt;
            self.memory.write_all_at(bytes, self.addr + offset).unwrap();
        }
    }

    impl Drop for SharedMap {
        fn drop(&mut self) {
            crate::sys::test_munmap(self.addr, self.len);
        }
    }
}
