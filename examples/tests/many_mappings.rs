//! Cores of a process with more than 65,535 mappings, which the ELF format
//! can only describe with extended numbering (`e_phnum` = `PN_XNUM`, the
//! real count in section header 0, which the kernel writes at the end of
//! the file): `coroner inspect` reads them, ours and the kernel's, and
//! counts the program headers elfutils counts (issue 10 point 3).
//!
//! The test raises `vm.max_map_count` for its duration and puts it back
//! whatever happens, holding test-support's machine-wide settings lock
//! meanwhile, so no other test on the machine (in this binary or another)
//! runs while the setting is changed.

use std::path::Path;
use std::process::Command;

use coroner_test_support::{kernel_core, oracle, stdout_of, MachineSettings, Target};
use serde_json::Value;

const MAPPINGS: u32 = 70_000;
const MAX_MAP_COUNT: &str = "/proc/sys/vm/max_map_count";

/// `vm.max_map_count` raised to at least `want` until dropped, under the
/// exclusive machine-settings lock (released after the value is restored:
/// `Drop::drop` runs before the fields drop).
struct MaxMapCount {
    before: Option<String>,
    _lock: MachineSettings,
}

impl MaxMapCount {
    fn at_least(want: u64) -> MaxMapCount {
        let lock = MachineSettings::exclusive();
        let before = std::fs::read_to_string(MAX_MAP_COUNT).unwrap();
        let current: u64 = before.trim().parse().unwrap();
        if current >= want {
            return MaxMapCount {
                before: None,
                _lock: lock,
            };
        }
        std::fs::write(MAX_MAP_COUNT, want.to_string())
            .unwrap_or_else(|e| panic!("raising {MAX_MAP_COUNT} (needs root): {e}"));
        MaxMapCount {
            before: Some(before),
            _lock: lock,
        }
    }
}

impl Drop for MaxMapCount {
    fn drop(&mut self) {
        if let Some(before) = &self.before {
            if let Err(e) = std::fs::write(MAX_MAP_COUNT, before.trim()) {
                eprintln!(
                    "could not restore {MAX_MAP_COUNT} to {}: {e}",
                    before.trim()
                );
            }
        }
    }
}

fn coroner(args: &[&std::ffi::OsStr]) -> Vec<u8> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coroner"));
    cmd.args(args);
    stdout_of(cmd)
}

fn inspect_mappings(core: &Path) -> u64 {
    let json = coroner(&["inspect".as_ref(), "--json".as_ref(), core.as_os_str()]);
    let v: Value = serde_json::from_slice(&json).unwrap();
    let n = v["totals"]["mappings"].as_u64().unwrap();
    assert_eq!(v["mappings"].as_array().unwrap().len() as u64, n);
    n
}

/// The number of `PT_LOAD` program headers elfutils' `eu-readelf -l`
/// lists in `core`; `None` without it. (gdb agrees but needs over eight
/// minutes to load a core of 70,000 sections here, too slow for a test.)
fn readelf_loads(core: &Path) -> Option<u64> {
    let readelf = oracle("eu-readelf")?;
    let out = Command::new(readelf).arg("-l").arg(core).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    Some(
        text.lines()
            .filter(|l| l.split_whitespace().next() == Some("LOAD"))
            .count() as u64,
    )
}

fn is_extended(core: &Path) -> bool {
    let mut header = [0u8; 64];
    std::os::unix::fs::FileExt::read_exact_at(&std::fs::File::open(core).unwrap(), &mut header, 0)
        .unwrap();
    u16::from_le_bytes([header[0x38], header[0x39]]) == 0xffff
}

#[test]
fn cores_with_more_than_65535_mappings_are_inspected_whole() {
    let _limit = MaxMapCount::at_least(u64::from(MAPPINGS) * 2);
    let args = [
        "--threads",
        "1",
        "--pattern-mib",
        "1",
        "--dontdump-kib",
        "0",
        "--reserve-gib",
        "0",
        "--mappings",
        &MAPPINGS.to_string(),
    ];
    let dir = tempfile::tempdir().unwrap();

    // Ours.
    let target = Target::spawn(&args);
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", target.pid())).unwrap();
    let live = maps.lines().count() as u64;
    assert!(live > u64::from(MAPPINGS), "{live} mappings");
    let ours = dir.path().join("ours.core");
    coroner(&[
        "capture".as_ref(),
        target.pid().to_string().as_ref(),
        "-o".as_ref(),
        ours.as_os_str(),
    ]);
    drop(target);
    assert!(is_extended(&ours), "our core uses PN_XNUM");
    let n = inspect_mappings(&ours);
    // One PT_LOAD per mapping (the kernel's vsyscall page is not in maps).
    assert!(n == live || n == live + 1, "inspect {n}, /proc maps {live}");
    if let Some(loads) = readelf_loads(&ours) {
        assert_eq!(loads, n, "eu-readelf's PT_LOADs vs inspect");
    }

    // The kernel's.
    let kernel_args: Vec<&str> = args.to_vec();
    if let Some(k) = kernel_core(&kernel_args, dir.path()) {
        assert!(is_extended(&k.path), "the kernel's core uses PN_XNUM");
        let n = inspect_mappings(&k.path);
        assert!(n > u64::from(MAPPINGS), "{n}");
        if let Some(loads) = readelf_loads(&k.path) {
            assert_eq!(loads, n, "eu-readelf's PT_LOADs vs inspect");
        }
    }
}
