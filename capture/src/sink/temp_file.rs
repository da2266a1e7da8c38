//! The file a dump is written to until it is complete: an unnamed
//! `O_TMPFILE` inode, or a hidden name beside the destination.

use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use coroner_core_format::write::Lent;

use super::{parent_dir, SinkError};
use crate::direct::DirectWriter;
use crate::os::{self, fd_path};
use crate::staging::Staging;

/// The file a dump is written to until it is complete.
pub(super) struct TempFile {
    pub(super) file: File,
    /// `None` for an unnamed `O_TMPFILE` inode (freed by the kernel with its
    /// last descriptor); else the hidden name, removed on drop.
    pub(super) name: Option<PathBuf>,
    /// Seeks not yet turned into a position change on the file.
    pub(super) pending_hole: u64,
    /// Direct I/O writer, when the filesystem supports `O_DIRECT`.
    pub(super) direct: Option<DirectWriter>,
    /// In-memory staging (see `staging.rs`): the stream goes there until
    /// [`TempFile::complete`] writes it to the file.
    pub(super) staging: Option<Staging>,
}

/// A hidden name for the dump beside the destination.
fn hidden_name(dir: &Path, name: &std::ffi::OsStr) -> PathBuf {
    static TMP_COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".coroner-{}-{n}.tmp", std::process::id()));
    dir.join(tmp_name)
}

impl TempFile {
    /// An unnamed file in `dir`, if the kernel and the file system support
    /// `O_TMPFILE` and `/proc/self/fd` is there to link it by later.
    pub(super) fn unnamed(dir: &Path) -> io::Result<TempFile> {
        let file = os::create_unnamed(dir)?;
        std::fs::metadata(fd_path(&file))?;
        Ok(TempFile {
            file,
            name: None,
            pending_hole: 0,
            direct: None,
            staging: None,
        })
    }

    /// A new hidden file beside `dest` (`name` is its file name).
    pub(super) fn named(dir: &Path, name: &std::ffi::OsStr) -> Result<TempFile, SinkError> {
        let mut last_err = None;
        for _ in 0..16 {
            let tmp = hidden_name(dir, name);
            let opened = os::create_new_private(&tmp);
            match opened {
                Ok(file) => {
                    return Ok(TempFile {
                        file,
                        name: Some(tmp),
                        pending_hole: 0,
                        direct: None,
                        staging: None,
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_err = Some((tmp, e)),
                Err(source) => {
                    return Err(SinkError::CreateTemp {
                        dir: dir.to_owned(),
                        source,
                    })
                }
            }
        }
        let (path, source) =
            last_err.unwrap_or_else(|| (dir.to_owned(), io::Error::other("no attempt made")));
        Err(SinkError::Io {
            what: "create temporary file",
            path,
            source,
        })
    }

    /// What to call the file in messages.
    pub(super) fn display_path(&self) -> PathBuf {
        self.name.clone().unwrap_or_else(|| fd_path(&self.file))
    }

    /// Make the mode exactly 0600 (the umask can only remove bits from it,
    /// but be explicit) and, if asked, open a second descriptor with
    /// `O_DIRECT` for the bulk of the data (filesystems without it, such as
    /// tmpfs, use the first).
    pub(super) fn prepare(&mut self, direct_io: bool) -> Result<(), SinkError> {
        os::restrict_to_owner(&self.file).map_err(|source| SinkError::Io {
            what: "chmod",
            path: self.display_path(),
            source,
        })?;
        if direct_io {
            // The unnamed file is reopened through its /proc magic link,
            // which must be followed; the named one never through a link.
            let (path, follow_links) = match &self.name {
                Some(name) => (name.clone(), false),
                None => (fd_path(&self.file), true),
            };
            self.direct =
                os::open_direct(&path, follow_links).and_then(|f| DirectWriter::new(f).ok());
        }
        Ok(())
    }

    /// Let up to `bytes` of the dump wait in memory for the disk (see
    /// `write_behind.rs`), `ahead` of them made now; the bytes the ring
    /// may hold, 0 without direct I/O.
    pub(super) fn write_behind(&mut self, bytes: u64, ahead: u64) -> io::Result<u64> {
        match &mut self.direct {
            Some(d) => d.write_behind(bytes, ahead),
            None => Ok(0),
        }
    }

    /// See [`DirectWriter::limit_write_behind`](crate::direct::DirectWriter::limit_write_behind).
    #[cfg(target_os = "linux")]
    pub(super) fn limit_write_behind(&mut self, bytes: u64) {
        if let Some(d) = &mut self.direct {
            d.limit_write_behind(bytes);
        }
    }

    pub(super) fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(s) = &mut self.staging {
            s.write(buf)?;
            return Ok(buf.len());
        }
        self.write_to_file(buf)
    }

    pub(super) fn write_to_file(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(d) = &mut self.direct {
            d.write(buf)?;
            return Ok(buf.len());
        }
        if self.pending_hole > 0 {
            let off = i64::try_from(self.pending_hole)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "hole too large"))?;
            self.file.seek(SeekFrom::Current(off))?;
            self.pending_hole = 0;
        }
        self.file.write(buf)
    }

