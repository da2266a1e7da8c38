//! Minidumps: live capture ([`capture_minidump`]), the shared model builder
//! ([`build`]) that ELF → minidump conversion also uses, and a summary of a
//! minidump for `inspect` ([`inspect`]).
//!
//! What a live capture writes: SystemInfo, MiscInfo (pid, create time),
//! ThreadList (context + stack of every thread), ThreadNames, ModuleList
//! (every ELF object mapped from offset 0, with its build-id read from
//! memory or else from the file), Exception (`DUMP_REQUESTED`, or the
//! signal a thread was stopped for), MemoryInfoList, the Linux streams
//! (CpuInfo, ProcStatus, LsbRelease, CmdLine, Environ, Auxv, Maps,
//! DsoDebug), and memory per [`MemoryMode`]: stacks plus 256 bytes each side
//! of every thread's pc, then writable anonymous memory (`heap`) or every
//! mapping the dump filter selects (`full`, in a Memory64List). Memory the
//! program excluded with MADV_DONTDUMP, or the operator with `--exclude`,
//! is never written (stacks included) unless `--all` is given.
//!
//! ```no_run
//! use coroner_capture::{capture_minidump, MemoryMode};
//! use coroner_capture::{CaptureOptions, Sink};
//! let sink = Sink::create(std::path::Path::new("1234.dmp"), false)?;
//! let report = capture_minidump(1234, sink, &CaptureOptions::default(), MemoryMode::Stacks)?;
//! println!("{} threads, {} bytes", report.threads, report.bytes_written);
//! # Ok::<(), coroner_capture::CaptureError>(())
//! ```

pub mod build;
mod context;
pub mod elf;
#[cfg(target_os = "linux")]
mod from_copy;
pub mod host_file;
pub mod inspect;
#[cfg(target_os = "linux")]
mod live;
mod modules;
#[cfg(target_os = "linux")]
mod recorded;
mod system_info;
pub(crate) mod without_memory;

#[cfg(target_os = "linux")]
pub use live::capture_minidump;

use std::fmt;
use std::str::FromStr;

/// Which memory a minidump holds.
///
/// ```
/// use coroner_capture::MemoryMode;
/// assert_eq!("full".parse::<MemoryMode>().unwrap(), MemoryMode::Full);
/// assert_eq!(MemoryMode::default().to_string(), "stacks");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MemoryMode {
    /// Thread stacks and the bytes around each thread's pc (small; what
    /// stack walkers need).
    #[default]
    Stacks,
    /// Stacks plus writable anonymous memory (heap, thread-locals, arenas).
    Heap,
    /// Every mapping the dump filter selects, as an ELF core would hold, in
    /// a Memory64List.
    Full,
}

impl FromStr for MemoryMode {
    type Err = String;

    fn from_str(s: &str) -> Result<MemoryMode, String> {
        match s {
            "stacks" => Ok(MemoryMode::Stacks),
            "heap" => Ok(MemoryMode::Heap),
            "full" => Ok(MemoryMode::Full),
            _ => Err(format!("{s:?}: expected stacks, heap or full")),
        }
    }
}

impl fmt::Display for MemoryMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MemoryMode::Stacks => "stacks",
            MemoryMode::Heap => "heap",
            MemoryMode::Full => "full",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_modes_parse_and_print() {
        for m in [MemoryMode::Stacks, MemoryMode::Heap, MemoryMode::Full] {
            assert_eq!(m.to_string().parse::<MemoryMode>().unwrap(), m);
        }
        assert!("all".parse::<MemoryMode>().is_err());
    }

    /// The minidump writer streams into capture's file sink directly (no
    /// adapter): zero pages become holes, the bytes are those of the plain
    /// writer, and a dump ending in zeros still gets its full length.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_minidump_goes_to_the_file_sink_sparse_and_whole() {
        use coroner_minidump_format::model::{MemoryRange, MinidumpModel};
        use coroner_minidump_format::write::{BytesAt, Layout};
        use std::os::unix::fs::MetadataExt;

        let mut memory = vec![0u8; 100];
        memory.extend(std::iter::repeat(7u8).take(5000));
        memory.extend(std::iter::repeat(0u8).take(4 << 20));
        let model = MinidumpModel {
            memory64_list: vec![MemoryRange {
                start: 0x10_0000,
                size: memory.len() as u64,
            }],
            ..MinidumpModel::default()
        };
        let layout = Layout::plan(&model).unwrap();
        let mut plain = Vec::new();
        layout
            .write(&mut BytesAt::new(0x10_0000, &memory[..]), &mut plain)
            .unwrap();

        let scratch = tempfile::tempdir().unwrap();
        let path = scratch.path().join("x.dmp");
        for direct_io in [true, false] {
            let _ = std::fs::remove_file(&path);
            let mut sink = if direct_io {
                crate::Sink::create(&path, false)
            } else {
                crate::Sink::create_buffered(&path, false)
            }
            .unwrap();
            let stats = layout
                .write(&mut BytesAt::new(0x10_0000, &memory[..]), &mut sink)
                .unwrap();
            assert!(stats.zero_page_bytes >= (4 << 20) - 8192, "{stats:?}");
            let report = sink.finish().unwrap();
            assert_eq!(report.bytes_written, plain.len() as u64);
            assert_eq!(std::fs::read(&path).unwrap(), plain, "direct: {direct_io}");
            let md = std::fs::metadata(&path).unwrap();
            assert!(md.blocks() * 512 < 256 << 10, "{} blocks", md.blocks());
        }
    }
}
