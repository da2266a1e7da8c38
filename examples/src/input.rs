//! The dump a command reads: a file path, `-` for stdin, or a pipe such as
//! `/dev/stdin` or `<(zcat core.gz)`.
//!
//! The readers seek (they read headers, notes and the ranges they need, not
//! the whole file), so input that cannot seek is first copied into a
//! temporary file in the system's temporary directory (`TMPDIR`), removed
//! when the command ends. The copy starts only after
//! the first bytes show a dump, so `/dev/zero` or a text stream is refused
//! at once instead of being copied without end.
//!
//! A zstd-compressed dump (`core.zst`, as `crash-handler install --compress`
//! stores them) is decompressed into such a temporary file, sparse (zero
//! pages stay holes), and read from there (on Linux, where the crash
//! handler runs; elsewhere decompress it first with `zstd -d`).

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use coroner_capture::DumpFormat;

use crate::failure::Failure;

/// An input dump ready to be read by path.
#[derive(Debug)]
pub struct Input {
    /// The path to read: the file itself, or the temporary copy.
    pub path: PathBuf,
    /// How to name it to the user (`-` shows as `stdin`).
    pub shown: String,
    /// The copy of a non-seekable input; deleted on drop.
    _copy: Option<tempfile::NamedTempFile>,
}

impl Input {
    /// Open the input named `arg` on the command line.
    pub fn open(arg: &Path) -> Result<Input, Failure> {
        if arg.as_os_str() == "-" {
            return Input::stdin();
        }
        let shown = arg.display().to_string();
        match std::fs::metadata(arg) {
            // Regular files, and paths that do not resolve (the reader then
            // says why), are read in place.
            Ok(md) if !md.is_file() && !md.is_dir() => {
                let file = std::fs::File::open(arg).map_err(|e| format!("reading {shown}: {e}"))?;
                Input::copied(file, shown)
            }
            #[cfg(target_os = "linux")]
            Ok(md) if md.is_file() && starts_with_zstd(arg) => {
                let file = std::fs::File::open(arg).map_err(|e| format!("reading {shown}: {e}"))?;
                Input::decompressed(file, shown)
            }
            _ => Ok(Input {
                path: arg.to_owned(),
                shown,
                _copy: None,
            }),
        }
    }

    /// Decompress the zstd stream `reader` into a sparse temporary file.
    #[cfg(target_os = "linux")]
    fn decompressed(reader: impl Read, shown: String) -> Result<Input, Failure> {
        let dir = std::env::temp_dir();
        let failed = |e: io::Error| {
            Failure::Message(format!(
                "decompressing {shown} (zstd) into a temporary file in {}: {e}; set TMPDIR to a \
                 directory with room, or decompress it first (`zstd -d`)",
                dir.display()
            ))
        };
        let mut copy = tempfile::Builder::new()
            .prefix(".coroner-input-")
            .tempfile_in(&dir)
            .map_err(&failed)?;
        coroner_store::zst::decompress_sparse(reader, copy.as_file_mut()).map_err(&failed)?;
        Ok(Input {
            path: copy.path().to_owned(),
            shown,
            _copy: Some(copy),
        })
    }

    fn stdin() -> Result<Input, Failure> {
        let shown = "stdin".to_owned();
        #[cfg(unix)]
        {
            use std::os::fd::AsFd;
            let regular = io::stdin()
                .as_fd()
                .try_clone_to_owned()
                .ok()
                .and_then(|fd| std::fs::File::from(fd).metadata().ok())
                .is_some_and(|md| md.is_file());
            if regular {
                // `coroner inspect - < core`: the file itself, read in place.
                return Ok(Input {
                    path: PathBuf::from("/dev/stdin"),
                    shown,
                    _copy: None,
                });
            }
        }
        Input::copied(io::stdin().lock(), shown)
    }

    /// Copy `reader` into a temporary file, once its first bytes show a dump.
    fn copied(mut reader: impl Read, shown: String) -> Result<Input, Failure> {
        let mut head = Vec::with_capacity(8);
        (&mut reader)
            .take(8)
            .read_to_end(&mut head)
            .map_err(|e| format!("reading {shown}: {e}"))?;
        #[cfg(target_os = "linux")]
        if coroner_store::zst::is_zstd(&head) {
            return Input::decompressed(io::Cursor::new(head).chain(reader), shown);
        }
        if DumpFormat::detect(&head).is_none() {
            return Err(Failure::Message(format!(
                "{shown} is not a dump: neither an ELF core (starts with \\x7fELF) nor a minidump \
                 (starts with MDMP){}",
                if head.is_empty() { "; it is empty" } else { "" }
            )));
        }
        let dir = std::env::temp_dir();
        let failed = |e: io::Error| {
            Failure::Message(format!(
                "copying {shown} into a temporary file in {} (a dump is read by seeking, which a pipe \
                 cannot do): {e}; set TMPDIR to a directory with room, or save the dump to a file first",
                dir.display()
            ))
        };
        let mut copy = tempfile::Builder::new()
            .prefix(".coroner-input-")
            .tempfile_in(&dir)
            .map_err(&failed)?;
        copy.write_all(&head).map_err(&failed)?;
        io::copy(&mut reader, copy.as_file_mut()).map_err(&failed)?;
        copy.as_file_mut().flush().map_err(&failed)?;
        Ok(Input {
            path: copy.path().to_owned(),
            shown,
            _copy: Some(copy),
        })
    }
}

/// Whether the file at `path` starts with the zstd magic.
#[cfg(target_os = "linux")]
fn starts_with_zstd(path: &Path) -> bool {
    let mut head = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| coroner_store::zst::is_zstd(&head))
}
