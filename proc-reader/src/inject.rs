//! Making one stopped thread of a traced process execute one system call of
//! ours (x86_64), in a way that survives our own death.
//!
//! The thread is given registers that run a `syscall; ret` found in the
//! target's own code, with the call's number and arguments. Below its stack
//! pointer (and the 128-byte red zone) we first write a signal frame: a
//! return address equal to the target's own `rt_sigreturn` trampoline
//! (glibc's `__restore_rt`: `mov $15,%rax; syscall`) followed by a
//! `ucontext` holding the thread's original registers, signal mask and
//! XSAVE area. While we live we never let the thread reach that `ret`: we
//! stop it at the system call's exit and write its registers, FP state and
//! mask back ourselves. If we die first, the kernel detaches the thread, it
//! runs on, `ret` enters the trampoline and the kernel itself restores every
//! register. Either way the thread carries on where it was.
//!
//! A thread stopped inside a system call shows `orig_rax` = the call and
//! `rax` = -ERESTARTSYS and friends; the kernel would restart the call when
//! the thread resumes from that stop, but it resumes into our call instead,
//! so the restart is applied to the registers we restore (`rip -= 2`, `rax`
//! = the call, or `restart_syscall` for -ERESTART_RESTARTBLOCK), exactly as
//! `arch_do_signal_or_restart` does. `rt_sigreturn` resets the thread's
//! restart block, so the signal frame (used only if we die) restarts an
//! -ERESTART_RESTARTBLOCK call (nanosleep, poll or futex with a timeout)
//! from its original arguments: it waits its whole timeout again rather
//! than fail with EINTR. Threads in such calls are chosen last.
//!
//! For a fork-like call a second frame serves the child, whose stack
//! pointer the call sets (`clone`'s `newsp`): if it ever runs untraced, its
//! first instructions (`ret`, the trampoline) load registers that call
//! `exit_group(COPY_EXIT_STATUS)` with every signal blocked. No program
//! code runs in the child in any case.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

use crate::copy_refusal::CopyRefusal;
use crate::error::Result;
use crate::parse::maps::Mapping;
use crate::process::Process;
use crate::regs::{GpRegs, Registers, NT_PRFPREG, NT_PRSTATUS, NT_X86_XSTATE};
use crate::sys::{self, WaitStatus};

/// Exit status of a copy that ran its own escape frame (only when coroner
/// died between making it and tracing it): how a leftover copy is told
/// from other children.
pub(crate) const COPY_EXIT_STATUS: u8 = 0x63;

// `user_regs_struct` indices.
const R10: usize = 7;
const R9: usize = 8;
const R8: usize = 9;
const RAX: usize = 10;
const RDX: usize = 12;
const RSI: usize = 13;
const RDI: usize = 14;
const ORIG_RAX: usize = 15;
const RIP: usize = 16;
const CS: usize = 17;
const RSP: usize = 19;
const SS: usize = 20;

const NR_WAIT4: u64 = 61;
const NR_CLONE: u64 = 56;
const NR_CLOSE: u64 = 3;
const NR_USERFAULTFD: u64 = 323;
const NR_EXIT_GROUP: u64 = 231;
const NR_RESTART_SYSCALL: u64 = 219;

const ERESTARTSYS: i64 = 512;
const ERESTARTNOINTR: i64 = 513;
const ERESTARTNOHAND: i64 = 514;
const ERESTART_RESTARTBLOCK: i64 = 516;

/// `syscall; ret`.
const SYSCALL_RET: [u8; 3] = [0x0f, 0x05, 0xc3];
/// glibc's (and Go's) `__restore_rt`: `mov $15,%rax; syscall`.
const RESTORE_RT_MOVQ: [u8; 9] = [0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05];
/// musl's: `mov $15,%eax; syscall`.
const RESTORE_RT_MOVL: [u8; 7] = [0xb8, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05];

/// Calls that swap the signal mask for their duration and leave the kernel
/// a note to restore it (`TIF_RESTORE_SIGMASK`), which `PTRACE_SETSIGMASK`
/// would drop: rt_sigsuspend, pselect6, ppoll, epoll_pwait, io_pgetevents,
/// io_uring_enter, epoll_pwait2. A thread inside one is never used.
const MASK_SWAPPING_CALLS: [u64; 7] = [130, 270, 271, 281, 333, 426, 441];