    /// Memory for the next bytes of the stream, at most `max` (see
    /// [`coroner_core_format::write::Sink::lend`]): the staging's or the
    /// direct writer's; `None` through the page cache.
    pub(super) fn lend(&mut self, max: usize) -> io::Result<Option<&mut [u8]>> {
        if let Some(s) = &mut self.staging {
            return s.lend(max).map(Some);
        }
        match &mut self.direct {
            Some(d) => d.lend(max).map(Some),
            None => Ok(None),
        }
    }

    /// What the memory [`TempFile::lend`] gave turned out to hold.
    pub(super) fn commit_lent(&mut self, parts: &[Lent]) -> io::Result<()> {
        if let Some(s) = &mut self.staging {
            return s.commit_lent(parts);
        }
        match &mut self.direct {
            Some(d) => d.commit_lent(parts),
            None => Err(io::Error::other("no memory was lent")),
        }
    }

    pub(super) fn hole(&mut self, len: u64) -> io::Result<()> {
        if let Some(s) = &mut self.staging {
            return s.hole(len);
        }
        self.hole_in_file(len)
    }

    pub(super) fn hole_in_file(&mut self, len: u64) -> io::Result<()> {
        if let Some(d) = &mut self.direct {
            return d.hole(len);
        }
        self.pending_hole = self
            .pending_hole
            .checked_add(len)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "hole overflows"))?;
        Ok(())
    }

    /// Write out what is staged, give the file its `total` length (a
    /// trailing hole still counts), fsync it when `durable`, and return the
    /// bytes it occupies on disk.
    pub(super) fn complete(
        &mut self,
        total: u64,
        durable: bool,
        stop: &dyn Fn() -> io::Result<()>,
    ) -> Result<u64, SinkError> {
        let path = self.display_path();
        let io_err = |what: &'static str| {
            let path = path.clone();
            move |source| SinkError::Io { what, path, source }
        };
        if let Some(staging) = self.staging.take() {
            let this = std::cell::RefCell::new(&mut *self);
            staging
                .replay(
                    &mut |mut b| {
                        while !b.is_empty() {
                            match this.borrow_mut().write_to_file(b)? {
                                0 => return Err(io::ErrorKind::WriteZero.into()),
                                n => b = b.get(n..).unwrap_or_default(),
                            }
                        }
                        Ok(())
                    },
                    &mut |n| this.borrow_mut().hole_in_file(n),
                    stop,
                )
                .map_err(|source| match source.downcast::<SinkError>() {
                    Ok(stopped) => stopped,
                    Err(source) => io_err("write")(source),
                })?;
        }
        if let Some(mut d) = self.direct.take() {
            d.finish(stop)
                .map_err(|source| match source.downcast::<SinkError>() {
                    Ok(stopped) => stopped,
                    Err(source) => io_err("write")(source),
                })?;
        }
        // Only when the length is off: ext4 starts a journal transaction on
        // every truncate, even one that keeps the size (measured 0.15–15 ms).
        let len = self.file.metadata().map_err(io_err("stat"))?.len();
        if len != total {
            self.file.set_len(total).map_err(io_err("set length of"))?;
        }
        if durable {
            self.file.sync_all().map_err(io_err("fsync"))?;
        }
        Ok(os::allocated_bytes(
            &self.file.metadata().map_err(io_err("stat"))?,
        ))
    }

    /// Give the complete file the name `dest` (never replacing anything):
    /// link the unnamed inode, or link the hidden name and drop it.
    pub(super) fn link_to(&mut self, dest: &Path) -> io::Result<()> {
        match &self.name {
            None => os::link_unnamed(&self.file, dest),
            Some(name) => std::fs::hard_link(name, dest),
        }
    }

    /// Move the complete file to `dest`, replacing what is there. An unnamed
    /// file is first linked under a hidden name, so the replacement is one
    /// atomic rename either way.
    pub(super) fn rename_to(&mut self, dest: &Path) -> Result<(), SinkError> {
        if self.name.is_none() {
            let dir = parent_dir(dest);
            let file_name = dest
                .file_name()
                .unwrap_or_else(|| std::ffi::OsStr::new("dump"));
            let mut tries = 0;
            loop {
                let tmp = hidden_name(&dir, file_name);
                match self.link_to(&tmp) {
                    Ok(()) => {
                        self.name = Some(tmp);
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists && tries < 16 => tries += 1,
                    Err(source) => {
                        return Err(SinkError::Io {
                            what: "link temporary file",
                            path: tmp,
                            source,
                        })
                    }
                }
            }
        }
        let name = self.name.clone().unwrap_or_default();
        std::fs::rename(&name, dest).map_err(|source| SinkError::Io {
            what: "rename to",
            path: dest.to_owned(),
            source,
        })?;
        // Renamed away: nothing left to remove on drop.
        self.name = None;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        // Stop the writer thread before the file goes.
        drop(self.direct.take());
        if let Some(name) = self.name.take() {
            let _ = std::fs::remove_file(name);
        }
    }
}
