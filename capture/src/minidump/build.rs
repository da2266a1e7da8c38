//! A minidump [`Model`] from a format-neutral description of a process
//! ([`DumpInput`]) and its memory ([`DumpMemory`]): threads with contexts
//! and stacks, thread names, modules with build-ids, the memory lists for
//! the chosen [`MemoryMode`], MemoryInfoList, Maps and DsoDebug.
//!
//! Live capture ([`super::capture_minidump`]) and ELF core → minidump
//! conversion ([`crate::convert`]) both fill a [`DumpInput`] and call
//! [`build_model`].

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

use std::io;
use std::ops::Range;
use std::path::PathBuf;

use coroner_minidump_format::model::MemoryRange;
use coroner_minidump_format::model::{
    CodeView, Context, Model, Module, Thread, ThreadName, UserFpsimdArm64, UserPtRegsArm64,
    UserRegsX86_64,
};
use coroner_minidump_format::raw::{
    MemoryProtection, MemoryState, MemoryType, MINIDUMP_MEMORY_INFO,
};
use coroner_minidump_format::write::MemorySource;

use super::MemoryMode;
use super::{elf, host_file};
use crate::ranges::{merge, subtract};

/// Bytes captured before and after each thread's instruction pointer.
pub const PC_WINDOW: u64 = 256;
/// Largest stack copied for one thread (from its page-aligned stack pointer
/// up to the end of its stack mapping, as Breakpad and minidump-writer do).
pub const MAX_STACK: u64 = 8 << 20;

/// A process's memory, for the writer and for the facts read while planning.
pub trait DumpMemory: MemorySource {
    /// The parts of `start..end` that hold data (pages present or swapped
    /// in a live process; dumped bytes of a core). Reading anything else
    /// would either change the target (fault in the zero page) or give zeros.
    fn present(&mut self, start: u64, end: u64) -> io::Result<Vec<Range<u64>>>;

    /// Read exactly `buf.len()` bytes at `addr`.
    fn read_exact(&mut self, addr: u64, buf: &mut [u8]) -> bool {
        let mut done = 0usize;
        while done < buf.len() {
            let Some(rest) = buf.get_mut(done..) else {
                return false;
            };
            match self.read_at(addr.saturating_add(done as u64), rest) {
                Ok(0) | Err(_) => return false,
                Ok(n) => done = done.saturating_add(n),
            }
        }
        true
    }
}

/// CPU architecture of the dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// x86-64.
    X86_64,
    /// AArch64.
    Aarch64,
}

impl Arch {
    /// The host's.
    pub fn host() -> Option<Arch> {
        if cfg!(target_arch = "x86_64") {
            Some(Arch::X86_64)
        } else if cfg!(target_arch = "aarch64") {
            Some(Arch::Aarch64)
        } else {
            None
        }
    }
}

/// A minidump context from Linux register sets: `gp` in the kernel's
/// `NT_PRSTATUS` order, `fp` the `NT_PRFPREG` bytes if known.
pub fn context_from_linux(arch: Arch, gp: &[u64], fp: Option<&[u8]>) -> Option<Context> {
    match arch {
        Arch::X86_64 => {
            let words: &[u64; 27] = gp.get(..27)?.try_into().ok()?;
            let mut fx = [0u8; 512];
            if let Some(fp) = fp.and_then(|f| f.get(..512)) {
                fx.copy_from_slice(fp);
            }
            Some(Context::from_linux_x86_64(
                &UserRegsX86_64::from_words(words),
                &fx,
            ))
        }
        Arch::Aarch64 => {
            let regs = UserPtRegsArm64 {
                regs: gp.get(..31)?.try_into().ok()?,
                sp: *gp.get(31)?,
                pc: *gp.get(32)?,
                pstate: *gp.get(33)?,
            };
            let simd = fp.and_then(UserFpsimdArm64::from_bytes);
            Some(Context::from_linux_arm64(&regs, simd.as_ref()))
        }
    }
}

/// One thread.
#[derive(Debug, Clone)]
pub struct ThreadInput {
    /// Thread id.
    pub tid: u32,
    /// Name (`comm`), if known.
    pub name: Option<String>,
    /// Its context.
    pub context: Context,
}

