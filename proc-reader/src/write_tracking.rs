//! Which pages of a running process are written from a moment on, through
//! the kernel's asynchronous userfaultfd write protection (Linux 6.7:
//! `UFFD_FEATURE_WP_ASYNC` and the `PAGEMAP_SCAN` ioctl).
//!
//! What it is for: copying a process's memory while it runs, then, frozen,
//! copying again only the pages written since (a pre-copy, as live
//! migration does). The frozen part is then proportional to what the
//! process wrote meanwhile, not to its size.
//!
//! How, and what the target sees:
//! - a userfaultfd is made *in the target* (its memory is the one the fd
//!   watches), by one injected `userfaultfd()` while it is frozen; we take
//!   a duplicate (`pidfd_getfd`) and close the target's own with a second
//!   injected call before it runs again, so its file table is as it was;
//! - the ranges we register are write-protected page by page. A write to a
//!   protected page takes a minor fault that the kernel resolves itself
//!   (the *asynchronous* mode: nothing waits for us) and that clears the
//!   protection, which is how a written page is told from the others;
//! - when the tracker is dropped it unregisters what it registered, a
//!   piece at a time, and closes the fd (ours is the last one), which
//!   removes any protection left.
//!
//! If coroner dies between the two injected calls, the target keeps an
//! open userfaultfd that watches nothing; nothing else is left behind.

use std::fs::File;
use std::ops::Range;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::FileExt;

use crate::error::{Error, Result};
use crate::freeze::Frozen;
#[cfg(target_arch = "x86_64")]
use crate::freeze::StopKind;
use crate::injectable::Obstacle;
use crate::process::{proc_path, Process};
use crate::sys::{self, PageRegion, ScanRequest};

#[cfg(target_arch = "x86_64")]
use crate::inject::{self, Call, Gadgets};

/// `userfaultfd()` flags: close-on-exec, non-blocking, and user-mode faults
/// only (what an unprivileged process may ask for; the asynchronous mode
/// resolves the kernel's own faults too).
#[cfg(target_arch = "x86_64")]
const UFFD_FLAGS: u64 = (libc::O_CLOEXEC | libc::O_NONBLOCK) as u64 | 1;
#[cfg(target_arch = "x86_64")]
const UFFD_FEATURE_WP_ASYNC: u64 = 1 << 15;
const UFFDIO_REGISTER_MODE_WP: u64 = 2;
const PM_SCAN_WP_MATCHING: u64 = 1;
const PM_SCAN_CHECK_WPASYNC: u64 = 2;
const PAGE_IS_WRITTEN: u64 = 1 << 1;
const PAGE_IS_PRESENT: u64 = 1 << 3;
const PAGE_IS_HUGE: u64 = 1 << 6;
/// Regions asked of one `PAGEMAP_SCAN`.
const REGIONS: usize = 4096;

/// Why writes cannot be tracked; the process is as it was in every case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrackRefusal {
    /// Only x86_64 is done.
    #[error("write tracking is done on x86_64 only")]
    Unsupported,
    /// The process is exiting or a zombie.
    #[error("the process is exiting")]
    Exiting,
    /// A seccomp filter could refuse the injected call or kill the process.
    #[error("the process runs under seccomp (mode {mode}), which could deny userfaultfd or kill the process for calling it")]
    Seccomp {
        /// `Seccomp:` of its status.
        mode: u32,
    },
    /// x86 shadow stacks would fault on the injected call's return.
    #[error("the process uses x86 shadow stacks (CET)")]
    ShadowStack,
    /// The process has a userfaultfd of its own: registering its memory
    /// too could make its own registration fail meanwhile.
    #[error("the process uses userfaultfd itself")]
    OwnUserfaultfd,
    /// No usable code for the injected call, or no thread to run it.
    #[error("{0}")]
    Injection(String),
    /// The injected `userfaultfd()` failed (errno).
    #[error("userfaultfd() in the process failed (errno {errno})")]
    CallFailed {
        /// The call's errno.
        errno: i32,
    },
    /// The kernel has no asynchronous write protection (before 6.7), or
    /// refused a step of it.
    #[error("the kernel cannot track writes asynchronously ({0})")]
    Kernel(String),
}

/// What [`WriteTracker::plan`] found before freezing.
#[derive(Debug, Clone)]
pub struct TrackPlan {
    #[cfg(target_arch = "x86_64")]
    pid: u32,
    #[cfg(target_arch = "x86_64")]
    gadgets: Gadgets,
}

/// Tracks the pages of a process written since they were protected.
/// Dropping it ends the tracking and removes every protection.
#[derive(Debug)]
pub struct WriteTracker {
    pid: u32,
    uffd: OwnedFd,
    pagemap: File,
    /// Registered ranges, to unregister a piece at a time on drop.
    registered: Vec<Range<u64>>,
}

/// Bytes unregistered at a time when tracking ends: the kernel holds the
/// process's memory map locked for writing while it removes the protection
/// (about 30 ms per GiB measured here), and a page fault of the process
/// waits for it; in pieces, no wait is longer than a few ms.
const UNREGISTER_PIECE: u64 = 64 << 20;