/// Red zone below the stack pointer that the ABI lets leaf code use.
const RED_ZONE: u64 = 128;

/// `struct rt_sigframe` without its FP state: pretcode (8), `ucontext`
/// (304), `siginfo` (128).
const SIGFRAME_SIZE: usize = 440;
/// The same, as an address difference.
const SIGFRAME_SPAN: u64 = 440;
/// Offsets inside the frame (from pretcode).
const UC: usize = 8;
const UC_STACK_FLAGS: usize = UC + 24;
const SIGCONTEXT: usize = UC + 40;
const UC_SIGMASK: usize = UC + 296;

/// `uc_flags`: FP state is XSAVE; `ss` is saved and restored as is.
const UC_FP_XSTATE: u64 = 1;
const UC_SIGCONTEXT_SS: u64 = 2;
const UC_STRICT_RESTORE_SS: u64 = 4;

/// The signal-frame XSAVE magic numbers (`struct _fpx_sw_bytes`).
const FP_XSTATE_MAGIC1: u32 = 0x4650_5853;
const FP_XSTATE_MAGIC2: u32 = 0x4650_5845;
/// Offset of `sw_reserved` in the FXSAVE area.
const SW_BYTES: usize = 464;

/// `PTRACE_EVENT_*` numbers.
const EVENT_FORK: i32 = 1;
const EVENT_VFORK: i32 = 2;
const EVENT_CLONE: i32 = 3;
const EVENT_STOP: i32 = 128;
/// Stop signal of a system-call stop under `PTRACE_O_TRACESYSGOOD`.
const SYSCALL_STOP: i32 = libc::SIGTRAP | 0x80;

/// Where the two pieces of the target's code we need are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Gadgets {
    /// A `syscall; ret`.
    pub(crate) syscall_ret: u64,
    /// An `rt_sigreturn` trampoline.
    pub(crate) sigreturn: u64,
    /// Bytes of the trampoline (7 or 9).
    sigreturn_len: usize,
}

impl Gadgets {
    /// Search the target's executable mappings (the C library first, then
    /// the rest and the vDSO) for both pieces. Done before freezing: it
    /// reads a few MiB.
    pub(crate) fn find(process: &Process) -> Result<std::result::Result<Gadgets, CopyRefusal>> {
        let maps = process.maps()?;
        let memory = process.memory()?;
        let mut order: Vec<&Mapping> = maps
            .iter()
            .filter(|m| m.perms.exec && m.perms.read && m.path != b"[vsyscall]")
            .collect();
        // libc holds both in practice; look there first.
        order.sort_by_key(|m| !m.path.windows(4).any(|w| w == b"libc"));
        let mut syscall_ret = None;
        let mut sigreturn = None;
        for m in order {
            let Ok(len) = usize::try_from(m.len()) else {
                continue;
            };
            if len > 256 << 20 {
                continue;
            }
            let mut text = vec![0u8; len];
            let Ok(got) = memory.read_at(m.start, &mut text) else {
                continue;
            };
            text.truncate(got);
            if syscall_ret.is_none() {
                syscall_ret = find(&text, &SYSCALL_RET).map(|at| m.start.wrapping_add(at));
            }
            if sigreturn.is_none() {
                sigreturn = find(&text, &RESTORE_RT_MOVQ)
                    .map(|at| (m.start.wrapping_add(at), RESTORE_RT_MOVQ.len()))
                    .or_else(|| {
                        find(&text, &RESTORE_RT_MOVL)
                            .map(|at| (m.start.wrapping_add(at), RESTORE_RT_MOVL.len()))
                    });
            }
            if syscall_ret.is_some() && sigreturn.is_some() {
                break;
            }
        }
        Ok(match (syscall_ret, sigreturn) {
            (Some(syscall_ret), Some((sigreturn, sigreturn_len))) => Ok(Gadgets {
                syscall_ret,
                sigreturn,
                sigreturn_len,
            }),
            (None, _) => Err(CopyRefusal::NoCode {
                what: "a `syscall; ret` instruction pair",
            }),
            (_, None) => Err(CopyRefusal::NoCode {
                what: "an rt_sigreturn trampoline (`mov $15,%rax; syscall`)",
            }),
        })
    }

