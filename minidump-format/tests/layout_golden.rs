//! The writer's exact bytes for a model that fills every stream, pinned by a
//! file in `tests/data`: the round-trip property tests accept any layout a
//! reader can follow, this one catches any change of order, alignment,
//! padding or offset. A deliberate layout change regenerates the file with
//! `COR_BLESS=1 cargo test -p coroner-minidump-format --test layout_golden`
//! (and the diff of the file is then part of the review).

mod common;

use std::io::Cursor;
use std::path::Path;

use common::Synthetic;
use coroner_minidump_format::model::*;
use coroner_minidump_format::raw::{
    self, MemoryProtection, MemoryState, MemoryType, MINIDUMP_MEMORY_INFO,
};
use coroner_minidump_format::write::{Layout, SeekSink};

/// Every stream the writer knows, each with more than one entry where it
/// has a list, strings of odd lengths (alignment), a thread whose stack is
/// also in the MemoryList, one whose stack is not and one with neither stack
/// nor context, and unknown streams. (One architecture only, so that
/// rust-minidump reads it too.)
fn every_stream() -> MinidumpModel {
    let mut amd64 = raw::CONTEXT_AMD64 {
        context_flags: raw::CONTEXT_AMD64 | 0x1f,
        rip: 0x5555_0000_1234,
        rsp: 0x7ffd_0000_0f00,
        rax: 0x1122_3344_5566_7788,
        ..Default::default()
    };
    amd64.float_save[0] = 0x7f;
    let mut system_info = SystemInfo::linux_amd64(8, "Linux 6.18.0 #1 SMP x86_64");
    system_info.set_x86_cpu(*b"GenuineIntel", 0x906ea, 0xbfeb_fbff, 0x2c10_0800);
    let stack_a = MemoryRange {
        start: 0x7ffd_0000_0000,
        size: 0x1000,
    };
    let stack_b = MemoryRange {
        start: 0x7ffc_0000_0800,
        size: 0x301,
    };
    MinidumpModel {
        time_date_stamp: 1_700_000_000,
        flags: 0x1_0005,
        system_info: Some(system_info),
        misc_info: Some(MiscInfo {
            extra: vec![1, 2, 3, 4, 5],
            ..MiscInfo::process(4242, 1_699_999_000, 3, 1)
        }),
        threads: vec![
            Thread {
                thread_id: 4242,
                suspend_count: 1,
                priority: 2,
                teb: 0x7f00_0000_1000,
                stack: Some(stack_a),
                context: Some(Context::Amd64(Box::new(amd64))),
                ..Thread::default()
            },
            Thread {
                thread_id: 4243,
                stack: Some(stack_b),
                context: Some(Context::Amd64(Box::new(raw::CONTEXT_AMD64 {
                    rip: 0x5555_0000_2000,
                    ..amd64
                }))),
                ..Thread::default()
            },
            Thread {
                thread_id: 4244,
                stack: None,
                context: None,
                ..Thread::default()
            },
        ],
        thread_names: vec![
            ThreadName {
                thread_id: 4242,
                name: "main".into(),
            },
            ThreadName {
                thread_id: 4243,
                name: "wörker-1".into(),
            },
        ],
        modules: vec![
            Module {
                base: 0x5555_0000_0000,
                size: 0x2_1000,
                checksum: 7,
                time_date_stamp: 8,
                name: "/usr/bin/target".into(),
                code_view: Some(CodeView::Elf {
                    build_id: (1..=20).collect(),
                }),
                misc_record: Some(vec![0xab; 3]),
                ..Module::default()
            },
            Module {
                base: 0x7f00_0000_0000,
                size: 0x1000,
                name: "C:\\pdb\\lib.dll".into(),
                code_view: Some(CodeView::Pdb70 {
                    guid: [0x11; 16],
                    age: 3,
                    file_name: b"lib.pdb".to_vec(),
                }),
                ..Module::default()
            },
            Module {
                base: 0x7f00_0001_0000,
                size: 0x2000,
                name: "odd".into(),
                code_view: Some(CodeView::Other(vec![0xff, 0xff, 0xff, 0xff, 1])),
                ..Module::default()
            },
        ],
        exception: Some(Exception {
            thread_id: 4242,
            code: 11,
            flags: 1,
            record: 0,
            address: 0xdead_beef,
            parameters: vec![1, 2, 3],
            context: Some(Context::Amd64(Box::new(amd64))),
        }),
        memory_info: vec![
            MINIDUMP_MEMORY_INFO {
                base_address: 0x5555_0000_0000,
                allocation_base: 0x5555_0000_0000,
                allocation_protection: MemoryProtection::PAGE_EXECUTE_READ.bits(),
                region_size: 0x2_1000,
                state: MemoryState::MEM_COMMIT.bits(),
                protection: MemoryProtection::PAGE_EXECUTE_READ.bits(),
                _type: MemoryType::MEM_IMAGE.bits(),
                ..MINIDUMP_MEMORY_INFO::default()
            },
            MINIDUMP_MEMORY_INFO {
                base_address: 0x7ffd_0000_0000,
                allocation_base: 0x7ffd_0000_0000,
                allocation_protection: MemoryProtection::PAGE_READWRITE.bits(),
                region_size: 0x1000,
                state: MemoryState::MEM_COMMIT.bits(),
                protection: MemoryProtection::PAGE_READWRITE.bits(),
                _type: MemoryType::MEM_PRIVATE.bits(),
                ..MINIDUMP_MEMORY_INFO::default()
            },
        ],
        linux: LinuxStreams {
            cpu_info: Some(b"processor\t: 0\n".to_vec()),
            proc_status: Some(b"Name:\ttarget\nPid:\t4242\n".to_vec()),
            lsb_release: Some(b"ID=test\n".to_vec()),
            cmd_line: Some(b"target\0--flag\0".to_vec()),
            environ: Some(b"A=1\0".to_vec()),
            auxv: Some(vec![6, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0]),
            maps: Some(b"55550000000-55550021000 r-xp 00000000 08:01 1 /usr/bin/target\n".to_vec()),
            dso_debug: Some(DsoDebug {
                version: 1,
                brk: 0x7f00_0000_2000,
                ldbase: 0x7f00_0000_0000,
                dynamic: 0x5555_0002_0000,
                link_maps: vec![
                    LinkMap {
                        addr: 0,
                        name: String::new(),
                        ld: 0x5555_0002_0000,
                    },
                    LinkMap {
                        addr: 0x7f00_0000_0000,
                        name: "/lib/ld.so".into(),
                        ld: 0x7f00_0000_3000,
                    },
                ],
            }),
        },
        other_streams: vec![
            RawStream {
                stream_type: 0x4b6b_0001,
                data: b"unknown".to_vec(),
            },
            RawStream {
                stream_type: raw::MINIDUMP_STREAM_TYPE::MISC_INFO,
                data: vec![0; 24],
            },
        ],
        memory_list: vec![
            stack_a,
            MemoryRange {
                start: 0x5555_0000_1134,
                size: 0x200,
            },
        ],
        memory64_list: vec![
            MemoryRange {
                start: 0x5555_0000_0000,
                size: 0x3000,
            },
            MemoryRange {
                start: 0x7f00_0000_0000,
                size: 0x1001,
            },
        ],
    }
}

