use std::io::{self, Seek, SeekFrom, Write};

use super::encode::{code_view_bytes, context_bytes, count32, rva, size32, Meta, Patch, RVA_LIMIT};
use super::MemorySource;
use crate::error::WriteError;
use crate::model::{MemoryRange, Model};
use crate::raw::{
    self, DSO_DEBUG_64, LINK_MAP_64, MINIDUMP_DIRECTORY, MINIDUMP_EXCEPTION,
    MINIDUMP_EXCEPTION_STREAM, MINIDUMP_HEADER, MINIDUMP_LOCATION_DESCRIPTOR,
    MINIDUMP_MEMORY64_LIST, MINIDUMP_MEMORY_DESCRIPTOR, MINIDUMP_MEMORY_DESCRIPTOR64,
    MINIDUMP_MEMORY_INFO_LIST, MINIDUMP_MISC_INFO, MINIDUMP_MODULE, MINIDUMP_STREAM_TYPE as ST,
    MINIDUMP_SYSTEM_INFO, MINIDUMP_THREAD, MINIDUMP_THREAD_NAME,
};

/// Size of the buffer memory is streamed through.
const BUFFER_SIZE: u64 = 1 << 20;
/// Granularity of unreadable memory after a short read.
const PAGE_SIZE: u64 = 4096;
/// Offset of `stack.memory.rva` in `MINIDUMP_THREAD`.
const THREAD_STACK_RVA: u64 = 36;
/// Offset of `memory.rva` in `MINIDUMP_MEMORY_DESCRIPTOR`.
const DESCRIPTOR_RVA: u64 = 12;

/// A planned minidump: all metadata encoded, every offset fixed, memory
/// still to be pulled from a [`MemorySource`] by [`Layout::write`].
#[derive(Debug, Clone)]
pub struct Layout {
    meta: Vec<u8>,
    /// MemoryList ranges (then stacks listed nowhere else), in file order.
    blocks: Vec<MemoryRange>,
    memory64: Vec<MemoryRange>,
    memory_offset: u64,
    memory64_offset: u64,
    total: u64,
}

fn dir(stream_type: u32, location: MINIDUMP_LOCATION_DESCRIPTOR) -> MINIDUMP_DIRECTORY {
    MINIDUMP_DIRECTORY {
        stream_type,
        location,
    }
}

fn loc(
    what: &'static str,
    offset: u64,
    size: u64,
) -> Result<MINIDUMP_LOCATION_DESCRIPTOR, WriteError> {
    let data_size = u32::try_from(size).map_err(|_| WriteError::TooLarge {
        what,
        value: size,
        limit: u32::MAX.into(),
    })?;
    Ok(MINIDUMP_LOCATION_DESCRIPTOR {
        data_size,
        rva: rva(what, offset)?,
    })
}

fn table_len(count: usize, entry: u64) -> u64 {
    u64::try_from(count)
        .unwrap_or(u64::MAX)
        .saturating_mul(entry)
}

fn offset_usize(what: &'static str, offset: u64) -> Result<usize, WriteError> {
    usize::try_from(offset).map_err(|_| WriteError::RvaOverflow { what, end: offset })
}