    /// Whether both pieces are still where they were found (the library
    /// could have been unloaded since the search).
    fn still_there(&self, mem: &File) -> bool {
        let mut a = [0u8; 3];
        let mut b = [0u8; 9];
        let Some(b) = b.get_mut(..self.sigreturn_len) else {
            return false;
        };
        mem.read_exact_at(&mut a, self.syscall_ret).is_ok()
            && mem.read_exact_at(b, self.sigreturn).is_ok()
            && a == SYSCALL_RET
            && (b == RESTORE_RT_MOVQ || b == RESTORE_RT_MOVL)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<u64> {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .and_then(|p| u64::try_from(p).ok())
}

fn reg(gp: &GpRegs, i: usize) -> u64 {
    gp.get(i).copied().unwrap_or(0)
}

fn set(gp: &mut GpRegs, i: usize, v: u64) {
    if let Some(r) = gp.get_mut(i) {
        *r = v;
    }
}

/// Whether the thread with these registers is inside a system call, and
/// which (`orig_rax` ≥ 0).
fn syscall_of(gp: &GpRegs) -> Option<u64> {
    let nr = reg(gp, ORIG_RAX);
    // The kernel reads orig_rax as an int: -1 means "not in a call".
    (i64::from_ne_bytes(nr.to_ne_bytes()) >= 0).then_some(nr)
}

fn signed(v: u64) -> i64 {
    i64::from_ne_bytes(v.to_ne_bytes())
}

/// How well suited a stopped thread is to run our call: lower is better;
/// `None` when it must not be used.
pub(crate) fn suitability(regs: &Registers) -> Option<u8> {
    match syscall_of(&regs.gp) {
        None => Some(0),
        Some(nr) if MASK_SWAPPING_CALLS.contains(&nr) => None,
        Some(_) if signed(reg(&regs.gp, RAX)) == -ERESTART_RESTARTBLOCK => Some(2),
        Some(_) => Some(1),
    }
}

/// The registers the thread must resume with: the kernel's system-call
/// restart applied (see the module comment). `restart_block_usable` is
/// false for the signal frame, which cannot keep the restart block.
fn resumed(gp: &GpRegs, restart_block_usable: bool) -> GpRegs {
    let mut out = *gp;
    if let Some(nr) = syscall_of(gp) {
        let rip = reg(gp, RIP).wrapping_sub(2);
        match signed(reg(gp, RAX)).wrapping_neg() {
            ERESTARTSYS | ERESTARTNOINTR | ERESTARTNOHAND => {
                set(&mut out, RAX, nr);
                set(&mut out, RIP, rip);
            }
            ERESTART_RESTARTBLOCK => {
                let again = if restart_block_usable {
                    NR_RESTART_SYSCALL
                } else {
                    nr
                };
                set(&mut out, RAX, again);
                set(&mut out, RIP, rip);
            }
            _ => {}
        }
    }
    out
}

/// One system call to make.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Call {
    pub(crate) nr: u64,
    pub(crate) args: [u64; 5],
    /// Whether the call makes a child that needs its own escape frame.
    pub(crate) forks: bool,
}

impl Call {
    /// `clone(flags, newsp = the child's frame, 0, 0, 0)`; the stack
    /// pointer is filled in when the frames are placed.
    pub(crate) fn clone(flags: u64) -> Call {
        Call {
            nr: NR_CLONE,
            args: [flags, 0, 0, 0, 0],
            forks: true,
        }
    }

    /// `userfaultfd(flags)`.
    pub(crate) fn userfaultfd(flags: u64) -> Call {
        Call {
            nr: NR_USERFAULTFD,
            args: [flags, 0, 0, 0, 0],
            forks: false,
        }
    }

    /// `close(fd)`.
    pub(crate) fn close(fd: i32) -> Call {
        Call {
            nr: NR_CLOSE,
            args: [u64::try_from(fd).unwrap_or(u64::MAX), 0, 0, 0, 0],
            forks: false,
        }
    }

