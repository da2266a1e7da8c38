//! Acceptance 1: `parse(write(model)) == model` for arbitrary models, and
//! every memory byte comes back (or is a hole where the source had none).

use std::io::{self, Cursor};
use std::ops::Range;

use coroner_core_format::write::{CoreWriter, MemorySource, SeekSink, StreamSink, WriteOptions};
use coroner_core_format::{
    parse, raw, AuxvEntry, CoreModel, FileMapping, FileNote, Machine, Note, PrPsInfo, PrStatus,
    Registers, SegmentModel, SigInfo, ThreadModel, Timeval,
};
use proptest::prelude::*;

/// Deterministic fake memory: every byte nonzero, except pages chosen by
/// `zero_every`; pages chosen by `absent_every` are reported absent by the
/// hint, pages chosen by `unreadable_every` make reads stop short.
#[derive(Debug, Clone, Copy)]
struct FakeMemory {
    seed: u64,
    zero_every: u64,
    absent_every: u64,
    unreadable_every: u64,
}

fn page_hit(page: u64, seed: u64, every: u64) -> bool {
    every != 0 && (page ^ seed).wrapping_mul(0x9e37_79b9_7f4a_7c15) % every == 0
}

impl FakeMemory {
    fn byte(&self, addr: u64) -> u8 {
        let x = (addr ^ self.seed).wrapping_mul(0x2545_f491_4f6c_dd1d);
        ((x >> 56) as u8) | 1
    }
    fn absent(&self, page: u64) -> bool {
        page_hit(page, self.seed.rotate_left(7), self.absent_every)
    }
    fn unreadable(&self, page: u64) -> bool {
        page_hit(page, self.seed.rotate_left(19), self.unreadable_every)
    }
    fn zero(&self, page: u64) -> bool {
        page_hit(page, self.seed.rotate_left(31), self.zero_every)
    }
    /// What the file must hold at `addr`.
    fn expected(&self, addr: u64) -> u8 {
        let page = addr / 4096;
        if self.absent(page) || self.unreadable(page) || self.zero(page) {
            0
        } else {
            self.byte(addr)
        }
    }
}

impl MemorySource for FakeMemory {
    fn read_at(&mut self, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
        for (i, b) in buf.iter_mut().enumerate() {
            let a = addr + i as u64;
            if self.unreadable(a / 4096) {
                return Ok(i);
            }
            *b = if self.zero(a / 4096) { 0 } else { self.byte(a) };
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
            let next = ((a / 4096) + 1) * 4096;
            let e = next.min(end);
            if !self.absent(a / 4096) {
                match out.last_mut() {
                    Some(r) if r.end == a => r.end = e,
                    _ => out.push(a..e),
                }
            }
            a = e;
        }
        Ok(())
    }
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max)
}

fn name_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(1u8..=255, 0..12)
        .prop_filter("not a kernel owner name", |n| n != b"CORE" && n != b"LINUX")
}

fn timeval() -> impl Strategy<Value = Timeval> {
    (any::<i64>(), any::<i64>()).prop_map(|(tv_sec, tv_usec)| Timeval { tv_sec, tv_usec })
}

fn prstatus(machine: Machine) -> impl Strategy<Value = PrStatus> {
    let words = prop::collection::vec(any::<u64>(), machine.gp_register_count());
    (
        (any::<[i32; 3]>(), any::<i16>(), any::<u64>(), any::<u64>()),
        any::<[i32; 4]>(),
        (timeval(), timeval(), timeval(), timeval()),
        words,
        any::<i32>(),
    )
        .prop_map(
            move |((si, cursig, sigpend, sighold), ids, times, words, fpvalid)| {
                let mut st = PrStatus::new(Registers::from_words(machine, &words).unwrap());
                st.info = raw::elf_siginfo {
                    si_signo: si[0],
                    si_code: si[1],
                    si_errno: si[2],
                };
                st.cursig = cursig;
                st.sigpend = sigpend;
                st.sighold = sighold;
                [st.pid, st.ppid, st.pgrp, st.sid] = ids;
                (st.utime, st.stime, st.cutime, st.cstime) = times;
                st.fpvalid = fpvalid;
                st
            },
        )
}

fn thread_note() -> impl Strategy<Value = Note> {
    prop_oneof![
        bytes(600).prop_map(Note::fpregset),
        bytes(1200).prop_map(Note::x86_xstate),
        (any::<u32>(), bytes(64)).prop_map(|(t, d)| Note::linux(t, d)),
    ]
}

fn thread(machine: Machine) -> impl Strategy<Value = ThreadModel> {
    (
        prstatus(machine),
        prop::collection::vec(thread_note(), 0..4),
    )
        .prop_map(|(prstatus, notes)| ThreadModel { prstatus, notes })
}

fn prpsinfo() -> impl Strategy<Value = PrPsInfo> {
    (
        any::<[u8; 3]>(),
        any::<i8>(),
        any::<u64>(),
        any::<[u32; 2]>(),
        any::<[i32; 4]>(),
        any::<[u8; 16]>(),
        prop::collection::vec(any::<u8>(), 80),
    )
        .prop_map(|(s, nice, flag, ug, ids, fname, psargs)| PrPsInfo {
            state: s[0],
            sname: s[1],
            zomb: s[2],
            nice,
            flag,
            uid: ug[0],
            gid: ug[1],
            pid: ids[0],
            ppid: ids[1],
            pgrp: ids[2],
            sid: ids[3],
            fname,
            psargs: psargs.try_into().unwrap(),
        })
}

