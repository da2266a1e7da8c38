//! Parse arbitrary bytes as an ELF core and walk every iterator and accessor
//! of the reader. Must never panic, hang or allocate more than the input
//! justifies.
#![no_main]
use coroner_fuzz as _;

use coroner_core_format::read::OwnedCore;
use coroner_core_format::write::MemorySource;
use coroner_core_format::{parse, raw};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(core) = parse(data) else { return };
    let _ = (core.machine(), core.phnum(), core.extended_numbering());
    for ph in core.program_headers() {
        let _ = ph.p_vaddr;
    }
    for (i, seg) in core.segments().enumerate() {
        let _ = (seg.data().len(), seg.is_truncated(), seg.flags());
        // `memory_at` walks the program headers, so asking it for every
        // segment costs the square of their count (two thirds of this
        // target's time on inputs with thousands of headers); the first 256
        // segments reach the same code, as the memory-map loop below does.
        if i < 256 {
            let _ = core.memory_at(seg.vaddr());
            let _ = core.memory_at(seg.end().wrapping_sub(1));
        }
    }
    for note in core.notes() {
        let Ok(note) = note else { break };
        let _ = note.siginfo();
        let _ = note.to_owned_note();
    }
    for t in core.threads() {
        let Ok(t) = t else { break };
        let _ = (t.tid(), t.cursig(), t.prstatus_common().pr_ppid);
        if let Ok(regs) = t.registers() {
            let _ = (regs.pc(), regs.sp(), regs.fp(), regs.to_words());
        }
        for n in t.notes() {
            if n.is_err() {
                break;
            }
        }
        for n in t.all_following_notes() {
            if n.is_err() {
                break;
            }
        }
        let _ = (t.fpregset(), t.xstate(), t.siginfo(), t.note(raw::NT_ARM_SVE));
    }
    if let Ok(Some(p)) = core.prpsinfo() {
        let _ = (p.fname_bytes(), p.psargs_bytes());
    }
    if let Ok(Some(s)) = core.siginfo() {
        let _ = (s.signo(), s.code(), s.errno(), s.addr(), s.pid(), s.uid());
    }
    if let Ok(Some(a)) = core.auxv() {
        for e in a {
            if e.is_err() {
                break;
            }
        }
    }
    if let Ok(Some(f)) = core.file_note() {
        let _ = (f.count(), f.page_size());
        for e in f.entries() {
            let Ok(e) = e else { break };
            let _ = e.file_offset();
        }
        let _ = f.to_model();
    }
    if let Ok(mut map) = core.memory_map() {
        let mut buf = [0u8; 256];
        let mut ranges = Vec::new();
        for s in core.segments().take(256) {
            let _ = map.read_present(s.vaddr(), &mut buf);
            let _ = map.memory_at(s.vaddr().wrapping_add(4096));
            ranges.clear();
            let _ = map.present_ranges(s.vaddr(), s.end(), &mut ranges);
            let _ = core.read_memory(s.vaddr(), &mut buf);
        }
    }
    let _ = core.to_model();
    if let Ok(owned) = OwnedCore::new(data) {
        let _ = owned.core().segments().count();
    }
});
