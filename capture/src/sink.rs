//! Where a dump goes: an atomic, private, sparse file, or a stream.
//!
//! A [`Sink`] for a path writes a temporary file beside the destination
//! (`.<name>.coroner-<pid>-<n>.tmp`, opened `O_CREAT|O_EXCL|O_NOFOLLOW`, mode
//! 0600), turns holes into seeks so the file is sparse, and on
//! [`Sink::finish`] fsyncs it and moves it into place: with `link(2)` when the
//! destination must not be overwritten (fails atomically if it exists), with
//! `rename(2)` under `force`. Either way the destination path itself is never
//! opened, so a symlink there is never followed; it is refused up front. If
//! the sink is dropped without `finish` (error, panic), the temporary file is
//! removed and the destination is untouched.
//!
//! Data goes to the file with `O_DIRECT` where the filesystem allows it:
//! two small aligned staging buffers and a writer thread, so the disk works
//! while the target is being read and the page cache does not grow by the
//! size of the dump (see `direct.rs`); elsewhere it goes through the page
//! cache ([`Sink::create_buffered`] forces that).
//!
//! A [`Sink`] over a stream (stdout, a pipe, a compressor) writes holes as zeros.

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::direct::DirectWriter;

/// Why the output could not be created or completed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// The destination exists and `force` was not given.
    #[error("{path} already exists; pass --force to replace it or choose another -o path")]
    Exists {
        /// The destination.
        path: PathBuf,
    },
    /// The destination is a symbolic link.
    #[error("{path} is a symbolic link; coroner never writes through one: remove it or choose another -o path")]
    Symlink {
        /// The destination.
        path: PathBuf,
    },
    /// The destination is a directory or other non-file.
    #[error("{path} is not a regular file; give a file path with -o")]
    NotAFile {
        /// The destination.
        path: PathBuf,
    },
    /// The temporary file could not be created in the destination's directory.
    #[error("cannot create a file in {dir}: {source}; choose a writable directory with -o (or -o - for stdout)")]
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

struct FileOut {
    file: File,
    tmp: PathBuf,
    dest: PathBuf,
    force: bool,
    /// Seeks not yet turned into a position change on the file.
    pending_hole: u64,
    /// Direct I/O writer, when the filesystem supports `O_DIRECT`.
    direct: Option<DirectWriter>,
}

enum Out {
    File(FileOut),
    Stream(Box<dyn Write>),
    Done,
}

/// An output for a dump; see the module docs.
pub struct Sink {
    out: Out,
    position: u64,
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.out {
            Out::File(fo) => format!("file {}", fo.dest.display()),
            Out::Stream(_) => "stream".to_owned(),
            Out::Done => "done".to_owned(),
        };
        f.debug_struct("Sink")
            .field("out", &kind)
            .field("position", &self.position)
            .finish()
    }
}

static TMP_COUNTER: AtomicU32 = AtomicU32::new(0);

static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];

impl Sink {
    /// Prepare an atomic file output for `dest`; nothing appears at `dest`
    /// before [`Sink::finish`]. Data is written with direct I/O where the
    /// filesystem supports it (see [`Sink::create_buffered`]).
    pub fn create(dest: &Path, force: bool) -> Result<Sink, SinkError> {
        Sink::create_with(dest, force, true)
    }

    /// Like [`Sink::create`], but always through the page cache.
    pub fn create_buffered(dest: &Path, force: bool) -> Result<Sink, SinkError> {
        Sink::create_with(dest, force, false)
    }