    /// `wait4(pid, NULL, __WALL | WNOHANG, NULL)`.
    pub(crate) fn reap(pid: u32) -> Call {
        let options = u64::try_from(libc::__WALL | libc::WNOHANG).unwrap_or(0);
        Call {
            nr: NR_WAIT4,
            args: [u64::from(pid), 0, options, 0, 0],
            forks: false,
        }
    }
}

/// What the call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// The call's return value (negative: -errno).
    pub(crate) ret: i64,
    /// The child a fork-like call made, already traced and stopped, with
    /// `PTRACE_O_EXITKILL` set.
    pub(crate) child: Option<u32>,
}

/// Test hook: stop for good at the named step of an injection, so a test
/// can SIGKILL us exactly there (`CORONER_TEST_STALL_AT=regs-set` …).
fn stall_point(step: &str) {
    if std::env::var_os("CORONER_TEST_STALL_AT").is_some_and(|v| v == step) {
        eprintln!("coroner: stalled at {step} (CORONER_TEST_STALL_AT)");
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
}

/// Bytes of the target's memory we overwrote, to put back.
#[derive(Debug)]
pub(crate) struct Overwritten {
    pub(crate) addr: u64,
    pub(crate) bytes: Vec<u8>,
}

/// Put little-endian words into a frame being built.
fn put(buf: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(dst) = at
        .checked_add(bytes.len())
        .and_then(|end| buf.get_mut(at..end))
    {
        dst.copy_from_slice(bytes);
    }
}

/// A signal frame (pretcode + ucontext + siginfo) restoring `gp` with
/// `mask` blocked and the FP state at `fpstate` (0: reset).
fn sigframe(sigreturn: u64, gp: &GpRegs, mask: u64, fpstate: u64) -> Vec<u8> {
    let mut f = vec![0u8; SIGFRAME_SIZE];
    put(&mut f, 0, &sigreturn.to_le_bytes());
    let mut flags = UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
    if fpstate != 0 {
        flags |= UC_FP_XSTATE;
    }
    put(&mut f, UC, &flags.to_le_bytes());
    // An invalid uc_stack mode: rt_sigreturn's restore_altstack then leaves
    // the thread's alternate signal stack as it is (its EINVAL is ignored).
    put(&mut f, UC_STACK_FLAGS, &7i32.to_le_bytes());
    // struct sigcontext: r8..r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp,
    // rip, eflags, then cs, gs, fs, ss (u16), err, trapno, oldmask, cr2,
    // fpstate.
    const ORDER: [usize; 18] = [9, 8, 7, 6, 3, 2, 1, 0, 14, 13, 4, 5, 12, 10, 11, 19, 16, 18];
    for (k, &i) in ORDER.iter().enumerate() {
        put(
            &mut f,
            SIGCONTEXT.wrapping_add(k.wrapping_mul(8)),
            &reg(gp, i).to_le_bytes(),
        );
    }
    let segs = SIGCONTEXT.wrapping_add(144);
    let cs = u16::try_from(reg(gp, CS)).unwrap_or(0x33);
    let ss = u16::try_from(reg(gp, SS)).unwrap_or(0x2b);
    put(&mut f, segs, &cs.to_le_bytes());
    put(&mut f, segs.wrapping_add(6), &ss.to_le_bytes());
    put(&mut f, SIGCONTEXT.wrapping_add(184), &fpstate.to_le_bytes());
    put(&mut f, UC_SIGMASK, &mask.to_le_bytes());
    f
}

/// The XSAVE area as a signal frame wants it: the regset's bytes (whose
/// `sw_reserved` the kernel fills with the signal-frame description) and
/// `FP_XSTATE_MAGIC2` right after; `None` when the regset lacks that
/// description, in which case the frame resets the FP state instead.
fn frame_fpstate(regs: &Registers) -> Option<Vec<u8>> {
    let xs = regs.xstate.as_ref()?;
    let word = |at: usize| -> Option<u32> {
        let b = xs.get(at..at.checked_add(4)?)?;
        Some(u32::from_le_bytes(b.try_into().ok()?))
    };
    let size = usize::try_from(word(SW_BYTES.checked_add(16)?)?).ok()?;
    if word(SW_BYTES)? != FP_XSTATE_MAGIC1 || size != xs.len() {
        return None;
    }
    let mut out = xs.clone();
    out.extend_from_slice(&FP_XSTATE_MAGIC2.to_le_bytes());
    Some(out)
}

/// The frames to write below the thread's stack pointer, and the stack
/// pointers that use them.
struct Frames {
    /// Lowest address written.
    low: u64,
    /// The bytes from `low` on.
    bytes: Vec<u8>,
    /// The thread's stack pointer for the call (its frame's pretcode).
    thread_sp: u64,
    /// The child's stack pointer (its frame's pretcode), if it has one.
    child_sp: Option<u64>,
}

fn place_frames(
    regs: &Registers,
    mask: u64,
    gadgets: &Gadgets,
    forks: bool,
    stack: &Mapping,
) -> std::result::Result<Frames, CopyRefusal> {
    let sp = regs.sp();
    // Below the red zone, with a margin, 64-byte aligned for XRSTOR.
    let top = sp
        .checked_sub(RED_ZONE.wrapping_add(256))
        .ok_or(CopyRefusal::NoStackRoom)?
        & !63;
    let fp = frame_fpstate(regs);
    let fp_len = fp
        .as_ref()
        .and_then(|f| u64::try_from(f.len()).ok())
        .unwrap_or(0);
    let fp_addr = top.checked_sub(fp_len).ok_or(CopyRefusal::NoStackRoom)? & !63;
    let thread_sp = (fp_addr
        .checked_sub(SIGFRAME_SPAN)
        .ok_or(CopyRefusal::NoStackRoom)?
        & !15)
        .wrapping_sub(8);
    let child_sp = if forks {
        Some(
            (thread_sp
                .checked_sub(SIGFRAME_SPAN.wrapping_add(64))
                .ok_or(CopyRefusal::NoStackRoom)?
                & !15)
                .wrapping_sub(8),
        )
    } else {
        None
    };
    let low = child_sp.unwrap_or(thread_sp);
    if low < stack.start || top > stack.end || !stack.perms.write {
        return Err(CopyRefusal::NoStackRoom);
    }
    let len = usize::try_from(top.wrapping_sub(low)).map_err(|_| CopyRefusal::NoStackRoom)?;
    let mut bytes = vec![0u8; len];
    let at = |addr: u64| usize::try_from(addr.wrapping_sub(low)).unwrap_or(usize::MAX);
    // The thread's own frame: its registers as they must resume.
    let own = sigframe(
        gadgets.sigreturn,
        &resumed(&regs.gp, false),
        mask,
        if fp.is_some() { fp_addr } else { 0 },
    );
    put(&mut bytes, at(thread_sp), &own);
    if let Some(fp) = &fp {
        put(&mut bytes, at(fp_addr), fp);
    }
    // The child's frame: exit_group(COPY_EXIT_STATUS), all signals blocked.
    if let Some(child_sp) = child_sp {
        let mut gp = regs.gp;
        set(&mut gp, RIP, gadgets.syscall_ret);
        set(&mut gp, RAX, NR_EXIT_GROUP);
        set(&mut gp, RDI, u64::from(COPY_EXIT_STATUS));
        set(&mut gp, RSP, child_sp);
        put(
            &mut bytes,
            at(child_sp),
            &sigframe(gadgets.sigreturn, &gp, u64::MAX, 0),
        );
    }
    Ok(Frames {
        low,
        bytes,
        thread_sp,
        child_sp,
    })
}

/// Wait for the next stop (or end) of tracee `tid`, up to `limit`.
fn next_stop(tid: u32, limit: Duration) -> std::result::Result<(i32, i32), CopyRefusal> {
    let deadline = Instant::now().checked_add(limit);
    let mut spins = 0u32;
    loop {
        match sys::waitpid_nohang(tid) {
            Ok(Some(WaitStatus::Stopped { signal, event })) => return Ok((signal, event)),
            Ok(Some(WaitStatus::Gone)) | Err(_) => return Err(CopyRefusal::ThreadGone { tid }),
            Ok(Some(WaitStatus::Other) | None) => {}
        }
        if deadline.is_some_and(|d| Instant::now() > d) {
            return Err(CopyRefusal::Timeout { tid, waited: limit });
        }
        spins = spins.saturating_add(1);
        if spins < 50 {
            std::thread::yield_now();
        } else {
            std::thread::sleep(Duration::from_micros(50));
        }
    }
}

fn gp_bytes(gp: &GpRegs) -> Vec<u8> {
    gp.iter().flat_map(|w| w.to_ne_bytes()).collect()
}

/// Run `call` in thread `tid` of `process`, which is in a ptrace stop we
/// own with registers `regs` (as read in that stop), and put the thread
/// back as it was. `maps` are the process's mappings (for the stack).
///
/// `Err(Refused)` leaves the thread as it was (or, if it could not even be
/// restored, gone); `Err(Process)` is a failure to reach the process.
pub(crate) fn inject(
    process: &Process,
    tid: u32,
    regs: &Registers,
    gadgets: &Gadgets,
    maps: &[Mapping],
    mut call: Call,
) -> Result<std::result::Result<Outcome, CopyRefusal>> {
    let mem = File::from(process.open_file("mem", libc::O_RDWR)?);
    if !gadgets.still_there(&mem) {
        return Ok(Err(CopyRefusal::NoCode {
            what: "the code found before the freeze (its library was unloaded)",
        }));
    }
    let task = format!("task/{tid}");
    let mask = match sys::ptrace_getsigmask(tid) {
        Ok(m) => m,
        Err(e) => return Err(process.classify(e, "PTRACE_GETSIGMASK", &task)),
    };
    let sp = regs.sp();
    let Some(stack) = maps
        .iter()
        .find(|m| m.start < sp && sp.wrapping_sub(1) < m.end)
    else {
        return Ok(Err(CopyRefusal::NoStackRoom));
    };
    let frames = match place_frames(regs, mask, gadgets, call.forks, stack) {
        Ok(f) => f,
        Err(r) => return Ok(Err(r)),
    };
    if let Some(child_sp) = frames.child_sp {
        if let Some(a) = call.args.get_mut(1) {
            *a = child_sp;
        }
    }
    // Keep what the frames overwrite (below the red zone: free stack by the
    // ABI, but put back all the same, in the target and in a copy).
    let mut saved = vec![0u8; frames.bytes.len()];
    if let Err(e) = mem.read_exact_at(&mut saved, frames.low) {
        return Err(process.classify(e, "read", "mem"));
    }
    let overwritten = Overwritten {
        addr: frames.low,
        bytes: saved,
    };
    if let Err(e) = mem.write_all_at(&frames.bytes, frames.low) {
        return Err(process.classify(e, "write", "mem"));
    }
    let mut crafted = regs.gp;
    set(&mut crafted, RIP, gadgets.syscall_ret);
    set(&mut crafted, RSP, frames.thread_sp);
    set(&mut crafted, RAX, call.nr);
    set(&mut crafted, ORIG_RAX, u64::MAX);
    for (i, v) in [RDI, RSI, RDX, R10, R8].into_iter().zip(call.args) {
        set(&mut crafted, i, v);
    }
    set(&mut crafted, R9, 0);
    let options = libc::PTRACE_O_TRACESYSGOOD
        | libc::PTRACE_O_TRACECLONE
        | libc::PTRACE_O_TRACEFORK
        | libc::PTRACE_O_TRACEVFORK;
    let mut run = Running {
        tid,
        regs,
        mask,
        mem: &mem,
        overwritten: &overwritten,
        regs_changed: false,
        mask_changed: false,
    };
    if let Err(e) = sys::ptrace_setoptions(tid, options) {
        run.restore();
        return Err(process.classify(e, "PTRACE_SETOPTIONS", &task));
    }
    // Registers first, then the mask: dying between the two leaves a thread
    // whose frame restores its mask; the other order could leave it running
    // its own code with every signal blocked.
    run.regs_changed = true;
    if let Err(e) = sys::ptrace_setregset(tid, NT_PRSTATUS, &gp_bytes(&crafted)) {
        run.restore();
        return Err(process.classify(e, "PTRACE_SETREGSET", &task));
    }
    stall_point("regs-set");
    run.mask_changed = true;
    if let Err(e) = sys::ptrace_setsigmask(tid, u64::MAX) {
        run.restore();
        return Err(process.classify(e, "PTRACE_SETSIGMASK", &task));
    }
    let outcome = run.step(call);
    run.restore();
    match outcome {
        Ok(o) => {
            if let Some(child) = o.child {
                // The child's memory is the target's at the call: put the
                // stack bytes back there too, so the copy holds what the
                // target held. Its escape frame is gone with them, but it
                // has PTRACE_O_EXITKILL by now.
                if let Ok(cm) = std::fs::OpenOptions::new()
                    .write(true)
                    .open(format!("/proc/{child}/mem"))
                {
                    let _ = cm.write_all_at(&overwritten.bytes, overwritten.addr);
                }
            }
            Ok(Ok(o))
        }
        Err(r) => Ok(Err(r)),
    }
}

/// A thread running our call, restored by [`Running::restore`].
struct Running<'a> {
    tid: u32,
    regs: &'a Registers,
    mask: u64,
    mem: &'a File,
    overwritten: &'a Overwritten,
    regs_changed: bool,
    mask_changed: bool,
}

