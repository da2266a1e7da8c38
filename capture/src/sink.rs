//! Where a dump goes: an atomic, private, sparse file, or a stream.
//!
//! A [`Sink`] for a path writes a file in the destination's directory that
//! has no name until it is complete: an unnamed `O_TMPFILE` inode, mode
//! 0600, with holes turned into seeks so it is sparse. [`Sink::finish`]
//! fsyncs it and gives it its name: with `linkat(2)` of `/proc/self/fd/N`
//! when the destination must not be overwritten (fails atomically if it
//! exists), or linked under a hidden temporary name and renamed over the
//! destination under `force`. The destination path itself is never opened,
//! so a symlink there is never followed; it is refused up front.
//!
//! Because the data has no name while it is written, whatever stops the
//! writer — an error, a panic, a signal, even SIGKILL or a crash — leaves
//! nothing behind: the kernel frees an unnamed inode with its last
//! descriptor. Where the file system or the kernel has no `O_TMPFILE`
//! (NFS, vfat, some FUSE and overlay file systems) or `/proc` is not
//! mounted, the data goes to a hidden `.<name>.coroner-<pid>-<n>.tmp`
//! opened `O_CREAT|O_EXCL|O_NOFOLLOW`, which is removed on error, panic and
//! [`Sink::stop_when`] stops, but stays behind if the process is killed
//! with SIGKILL (see the README for how to clean it).
//!
//! Data goes to the file with `O_DIRECT` where the filesystem allows it:
//! two small aligned staging buffers and a writer thread, so the disk works
//! while the target is being read and the page cache does not grow by the
//! size of the dump (see `direct.rs`); elsewhere it goes through the page
//! cache ([`Sink::create_buffered`] forces that). [`Sink::stage_in_memory`]
//! holds the whole stream in memory allocated ahead instead, and writes it
//! to the file in [`Sink::finish`] (see `staging.rs` and
//! [`crate::output_path`]).
//!
//! A [`Sink`] over a stream (stdout, a pipe, a compressor) writes holes as
//! zeros. [`Sink::spill`] puts an unnamed file in front of a stream: the
//! dump is written to disk at disk speed, and copied to the stream only in
//! [`Sink::finish`], which the captures call after the target is resumed,
//! so a slow reader does not keep the target stopped.

use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::direct::DirectWriter;
use crate::os::{self, fd_path, FileExt};
use crate::staging::Staging;

/// Why the output could not be created or completed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// The destination exists and `force` was not given.
    #[error("{path} already exists")]
    Exists {
        /// The destination.
        path: PathBuf,
    },
    /// The destination is a symbolic link.
    #[error("{path} is a symbolic link; a dump is never written through one")]
    Symlink {
        /// The destination.
        path: PathBuf,
    },
    /// The destination is a directory or other non-file.
    #[error("{path} is not a regular file")]
    NotAFile {
        /// The destination.
        path: PathBuf,
    },
    /// The temporary file could not be created in the destination's directory.
    #[error("cannot create a file in {dir}: {source}")]
    CreateTemp {
        /// The directory.
        dir: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// An I/O error on a named file.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done ("create", "write", "fsync", "rename" …).
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The flag given to [`Sink::stop_when`] was set before the output was
    /// complete; a file output was removed, a stream holds a partial dump.
    #[error("stopped before the output was complete (stop code {code})")]
    Stopped {
        /// The value the flag held (the CLI stores the signal number).
        code: usize,
    },
    /// [`Sink::spill`] needs a file system with unnamed temporary files.
    #[error("cannot spill into {dir}: {source}; give a directory on a local file system (ext4, xfs, btrfs, tmpfs) or stream directly")]
    NoSpill {
        /// The directory.
        dir: PathBuf,
        /// Why `O_TMPFILE` failed there.
        #[source]
        source: io::Error,
    },
}

/// What a finished sink produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkReport {
    /// The final path, `None` for a stream.
    pub path: Option<PathBuf>,
    /// Logical size of the output (data + holes).
    pub bytes_written: u64,
    /// Bytes the file occupies on disk (`st_blocks * 512`); for a stream, the
    /// bytes written.
    pub bytes_allocated: u64,
}

