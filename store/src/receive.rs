//! Receiving a core from the kernel's pipe: page by page, all-zero pages
//! become holes (sparse file) or are fed to zstd (which stores a run of
//! zeros in a few bytes), and the headers and notes at the front are kept
//! aside to read the threads from.
//!
//! The kernel writes a core as the ELF header, the program headers and the
//! notes, then each `PT_LOAD`'s data in address order, page-aligned; pages
//! it never populated are already holes (`lseek` on a file, zeros on a
//! pipe). Detecting zeros on the file's page grid catches both those and
//! pages the process wrote with zeros, whatever the layout, without a
//! second pass.

use std::io::{self, Read, Write};
use std::time::Instant;

use coroner_capture::Sink;
use coroner_core_format::raw;
use coroner_core_format::read::{metadata_end, parse_with_phnum, read_header};

use crate::StoreError;

/// The page grid zeros are found on.
pub const PAGE: usize = 4096;
/// Bytes read from the pipe at a time (the pipe's own buffer is 64 KiB;
/// bigger reads mean fewer wake-ups for the same bytes).
const CHUNK: usize = 1 << 20;
/// Most bytes of headers and notes kept to read the threads from.
const MAX_PREFIX: usize = 64 << 20;

/// Where the received bytes go.
pub enum CoreOutput {
    /// A sparse file: zero pages become holes.
    Sparse(Sink),
    /// A zstd stream into a file.
    Zstd(zstd::stream::write::Encoder<'static, CountingSink>),
}

impl std::fmt::Debug for CoreOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CoreOutput::Sparse(s) => f.debug_tuple("Sparse").field(s).finish(),
            CoreOutput::Zstd(_) => f.write_str("Zstd"),
        }
    }
}

/// A [`Sink`] that counts what reaches it (the compressed bytes).
#[derive(Debug)]
pub struct CountingSink {
    /// The file.
    pub sink: Sink,
    /// Bytes written so far.
    pub written: u64,
}

impl Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.sink.write(buf)?;
        self.written = self.written.saturating_add(n as u64);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.sink.flush()
    }
}

impl CoreOutput {
    /// A zstd stream at `level` over `sink`, compressed by `workers`
    /// threads besides the caller (0: in the caller's thread).
    pub fn zstd(sink: Sink, level: i32, workers: u32) -> io::Result<CoreOutput> {
        let mut encoder =
            zstd::stream::write::Encoder::new(CountingSink { sink, written: 0 }, level)?;
        if workers > 0 {
            encoder.multithread(workers)?;
        }
        Ok(CoreOutput::Zstd(encoder))
    }

    fn data(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            CoreOutput::Sparse(s) => s.write_all(bytes),
            CoreOutput::Zstd(z) => z.write_all(bytes),
        }
    }

    fn zeros(&mut self, len: usize) -> io::Result<()> {
        static ZEROS: [u8; CHUNK] = [0; CHUNK];
        match self {
            CoreOutput::Sparse(s) => s.hole(len as u64),
            CoreOutput::Zstd(z) => z.write_all(ZEROS.get(..len).unwrap_or(&ZEROS)),
        }
    }

    /// Bytes that reach the disk so far: data pages, or compressed bytes
    /// (what zstd has emitted; it holds at most a window more).
    fn stored(&self, data_bytes: u64) -> u64 {
        match self {
            CoreOutput::Sparse(_) => data_bytes,
            CoreOutput::Zstd(z) => z.get_ref().written,
        }
    }

    /// Complete the file (fsync, name it); returns the bytes it takes on disk.
    pub fn finish(self) -> Result<u64, StoreError> {
        let sink = match self {
            CoreOutput::Sparse(s) => s,
            CoreOutput::Zstd(z) => {
                z.finish()
                    .map_err(|e| StoreError::io("finish the zstd stream of", "core", e))?
                    .sink
            }
        };
        let report = sink.finish().map_err(StoreError::Sink)?;
        Ok(report.bytes_allocated)
    }
}

