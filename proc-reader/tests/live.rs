//! Acceptance point 1: a frozen helper's threads, registers and memory.

use coroner_proc_reader::{Process, ReadMethod, ReadRequest, StopKind};
use coroner_test_support::{pattern_word, Target};

fn name(t: &coroner_proc_reader::Thread) -> String {
    String::from_utf8_lossy(&t.name).into_owned()
}

#[test]
fn threads_found_with_names_and_sp_in_a_mapping() {
    let target = Target::spawn(&["--threads", "8", "--pattern-mib", "4", "--reserve-gib", "0"]);
    let pid = target.pid();
    let process = Process::open(pid).unwrap();
    let maps = process.mappings().unwrap();
    let frozen = process.freeze().unwrap();
    assert_eq!(
        frozen.threads().len(),
        9,
        "main + 8 workers: {:?}",
        frozen.threads().iter().map(name).collect::<Vec<_>>()
    );
    assert_eq!(frozen.threads()[0].tid, pid, "main thread first");
    for i in 0..8 {
        let want = format!("worker-{i}");
        assert!(
            frozen.threads().iter().any(|t| name(t) == want),
            "no thread named {want}"
        );
    }
    for t in frozen.threads() {
        let sp = t.regs.sp();
        let m = maps.iter().find(|m| m.contains(sp));
        assert!(
            m.is_some(),
            "thread {} ({}) sp {sp:#x} is in no mapping",
            t.tid,
            name(t)
        );
        assert!(
            maps.iter().any(|m| m.contains(t.regs.pc()) && m.perms.exec),
            "pc of {} not in code",
            t.tid
        );
        assert_eq!(t.stop, StopKind::Interrupted);
        assert!(t.siginfo.is_none());
        #[cfg(target_arch = "x86_64")]
        {
            assert_eq!(t.regs.fp.len(), 512);
            let xs = t.regs.xstate.as_ref().expect("x86_64 kernels give XSTATE");
            assert!(
                xs.len() >= 576,
                "XSAVE area holds at least legacy + header: {}",
                xs.len()
            );
            assert_eq!(
                xs[..160],
                t.regs.fp[..160],
                "XSAVE legacy area matches FXSAVE"
            );
        }
        let st = t.stat.as_ref().unwrap();
        assert_eq!(st.pid, t.tid);
        assert_eq!(
            st.state, b't',
            "thread {} is in tracing stop while frozen",
            t.tid
        );
    }
    let thawed = frozen.thaw().unwrap();
    assert_eq!(thawed.threads.len(), 9);
    assert!(thawed.frozen_for.as_secs() < 10);
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert!(
        !matches!(target.state(), 't' | 'T'),
        "running again after thaw: {}",
        target.state()
    );
}

#[test]
fn pattern_read_back_at_printed_address() {
    let target = Target::spawn(&[
        "--threads",
        "1",
        "--pattern-mib",
        "16",
        "--reserve-gib",
        "0",
    ]);
    let process = Process::open(target.pid()).unwrap();
    let addr = target.ready.u64("pattern");
    let len = usize::try_from(target.ready.u64("pattern_len")).unwrap();
    let frozen = process.freeze().unwrap();
    for method in [
        ReadMethod::Auto,
        ReadMethod::ProcessVmReadv,
        ReadMethod::ProcMem,
    ] {
        let mut memory = process.memory().unwrap();
        memory.set_method(method);
        let mut buf = vec![0u8; len];
        memory.read_exact_at(addr, &mut buf).unwrap();
        for (i, w) in buf.chunks_exact(8).enumerate() {
            let got = u64::from_le_bytes(w.try_into().unwrap());
            assert_eq!(got, pattern_word(i as u64), "{method:?} word {i}");
        }
        // The same through batched requests of mixed sizes.
        let mut a = vec![0u8; 4096];
        let mut b = vec![0u8; 1 << 20];
        let mut c = vec![0u8; 24];
        let mut reqs = [
            ReadRequest::new(addr, &mut a),
            ReadRequest::new(addr + 8 * 1000, &mut b),
            ReadRequest::new(addr + 8 * 77, &mut c),
        ];
        memory.read_batch(&mut reqs).unwrap();
        assert!(reqs.iter().all(|r| r.got == r.buf.len()));
        assert_eq!(
            u64::from_le_bytes(b[..8].try_into().unwrap()),
            pattern_word(1000)
        );
        assert_eq!(
            u64::from_le_bytes(c[..8].try_into().unwrap()),
            pattern_word(77)
        );
        assert_eq!(
            u64::from_le_bytes(a[8..16].try_into().unwrap()),
            pattern_word(1)
        );
    }
    frozen.thaw().unwrap();
}