fn files() -> impl Strategy<Value = FileNote> {
    let entry = (
        any::<u64>(),
        any::<u64>(),
        0u64..1 << 40,
        prop::collection::vec(1u8..=255, 0..40),
    );
    (
        prop_oneof![Just(1u64), Just(4096u64)],
        prop::collection::vec(entry, 0..6),
    )
        .prop_map(|(page_size, es)| FileNote {
            page_size,
            entries: es
                .into_iter()
                .map(|(start, end, pages, path)| FileMapping {
                    start,
                    end,
                    file_offset: pages * page_size,
                    path,
                })
                .collect(),
        })
}

fn segment() -> impl Strategy<Value = SegmentModel> {
    // Mostly page-aligned addresses, sometimes not; sizes up to 6 pages.
    (
        0u64..1 << 20,
        prop::bool::weighted(0.8),
        0u64..4096,
        0u64..6 * 4096,
        any::<u8>(),
        0u32..8,
    )
        .prop_map(|(page, aligned, low, memsz, fill, flags)| {
            let vaddr = page * 4096 + if aligned { 0 } else { low };
            let memsz = if aligned { memsz & !0xfff } else { memsz };
            let filesz = match fill % 4 {
                0 => 0,
                1 => memsz / 2,
                _ => memsz,
            };
            SegmentModel {
                vaddr,
                memsz,
                filesz,
                flags,
            }
        })
}

fn model() -> impl Strategy<Value = CoreModel> {
    prop_oneof![Just(Machine::X86_64), Just(Machine::Aarch64)].prop_flat_map(|machine| {
        (
            prop::collection::vec(thread(machine), 0..5),
            prop::option::of(prpsinfo()),
            prop::option::of(any::<[u8; 128]>().prop_map(|bytes| SigInfo { bytes })),
            prop::option::of(prop::collection::vec(
                (1u64.., any::<u64>()).prop_map(|(key, value)| AuxvEntry { key, value }),
                0..12,
            )),
            prop::option::of(files()),
            prop::collection::vec(
                (name_bytes(), any::<u32>(), bytes(100)).prop_map(|(n, t, d)| Note::new(n, t, d)),
                0..3,
            ),
            prop::collection::vec(segment(), 0..6),
        )
            .prop_map(
                move |(threads, prpsinfo, siginfo, auxv, files, notes, segments)| CoreModel {
                    machine,
                    threads,
                    prpsinfo,
                    siginfo,
                    auxv,
                    files,
                    notes,
                    segments,
                },
            )
    })
}

fn memory() -> impl Strategy<Value = FakeMemory> {
    (
        any::<u64>(),
        prop_oneof![Just(0u64), 2u64..5],
        prop_oneof![Just(0u64), 2u64..5],
        prop_oneof![Just(0u64), 2u64..5],
    )
        .prop_map(
            |(seed, zero_every, absent_every, unreadable_every)| FakeMemory {
                seed,
                zero_every,
                absent_every,
                unreadable_every,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn parse_of_write_is_the_model(model in model(), mem in memory(), pages in 1usize..4, zero_holes: bool, min_hole_pages in 1u64..4) {
        // One-page requests when reads can stop short, so which bytes are
        // holes does not depend on how the writer splits requests.
        let buffer_size = if mem.unreadable_every == 0 { pages * 4096 + 4096 } else { 4096 };
        let writer = CoreWriter::new(WriteOptions::default().with_buffer_size(buffer_size).with_zero_pages_as_holes(zero_holes).with_min_hole(min_hole_pages * 4096).with_hint_window(3 * 4096));

        let mut stream = StreamSink::new(Vec::new());
        let stats = writer.write(&model, &mut mem.clone(), &mut stream).unwrap();
        let file = stream.into_inner();
        prop_assert_eq!(stats.file_size, file.len() as u64);
        prop_assert_eq!(stats.bytes_written + stats.hole_bytes, stats.file_size);

        // The seekable sink produces the same bytes.
        let mut seek = SeekSink::new(Cursor::new(Vec::new()));
        let stats2 = writer.write(&model, &mut mem.clone(), &mut seek).unwrap();
        prop_assert_eq!(stats, stats2);
        prop_assert!(seek.into_inner().into_inner() == file, "seekable and streamed output differ");

        let core = parse(&file).unwrap();
        prop_assert_eq!(&core.to_model().unwrap(), &model);

        // Every segment's file bytes are the source's bytes or holes.
        for (seg, want) in core.segments().zip(&model.segments) {
            prop_assert_eq!(seg.filesz(), want.filesz);
            prop_assert_eq!(seg.data().len() as u64, want.filesz);
            prop_assert!(seg.filesz() == 0 || seg.offset() % 4096 == seg.vaddr() % 4096);
            for (i, &b) in seg.data().iter().enumerate() {
                let addr = seg.vaddr() + i as u64;
                prop_assert_eq!(b, mem.expected(addr), "byte at {:#x}", addr);
            }
        }
        // Typed accessors agree with the model.
        let threads: Vec<_> = core.threads().collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(threads.len(), model.threads.len());
        for (t, m) in threads.iter().zip(&model.threads) {
            prop_assert_eq!(t.tid(), m.tid());
            prop_assert_eq!(t.registers().unwrap(), m.prstatus.regs);
            let notes: Vec<_> = t.notes().map(|n| n.unwrap().to_owned_note()).collect();
            prop_assert_eq!(&notes, &m.notes);
        }
        prop_assert_eq!(core.auxv().unwrap().map(|a| a.collect::<Result<Vec<_>, _>>().unwrap()), model.auxv.clone());
    }
}