/// Stop receiving when the core grows past these.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReceiveLimits {
    /// Logical bytes of the core (`--max-process-size`).
    pub max_size: Option<u64>,
    /// Bytes stored on disk (what `--max-use` and `--keep-free` leave).
    pub max_stored: Option<u64>,
}

/// How a receive ended.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Received {
    /// The whole core was received.
    Complete {
        /// Logical bytes.
        size: u64,
        /// Bytes of non-zero pages.
        data_bytes: u64,
        /// The threads in the core's notes, crashing one first (empty if
        /// the headers could not be read).
        threads: Vec<u32>,
        /// Seconds spent.
        seconds: f64,
    },
    /// A limit was passed; the output must be dropped, not finished.
    OverLimit {
        /// Which limit, for the metadata and the log.
        reason: String,
    },
}

/// Read a core from `input` to its end into `out`, within `limits`.
pub fn receive(
    input: &mut dyn Read,
    out: &mut CoreOutput,
    limits: ReceiveLimits,
) -> Result<Received, StoreError> {
    let started = Instant::now();
    let mut buf = vec![0u8; CHUNK];
    let mut prefix = Prefix::default();
    let mut size = 0u64;
    let mut data_bytes = 0u64;
    loop {
        let filled = read_full(input, &mut buf)
            .map_err(|e| StoreError::io("read the core from", "stdin", e))?;
        if filled == 0 {
            break;
        }
        let chunk = buf.get(..filled).unwrap_or_default();
        prefix.feed(chunk);
        size = size.saturating_add(filled as u64);
        if let Some(max) = limits.max_size.filter(|&m| size > m) {
            return Ok(Received::OverLimit {
                reason: format!("the core is larger than --max-process-size ({max} bytes)"),
            });
        }
        data_bytes = data_bytes.saturating_add(write_pages(chunk, out)?);
        if let Some(max) = limits.max_stored.filter(|&m| out.stored(data_bytes) > m) {
            return Ok(Received::OverLimit {
                reason: format!(
                    "the core would take more than the {max} bytes --max-use and --keep-free leave"
                ),
            });
        }
    }
    Ok(Received::Complete {
        size,
        data_bytes,
        threads: prefix.threads(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Fill `buf` from `input` unless it ends first; the number of bytes read.
fn read_full(input: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..).filter(|r| !r.is_empty()) {
        match input.read(rest) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn is_zero(page: &[u8]) -> bool {
    // 16-byte words: the compiler turns this into vector compares.
    let words = page.chunks_exact(16);
    let tail = words.remainder();
    words
        .map(|w| <[u8; 16]>::try_from(w).map_or(1, u128::from_ne_bytes))
        .all(|w| w == 0)
        && tail.iter().all(|&b| b == 0)
}

/// Write `chunk` (starting on a page boundary) as runs of data and runs of
/// zero pages; returns the bytes of data.
fn write_pages(chunk: &[u8], out: &mut CoreOutput) -> Result<u64, StoreError> {
    let io = |e| StoreError::io("write", "core", e);
    let mut data = 0u64;
    let mut run_start = 0usize;
    let mut run_zero = None::<bool>;
    let mut at = 0usize;
    for page in chunk.chunks(PAGE) {
        let zero = is_zero(page);
        if run_zero.is_some_and(|z| z != zero) {
            flush_run(chunk, run_start, at, run_zero == Some(true), out, &mut data).map_err(io)?;
            run_start = at;
        }
        run_zero = Some(zero);
        at += page.len();
    }
    if run_zero.is_some() {
        flush_run(chunk, run_start, at, run_zero == Some(true), out, &mut data).map_err(io)?;
    }
    Ok(data)
}

fn flush_run(
    chunk: &[u8],
    start: usize,
    end: usize,
    zero: bool,
    out: &mut CoreOutput,
    data: &mut u64,
) -> io::Result<()> {
    let run = chunk.get(start..end).unwrap_or_default();
    if zero {
        out.zeros(run.len())
    } else {
        *data = data.saturating_add(run.len() as u64);
        out.data(run)
    }
}

/// The front of the core, kept until its headers and notes are whole.
#[derive(Debug, Default)]
struct Prefix {
    bytes: Vec<u8>,
    /// Set once the notes are whole, or when they never will be readable.
    done: bool,
}

impl Prefix {
    fn feed(&mut self, chunk: &[u8]) {
        if self.done {
            return;
        }
        let room = MAX_PREFIX.saturating_sub(self.bytes.len());
        self.bytes
            .extend_from_slice(chunk.get(..room.min(chunk.len())).unwrap_or_default());
        match self.metadata_end() {
            Some(end) if end <= self.bytes.len() as u64 => {
                self.bytes
                    .truncate(usize::try_from(end).unwrap_or(usize::MAX));
                self.done = true;
            }
            // Not a core, extended numbering (the count is at the end of
            // the file), or notes larger than we keep: no threads.
            None => {
                self.bytes = Vec::new();
                self.done = true;
            }
            Some(_) if room <= chunk.len() => {
                self.bytes = Vec::new();
                self.done = true;
            }
            Some(_) => {}
        }
    }

    /// Where the notes end; `Some(u64::MAX)` while the header table is
    /// not yet whole, `None` when this is not a core we can read so.
    fn metadata_end(&self) -> Option<u64> {
        if self.bytes.len() < raw::EHDR_SIZE {
            return Some(u64::MAX);
        }
        let header = read_header(&self.bytes).ok()?;
        if header.e_phnum == raw::PN_XNUM {
            return None;
        }
        match parse_with_phnum(&self.bytes, u64::from(header.e_phnum)) {
            Ok(core) => Some(metadata_end(&core)),
            Err(_) => Some(u64::MAX),
        }
    }

    fn threads(&self) -> Vec<u32> {
        let Some(header) = read_header(&self.bytes).ok() else {
            return Vec::new();
        };
        match parse_with_phnum(&self.bytes, u64::from(header.e_phnum)) {
            Ok(core) => core
                .threads()
                .map_while(Result::ok)
                .map(|t| t.tid())
                .collect(),
            Err(_) => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_pages_become_holes_and_data_is_counted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("core");
        let mut input = vec![0u8; 3 * CHUNK + 100];
        input[5] = 1; // page 0 data
        input[PAGE * 300] = 2; // one page in the middle
        input[3 * CHUNK + 99] = 3; // the short last page
        let mut out = CoreOutput::Sparse(Sink::create_buffered(&path, false).unwrap());
        let got = receive(&mut &input[..], &mut out, ReceiveLimits::default()).unwrap();
        let Received::Complete {
            size,
            data_bytes,
            threads,
            ..
        } = got
        else {
            panic!("{got:?}")
        };
        assert_eq!(size, input.len() as u64);
        assert_eq!(data_bytes, (2 * PAGE + 100) as u64);
        assert!(threads.is_empty(), "not a core");
        let allocated = out.finish().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), input);
        assert!(allocated <= 4 * PAGE as u64, "{allocated} bytes on disk");
    }

    #[test]
    fn zstd_output_decompresses_to_the_input_and_limits_stop_early() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("core.zst");
        let input: Vec<u8> = (0..(2 * CHUNK)).map(|i| (i / PAGE % 3) as u8).collect();
        let mut out = CoreOutput::zstd(Sink::create_buffered(&path, false).unwrap(), 3, 2).unwrap();
        receive(&mut &input[..], &mut out, ReceiveLimits::default()).unwrap();
        out.finish().unwrap();
        let back = zstd::decode_all(std::fs::File::open(&path).unwrap()).unwrap();
        assert_eq!(back, input);

        let path = dir.path().join("core2");
        let mut out = CoreOutput::Sparse(Sink::create_buffered(&path, false).unwrap());
        let limits = ReceiveLimits {
            max_size: Some(CHUNK as u64),
            max_stored: None,
        };
        let got = receive(&mut &input[..], &mut out, limits).unwrap();
        assert!(matches!(got, Received::OverLimit { .. }), "{got:?}");
        drop(out);
        assert!(!path.exists(), "a dropped output leaves nothing");
    }
}