#[test]
fn short_read_gives_readable_part_and_holes() {
    let target = Target::spawn(&["--threads", "1", "--pattern-mib", "1", "--reserve-gib", "0"]);
    let process = Process::open(target.pid()).unwrap();
    let memory = process.memory().unwrap();
    let page = memory.page_size();
    let maps = process.maps().unwrap();
    // A readable mapping followed by unmapped space.
    let m = maps
        .windows(2)
        .find(|w| {
            w[0].perms.read && w[0].end + 2 * page <= w[1].start && !w[0].path.starts_with(b"[")
        })
        .map(|w| w[0].clone())
        .expect("a mapping followed by a gap");
    let start = m.end - 2 * page;
    let mut buf = vec![0xaa_u8; 4 * page as usize];
    let got = memory.read_at(start, &mut buf).unwrap();
    assert_eq!(got, 2 * page as usize, "exactly the readable part");
    let mut buf = vec![0xaa_u8; 4 * page as usize];
    let err = memory.read_exact_at(start, &mut buf).unwrap_err();
    match err {
        coroner_proc_reader::Error::PartialRead {
            addr,
            got,
            wanted,
            pid,
            ..
        } => {
            assert_eq!(
                (addr, got, wanted, pid),
                (start, 2 * page as usize, 4 * page as usize, target.pid())
            );
        }
        other => panic!("expected PartialRead, got {other:?}"),
    }
    let mut buf = vec![0xaa_u8; 4 * page as usize];
    let holes = memory.read_with_holes(start, &mut buf).unwrap();
    assert_eq!(holes, vec![m.end..m.end + 2 * page]);
    assert!(
        buf[2 * page as usize..].iter().all(|&b| b == 0),
        "holes are zeroed, never garbage"
    );
    let mut direct = vec![0u8; 2 * page as usize];
    memory.read_exact_at(start, &mut direct).unwrap();
    assert_eq!(&buf[..2 * page as usize], &direct[..]);
    // Unmapped start: zero bytes, not an error.
    assert_eq!(memory.read_at(m.end, &mut [0u8; 16]).unwrap(), 0);
    // A batch that stops in its second request.
    let mut a = vec![0u8; page as usize];
    let mut b = vec![0u8; 2 * page as usize];
    let mut c = vec![0u8; page as usize];
    let mut reqs = [
        ReadRequest::new(start, &mut a),
        ReadRequest::new(m.end - page, &mut b),
        ReadRequest::new(start, &mut c),
    ];
    memory.read_batch(&mut reqs).unwrap();
    assert_eq!(
        reqs.iter().map(|r| r.got).collect::<Vec<_>>(),
        [page as usize, page as usize, page as usize]
    );
}

fn rss_of(process: &Process, start: u64) -> u64 {
    process
        .mappings()
        .unwrap()
        .iter()
        .find(|m| m.start == start)
        .expect("reservation mapping")
        .rss
}

#[test]
fn untouched_reservation_has_no_present_pages_and_scan_does_not_fault() {
    let target = Target::spawn(&["--threads", "1", "--pattern-mib", "8", "--reserve-gib", "8"]);
    let process = Process::open(target.pid()).unwrap();
    let reserve = target.ready.u64("reserve");
    let reserve_len = target.ready.u64("reserve_len");
    assert_eq!(reserve_len, 8 << 30);
    let rss_before = rss_of(&process, reserve);
    let vm_rss_before = process.status().unwrap().vm_rss.unwrap();
    assert_eq!(rss_before, 0);
    let memory = process.memory().unwrap();
    let frozen = process.freeze().unwrap();
    let t = std::time::Instant::now();
    let runs = memory
        .present_pages(reserve, reserve + reserve_len)
        .unwrap();
    let took = t.elapsed();
    assert!(
        runs.is_empty(),
        "untouched reservation reports present pages: {:?}",
        &runs[..runs.len().min(4)]
    );
    // The pattern region, by contrast, is fully present.
    let pattern = target.ready.u64("pattern");
    let plen = target.ready.u64("pattern_len");
    assert_eq!(
        memory.present_pages(pattern, pattern + plen).unwrap(),
        vec![pattern..pattern + plen]
    );
    frozen.thaw().unwrap();
    assert_eq!(rss_of(&process, reserve), 0, "scanning faulted pages in");
    let vm_rss_after = process.status().unwrap().vm_rss.unwrap();
    assert!(
        vm_rss_after <= vm_rss_before + (256 << 10),
        "RSS grew {vm_rss_before} -> {vm_rss_after}"
    );
    eprintln!("pagemap scan of 8 GiB took {took:?}");
}

#[test]
fn holes_across_a_large_unmapped_gap_are_found_quickly() {
    let target = Target::spawn(&["--threads", "1", "--pattern-mib", "1", "--reserve-gib", "0"]);
    let process = Process::open(target.pid()).unwrap();
    let memory = process.memory().unwrap();
    let maps = process.maps().unwrap();
    let page = memory.page_size();
    // The widest gap between two readable mappings, read across (at most 64 MiB of it).
    let (a, b) = maps
        .windows(2)
        .filter(|w| w[0].perms.read && w[1].perms.read && w[1].start > w[0].end)
        .map(|w| (w[0].clone(), w[1].clone()))
        .max_by_key(|(a, b)| b.start - a.end)
        .unwrap();
    let gap = (b.start - a.end).min(64 << 20);
    let start = a.end - page;
    let len = (page + gap + if gap == b.start - a.end { page } else { 0 }) as usize;
    let mut buf = vec![0xaa_u8; len];
    let t = std::time::Instant::now();
    let holes = memory.read_with_holes(start, &mut buf).unwrap();
    assert_eq!(holes, vec![a.end..a.end + gap]);
    assert!(buf[page as usize..(page + gap) as usize]
        .iter()
        .all(|&x| x == 0));
    assert!(
        t.elapsed() < std::time::Duration::from_secs(2),
        "{:?} for a {gap}-byte gap",
        t.elapsed()
    );
}
