//! The writer's contract: kernel note order and alignment, PN_XNUM, sparse
//! files, holes for absent / unreadable / zero pages, one bounded buffer,
//! errors for invalid models and failing sources.

use std::fs::File;
use std::io::{self, Cursor, Read};
use std::ops::Range;
use std::os::unix::fs::MetadataExt;

use coroner_core_format::read::OwnedCore;
use coroner_core_format::write::{
    BytesAt, CoreWriter, Layout, MemorySource, NoMemory, SeekSink, StreamSink, WriteOptions,
};
use coroner_core_format::{
    parse, raw, AuxvEntry, CoreModel, FileMapping, FileNote, Machine, MemoryAt, Note, PrPsInfo,
    PrStatus, ReadError, Registers, SegmentModel, SigInfo, ThreadModel, WriteError, X86_64Regs,
};

fn thread(tid: i32) -> ThreadModel {
    let mut st = PrStatus::new(Registers::X86_64(X86_64Regs {
        rip: 0x1000 + tid as u64,
        ..Default::default()
    }));
    st.pid = tid;
    ThreadModel::new(st)
        .with_note(Note::fpregset(vec![1; 512]))
        .with_note(Note::x86_xstate(vec![2; 2696]))
}

fn full_model() -> CoreModel {
    let mut m = CoreModel::new(Machine::X86_64);
    m.threads = vec![thread(100), thread(101), thread(102)];
    let mut ps = PrPsInfo {
        pid: 100,
        ..Default::default()
    };
    ps.set_fname(b"prog");
    m.prpsinfo = Some(ps);
    m.siginfo = Some(SigInfo::new(11, 0, 1));
    m.auxv = Some(vec![AuxvEntry {
        key: raw::AT_PAGESZ,
        value: 4096,
    }]);
    m.files = Some(FileNote {
        page_size: 4096,
        entries: vec![FileMapping {
            start: 0x400000,
            end: 0x401000,
            file_offset: 0x2000,
            path: b"/bin/prog".to_vec(),
        }],
    });
    m.notes
        .push(Note::new(b"coroner".to_vec(), 0x1234, b"hello".to_vec()));
    m
}

#[test]
fn notes_follow_the_kernel_order_and_alignment() {
    let model = full_model();
    let mut sink = StreamSink::new(Vec::new());
    model.write(&mut NoMemory, &mut sink).unwrap();
    let file = sink.into_inner();
    let core = parse(&file).unwrap();
    let order: Vec<(Vec<u8>, u32)> = core
        .notes()
        .map(|n| n.unwrap())
        .map(|n| (n.name.to_vec(), n.n_type))
        .collect();
    let c = |t| (b"CORE".to_vec(), t);
    let l = |t| (b"LINUX".to_vec(), t);
    let expected = vec![
        c(raw::NT_PRSTATUS),
        c(raw::NT_PRPSINFO),
        c(raw::NT_SIGINFO),
        c(raw::NT_AUXV),
        c(raw::NT_FILE),
        c(raw::NT_FPREGSET),
        l(raw::NT_X86_XSTATE),
        c(raw::NT_PRSTATUS),
        c(raw::NT_FPREGSET),
        l(raw::NT_X86_XSTATE),
        c(raw::NT_PRSTATUS),
        c(raw::NT_FPREGSET),
        l(raw::NT_X86_XSTATE),
        (b"coroner".to_vec(), 0x1234),
    ];
    assert_eq!(order, expected);
    // Every note header is 4-aligned, namesz counts the NUL, the NT_FILE
    // offset is in pages, auxv ends with AT_NULL.
    for n in core.notes() {
        let n = n.unwrap();
        assert_eq!(n.offset % 4, 0);
        let namesz = u32::from_le_bytes(file[n.offset as usize..][..4].try_into().unwrap());
        assert_eq!(namesz as usize, n.name.len() + 1);
    }
    let ph: Vec<_> = core.program_headers().collect();
    assert_eq!(
        (ph[0].p_type, ph[0].p_align, ph[0].p_memsz),
        (raw::PT_NOTE, 4, 0)
    );
    let files = core.file_note().unwrap().unwrap();
    assert_eq!(files.entries().next().unwrap().unwrap().raw_file_offset, 2);
    let auxv = core.find_note(raw::NT_AUXV).unwrap().unwrap();
    assert_eq!(auxv.desc.len(), 32);
    assert_eq!(&auxv.desc[16..], &[0u8; 16]);
    // Threads own their register notes, process notes are not theirs.
    let t0 = core.threads().next().unwrap().unwrap();
    let kinds: Vec<u32> = t0.notes().map(|n| n.unwrap().n_type).collect();
    assert_eq!(kinds, [raw::NT_FPREGSET, raw::NT_X86_XSTATE]);
    assert_eq!(t0.xstate().unwrap().unwrap().len(), 2696);
    assert_eq!(core.to_model().unwrap(), model);
}

