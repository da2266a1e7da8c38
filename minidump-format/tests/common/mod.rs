//! Shared test helpers: model strategies, a synthetic memory source, and a
//! cross-check of a written dump against rust-minidump's `minidump` crate.
#![allow(dead_code)]

use std::io;

use coroner_minidump_format::model::*;
use coroner_minidump_format::raw::{self, MINIDUMP_MEMORY_INFO, MINIDUMP_STREAM_TYPE as ST};
use coroner_minidump_format::read::MemoryRegion;
use coroner_minidump_format::write::MemorySource;
use coroner_minidump_format::{Minidump, ReadError};
use proptest::prelude::*;

pub const PAGE: u64 = 4096;

/// Deterministic synthetic memory: byte at `addr` is a hash of `addr`; every
/// page whose index is 3 mod `hole_every` is unreadable (short read).
#[derive(Debug, Clone, Copy)]
pub struct Synthetic {
    pub hole_every: u64,
}

impl Synthetic {
    pub fn readable(&self, addr: u64) -> bool {
        self.hole_every == 0 || (addr / PAGE) % self.hole_every != 3 % self.hole_every.max(1)
    }
    pub fn byte(addr: u64) -> u8 {
        let x = addr.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (x >> 56) as u8 ^ (addr as u8)
    }
    /// What a dump must hold at `addr`: the byte, or 0 where unreadable.
    pub fn expected(&self, addr: u64) -> u8 {
        if self.readable(addr) {
            Self::byte(addr)
        } else {
            0
        }
    }
    pub fn check(&self, start: u64, bytes: &[u8]) -> Result<(), String> {
        for (i, b) in bytes.iter().enumerate() {
            let a = start.wrapping_add(i as u64);
            if *b != self.expected(a) {
                return Err(format!(
                    "byte at {a:#x} is {b:#x}, expected {:#x}",
                    self.expected(a)
                ));
            }
        }
        Ok(())
    }
}

impl MemorySource for Synthetic {
    fn read_at(&mut self, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
        for (i, b) in buf.iter_mut().enumerate() {
            let a = addr.wrapping_add(i as u64);
            if !self.readable(a) {
                // Scribble after the readable part: the writer must not use it.
                for junk in buf.iter_mut().skip(i) {
                    *junk = 0xee;
                }
                return Ok(i);
            }
            *b = Self::byte(a);
        }
        Ok(buf.len())
    }
}

fn no_nul_string(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<char>().prop_filter("no NUL", |c| *c != '\0'), 0..max)
        .prop_map(|v| v.into_iter().collect())
}

fn small_range(max_size: u64) -> impl Strategy<Value = MemoryRange> {
    (any::<u64>(), 0..max_size).prop_map(|(start, size)| MemoryRange {
        start: start & !0xf,
        size,
    })
}

pub fn amd64_context() -> impl Strategy<Value = Context> {
    (
        proptest::array::uniform32(any::<u64>()),
        proptest::collection::vec(any::<u8>(), 512),
        any::<u32>(),
        any::<[u16; 6]>(),
    )
        .prop_map(|(r, fx, flags_low, seg)| {
            let mut c = raw::CONTEXT_AMD64 {
                context_flags: raw::CONTEXT_AMD64 | (flags_low & 0x1f),
                mx_csr: r[0] as u32,
                cs: seg[0],
                ds: seg[1],
                es: seg[2],
                fs: seg[3],
                gs: seg[4],
                ss: seg[5],
                eflags: r[1] as u32,
                rax: r[2],
                rcx: r[3],
                rdx: r[4],
                rbx: r[5],
                rsp: r[6],
                rbp: r[7],
                rsi: r[8],
                rdi: r[9],
                r8: r[10],
                r9: r[11],
                r10: r[12],
                r11: r[13],
                r12: r[14],
                r13: r[15],
                r14: r[16],
                r15: r[17],
                rip: r[18],
                dr0: r[19],
                dr7: r[20],
                last_exception_from_rip: r[21],
                ..Default::default()
            };
            c.float_save.copy_from_slice(&fx);
            c.vector_register[3] = u128::from(r[22]) << 64 | u128::from(r[23]);
            Context::Amd64(Box::new(c))
        })
}