impl Running<'_> {
    /// Step the thread through the call: entry, the fork event (if any),
    /// exit.
    fn step(&mut self, call: Call) -> std::result::Result<Outcome, CopyRefusal> {
        let tid = self.tid;
        let resume = |tid: u32| {
            sys::ptrace_syscall(tid).map_err(|e| CopyRefusal::Ptrace {
                op: "PTRACE_SYSCALL",
                errno: e.raw_os_error().unwrap_or(0),
            })
        };
        resume(tid)?;
        match next_stop(tid, Duration::from_secs(5))? {
            (SYSCALL_STOP, 0) => {}
            other => return Err(CopyRefusal::UnexpectedStop { tid, stop: other }),
        }
        // At the entry: is it our call? (The bytes were checked, but be sure
        // before the kernel runs it.)
        let entry = crate::regs::read_registers(tid).map_err(|e| CopyRefusal::Ptrace {
            op: "PTRACE_GETREGSET",
            errno: e.raw_os_error().unwrap_or(0),
        })?;
        if reg(&entry.gp, ORIG_RAX) != call.nr {
            return Err(CopyRefusal::UnexpectedStop {
                tid,
                stop: (SYSCALL_STOP, 0),
            });
        }
        stall_point("syscall-entry");
        resume(tid)?;
        let mut child = None;
        // A fork of a big process takes its page tables' copy: allow time.
        loop {
            match next_stop(tid, Duration::from_secs(120))? {
                (SYSCALL_STOP, 0) => break,
                (libc::SIGTRAP, EVENT_FORK | EVENT_VFORK | EVENT_CLONE) => {
                    let pid = sys::ptrace_geteventmsg(tid)
                        .ok()
                        .and_then(|p| u32::try_from(p).ok())
                        .filter(|&p| p > 0);
                    if let Some(pid) = pid {
                        child = Some(pid);
                        stall_point("child-born");
                        adopt_child(pid)?;
                        stall_point("child-adopted");
                    }
                    resume(tid)?;
                }
                other => {
                    if let Some(pid) = child {
                        let _ = sys::kill(pid, libc::SIGKILL);
                    }
                    return Err(CopyRefusal::UnexpectedStop { tid, stop: other });
                }
            }
        }
        let exit = crate::regs::read_registers(tid).map_err(|e| CopyRefusal::Ptrace {
            op: "PTRACE_GETREGSET",
            errno: e.raw_os_error().unwrap_or(0),
        });
        let ret = exit.map(|r| signed(reg(&r.gp, RAX)));
        match (ret, child) {
            (Ok(ret), child) => Ok(Outcome { ret, child }),
            (Err(e), Some(pid)) => {
                let _ = sys::kill(pid, libc::SIGKILL);
                Err(e)
            }
            (Err(e), None) => Err(e),
        }
    }

    /// Put the thread back: mask first (dying after it still leaves the
    /// frame to restore the registers), then registers, FP state, the stack
    /// bytes and our options.
    fn restore(&mut self) {
        let tid = self.tid;
        if self.mask_changed {
            let _ = sys::ptrace_setsigmask(tid, self.mask);
            self.mask_changed = false;
        }
        stall_point("mask-restored");
        if self.regs_changed {
            // orig_rax -1: whatever stop the thread is in (the interrupt,
            // the call's entry or exit), the kernel neither runs nor
            // restarts a call from these registers.
            let mut gp = resumed(&self.regs.gp, true);
            set(&mut gp, ORIG_RAX, u64::MAX);
            let _ = sys::ptrace_setregset(tid, NT_PRSTATUS, &gp_bytes(&gp));
            match &self.regs.xstate {
                Some(xs) => {
                    let _ = sys::ptrace_setregset(tid, NT_X86_XSTATE, xs);
                }
                None if !self.regs.fp.is_empty() => {
                    let _ = sys::ptrace_setregset(tid, NT_PRFPREG, &self.regs.fp);
                }
                None => {}
            }
            self.regs_changed = false;
        }
        let _ = self
            .mem
            .write_all_at(&self.overwritten.bytes, self.overwritten.addr);
        let _ = sys::ptrace_setoptions(tid, 0);
    }
}