/// One mapping of the address space.
#[derive(Debug, Clone, Default)]
pub struct MappingInput {
    /// First address.
    pub start: u64,
    /// One past the last address.
    pub end: u64,
    /// `r`.
    pub read: bool,
    /// `w`.
    pub write: bool,
    /// `x`.
    pub exec: bool,
    /// `s`.
    pub shared: bool,
    /// File offset.
    pub offset: u64,
    /// Inode (0: anonymous).
    pub inode: u64,
    /// Path or pseudo-name; empty for anonymous memory.
    pub path: String,
    /// Bytes from `start` the dump filter selects (0, a page, the whole).
    pub dump_len: u64,
    /// The operator or the program excluded it (`--exclude`, MADV_DONTDUMP
    /// without `--all`): not even its stack or code bytes are written.
    pub excluded: bool,
    /// Where the mapped file can be read (`/proc/<pid>/map_files/…` for a
    /// live process; for a dump, under the [`host_file::Sysroot`] the user
    /// gave, else `None`), for build-ids not found in memory. Only a regular
    /// file there is opened ([`host_file::open_regular`]).
    pub file: Option<PathBuf>,
}

impl MappingInput {
    fn contains(&self, addr: u64) -> bool {
        self.start <= addr && addr < self.end
    }

    pub(crate) fn is_file(&self) -> bool {
        self.inode != 0 || self.path.starts_with('/')
    }

    /// A `/proc/pid/maps` line for it (used when no Maps text is given).
    pub fn maps_line(&self) -> String {
        let flag = |b: bool, c: char| if b { c } else { '-' };
        format!(
            "{:08x}-{:08x} {}{}{}{} {:08x} 00:00 {} {}\n",
            self.start,
            self.end,
            flag(self.read, 'r'),
            flag(self.write, 'w'),
            flag(self.exec, 'x'),
            if self.shared { 's' } else { 'p' },
            self.offset,
            self.inode,
            self.path
        )
        .replace(" \n", "\n")
    }
}

/// Everything but memory bytes; streams the caller already has (SystemInfo,
/// MiscInfo, Exception, the Linux `/proc` files) go straight into `model`.
#[derive(Debug, Clone)]
pub struct DumpInput {
    /// Architecture.
    pub arch: Arch,
    /// Threads, the first one current.
    pub threads: Vec<ThreadInput>,
    /// Mappings in address order.
    pub mappings: Vec<MappingInput>,
    /// The auxiliary vector (for DsoDebug).
    pub auxv: Vec<(u64, u64)>,
    /// Page size.
    pub page_size: u64,
    /// The model so far; [`build_model`] adds to it.
    pub model: Model,
}

fn page_down(a: u64, page: u64) -> u64 {
    a & !(page.saturating_sub(1))
}

/// Intersect `r` with `present`, keeping the run of present bytes that
/// starts at `r.start` (or the first one after it).
fn first_present_run(r: Range<u64>, present: &[Range<u64>]) -> Option<Range<u64>> {
    let mut run: Option<Range<u64>> = None;
    for p in present {
        let a = p.start.max(r.start);
        let b = p.end.min(r.end);
        if a >= b {
            continue;
        }
        match &mut run {
            None => run = Some(a..b),
            Some(cur) if cur.end == a => cur.end = b,
            Some(_) => break,
        }
    }
    run
}

fn to_range(r: &Range<u64>) -> MemoryRange {
    MemoryRange {
        start: r.start,
        size: r.end.saturating_sub(r.start),
    }
}

/// Windows `PAGE_*` protection for `rwx`.
fn page_protection(m: &MappingInput) -> u32 {
    MemoryProtection::from_rwx(m.read, m.write, m.exec).bits()
}

