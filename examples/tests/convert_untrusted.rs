//! `coroner convert` of an untrusted dump opens no host file the dump names
//! unless `--sysroot` says where to look, and then only regular files,
//! without blocking (issue 17 finding 5).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The path `fifo_path.core` names in its NT_FILE note.
const NAMED: &str = "/tmp/coroner-test-fifo-0001";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../capture/tests/data/fifo_path.core")
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

/// A FIFO at [`NAMED`] for the test's duration; removed on drop if this
/// test made it.
struct NamedFifo {
    made: bool,
}

impl NamedFifo {
    fn new() -> NamedFifo {
        use std::os::unix::fs::FileTypeExt;
        match std::fs::symlink_metadata(NAMED) {
            Ok(md) => {
                assert!(md.file_type().is_fifo(), "{NAMED} exists and is no FIFO");
                NamedFifo { made: false }
            }
            Err(_) => {
                mkfifo(Path::new(NAMED));
                NamedFifo { made: true }
            }
        }
    }
}

impl Drop for NamedFifo {
    fn drop(&mut self) {
        if self.made {
            let _ = std::fs::remove_file(NAMED);
        }
    }
}

/// Run coroner with `args`; fail (after killing it) if it takes more than
/// 20 s, which a blocked open of a FIFO would.
fn run_with_deadline(args: &[&std::ffi::OsStr]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_coroner"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("coroner {args:?} still running after 20 s: blocked on a file the dump names");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn convert(out: &Path, extra: &[&std::ffi::OsStr]) -> Output {
    let fixture = fixture();
    let mut args = vec!["convert".as_ref(), fixture.as_os_str(), out.as_os_str()];
    args.extend_from_slice(extra);
    let started = Instant::now();
    let o = run_with_deadline(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    o
}

/// The modules of `dump` as (path, build-id).
fn modules(dump: &Path) -> Vec<(String, Option<String>)> {
    let o = run_with_deadline(&["inspect".as_ref(), "--json".as_ref(), dump.as_os_str()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    json["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let path = m["path"].as_str().unwrap().to_owned();
            (path, m["build_id"].as_str().map(str::to_owned))
        })
        .collect()
}

#[test]
fn a_fifo_named_in_a_dump_neither_blocks_nor_is_opened() {
    let _fifo = NamedFifo::new();
    let dir = tempfile::tempdir().unwrap();
    // Default: the host's files are not looked at.
    convert(&dir.path().join("default.dmp"), &[]);

    // With a sysroot holding a FIFO at that path: refused without blocking.
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("tmp")).unwrap();
    mkfifo(&root.join(NAMED.trim_start_matches('/')));
    convert(
        &dir.path().join("sysroot-fifo.dmp"),
        &["--sysroot".as_ref(), root.as_os_str()],
    );
    // The host's own root: the FIFO at NAMED is refused too.
    convert(
        &dir.path().join("host-root.dmp"),
        &["--sysroot".as_ref(), "/".as_ref()],
    );
}

#[test]
fn build_ids_come_from_files_under_the_sysroot_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let named = root.join(NAMED.trim_start_matches('/'));
    std::fs::create_dir_all(named.parent().unwrap()).unwrap();
    std::fs::copy(coroner_test_support::target_path(), &named).unwrap();

    // The dump holds no byte of the file: only the file itself could say
    // it is an ELF object and give its build-id.
    let plain = dir.path().join("plain.dmp");
    convert(&plain, &[]);
    assert_eq!(modules(&plain), vec![], "no host file without --sysroot");

    let with_root = dir.path().join("with-root.dmp");
    convert(&with_root, &["--sysroot".as_ref(), root.as_os_str()]);
    let found = modules(&with_root);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, NAMED);
    let id = found[0]
        .1
        .as_deref()
        .expect("build-id from the sysroot's file");
    assert_eq!(id.len(), 40, "{id}");
}