/// A new child made by the call: wait for its first stop (it is traced
/// from birth and stops before running a single instruction of its own),
/// then make the kernel kill it if we die.
fn adopt_child(pid: u32) -> std::result::Result<(), CopyRefusal> {
    match next_stop(pid, Duration::from_secs(10)) {
        Ok((_, EVENT_STOP)) | Ok(_) => {}
        Err(e) => {
            let _ = sys::kill(pid, libc::SIGKILL);
            return Err(e);
        }
    }
    sys::ptrace_setoptions(pid, libc::PTRACE_O_EXITKILL).map_err(|e| {
        let _ = sys::kill(pid, libc::SIGKILL);
        CopyRefusal::Ptrace {
            op: "PTRACE_SETOPTIONS (child)",
            errno: e.raw_os_error().unwrap_or(0),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gp_with(orig: i64, rax: i64, rip: u64) -> GpRegs {
        let mut gp = [0u64; crate::regs::GP_REG_COUNT];
        gp[ORIG_RAX] = orig as u64;
        gp[RAX] = rax as u64;
        gp[RIP] = rip;
        gp
    }

    #[test]
    fn restarts_follow_the_kernel() {
        for code in [ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND] {
            let r = resumed(&gp_with(0, -code, 0x1002), true);
            assert_eq!((r[RAX], r[RIP]), (0, 0x1000), "{code}");
        }
        let r = resumed(&gp_with(35, -ERESTART_RESTARTBLOCK, 0x1002), true);
        assert_eq!((r[RAX], r[RIP]), (NR_RESTART_SYSCALL, 0x1000));
        // The signal frame cannot keep the restart block: the call again.
        let r = resumed(&gp_with(35, -ERESTART_RESTARTBLOCK, 0x1002), false);
        assert_eq!((r[RAX], r[RIP]), (35, 0x1000));
        // A finished call, an EINTR the thread saw anyway, user code: as is.
        for gp in [
            gp_with(0, 5, 0x1002),
            gp_with(0, -4, 0x1002),
            gp_with(-1, -512, 0x1002),
        ] {
            assert_eq!(resumed(&gp, true), gp);
        }
    }

    #[test]
    fn mask_swapping_calls_are_never_used() {
        let regs = |gp| Registers {
            gp,
            fp: Vec::new(),
            xstate: None,
        };
        assert_eq!(suitability(&regs(gp_with(-1, 0, 0))), Some(0));
        assert_eq!(suitability(&regs(gp_with(0, -512, 0))), Some(1));
        assert_eq!(suitability(&regs(gp_with(35, -516, 0))), Some(2));
        assert_eq!(suitability(&regs(gp_with(271, -514, 0))), None);
        assert_eq!(suitability(&regs(gp_with(130, -514, 0))), None);
    }

    #[test]
    fn sigframe_layout() {
        let mut gp = [0u64; crate::regs::GP_REG_COUNT];
        for (i, r) in gp.iter_mut().enumerate() {
            *r = 0x100 + i as u64;
        }
        let f = sigframe(0xdead, &gp, 0x55, 0x7000);
        let word = |at: usize| u64::from_le_bytes(f[at..at + 8].try_into().unwrap());
        assert_eq!(word(0), 0xdead);
        assert_eq!(word(UC), 7);
        // rip is the 17th word of sigcontext, rsp the 16th, r8 the first.
        assert_eq!(word(SIGCONTEXT + 16 * 8), 0x100 + RIP as u64);
        assert_eq!(word(SIGCONTEXT + 15 * 8), 0x100 + RSP as u64);
        assert_eq!(word(SIGCONTEXT), 0x100 + R8 as u64);
        assert_eq!(word(SIGCONTEXT + 184), 0x7000);
        assert_eq!(word(UC_SIGMASK), 0x55);
    }
}