#[test]
fn more_than_65534_segments_use_pn_xnum() {
    let mut model = CoreModel::new(Machine::X86_64);
    model.threads.push(thread(7));
    for i in 0..70_000u64 {
        let filesz = if i % 10_000 == 0 { 4096 } else { 0 };
        model.segments.push(SegmentModel {
            vaddr: 0x10_0000 + i * 0x2000,
            memsz: 4096,
            filesz,
            flags: raw::PF_R,
        });
    }
    let mut mem = BytesAt {
        base: 0x10_0000,
        bytes: vec![0xab; 70_000 * 0x2000],
    };
    let mut sink = StreamSink::new(Vec::new());
    model.write(&mut mem, &mut sink).unwrap();
    let file = sink.into_inner();
    let core = parse(&file).unwrap();
    assert_eq!(core.header().e_phnum, raw::PN_XNUM);
    assert!(core.extended_numbering());
    assert_eq!(core.phnum(), 70_001);
    assert_eq!(core.segments().count(), 70_000);
    assert_eq!(core.threads().count(), 1);
    let map = core.memory_map().unwrap();
    assert_eq!(
        map.memory_at(0x10_0000 + 50_000 * 0x2000),
        MemoryAt::Present(&[0xab; 4096][..])
    );
    assert_eq!(
        map.memory_at(0x10_0000 + 50_001 * 0x2000),
        MemoryAt::NotInFile
    );
    assert_eq!(
        map.memory_at(0x10_0000 + 50_001 * 0x2000 + 4096),
        MemoryAt::NotMapped
    );
    assert_eq!(core.to_model().unwrap(), model);
    // eu-readelf follows section header 0 to the real count.
    if let Some(readelf) = coroner_test_support::oracle("eu-readelf") {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("core.xnum");
        std::fs::write(&path, &file).unwrap();
        let out = std::process::Command::new(readelf)
            .arg("-h")
            .arg("-l")
            .arg("-n")
            .arg(&path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains("70001"),
            "eu-readelf -h: {}",
            &text[..text.len().min(2000)]
        );
        assert_eq!(text.matches("  LOAD ").count(), 70_000);
    }
    // Exactly 65534 + the note is 65535 = PN_XNUM: also extended.
    model.segments.truncate(65_534);
    let layout = Layout::plan(&model).unwrap();
    assert!(layout.extended_numbering());
    model.segments.truncate(65_533);
    assert!(!Layout::plan(&model).unwrap().extended_numbering());
}

/// Memory with absent pages (hint), unreadable pages (short reads), zero
/// pages and data pages; records the largest request.
struct Mixed {
    base: u64,
    pages: Vec<u8>, // per page: b'a'bsent, b'u'nreadable, b'z'ero, b'd'ata
    largest_request: usize,
    interrupted_once: bool,
}

impl Mixed {
    fn kind(&self, addr: u64) -> u8 {
        self.pages
            .get(((addr - self.base) / 4096) as usize)
            .copied()
            .unwrap_or(b'u')
    }
}

impl MemorySource for Mixed {
    fn read_at(&mut self, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
        if !self.interrupted_once {
            self.interrupted_once = true;
            return Err(io::ErrorKind::Interrupted.into());
        }
        self.largest_request = self.largest_request.max(buf.len());
        for (i, b) in buf.iter_mut().enumerate() {
            let a = addr + i as u64;
            match self.kind(a) {
                b'd' => *b = (a % 251) as u8 | 1,
                b'z' | b'a' => *b = 0,
                _ => return Ok(i),
            }
        }
        Ok(buf.len())
    }

    fn present_ranges(
        &mut self,
        start: u64,
        end: u64,
        out: &mut Vec<Range<u64>>,
    ) -> io::Result<()> {
        let mut a = start;
        while a < end {
            if self.kind(a) != b'a' {
                out.push(a..a + 4096);
            }
            a += 4096;
        }
        Ok(())
    }
}

