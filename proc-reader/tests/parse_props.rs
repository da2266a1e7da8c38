//! Property tests for the /proc parsers: text written the kernel's way parses
//! back to what was written, and arbitrary bytes never panic.

use coroner_proc_reader::parse::{
    auxv, cgroup, cmdline, coredump_filter, limits, maps, pagemap, stat, status,
};
use proptest::prelude::*;

fn kernel_maps_line(m: &maps::Mapping) -> Vec<u8> {
    let p = m.perms;
    let mut line = format!(
        "{:08x}-{:08x} {}{}{}{} {:08x} {:02x}:{:02x} {} ",
        m.start,
        m.end,
        if p.read { 'r' } else { '-' },
        if p.write { 'w' } else { '-' },
        if p.exec { 'x' } else { '-' },
        if p.shared { 's' } else { 'p' },
        m.offset,
        m.dev.major,
        m.dev.minor,
        m.inode
    )
    .into_bytes();
    if !m.path.is_empty() {
        // The kernel pads to column 73 before the path.
        while line.len() < 73 {
            line.push(b' ');
        }
        line.extend_from_slice(&m.path);
    }
    line
}

prop_compose! {
    fn mapping()(start in 0u64..(1 << 47), len in 1u64..(1 << 32), r: bool, w: bool, x: bool, s: bool,
                 offset: u64, major in 0u32..4096, minor in 0u32..(1 << 20), inode: u64,
                 path in proptest::collection::vec(1u8..=255, 0..40)
                     .prop_filter("no newline, no leading space", |p| !p.contains(&b'\n') && p.first() != Some(&b' ')))
                -> (u64, u64, maps::Perms, u64, u32, u32, u64, Vec<u8>) {
        (start, start + len, maps::Perms { read: r, write: w, exec: x, shared: s }, offset, major, minor, inode, path)
    }
}

proptest! {
    #[test]
    fn maps_lines_round_trip(entries in proptest::collection::vec(mapping(), 0..20)) {
        let mut text = Vec::new();
        let mut want = Vec::new();
        for (start, end, perms, offset, major, minor, inode, path) in entries {
            let mut m = maps::Mapping::default();
            (m.start, m.end, m.perms, m.offset, m.inode, m.path) = (start, end, perms, offset, inode, path);
            (m.dev.major, m.dev.minor) = (major, minor);
            text.extend_from_slice(&kernel_maps_line(&m));
            text.push(b'\n');
            want.push(m);
        }
        prop_assert_eq!(maps::parse_maps(&text).unwrap(), want);
    }

    #[test]
    fn smaps_sizes_round_trip(rss_kb in 0u64..(1 << 40), anon_kb in 0u64..(1 << 40), dd: bool, io: bool) {
        let flags = format!("rd wr mr mw me{}{} ac", if dd { " dd" } else { "" }, if io { " io" } else { "" });
        let text = format!("1000-2000 rw-p 00000000 00:00 0 \nSize: 4 kB\nRss: {rss_kb:>8} kB\nAnonymous: {anon_kb} kB\nVmFlags: {flags} \n");
        let v = maps::parse_smaps(text.as_bytes()).unwrap();
        prop_assert_eq!(v.len(), 1);
        prop_assert_eq!((v[0].rss, v[0].anonymous), (rss_kb * 1024, anon_kb * 1024));
        prop_assert_eq!((v[0].vm_flags.dont_dump(), v[0].vm_flags.io()), (dd, io));
    }

    #[test]
    fn stat_comm_with_parentheses_and_spaces(comm in "[ -~]{0,15}", pid in 1u32..4_194_304, state in "[RSDZTtXI]",
                                             ppid in 0i32..4_194_304, utime: u32, start: u64) {
        let text = format!("{pid} ({comm}) {state} {ppid} 1 1 0 -1 4194560 1 0 0 0 {utime} 0 0 0 20 0 1 0 {start} 4096 10 18446744073709551615\n");
        let s = stat::parse_stat(text.as_bytes()).unwrap();
        prop_assert_eq!(s.comm, comm.into_bytes());
        prop_assert_eq!((s.pid, s.ppid, s.utime, s.start_time), (pid, ppid, u64::from(utime), start));
        prop_assert_eq!(s.state, state.as_bytes()[0]);
    }

    #[test]
    fn status_ids_round_trip(uids: [u32; 4], gids: [u32; 4], tracer: u32, nspid in proptest::collection::vec(1u32.., 1..4)) {
        let ns: Vec<String> = nspid.iter().map(u32::to_string).collect();
        let text = format!(
            "Name:\tx\nTgid:\t{0}\nPid:\t{0}\nPPid:\t1\nTracerPid:\t{tracer}\nUid:\t{1}\t{2}\t{3}\t{4}\nGid:\t{5}\t{6}\t{7}\t{8}\nNSpid:\t{9}\n",
            nspid[0], uids[0], uids[1], uids[2], uids[3], gids[0], gids[1], gids[2], gids[3], ns.join("\t"));
        let s = status::parse_status(text.as_bytes()).unwrap();
        prop_assert_eq!((s.uid, s.gid, s.tracer_pid), (uids, gids, tracer));
        prop_assert_eq!(s.nspid, nspid);
    }

    #[test]
    fn auxv_round_trip(pairs in proptest::collection::vec((1u64.., any::<u64>()), 0..40)) {
        let mut raw = Vec::new();
        for (k, v) in pairs.iter().copied().chain([(0, 0)]) {
            raw.extend_from_slice(&k.to_ne_bytes());
            raw.extend_from_slice(&v.to_ne_bytes());
        }
        let got: Vec<(u64, u64)> = auxv::parse_auxv(&raw).unwrap().iter().map(|e| (e.key, e.value)).collect();
        prop_assert_eq!(got, pairs);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = status::parse_status(&data);
        let _ = stat::parse_stat(&data);
        let _ = cmdline::parse_cmdline(&data);
        let _ = cmdline::parse_environ(&data);
        let _ = auxv::parse_auxv(&data);
        let _ = limits::parse_limits(&data);
        let _ = cgroup::parse_cgroup(&data);
        let _ = coredump_filter::parse_coredump_filter(&data);
        let _ = maps::parse_maps(&data);
        let _ = maps::parse_smaps(&data);
        let _ = pagemap::parse_pagemap(&data);
    }

    #[test]
    fn line_shaped_bytes_never_panic(lines in proptest::collection::vec("[0-9a-f:\\- rwxps()kB\\[\\]A-Za-z\t]{0,60}", 0..12)) {
        let data = lines.join("\n").into_bytes();
        let _ = status::parse_status(&data);
        let _ = stat::parse_stat(&data);
        let _ = limits::parse_limits(&data);
        let _ = cgroup::parse_cgroup(&data);
        let _ = maps::parse_maps(&data);
        let _ = maps::parse_smaps(&data);
    }
}