#[test]
fn a_model_with_every_stream_is_written_byte_for_byte_as_before() {
    let model = every_stream();
    let layout = Layout::plan(&model).unwrap();
    let mut plain = Vec::new();
    layout
        .write(&mut Synthetic { hole_every: 4 }, &mut plain)
        .unwrap();
    let mut sparse = SeekSink::new(Cursor::new(Vec::new()));
    layout
        .write(&mut Synthetic { hole_every: 4 }, &mut sparse)
        .unwrap();
    assert_eq!(
        sparse.into_inner().into_inner(),
        plain,
        "sparse and plain sinks agree"
    );
    assert_eq!(layout.file_size(), plain.len() as u64);

    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/every-stream.dmp");
    if std::env::var_os("COR_BLESS").is_some() {
        std::fs::write(&golden, &plain).unwrap();
    }
    let expected = std::fs::read(&golden).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; write it with COR_BLESS=1 (see this file's doc)",
            golden.display()
        )
    });
    if let Some(at) = plain.iter().zip(&expected).position(|(a, b)| a != b) {
        panic!(
            "first difference at byte {at:#x} (file lengths {:#x} now, {:#x} pinned)",
            plain.len(),
            expected.len()
        );
    }
    assert_eq!(plain.len(), expected.len(), "same bytes, different length");
    // The pinned file is also a dump every reader accepts.
    assert_eq!(
        coroner_minidump_format::parse(&expected)
            .unwrap()
            .to_model()
            .unwrap(),
        model
    );
    common::cross_check(&expected).unwrap();
}