#[test]
fn holes_are_sparse_in_files_and_zeros_in_pipes() {
    // 16 MiB: a data page every 64, runs of zero / absent pages, a few unreadable
    // pages, and a trailing hole.
    let n = 4096usize;
    let pages: Vec<u8> = (0..n)
        .map(|i| match i {
            _ if i == n - 1 => b'z',
            _ if i % 64 == 0 => b'd',
            _ if i % 97 == 0 => b'u',
            _ if i % 3 == 0 => b'a',
            _ => b'z',
        })
        .collect();
    let data_pages = pages.iter().filter(|&&k| k == b'd').count() as u64;
    let mut model = CoreModel::new(Machine::X86_64);
    model.threads.push(thread(1));
    model.segments.push(SegmentModel::dumped(
        0x7f00_0000_0000,
        (n * 4096) as u64,
        raw::PF_R | raw::PF_W,
    ));
    let writer = CoreWriter::new(WriteOptions::default().with_buffer_size(1 << 20));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("core");
    let mut mem = Mixed {
        base: 0x7f00_0000_0000,
        pages: pages.clone(),
        largest_request: 0,
        interrupted_once: false,
    };
    let mut sink = SeekSink::new(File::create(&path).unwrap());
    let stats = writer.write(&model, &mut mem, &mut sink).unwrap();
    drop(sink);
    assert!(
        mem.largest_request <= 1 << 20,
        "requests bounded by the buffer"
    );
    assert_eq!(
        stats.memory_read_bytes + stats.absent_bytes,
        (n * 4096) as u64 - stats.unreadable_bytes
    );
    assert_eq!(
        stats.unreadable_bytes,
        pages.iter().filter(|&&k| k == b'u').count() as u64 * 4096
    );
    assert!(stats.bytes_written < (data_pages + 4) * 4096, "{stats:?}");
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(meta.len(), stats.file_size);
    // The file system stores little more than the data pages.
    assert!(
        meta.blocks() * 512 < (data_pages + 64) * 4096,
        "{} blocks for {data_pages} data pages",
        meta.blocks()
    );

    let mut sparse = Vec::new();
    File::open(&path).unwrap().read_to_end(&mut sparse).unwrap();
    let mut mem = Mixed {
        base: 0x7f00_0000_0000,
        pages: pages.clone(),
        largest_request: 0,
        interrupted_once: false,
    };
    let mut pipe = StreamSink::new(Vec::new());
    assert_eq!(writer.write(&model, &mut mem, &mut pipe).unwrap(), stats);
    assert!(pipe.into_inner() == sparse, "pipe and sparse file differ");

    let core = OwnedCore::new(sparse).unwrap();
    let seg = core.core().segments().next().unwrap();
    for (i, page) in seg.data().chunks(4096).enumerate() {
        let a = seg.vaddr() + (i * 4096) as u64;
        if pages[i] == b'd' {
            assert!(page
                .iter()
                .enumerate()
                .all(|(j, &b)| b == ((a + j as u64) % 251) as u8 | 1));
        } else {
            assert!(
                page.iter().all(|&b| b == 0),
                "page {i} ({}) is a hole",
                pages[i] as char
            );
        }
    }
}

