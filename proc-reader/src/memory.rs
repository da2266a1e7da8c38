//! Reading another process's memory, and finding which pages hold data.

use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::parse::pagemap::{PagemapEntry, ENTRY_SIZE};
use crate::process::{proc_path, Process};
use crate::sys;

/// How [`MemoryReader`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ReadMethod {
    /// `process_vm_readv`, continuing through `/proc/<pid>/mem` where it
    /// stops short (and entirely when the syscall is unavailable).
    #[default]
    Auto,
    /// `process_vm_readv` only.
    ProcessVmReadv,
    /// `pread` on `/proc/<pid>/mem` only.
    ProcMem,
}

/// Most iovecs per `process_vm_readv` call (the kernel's `UIO_MAXIOV`).
const MAX_IOV: usize = 1024;

/// Pagemap bytes read per `pread` (16384 entries = 64 MiB of address space
/// with 4 KiB pages).
const PAGEMAP_CHUNK: usize = 128 * 1024;

/// One request of a [`MemoryReader::read_batch`].
#[derive(Debug)]
pub struct ReadRequest<'a> {
    /// Address in the target.
    pub addr: u64,
    /// Where the bytes go.
    pub buf: &'a mut [u8],
    /// Filled in: how many bytes from `addr` on were readable.
    pub got: usize,
}

impl<'a> ReadRequest<'a> {
    /// A request for `buf.len()` bytes at `addr`.
    pub fn new(addr: u64, buf: &'a mut [u8]) -> ReadRequest<'a> {
        ReadRequest { addr, buf, got: 0 }
    }
}

/// Reads memory of a process (frozen or not) and its pagemap. It needs the
/// same permission as ptrace attach, but not to be the tracer, so any thread
/// may use it.
#[derive(Debug)]
pub struct MemoryReader {
    process: Process,
    pid: u32,
    /// The task the syscalls name: the pid, or a live thread when the main
    /// thread has exited.
    io_pid: u32,
    mem: File,
    pagemap: File,
    page_size: u64,
    method: ReadMethod,
}

impl MemoryReader {
    /// Open `/proc/<pid>/mem` and `/proc/<pid>/pagemap` of `process`.
    pub fn new(process: &Process) -> Result<MemoryReader> {
        // The memory belongs to the process, but the kernel reaches it through
        // one task: when the main thread has exited (a zombie leader whose
        // other threads run on), go through a live thread instead.
        let pid = process.pid();
        let (prefix, io_pid) = match process.address_space_thread() {
            Some(tid) => (format!("task/{tid}/"), tid),
            None => (String::new(), pid),
        };
        let mem = File::from(process.open_file(&format!("{prefix}mem"), libc::O_RDONLY)?);
        let pagemap = File::from(process.open_file(&format!("{prefix}pagemap"), libc::O_RDONLY)?);
        Ok(MemoryReader {
            process: process.try_clone()?,
            pid,
            io_pid,
            mem,
            pagemap,
            page_size: sys::page_size(),
            method: ReadMethod::Auto,
        })
    }

    /// Choose the read method (the default is [`ReadMethod::Auto`]).
    pub fn set_method(&mut self, method: ReadMethod) {
        self.method = method;
    }

    /// The process whose memory this reads.
    pub fn process(&self) -> &Process {
        &self.process
    }

    /// The page size.
    pub fn page_size(&self) -> u64 {
        self.page_size
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    fn mem_path(&self) -> PathBuf {
        proc_path(self.pid, "mem")
    }

    fn error(&self, e: std::io::Error, op: &'static str, name: &str) -> Error {
        self.process.classify(e, op, name)
    }

    /// [`Error::ProcessGone`] when the process has exited (an empty read
    /// of `mem` or `pagemap` is how the kernel says so).
    fn gone(&self, name: &str) -> Option<Error> {
        let path = proc_path(self.pid, name);
        match self.process.zombie() {
            None => Some(Error::ProcessGone {
                pid: self.pid,
                path,
                zombie: false,
            }),
            Some(true) => Some(Error::ProcessGone {
                pid: self.pid,
                path,
                zombie: true,
            }),
            Some(false) => None,
        }
    }

    /// Read up to `buf.len()` bytes at `addr`; returns how many bytes from
    /// `addr` on were readable (a short count stops at the first unreadable
    /// byte). Errors only for a vanished process or a denied permission.
    pub fn read_at(&self, addr: u64, buf: &mut [u8]) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut got = match self.method {
            ReadMethod::ProcMem => 0,
            ReadMethod::Auto | ReadMethod::ProcessVmReadv => self.vm_readv(addr, buf)?,
        };
        if got < buf.len() && self.method != ReadMethod::ProcessVmReadv {
            let rest = buf.get_mut(got..).unwrap_or(&mut []);
            got = got.saturating_add(self.pread(addr.saturating_add(as_u64(got)), rest)?);
        }
        Ok(got)
    }

