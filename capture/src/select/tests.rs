//! Tests of the kernel rules, exclusions and the operator's selection.

use super::*;

fn anon(start: u64, len: u64) -> MappingDesc<'static> {
    MappingDesc {
        start,
        end: start + len,
        read: true,
        shared: false,
        offset: 0,
        inode: 0,
        path: None,
        dontdump: false,
        io: false,
        hugetlb: false,
        has_anon_pages: true,
    }
}

fn file(path: &'static str, offset: u64) -> MappingDesc<'static> {
    MappingDesc {
        inode: 42,
        path: Some(path),
        offset,
        has_anon_pages: false,
        ..anon(0x1000, 0x3000)
    }
}

#[test]
fn default_filter_dumps_written_anonymous_memory() {
    assert_eq!(
        kernel_dump_size(&anon(0x1000, 0x1000), CoredumpFilter::DEFAULT),
        KernelDump::Whole
    );
    assert_eq!(
        kernel_dump_size(&anon(0x1000, 0x1000), CoredumpFilter::empty()),
        KernelDump::Nothing
    );
}

#[test]
fn never_written_anonymous_memory_is_not_dumped() {
    let m = MappingDesc {
        has_anon_pages: false,
        ..anon(0x1000, 8 << 30)
    };
    assert_eq!(
        kernel_dump_size(&m, CoredumpFilter::DEFAULT),
        KernelDump::Nothing
    );
    assert_eq!(
        kernel_dump_size(&m, CoredumpFilter::ALL),
        KernelDump::Nothing
    );
}

#[test]
fn dontdump_wins_over_every_bit_but_not_over_special_mappings() {
    let m = MappingDesc {
        dontdump: true,
        ..anon(0x1000, 0x1000)
    };
    assert_eq!(
        kernel_dump_size(&m, CoredumpFilter::ALL),
        KernelDump::Nothing
    );
    let vdso = MappingDesc {
        dontdump: true,
        path: Some("[vdso]"),
        ..anon(0x1000, 0x2000)
    };
    assert_eq!(
        kernel_dump_size(&vdso, CoredumpFilter::empty()),
        KernelDump::Whole
    );
    let vvar = MappingDesc {
        io: true,
        path: Some("[vvar]"),
        ..anon(0x1000, 0x2000)
    };
    assert_eq!(
        kernel_dump_size(&vvar, CoredumpFilter::empty()),
        KernelDump::Whole
    );
}

#[test]
fn io_mappings_are_not_dumped() {
    let m = MappingDesc {
        io: true,
        ..anon(0x1000, 0x1000)
    };
    assert_eq!(
        kernel_dump_size(&m, CoredumpFilter::ALL),
        KernelDump::Nothing
    );
}

#[test]
fn hugetlb_uses_bits_5_and_6() {
    let p = MappingDesc {
        hugetlb: true,
        ..anon(0, 2 << 20)
    };
    assert_eq!(
        kernel_dump_size(&p, CoredumpFilter::DEFAULT),
        KernelDump::Whole
    );
    assert_eq!(
        kernel_dump_size(
            &p,
            CoredumpFilter::ANON_PRIVATE
                | CoredumpFilter::ANON_SHARED
                | CoredumpFilter::ELF_HEADERS
        ),
        KernelDump::Nothing
    );
    let s = MappingDesc { shared: true, ..p };
    assert_eq!(
        kernel_dump_size(&s, CoredumpFilter::DEFAULT),
        KernelDump::Nothing
    );
    assert_eq!(
        kernel_dump_size(&s, CoredumpFilter::HUGETLB_SHARED),
        KernelDump::Whole
    );
}

#[test]
fn shared_memory_depends_on_whether_the_file_still_has_a_name() {
    let shm = MappingDesc {
        shared: true,
        path: Some("/dev/zero (deleted)"),
        inode: 7,
        ..anon(0, 0x1000)
    };
    assert_eq!(
        kernel_dump_size(&shm, CoredumpFilter::DEFAULT),
        KernelDump::Whole
    );
    assert_eq!(
        kernel_dump_size(&shm, CoredumpFilter::FILE_SHARED),
        KernelDump::Nothing
    );
    let memfd = MappingDesc {
        path: Some("/memfd:jit (deleted)"),
        ..shm.clone()
    };
    assert_eq!(
        kernel_dump_size(&memfd, CoredumpFilter::ANON_SHARED),
        KernelDump::Whole
    );
    let named = MappingDesc {
        path: Some("/var/db/cache"),
        ..shm
    };
    assert_eq!(
        kernel_dump_size(&named, CoredumpFilter::DEFAULT),
        KernelDump::Nothing
    );
    assert_eq!(
        kernel_dump_size(&named, CoredumpFilter::FILE_SHARED),
        KernelDump::Whole
    );
}

#[test]
fn file_mappings_give_their_elf_header_page_or_the_whole_mapping() {
    let text = file("/usr/lib/libc.so.6", 0);
    assert_eq!(
        kernel_dump_size(&text, CoredumpFilter::DEFAULT),
        KernelDump::ElfHeaderIfMagic
    );
    assert_eq!(
        kernel_dump_size(&text, CoredumpFilter::FILE_PRIVATE),
        KernelDump::Whole
    );
    let later = file("/usr/lib/libc.so.6", 0x28000);
    assert_eq!(
        kernel_dump_size(&later, CoredumpFilter::DEFAULT),
        KernelDump::Nothing
    );
    let unreadable = MappingDesc {
        read: false,
        ..text.clone()
    };
    assert_eq!(
        kernel_dump_size(&unreadable, CoredumpFilter::DEFAULT),
        KernelDump::Nothing
    );
    // .data/.bss of a library after relocation: written, so whole.
    let data = MappingDesc {
        has_anon_pages: true,
        ..later
    };
    assert_eq!(
        kernel_dump_size(&data, CoredumpFilter::DEFAULT),
        KernelDump::Whole
    );
    assert_eq!(
        kernel_dump_size(&data, CoredumpFilter::ELF_HEADERS),
        KernelDump::Nothing
    );
}

#[test]
fn exclude_parses_ranges_and_globs() {
    match Exclude::parse("0x1000-0x2000").unwrap() {
        Exclude::Range { start, end } => assert_eq!((start, end), (0x1000, 0x2000)),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        Exclude::parse("7f00-7f80").unwrap(),
        Exclude::Range { .. }
    ));
    assert!(matches!(
        Exclude::parse("*/libfoo-1.so").unwrap(),
        Exclude::Path(_)
    ));
    assert!(matches!(
        Exclude::parse("[heap]").unwrap(),
        Exclude::Path(_)
    ));
    assert!(Exclude::parse("0x2000-0x1000").is_err());
    assert!(Exclude::parse("zz-yy").is_err());
    assert!(
        Exclude::parse("").is_err(),
        "an empty rule would silently match nothing"
    );
    assert!(Exclude::parse("  ").is_err());
    let e = Exclude::parse("/a/[b").unwrap_err();
    assert!(e.to_string().contains("START-END"), "{e}");
}

