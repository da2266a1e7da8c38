//! Per-thread register sets read with `PTRACE_GETREGSET`, raw as the kernel
//! gives them (the layouts ELF core notes and minidump contexts start from).

#[cfg(target_os = "linux")]
use std::io;

#[cfg(target_os = "linux")]
use crate::sys;

/// `NT_PRSTATUS`: general-purpose registers.
pub const NT_PRSTATUS: u32 = 1;
/// `NT_PRFPREG`: floating-point registers.
pub const NT_PRFPREG: u32 = 2;
/// `NT_X86_XSTATE`: the XSAVE area (x86 only).
pub const NT_X86_XSTATE: u32 = 0x202;

/// Number of `u64` words in the general-purpose register set:
/// x86_64 `user_regs_struct` (27) or aarch64 `user_pt_regs` (34).
#[cfg(target_arch = "x86_64")]
pub const GP_REG_COUNT: usize = 27;
/// Number of `u64` words in the general-purpose register set:
/// x86_64 `user_regs_struct` (27) or aarch64 `user_pt_regs` (34).
#[cfg(target_arch = "aarch64")]
pub const GP_REG_COUNT: usize = 34;

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("coroner-proc-reader supports x86_64 and aarch64 Linux");

/// Index of the stack pointer in [`GpRegs`] (`rsp` / `sp`).
#[cfg(target_arch = "x86_64")]
pub const SP_INDEX: usize = 19;
/// Index of the program counter in [`GpRegs`] (`rip` / `pc`).
#[cfg(target_arch = "x86_64")]
pub const PC_INDEX: usize = 16;
/// Index of the stack pointer in [`GpRegs`] (`rsp` / `sp`).
#[cfg(target_arch = "aarch64")]
pub const SP_INDEX: usize = 31;
/// Index of the program counter in [`GpRegs`] (`rip` / `pc`).
#[cfg(target_arch = "aarch64")]
pub const PC_INDEX: usize = 32;

/// Size in bytes of the raw floating-point set: x86_64 `user_fpregs_struct`
/// (FXSAVE, 512) or aarch64 `user_fpsimd_state` (528).
#[cfg(target_arch = "x86_64")]
pub const FP_REGS_SIZE: usize = 512;
/// Size in bytes of the raw floating-point set: x86_64 `user_fpregs_struct`
/// (FXSAVE, 512) or aarch64 `user_fpsimd_state` (528).
#[cfg(target_arch = "aarch64")]
pub const FP_REGS_SIZE: usize = 528;

/// The general-purpose registers in the kernel's order (x86_64:
/// r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi orig_rax rip cs
/// eflags rsp ss fs_base gs_base ds es fs gs; aarch64: x0–x30, sp, pc, pstate).
pub type GpRegs = [u64; GP_REG_COUNT];

/// One thread's registers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Registers {
    /// General-purpose registers (`NT_PRSTATUS`).
    pub gp: GpRegs,
    /// Raw floating-point registers (`NT_PRFPREG`), [`FP_REGS_SIZE`] bytes.
    pub fp: Vec<u8>,
    /// Raw XSAVE area (`NT_X86_XSTATE`) in the size the kernel reports for
    /// this CPU; `None` on aarch64 or when the kernel has none.
    pub xstate: Option<Vec<u8>>,
}

impl Registers {
    /// The stack pointer.
    pub fn sp(&self) -> u64 {
        self.gp.get(SP_INDEX).copied().unwrap_or(0)
    }

    /// The program counter.
    pub fn pc(&self) -> u64 {
        self.gp.get(PC_INDEX).copied().unwrap_or(0)
    }

    /// The general-purpose registers as native-endian bytes (the layout of
    /// `pr_reg` in an ELF core's `NT_PRSTATUS`).
    pub fn gp_bytes(&self) -> Vec<u8> {
        self.gp.iter().flat_map(|w| w.to_ne_bytes()).collect()
    }
}

/// Largest XSAVE area we accept (AMX tiles make it about 11 KiB today).
#[cfg(target_os = "linux")]
const XSTATE_MAX: usize = 64 * 1024;

/// Read all register sets of a stopped, traced thread.
#[cfg(target_os = "linux")]
pub(crate) fn read_registers(tid: u32) -> io::Result<Registers> {
    let mut raw = [0u8; GP_REG_COUNT * 8];
    let n = sys::ptrace_getregset(tid, NT_PRSTATUS, &mut raw)?;
    if n != raw.len() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "NT_PRSTATUS is {n} bytes, expected {} (a 32-bit process? only 64-bit targets are supported)",
                raw.len()
            ),
        ));
    }
    let mut gp = [0u64; GP_REG_COUNT];
    for (dst, chunk) in gp.iter_mut().zip(raw.chunks_exact(8)) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        *dst = u64::from_ne_bytes(w);
    }
    let mut fp = vec![0u8; FP_REGS_SIZE];
    let n = sys::ptrace_getregset(tid, NT_PRFPREG, &mut fp)?;
    fp.truncate(n);
    Ok(Registers {
        gp,
        fp,
        xstate: read_xstate(tid)?,
    })
}

