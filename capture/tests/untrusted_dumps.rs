//! Dumps a user hands to `inspect` and `convert` are untrusted: the
//! reproducers a fuzzing campaign found (issue 17, in `tests/data/`) are
//! summarised and converted without a panic, and their implausible sizes
//! are reported as such instead of as wrapped figures.

use std::path::{Path, PathBuf};

use coroner_capture::inspect::Summary;
use coroner_capture::MemoryMode;
use coroner_capture::Sink;
use coroner_capture::{convert_bytes, DumpFormat};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn summary(name: &str) -> Summary {
    let s = Summary::from_file(&data(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let bytes = std::fs::read(data(name)).unwrap();
    if s.format == "elf-core" {
        let from_bytes = Summary::from_bytes(&bytes).unwrap();
        assert_eq!(from_bytes.warnings, s.warnings, "{name}");
    }
    s
}

fn warned(s: &Summary, about: &str) -> bool {
    s.warnings.iter().any(|w| w.contains(about))
}

#[test]
fn an_nt_file_offset_past_2_64_is_not_shown_wrapped() {
    let s = summary("file_offset_overflow.core");
    let m = s
        .mappings
        .iter()
        .find(|m| m.path.is_some())
        .expect("a file-backed mapping");
    assert_eq!(m.file_offset, None, "{m:?}");
    assert!(warned(&s, "NT_FILE offset"), "{:?}", s.warnings);
}

#[test]
fn pt_load_sizes_that_add_up_past_2_64_are_reported_as_implausible() {
    let s = summary("sum_overflow.core");
    assert_eq!(s.totals.bytes_mapped, u64::MAX);
    assert!(warned(&s, "memory sizes add up"), "{:?}", s.warnings);

    let s = summary("sum_filesz_overflow.core");
    assert_eq!(s.totals.bytes_dumped, u64::MAX);
    assert!(warned(&s, "file sizes add up"), "{:?}", s.warnings);
}

#[test]
fn minidump_region_sizes_that_add_up_past_2_64_are_reported_as_implausible() {
    let s = summary("md_sum_overflow.dmp");
    assert_eq!(s.format, "minidump");
    assert_eq!(s.totals.bytes_mapped, u64::MAX);
    assert!(warned(&s, "mappings' sizes add up"), "{:?}", s.warnings);
}

#[test]
fn a_later_mapping_below_a_module_s_first_does_not_shrink_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.dmp");
    let bytes = std::fs::read(data("module_end_underflow.core")).unwrap();
    let sink = Sink::create(&out, false).unwrap();
    convert_bytes(&bytes, Some(DumpFormat::Minidump), MemoryMode::Full, sink).unwrap();
    let s = Summary::from_file(&out).unwrap();
    assert_eq!(s.modules.len(), 1, "{:?}", s.modules);
    let m = &s.modules[0];
    // Mapped at 0x5000..0x6000 from offset 0; the mapping of the same file
    // at 0x1000..0x2000 lies below it and is not part of it.
    assert_eq!((m.base, m.end), (0x5000, 0x6000), "{m:?}");
}