pub fn arm64_context() -> impl Strategy<Value = Context> {
    (
        proptest::collection::vec(any::<u64>(), 31),
        proptest::collection::vec(any::<u128>(), 32),
        any::<[u64; 4]>(),
        any::<u32>(),
    )
        .prop_map(|(x, v, m, flags_low)| {
            let mut c = raw::CONTEXT_ARM64 {
                context_flags: raw::CONTEXT_ARM64 | (flags_low & 0xf),
                cpsr: m[0] as u32,
                sp: m[1],
                pc: m[2],
                fpcr: (m[3] >> 32) as u32,
                fpsr: m[3] as u32,
                ..Default::default()
            };
            c.iregs.copy_from_slice(&x);
            c.float_regs.copy_from_slice(&v);
            c.bvr[1] = m[0];
            Context::Arm64(Box::new(c))
        })
}

/// Contexts for an architecture (9 = AMD64, 12 = ARM64), sometimes raw bytes.
pub fn context_for(arch: u16) -> BoxedStrategy<Context> {
    let other = proptest::collection::vec(any::<u8>(), 1..300).prop_map(Context::Other);
    match arch {
        raw::PROCESSOR_ARCHITECTURE_ARM64 => prop_oneof![8 => arm64_context(), 1 => other].boxed(),
        _ => prop_oneof![8 => amd64_context(), 1 => other].boxed(),
    }
}

fn code_view() -> impl Strategy<Value = CodeView> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 1..40)
            .prop_map(|build_id| CodeView::Elf { build_id }),
        (
            any::<[u8; 16]>(),
            any::<u32>(),
            proptest::collection::vec(1u8..=255, 0..40)
        )
            .prop_map(|(guid, age, file_name)| CodeView::Pdb70 {
                guid,
                age,
                file_name
            }),
        proptest::collection::vec(any::<u8>(), 0..30).prop_map(|v| {
            // rust-minidump needs at least a 4-byte signature; 0xffffffff is unknown.
            let mut record = vec![0xff; 4];
            record.extend(v);
            CodeView::Other(record)
        }),
    ]
}

fn module() -> impl Strategy<Value = Module> {
    (
        any::<(u64, u32, u32, u32)>(),
        no_nul_string(40),
        proptest::option::of(code_view()),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 1..24)),
        any::<[u32; 13]>(),
    )
        .prop_map(
            |((base, size, checksum, time_date_stamp), name, code_view, misc_record, v)| Module {
                base,
                size,
                checksum,
                time_date_stamp,
                name,
                version_info: raw::VS_FIXEDFILEINFO {
                    signature: v[0],
                    struct_version: v[1],
                    file_version_hi: v[2],
                    file_version_lo: v[3],
                    product_version_hi: v[4],
                    product_version_lo: v[5],
                    file_flags_mask: v[6],
                    file_flags: v[7],
                    file_os: v[8],
                    file_type: v[9],
                    file_subtype: v[10],
                    file_date_hi: v[11],
                    file_date_lo: v[12],
                },
                code_view,
                misc_record,
            },
        )
}

fn system_info(arch: u16) -> impl Strategy<Value = SystemInfo> {
    (
        any::<(u16, u16, u8, u8, u32, u32, u32, u32, u16)>(),
        proptest::option::of(no_nul_string(60)),
        any::<[u8; 24]>(),
    )
        .prop_map(move |(f, csd_version, cpu)| SystemInfo {
            processor_architecture: arch,
            processor_level: f.0,
            processor_revision: f.1,
            number_of_processors: f.2,
            product_type: f.3,
            major_version: f.4,
            minor_version: f.5,
            build_number: f.6,
            platform_id: f.7,
            csd_version,
            suite_mask: f.8,
            cpu,
        })
}