#[test]
fn source_errors_abort_and_invalid_models_are_refused() {
    struct Failing;
    impl MemorySource for Failing {
        fn read_at(&mut self, _: u64, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::from_raw_os_error(3)) // ESRCH
        }
    }
    let mut model = CoreModel::new(Machine::X86_64);
    model
        .segments
        .push(SegmentModel::dumped(0x1000, 0x1000, raw::PF_R));
    let err = model
        .write(&mut Failing, &mut StreamSink::new(io::sink()))
        .unwrap_err();
    assert!(
        matches!(
            err,
            WriteError::Memory {
                addr: 0x1000,
                len: 0x1000,
                ..
            }
        ),
        "{err}"
    );

    let mut bad = model.clone();
    bad.segments[0].filesz = 0x2000;
    assert!(matches!(
        Layout::plan(&bad),
        Err(WriteError::InvalidModel { .. })
    ));
    let mut bad = model.clone();
    bad.segments[0].vaddr = u64::MAX - 10;
    assert!(matches!(
        Layout::plan(&bad),
        Err(WriteError::InvalidModel { .. })
    ));
    let mut bad = model.clone();
    bad.threads
        .push(ThreadModel::new(PrStatus::new(Registers::zeroed(
            Machine::Aarch64,
        ))));
    assert!(matches!(
        Layout::plan(&bad),
        Err(WriteError::InvalidModel { .. })
    ));
    let mut bad = model.clone();
    bad.files = Some(FileNote {
        page_size: 4096,
        entries: vec![FileMapping {
            file_offset: 100,
            ..Default::default()
        }],
    });
    assert!(matches!(
        Layout::plan(&bad),
        Err(WriteError::InvalidModel { .. })
    ));

    // A sink that fails reports the offset it reached.
    struct Full(usize);
    impl io::Write for Full {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            if self.0 < b.len() {
                return Err(io::ErrorKind::StorageFull.into());
            }
            self.0 -= b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let err = full_model()
        .write(&mut NoMemory, &mut StreamSink::new(Full(100)))
        .unwrap_err();
    assert!(matches!(err, WriteError::Io { offset: 0, .. }), "{err}");
}

#[test]
fn reader_tells_not_mapped_from_not_in_file_from_present() {
    let mut model = CoreModel::new(Machine::X86_64);
    // Two adjacent segments (read across them), one half-dumped, one skipped.
    model
        .segments
        .push(SegmentModel::dumped(0x10000, 0x1000, raw::PF_R));
    model
        .segments
        .push(SegmentModel::dumped(0x11000, 0x1000, raw::PF_R));
    model.segments.push(SegmentModel {
        vaddr: 0x20000,
        memsz: 0x2000,
        filesz: 0x1000,
        flags: raw::PF_R,
    });
    model
        .segments
        .push(SegmentModel::skipped(0x30000, 0x1000, raw::PF_R));
    let bytes: Vec<u8> = (0..0x30000u32).map(|i| (i % 255) as u8 + 1).collect();
    let mut mem = BytesAt {
        base: 0x10000,
        bytes,
    };
    let mut sink = StreamSink::new(Vec::new());
    model.write(&mut mem, &mut sink).unwrap();
    let file = sink.into_inner();
    let core = parse(&file).unwrap();

    let mut buf = [0u8; 0x20];
    core.read_memory(0x10ff0, &mut buf).unwrap();
    assert_eq!(buf.to_vec(), mem.bytes[0xff0..0x1010].to_vec());
    assert_eq!(
        core.memory_at(0x20fff),
        MemoryAt::Present(&mem.bytes[0x10fff..0x11000])
    );
    assert_eq!(core.memory_at(0x21000), MemoryAt::NotInFile);
    assert_eq!(core.memory_at(0x30000), MemoryAt::NotInFile);
    assert_eq!(core.memory_at(0x12000), MemoryAt::NotMapped);
    assert_eq!(core.memory_at(0x22000), MemoryAt::NotMapped);
    assert_eq!(
        core.read_memory(0x20ff0, &mut buf),
        Err(ReadError::NotInFile { addr: 0x21000 })
    );
    assert_eq!(
        core.read_memory(0x11ff0, &mut buf),
        Err(ReadError::NotMapped { addr: 0x12000 })
    );
    let map = core.memory_map().unwrap();
    for addr in [
        0x10000,
        0x10fff,
        0x11000,
        0x20fff,
        0x21000,
        0x30000,
        0x12000,
        0,
        u64::MAX,
    ] {
        assert_eq!(map.memory_at(addr), core.memory_at(addr), "{addr:#x}");
    }
    // A truncated file: the data that is cut off is "not in file".
    let cut = &file[..file.len() - 0x800];
    let core = parse(cut).unwrap();
    let last = core.segments().find(|s| s.vaddr() == 0x20000).unwrap();
    assert!(last.is_truncated());
    assert_eq!(core.memory_at(0x20900), MemoryAt::NotInFile);
    assert!(matches!(core.memory_at(0x207ff), MemoryAt::Present(b) if b.len() == 1));
}

