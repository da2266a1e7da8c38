//! The memory flag types name the same values as rust-minidump's
//! `minidump::format` (an implementation we did not write), and a
//! MemoryInfoList we write reads back with the same flags there.

use coroner_minidump_format::model::MinidumpModel;
use coroner_minidump_format::raw::{
    MemoryProtection, MemoryState, MemoryType, MINIDUMP_MEMORY_INFO,
};
use coroner_minidump_format::write::NoMemory;
use minidump::format as theirs;

#[test]
fn flag_values_agree_with_rust_minidump() {
    let protection = [
        (
            MemoryProtection::PAGE_NOACCESS,
            theirs::MemoryProtection::PAGE_NOACCESS,
        ),
        (
            MemoryProtection::PAGE_READONLY,
            theirs::MemoryProtection::PAGE_READONLY,
        ),
        (
            MemoryProtection::PAGE_READWRITE,
            theirs::MemoryProtection::PAGE_READWRITE,
        ),
        (
            MemoryProtection::PAGE_WRITECOPY,
            theirs::MemoryProtection::PAGE_WRITECOPY,
        ),
        (
            MemoryProtection::PAGE_EXECUTE,
            theirs::MemoryProtection::PAGE_EXECUTE,
        ),
        (
            MemoryProtection::PAGE_EXECUTE_READ,
            theirs::MemoryProtection::PAGE_EXECUTE_READ,
        ),
        (
            MemoryProtection::PAGE_EXECUTE_READWRITE,
            theirs::MemoryProtection::PAGE_EXECUTE_READWRITE,
        ),
        (
            MemoryProtection::PAGE_EXECUTE_WRITECOPY,
            theirs::MemoryProtection::PAGE_EXECUTE_WRITECOPY,
        ),
        (
            MemoryProtection::PAGE_GUARD,
            theirs::MemoryProtection::PAGE_GUARD,
        ),
        (
            MemoryProtection::PAGE_NOCACHE,
            theirs::MemoryProtection::PAGE_NOCACHE,
        ),
        (
            MemoryProtection::PAGE_WRITECOMBINE,
            theirs::MemoryProtection::PAGE_WRITECOMBINE,
        ),
    ];
    for (ours, theirs) in protection {
        assert_eq!(ours.bits(), theirs.bits(), "{ours:?}");
    }
    assert_eq!(
        MemoryProtection::ACCESS_MASK.bits(),
        theirs::MemoryProtection::ACCESS_MASK.bits()
    );
    let state = [
        (MemoryState::MEM_COMMIT, theirs::MemoryState::MEM_COMMIT),
        (MemoryState::MEM_RESERVE, theirs::MemoryState::MEM_RESERVE),
        (MemoryState::MEM_FREE, theirs::MemoryState::MEM_FREE),
    ];
    for (ours, theirs) in state {
        assert_eq!(ours.bits(), theirs.bits(), "{ours:?}");
    }
    let ty = [
        (MemoryType::MEM_PRIVATE, theirs::MemoryType::MEM_PRIVATE),
        (MemoryType::MEM_MAPPED, theirs::MemoryType::MEM_MAPPED),
        (MemoryType::MEM_IMAGE, theirs::MemoryType::MEM_IMAGE),
    ];
    for (ours, theirs) in ty {
        assert_eq!(ours.bits(), theirs.bits(), "{ours:?}");
    }
}

#[test]
fn written_flags_read_back_in_rust_minidump() {
    let info = |base, protection: MemoryProtection, ty: MemoryType| MINIDUMP_MEMORY_INFO {
        base_address: base,
        allocation_base: base,
        allocation_protection: protection.bits(),
        region_size: 0x1000,
        state: MemoryState::MEM_COMMIT.bits(),
        protection: protection.bits(),
        _type: ty.bits(),
        ..MINIDUMP_MEMORY_INFO::default()
    };
    let model = MinidumpModel {
        memory_info: vec![
            info(
                0x1000,
                MemoryProtection::from_rwx(true, false, true),
                MemoryType::MEM_MAPPED,
            ),
            info(
                0x2000,
                MemoryProtection::from_rwx(true, true, false),
                MemoryType::MEM_PRIVATE,
            ),
            info(
                0x3000,
                MemoryProtection::PAGE_READONLY | MemoryProtection::PAGE_GUARD,
                MemoryType::MEM_IMAGE,
            ),
        ],
        ..MinidumpModel::default()
    };
    let mut file = Vec::new();
    model.write(&mut NoMemory, &mut file).unwrap();
    let dump = minidump::Minidump::read(file).unwrap();
    let list = dump
        .get_stream::<minidump::MinidumpMemoryInfoList>()
        .unwrap();
    let read: Vec<_> = list
        .iter()
        .map(|i| (i.protection.bits(), i.state.bits(), i.ty.bits()))
        .collect();
    assert_eq!(
        read,
        [
            (0x20, 0x1000, 0x4_0000),
            (0x04, 0x1000, 0x2_0000),
            (0x102, 0x1000, 0x100_0000)
        ]
    );
}