/// Size of the `NT_X86_XSTATE` register set, learnt from the first reply (0:
/// not yet known). The kernel fixes it at boot (the largest XSAVE layout the
/// CPU and kernel enable, the same for every task) and replies with
/// `min(buffer, size)`, so once known every thread is read into a buffer of
/// exactly that size: no 64 KiB buffer zeroed, faulted in and kept per thread.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
static XSTATE_SIZE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn read_xstate(tid: u32) -> io::Result<Option<Vec<u8>>> {
    use std::sync::atomic::Ordering;
    let known = XSTATE_SIZE.load(Ordering::Relaxed);
    let mut buf = vec![0u8; if known == 0 { XSTATE_MAX } else { known }];
    match sys::ptrace_getregset(tid, NT_X86_XSTATE, &mut buf) {
        Ok(n) => {
            buf.truncate(n);
            // Only a reply to the full-size buffer tells the real size; the
            // kernel takes buffer lengths in multiples of 8 bytes.
            if known == 0 && n > 0 && n < XSTATE_MAX && n % 8 == 0 {
                buf.shrink_to_fit();
                XSTATE_SIZE.store(n, Ordering::Relaxed);
            }
            Ok(Some(buf))
        }
        // No XSAVE on this CPU/kernel.
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENODEV | libc::EINVAL)) => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(all(target_os = "linux", target_arch = "aarch64"))]
fn read_xstate(_tid: u32) -> io::Result<Option<Vec<u8>>> {
    let _ = XSTATE_MAX;
    Ok(None)
}

#[cfg(all(test, target_os = "linux", target_arch = "x86_64"))]
mod tests {
    use super::{NT_X86_XSTATE, XSTATE_MAX};
    use crate::{sys, Process};
    use std::io::{BufRead, BufReader};
    use std::process::{Child, Command, Stdio};

    /// Set in the re-executed test binary: it then parks threads instead
    /// of skipping. The test is self-contained (no C helper program), so it
    /// also runs from the published package.
    const PARK_ENV: &str = "COR_REGS_TEST_PARK";

    /// Not a test of its own: the multi-threaded process the XSTATE test
    /// freezes (this test binary re-executed). Four threads and the main
    /// one park in sleep; `READY` says they all exist.
    #[test]
    #[ignore = "child process of xstate_read_whole_with_an_exact_buffer"]
    fn parked_threads_for_the_xstate_test() {
        if std::env::var_os(PARK_ENV).is_none() {
            return;
        }
        for _ in 0..4 {
            std::thread::spawn(|| loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            });
        }
        println!("READY");
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }

    /// The parked child; killed and reaped on drop, whatever the test does.
    struct Parked(Child);

    impl Drop for Parked {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn spawn_parked() -> Parked {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "regs::tests::parked_threads_for_the_xstate_test"])
            .args(["--ignored", "--nocapture", "--test-threads=1"])
            .env(PARK_ENV, "1")
            .stdout(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let parked = Parked(child);
        // libtest prints `test NAME ... ` first, on the same line.
        let ready = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|line| line.trim_end().ends_with("READY"));
        assert!(ready, "the parked child exited before READY");
        parked
    }

    /// Every thread's XSAVE area, whether read by the thread that taught
    /// the size or with an exact buffer afterwards (in this freeze and the
    /// next), is the whole set: what a 64 KiB buffer gets, byte for byte.
    #[test]
    fn xstate_read_whole_with_an_exact_buffer() {
        let target = spawn_parked();
        let pid = target.0.id();
        let process = Process::open(pid).unwrap();
        for _ in 0..2 {
            let frozen = process.freeze().unwrap();
            // Ours (main + 4) and whatever the test harness runs on.
            let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
                .unwrap()
                .count();
            assert!(frozen.threads().len() >= 5);
            assert_eq!(frozen.threads().len(), tasks);
            for t in frozen.threads() {
                let xs = t.regs.xstate.as_ref().expect("x86_64 kernels give XSTATE");
                assert_eq!(xs.len(), xs.capacity(), "no oversized buffer kept");
                let mut full = vec![0u8; XSTATE_MAX];
                let n = sys::ptrace_getregset(t.tid, NT_X86_XSTATE, &mut full).unwrap();
                assert!(n < XSTATE_MAX);
                assert_eq!(xs.len(), n, "thread {}", t.tid);
                assert_eq!(xs[..], full[..n], "thread {}", t.tid);
            }
            frozen.thaw().unwrap();
        }
    }
}