#[test]
fn exclude_matches_overlap_and_paths() {
    let m = anon(0x1000, 0x2000);
    assert!(Exclude::parse("0x0-0x1001").unwrap().matches(&m));
    assert!(Exclude::parse("0x2fff-0x5000").unwrap().matches(&m));
    assert!(!Exclude::parse("0x3000-0x5000").unwrap().matches(&m));
    assert!(!Exclude::parse("0x0-0x1000").unwrap().matches(&m));
    let lib = file("/usr/lib/x86_64-linux-gnu/libssl.so.3", 0);
    assert!(Exclude::parse("*/libssl*").unwrap().matches(&lib));
    assert!(!Exclude::parse("*/libcrypto*").unwrap().matches(&lib));
    assert!(!Exclude::parse("*/libssl*").unwrap().matches(&m));
}

#[test]
fn selection_all_takes_readable_memory_and_exclude_wins() {
    let dd = MappingDesc {
        dontdump: true,
        ..anon(0x1000, 0x1000)
    };
    let all = Selection {
        all: true,
        ..Selection::default()
    };
    assert_eq!(
        all.decide(&dd, CoredumpFilter::DEFAULT).dump,
        KernelDump::Whole
    );
    let guard = MappingDesc {
        read: false,
        ..anon(0x5000, 0x1000)
    };
    assert_eq!(
        all.decide(&guard, CoredumpFilter::DEFAULT).reason,
        Reason::Unreadable
    );
    let excl = Selection {
        exclude: vec![Exclude::parse("0x1000-0x1001").unwrap()],
        ..all
    };
    assert_eq!(
        excl.decide(&dd, CoredumpFilter::DEFAULT).reason,
        Reason::Excluded
    );
    let filt = Selection {
        filter: Some(CoredumpFilter::empty()),
        ..Selection::default()
    };
    assert_eq!(
        filt.decide(&anon(0, 0x1000), CoredumpFilter::DEFAULT).dump,
        KernelDump::Nothing
    );
    assert_eq!(
        Selection::default()
            .decide(&anon(0, 0x1000), CoredumpFilter::empty())
            .dump,
        KernelDump::Nothing
    );
}

#[test]
fn filter_values_parse_like_the_proc_file() {
    assert_eq!(parse_filter("00000033\n"), Some(CoredumpFilter::DEFAULT));
    assert_eq!(parse_filter("0x1ff"), Some(CoredumpFilter::ALL));
    assert_eq!(parse_filter("xyz"), None);
}