impl Layout {
    /// Encode the model's streams and place everything. Fails when a
    /// 32-bit RVA or size field cannot hold what it must (see [`WriteError`]).
    pub fn plan(model: &Model) -> Result<Layout, WriteError> {
        let mut m = Meta::default();
        m.put("MINIDUMP_HEADER", MINIDUMP_HEADER::default())?;
        let mut entries: Vec<MINIDUMP_DIRECTORY> = Vec::new();
        let mut blocks: Vec<MemoryRange> = model.memory_list.clone();

        if let Some(si) = &model.system_info {
            m.align(8);
            let off = m.put("MINIDUMP_SYSTEM_INFO", MINIDUMP_SYSTEM_INFO::default())?;
            let csd = match &si.csd_version {
                Some(s) => rva("CSD version", m.string("CSD version", s)?)?,
                None => 0,
            };
            let raw = MINIDUMP_SYSTEM_INFO {
                processor_architecture: si.processor_architecture,
                processor_level: si.processor_level,
                processor_revision: si.processor_revision,
                number_of_processors: si.number_of_processors,
                product_type: si.product_type,
                major_version: si.major_version,
                minor_version: si.minor_version,
                build_number: si.build_number,
                platform_id: si.platform_id,
                csd_version_rva: csd,
                suite_mask: si.suite_mask,
                reserved2: 0,
                cpu: si.cpu,
            };
            m.put_at("MINIDUMP_SYSTEM_INFO", off, raw)?;
            entries.push(dir(ST::SYSTEM_INFO, loc("SystemInfo", off, 56)?));
        }

        if let Some(mi) = &model.misc_info {
            m.align(8);
            let size = 24usize.saturating_add(mi.extra.len());
            let raw = MINIDUMP_MISC_INFO {
                size_of_info: size32("MiscInfo", size)?,
                flags1: mi.flags1,
                process_id: mi.process_id,
                process_create_time: mi.process_create_time,
                process_user_time: mi.process_user_time,
                process_kernel_time: mi.process_kernel_time,
            };
            let off = m.put("MINIDUMP_MISC_INFO", raw)?;
            m.bytes("MiscInfo extra", &mi.extra)?;
            entries.push(dir(ST::MISC_INFO, loc("MiscInfo", off, size as u64)?));
        }

        if !model.threads.is_empty() {
            m.align(8);
            let off = m.put(
                "ThreadList count",
                count32("thread count", model.threads.len())?,
            )?;
            let len = table_len(model.threads.len(), 48);
            let table = m.reserve("ThreadList", len)?;
            for (i, t) in model.threads.iter().enumerate() {
                let thread_context = match &t.context {
                    Some(c) => {
                        m.align(16);
                        m.location("thread context", &context_bytes(c)?)?
                    }
                    None => MINIDUMP_LOCATION_DESCRIPTOR::default(),
                };
                let entry_off = table.saturating_add(table_len(i, 48));
                let mut stack = MINIDUMP_MEMORY_DESCRIPTOR::default();
                if let Some(range) = t.stack {
                    stack.start_of_memory_range = range.start;
                    stack.memory.data_size =
                        u32::try_from(range.size).map_err(|_| WriteError::TooLarge {
                            what: "thread stack size",
                            value: range.size,
                            limit: u32::MAX.into(),
                        })?;
                    let block = match blocks.iter().position(|b| *b == range) {
                        Some(b) => b,
                        None => {
                            blocks.push(range);
                            blocks.len().saturating_sub(1)
                        }
                    };
                    let at =
                        offset_usize("thread stack", entry_off.saturating_add(THREAD_STACK_RVA))?;
                    m.patches.push(Patch { at, block });
                }
                let raw = MINIDUMP_THREAD {
                    thread_id: t.thread_id,
                    suspend_count: t.suspend_count,
                    priority_class: t.priority_class,
                    priority: t.priority,
                    teb: t.teb,
                    stack,
                    thread_context,
                };
                m.put_at("MINIDUMP_THREAD", entry_off, raw)?;
            }
            entries.push(dir(
                ST::THREAD_LIST,
                loc("ThreadList", off, len.saturating_add(4))?,
            ));
        }

        if !model.thread_names.is_empty() {
            m.align(8);
            let n = model.thread_names.len();
            let off = m.put("ThreadNames count", count32("thread name count", n)?)?;
            let len = table_len(n, 12);
            let table = m.reserve("ThreadNames", len)?;
            for (i, t) in model.thread_names.iter().enumerate() {
                let name = m.string("thread name", &t.name)?;
                let raw = MINIDUMP_THREAD_NAME {
                    thread_id: t.thread_id,
                    rva_of_thread_name: name,
                };
                m.put_at(
                    "MINIDUMP_THREAD_NAME",
                    table.saturating_add(table_len(i, 12)),
                    raw,
                )?;
            }
            entries.push(dir(
                ST::THREAD_NAMES,
                loc("ThreadNames", off, len.saturating_add(4))?,
            ));
        }

        if !model.modules.is_empty() {
            m.align(8);
            let n = model.modules.len();
            let off = m.put("ModuleList count", count32("module count", n)?)?;
            let len = table_len(n, 108);
            let table = m.reserve("ModuleList", len)?;
            for (i, md) in model.modules.iter().enumerate() {
                let name = rva("module name", m.string("module name", &md.name)?)?;
                let cv_record = match &md.code_view {
                    Some(cv) => m.location("CodeView record", &code_view_bytes(cv))?,
                    None => MINIDUMP_LOCATION_DESCRIPTOR::default(),
                };
                let misc_record = match &md.misc_record {
                    Some(b) => m.location("misc record", b)?,
                    None => MINIDUMP_LOCATION_DESCRIPTOR::default(),
                };
                let raw = MINIDUMP_MODULE {
                    base_of_image: md.base,
                    size_of_image: md.size,
                    checksum: md.checksum,
                    time_date_stamp: md.time_date_stamp,
                    module_name_rva: name,
                    version_info: md.version_info,
                    cv_record,
                    misc_record,
                    reserved0: 0,
                    reserved1: 0,
                };
                m.put_at(
                    "MINIDUMP_MODULE",
                    table.saturating_add(table_len(i, 108)),
                    raw,
                )?;
            }
            entries.push(dir(
                ST::MODULE_LIST,
                loc("ModuleList", off, len.saturating_add(4))?,
            ));
        }

        if let Some(e) = &model.exception {
            m.align(8);
            let off = m.put(
                "MINIDUMP_EXCEPTION_STREAM",
                MINIDUMP_EXCEPTION_STREAM::default(),
            )?;
            let thread_context = match &e.context {
                Some(c) => {
                    m.align(16);
                    m.location("exception context", &context_bytes(c)?)?
                }
                None => MINIDUMP_LOCATION_DESCRIPTOR::default(),
            };
            let mut information = [0u64; 15];
            if e.parameters.len() > information.len() {
                return Err(WriteError::TooLarge {
                    what: "exception parameters",
                    value: u64::try_from(e.parameters.len()).unwrap_or(u64::MAX),
                    limit: 15,
                });
            }
            for (d, s) in information.iter_mut().zip(&e.parameters) {
                *d = *s;
            }
            let raw = MINIDUMP_EXCEPTION_STREAM {
                thread_id: e.thread_id,
                __align: 0,
                exception_record: MINIDUMP_EXCEPTION {
                    exception_code: e.code,
                    exception_flags: e.flags,
                    exception_record: e.record,
                    exception_address: e.address,
                    number_parameters: count32("exception parameters", e.parameters.len())?,
                    __align: 0,
                    exception_information: information,
                },
                thread_context,
            };
            m.put_at("MINIDUMP_EXCEPTION_STREAM", off, raw)?;
            entries.push(dir(ST::EXCEPTION, loc("Exception", off, 168)?));
        }

        if !model.memory_info.is_empty() {
            m.align(8);
            let n = model.memory_info.len();
            let head = MINIDUMP_MEMORY_INFO_LIST {
                size_of_header: 16,
                size_of_entry: 48,
                number_of_entries: u64::try_from(n).unwrap_or(u64::MAX),
            };
            let off = m.put("MINIDUMP_MEMORY_INFO_LIST", head)?;
            for info in &model.memory_info {
                m.put("MINIDUMP_MEMORY_INFO", *info)?;
            }
            entries.push(dir(
                ST::MEMORY_INFO_LIST,
                loc("MemoryInfoList", off, table_len(n, 48).saturating_add(16))?,
            ));
        }

        let l = &model.linux;
        let texts = [
            (ST::LINUX_CPU_INFO, &l.cpu_info),
            (ST::LINUX_PROC_STATUS, &l.proc_status),
            (ST::LINUX_LSB_RELEASE, &l.lsb_release),
            (ST::LINUX_CMD_LINE, &l.cmd_line),
            (ST::LINUX_ENVIRON, &l.environ),
            (ST::LINUX_AUXV, &l.auxv),
            (ST::LINUX_MAPS, &l.maps),
        ];
        for (ty, bytes) in texts {
            if let Some(bytes) = bytes {
                entries.push(dir(ty, m.location("Linux stream", bytes)?));
            }
        }

        if let Some(d) = &l.dso_debug {
            m.align(8);
            let n = d.link_maps.len();
            let off = m.put("DSO_DEBUG_64", DSO_DEBUG_64::default())?;
            let len = table_len(n, 20);
            let table = m.reserve("LINK_MAP_64 array", len)?;
            for (i, lm) in d.link_maps.iter().enumerate() {
                let name = rva("link map name", m.string("link map name", &lm.name)?)?;
                let raw = LINK_MAP_64 {
                    addr: lm.addr,
                    name,
                    ld: lm.ld,
                };
                m.put_at("LINK_MAP_64", table.saturating_add(table_len(i, 20)), raw)?;
            }
            let raw = DSO_DEBUG_64 {
                version: d.version,
                map: rva("link map", table)?,
                dso_count: count32("link map count", n)?,
                brk: d.brk,
                ldbase: d.ldbase,
                dynamic: d.dynamic,
            };
            m.put_at("DSO_DEBUG_64", off, raw)?;
            entries.push(dir(
                ST::LINUX_DSO_DEBUG,
                loc("DsoDebug", off, len.saturating_add(36))?,
            ));
        }

        if !blocks.is_empty() && !model.memory_list.is_empty() {
            m.align(8);
            let n = model.memory_list.len();
            let off = m.put("MemoryList count", count32("memory range count", n)?)?;
            for (block, r) in model.memory_list.iter().enumerate() {
                let data_size = u32::try_from(r.size).map_err(|_| WriteError::TooLarge {
                    what: "MemoryList range size (use the Memory64List)",
                    value: r.size,
                    limit: u32::MAX.into(),
                })?;
                let d = MINIDUMP_MEMORY_DESCRIPTOR {
                    start_of_memory_range: r.start,
                    memory: MINIDUMP_LOCATION_DESCRIPTOR { data_size, rva: 0 },
                };
                let at = m.put("MINIDUMP_MEMORY_DESCRIPTOR", d)?;
                m.patches.push(Patch {
                    at: offset_usize("MemoryList", at.saturating_add(DESCRIPTOR_RVA))?,
                    block,
                });
            }
            entries.push(dir(
                ST::MEMORY_LIST,
                loc("MemoryList", off, table_len(n, 16).saturating_add(4))?,
            ));
        }

        let mut memory64_base_at = None;
        if !model.memory64_list.is_empty() {
            m.align(8);
            let n = model.memory64_list.len();
            let head = MINIDUMP_MEMORY64_LIST {
                number_of_memory_ranges: u64::try_from(n).unwrap_or(u64::MAX),
                base_rva: 0,
            };
            let off = m.put("MINIDUMP_MEMORY64_LIST", head)?;
            memory64_base_at = Some(off.saturating_add(8));
            for r in &model.memory64_list {
                let d = MINIDUMP_MEMORY_DESCRIPTOR64 {
                    start_of_memory_range: r.start,
                    data_size: r.size,
                };
                m.put("MINIDUMP_MEMORY_DESCRIPTOR64", d)?;
            }
            entries.push(dir(
                ST::MEMORY64_LIST,
                loc("Memory64List", off, table_len(n, 16).saturating_add(16))?,
            ));
        }

        // Unknown (or duplicate) streams come last in the directory, so a
        // reader that takes the first stream of a type sees the typed ones.
        for s in &model.other_streams {
            entries.push(dir(s.stream_type, m.location("raw stream", &s.data)?));
        }

        // The directory goes after the streams; the header points at it.
        m.align(8);
        let dir_off = m.here();
        for e in &entries {
            m.put("MINIDUMP_DIRECTORY", *e)?;
        }
        m.align(16);

        // Memory: MemoryList blocks (32-bit RVAs, must end by 4 GiB), then Memory64List.
        let memory_offset = m.here();
        let mut offsets = Vec::with_capacity(blocks.len());
        let mut pos = memory_offset;
        for b in &blocks {
            let end = pos.checked_add(b.size).filter(|e| *e <= RVA_LIMIT);
            let end = end.ok_or(WriteError::RvaOverflow {
                what: "MemoryList memory",
                end: pos.saturating_add(b.size),
            })?;
            offsets.push(pos);
            pos = end;
        }
        let memory64_offset = pos;
        let mut total = pos;
        for r in &model.memory64_list {
            total = total.checked_add(r.size).ok_or(WriteError::TooLarge {
                what: "Memory64List total size",
                value: u64::MAX,
                limit: u64::MAX,
            })?;
        }
        let patches = std::mem::take(&mut m.patches);
        for p in patches {
            let target = offsets.get(p.block).copied().unwrap_or_default();
            m.put_at("memory RVA", p.at as u64, rva("memory RVA", target)?)?;
        }
        if let Some(at) = memory64_base_at {
            m.put_at("Memory64List base_rva", at, memory64_offset)?;
        }
        let header = MINIDUMP_HEADER {
            signature: raw::MINIDUMP_SIGNATURE,
            version: raw::MINIDUMP_VERSION,
            stream_count: count32("stream count", entries.len())?,
            stream_directory_rva: rva("stream directory", dir_off)?,
            checksum: 0,
            time_date_stamp: model.time_date_stamp,
            flags: model.flags,
        };
        m.put_at("MINIDUMP_HEADER", 0, header)?;

        Ok(Layout {
            meta: m.buf,
            blocks,
            memory64: model.memory64_list.clone(),
            memory_offset,
            memory64_offset,
            total,
        })
    }