    /// `process_vm_readv` of one range; unreadable start gives 0.
    fn vm_readv(&self, addr: u64, buf: &mut [u8]) -> Result<usize> {
        let len = buf.len();
        match sys::process_vm_readv(self.io_pid, &mut [buf], &[(addr, len)]) {
            Ok(n) => Ok(n),
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EFAULT | libc::EIO | libc::EINVAL)
                ) =>
            {
                Ok(0)
            }
            // No such syscall (old kernel or a seccomp filter): /proc/pid/mem only.
            Err(e) if e.raw_os_error() == Some(libc::ENOSYS) && self.method == ReadMethod::Auto => {
                Ok(0)
            }
            Err(e) => Err(self.error(e, "process_vm_readv", "mem")),
        }
    }

    /// `pread` on `/proc/<pid>/mem` until done or the first unreadable byte.
    fn pread(&self, addr: u64, buf: &mut [u8]) -> Result<usize> {
        let mut done = 0usize;
        while let Some(rest) = buf.get_mut(done..).filter(|r| !r.is_empty()) {
            let at = addr.saturating_add(as_u64(done));
            // Offsets past i64::MAX (kernel addresses) are invalid for pread.
            if i64::try_from(at).is_err() {
                break;
            }
            match self.mem.read_at(rest, at) {
                Ok(0) => {
                    if done == 0 {
                        if let Some(gone) = self.gone("mem") {
                            return Err(gone);
                        }
                    }
                    break;
                }
                Ok(n) => done = done.saturating_add(n),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::EIO | libc::EFAULT | libc::EINVAL)
                    ) =>
                {
                    break
                }
                Err(e) => return Err(self.error(e, "pread", "mem")),
            }
        }
        Ok(done)
    }

    /// Read exactly `buf.len()` bytes at `addr`, or fail with
    /// [`Error::PartialRead`] saying how much was readable.
    pub fn read_exact_at(&self, addr: u64, buf: &mut [u8]) -> Result<()> {
        let got = self.read_at(addr, buf)?;
        if got == buf.len() {
            Ok(())
        } else {
            Err(Error::PartialRead {
                pid: self.pid,
                path: self.mem_path(),
                addr,
                got,
                wanted: buf.len(),
            })
        }
    }

    /// Read `buf.len()` bytes at `addr`, going on past unreadable pages:
    /// those bytes are zeroed and returned as holes (page-aligned ranges,
    /// clipped to the request). Everything outside the holes is real data.
    /// Unmapped gaps are skipped whole (the mapping list is read at the first
    /// hole); unreadable pages inside a mapping are tried one page at a time.
    pub fn read_with_holes(&self, addr: u64, buf: &mut [u8]) -> Result<Vec<Range<u64>>> {
        let mut holes: Vec<Range<u64>> = Vec::new();
        let mut maps: Option<Vec<crate::Mapping>> = None;
        let end = addr.saturating_add(as_u64(buf.len()));
        let mut pos = 0usize;
        while pos < buf.len() {
            let here = addr.saturating_add(as_u64(pos));
            let n = self.read_at(here, buf.get_mut(pos..).unwrap_or(&mut []))?;
            pos = pos.saturating_add(n);
            if pos >= buf.len() {
                break;
            }
            // The page at `hole` could not be read: skip to the next page,
            // or past the whole gap when no mapping covers it.
            let hole = addr.saturating_add(as_u64(pos));
            if maps.is_none() {
                maps = Some(self.process.maps()?);
            }
            let gap_end = maps.as_deref().and_then(|m| unmapped_until(m, hole));
            let next = gap_end
                .unwrap_or_else(|| align_down(hole, self.page_size).saturating_add(self.page_size))
                .min(end);
            let skip = usize::try_from(next.saturating_sub(hole)).unwrap_or(usize::MAX);
            let hole_end = pos.saturating_add(skip).min(buf.len());
            if let Some(z) = buf.get_mut(pos..hole_end) {
                z.fill(0);
            }
            match holes.last_mut() {
                Some(last) if last.end == hole => last.end = next,
                _ => holes.push(hole..next),
            }
            pos = hole_end;
        }
        Ok(holes)
    }

    /// Read many ranges with as few `process_vm_readv` calls as possible (up
    /// to 1024 ranges per call); each request's `got` says how much of it was
    /// readable from its start. Requests the batch stops short in are
    /// finished one by one (falling back to `/proc/<pid>/mem` under
    /// [`ReadMethod::Auto`]).
    pub fn read_batch(&self, requests: &mut [ReadRequest<'_>]) -> Result<()> {
        if self.method == ReadMethod::ProcMem {
            for r in requests.iter_mut() {
                r.got = self.read_at(r.addr, r.buf)?;
            }
            return Ok(());
        }
        let mut start = 0usize;
        while start < requests.len() {
            let stop = start.saturating_add(MAX_IOV).min(requests.len());
            let batch = requests.get_mut(start..stop).unwrap_or(&mut []);
            let remote: Vec<(u64, usize)> = batch.iter().map(|r| (r.addr, r.buf.len())).collect();
            let mut local: Vec<&mut [u8]> = batch.iter_mut().map(|r| &mut *r.buf).collect();
            let total = match sys::process_vm_readv(self.io_pid, &mut local, &remote) {
                Ok(n) => n,
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::EFAULT | libc::EIO | libc::EINVAL | libc::ENOSYS)
                    ) =>
                {
                    0
                }
                Err(e) => return Err(self.error(e, "process_vm_readv", "mem")),
            };
            drop(local);
            // The kernel fills requests in order and stops at the first fault.
            let mut left = total;
            let mut finished = 0usize;
            for r in batch.iter_mut() {
                let len = r.buf.len();
                if left >= len {
                    r.got = len;
                    left = left.saturating_sub(len);
                    finished = finished.saturating_add(1);
                } else {
                    r.got = left;
                    break;
                }
            }
            // The request it stopped in: finish it alone, then batch on.
            if let Some(r) = batch.get_mut(finished) {
                let rest = r.buf.get_mut(r.got..).unwrap_or(&mut []);
                let more = self.read_at(r.addr.saturating_add(as_u64(r.got)), rest)?;
                r.got = r.got.saturating_add(more);
                finished = finished.saturating_add(1);
            }
            start = start.saturating_add(finished.max(1));
        }
        Ok(())
    }

    /// Call `f(page_address, entry)` for every page in `[start, end)` (both
    /// rounded out to pages) from `/proc/<pid>/pagemap`, in address order.
    /// Reading the pagemap never faults pages in.
    pub fn scan_pagemap(
        &self,
        start: u64,
        end: u64,
        mut f: impl FnMut(u64, PagemapEntry),
    ) -> Result<()> {
        let page = self.page_size;
        let first = start.checked_div(page).unwrap_or(0);
        let last = end
            .saturating_add(page.saturating_sub(1))
            .checked_div(page)
            .unwrap_or(0);
        // No larger than the scan: small scans (a page, as capture's
        // sampling before the freeze does thousands of times) would
        // otherwise each map and zero 128 KiB.
        let entries_wanted = usize::try_from(last.saturating_sub(first)).unwrap_or(usize::MAX);
        let mut buf = vec![0u8; entries_wanted.saturating_mul(ENTRY_SIZE).min(PAGEMAP_CHUNK)];
        let mut index = first;
        while index < last {
            let want = usize::try_from(last.saturating_sub(index))
                .unwrap_or(usize::MAX)
                .min(PAGEMAP_CHUNK / ENTRY_SIZE);
            let bytes = want.saturating_mul(ENTRY_SIZE);
            let chunk = buf.get_mut(..bytes).unwrap_or(&mut []);
            let offset = index.saturating_mul(as_u64(ENTRY_SIZE));
            let n = match self.pagemap.read_at(chunk, offset) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.error(e, "pread", "pagemap")),
            };
            let entries = n / ENTRY_SIZE;
            if entries == 0 {
                if let Some(gone) = self.gone("pagemap") {
                    return Err(gone);
                }
                // Past the end of the address space: nothing more is mapped.
                break;
            }
            for (i, raw) in chunk
                .get(..entries.saturating_mul(ENTRY_SIZE))
                .unwrap_or(&[])
                .chunks_exact(ENTRY_SIZE)
                .enumerate()
            {
                let mut w = [0u8; ENTRY_SIZE];
                w.copy_from_slice(raw);
                let addr = index.saturating_add(as_u64(i)).saturating_mul(page);
                f(addr, PagemapEntry(u64::from_ne_bytes(w)));
            }
            index = index.saturating_add(as_u64(entries));
        }
        Ok(())
    }

    /// Runs of pages in `[start, end)` that hold data (present in RAM or
    /// swapped out), merged and in address order. Untouched memory (never
    /// faulted in) is not listed and is not faulted in by the scan.
    pub fn present_pages(&self, start: u64, end: u64) -> Result<Vec<Range<u64>>> {
        let page = self.page_size;
        let mut runs: Vec<Range<u64>> = Vec::new();
        self.scan_pagemap(start, end, |addr, e| {
            if !e.has_data() {
                return;
            }
            let page_end = addr.saturating_add(page);
            match runs.last_mut() {
                Some(last) if last.end == addr => last.end = page_end,
                _ => runs.push(addr..page_end),
            }
        })?;
        Ok(runs)
    }
}

/// When `addr` lies in no mapping of the sorted list, where the gap ends
/// (the next mapping's start, or the end of the address space).
fn unmapped_until(maps: &[crate::Mapping], addr: u64) -> Option<u64> {
    let next = maps.partition_point(|m| m.end <= addr);
    match maps.get(next) {
        Some(m) if m.start <= addr => None,
        Some(m) => Some(m.start),
        None => Some(u64::MAX),
    }
}

fn as_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

fn align_down(addr: u64, page: u64) -> u64 {
    addr.checked_rem(page)
        .map_or(addr, |r| addr.saturating_sub(r))
}
