//! Tests that the two formats written from one [`Snapshot`] agree: the
//! same stop signal, si_code, thread and fault address in the ELF core's
//! `NT_SIGINFO` / `pr_cursig` and in the minidump's exception, for a
//! snapshot made by hand and for one taken of a frozen process.

use coroner_core_format::write::{
    CoreWriter, MemorySource as CoreSource, StreamSink, WriteOptions,
};
use coroner_minidump_format::raw::DUMP_REQUESTED;
use coroner_minidump_format::write::Layout;
use coroner_proc_reader::parse::siginfo::parse_siginfo;

use crate::elf::core_model;
use crate::minidump::build::minidump_model;
use crate::minidump::MemoryMode;
use crate::snapshot::{ProcessInfo, Snapshot, ThreadState};

/// (signal, si_code, thread, fault address) as a format records it; zeros
/// for "no signal" (an all-zero NT_SIGINFO, a DUMP_REQUESTED exception).
type Recorded = (i32, i32, u32, u64);

/// Both files of `snap`, their memory from `memory`, each read back to
/// what it records.
fn both<M: CoreSource>(snap: &Snapshot, memory: &mut M) -> (Recorded, Recorded) {
    let model = core_model(snap).unwrap();
    let mut out = StreamSink::new(Vec::new());
    CoreWriter::new(WriteOptions::default())
        .write(&model, memory, &mut out)
        .unwrap();
    let bytes = out.into_inner();
    let core = coroner_core_format::parse(&bytes).unwrap();
    let si = core.siginfo().unwrap().expect("NT_SIGINFO");
    let elf = if si.signo() == 0 {
        (0, 0, 0, 0)
    } else {
        let tid = core
            .threads()
            .map(|t| t.unwrap())
            .find(|t| i32::from(t.cursig()) == si.signo())
            .expect("a thread whose pr_cursig is NT_SIGINFO's signal")
            .tid();
        // si_addr only means an address for a fault; for a signal a
        // process sent, that union member is the sender's pid.
        let fault = parse_siginfo(&si.bytes).unwrap().fault_address;
        (si.signo(), si.code(), tid, fault.unwrap_or(0))
    };

    let model = minidump_model(snap, memory, MemoryMode::Stacks).unwrap();
    let mut bytes = Vec::new();
    Layout::plan(&model)
        .unwrap()
        .write(memory, &mut bytes)
        .unwrap();
    let md = coroner_minidump_format::parse(&bytes).unwrap();
    let e = md.exception().unwrap().expect("exception stream");
    let minidump = if e.code() == DUMP_REQUESTED {
        (0, 0, 0, 0)
    } else {
        let model = e.to_model().unwrap();
        (
            i32::try_from(e.code()).unwrap(),
            i32::from_ne_bytes(model.flags.to_ne_bytes()),
            e.thread_id(),
            model.address,
        )
    };
    (elf, minidump)
}

/// The memory of a snapshot without mappings: nothing to read.
struct NoMemory;

impl CoreSource for NoMemory {
    fn read_at(&mut self, addr: u64, _: &mut [u8]) -> std::io::Result<usize> {
        panic!("no memory to read at {addr:#x}")
    }
}

fn regs(pc: u64, sp: u64) -> Vec<u64> {
    let mut words = vec![0u64; 27];
    words[16] = pc;
    words[19] = sp;
    words
}

/// A SIGSEGV the kernel raised (SEGV_MAPERR, with its address) on the
/// second thread: both formats name that thread, signal, code and address.
#[test]
fn one_snapshot_gives_both_formats_the_same_signal() {
    let mut raw = [0u8; 128];
    raw[..4].copy_from_slice(&11i32.to_ne_bytes()); // SIGSEGV
    raw[8..12].copy_from_slice(&1i32.to_ne_bytes()); // SEGV_MAPERR
    raw[16..24].copy_from_slice(&0xdead_b000u64.to_ne_bytes()); // si_addr
    let thread = |tid, siginfo| ThreadState {
        tid,
        gp_regs: regs(0x401000, 0x7ff0),
        siginfo,
        ..ThreadState::default()
    };
    let snap = Snapshot {
        process: ProcessInfo {
            pid: 42,
            page_size: 4096,
            ..ProcessInfo::default()
        },
        threads: vec![thread(42, None), thread(43, Some(raw))],
        ..Snapshot::default()
    };
    let mut memory = NoMemory;
    let (elf, minidump) = both(&snap, &mut memory);
    assert_eq!(elf, (11, 1, 43, 0xdead_b000));
    assert_eq!(minidump, elf);

    // No signal in flight: an all-zero NT_SIGINFO, DUMP_REQUESTED.
    let quiet = Snapshot {
        threads: vec![thread(42, None)],
        ..snap
    };
    assert_eq!(both(&quiet, &mut memory), ((0, 0, 0, 0), (0, 0, 0, 0)));
}

/// One freeze of a process whose threads send each other SIGURG, one
/// snapshot, both formats: until a snapshot catches a thread on its way
/// into the signal, and then the two files record the same one.
// Needs the C target of the unpublished coroner-test-support: only in the
// repository (build.rs), not from the published package.
#[cfg(all(target_os = "linux", coroner_repo_tests))]
#[test]
fn a_frozen_process_gives_both_formats_the_same_signal() {
    use std::time::{Duration, Instant};

    use crate::live;
    use crate::test_snapshot::freeze_and_snapshot;
    use coroner_proc_reader::Process;

    let target = coroner_test_support::Target::spawn(&coroner_test_support::SIGNAL_STORM);
    let process = Process::open(target.pid()).unwrap();
    let facts = live::read_facts(&process, true).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut rounds = 0;
    loop {
        rounds += 1;
        let (frozen, snap, mut memory) = freeze_and_snapshot(&process, &facts);
        let (elf, minidump) = both(&snap, &mut memory);
        drop(frozen);
        assert_eq!(elf, minidump, "round {rounds}");
        if elf.0 != 0 {
            // SIGURG from pthread_kill (SI_TKILL), no fault address.
            assert_eq!((elf.0, elf.1, elf.3), (23, -6, 0));
            eprintln!("caught SIGURG in round {rounds}");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no snapshot caught a signal in {rounds} rounds"
        );
    }
}