    /// Total size of the file in bytes.
    pub fn size(&self) -> u64 {
        self.total
    }

    /// File offset where memory bytes begin (everything before is metadata).
    pub fn memory_offset(&self) -> u64 {
        self.memory_offset
    }

    /// File offset of the Memory64List's bytes (its `base_rva`).
    pub fn memory64_offset(&self) -> u64 {
        self.memory64_offset
    }

    /// Stream the file to `out`, pulling memory from `source` through one
    /// fixed buffer. Returns the number of bytes written ([`Layout::size`]).
    pub fn write<S, W>(&self, source: &mut S, out: W) -> Result<u64, WriteError>
    where
        S: MemorySource + ?Sized,
        W: Write,
    {
        self.stream(source, Plain(out))
    }

    /// Like [`Layout::write`], but all-zero chunks of memory (including
    /// unreadable memory) are skipped with a seek instead of written, so a
    /// file sink stays sparse. The file must start empty at the current
    /// position. Returns the file's size.
    ///
    /// ```
    /// use coroner_minidump_format::{model::{Model, MemoryRange}, write::{Layout, NoMemory}};
    /// let model = Model { memory64_list: vec![MemoryRange { start: 0, size: 1 << 20 }], ..Model::default() };
    /// let layout = Layout::plan(&model).unwrap();
    /// let mut file = std::io::Cursor::new(Vec::new());
    /// assert_eq!(layout.write_sparse(&mut NoMemory, &mut file).unwrap(), layout.size());
    /// assert_eq!(file.get_ref().len() as u64, layout.size());
    /// ```
    pub fn write_sparse<S, W>(&self, source: &mut S, out: W) -> Result<u64, WriteError>
    where
        S: MemorySource + ?Sized,
        W: Write + Seek,
    {
        self.stream(
            source,
            Sparse {
                out,
                pending: false,
            },
        )
    }

