//! `coroner inspect --json` of dumps from four writers, kept as golden
//! files: the summary must not change when the parsing behind it moves
//! between crates or is hardened.
//!
//! The fixtures in `tests/data/inspect/` are small real dumps of the test
//! target (`coroner-test-target --threads 1`, run under `env -i` and with
//! `coredump_filter` 0x10 so only ELF header pages are dumped): `kernel.core`
//! written by the kernel for `--crash`, `gdb.core` by gdb 13's `gcore`,
//! `ours.core` / `ours.dmp` by `coroner capture`, `mdw.dmp` by the
//! minidump-writer crate (`capture/examples/mdw_dump.rs`). Each has its
//! expected output beside it as `NAME.json`.
//!
//! `totals.file_allocated` depends on the file system the checkout lives on
//! (a sparse core is stored dense by git), so it is compared only as "a
//! number".

use std::path::Path;
use std::process::Command;

use serde_json::Value;

const FIXTURES: [&str; 5] = [
    "kernel.core",
    "gdb.core",
    "ours.core",
    "ours.dmp",
    "mdw.dmp",
];

fn data_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/inspect"))
}

/// The JSON with `file_allocated` checked to be a number and then blanked.
fn comparable(mut json: Value, what: &str) -> Value {
    let allocated = json
        .pointer_mut("/totals/file_allocated")
        .unwrap_or_else(|| panic!("{what}: no totals.file_allocated"));
    assert!(allocated.is_u64(), "{what}: file_allocated {allocated}");
    *allocated = Value::Null;
    json
}

#[test]
fn inspect_json_of_every_fixture_matches_its_golden_file() {
    for name in FIXTURES {
        let out = Command::new(env!("CARGO_BIN_EXE_coroner"))
            .args(["inspect", "--json", name])
            .current_dir(data_dir())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "inspect {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got: Value = serde_json::from_slice(&out.stdout).unwrap();
        let golden = std::fs::read(data_dir().join(format!("{name}.json"))).unwrap();
        let want: Value = serde_json::from_slice(&golden).unwrap();
        assert_eq!(
            comparable(got, name),
            comparable(want, name),
            "inspect --json {name} differs from {name}.json"
        );
    }
}
