//! Thin safe wrappers over the system calls the crate needs. The only place
//! with `unsafe`; every block states why it is sound.
#![allow(unsafe_code)]

#[path = "sys_trap.rs"]
mod trap;
pub(crate) use trap::*;

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// Convert a pid/tid to the kernel's signed type.
fn pid_t(pid: u32) -> io::Result<libc::pid_t> {
    libc::pid_t::try_from(pid).map_err(|_| io::Error::from_raw_os_error(libc::ESRCH))
}

/// `openat(dir, name, flags | O_CLOEXEC)`.
pub(crate) fn openat(dir: BorrowedFd<'_>, name: &CStr, flags: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: `name` is a valid NUL-terminated string for the duration of the
    // call and `dir` is an open descriptor borrowed for the call.
    let fd = unsafe { libc::openat(dir.as_raw_fd(), name.as_ptr(), flags | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned `fd` as a new descriptor that nothing
    // else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `open(path, flags | O_CLOEXEC)`.
pub(crate) fn open(path: &CStr, flags: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: `path` is a valid NUL-terminated string for the call.
    let fd = unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `lseek(fd, offset, whence)`: the new offset, or `None` when the kernel
/// answers ENXIO (for `SEEK_DATA` / `SEEK_HOLE`: nothing at or after
/// `offset`).
pub(crate) fn lseek(
    fd: BorrowedFd<'_>,
    offset: u64,
    whence: libc::c_int,
) -> io::Result<Option<u64>> {
    let offset =
        libc::off_t::try_from(offset).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: a plain system call on a descriptor borrowed for its duration;
    // no memory is passed to the kernel.
    let r = unsafe { libc::lseek(fd.as_raw_fd(), offset, whence) };
    if r < 0 {
        let e = io::Error::last_os_error();
        return if e.raw_os_error() == Some(libc::ENXIO) {
            Ok(None)
        } else {
            Err(e)
        };
    }
    u64::try_from(r)
        .map(Some)
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

/// `readlinkat(dir, name)`, growing the buffer until the target fits.
pub(crate) fn readlinkat(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; 256];
    loop {
        // SAFETY: `buf` is writable for `buf.len()` bytes, `name` is
        // NUL-terminated and `dir` is open for the call.
        let n = unsafe {
            libc::readlinkat(
                dir.as_raw_fd(),
                name.as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
        if n < buf.len() {
            buf.truncate(n);
            return Ok(buf);
        }
        if buf.len() >= 1 << 20 {
            return Err(io::Error::from_raw_os_error(libc::ENAMETOOLONG));
        }
        buf.resize(buf.len().saturating_mul(2), 0);
    }
}

/// Fill `buf` with raw `linux_dirent64` records from `getdents64`; returns the
/// byte count (0 at the end of the directory).
pub(crate) fn getdents64(dir: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is writable for `buf.len()` bytes; the kernel writes at
    // most that many.
    let n = unsafe {
        libc::syscall(
            libc::SYS_getdents64,
            dir.as_raw_fd(),
            buf.as_mut_ptr(),
            buf.len(),
        )
    };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

/// `process_vm_readv` of `remote` (address, length) ranges into the `local`
/// buffers, in order. Returns the bytes read; the kernel stops at the first
/// unreadable byte. At most 1024 iovecs per side.
pub(crate) fn process_vm_readv(
    pid: u32,
    local: &mut [&mut [u8]],
    remote: &[(u64, usize)],
) -> io::Result<usize> {
    let pid = pid_t(pid)?;
    let local_iov: Vec<libc::iovec> = local
        .iter_mut()
        .map(|b| libc::iovec {
            iov_base: b.as_mut_ptr().cast(),
            iov_len: b.len(),
        })
        .collect();
    let remote_iov = remote
        .iter()
        .map(|&(addr, len)| {
            let addr =
                usize::try_from(addr).map_err(|_| io::Error::from_raw_os_error(libc::EFAULT))?;
            // The remote address is only a number here; it is never dereferenced
            // in this process.
            Ok(libc::iovec {
                iov_base: addr as *mut libc::c_void,
                iov_len: len,
            })
        })
        .collect::<io::Result<Vec<_>>>()?;
    let nlocal = libc::c_ulong::try_from(local_iov.len())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let nremote = libc::c_ulong::try_from(remote_iov.len())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: every local iovec points into a live `&mut [u8]` of the stated
    // length, exclusively borrowed for the call; remote iovecs describe the
    // other process's memory and are only interpreted by the kernel.
    let n = unsafe {
        libc::process_vm_readv(
            pid,
            local_iov.as_ptr(),
            nlocal,
            remote_iov.as_ptr(),
            nremote,
            0,
        )
    };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

fn ptrace_result(r: libc::c_long) -> io::Result<libc::c_long> {
    if r == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// `PTRACE_SEIZE` with no options: attach without stopping or signalling.
pub(crate) fn ptrace_seize(tid: u32) -> io::Result<()> {
    let tid = pid_t(tid)?;
    // SAFETY: PTRACE_SEIZE reads no memory of ours: addr is ignored and data
    // holds the option bits (none).
    ptrace_result(unsafe {
        libc::ptrace(
            libc::PTRACE_SEIZE,
            tid,
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_void>(),
        )
    })
    .map(drop)
}

/// `PTRACE_INTERRUPT`: make a seized thread enter a ptrace stop.
pub(crate) fn ptrace_interrupt(tid: u32) -> io::Result<()> {
    let tid = pid_t(tid)?;
    // SAFETY: PTRACE_INTERRUPT takes no addr or data.
    ptrace_result(unsafe {
        libc::ptrace(
            libc::PTRACE_INTERRUPT,
            tid,
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_void>(),
        )
    })
    .map(drop)
}

/// `PTRACE_DETACH`, delivering `signal` (0 for none) as the thread resumes.
pub(crate) fn ptrace_detach(tid: u32, signal: i32) -> io::Result<()> {
    let tid = pid_t(tid)?;
    let sig = usize::try_from(signal).unwrap_or(0);
    // SAFETY: PTRACE_DETACH takes the signal number in data (passed as an
    // integer, not dereferenced) and ignores addr.
    ptrace_result(unsafe {
        libc::ptrace(
            libc::PTRACE_DETACH,
            tid,
            std::ptr::null_mut::<libc::c_void>(),
            sig as *mut libc::c_void,
        )
    })
    .map(drop)
}

/// `PTRACE_GETREGSET` of note type `nt` into `buf`; returns the size the
/// kernel filled in.
pub(crate) fn ptrace_getregset(tid: u32, nt: u32, buf: &mut [u8]) -> io::Result<usize> {
    let tid = pid_t(tid)?;
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let nt = usize::try_from(nt).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: `iov` describes `buf`, writable for its length; the kernel
    // writes at most iov_len bytes there and updates iov_len. addr is the
    // note type as an integer.
    ptrace_result(unsafe {
        libc::ptrace(
            libc::PTRACE_GETREGSET,
            tid,
            nt as *mut libc::c_void,
            std::ptr::addr_of_mut!(iov),
        )
    })?;
    Ok(iov.iov_len.min(buf.len()))
}

pub(crate) use crate::parse::siginfo::SIGINFO_SIZE;

/// `PTRACE_GETSIGINFO`: the raw siginfo of the signal that stopped the thread.
pub(crate) fn ptrace_getsiginfo(tid: u32) -> io::Result<[u8; SIGINFO_SIZE]> {
    let tid = pid_t(tid)?;
    let mut info = [0u64; SIGINFO_SIZE / 8];
    // SAFETY: the kernel writes one siginfo_t (128 bytes) to data; `info` is
    // 128 writable, suitably aligned bytes.
    ptrace_result(unsafe {
        libc::ptrace(
            libc::PTRACE_GETSIGINFO,
            tid,
            std::ptr::null_mut::<libc::c_void>(),
            info.as_mut_ptr(),
        )
    })?;
    let mut out = [0u8; SIGINFO_SIZE];
    for (dst, word) in out.chunks_exact_mut(8).zip(info) {
        dst.copy_from_slice(&word.to_ne_bytes());
    }
    Ok(out)
}

/// Decoded `waitpid` status of a traced thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WaitStatus {
    /// In a ptrace stop: the stop signal and the PTRACE_EVENT (0 = a
    /// signal-delivery stop).
    Stopped { signal: i32, event: i32 },
    /// Exited or killed.
    Gone,
    /// Something else (continued).
    Other,
}

/// `waitpid(tid, __WALL | WNOHANG)`: `None` when the thread has nothing to report.
pub(crate) fn waitpid_nohang(tid: u32) -> io::Result<Option<WaitStatus>> {
    let tid = pid_t(tid)?;
    let mut status: libc::c_int = 0;
    // SAFETY: `status` is a valid, writable int for the call.
    let r = unsafe { libc::waitpid(tid, &mut status, libc::__WALL | libc::WNOHANG) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    if r == 0 {
        return Ok(None);
    }
    Ok(Some(if libc::WIFSTOPPED(status) {
        WaitStatus::Stopped {
            signal: libc::WSTOPSIG(status),
            event: (status >> 16) & 0xff,
        }
    } else if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
        WaitStatus::Gone
    } else {
        WaitStatus::Other
    }))
}

/// Our effective uid.
pub(crate) fn geteuid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// `sysconf(name)`, `None` when unknown.
fn sysconf(name: libc::c_int) -> Option<u64> {
    // SAFETY: sysconf only reads configuration; any name is allowed.
    let v = unsafe { libc::sysconf(name) };
    u64::try_from(v).ok().filter(|&v| v > 0)
}

/// The system page size.
pub(crate) fn page_size() -> u64 {
    sysconf(libc::_SC_PAGESIZE).unwrap_or(4096)
}

/// Clock ticks per second for `stat` times.
pub(crate) fn clock_ticks() -> u64 {
    sysconf(libc::_SC_CLK_TCK).unwrap_or(100)
}

/// Test helper: a fresh `MAP_SHARED` read-write mapping of `len` bytes, of
/// `file` or anonymous, and `/proc/self/mem` opened for writing into it.
#[cfg(test)]
pub(crate) fn test_mmap_shared(file: Option<&std::fs::File>, len: u64) -> (u64, std::fs::File) {
    let (flags, fd) = match file {
        Some(f) => (libc::MAP_SHARED, f.as_raw_fd()),
        None => (libc::MAP_SHARED | libc::MAP_ANONYMOUS, -1),
    };
    // SAFETY: a new mapping at an address the kernel chooses; it aliases no
    // Rust object, and the test unmaps it with `test_munmap`.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            usize::try_from(len).unwrap(),
            libc::PROT_READ | libc::PROT_WRITE,
            flags,
            fd,
            0,
        )
    };
    assert_ne!(p, libc::MAP_FAILED, "{}", io::Error::last_os_error());
    let mem = std::fs::OpenOptions::new()
        .write(true)
        .open("/proc/self/mem")
        .unwrap();
    (p as u64, mem)
}

/// Test helper: unmap what [`test_mmap_shared`] mapped.
#[cfg(test)]
pub(crate) fn test_munmap(addr: u64, len: u64) {
    // SAFETY: `addr..addr + len` is a mapping this test made and no longer
    // uses; nothing refers to it.
    unsafe { libc::munmap(addr as *mut libc::c_void, usize::try_from(len).unwrap()) };
}

// Setting registers, options, signal masks and stepping to a system call
// serve only the injected call (`inject`, x86_64 code), so they are built
// for x86_64 alone.

/// `PTRACE_SETREGSET` of note type `nt` from `buf`.
#[cfg(target_arch = "x86_64")]
pub(crate) fn ptrace_setregset(tid: u32, nt: u32, buf: &[u8]) -> io::Result<()> {
    let tid = pid_t(tid)?;
    let mut iov = libc::iovec {
        // The kernel only reads through this pointer for SETREGSET.
        iov_base: buf.as_ptr().cast_mut().cast(),
        iov_len: buf.len(),
    };
    let nt = usize::try_from(nt).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: `iov` describes `buf`, readable for its length; for
    // PTRACE_SETREGSET the kernel only reads from it. addr is the note type
    // as an integer.
    ptrace_result(unsafe {
        libc::ptrace(
            libc::PTRACE_SETREGSET,
            tid,
            nt as *mut libc::c_void,
            std::ptr::addr_of_mut!(iov),
        )
    })
    .map(drop)
}

/// `PTRACE_SETOPTIONS` with `options` (`PTRACE_O_*` bits).
#[cfg(target_arch = "x86_64")]
pub(crate) fn ptrace_setoptions(tid: u32, options: libc::c_int) -> io::Result<()> {
    let tid = pid_t(tid)?;
    let options =
        usize::try_from(options).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: PTRACE_SETOPTIONS takes the option bits as an integer in data
    // and ignores addr; no memory is passed.
    ptrace_result(unsafe {
        libc::ptrace(
            libc::PTRACE_SETOPTIONS,
            tid,
            std::ptr::null_mut::<libc::c_void>(),
            options as *mut libc::c_void,
        )
    })
    .map(drop)
}

/// `PTRACE_SYSCALL`: resume a stopped tracee until its next system-call
/// entry or exit (or other stop), delivering no signal.
#[cfg(target_arch = "x86_64")]
pub(crate) fn ptrace_syscall(tid: u32) -> io::Result<()> {
    let tid = pid_t(tid)?;
    // SAFETY: addr is ignored and data (the signal to deliver) is 0.
    ptrace_result(unsafe {
        libc::ptrace(
            libc::PTRACE_SYSCALL,
            tid,
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_void>(),
        )
    })
    .map(drop)
}

/// `PTRACE_GETEVENTMSG`: the message of the last ptrace event (the new
/// child's pid after a fork/clone event).
pub(crate) fn ptrace_geteventmsg(tid: u32) -> io::Result<u64> {
    let tid = pid_t(tid)?;
    let mut msg: libc::c_ulong = 0;
    // SAFETY: the kernel writes one unsigned long to data, which points to
    // `msg`.
    ptrace_result(unsafe {
        libc::ptrace(
            libc::PTRACE_GETEVENTMSG,
            tid,
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::addr_of_mut!(msg),
        )
    })?;
    Ok(msg)
}

/// The type of `ptrace`'s request argument: `c_uint` in glibc, `c_int` in
/// musl, whose PTRACE_SEIZE & co. the libc crate types that way but whose
/// PTRACE_GETSIGMASK/SETSIGMASK it types `c_uint` like glibc's.
#[cfg(all(target_arch = "x86_64", target_env = "musl"))]
type PtraceRequest = libc::c_int;
#[cfg(all(target_arch = "x86_64", not(target_env = "musl")))]
type PtraceRequest = libc::c_uint;

/// `PTRACE_GETSIGMASK` (kernel UAPI 0x420a) in the request type `ptrace`
/// takes on this libc, so the static musl build compiles.
#[cfg(target_arch = "x86_64")]
const PTRACE_GETSIGMASK: PtraceRequest = 0x420a;
/// `PTRACE_SETSIGMASK` (kernel UAPI 0x420b), likewise.
#[cfg(target_arch = "x86_64")]
const PTRACE_SETSIGMASK: PtraceRequest = 0x420b;

/// `PTRACE_GETSIGMASK`: the thread's blocked signal mask.
#[cfg(target_arch = "x86_64")]
pub(crate) fn ptrace_getsigmask(tid: u32) -> io::Result<u64> {
    let tid = pid_t(tid)?;
    let mut mask: u64 = 0;
    // SAFETY: addr is the size of the kernel sigset (8 bytes) as an integer;
    // the kernel writes that many bytes to data, which points to `mask`.
    ptrace_result(unsafe {
        libc::ptrace(
            PTRACE_GETSIGMASK,
            tid,
            std::mem::size_of::<u64>() as *mut libc::c_void,
            std::ptr::addr_of_mut!(mask),
        )
    })?;
    Ok(mask)
}

/// `PTRACE_SETSIGMASK`: set the thread's blocked signal mask. The kernel
/// also drops a pending "restore the saved mask" (`TIF_RESTORE_SIGMASK`),
/// so never use it on a thread inside ppoll, pselect6, epoll_pwait and the
/// like.
#[cfg(target_arch = "x86_64")]
pub(crate) fn ptrace_setsigmask(tid: u32, mask: u64) -> io::Result<()> {
    let tid = pid_t(tid)?;
    // SAFETY: addr is the sigset size as an integer; the kernel reads 8
    // bytes from data, which points to `mask`.
    ptrace_result(unsafe {
        libc::ptrace(
            PTRACE_SETSIGMASK,
            tid,
            std::mem::size_of::<u64>() as *mut libc::c_void,
            std::ptr::addr_of!(mask),
        )
    })
    .map(drop)
}

/// `kill(pid, signal)`.
pub(crate) fn kill(pid: u32, signal: i32) -> io::Result<()> {
    let pid = pid_t(pid)?;
    // SAFETY: a plain system call with integer arguments.
    if unsafe { libc::kill(pid, signal) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `pidfd_open(pid, 0)` (Linux 5.3).
#[cfg(target_arch = "x86_64")]
pub(crate) fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    let pid = pid_t(pid)?;
    // SAFETY: plain integer arguments; a non-negative result is a new fd
    // that we own.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    let fd = libc::c_int::try_from(fd).map_err(|_| io::Error::last_os_error())?;
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by the kernel and is owned by no one else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `pidfd_getfd(pidfd, target_fd, 0)` (Linux 5.6): a duplicate, in this
/// process (close-on-exec), of the file `target_fd` is in the process.
#[cfg(target_arch = "x86_64")]
pub(crate) fn pidfd_getfd(pidfd: BorrowedFd<'_>, target_fd: i32) -> io::Result<OwnedFd> {
    // SAFETY: plain integer arguments; a non-negative result is a new fd
    // that we own.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), target_fd, 0) };
    let fd = libc::c_int::try_from(fd).map_err(|_| io::Error::last_os_error())?;
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by the kernel and is owned by no one else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `struct uffdio_api`.
#[cfg(target_arch = "x86_64")]
#[repr(C)]
struct UffdioApi {
    api: u64,
    features: u64,
    ioctls: u64,
}

/// `struct uffdio_register`.
#[repr(C)]
struct UffdioRegister {
    start: u64,
    len: u64,
    mode: u64,
    ioctls: u64,
}

/// `struct pm_scan_arg` (`linux/fs.h`, Linux 6.7).
#[repr(C)]
#[derive(Default)]
struct PmScanArg {
    size: u64,
    flags: u64,
    start: u64,
    end: u64,
    walk_end: u64,
    vec: u64,
    vec_len: u64,
    max_pages: u64,
    category_inverted: u64,
    category_mask: u64,
    category_anyof_mask: u64,
    return_mask: u64,
}

/// `struct page_region`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct PageRegion {
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) categories: u64,
}

#[cfg(target_arch = "x86_64")]
const UFFD_API: u64 = 0xaa;
/// `_IOWR(0xaa, 0x3f, struct uffdio_api)`.
#[cfg(target_arch = "x86_64")]
const UFFDIO_API: u32 = 0xc018_aa3f;
/// `_IOWR(0xaa, 0x00, struct uffdio_register)`.
const UFFDIO_REGISTER: u32 = 0xc020_aa00;
/// `_IOWR('f', 16, struct pm_scan_arg)`.
const PAGEMAP_SCAN: u32 = 0xc060_6610;

/// An ioctl request code as the C library's `ioctl` takes it: an unsigned
/// long in glibc, an int in musl (the same 32 bits, which the kernel reads
/// as an unsigned int either way).
#[allow(clippy::cast_possible_wrap, clippy::cast_lossless)]
fn request(code: u32) -> libc::Ioctl {
    code as libc::Ioctl
}

/// The `UFFDIO_API` handshake asking for `features` (only a userfaultfd
/// made by an injected call needs it, which is x86_64 only).
#[cfg(target_arch = "x86_64")]
pub(crate) fn uffdio_api(uffd: BorrowedFd<'_>, features: u64) -> io::Result<()> {
    let mut api = UffdioApi {
        api: UFFD_API,
        features,
        ioctls: 0,
    };
    // SAFETY: `api` is a valid `struct uffdio_api` the kernel reads and
    // writes for the duration of the call.
    let r = unsafe {
        libc::ioctl(
            uffd.as_raw_fd(),
            request(UFFDIO_API),
            &mut api as *mut UffdioApi,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `UFFDIO_REGISTER` of `start..start+len` in `mode`.
pub(crate) fn uffdio_register(
    uffd: BorrowedFd<'_>,
    start: u64,
    len: u64,
    mode: u64,
) -> io::Result<()> {
    let mut reg = UffdioRegister {
        start,
        len,
        mode,
        ioctls: 0,
    };
    // SAFETY: `reg` is a valid `struct uffdio_register` for the call.
    let r = unsafe {
        libc::ioctl(
            uffd.as_raw_fd(),
            request(UFFDIO_REGISTER),
            &mut reg as *mut UffdioRegister,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `_IOR(0xaa, 0x01, struct uffdio_range)`.
const UFFDIO_UNREGISTER: u32 = 0x8010_aa01;

/// `UFFDIO_UNREGISTER` of `start..start+len`.
pub(crate) fn uffdio_unregister(uffd: BorrowedFd<'_>, start: u64, len: u64) -> io::Result<()> {
    let mut range = [start, len];
    // SAFETY: `range` is a valid `struct uffdio_range` (two u64) for the call.
    let r = unsafe {
        libc::ioctl(
            uffd.as_raw_fd(),
            request(UFFDIO_UNREGISTER),
            range.as_mut_ptr(),
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// What one `PAGEMAP_SCAN` is asked.
pub(crate) struct ScanRequest {
    pub(crate) flags: u64,
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) category_inverted: u64,
    pub(crate) category_mask: u64,
    pub(crate) category_anyof_mask: u64,
    pub(crate) return_mask: u64,
}

/// One `PAGEMAP_SCAN` on `pagemap` (an open `/proc/PID/pagemap`): fills
/// `out` with up to its length of regions; returns how many, and the
/// address the walk stopped at (`end` when it went through).
pub(crate) fn pagemap_scan(
    pagemap: BorrowedFd<'_>,
    req: &ScanRequest,
    out: &mut [PageRegion],
) -> io::Result<(usize, u64)> {
    let mut arg = PmScanArg {
        size: std::mem::size_of::<PmScanArg>() as u64,
        flags: req.flags,
        start: req.start,
        end: req.end,
        vec: out.as_mut_ptr() as u64,
        vec_len: out.len() as u64,
        category_inverted: req.category_inverted,
        category_mask: req.category_mask,
        category_anyof_mask: req.category_anyof_mask,
        return_mask: req.return_mask,
        ..PmScanArg::default()
    };
    // SAFETY: `arg` is a valid `struct pm_scan_arg` whose `vec` points to
    // `out`, writable for `vec_len` regions, for the call.
    let r = unsafe {
        libc::ioctl(
            pagemap.as_raw_fd(),
            request(PAGEMAP_SCAN),
            &mut arg as *mut PmScanArg,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    let n = usize::try_from(r).unwrap_or(0).min(out.len());
    Ok((n, arg.walk_end))
}
