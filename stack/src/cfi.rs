//! One unwinding step by DWARF call frame information: find the FDE for the
//! pc (`.eh_frame` through `.eh_frame_hdr`'s binary search table, else
//! `.debug_frame`), evaluate the row's CFA and register rules, and build the
//! caller's registers.

use gimli::{
    BaseAddresses, CfaRule, DebugFrame, EhFrame, EhFrameHdr, EndianSlice, EvaluationResult,
    FrameDescriptionEntry, LittleEndian, Location, Reader, Register, RegisterRule, UnwindContext,
    UnwindSection, Value,
};

use crate::arch::RegisterFile;
use crate::image::Image;

type R<'a> = EndianSlice<'a, LittleEndian>;

/// What the CFI says about a frame.
#[derive(Debug)]
pub(crate) enum CfiStep {
    /// The caller's registers; `signal_frame` when this frame is a signal
    /// trampoline, whose caller's pc is exact (not a return address).
    Caller {
        regs: Box<RegisterFile>,
        signal_frame: bool,
    },
    /// The return address is undefined: this is the outermost frame.
    Outermost,
    /// No CFI covers the pc.
    NoInfo,
    /// CFI covers the pc but could not be applied (a register or memory it
    /// needs is unknown).
    Failed,
}

/// Unwind the frame at `lookup_svma` (the module's own address of the pc,
/// or of the call instruction for a return address) whose registers are
/// `regs`. `read_word` reads the target's memory.
pub(crate) fn step(
    image: &Image,
    lookup_svma: u64,
    regs: &RegisterFile,
    read_word: &mut dyn FnMut(u64) -> Option<u64>,
) -> CfiStep {
    let mut ctx = UnwindContext::new();
    if let Some(eh) = &image.eh_frame {
        let mut bases = BaseAddresses::default().set_eh_frame(eh.addr);
        let mut eh_frame = EhFrame::new(&eh.data, LittleEndian);
        eh_frame.set_address_size(8);
        let mut fde = None;
        if let Some(hdr) = &image.eh_frame_hdr {
            bases = bases.set_eh_frame_hdr(hdr.addr);
            if let Ok(parsed) = EhFrameHdr::new(&hdr.data, LittleEndian).parse(&bases, 8) {
                if let Some(table) = parsed.table() {
                    fde = table
                        .fde_for_address(&eh_frame, &bases, lookup_svma, EhFrame::cie_from_offset)
                        .ok();
                }
            }
        }
        if fde.is_none() && image.eh_frame_hdr.is_none() {
            fde = eh_frame
                .fde_for_address(&bases, lookup_svma, EhFrame::cie_from_offset)
                .ok();
        }
        if let Some(fde) = fde {
            return apply(
                &eh_frame,
                &bases,
                &fde,
                &mut ctx,
                lookup_svma,
                regs,
                read_word,
            );
        }
    }
    if let Some(df) = &image.debug_frame {
        let bases = BaseAddresses::default();
        let mut debug_frame = DebugFrame::new(&df.data, LittleEndian);
        debug_frame.set_address_size(8);
        if let Ok(fde) =
            debug_frame.fde_for_address(&bases, lookup_svma, DebugFrame::cie_from_offset)
        {
            return apply(
                &debug_frame,
                &bases,
                &fde,
                &mut ctx,
                lookup_svma,
                regs,
                read_word,
            );
        }
    }
    CfiStep::NoInfo
}