    fn stream<S, K>(&self, source: &mut S, sink: K) -> Result<u64, WriteError>
    where
        S: MemorySource + ?Sized,
        K: Sink,
    {
        let mut out = Counted { sink, pos: 0 };
        out.put(&self.meta)?;
        let largest = self
            .blocks
            .iter()
            .chain(&self.memory64)
            .map(|r| r.size)
            .max()
            .unwrap_or(0);
        let gap = self.memory_offset.saturating_sub(out.pos);
        let buf_len = usize::try_from(largest.max(gap).clamp(16, BUFFER_SIZE)).unwrap_or(1 << 20);
        let mut buf = vec![0u8; buf_len];
        buf.fill(0);
        if let Some(pad) = usize::try_from(gap).ok().and_then(|g| buf.get(..g)) {
            out.put(pad)?;
        }
        for r in self.blocks.iter().chain(&self.memory64) {
            copy_range(source, *r, &mut out, &mut buf)?;
        }
        let pos = out.pos;
        out.sink.finish().map_err(|source| WriteError::Io {
            offset: pos,
            source,
        })?;
        Ok(out.pos)
    }
}

/// Where the bytes go: a plain writer, or a seekable one that keeps holes.
trait Sink {
    fn put(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// `bytes` are all zero: write them, or seek over them.
    fn zeros(&mut self, bytes: &[u8]) -> io::Result<()>;
    fn sparse(&self) -> bool;
    fn finish(&mut self) -> io::Result<()>;
}

struct Plain<W>(W);

impl<W: Write> Sink for Plain<W> {
    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.0.write_all(bytes)
    }
    fn zeros(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.0.write_all(bytes)
    }
    fn sparse(&self) -> bool {
        false
    }
    fn finish(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

struct Sparse<W> {
    out: W,
    /// The file ends in a hole not yet backed by a written byte.
    pending: bool,
}

impl<W: Write + Seek> Sink for Sparse<W> {
    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.pending = self.pending && bytes.is_empty();
        Ok(())
    }
    fn zeros(&mut self, bytes: &[u8]) -> io::Result<()> {
        let n = i64::try_from(bytes.len()).map_err(io::Error::other)?;
        self.out.seek(SeekFrom::Current(n))?;
        self.pending = self.pending || n > 0;
        Ok(())
    }
    fn sparse(&self) -> bool {
        true
    }
    fn finish(&mut self) -> io::Result<()> {
        if self.pending {
            // Give the file its full length: rewrite its last (zero) byte.
            self.out.seek(SeekFrom::Current(-1))?;
            self.out.write_all(&[0])?;
            self.pending = false;
        }
        self.out.flush()
    }
}

struct Counted<K> {
    sink: K,
    pos: u64,
}

impl<K: Sink> Counted<K> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        let zero = self.sink.sparse() && bytes.iter().all(|b| *b == 0);
        let done = if zero {
            self.sink.zeros(bytes)
        } else {
            self.sink.put(bytes)
        };
        done.map_err(|source| WriteError::Io {
            offset: self.pos,
            source,
        })?;
        self.pos = self
            .pos
            .saturating_add(u64::try_from(bytes.len()).unwrap_or(u64::MAX));
        Ok(())
    }
}

