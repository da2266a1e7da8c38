//! The walk up one thread's stack: CFI first, then the frame-pointer chain,
//! then a scan for return addresses, each frame checked before it is taken.

use crate::arch::RegisterFile;
use crate::cfi::{self, CfiStep};
use crate::memory::{CachedMemory, ReadMemory};
use crate::modules::Modules;
use crate::report::FrameSource;

/// At most this many frames per thread: deeper is a loop or garbage.
const MAX_FRAMES: usize = 1024;
/// A scan looks this many words up the stack for a return address.
const SCAN_WORDS: u64 = 512;

/// A frame before symbolization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawFrame {
    pub(crate) pc: u64,
    pub(crate) sp: u64,
    pub(crate) source: FrameSource,
    /// Whether `pc` is the exact instruction (frame 0, or the frame a
    /// signal interrupted) rather than a return address, which is looked up
    /// one byte earlier, inside the call.
    pub(crate) exact: bool,
}

/// A thread's unwound frames and, when the walk stopped early, why.
#[derive(Debug, Clone)]
pub(crate) struct Walk {
    pub(crate) frames: Vec<RawFrame>,
    pub(crate) truncated: Option<String>,
}

/// Unwind one thread from its registers.
pub(crate) fn walk<M: ReadMemory>(
    start: RegisterFile,
    modules: &mut Modules,
    memory: &mut CachedMemory<M>,
) -> Walk {
    let (Some(pc), Some(sp)) = (start.pc(), start.sp()) else {
        return Walk {
            frames: Vec::new(),
            truncated: Some("the thread's registers have no pc or sp".into()),
        };
    };
    let mut frames = vec![RawFrame {
        pc,
        sp,
        source: FrameSource::Context,
        exact: true,
    }];
    let mut regs = start;
    let mut exact = true;
    while frames.len() < MAX_FRAMES {
        let next = match step(&regs, exact, modules, memory) {
            Next::Frame(next) => next,
            Next::End => {
                return Walk {
                    frames,
                    truncated: None,
                }
            }
            Next::Stuck(why) => {
                return Walk {
                    frames,
                    truncated: Some(why),
                }
            }
        };
        let (Some(pc), Some(sp)) = (next.regs.pc(), next.regs.sp()) else {
            break;
        };
        frames.push(RawFrame {
            pc,
            sp,
            source: next.source,
            exact: next.exact,
        });
        regs = next.regs;
        exact = next.exact;
    }
    Walk {
        frames,
        truncated: Some(format!("stopped after {MAX_FRAMES} frames")),
    }
}

struct Caller {
    regs: RegisterFile,
    source: FrameSource,
    exact: bool,
}

enum Next {
    Frame(Box<Caller>),
    End,
    Stuck(String),
}

/// The caller of the frame whose registers are `regs`.
fn step<M: ReadMemory>(
    regs: &RegisterFile,
    exact: bool,
    modules: &mut Modules,
    memory: &mut CachedMemory<M>,
) -> Next {
    let (Some(pc), Some(sp)) = (regs.pc(), regs.sp()) else {
        return Next::Stuck("registers lost".into());
    };
    // A return address is looked up inside the call that precedes it: a
    // call that never returns may be a function's last instruction.
    let lookup = if exact { pc } else { pc.saturating_sub(1) };
    let mut read_word = |addr: u64| memory.read_u64(addr);

    // 1. DWARF CFI.
    let mut cfi_failed = false;
    if let Some(index) = modules.find(lookup) {
        if let Some((image, bias)) = modules.image(index) {
            match cfi::step(image, lookup.wrapping_sub(bias), regs, &mut read_word) {
                CfiStep::Caller {
                    regs: caller,
                    signal_frame,
                } => match (caller.pc(), caller.sp()) {
                    (Some(0), _) => return Next::End,
                    // The stack grows down: a caller's frame is above (a
                    // signal frame's may be anywhere, on an alternate stack).
                    (Some(_), Some(csp)) if csp > sp || (signal_frame && csp != sp) => {
                        return Next::Frame(Box::new(Caller {
                            regs: *caller,
                            source: FrameSource::Cfi,
                            exact: signal_frame,
                        }))
                    }
                    _ => cfi_failed = true,
                },
                CfiStep::Outermost => return Next::End,
                CfiStep::NoInfo => {}
                CfiStep::Failed => cfi_failed = true,
            }
        }
    }

    // 2. The frame-pointer chain: [fp] is the caller's fp, [fp + 8] the
    // return address, the caller's sp is fp + 16.
    if let Some(fp) = regs.fp() {
        if fp >= sp && fp % 8 == 0 && fp.saturating_sub(sp) < (1 << 24) {
            let saved_fp = read_word(fp);
            let return_address = fp.checked_add(8).and_then(&mut read_word);
            if let (Some(saved_fp), Some(ra), Some(caller_sp)) =
                (saved_fp, return_address, fp.checked_add(16))
            {
                if ra != 0 && modules.is_code(ra.saturating_sub(1)) {
                    let mut caller = regs.clone();
                    caller.set_pc(ra);
                    caller.set(regs.arch().sp(), Some(caller_sp));
                    caller.set(regs.arch().fp(), Some(saved_fp));
                    return Next::Frame(Box::new(Caller {
                        regs: caller,
                        source: FrameSource::FramePointer,
                        exact: false,
                    }));
                }
            }
        }
    }

    // 3. Scan the stack for a word that is a return address: it points
    // into a module's code, right after a call instruction.
    for i in 0..SCAN_WORDS {
        let Some(slot) = i.checked_mul(8).and_then(|o| sp.checked_add(o)) else {
            break;
        };
        let Some(candidate) = read_word(slot) else {
            break;
        };
        if candidate == 0 || !modules.is_code(candidate.saturating_sub(1)) {
            continue;
        }
        let follows_call = modules.find(candidate).and_then(|index| {
            let (image, bias) = modules.image(index)?;
            Some(image.follows_call(candidate.wrapping_sub(bias)))
        });
        if follows_call == Some(false) {
            continue;
        }
        let mut caller = regs.clone();
        caller.set_pc(candidate);
        caller.set(regs.arch().sp(), slot.checked_add(8));
        return Next::Frame(Box::new(Caller {
            regs: caller,
            source: FrameSource::Scan,
            exact: false,
        }));
    }
    if cfi_failed {
        Next::Stuck(format!(
            "the CFI at {pc:#x} could not be applied and no caller was found"
        ))
    } else if modules.find(lookup).is_none() {
        Next::Stuck(format!("{pc:#x} is in no module and no caller was found"))
    } else {
        Next::End
    }
}