#[test]
fn aarch64_prstatus_layout() {
    let mut regs = coroner_core_format::Aarch64Regs::default();
    regs.regs[0] = 0xa0;
    regs.regs[29] = 0xf9;
    regs.sp = 0x5bb;
    regs.pc = 0x9c;
    regs.pstate = 0x3c5;
    let mut st = PrStatus::new(Registers::Aarch64(regs));
    st.pid = 77;
    st.fpvalid = 1;
    let bytes = st.to_bytes();
    assert_eq!(bytes.len(), 392);
    let word = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().unwrap());
    assert_eq!(word(112), 0xa0);
    assert_eq!(word(112 + 31 * 8), 0x5bb);
    assert_eq!(word(112 + 32 * 8), 0x9c);
    assert_eq!(word(112 + 33 * 8), 0x3c5);
    assert_eq!(i32::from_le_bytes(bytes[384..388].try_into().unwrap()), 1);
    assert_eq!(i32::from_le_bytes(bytes[32..36].try_into().unwrap()), 77);
    let r = Registers::Aarch64(regs);
    assert_eq!((r.pc(), r.sp(), r.fp()), (0x9c, 0x5bb, 0xf9));

    // A whole aarch64 core with an FPSIMD note.
    let mut model = CoreModel::new(Machine::Aarch64);
    model.threads.push(
        ThreadModel::new(st)
            .with_note(Note::fpregset(vec![3; raw::AARCH64_FPSIMD_SIZE]))
            .with_note(Note::linux(raw::NT_ARM_TLS, vec![4; 8])),
    );
    let mut sink = StreamSink::new(Vec::new());
    model.write(&mut NoMemory, &mut sink).unwrap();
    let file = sink.into_inner();
    let core = parse(&file).unwrap();
    assert_eq!(core.header().e_machine, raw::EM_AARCH64);
    let t = core.threads().next().unwrap().unwrap();
    assert_eq!(t.registers().unwrap().pc(), 0x9c);
    assert_eq!(t.fpregset().unwrap().unwrap().len(), 528);
    assert_eq!(t.note(raw::NT_ARM_TLS).unwrap().unwrap().desc, &[4; 8]);
    assert_eq!(core.to_model().unwrap(), model);
}

#[test]
fn seek_sink_extends_a_file_that_ends_in_a_hole() {
    let mut model = CoreModel::new(Machine::X86_64);
    model
        .segments
        .push(SegmentModel::dumped(0x1000, 0x10000, raw::PF_R));
    let mut sink = SeekSink::new(Cursor::new(Vec::new()));
    let stats = model.write(&mut NoMemory, &mut sink).unwrap();
    let file = sink.into_inner().into_inner();
    assert_eq!(file.len() as u64, stats.file_size);
    assert_eq!(stats.absent_bytes, 0x10000);
    let core = parse(&file).unwrap();
    assert_eq!(core.segments().next().unwrap().data(), &[0u8; 0x10000][..]);
}

/// Counts the sink calls.
#[derive(Default)]
struct Counting {
    bytes: Vec<u8>,
    writes: usize,
    holes: usize,
}

impl coroner_core_format::write::Sink for Counting {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.writes += 1;
        self.bytes.extend_from_slice(buf);
        Ok(())
    }
    fn write_hole(&mut self, len: u64) -> io::Result<()> {
        self.holes += 1;
        self.bytes.resize(self.bytes.len() + len as usize, 0);
        Ok(())
    }
    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn short_zero_runs_can_be_written_to_save_calls() {
    // 256 pages alternating data / zero.
    let mut bytes = vec![0u8; 256 * 4096];
    for page in bytes.chunks_mut(8192) {
        page[..4096].fill(0x11);
    }
    let mut model = CoreModel::new(Machine::X86_64);
    model.segments.push(SegmentModel::dumped(
        0x10_0000,
        bytes.len() as u64,
        raw::PF_R,
    ));
    let run = |min_hole: u64| {
        let writer = CoreWriter::new(WriteOptions::default().with_min_hole(min_hole));
        let mut sink = Counting::default();
        let stats = writer
            .write(
                &model,
                &mut BytesAt {
                    base: 0x10_0000,
                    bytes: &bytes[..],
                },
                &mut sink,
            )
            .unwrap();
        (sink, stats)
    };
    let (every_page, s1) = run(4096);
    let (coalesced, s2) = run(8192);
    assert_eq!(every_page.bytes, coalesced.bytes);
    assert_eq!(s1.zero_page_bytes, 128 * 4096);
    assert_eq!(
        s2.zero_page_bytes, 4096,
        "only the trailing zero page stays a hole"
    );
    assert!(every_page.writes >= 128 && every_page.holes >= 128);
    assert!(
        coalesced.writes <= 4 && coalesced.holes <= 4,
        "{} writes {} holes",
        coalesced.writes,
        coalesced.holes
    );
    let core = parse(&coalesced.bytes).unwrap();
    assert_eq!(core.segments().next().unwrap().data(), &bytes[..]);
}