fn copy_range<S, K>(
    source: &mut S,
    r: MemoryRange,
    out: &mut Counted<K>,
    buf: &mut [u8],
) -> Result<(), WriteError>
where
    S: MemorySource + ?Sized,
    K: Sink,
{
    let mut done = 0u64;
    while done < r.size {
        let chunk = usize::try_from(r.size.saturating_sub(done))
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let Some(b) = buf.get_mut(..chunk) else { break };
        fill(source, r.start.checked_add(done), b)?;
        out.put(b)?;
        done = done.saturating_add(chunk as u64);
    }
    Ok(())
}

/// Fill `buf` with the memory at `addr`. After a short read the unreadable
/// byte's page is zero-filled up to the next page boundary and reading
/// resumes there, so one bad page costs only itself.
fn fill<S: MemorySource + ?Sized>(
    source: &mut S,
    addr: Option<u64>,
    buf: &mut [u8],
) -> Result<(), WriteError> {
    let Some(addr) = addr else {
        buf.fill(0);
        return Ok(());
    };
    let mut pos = 0usize;
    while let Some(rest) = buf.get_mut(pos..) {
        if rest.is_empty() {
            break;
        }
        let at = addr.saturating_add(pos as u64);
        let got = read_retrying(source, at, rest)?;
        pos = pos.saturating_add(got);
        if got < rest.len() {
            // Zero from the unreadable byte to the end of its page (at least
            // one byte, so this always advances; to the end of the buffer
            // when the page is the last one of the address space).
            let bad = addr.saturating_add(pos as u64);
            let skip = match (bad | (PAGE_SIZE - 1)).checked_add(1) {
                Some(page_end) => {
                    usize::try_from(page_end.saturating_sub(bad)).unwrap_or(usize::MAX)
                }
                None => usize::MAX,
            };
            let end = pos.saturating_add(skip.max(1)).min(buf.len());
            if let Some(hole) = buf.get_mut(pos..end) {
                hole.fill(0);
            }
            pos = end;
        }
    }
    Ok(())
}

fn read_retrying<S: MemorySource + ?Sized>(
    source: &mut S,
    addr: u64,
    buf: &mut [u8],
) -> Result<usize, WriteError> {
    loop {
        match source.read_at(addr, buf) {
            Ok(n) if n > buf.len() => {
                return Err(WriteError::SourceOverread {
                    addr,
                    requested: buf.len(),
                    returned: n,
                })
            }
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => return Err(WriteError::Source { addr, source }),
        }
    }
}