/// The stack range of a thread whose stack pointer is `sp`: from the page
/// holding `sp` to the end of its mapping (skipping up to 1 MiB of guard
/// pages when `sp` points into one), present bytes only.
fn stack_range(
    input: &DumpInput,
    memory: &mut dyn DumpMemory,
    sp: u64,
) -> io::Result<Option<Range<u64>>> {
    let page = input.page_size;
    let mut at = page_down(sp, page);
    let limit = at.saturating_add(1 << 20);
    let mapping = loop {
        match input.mappings.iter().find(|m| m.contains(at)) {
            Some(m) if m.read || m.write => break Some(m),
            _ if at < limit => at = at.saturating_add(page),
            _ => break None,
        }
    };
    let Some(m) = mapping.filter(|m| !m.excluded) else {
        return Ok(None);
    };
    let start = at.max(m.start);
    let end = m.end.min(start.saturating_add(MAX_STACK));
    let present = memory.present(start, end)?;
    Ok(first_present_run(start..end, &present))
}

/// Add threads, names, modules, memory, MemoryInfoList, Maps (when not set)
/// and DsoDebug (when not set) to `input.model`.
pub fn build_model(
    mut input: DumpInput,
    memory: &mut dyn DumpMemory,
    mode: MemoryMode,
) -> io::Result<Model> {
    // Threads and their stacks.
    let mut stacks: Vec<Range<u64>> = Vec::new();
    let mut pc_windows: Vec<Range<u64>> = Vec::new();
    let mut threads = Vec::new();
    for t in &input.threads {
        let sp = t.context.stack_pointer().unwrap_or(0);
        let stack = stack_range(&input, memory, sp)?;
        if let Some(s) = &stack {
            stacks.push(s.clone());
        }
        if let Some(pc) = t.context.instruction_pointer() {
            if let Some(m) = input
                .mappings
                .iter()
                .find(|m| m.contains(pc) && m.read && !m.excluded)
            {
                let a = pc.saturating_sub(PC_WINDOW).max(m.start);
                let b = pc.saturating_add(PC_WINDOW).min(m.end);
                pc_windows.push(a..b);
            }
        }
        threads.push(Thread {
            thread_id: t.tid,
            stack: stack.as_ref().map(to_range),
            context: Some(t.context.clone()),
            ..Thread::default()
        });
        if let Some(name) = &t.name {
            input.model.thread_names.push(ThreadName {
                thread_id: t.tid,
                name: name.clone(),
            });
        }
    }
    input.model.threads = threads;

    // Memory: stacks first, then the other small ranges, then what the mode
    // adds; the MemoryList never holds overlapping ranges. A thread whose
    // stack is a MemoryList range shares that copy; one whose stack overlaps
    // another's (two threads on one mapping) gets its own copy besides.
    let stacks_sorted = merge(stacks);
    // Threads waiting in the same place share a window: ask pagemap once
    // per merged window, not once per thread.
    let mut windows = Vec::new();
    for w in merge(pc_windows) {
        windows.extend(memory.present(w.start, w.end)?);
    }
    let windows = subtract(merge(windows), &stacks_sorted);
    let mut bulk = Vec::new();
    for m in &input.mappings {
        if m.excluded || m.dump_len == 0 {
            continue;
        }
        let wanted = match mode {
            MemoryMode::Stacks => false,
            MemoryMode::Heap => m.write && !m.shared && !m.is_file(),
            MemoryMode::Full => true,
        };
        if wanted {
            let end = m.start.saturating_add(m.dump_len).min(m.end);
            bulk.extend(memory.present(m.start, end)?);
        }
    }
    let bulk = merge(bulk);
    let mut small: Vec<MemoryRange> = stacks_sorted.iter().map(to_range).collect();
    small.extend(windows.iter().map(to_range));
    match mode {
        MemoryMode::Full => {
            input.model.memory64_list = bulk.iter().map(to_range).collect();
        }
        MemoryMode::Heap | MemoryMode::Stacks => {
            let extra = subtract(
                bulk,
                &merge(stacks_sorted.iter().chain(&windows).cloned().collect()),
            );
            let total = extra.iter().fold(0u64, |sum, r| {
                sum.saturating_add(r.end.saturating_sub(r.start))
            });
            if total < (3 << 30) {
                small.extend(extra.iter().map(to_range));
            } else {
                input.model.memory64_list = extra.iter().map(to_range).collect();
            }
        }
    }
    small.sort_by_key(|r| r.start);
    input.model.memory_list = small;

    // Modules: every file mapped from offset 0 that is an ELF object.
    let mut modules: Vec<Module> = Vec::new();
    let maps = &input.mappings;
    for (i, m) in maps.iter().enumerate() {
        if m.offset != 0 || !m.is_file() || !m.read || m.path.is_empty() {
            continue;
        }
        let mut magic = [0u8; 4];
        let in_memory =
            !m.excluded && memory.read_exact(m.start, &mut magic) && magic == *b"\x7fELF";
        let on_disk = || {
            m.file
                .as_deref()
                .and_then(host_file::open_regular)
                .and_then(|f| {
                    let mut b = [0u8; 4];
                    crate::os::FileExt::read_exact_at(&f, &mut b, 0).ok()?;
                    Some(b == *b"\x7fELF")
                })
                .unwrap_or(false)
        };
        if !in_memory && !on_disk() {
            continue;
        }
        // The object spans its later mappings of the same file, up to the
        // next mapping of that file from offset 0. A dump can list them in
        // any order: one that lies below the first does not shrink it.
        let mut end = m.end;
        for n in maps.get(i.saturating_add(1)..).unwrap_or_default() {
            if n.path == m.path && n.inode == m.inode {
                if n.offset == 0 {
                    break;
                }
                end = end.max(n.end);
            }
        }
        let mut build_id = None;
        if in_memory {
            let mut read = |a: u64, b: &mut [u8]| memory.read_exact(a, b);
            build_id = elf::build_id_in_memory(&mut read, m.start, m.end.saturating_sub(m.start));
        }
        if build_id.is_none() {
            build_id = m.file.as_deref().and_then(elf::build_id_in_file);
        }
        modules.push(Module {
            base: m.start,
            size: u32::try_from(end.saturating_sub(m.start)).unwrap_or(u32::MAX),
            name: m.path.clone(),
            code_view: build_id.map(|b| CodeView::Elf { build_id: b }),
            ..Module::default()
        });
    }
    input.model.modules = modules;

    input.model.memory_info = input
        .mappings
        .iter()
        .map(|m| {
            let prot = page_protection(m);
            MINIDUMP_MEMORY_INFO {
                base_address: m.start,
                allocation_base: m.start,
                allocation_protection: prot,
                region_size: m.end.saturating_sub(m.start),
                state: MemoryState::MEM_COMMIT.bits(),
                protection: prot,
                _type: if m.is_file() {
                    MemoryType::MEM_MAPPED
                } else {
                    MemoryType::MEM_PRIVATE
                }
                .bits(),
                ..MINIDUMP_MEMORY_INFO::default()
            }
        })
        .collect();

    if input.model.linux.maps.is_none() {
        let text: String = input.mappings.iter().map(MappingInput::maps_line).collect();
        input.model.linux.maps = Some(text.into_bytes());
    }
    if input.model.linux.dso_debug.is_none() {
        let mut read = |a: u64, b: &mut [u8]| memory.read_exact(a, b);
        input.model.linux.dso_debug = elf::dso_debug(&mut read, &input.auxv);
    }
    Ok(input.model)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::single_range_in_vec_init)]
    fn range_helpers() {
        assert_eq!(
            first_present_run(0x1000..0x5000, &[0..0x2000, 0x2000..0x3000, 0x4000..0x5000]),
            Some(0x1000..0x3000)
        );
        assert_eq!(first_present_run(0x1000..0x2000, &[0x3000..0x4000]), None);
    }

    #[test]
    fn maps_lines_look_like_the_kernel_s() {
        let m = MappingInput {
            start: 0x400000,
            end: 0x401000,
            read: true,
            exec: true,
            inode: 12,
            path: "/bin/x".into(),
            ..MappingInput::default()
        };
        assert_eq!(
            m.maps_line(),
            "00400000-00401000 r-xp 00000000 00:00 12 /bin/x\n"
        );
        let a = MappingInput {
            start: 0x1000,
            end: 0x2000,
            read: true,
            write: true,
            ..MappingInput::default()
        };
        let parsed =
            coroner_proc_reader::parse::maps::parse_maps(a.maps_line().as_bytes()).unwrap();
        assert_eq!(
            (parsed[0].start, parsed[0].end, parsed[0].perms.write),
            (0x1000, 0x2000, true)
        );
    }
}