fn memory_info() -> impl Strategy<Value = MINIDUMP_MEMORY_INFO> {
    any::<(u64, u64, u32, u64, u32, u32, u32)>().prop_map(|f| MINIDUMP_MEMORY_INFO {
        base_address: f.0,
        allocation_base: f.1,
        allocation_protection: f.2,
        __alignment1: 0,
        region_size: f.3,
        state: f.4,
        protection: f.5,
        _type: f.6,
        __alignment2: 0,
    })
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

fn linux() -> impl Strategy<Value = LinuxStreams> {
    let dso = (
        any::<(u32, u64, u64, u64)>(),
        proptest::collection::vec((any::<u64>(), no_nul_string(30), any::<u64>()), 0..4),
    )
        .prop_map(|((version, brk, ldbase, dynamic), maps)| DsoDebug {
            version,
            brk,
            ldbase,
            dynamic,
            link_maps: maps
                .into_iter()
                .map(|(addr, name, ld)| LinkMap { addr, name, ld })
                .collect(),
        });
    (
        proptest::option::of(bytes(200)),
        proptest::option::of(bytes(200)),
        proptest::option::of(bytes(100)),
        proptest::option::of(bytes(100)),
        proptest::option::of(bytes(200)),
        proptest::option::of(bytes(64)),
        proptest::option::of(bytes(300)),
        proptest::option::of(dso),
    )
        .prop_map(
            |(cpu_info, proc_status, lsb_release, cmd_line, environ, auxv, maps, dso_debug)| {
                LinuxStreams {
                    cpu_info,
                    proc_status,
                    lsb_release,
                    cmd_line,
                    environ,
                    auxv,
                    maps,
                    dso_debug,
                }
            },
        )
}

fn known_type(t: u32) -> bool {
    matches!(t, 3..=7 | 9 | 15 | 16 | 24) || (0x4767_0003..=0x4767_000a).contains(&t)
}

/// Arbitrary models; every thread stack is also listed in the MemoryList so
/// the dump is what stack walkers expect.
pub fn model() -> impl Strategy<Value = MinidumpModel> {
    prop_oneof![
        Just(raw::PROCESSOR_ARCHITECTURE_AMD64),
        Just(raw::PROCESSOR_ARCHITECTURE_ARM64)
    ]
    .prop_flat_map(|arch| {
        let thread = (
            any::<(u32, u32, u32, u32, u64)>(),
            proptest::option::of(small_range(3 * PAGE)),
            proptest::option::of(context_for(arch)),
        )
            .prop_map(
                |((thread_id, suspend_count, priority_class, priority, teb), stack, context)| {
                    Thread {
                        thread_id,
                        suspend_count,
                        priority_class,
                        priority,
                        teb,
                        stack,
                        context,
                    }
                },
            );
        let exception = (
            any::<(u32, u32, u32, u64, u64)>(),
            proptest::collection::vec(any::<u64>(), 0..=15),
            proptest::option::of(context_for(arch)),
        )
            .prop_map(
                |((thread_id, code, flags, record, address), parameters, context)| Exception {
                    thread_id,
                    code,
                    flags,
                    record,
                    address,
                    parameters,
                    context,
                },
            );
        let misc = (
            any::<[u32; 5]>(),
            prop_oneof![3 => Just(Vec::new()), 1 => bytes(40)],
        )
            .prop_map(|(f, extra)| MiscInfo {
                flags1: f[0],
                process_id: f[1],
                process_create_time: f[2],
                process_user_time: f[3],
                process_kernel_time: f[4],
                extra,
            });
        let names = proptest::collection::btree_map(any::<u32>(), no_nul_string(20), 0..4)
            .prop_map(|m| {
                m.into_iter()
                    .map(|(thread_id, name)| ThreadName { thread_id, name })
                    .collect::<Vec<_>>()
            });
        let others = proptest::collection::vec(
            (
                any::<u32>().prop_filter("unknown type", |t| !known_type(*t)),
                bytes(64),
            )
                .prop_map(|(stream_type, data)| RawStream { stream_type, data }),
            0..3,
        );
        (
            (
                any::<u32>(),
                any::<u64>(),
                proptest::option::of(system_info(arch)),
                proptest::option::of(misc),
            ),
            proptest::collection::vec(thread, 0..5),
            names,
            proptest::collection::vec(module(), 0..5),
            proptest::option::of(exception),
            proptest::collection::vec(memory_info(), 0..4),
            linux(),
            others,
            proptest::collection::vec(small_range(2 * PAGE), 0..5),
            proptest::collection::vec(small_range(20 * PAGE), 0..5),
        )
            .prop_map(
                |(
                    (time_date_stamp, flags, system_info, misc_info),
                    threads,
                    thread_names,
                    modules,
                    exception,
                    memory_info,
                    linux,
                    other_streams,
                    mut memory_list,
                    memory64_list,
                )| {
                    for t in &threads {
                        if let Some(s) = t.stack {
                            if !memory_list.contains(&s) {
                                memory_list.push(s);
                            }
                        }
                    }
                    MinidumpModel {
                        time_date_stamp,
                        flags,
                        system_info,
                        misc_info,
                        threads,
                        thread_names,
                        modules,
                        exception,
                        memory_info,
                        linux,
                        other_streams,
                        memory_list,
                        memory64_list,
                    }
                },
            )
    })
}

/// Every entry of one of our list streams (none when the stream is absent),
/// or the first read error as text.
fn entries<L, I, T>(
    list: Result<Option<L>, ReadError>,
    iter: impl FnOnce(L) -> I,
) -> Result<Vec<T>, String>
where
    I: Iterator<Item = Result<T, ReadError>>,
{
    match list.map_err(|e| e.to_string())? {
        Some(l) => iter(l).collect::<Result<_, _>>().map_err(|e| e.to_string()),
        None => Ok(Vec::new()),
    }
}

/// Check every memory range of `dump` against the synthetic source.
pub fn check_memory(
    dump: &Minidump<&[u8]>,
    model: &MinidumpModel,
    src: &Synthetic,
) -> Result<(), String> {
    let list: Vec<_> = entries(dump.memory_list(), |l| l.iter())?;
    if list.len() != model.memory_list.len() {
        return Err(format!(
            "MemoryList has {} ranges, model {}",
            list.len(),
            model.memory_list.len()
        ));
    }
    for r in &list {
        src.check(r.start, r.bytes)?;
    }
    let list64: Vec<_> = entries(dump.memory64_list(), |l| l.iter())?;
    for r in &list64 {
        src.check(r.start, r.bytes)?;
    }
    if let Some(threads) = dump.threads().map_err(|e| e.to_string())? {
        for t in threads.iter() {
            let t = t.map_err(|e| e.to_string())?;
            if let Some(range) = t.stack_range() {
                src.check(range.start, t.stack_bytes().map_err(|e| e.to_string())?)?;
            }
        }
    }
    Ok(())
}

fn rm_context_matches(ours: &Context, theirs: &minidump::MinidumpContext) -> Result<(), String> {
    use minidump::MinidumpRawContext as R;
    match (ours, &theirs.raw) {
        (Context::Amd64(a), R::Amd64(b)) => {
            let pairs = [
                (a.rax, b.rax),
                (a.rbx, b.rbx),
                (a.rcx, b.rcx),
                (a.rdx, b.rdx),
                (a.rsi, b.rsi),
                (a.rdi, b.rdi),
                (a.rbp, b.rbp),
                (a.rsp, b.rsp),
                (a.r8, b.r8),
                (a.r9, b.r9),
                (a.r10, b.r10),
                (a.r11, b.r11),
                (a.r12, b.r12),
                (a.r13, b.r13),
                (a.r14, b.r14),
                (a.r15, b.r15),
                (a.rip, b.rip),
                (a.dr0, b.dr0),
                (a.dr7, b.dr7),
                (a.last_exception_from_rip, b.last_exception_from_rip),
            ];
            for (i, (x, y)) in pairs.iter().enumerate() {
                if x != y {
                    return Err(format!("amd64 register #{i}: ours {x:#x}, minidump {y:#x}"));
                }
            }
            let segs = [
                (a.cs, b.cs),
                (a.ds, b.ds),
                (a.es, b.es),
                (a.fs, b.fs),
                (a.gs, b.gs),
                (a.ss, b.ss),
            ];
            if segs.iter().any(|(x, y)| x != y)
                || a.eflags != b.eflags
                || a.mx_csr != b.mx_csr
                || a.context_flags != b.context_flags
            {
                return Err("amd64 segments/eflags/mxcsr/flags differ".into());
            }
            if a.float_save != b.float_save {
                return Err("FXSAVE area differs".into());
            }
            if a.vector_register != b.vector_register {
                return Err("vector registers differ".into());
            }
            Ok(())
        }
        (Context::Arm64(a), R::Arm64(b)) => {
            if a.iregs != b.iregs || a.sp != b.sp || a.pc != b.pc || a.cpsr != b.cpsr {
                return Err("arm64 integer registers differ".into());
            }
            if a.float_regs != b.float_regs
                || a.fpcr != b.fpcr
                || a.fpsr != b.fpsr
                || a.bvr != b.bvr
            {
                return Err("arm64 fp/debug registers differ".into());
            }
            Ok(())
        }
        (o, t) => Err(format!("context kinds differ: ours {o:?}, minidump {t:?}")),
    }
}

fn same_count(what: &str, ours: usize, theirs: usize) -> Result<(), String> {
    if ours != theirs {
        return Err(format!("{what}: ours {ours}, minidump {theirs}"));
    }
    Ok(())
}

/// Our memory ranges against the `minidump` crate's, in file order: as
/// many, and each at the same address with the same bytes.
fn same_ranges<D>(
    what: &str,
    ours: &[MemoryRegion],
    theirs: &[&minidump::MinidumpMemoryBase<D>],
) -> Result<(), String> {
    same_count(&format!("{what} ranges"), ours.len(), theirs.len())?;
    for (a, b) in ours.iter().zip(theirs) {
        if a.start != b.base_address || a.bytes.len() as u64 != b.size || a.bytes != b.bytes {
            return Err(format!("{what} range at {:#x} differs", a.start));
        }
    }
    Ok(())
}

/// Parse `bytes` with rust-minidump's `minidump` crate and check it agrees
/// with our reader on threads, contexts, modules and code ids, memory,
/// system info, exception, misc info, thread names, memory info and the Linux
/// streams.
pub fn cross_check(bytes: &[u8]) -> Result<(), String> {
    use minidump::{
        MinidumpException, MinidumpLinuxCpuInfo, MinidumpMemory64List, MinidumpMemoryInfoList,
        MinidumpMemoryList, MinidumpMiscInfo, MinidumpModuleList, MinidumpSystemInfo,
        MinidumpThreadList, MinidumpThreadNames, Module as _, RawMiscInfo,
    };
    let ours = coroner_minidump_format::parse(bytes).map_err(|e| format!("our parse: {e}"))?;
    let model = ours.to_model().map_err(|e| format!("our to_model: {e}"))?;
    let theirs = minidump::Minidump::read(bytes).map_err(|e| format!("minidump crate: {e}"))?;

    // System info.
    let sys = theirs.get_stream::<MinidumpSystemInfo>().ok();
    match (&model.system_info, &sys) {
        (Some(a), Some(b)) => {
            let r = &b.raw;
            if a.processor_architecture != r.processor_architecture
                || a.number_of_processors != r.number_of_processors
                || a.platform_id != r.platform_id
                || a.major_version != r.major_version
                || a.build_number != r.build_number
                || a.cpu != r.cpu.data
            {
                return Err(format!("system info differs: {a:?} vs {r:?}"));
            }
            if a.csd_version.as_deref() != b.csd_version().as_deref() {
                return Err(format!(
                    "CSD version: ours {:?}, minidump {:?}",
                    a.csd_version,
                    b.csd_version()
                ));
            }
        }
        (None, None) => {}
        (a, b) => {
            return Err(format!(
                "system info presence differs: {a:?} vs {:?}",
                b.is_some()
            ))
        }
    }
    let misc = theirs.get_stream::<MinidumpMiscInfo>().ok();
    if let Some(a) = &model.misc_info {
        if a.extra.is_empty() {
            match misc.as_ref().map(|m| &m.raw) {
                Some(RawMiscInfo::MiscInfo(r)) => {
                    if (r.flags1, r.process_id, r.process_create_time)
                        != (a.flags1, a.process_id, a.process_create_time)
                    {
                        return Err("misc info differs".into());
                    }
                }
                other => return Err(format!("misc info not read by minidump: {other:?}")),
            }
        }
    }

    // Memory (in file order; rust-minidump's by-address map drops overlaps).
    let their_list = theirs.get_stream::<MinidumpMemoryList>().ok();
    let our_list: Vec<_> = entries(ours.memory_list(), |l| l.iter())?;
    // rust-minidump skips empty MemoryList entries as corrupt.
    let our_list: Vec<_> = our_list
        .into_iter()
        .filter(|r| !r.bytes.is_empty())
        .collect();
    let their_regions: Vec<_> = their_list.iter().flat_map(|l| l.iter()).collect();
    same_ranges("MemoryList", &our_list, &their_regions)?;
    let their64 = theirs.get_stream::<MinidumpMemory64List>().ok();
    let our64: Vec<_> = entries(ours.memory64_list(), |l| l.iter())?;
    let their64: Vec<_> = their64.iter().flat_map(|l| l.iter()).collect();
    same_ranges("Memory64List", &our64, &their64)?;

    // Threads, stacks and contexts.
    let unified = theirs.get_memory().unwrap_or_default();
    let their_threads = theirs.get_stream::<MinidumpThreadList>().ok();
    let their_threads: Vec<_> = their_threads
        .iter()
        .flat_map(|l| l.threads.iter())
        .collect();
    let our_threads: Vec<_> = entries(ours.threads(), |l| l.iter())?;
    same_count("threads", our_threads.len(), their_threads.len())?;
    for (a, b) in our_threads.iter().zip(&their_threads) {
        if a.thread_id() != b.raw.thread_id {
            return Err("thread ids differ".into());
        }
        if let Some(range) = a.stack_range() {
            let ours_stack = a.stack_bytes().map_err(|e| e.to_string())?;
            if range.size > 0 {
                let theirs_stack = b.stack_memory(&unified).ok_or("minidump found no stack")?;
                if theirs_stack.bytes() != ours_stack || theirs_stack.base_address() != range.start
                {
                    return Err(format!("thread {} stack differs", a.thread_id()));
                }
            }
        }
        if let (Some(ctx), Some(sys)) = (a.context().map_err(|e| e.to_string())?, &sys) {
            if !matches!(ctx, Context::Other(_)) {
                let theirs_ctx = b
                    .context(sys, misc.as_ref())
                    .ok_or("minidump could not read a context")?;
                rm_context_matches(&ctx, &theirs_ctx)?;
            }
        }
    }

    // Thread names.
    if !model.thread_names.is_empty() {
        let names = theirs
            .get_stream::<MinidumpThreadNames>()
            .map_err(|e| format!("thread names: {e}"))?;
        for n in &model.thread_names {
            if names.get_name(n.thread_id).as_deref() != Some(n.name.as_str()) {
                return Err(format!("thread name of {} differs", n.thread_id));
            }
        }
    }

    // Modules and code ids.
    let their_modules = theirs.get_stream::<MinidumpModuleList>().ok();
    let their_modules: Vec<_> = their_modules.iter().flat_map(|l| l.iter()).collect();
    // rust-minidump drops modules of size 0 or whose range overflows.
    let our_modules: Vec<_> = model
        .modules
        .iter()
        .filter(|m| m.size != 0 && m.base.checked_add(m.size.into()).is_some())
        .collect();
    same_count("modules", our_modules.len(), their_modules.len())?;
    for (a, b) in our_modules.iter().zip(&their_modules) {
        if a.base != b.base_address() || u64::from(a.size) != b.size() || a.name != b.code_file() {
            return Err(format!("module {} differs from {}", a.name, b.code_file()));
        }
        match &a.code_view {
            Some(cv @ CodeView::Elf { build_id }) if build_id.iter().any(|b| *b != 0) => {
                let theirs_id = b.code_identifier().map(|c| c.to_string());
                if theirs_id != cv.code_id() {
                    return Err(format!(
                        "code id: ours {:?}, minidump {theirs_id:?}",
                        cv.code_id()
                    ));
                }
                let theirs_debug = b.debug_identifier().map(|d| d.breakpad().to_string());
                if theirs_debug != cv.debug_id() {
                    return Err(format!(
                        "debug id: ours {:?}, minidump {theirs_debug:?}",
                        cv.debug_id()
                    ));
                }
            }
            Some(cv @ CodeView::Pdb70 { .. }) => {
                let theirs_debug = b.debug_identifier().map(|d| d.breakpad().to_string());
                if theirs_debug != cv.debug_id() {
                    return Err(format!(
                        "pdb debug id: ours {:?}, minidump {theirs_debug:?}",
                        cv.debug_id()
                    ));
                }
            }
            _ => {}
        }
    }

    // Exception.
    if let Some(e) = &model.exception {
        let b = theirs
            .get_stream::<MinidumpException>()
            .map_err(|e| format!("exception: {e}"))?;
        let r = &b.raw.exception_record;
        if b.thread_id != e.thread_id
            || r.exception_code != e.code
            || r.exception_address != e.address
            || r.exception_flags != e.flags
        {
            return Err("exception differs".into());
        }
        if let (Some(ctx), Some(sys)) = (&e.context, &sys) {
            if !matches!(ctx, Context::Other(_)) {
                let theirs_ctx = b
                    .context(sys, misc.as_ref())
                    .ok_or("minidump could not read the exception context")?;
                rm_context_matches(ctx, &theirs_ctx)?;
            }
        }
    }

    // Memory info.
    if !model.memory_info.is_empty() {
        let infos = theirs
            .get_stream::<MinidumpMemoryInfoList>()
            .map_err(|e| format!("memory info: {e}"))?;
        let theirs_infos: Vec<_> = infos
            .iter()
            .map(|i| (i.raw.base_address, i.raw.region_size, i.raw.protection))
            .collect();
        let ours_infos: Vec<_> = model
            .memory_info
            .iter()
            .map(|i| (i.base_address, i.region_size, i.protection))
            .collect();
        if theirs_infos != ours_infos {
            return Err("memory info differs".into());
        }
    }

    // Linux streams, byte for byte.
    let l = &model.linux;
    for (ty, ours_bytes) in [
        (ST::LINUX_CPU_INFO, &l.cpu_info),
        (ST::LINUX_PROC_STATUS, &l.proc_status),
        (ST::LINUX_LSB_RELEASE, &l.lsb_release),
        (ST::LINUX_CMD_LINE, &l.cmd_line),
        (ST::LINUX_ENVIRON, &l.environ),
        (ST::LINUX_AUXV, &l.auxv),
        (ST::LINUX_MAPS, &l.maps),
    ] {
        let theirs_bytes = theirs.get_raw_stream(ty).ok();
        if theirs_bytes != ours_bytes.as_deref() {
            return Err(format!("Linux stream {ty:#x} differs"));
        }
    }
    if let Some(cpu) = &l.cpu_info {
        let b = theirs
            .get_stream::<MinidumpLinuxCpuInfo>()
            .map_err(|e| e.to_string())?;
        if &*b.raw_bytes() != cpu.as_slice() {
            return Err("cpuinfo differs".into());
        }
    }
    Ok(())
}

/// Read everything our reader can read from `bytes`, ignoring errors (they
/// are fine; panics, hangs and huge allocations are not). When the dump
/// converts to a model whose rewrite is small, check parse → write → parse.
pub fn walk_everything(bytes: &[u8]) -> Walk {
    use coroner_minidump_format::write::{Layout, MemorySource};
    walk_file(bytes);
    let Ok(dump) = coroner_minidump_format::parse(bytes) else {
        return Walk::Rejected;
    };
    for s in dump.streams() {
        let _ = s.map(|s| s.data.len());
    }
    if let Ok(Some(threads)) = dump.threads() {
        for t in threads.iter().flatten() {
            let _ = t.stack_bytes();
            let _ = t.context();
            let _ = t.to_model();
        }
    }
    if let Ok(Some(modules)) = dump.modules() {
        for m in modules.iter().flatten() {
            let _ = m.name();
            let _ = m.code_id();
            let _ = m.debug_id();
            let _ = m.misc_record();
        }
    }
    let mut addrs = Vec::new();
    if let Ok(Some(l)) = dump.memory_list() {
        addrs.extend(l.iter().flatten().map(|r| r.start));
    }
    if let Ok(Some(l)) = dump.memory64_list() {
        addrs.extend(l.iter().flatten().map(|r| r.start.wrapping_add(1)));
    }
    if let Ok(mut memory) = dump.memory() {
        let mut buf = [0u8; 64];
        for a in addrs.iter().take(64) {
            let _ = memory.read(*a, 8);
            let _ = memory.read_at(*a, &mut buf);
        }
    }
    if let Ok(Some(e)) = dump.exception() {
        let _ = e.to_model();
    }
    if let Ok(Some(s)) = dump.system_info() {
        let _ = s.to_model();
    }
    if let Ok(Some(m)) = dump.misc_info() {
        let _ = m.to_model();
    }
    if let Ok(Some(n)) = dump.thread_names() {
        for _ in n.iter() {}
    }
    if let Ok(Some(i)) = dump.memory_info() {
        for _ in i.iter() {}
    }
    if let Ok(Some(a)) = dump.linux_auxv() {
        for _ in a {}
    }
    if let Ok(Some(d)) = dump.linux_dso_debug() {
        for _ in d.link_maps() {}
    }
    let _ = dump.linux_cpu_info();
    let _ = dump.linux_maps();
    let Ok(model) = dump.to_model() else {
        return Walk::Parsed;
    };
    let Ok(layout) = Layout::plan(&model) else {
        return Walk::Parsed;
    };
    if layout.file_size() > 64 << 20 {
        return Walk::Parsed;
    }
    let Ok(mut memory) = dump.memory() else {
        return Walk::Parsed;
    };
    let mut out = Vec::new();
    layout
        .write(&mut memory, &mut out)
        .expect("rewriting a parsed dump");
    let again = coroner_minidump_format::parse(&out).expect("our own output parses");
    assert_eq!(
        again.to_model().expect("our own output converts"),
        model,
        "parse(write(parse(x))) == parse(x)"
    );
    Walk::RoundTripped
}

/// The file-backed reader over the same bytes: never panics and
/// never allocates beyond what the file justifies.
pub fn walk_file(bytes: &[u8]) {
    use coroner_minidump_format::write::MemorySource;
    let Ok(file) = coroner_minidump_format::read::MinidumpFile::open(bytes) else {
        return;
    };
    let _ = file.metadata().to_model();
    let t = file.truncation();
    let mut memory = file.memory();
    let mut buf = [0u8; 64];
    for l in file.memory_locations().iter().take(64) {
        let _ = memory.read_at(l.start, &mut buf);
        let _ = t.as_ref().map(|t| t.is_missing(l.start));
    }
}

/// How far [`walk_everything`] got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Walk {
    /// The header or directory was rejected.
    Rejected,
    /// It parsed, but some stream was bad (so no model).
    Parsed,
    /// It converted to a model that rewrote and re-read identically.
    RoundTripped,
}