/// The file a dump is written to until it is complete.
struct TempFile {
    file: File,
    /// `None` for an unnamed `O_TMPFILE` inode (freed by the kernel with its
    /// last descriptor); else the hidden name, removed on drop.
    name: Option<PathBuf>,
    /// Seeks not yet turned into a position change on the file.
    pending_hole: u64,
    /// Direct I/O writer, when the filesystem supports `O_DIRECT`.
    direct: Option<DirectWriter>,
    /// In-memory staging (see `staging.rs`): the stream goes there until
    /// [`TempFile::complete`] writes it to the file.
    staging: Option<Staging>,
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
    fn unnamed(dir: &Path) -> io::Result<TempFile> {
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
    fn named(dir: &Path, name: &std::ffi::OsStr) -> Result<TempFile, SinkError> {
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
    fn display_path(&self) -> PathBuf {
        self.name.clone().unwrap_or_else(|| fd_path(&self.file))
    }

    /// Make the mode exactly 0600 (the umask can only remove bits from it,
    /// but be explicit) and, if asked, open a second descriptor with
    /// `O_DIRECT` for the bulk of the data (filesystems without it, such as
    /// tmpfs, use the first).
    fn prepare(&mut self, direct_io: bool) -> Result<(), SinkError> {
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

    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(s) = &mut self.staging {
            s.write(buf)?;
            return Ok(buf.len());
        }
        self.write_to_file(buf)
    }

    fn write_to_file(&mut self, buf: &[u8]) -> io::Result<usize> {
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

    fn hole(&mut self, len: u64) -> io::Result<()> {
        if let Some(s) = &mut self.staging {
            return s.hole(len);
        }
        self.hole_in_file(len)
    }

    fn hole_in_file(&mut self, len: u64) -> io::Result<()> {
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
    fn complete(
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
            d.finish().map_err(io_err("write"))?;
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
    fn link_to(&mut self, dest: &Path) -> io::Result<()> {
        match &self.name {
            None => os::link_unnamed(&self.file, dest),
            Some(name) => std::fs::hard_link(name, dest),
        }
    }

    /// Move the complete file to `dest`, replacing what is there. An unnamed
    /// file is first linked under a hidden name, so the replacement is one
    /// atomic rename either way.
    fn rename_to(&mut self, dest: &Path) -> Result<(), SinkError> {
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

struct FileOut {
    temp: TempFile,
    dest: PathBuf,
    force: bool,
}

enum Out {
    File(FileOut),
    /// A file first, copied to the stream by `finish`.
    Spill {
        temp: TempFile,
        dir: PathBuf,
        stream: Box<dyn Write>,
    },
    Stream(Box<dyn Write>),
    Done,
}

/// An output for a dump; see the module docs.
pub struct Sink {
    out: Out,
    position: u64,
    stop: Option<Arc<AtomicUsize>>,
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.out {
            Out::File(fo) => format!("file {}", fo.dest.display()),
            Out::Spill { dir, .. } => format!("stream spilled in {}", dir.display()),
            Out::Stream(_) => "stream".to_owned(),
            Out::Done => "done".to_owned(),
        };
        f.debug_struct("Sink")
            .field("out", &kind)
            .field("position", &self.position)
            .finish()
    }
}

static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];

/// The directory of `dest` (`.` for a bare file name).
fn parent_dir(dest: &Path) -> PathBuf {
    match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// Bytes an unprivileged writer may still use in the file system holding
/// `dir` (`statvfs`: `f_bavail × f_frsize`).
pub fn free_space(dir: &Path) -> io::Result<u64> {
    os::free_space(dir)
}

impl Sink {
    /// Prepare an atomic file output for `dest`; nothing appears at `dest`
    /// before [`Sink::finish`]. Data is written with direct I/O where the
    /// filesystem supports it (see [`Sink::create_buffered`]).
    pub fn create(dest: &Path, force: bool) -> Result<Sink, SinkError> {
        Sink::create_with(dest, force, true, true)
    }

    /// Like [`Sink::create`], but always through the page cache.
    pub fn create_buffered(dest: &Path, force: bool) -> Result<Sink, SinkError> {
        Sink::create_with(dest, force, false, true)
    }

    /// `unnamed`: try `O_TMPFILE` first (tests turn it off to cover the
    /// fallback).
    fn create_with(
        dest: &Path,
        force: bool,
        direct_io: bool,
        unnamed: bool,
    ) -> Result<Sink, SinkError> {
        check_destination(dest, force)?;
        let name = dest.file_name().ok_or_else(|| SinkError::NotAFile {
            path: dest.to_owned(),
        })?;
        let dir = parent_dir(dest);
        // Without O_TMPFILE (EOPNOTSUPP on the file system, EISDIR or
        // EINVAL on old kernels) or /proc: the hidden name.
        let unnamed = if unnamed {
            TempFile::unnamed(&dir).ok()
        } else {
            None
        };
        let mut temp = match unnamed {
            Some(t) => t,
            None => TempFile::named(&dir, name)?,
        };
        temp.prepare(direct_io)?;
        Ok(Sink::over(Out::File(FileOut {
            temp,
            dest: dest.to_owned(),
            force,
        })))
    }

    fn over(out: Out) -> Sink {
        Sink {
            out,
            position: 0,
            stop: None,
        }
    }

    /// An output over any stream; holes are written as zeros.
    pub fn stream(w: impl Write + 'static) -> Sink {
        Sink::over(Out::Stream(Box::new(w)))
    }

    /// An output over a stream that goes to an unnamed file in `dir` first
    /// and is copied to `w` by [`Sink::finish`] (after the target is
    /// resumed, in the captures). The file has no name, so nothing of it
    /// remains however coroner stops. It takes as much space in `dir` as
    /// the dump has data (holes are free); check with [`free_space`].
    /// `direct_io` as for [`Sink::create`].
    pub fn spill(w: impl Write + 'static, dir: &Path, direct_io: bool) -> Result<Sink, SinkError> {
        let mut temp = TempFile::unnamed(dir).map_err(|source| SinkError::NoSpill {
            dir: dir.to_owned(),
            source,
        })?;
        temp.prepare(direct_io)?;
        Ok(Sink::over(Out::Spill {
            temp,
            dir: dir.to_owned(),
            stream: Box::new(w),
        }))
    }

    /// Hold the dump in memory until [`Sink::finish`], which writes it to
    /// the file: the target, resumed before `finish`, waits only for a
    /// memory copy. `reserve` bytes (about the data the dump will hold) are
    /// allocated and touched now, before the target is frozen; more is
    /// allocated as needed. Only for a file output (`create`,
    /// `create_buffered`); the memory is freed by `finish` or on drop.
    /// See `staging.rs` for why.
    pub fn stage_in_memory(&mut self, reserve: u64) -> Result<(), SinkError> {
        let Out::File(fo) = &mut self.out else {
            return Err(SinkError::Io {
                what: "stage in memory",
                path: "<stream>".into(),
                source: io::Error::new(
                    io::ErrorKind::Unsupported,
                    "only a file output can be staged in memory",
                ),
            });
        };
        if self.position > 0 {
            return Err(SinkError::Io {
                what: "stage in memory",
                path: fo.dest.clone(),
                source: io::Error::other("the output has already been written to"),
            });
        }
        let staging = Staging::new(reserve).map_err(|source| SinkError::Io {
            what: "allocate memory to stage the dump for",
            path: fo.dest.clone(),
            source,
        })?;
        fo.temp.staging = Some(staging);
        Ok(())
    }

    /// Bytes allocated ahead by [`Sink::stage_in_memory`], `None` when the
    /// output is not staged.
    pub fn staged_reserve(&self) -> Option<u64> {
        match &self.out {
            Out::File(fo) => fo.temp.staging.as_ref().map(Staging::reserved),
            _ => None,
        }
    }

    /// Fail every later write, and [`Sink::finish`], with
    /// [`SinkError::Stopped`] once `flag` holds a non-zero value (for
    /// example a signal number stored by a signal handler): the capture
    /// then unwinds, resuming the target and removing the partial file.
    pub fn stop_when(mut self, flag: Arc<AtomicUsize>) -> Sink {
        self.stop = Some(flag);
        self
    }

    /// The stop code, once the flag given to [`Sink::stop_when`] is set.
    pub fn stopped(&self) -> Option<usize> {
        let code = self.stop.as_ref()?.load(Ordering::Relaxed);
        (code != 0).then_some(code)
    }

    fn check_stop(&self) -> io::Result<()> {
        match self.stopped() {
            Some(code) => Err(io::Error::other(SinkError::Stopped { code })),
            None => Ok(()),
        }
    }

    /// Whether holes become seeks (a file) rather than zeros (a stream).
    pub fn is_sparse(&self) -> bool {
        matches!(self.out, Out::File(_) | Out::Spill { .. })
    }

    /// Bytes written so far, holes included.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Skip `len` bytes that are all zero: a seek on a file, zeros on a stream.
    pub fn hole(&mut self, len: u64) -> io::Result<()> {
        self.check_stop()?;
        match &mut self.out {
            Out::File(FileOut { temp, .. }) | Out::Spill { temp, .. } => temp.hole(len)?,
            Out::Stream(w) => {
                let mut left = len;
                while left > 0 {
                    let n = usize::try_from(left.min(ZEROS.len() as u64)).unwrap_or(ZEROS.len());
                    w.write_all(&ZEROS[..n])?;
                    left -= n as u64;
                }
            }
            Out::Done => return Err(io::Error::other("sink already finished")),
        }
        self.position += len;
        Ok(())
    }

    /// Complete the output: for a file, fsync it, move it to its destination
    /// (refusing to replace an existing file without `force`) and fsync the
    /// directory; for a stream, flush it; for a spilled stream, copy the
    /// file to the stream and flush it.
    pub fn finish(mut self) -> Result<SinkReport, SinkError> {
        if let Some(code) = self.stopped() {
            return Err(SinkError::Stopped { code });
        }
        let out = std::mem::replace(&mut self.out, Out::Done);
        let total = self.position;
        let flush = |w: &mut Box<dyn Write>| {
            w.flush().map_err(|source| SinkError::Io {
                what: "flush",
                path: "<stream>".into(),
                source,
            })
        };
        match out {
            Out::Stream(mut w) => {
                flush(&mut w)?;
                Ok(SinkReport {
                    path: None,
                    bytes_written: total,
                    bytes_allocated: total,
                })
            }
            Out::Spill {
                mut temp,
                dir,
                mut stream,
            } => {
                // Nothing needs to survive a crash: no fsync.
                temp.complete(total, false, &|| Ok(()))?;
                self.copy_out(&temp.file, total, &dir, &mut stream)?;
                flush(&mut stream)?;
                Ok(SinkReport {
                    path: None,
                    bytes_written: total,
                    bytes_allocated: total,
                })
            }
            Out::Done => Err(SinkError::Io {
                what: "finish",
                path: "<sink>".into(),
                source: io::Error::other("sink already finished"),
            }),
            Out::File(mut fo) => {
                let allocated = fo.temp.complete(total, true, &|| self.check_stop())?;
                // The fsync can take seconds (all of it under --page-cache):
                // a stop asked meanwhile still wins over publishing.
                if let Some(code) = self.stopped() {
                    return Err(SinkError::Stopped { code });
                }
                check_destination(&fo.dest, fo.force)?;
                if fo.force {
                    fo.temp.rename_to(&fo.dest)?;
                } else {
                    match fo.temp.link_to(&fo.dest) {
                        Ok(()) => {}
                        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                            return Err(SinkError::Exists {
                                path: fo.dest.clone(),
                            });
                        }
                        // Filesystems without hard links (a named temporary
                        // file there): the destination was checked just
                        // above; rename is the best left.
                        Err(_) if fo.temp.name.is_some() => fo.temp.rename_to(&fo.dest)?,
                        Err(source) => {
                            return Err(SinkError::Io {
                                what: "link",
                                path: fo.dest.clone(),
                                source,
                            })
                        }
                    }
                }
                // The drop of `temp` removes the hidden name, if any.
                drop(fo.temp);
                // Persist the directory entry; not all filesystems allow fsync on a directory.
                if let Ok(d) = File::open(parent_dir(&fo.dest)) {
                    let _ = d.sync_all();
                }
                Ok(SinkReport {
                    path: Some(fo.dest),
                    bytes_written: total,
                    bytes_allocated: allocated,
                })
            }
        }
    }

    /// Copy the first `total` bytes of the spill file to `stream`, in 1 MiB
    /// pieces, stopping when asked.
    fn copy_out(
        &self,
        file: &File,
        total: u64,
        dir: &Path,
        stream: &mut Box<dyn Write>,
    ) -> Result<(), SinkError> {
        let mut buf = vec![0u8; 1 << 20];
        let mut offset = 0u64;
        while offset < total {
            if let Some(code) = self.stopped() {
                return Err(SinkError::Stopped { code });
            }
            let want = usize::try_from((total - offset).min(buf.len() as u64)).unwrap_or(buf.len());
            let piece = &mut buf[..want];
            file.read_exact_at(piece, offset)
                .map_err(|source| SinkError::Io {
                    what: "read back the spill file in",
                    path: dir.to_owned(),
                    source,
                })?;
            stream.write_all(piece).map_err(|source| SinkError::Io {
                what: "write",
                path: "<stream>".into(),
                source,
            })?;
            offset += want as u64;
        }
        Ok(())
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.check_stop()?;
        let n = match &mut self.out {
            Out::File(FileOut { temp, .. }) | Out::Spill { temp, .. } => temp.write(buf)?,
            Out::Stream(w) => w.write(buf)?,
            Out::Done => return Err(io::Error::other("sink already finished")),
        };
        self.position += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.out {
            Out::File(FileOut { temp, .. }) | Out::Spill { temp, .. } => temp.file.flush(),
            Out::Stream(w) => w.flush(),
            Out::Done => Ok(()),
        }
    }
}

/// core-format's writer streams into a [`Sink`] directly: its holes become
/// seeks (file) or zeros (stream).
impl coroner_core_format::write::Sink for Sink {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        Write::write_all(self, buf)
    }

    fn write_hole(&mut self, len: u64) -> io::Result<()> {
        self.hole(len)
    }

    fn finish(&mut self) -> io::Result<()> {
        // The length (trailing hole), fsync and rename happen in Sink::finish.
        Write::flush(self)
    }
}

fn check_destination(dest: &Path, force: bool) -> Result<(), SinkError> {
    match std::fs::symlink_metadata(dest) {
        Ok(md) if md.file_type().is_symlink() => Err(SinkError::Symlink {
            path: dest.to_owned(),
        }),
        Ok(md) if !md.file_type().is_file() => Err(SinkError::NotAFile {
            path: dest.to_owned(),
        }),
        Ok(_) if !force => Err(SinkError::Exists {
            path: dest.to_owned(),
        }),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(SinkError::Io {
            what: "stat",
            path: dest.to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::fs::MetadataExt;

    /// A scratch directory removed when the returned guard drops, also when
    /// the test fails (a panic unwinds through the guard).
    fn tmpdir(name: &str) -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix(&format!("coroner-sink-{name}-"))
            .tempdir()
            .unwrap()
    }

    /// The suite used to leave a `coroner-sink-*` directory per test in
    /// /tmp (one with a 2 GiB sparse file); a failing test must not either.
    #[test]
    fn scratch_directories_are_removed_even_when_a_test_fails() {
        let mut seen = None;
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let scratch = tmpdir("panics");
            seen = Some(scratch.path().to_owned());
            std::fs::write(scratch.path().join("core"), b"x").unwrap();
            panic!("a failing test");
        }));
        assert!(outcome.is_err());
        let seen = seen.unwrap();
        assert!(!seen.exists(), "{} left behind", seen.display());
    }

    /// Both kinds of temporary file: unnamed (`O_TMPFILE`) and the hidden
    /// name used where the file system has no `O_TMPFILE`.
    const KINDS: [bool; 2] = [true, false];

    fn create(dest: &Path, force: bool, unnamed: bool) -> Sink {
        Sink::create_with(dest, force, true, unnamed).unwrap()
    }

    fn entries(d: &Path) -> Vec<String> {
        std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn file_appears_only_on_finish_with_mode_0600() {
        for unnamed in KINDS {
            let scratch = tmpdir("atomic");
            let d = scratch.path();
            let dest = d.join("core.1");
            let mut s = create(&dest, false, unnamed);
            s.write_all(b"hello").unwrap();
            assert!(!dest.exists());
            let report = s.finish().unwrap();
            assert_eq!(std::fs::read(&dest).unwrap(), b"hello");
            assert_eq!(std::fs::metadata(&dest).unwrap().mode() & 0o777, 0o600);
            assert_eq!(report.bytes_written, 5);
            assert_eq!(
                entries(d),
                ["core.1"],
                "unnamed {unnamed}: no temporary file left"
            );
        }
    }

    /// With O_TMPFILE the data has no name until it is complete, so a
    /// SIGKILLed capture cannot leave anything behind.
    #[test]
    fn an_unnamed_file_is_invisible_until_finish() {
        let scratch = tmpdir("unnamed");
        let d = scratch.path();
        let dest = d.join("core");
        let mut s = Sink::create(&dest, false).unwrap();
        s.write_all(&[5; 3 << 20]).unwrap();
        s.hole(1 << 20).unwrap();
        s.write_all(b"end").unwrap();
        assert!(entries(d).is_empty(), "{:?}", entries(d));
        s.finish().unwrap();
        assert_eq!(entries(d), ["core"]);
        assert_eq!(std::fs::metadata(&dest).unwrap().len(), (4 << 20) + 3);
    }

    #[test]
    fn dropping_without_finish_leaves_nothing() {
        for unnamed in KINDS {
            let scratch = tmpdir("drop");
            let d = scratch.path();
            let dest = d.join("core.2");
            let mut s = create(&dest, false, unnamed);
            s.write_all(&[1; 4096]).unwrap();
            drop(s);
            assert!(entries(d).is_empty(), "unnamed {unnamed}: {:?}", entries(d));
        }
    }

    /// A set stop flag fails the next write and `finish` with `Stopped`,
    /// and the partial file goes with the sink.
    #[test]
    fn a_stop_flag_fails_writes_and_finish_and_leaves_nothing() {
        for unnamed in KINDS {
            let scratch = tmpdir("stop");
            let d = scratch.path();
            let flag = Arc::new(AtomicUsize::new(0));
            let mut s = create(&d.join("core"), false, unnamed).stop_when(flag.clone());
            s.write_all(&[3; 8192]).unwrap();
            flag.store(15, Ordering::Relaxed);
            assert_eq!(s.stopped(), Some(15));
            let e = s.write_all(b"more").unwrap_err();
            let inner = e.get_ref().and_then(|i| i.downcast_ref::<SinkError>());
            assert!(
                matches!(inner, Some(SinkError::Stopped { code: 15 })),
                "{e}"
            );
            assert!(s.hole(4096).is_err());
            assert!(matches!(s.finish(), Err(SinkError::Stopped { code: 15 })));
            assert!(entries(d).is_empty(), "unnamed {unnamed}: {:?}", entries(d));
        }
    }

    #[test]
    fn existing_file_needs_force() {
        for unnamed in KINDS {
            let scratch = tmpdir("force");
            let d = scratch.path();
            let dest = d.join("core.3");
            std::fs::write(&dest, b"old").unwrap();
            let e = Sink::create_with(&dest, false, true, unnamed).unwrap_err();
            assert!(matches!(e, SinkError::Exists { .. }), "{e}");
            assert!(e.to_string().contains("already exists"), "{e}");
            let mut s = create(&dest, true, unnamed);
            s.write_all(b"new").unwrap();
            s.finish().unwrap();
            assert_eq!(std::fs::read(&dest).unwrap(), b"new");
            assert_eq!(std::fs::metadata(&dest).unwrap().mode() & 0o777, 0o600);
            assert_eq!(entries(d), ["core.3"], "unnamed {unnamed}");
        }
    }

    #[test]
    fn a_file_created_meanwhile_is_not_replaced() {
        for unnamed in KINDS {
            let scratch = tmpdir("race");
            let d = scratch.path();
            let dest = d.join("core.4");
            let mut s = create(&dest, false, unnamed);
            s.write_all(b"ours").unwrap();
            std::fs::write(&dest, b"theirs").unwrap();
            assert!(matches!(s.finish(), Err(SinkError::Exists { .. })));
            assert_eq!(std::fs::read(&dest).unwrap(), b"theirs");
            assert_eq!(entries(d), ["core.4"], "unnamed {unnamed}");
        }
    }

    #[test]
    fn symlinks_are_never_followed_even_with_force() {
        for unnamed in KINDS {
            let scratch = tmpdir("symlink");
            let d = scratch.path();
            let victim = d.join("victim");
            std::fs::write(&victim, b"precious").unwrap();
            let dest = d.join("core.5");
            std::os::unix::fs::symlink(&victim, &dest).unwrap();
            for force in [false, true] {
                let e = Sink::create_with(&dest, force, true, unnamed).unwrap_err();
                assert!(matches!(e, SinkError::Symlink { .. }), "{e}");
            }
            // A symlink planted after creation is refused at finish, too.
            for force in [false, true] {
                let dest2 = d.join(format!("core.6-{force}"));
                let mut s = create(&dest2, force, unnamed);
                s.write_all(b"x").unwrap();
                std::os::unix::fs::symlink(&victim, &dest2).unwrap();
                assert!(matches!(s.finish(), Err(SinkError::Symlink { .. })));
            }
            assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
            let mut left = entries(d);
            left.sort();
            assert_eq!(left, ["core.5", "core.6-false", "core.6-true", "victim"]);
        }
    }

    /// A spilled stream sees nothing until `finish`, then the whole dump
    /// with holes as zeros; the spill file never has a name.
    #[test]
    fn a_spilled_stream_is_written_by_finish_and_leaves_no_file() {
        struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);
        impl Write for Shared {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                self.0.borrow_mut().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        for direct in [true, false] {
            let scratch = tmpdir("spill");
            let d = scratch.path();
            let buf = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
            let mut s = Sink::spill(Shared(buf.clone()), d, direct).unwrap();
            assert!(s.is_sparse());
            s.write_all(&[4; 5000]).unwrap();
            s.hole(3 << 20).unwrap();
            s.write_all(b"tail").unwrap();
            assert!(buf.borrow().is_empty());
            assert!(entries(d).is_empty());
            let r = s.finish().unwrap();
            assert_eq!(r.path, None);
            assert_eq!(r.bytes_written, 5004 + (3 << 20));
            let v = buf.borrow();
            assert_eq!(v.len() as u64, r.bytes_written);
            assert!(v[..5000].iter().all(|&b| b == 4));
            assert!(v[5000..5000 + (3 << 20)].iter().all(|&b| b == 0));
            assert_eq!(&v[5000 + (3 << 20)..], b"tail");
            assert!(entries(d).is_empty());
        }
    }

    /// Invariant 7 with an unnamed file: a full disk fails the write with
    /// ENOSPC, and dropping the sink (what a failed capture does) gives all
    /// the space back at once, leaving no name behind.
    #[test]
    fn a_full_disk_fails_the_write_and_the_space_comes_back_on_drop() {
        struct Mounted(PathBuf);
        impl Drop for Mounted {
            fn drop(&mut self) {
                let _ = std::process::Command::new("umount").arg(&self.0).status();
            }
        }
        let scratch = tmpdir("full");
        let d = scratch.path();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
            .arg(d)
            .output()
            .unwrap();
        if !mounted.status.success() {
            eprintln!(
                "SKIP: cannot mount a small tmpfs to fill ({}); needs root",
                String::from_utf8_lossy(&mounted.stderr).trim()
            );
            return;
        }
        let _mounted = Mounted(d.to_owned());
        for unnamed in KINDS {
            let before = free_space(d).unwrap();
            let mut s = create(&d.join("core"), false, unnamed);
            let chunk = [0x5a_u8; 64 << 10];
            let err = loop {
                if let Err(e) = s.write_all(&chunk) {
                    break e;
                }
                assert!(s.position() < 4 << 20, "1 MiB file system never filled");
            };
            assert_eq!(err.raw_os_error(), Some(libc::ENOSPC), "{err}");
            assert!(free_space(d).unwrap() < before);
            drop(s);
            assert!(entries(d).is_empty(), "unnamed {unnamed}: {:?}", entries(d));
            assert_eq!(free_space(d).unwrap(), before, "unnamed {unnamed}");
        }
    }

    #[test]
    fn free_space_is_reported() {
        let scratch = tmpdir("free");
        assert!(free_space(scratch.path()).unwrap() > 0);
    }

    #[test]
    fn holes_are_sparse_in_files_and_zeros_in_streams() {
        let scratch = tmpdir("sparse");
        let d = scratch.path();
        let dest = d.join("core.7");
        let mut s = Sink::create(&dest, false).unwrap();
        s.write_all(&[7; 4096]).unwrap();
        s.hole(64 << 20).unwrap();
        s.write_all(&[9; 4096]).unwrap();
        s.hole(1 << 20).unwrap();
        let r = s.finish().unwrap();
        let md = std::fs::metadata(&dest).unwrap();
        assert_eq!(md.len(), 8192 + (65 << 20));
        assert_eq!(r.bytes_written, md.len());
        assert!(
            r.bytes_allocated < 1 << 20,
            "allocated {}",
            r.bytes_allocated
        );
        let mut f = File::open(&dest).unwrap();
        let mut b = [0u8; 1];
        f.seek(SeekFrom::Start(4096 + (64 << 20))).unwrap();
        f.read_exact(&mut b).unwrap();
        assert_eq!(b[0], 9);

        let buf = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);
        impl Write for Shared {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                self.0.borrow_mut().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut s = Sink::stream(Shared(buf.clone()));
        s.write_all(b"ab").unwrap();
        s.hole(100_000).unwrap();
        s.write_all(b"cd").unwrap();
        assert_eq!(s.finish().unwrap().bytes_written, 100_004);
        let v = buf.borrow();
        assert_eq!(v.len(), 100_004);
        assert!(v[2..100_002].iter().all(|&b| b == 0));
        assert_eq!(&v[100_002..], b"cd");
    }

    /// Writes and holes of every size and alignment give the same file with
    /// direct I/O, through the page cache, and in memory.
    #[test]
    fn direct_and_buffered_files_hold_exactly_the_stream() {
        let scratch = tmpdir("direct");
        let d = scratch.path();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |m: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % m
        };
        for round in 0..12 {
            let mut ops = Vec::new();
            for _ in 0..40 {
                let big = next(4) == 0;
                let len = if big { next(3 << 20) } else { next(10_000) } as usize;
                if next(3) == 0 {
                    ops.push((false, len, 0u8));
                } else {
                    ops.push((true, len, 1 + next(250) as u8));
                }
            }
            let mut expect = Vec::new();
            for &(data, len, byte) in &ops {
                expect.extend(std::iter::repeat(if data { byte } else { 0 }).take(len));
            }
            for direct in [true, false] {
                let dest = d.join(format!("r{round}-{direct}"));
                let mut s = if direct {
                    Sink::create(&dest, false)
                } else {
                    Sink::create_buffered(&dest, false)
                }
                .unwrap();
                for &(data, len, byte) in &ops {
                    if data {
                        s.write_all(&vec![byte; len]).unwrap();
                    } else {
                        s.hole(len as u64).unwrap();
                    }
                }
                let r = s.finish().unwrap();
                assert_eq!(r.bytes_written, expect.len() as u64);
                let got = std::fs::read(&dest).unwrap();
                assert!(
                    got == expect,
                    "round {round}, direct {direct}: contents differ (len {} vs {})",
                    got.len(),
                    expect.len()
                );
                std::fs::remove_file(&dest).unwrap();
            }
        }
    }

    #[test]
    fn direct_output_stays_sparse() {
        let scratch = tmpdir("direct-sparse");
        let d = scratch.path();
        let dest = d.join("core");
        let mut s = Sink::create(&dest, false).unwrap();
        s.write_all(&[1; 100]).unwrap();
        s.hole((1 << 30) - 100).unwrap();
        s.write_all(&[2; 8192]).unwrap();
        s.hole(1 << 30).unwrap();
        let r = s.finish().unwrap();
        assert_eq!(r.bytes_written, (2 << 30) + 8192);
        assert!(
            r.bytes_allocated <= 64 << 10,
            "allocated {}",
            r.bytes_allocated
        );
    }

    /// A dump staged in memory (the page-cache output path) is the same
    /// file, as sparse, as one written directly, and only reaches the disk
    /// in `finish`.
    #[test]
    fn staged_output_is_the_same_file_written_in_finish() {
        let scratch = tmpdir("staged");
        let d = scratch.path();
        let stream = |s: &mut Sink| {
            s.write_all(&[1; 100]).unwrap();
            s.hole((64 << 20) - 100).unwrap();
            for i in 0..300u32 {
                s.write_all(&[u8::try_from(i % 250).unwrap() + 1; 12345])
                    .unwrap();
            }
            s.hole(5000).unwrap();
            s.write_all(&[2; 8192]).unwrap();
            s.hole(1 << 20).unwrap();
        };
        let mut direct = Sink::create(&d.join("direct"), false).unwrap();
        stream(&mut direct);
        let direct = direct.finish().unwrap();
        for buffered in [false, true] {
            let dest = d.join(format!("staged-{buffered}"));
            let mut staged = if buffered {
                Sink::create_buffered(&dest, false)
            } else {
                Sink::create(&dest, false)
            }
            .unwrap();
            staged.stage_in_memory(8 << 20).unwrap();
            assert_eq!(
                staged.staged_reserve(),
                Some(64 << 20),
                "whole 64 MiB chunks"
            );
            stream(&mut staged);
            let Out::File(fo) = &staged.out else {
                unreachable!()
            };
            assert_eq!(
                fo.temp.file.metadata().unwrap().len(),
                0,
                "nothing is written to the file before finish"
            );
            let r = staged.finish().unwrap();
            assert_eq!(r.bytes_written, direct.bytes_written);
            assert!(
                r.bytes_allocated <= direct.bytes_allocated + (64 << 10),
                "staged {} vs direct {} bytes allocated",
                r.bytes_allocated,
                direct.bytes_allocated
            );
            assert!(std::fs::read(&dest).unwrap() == std::fs::read(d.join("direct")).unwrap());
        }
        // Only a file can be staged.
        assert!(Sink::stream(Vec::new()).stage_in_memory(0).is_err());
    }

    /// A stop asked while a staged dump is written out ends the write with
    /// `Stopped` and leaves nothing.
    #[test]
    fn a_stop_during_the_staged_write_leaves_nothing() {
        let scratch = tmpdir("staged-stop");
        let dest = scratch.path().join("core");
        let mut s = Sink::create(&dest, false).unwrap();
        s.stage_in_memory(0).unwrap();
        s.write_all(&vec![3u8; 9 << 20]).unwrap();
        let total = s.position();
        let Out::File(fo) = &mut s.out else {
            unreachable!()
        };
        let stopped = fo.temp.complete(total, true, &|| {
            Err(io::Error::other(SinkError::Stopped { code: 15 }))
        });
        assert!(
            matches!(stopped, Err(SinkError::Stopped { code: 15 })),
            "{stopped:?}"
        );
        drop(s);
        assert!(std::fs::read_dir(scratch.path()).unwrap().next().is_none());
    }
}
