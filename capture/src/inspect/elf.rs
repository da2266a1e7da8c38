//! The summary of an ELF core: its notes (process, threads, files) and
//! program headers (mappings), and the build-id of each module from the
//! first page the core holds of it.

// Dump contents are untrusted: the same no-panic lint wall as the format crates.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::cast_possible_truncation,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )
)]

use super::*;

pub(super) fn summarise(core: Core<'_>, read_at: &mut ReadAt<'_>) -> Result<Summary, ReadError> {
    let machine = match core.machine() {
        Some(coroner_core_format::Machine::X86_64) => "x86_64".to_owned(),
        Some(coroner_core_format::Machine::Aarch64) => "aarch64".to_owned(),
        _ => core.e_machine().to_string(),
    };
    let mut s = Summary {
        format: "elf-core",
        machine,
        ..Summary::default()
    };

    if let Some(ps) = core.prpsinfo()? {
        s.process.pid = u32::try_from(ps.pid).ok();
        s.process.name = Some(text(ps.fname_bytes()));
        s.process.args = Some(text(ps.psargs_bytes()).trim_end().to_owned());
    }
    if let Some(si) = core.siginfo()? {
        if si.signo() != 0 {
            s.process.signal = Some(si.signo());
            // SIGILL, SIGFPE, SIGSEGV, SIGBUS, SIGTRAP carry an address.
            if matches!(si.signo(), 4 | 5 | 7 | 8 | 11) {
                s.process.fault_address = Some(si.addr());
            }
        }
    }

    for t in core.threads() {
        let t = t?;
        let regs = t.registers()?;
        let signal = i32::from(t.cursig());
        s.threads.push(ThreadSummary {
            tid: t.tid(),
            name: None,
            pc: regs.pc(),
            sp: regs.sp(),
            signal,
            crashed: false,
        });
    }
    if s.process.signal.is_none() {
        s.process.signal = s.threads.first().map(|t| t.signal).filter(|&sig| sig != 0);
    }
    if s.process.pid.is_none() {
        s.process.pid = s.threads.first().map(|t| t.tid);
    }
    // The crashing thread: the first with a signal (the kernel puts it first).
    if s.process.signal.is_some() {
        if let Some(t) = s.threads.iter_mut().find(|t| t.signal != 0) {
            t.crashed = true;
        } else if let Some(t) = s.threads.first_mut() {
            t.crashed = true;
        }
    }
    if let (Some(pid), Some(name)) = (s.process.pid, s.process.name.clone()) {
        if let Some(t) = s.threads.iter_mut().find(|t| t.tid == pid) {
            t.name = Some(name);
        }
    }

    let mut files = Vec::new();
    if let Some(view) = core.file_note()? {
        for e in view.entries() {
            let e = e?;
            files.push((e.start, e.end, e.file_offset(), text(e.path)));
        }
    }

    for seg in core.segments() {
        if seg.vaddr().checked_add(seg.memsz()).is_none() {
            s.warnings.push(format!(
                "PT_LOAD at {:#x}: its size {:#x} runs past the end of the address space \
                 (shown as ending at {:#x})",
                seg.vaddr(),
                seg.memsz(),
                seg.end()
            ));
        }
        let file = files
            .iter()
            .find(|f| f.0 <= seg.vaddr() && seg.vaddr() < f.1);
        let f = seg.flags();
        let perms: String = [(raw::PF_R, 'r'), (raw::PF_W, 'w'), (raw::PF_X, 'x')]
            .iter()
            .map(|&(bit, c)| if f & bit != 0 { c } else { '-' })
            .collect();
        s.mappings.push(MappingSummary {
            start: seg.vaddr(),
            end: seg.end(),
            perms,
            path: file.map(|f| f.3.clone()),
            file_offset: file.and_then(|f| {
                let offset = f.2?.checked_add(seg.vaddr().checked_sub(f.0)?);
                if offset.is_none() {
                    s.warnings.push(format!(
                        "mapping {:#x}: its NT_FILE offset {:#x} lies past 2^64 bytes into {} \
                         (file offset not shown)",
                        seg.vaddr(),
                        f.2.unwrap_or(0),
                        f.3
                    ));
                }
                offset
            }),
            dumped: seg.filesz(),
            total: seg.memsz(),
        });
    }

    // Modules: every file mapped from offset 0, extended over its later mappings.
    for (start, _end, offset, path) in &files {
        if *offset != Some(0) || s.modules.iter().any(|m| &m.path == path) {
            continue;
        }
        let end = files
            .iter()
            .filter(|f| &f.3 == path)
            .map(|f| f.1)
            .max()
            .unwrap_or(*start);
        let header = core
            .segments()
            .find(|seg| seg.vaddr() == *start && seg.filesz() > 0)
            .and_then(|seg| {
                read_at(
                    seg.offset(),
                    usize::try_from(seg.filesz().min(4096)).unwrap_or(4096),
                )
            });
        let Some(header) = header else {
            s.modules.push(ModuleSummary {
                path: path.clone(),
                base: *start,
                end,
                build_id: None,
            });
            continue;
        };
        if header.get(..4) != Some(&raw::ELFMAG[..]) {
            continue;
        }
        let build_id = build_id_in_header_page(&header)
            .map(|id| id.iter().map(|b| format!("{b:02x}")).collect());
        s.modules.push(ModuleSummary {
            path: path.clone(),
            base: *start,
            end,
            build_id,
        });
    }

    let bytes_dumped = checked_total(
        s.mappings.iter().map(|m| m.dumped),
        "the PT_LOADs' file sizes",
        &mut s.warnings,
    );
    let bytes_mapped = checked_total(
        s.mappings.iter().map(|m| m.total),
        "the PT_LOADs' memory sizes",
        &mut s.warnings,
    );
    s.count_totals(bytes_dumped, bytes_mapped, 0);
    Ok(s)
}

/// The GNU build-id of the ELF object whose first bytes are `image` (as
/// mapped from file offset 0: program headers and early notes lie at their
/// file offsets). Looks at every `PT_NOTE` that lies inside `image`
/// (core-format's [`read::elf_object`] parses it).
pub fn build_id_in_header_page(image: &[u8]) -> Option<&[u8]> {
    read::elf_object::gnu_build_id_in_image(image)
}
