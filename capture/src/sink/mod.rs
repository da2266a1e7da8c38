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
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::os::{self, FileExt};
use crate::staging::Staging;

mod error;
mod temp_file;
#[cfg(test)]
mod tests;

pub use error::{SinkError, SinkReport};
use temp_file::TempFile;

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

    /// Let up to `bytes` of the dump wait in memory for the disk, so that a
    /// capture's freeze lasts as long as reading the target rather than
    /// writing it: the direct-I/O writer's ring of buffers may grow to
    /// that size as the disk falls behind, and is written out after the
    /// target is resumed, before [`Sink::finish`] fsyncs and names the file.
    /// The memory is made by a thread that starts now, ahead of its use (see
    /// `write_behind.rs`). Returns the bytes the ring may hold: `bytes`
    /// rounded down to whole 4 MiB buffers, or 0 when it does not apply
    /// (less than two buffers, no direct I/O on this file system, a
    /// stream, or [`Sink::stage_in_memory`]). Only before the first write.
    /// Two buffers are made before this returns; see
    /// [`Sink::write_behind_made_ahead`] to make more.
    pub fn write_behind(&mut self, bytes: u64) -> Result<u64, SinkError> {
        self.write_behind_made_ahead(bytes, 0)
    }

    /// [`Sink::write_behind`], with `ahead` bytes of the write-behind
    /// memory (whole 4 MiB buffers, at least two, at most `bytes`) made
    /// before this returns, so before the capture freezes the target: on a
    /// machine where the first touch of fresh memory is slow, memory made
    /// during the freeze lengthens it (see `write_behind.rs`).
    /// [`crate::OutputChoice::made_ahead`] says how much, from a sample of the target.
    pub fn write_behind_made_ahead(&mut self, bytes: u64, ahead: u64) -> Result<u64, SinkError> {
        let (temp, path) = match &mut self.out {
            Out::File(fo) => (&mut fo.temp, fo.dest.clone()),
            Out::Spill { temp, dir, .. } => (temp, dir.clone()),
            _ => return Ok(0),
        };
        if temp.staging.is_some() {
            return Ok(0);
        }
        if self.position > 0 {
            return Err(SinkError::Io {
                what: "set write-behind for",
                path,
                source: io::Error::other("the output has already been written to"),
            });
        }
        temp.write_behind(bytes, ahead)
            .map_err(|source| SinkError::Io {
                what: "allocate write-behind memory for",
                path,
                source,
            })
    }

    /// Let a write-behind ring grow by at most `bytes` more: the dump is
    /// written after the target was resumed (the memory would only run
    /// ahead of the disk), or memory is held by something else.
    #[cfg(target_os = "linux")]
    pub(crate) fn limit_write_behind(&mut self, bytes: u64) {
        match &mut self.out {
            Out::File(fo) => fo.temp.limit_write_behind(bytes),
            Out::Spill { temp, .. } => temp.limit_write_behind(bytes),
            _ => {}
        }
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

/// Both format crates' writers stream into a [`Sink`] directly (the one
/// sink contract, coroner-dump-source's, which they re-export): their holes
/// become seeks (file) or zeros (stream).
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

    /// The direct writer's ring or the staging memory: the capture reads
    /// the target straight into it (no copy through the writer's buffer).
    fn lend(&mut self, max: usize) -> io::Result<Option<&mut [u8]>> {
        self.check_stop()?;
        match &mut self.out {
            Out::File(FileOut { temp, .. }) | Out::Spill { temp, .. } => temp.lend(max),
            Out::Stream(_) | Out::Done => Ok(None),
        }
    }

    fn commit_lent(&mut self, parts: &[coroner_core_format::write::Lent]) -> io::Result<()> {
        match &mut self.out {
            Out::File(FileOut { temp, .. }) | Out::Spill { temp, .. } => temp.commit_lent(parts)?,
            Out::Stream(_) | Out::Done => return Err(io::Error::other("no memory was lent")),
        }
        let len: u64 = parts.iter().map(|p| p.len() as u64).sum();
        self.position += len;
        Ok(())
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