impl Drop for WriteTracker {
    fn drop(&mut self) {
        for r in std::mem::take(&mut self.registered) {
            let mut at = r.start;
            while at < r.end {
                let len = r.end.saturating_sub(at).min(UNREGISTER_PIECE);
                // A piece unmapped meanwhile fails; closing the fd (next)
                // ends whatever is left.
                let _ = sys::uffdio_unregister(self.uffd.as_fd(), at, len);
                at = at.saturating_add(len);
            }
        }
    }
}

fn scan_error(pid: u32, e: std::io::Error) -> Error {
    Error::Io {
        pid,
        path: proc_path(pid, "pagemap"),
        op: "PAGEMAP_SCAN",
        source: e,
    }
}

impl WriteTracker {
    /// Before freezing: whether writes can be tracked in `process`, and
    /// the code the injected calls need. `Err` only when the process
    /// cannot be read.
    pub fn plan(process: &Process) -> Result<std::result::Result<TrackPlan, TrackRefusal>> {
        if !cfg!(target_arch = "x86_64") {
            return Ok(Err(TrackRefusal::Unsupported));
        }
        match crate::injectable::check(process)? {
            Ok(_) => {}
            Err(Obstacle::Exiting) => return Ok(Err(TrackRefusal::Exiting)),
            Err(Obstacle::Seccomp(mode)) => return Ok(Err(TrackRefusal::Seccomp { mode })),
            Err(Obstacle::ShadowStack) => return Ok(Err(TrackRefusal::ShadowStack)),
        }
        if has_own_userfaultfd(process) {
            return Ok(Err(TrackRefusal::OwnUserfaultfd));
        }
        #[cfg(target_arch = "x86_64")]
        {
            Ok(match Gadgets::find(process)? {
                Ok(gadgets) => Ok(TrackPlan {
                    pid: process.pid(),
                    gadgets,
                }),
                Err(r) => Err(TrackRefusal::Injection(r.to_string())),
            })
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            Ok(Err(TrackRefusal::Unsupported))
        }
    }

    /// Register `range` (one whole mapping of private anonymous memory) for
    /// tracking. Fails for memory the kernel cannot track, or that a
    /// userfaultfd already watches.
    pub fn register(&mut self, range: Range<u64>) -> std::io::Result<()> {
        sys::uffdio_register(
            self.uffd.as_fd(),
            range.start,
            range.end.saturating_sub(range.start),
            UFFDIO_REGISTER_MODE_WP,
        )?;
        self.registered.push(range);
        Ok(())
    }

    /// Write-protect the present pages of `range` (registered) that are not
    /// in huge pages, and append them to `out` as merged ranges: from now
    /// on a write to one of them shows in [`WriteTracker::written`]. Huge
    /// pages are left alone, since a write to a protected one would split
    /// its mapping for good.
    pub fn protect(&self, range: Range<u64>, out: &mut Vec<Range<u64>>) -> Result<()> {
        self.scan(
            &ScanRequest {
                flags: PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
                start: range.start,
                end: range.end,
                category_inverted: PAGE_IS_HUGE,
                category_mask: PAGE_IS_PRESENT | PAGE_IS_HUGE,
                category_anyof_mask: 0,
                return_mask: PAGE_IS_PRESENT,
            },
            out,
        )
    }

    /// Append to `out` the pages of `range` written since they were
    /// protected, and those never protected (the kernel counts those as
    /// written).
    pub fn written(&self, range: Range<u64>, out: &mut Vec<Range<u64>>) -> Result<()> {
        self.scan(
            &ScanRequest {
                flags: 0,
                start: range.start,
                end: range.end,
                category_inverted: 0,
                category_mask: PAGE_IS_WRITTEN,
                category_anyof_mask: 0,
                return_mask: PAGE_IS_WRITTEN,
            },
            out,
        )
    }

    fn scan(&self, req: &ScanRequest, out: &mut Vec<Range<u64>>) -> Result<()> {
        let mut regions = vec![PageRegion::default(); REGIONS];
        // The kernel takes whole pages only.
        let page = sys::page_size().max(1);
        let mut req = ScanRequest {
            start: req
                .start
                .checked_div(page)
                .unwrap_or(0)
                .saturating_mul(page),
            end: req.end.div_ceil(page).saturating_mul(page),
            ..*req
        };
        while req.start < req.end {
            let (n, walk_end) = sys::pagemap_scan(self.pagemap.as_fd(), &req, &mut regions)
                .map_err(|e| scan_error(self.pid, e))?;
            for r in regions.iter().take(n) {
                match out.last_mut() {
                    Some(last) if last.end == r.start => last.end = r.end,
                    _ => out.push(r.start..r.end),
                }
            }
            if walk_end <= req.start {
                break;
            }
            req.start = walk_end;
        }
        Ok(())
    }

