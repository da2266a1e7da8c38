//! The handler fed a core the kernel wrote (saved to a file, replayed on
//! stdin as the kernel would pipe it): stored sparse and byte-identical,
//! 0600, with its threads and metadata; limits and the rate limit keep
//! the metadata only; a hostile name stays inside the store.

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use coroner_store::{handle_crash, HandlerConfig, KernelFacts, Policy, RateLimit, Store};
use coroner_test_support::{kernel_core, Target};

fn facts(pid: u32, comm: &str, time: u64) -> KernelFacts {
    let args: Vec<OsString> = [
        pid.to_string(),
        pid.to_string(),
        pid.to_string(),
        pid.to_string(),
        "11".into(),
        time.to_string(),
        "0".into(),
        "0".into(),
        u64::MAX.to_string(),
        "1".into(),
        "testhost".into(),
        comm.into(),
    ]
    .into_iter()
    .map(OsString::from)
    .collect();
    KernelFacts::from_args(&args).unwrap()
}

/// A reader that counts what was taken from it.
struct Counted<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

fn config(dir: &Path, policy: Policy) -> HandlerConfig {
    HandlerConfig::new(dir.to_owned(), policy)
}

#[test]
fn a_kernel_core_on_stdin_is_stored_sparse_identical_and_private() {
    let work = tempfile::tempdir().unwrap();
    // 8 MiB of pattern data plus a reservation of untouched memory.
    let Some(kc) = kernel_core(
        &["--threads", "3", "--pattern-mib", "8", "--reserve-gib", "1"],
        work.path(),
    ) else {
        return;
    };
    let original = std::fs::read(&kc.path).unwrap();
    // A live process stands in for the crashed one's /proc entry.
    let live = Target::spawn(&["--threads", "1"]);
    let store_dir = work.path().join("store");
    let mut policy = Policy::default();
    policy.max_use = Some(1 << 30);
    policy.keep_free = Some(0);
    let cfg = config(&store_dir, policy);
    let out = handle_crash(
        &cfg,
        &facts(live.pid(), "target", 1_700_000_000),
        &mut std::fs::File::open(&kc.path).unwrap(),
        Path::new("/proc"),
    )
    .unwrap();
    let md = &out.metadata;
    assert_eq!(md.stored.core.as_deref(), Some("core"), "{:?}", md.stored);
    let core = out.entry.join("core");
    assert_eq!(
        std::fs::read(&core).unwrap(),
        original,
        "the stored core is the kernel's, byte for byte"
    );
    let meta = std::fs::metadata(&core).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(
        std::fs::metadata(out.entry.join("metadata.json"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(&out.entry).unwrap().permissions().mode() & 0o777,
        0o700
    );
    // Sparse: at most the kernel's own allocation plus a little (zero pages
    // the target wrote become holes here too).
    let kernel_alloc = std::fs::metadata(&kc.path).unwrap().blocks() * 512;
    assert!(
        meta.blocks() * 512 <= kernel_alloc + (1 << 20),
        "stored {} bytes on disk, the kernel's file {kernel_alloc}",
        meta.blocks() * 512
    );
    assert_eq!(md.stored.core_size, original.len() as u64);
    // The crashing (main) thread first, then its 3 workers.
    assert_eq!(md.core_threads.len(), 4, "{:?}", md.core_threads);
    assert_eq!(
        md.core_threads[0],
        kc.ready.pid(),
        "the crashing thread first"
    );
    assert!(
        md.exe.as_deref().is_some_and(|e| e.ends_with("target")),
        "{:?}",
        md.exe
    );
    assert!(!md.modules.is_empty());

    let store = Store::open(&store_dir, false).unwrap();
    let entries = store.entries().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(store.find(&live.pid().to_string()).unwrap().id, md.id);
    assert_eq!(entries[0].core_path().unwrap(), core);
}

#[test]
fn limits_and_the_rate_limit_keep_metadata_only_without_reading_the_core() {
    let work = tempfile::tempdir().unwrap();
    let store_dir = work.path().join("store");
    let live = Target::spawn(&["--threads", "1"]);
    let core = vec![7u8; 1 << 20];

    // --max-process-size: read up to the limit, nothing kept.
    let mut small = Policy::default();
    small.max_process_size = Some(64 << 10);
    small.keep_free = Some(0);
    let out = handle_crash(
        &config(&store_dir, small),
        &facts(live.pid(), "big", 100),
        &mut &core[..],
        Path::new("/proc"),
    )
    .unwrap();
    assert_eq!(out.metadata.stored.core, None);
    assert!(out
        .metadata
        .stored
        .skipped
        .as_deref()
        .unwrap()
        .contains("max-process-size"));
    assert_eq!(
        std::fs::read_dir(&out.entry).unwrap().count(),
        1,
        "metadata only"
    );

    // Rate limit 2 per 60 s: the third crash within the minute is not read.
    let mut policy = Policy::default();
    policy.rate_limit = Some(RateLimit {
        burst: 2,
        interval_seconds: 60,
    });
    policy.keep_free = Some(0);
    let cfg = config(&store_dir, policy);
    for (i, time) in [1000u64, 1010, 1020, 1100].into_iter().enumerate() {
        let mut input = Counted {
            inner: &core[..],
            read: 0,
        };
        let out = handle_crash(
            &cfg,
            &facts(live.pid(), "loop", time),
            &mut input,
            Path::new("/proc"),
        )
        .unwrap();
        let kept = out.metadata.stored.core.is_some();
        match i {
            0 | 1 | 3 => assert!(kept, "crash {i}: {:?}", out.metadata.stored),
            _ => {
                assert!(!kept);
                assert_eq!(input.read, 0, "a rate-limited core is not read");
                assert!(out
                    .metadata
                    .stored
                    .skipped
                    .as_deref()
                    .unwrap()
                    .contains("rate limit"));
            }
        }
    }
}

#[test]
fn hostile_names_stay_inside_the_store_and_cannot_forge_metadata() {
    let work = tempfile::tempdir().unwrap();
    let store_dir = work.path().join("store");
    let live = Target::spawn(&["--threads", "1"]);
    let mut policy = Policy::default();
    policy.keep_free = Some(0);
    let cfg = config(&store_dir, policy);
    for name in ["../../etc/x", "a\n\"pid\": 1,\nb", "..", ".hidden", "/"] {
        // No such thread: the name comes from the kernel's %e alone.
        let mut f = facts(live.pid(), name, 5000);
        f.tid = 0;
        let out = handle_crash(&cfg, &f, &mut &[1u8; 10][..], Path::new("/proc")).unwrap();
        assert_eq!(
            out.entry.parent().unwrap(),
            store_dir,
            "{name:?} stored at {}",
            out.entry.display()
        );
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.entry.join("metadata.json")).unwrap())
                .unwrap();
        assert_eq!(json["comm"], name, "the name is kept as data");
        assert_eq!(json["pid"], live.pid(), "not forged");
    }
    let store = Store::open(&store_dir, false).unwrap();
    assert_eq!(store.entries().unwrap().len(), 5);
    // Nothing was written outside the store.
    let outside: Vec<_> = std::fs::read_dir(work.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(outside, [OsString::from("store")]);
}

#[test]
fn an_unusable_store_is_refused() {
    let work = tempfile::tempdir().unwrap();
    let real = work.path().join("real");
    std::fs::create_dir(&real).unwrap();
    let link = work.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let live = Target::spawn(&["--threads", "1"]);
    let err = handle_crash(
        &config(&link, Policy::default()),
        &facts(live.pid(), "x", 1),
        &mut &[1u8][..],
        Path::new("/proc"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("symbolic link"), "{err}");
    assert_eq!(std::fs::read_dir(&real).unwrap().count(), 0);
}