    fn create_with(dest: &Path, force: bool, direct_io: bool) -> Result<Sink, SinkError> {
        check_destination(dest, force)?;
        let name = dest.file_name().ok_or_else(|| SinkError::NotAFile {
            path: dest.to_owned(),
        })?;
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let mut last_err = None;
        for _ in 0..16 {
            let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
            let mut tmp_name = std::ffi::OsString::from(".");
            tmp_name.push(name);
            tmp_name.push(format!(".coroner-{}-{n}.tmp", std::process::id()));
            let tmp = dir.join(tmp_name);
            let opened = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&tmp);
            match opened {
                Ok(file) => {
                    // The umask can only remove bits from 0600, but be explicit.
                    file.set_permissions(std::fs::Permissions::from_mode(0o600))
                        .map_err(|source| SinkError::Io {
                            what: "chmod",
                            path: tmp.clone(),
                            source,
                        })?;
                    // A second descriptor with O_DIRECT for the bulk of the
                    // data; filesystems without it (tmpfs) use the first.
                    let direct = if direct_io {
                        OpenOptions::new()
                            .write(true)
                            .custom_flags(libc::O_DIRECT | libc::O_NOFOLLOW)
                            .open(&tmp)
                            .ok()
                            .and_then(|f| DirectWriter::new(f).ok())
                    } else {
                        None
                    };
                    let out = FileOut {
                        file,
                        tmp,
                        dest: dest.to_owned(),
                        force,
                        pending_hole: 0,
                        direct,
                    };
                    return Ok(Sink {
                        out: Out::File(out),
                        position: 0,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_err = Some((tmp, e)),
                Err(source) => return Err(SinkError::CreateTemp { dir, source }),
            }
        }
        let (path, source) =
            last_err.unwrap_or_else(|| (dir.clone(), io::Error::other("no attempt made")));
        Err(SinkError::Io {
            what: "create temporary file",
            path,
            source,
        })
    }

    /// An output over any stream; holes are written as zeros.
    pub fn stream(w: impl Write + 'static) -> Sink {
        Sink {
            out: Out::Stream(Box::new(w)),
            position: 0,
        }
    }

    /// Whether holes become seeks (a file) rather than zeros (a stream).
    pub fn is_sparse(&self) -> bool {
        matches!(self.out, Out::File(_))
    }

    /// Bytes written so far, holes included.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Skip `len` bytes that are all zero: a seek on a file, zeros on a stream.
    pub fn hole(&mut self, len: u64) -> io::Result<()> {
        match &mut self.out {
            Out::File(FileOut {
                direct: Some(d), ..
            }) => d.hole(len)?,
            Out::File(fo) => {
                fo.pending_hole = fo
                    .pending_hole
                    .checked_add(len)
                    .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "hole overflows"))?;
            }
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
    /// directory; for a stream, flush it.
    pub fn finish(mut self) -> Result<SinkReport, SinkError> {
        let out = std::mem::replace(&mut self.out, Out::Done);
        let total = self.position;
        match out {
            Out::Stream(mut w) => {
                w.flush().map_err(|source| SinkError::Io {
                    what: "flush",
                    path: "<stream>".into(),
                    source,
                })?;
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
                let guard = TmpGuard(Some(fo.tmp.clone()));
                let io_err = |what: &'static str, path: &Path| {
                    let path = path.to_owned();
                    move |source| SinkError::Io { what, path, source }
                };
                if let Some(mut d) = fo.direct.take() {
                    d.finish().map_err(io_err("write", &fo.tmp))?;
                }
                // A trailing hole still counts towards the length. Only when
                // the length is off: ext4 starts a journal transaction on every
                // truncate, even one that keeps the size (measured 0.15–15 ms).
                let len = fo.file.metadata().map_err(io_err("stat", &fo.tmp))?.len();
                if len != total {
                    fo.file
                        .set_len(total)
                        .map_err(io_err("set length of", &fo.tmp))?;
                }
                fo.file.sync_all().map_err(io_err("fsync", &fo.tmp))?;
                let allocated = fo
                    .file
                    .metadata()
                    .map_err(io_err("stat", &fo.tmp))?
                    .blocks()
                    .saturating_mul(512);
                drop(fo.file);
                check_destination(&fo.dest, fo.force)?;
                if fo.force {
                    std::fs::rename(&fo.tmp, &fo.dest).map_err(io_err("rename to", &fo.dest))?;
                } else {
                    match std::fs::hard_link(&fo.tmp, &fo.dest) {
                        Ok(()) => {
                            std::fs::remove_file(&fo.tmp).map_err(io_err("remove", &fo.tmp))?;
                        }
                        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                            return Err(SinkError::Exists {
                                path: fo.dest.clone(),
                            });
                        }
                        // Filesystems without hard links: the destination was
                        // checked just above; rename is the best left.
                        Err(_) => std::fs::rename(&fo.tmp, &fo.dest)
                            .map_err(io_err("rename to", &fo.dest))?,
                    }
                }
                std::mem::forget(guard);
                if let Some(dir) = fo.dest.parent() {
                    let dir = if dir.as_os_str().is_empty() {
                        Path::new(".")
                    } else {
                        dir
                    };
                    // Persist the directory entry; not all filesystems allow fsync on a directory.
                    if let Ok(d) = File::open(dir) {
                        let _ = d.sync_all();
                    }
                }
                Ok(SinkReport {
                    path: Some(fo.dest),
                    bytes_written: total,
                    bytes_allocated: allocated,
                })
            }
        }
    }