    /// The page frame numbers of the pages of `range` (page-aligned), 0 for
    /// a page not present (or when this process may not see frame numbers,
    /// without `CAP_SYS_ADMIN`).
    pub fn frames(&self, range: Range<u64>) -> Result<Vec<u64>> {
        let page = sys::page_size().max(1);
        let pages = range
            .end
            .saturating_sub(range.start)
            .checked_div(page)
            .unwrap_or(0);
        let mut raw = vec![0u8; usize::try_from(pages.saturating_mul(8)).unwrap_or(0)];
        let at = range.start.checked_div(page).unwrap_or(0).saturating_mul(8);
        self.pagemap
            .read_exact_at(&mut raw, at)
            .map_err(|e| Error::Io {
                pid: self.pid,
                path: proc_path(self.pid, "pagemap"),
                op: "read",
                source: e,
            })?;
        Ok(raw
            .chunks_exact(8)
            .map(|c| {
                let mut w = [0u8; 8];
                w.copy_from_slice(c);
                crate::PagemapEntry(u64::from_ne_bytes(w))
                    .pfn()
                    .unwrap_or(0)
            })
            .collect())
    }
}

impl Frozen<'_> {
    /// Start tracking writes in the frozen process: make a userfaultfd in
    /// it (one injected call), take it over and close the process's own
    /// (a second call), and turn on asynchronous write protection. Nothing
    /// is registered yet ([`WriteTracker::register`]).
    pub fn track_writes(
        &self,
        plan: &TrackPlan,
    ) -> Result<std::result::Result<WriteTracker, TrackRefusal>> {
        let process = self.process();
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (plan, process);
            return Ok(Err(TrackRefusal::Unsupported));
        }
        #[cfg(target_arch = "x86_64")]
        {
            let pid = process.pid();
            if plan.pid != pid {
                return Ok(Err(TrackRefusal::Injection(format!(
                    "the plan is for process {}",
                    plan.pid
                ))));
            }
            if self
                .threads()
                .iter()
                .any(|t| matches!(t.stop, StopKind::GroupStop { .. }))
            {
                return Ok(Err(TrackRefusal::Injection(
                    "the process is stopped by job control (SIGSTOP/SIGTSTP)".to_owned(),
                )));
            }
            let Some(thread) = self
                .threads()
                .iter()
                .filter(|t| t.stop == StopKind::Interrupted)
                .filter_map(|t| inject::suitability(&t.regs).map(|s| (s, t)))
                .min_by_key(|(s, _)| *s)
                .map(|(_, t)| t)
            else {
                return Ok(Err(TrackRefusal::Injection(
                    "no thread can run the call".to_owned(),
                )));
            };
            let maps = process.maps()?;
            let run = |call: Call| {
                inject::inject(
                    process,
                    thread.tid,
                    &thread.regs,
                    &plan.gadgets,
                    &maps,
                    call,
                )
            };
            let made = match run(Call::userfaultfd(UFFD_FLAGS))? {
                Ok(o) => o.ret,
                Err(r) => return Ok(Err(TrackRefusal::Injection(r.to_string()))),
            };
            let Ok(target_fd) = i32::try_from(made) else {
                return Ok(Err(TrackRefusal::CallFailed { errno: 0 }));
            };
            if target_fd < 0 {
                return Ok(Err(TrackRefusal::CallFailed {
                    errno: target_fd.saturating_neg(),
                }));
            }
            let ours = sys::pidfd_open(pid).and_then(|p| sys::pidfd_getfd(p.as_fd(), target_fd));
            // Close the process's own whatever happened: its file table is
            // as it was before it runs again.
            let closed = run(Call::close(target_fd));
            let uffd = match ours {
                Ok(fd) => fd,
                Err(e) => {
                    return Ok(Err(TrackRefusal::Kernel(format!(
                        "taking the userfaultfd over: {e}"
                    ))))
                }
            };
            match closed? {
                Ok(o) if o.ret == 0 => {}
                Ok(o) => {
                    return Ok(Err(TrackRefusal::CallFailed {
                        errno: i32::try_from(o.ret.saturating_neg()).unwrap_or(0),
                    }))
                }
                Err(r) => return Ok(Err(TrackRefusal::Injection(r.to_string()))),
            }
            if let Err(e) = sys::uffdio_api(uffd.as_fd(), UFFD_FEATURE_WP_ASYNC) {
                return Ok(Err(TrackRefusal::Kernel(format!("UFFDIO_API: {e}"))));
            }
            let pagemap = File::from(process.open_file("pagemap", libc::O_RDONLY)?);
            Ok(Ok(WriteTracker {
                pid,
                uffd,
                pagemap,
                registered: Vec::new(),
            }))
        }
    }
}

/// Whether any of the process's files is a userfaultfd.
fn has_own_userfaultfd(process: &Process) -> bool {
    let dir = proc_path(process.pid(), "fd");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        // Unreadable: assume the worst.
        return true;
    };
    entries.flatten().any(|e| {
        std::fs::read_link(e.path())
            .map(|l| l.as_os_str().to_string_lossy().contains("userfaultfd"))
            .unwrap_or(false)
    })
}
