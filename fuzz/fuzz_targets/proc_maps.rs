//! /proc/<pid>/maps parser: never panics; accepted lines re-parse identically.
#![no_main]
use coroner_fuzz as _;
use coroner_proc_reader::parse::maps::{parse_maps, parse_maps_line};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = parse_maps(data) {
        for m in &v {
            let _ = (
                m.len(),
                m.is_empty(),
                m.is_deleted(),
                m.pseudo_name(),
                m.is_file_backed(),
                m.perms.elf_flags(),
            );
            let perms = format!(
                "{}{}{}{}",
                if m.perms.read { 'r' } else { '-' },
                if m.perms.write { 'w' } else { '-' },
                if m.perms.exec { 'x' } else { '-' },
                if m.perms.shared { 's' } else { 'p' }
            );
            let mut line = format!(
                "{:x}-{:x} {perms} {:08x} {:02x}:{:02x} {} ",
                m.start, m.end, m.offset, m.dev.major, m.dev.minor, m.inode
            )
            .into_bytes();
            line.extend_from_slice(&m.path);
            let again = parse_maps_line(&line, 1).unwrap();
            assert_eq!(
                (
                    again.start,
                    again.end,
                    again.perms,
                    again.offset,
                    again.dev,
                    again.inode
                ),
                (m.start, m.end, m.perms, m.offset, m.dev, m.inode)
            );
            // A path that starts with a space cannot survive the kernel's padding.
            if m.path.first() != Some(&b' ') {
                assert_eq!(again.path, m.path);
            }
        }
    }
});