    fn apply_pending_hole(fo: &mut FileOut) -> io::Result<()> {
        if fo.pending_hole > 0 {
            let off = i64::try_from(fo.pending_hole)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "hole too large"))?;
            fo.file.seek(SeekFrom::Current(off))?;
            fo.pending_hole = 0;
        }
        Ok(())
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = match &mut self.out {
            Out::File(FileOut {
                direct: Some(d), ..
            }) => {
                d.write(buf)?;
                buf.len()
            }
            Out::File(fo) => {
                Sink::apply_pending_hole(fo)?;
                fo.file.write(buf)?
            }
            Out::Stream(w) => w.write(buf)?,
            Out::Done => return Err(io::Error::other("sink already finished")),
        };
        self.position += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.out {
            Out::File(fo) => fo.file.flush(),
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

impl Drop for Sink {
    fn drop(&mut self) {
        if let Out::File(fo) = &self.out {
            let _ = std::fs::remove_file(&fo.tmp);
        }
    }
}

struct TmpGuard(Option<PathBuf>);

impl Drop for TmpGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
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

    #[test]
    fn file_appears_only_on_finish_with_mode_0600() {
        let scratch = tmpdir("atomic");
        let d = scratch.path();
        let dest = d.join("core.1");
        let mut s = Sink::create(&dest, false).unwrap();
        s.write_all(b"hello").unwrap();
        assert!(!dest.exists());
        let report = s.finish().unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"hello");
        assert_eq!(std::fs::metadata(&dest).unwrap().mode() & 0o777, 0o600);
        assert_eq!(report.bytes_written, 5);
        assert_eq!(
            std::fs::read_dir(d).unwrap().count(),
            1,
            "no temporary file left"
        );
    }

    #[test]
    fn dropping_without_finish_leaves_nothing() {
        let scratch = tmpdir("drop");
        let d = scratch.path();
        let dest = d.join("core.2");
        let mut s = Sink::create(&dest, false).unwrap();
        s.write_all(&[1; 4096]).unwrap();
        drop(s);
        assert_eq!(std::fs::read_dir(d).unwrap().count(), 0);
    }

    #[test]
    fn existing_file_needs_force() {
        let scratch = tmpdir("force");
        let d = scratch.path();
        let dest = d.join("core.3");
        std::fs::write(&dest, b"old").unwrap();
        let e = Sink::create(&dest, false).unwrap_err();
        assert!(matches!(e, SinkError::Exists { .. }), "{e}");
        assert!(e.to_string().contains("--force"));
        let mut s = Sink::create(&dest, true).unwrap();
        s.write_all(b"new").unwrap();
        s.finish().unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"new");
    }

    #[test]
    fn a_file_created_meanwhile_is_not_replaced() {
        let scratch = tmpdir("race");
        let d = scratch.path();
        let dest = d.join("core.4");
        let mut s = Sink::create(&dest, false).unwrap();
        s.write_all(b"ours").unwrap();
        std::fs::write(&dest, b"theirs").unwrap();
        assert!(matches!(s.finish(), Err(SinkError::Exists { .. })));
        assert_eq!(std::fs::read(&dest).unwrap(), b"theirs");
        assert_eq!(std::fs::read_dir(d).unwrap().count(), 1);
    }

    #[test]
    fn symlinks_are_never_followed_even_with_force() {
        let scratch = tmpdir("symlink");
        let d = scratch.path();
        let victim = d.join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        let dest = d.join("core.5");
        std::os::unix::fs::symlink(&victim, &dest).unwrap();
        for force in [false, true] {
            let e = Sink::create(&dest, force).unwrap_err();
            assert!(matches!(e, SinkError::Symlink { .. }), "{e}");
        }
        // A symlink planted after creation is refused at finish, too.
        let dest2 = d.join("core.6");
        let mut s = Sink::create(&dest2, true).unwrap();
        s.write_all(b"x").unwrap();
        std::os::unix::fs::symlink(&victim, &dest2).unwrap();
        assert!(matches!(s.finish(), Err(SinkError::Symlink { .. })));
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
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
}