#[test]
fn overlapping_segments_resolve_to_the_first_in_file_order() {
    let mut model = CoreModel::new(Machine::X86_64);
    model.segments.push(SegmentModel {
        vaddr: 0x10000,
        memsz: 0x2000,
        filesz: 0x1000,
        flags: raw::PF_R,
    });
    model
        .segments
        .push(SegmentModel::dumped(0x10800, 0x1000, raw::PF_R));
    let mut sink = StreamSink::new(Vec::new());
    model
        .write(
            &mut BytesAt {
                base: 0x10000,
                bytes: vec![b'a'; 0x2000],
            },
            &mut sink,
        )
        .unwrap();
    let mut file = sink.into_inner();
    // Give the second segment different bytes in the file.
    let off = parse(&file).unwrap().segments().nth(1).unwrap().offset() as usize;
    file[off..off + 0x1000].fill(b'b');

    let core = parse(&file).unwrap();
    let map = core.memory_map().unwrap();
    assert!(
        matches!(map.memory_at(0x10900), MemoryAt::Present(b) if b[0] == b'a' && b.len() == 0x700)
    );
    assert!(matches!(core.memory_at(0x10900), MemoryAt::Present(b) if b[0] == b'a'));
    assert!(matches!(map.memory_at(0x11000), MemoryAt::Present(b) if b == &[b'b'; 0x800][..]));
    assert!(matches!(core.memory_at(0x11000), MemoryAt::Present(b) if b == &[b'b'; 0x800][..]));
    assert_eq!(map.memory_at(0x11800), MemoryAt::NotInFile);
    assert_eq!(core.memory_at(0x11800), MemoryAt::NotInFile);
    assert_eq!(map.segment_at(0x11000).unwrap().vaddr(), 0x10800);
    assert_eq!(map.segment_at(0x11900).unwrap().vaddr(), 0x10000);

    // Rewriting is stable after one pass.
    let rewrite = |bytes: &[u8]| {
        let core = parse(bytes).unwrap();
        let mut sink = StreamSink::new(Vec::new());
        core.to_model()
            .unwrap()
            .write(&mut core.memory_map().unwrap(), &mut sink)
            .unwrap();
        sink.into_inner()
    };
    let once = rewrite(&file);
    assert_eq!(rewrite(&once), once);
}

/// The shared short-read rule (coroner_dump_source::MemorySource): a
/// source that stops at its first unreadable page is asked again from the
/// next page, so the readable pages after it in the same request are
/// written, not lost as part of a hole (as the minidump writer does too).
#[test]
fn a_short_read_costs_only_the_unreadable_page() {
    /// Pages 0 and 2 readable, page 1 not; reads stop at page 1.
    struct Gap;
    impl MemorySource for Gap {
        fn read_at(&mut self, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
            for (i, b) in buf.iter_mut().enumerate() {
                let a = addr + i as u64;
                if (0x11000..0x12000).contains(&a) {
                    return Ok(i);
                }
                *b = 0x5a;
            }
            Ok(buf.len())
        }
    }
    let mut model = CoreModel::new(Machine::X86_64);
    model.threads.push(thread(1));
    model
        .segments
        .push(SegmentModel::dumped(0x10000, 0x3000, 6));
    let mut sink = StreamSink::new(Vec::new());
    let stats = CoreWriter::new(WriteOptions::default().with_buffer_size(0x3000))
        .write(&model, &mut Gap, &mut sink)
        .unwrap();
    assert_eq!(stats.unreadable_bytes, 0x1000);
    let bytes = sink.into_inner();
    let core = parse(&bytes).unwrap();
    let mut page = [0u8; 0x1000];
    core.read_memory(0x12000, &mut page).unwrap();
    assert!(page.iter().all(|&b| b == 0x5a), "page 2 was lost");
    core.read_memory(0x11000, &mut page).unwrap();
    assert!(page.iter().all(|&b| b == 0), "page 1 is a hole");
}