/// Evaluate the row of `fde` at `svma` against `regs`.
fn apply<'a, S: UnwindSection<R<'a>>>(
    section: &S,
    bases: &BaseAddresses,
    fde: &FrameDescriptionEntry<R<'a>>,
    ctx: &mut UnwindContext<usize>,
    svma: u64,
    regs: &RegisterFile,
    read_word: &mut dyn FnMut(u64) -> Option<u64>,
) -> CfiStep {
    let Ok(row) = fde.unwind_info_for_address(section, bases, ctx, svma) else {
        return CfiStep::Failed;
    };
    let arch = regs.arch();
    let encoding = fde.cie().encoding();
    let cfa = match row.cfa() {
        CfaRule::RegisterAndOffset { register, offset } => regs
            .get(register.0)
            .and_then(|base| base.checked_add_signed(*offset)),
        CfaRule::Expression(expr) => expr
            .get(section)
            .ok()
            .and_then(|e| evaluate(e, encoding, regs, read_word, None)),
    };
    let Some(cfa) = cfa else {
        return CfiStep::Failed;
    };
    let ra = arch.return_address();
    let mut caller = RegisterFile::unknown(arch);
    for number in 0..=31u16 {
        let rule = row.register(Register(number));
        let value = match rule {
            // No rule: the ABI's callee-saved registers keep their value.
            RegisterRule::Undefined => {
                if number == ra {
                    return CfiStep::Outermost;
                }
                if arch.callee_saved(number) {
                    regs.get(number)
                } else {
                    None
                }
            }
            RegisterRule::SameValue => regs.get(number),
            RegisterRule::Offset(offset) => {
                cfa.checked_add_signed(offset).and_then(&mut *read_word)
            }
            RegisterRule::ValOffset(offset) => cfa.checked_add_signed(offset),
            RegisterRule::Register(other) => regs.get(other.0),
            RegisterRule::Expression(expr) => expr
                .get(section)
                .ok()
                .and_then(|e| evaluate(e, encoding, regs, read_word, Some(cfa)))
                .and_then(&mut *read_word),
            RegisterRule::ValExpression(expr) => expr
                .get(section)
                .ok()
                .and_then(|e| evaluate(e, encoding, regs, read_word, Some(cfa))),
            _ => None,
        };
        caller.set(number, value);
    }
    // The caller's stack pointer is the CFA unless a rule (a signal frame's)
    // restores it.
    if matches!(row.register(Register(arch.sp())), RegisterRule::Undefined) {
        caller.set(arch.sp(), Some(cfa));
    }
    let Some(return_address) = caller.get(ra) else {
        return CfiStep::Failed;
    };
    caller.set_pc(strip_pointer_authentication(arch, return_address));
    CfiStep::Caller {
        regs: Box::new(caller),
        signal_frame: fde.is_signal_trampoline(),
    }
}

/// aarch64 return addresses may carry a pointer-authentication code in
/// their top bits; user-space addresses fit in 48 bits.
fn strip_pointer_authentication(arch: crate::Arch, addr: u64) -> u64 {
    match arch {
        crate::Arch::Aarch64 => addr & 0x0000_ffff_ffff_ffff,
        _ => addr,
    }
}

/// The value of a DWARF expression (`push` is pushed first: the CFA for
/// register rules).
fn evaluate<T: Reader>(
    expr: gimli::Expression<T>,
    encoding: gimli::Encoding,
    regs: &RegisterFile,
    read_word: &mut dyn FnMut(u64) -> Option<u64>,
    push: Option<u64>,
) -> Option<u64> {
    let mut eval = expr.evaluation(encoding);
    if let Some(value) = push {
        eval.set_initial_value(value);
    }
    let mut state = eval.evaluate().ok()?;
    // Bounded: a malicious expression cannot keep us here.
    for _ in 0..256 {
        state = match state {
            EvaluationResult::Complete => {
                let pieces = eval.result();
                return match pieces.first().map(|p| &p.location) {
                    Some(Location::Address { address }) => Some(*address),
                    Some(Location::Value { value }) => value.to_u64(u64::MAX).ok(),
                    _ => None,
                };
            }
            EvaluationResult::RequiresMemory { address, size, .. } => {
                let word = read_word(address)?;
                let value = match size {
                    1 => word & 0xff,
                    2 => word & 0xffff,
                    4 => word & 0xffff_ffff,
                    _ => word,
                };
                eval.resume_with_memory(Value::Generic(value)).ok()?
            }
            EvaluationResult::RequiresRegister { register, .. } => {
                let value = regs.get(register.0)?;
                eval.resume_with_register(Value::Generic(value)).ok()?
            }
            _ => return None,
        };
    }
    None
}
