//! Acceptance 3: a kernel core parsed and written back with the writer is
//! read by gdb with the same backtraces, and by `eu-readelf -n` without
//! complaint (and eu-stack unwinds it the same way).

use std::fs::File;
use std::path::Path;
use std::process::Command;

use coroner_core_format::parse;
use coroner_core_format::write::SeekSink;
use coroner_test_support::{kernel_core, oracle, stdout_of, target_path, PARK_FUNCTIONS};

/// `thread apply all bt` of `core`: the thread headers and frame lines.
fn backtraces(gdb: &Path, core: &Path) -> Vec<String> {
    let mut cmd = Command::new(gdb);
    cmd.args([
        "-batch",
        "-nx",
        "-ex",
        "set pagination off",
        "-ex",
        "set print thread-events off",
        "-ex",
        "thread apply all bt",
    ])
    .arg(target_path())
    .arg(core);
    String::from_utf8_lossy(&stdout_of(cmd))
        .lines()
        .filter(|l| l.starts_with('#') || l.starts_with("Thread "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn rewritten_kernel_core_gives_gdb_the_same_backtraces() {
    let Some(gdb) = oracle("gdb") else {
        return;
    };
    let Some(readelf) = oracle("eu-readelf") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let Some(kc) = kernel_core(
        &["--threads", "8", "--pattern-mib", "8", "--reserve-gib", "1"],
        dir.path(),
    ) else {
        return;
    };
    let original = std::fs::read(&kc.path).unwrap();
    let core = parse(&original).unwrap();
    let model = core.to_model().unwrap();
    let mut memory = core.memory_map().unwrap();
    let rewritten_path = dir.path().join("core.rewritten");
    let mut sink = SeekSink::new(File::create(&rewritten_path).unwrap());
    let stats = model.write(&mut memory, &mut sink).unwrap();
    drop(sink);
    assert_eq!(
        std::fs::metadata(&rewritten_path).unwrap().len(),
        stats.file_size
    );

    // Same model, same memory bytes.
    let rewritten = std::fs::read(&rewritten_path).unwrap();
    let again = parse(&rewritten).unwrap();
    assert_eq!(again.to_model().unwrap(), model);
    for (a, b) in core.segments().zip(again.segments()) {
        assert_eq!(a.data(), b.data(), "segment at {:#x}", a.vaddr());
    }

    // gdb: identical thread list and frames, and they are the real ones.
    let before = backtraces(&gdb, &kc.path);
    let after = backtraces(&gdb, &rewritten_path);
    assert_eq!(before, after);
    let text = after.join("\n");
    assert_eq!(
        after.iter().filter(|l| l.starts_with("Thread ")).count(),
        9,
        "{text}"
    );
    assert!(text.contains("crash_here"), "{text}");
    for f in PARK_FUNCTIONS {
        assert!(text.contains(f), "{f} missing from\n{text}");
    }

    // eu-stack (elfutils' unwinder) agrees too.
    if let Some(eu_stack) = oracle("eu-stack") {
        let stacks = |path: &Path| {
            let out = Command::new(&eu_stack)
                .arg(format!("--core={}", path.display()))
                .arg("-e")
                .arg(target_path())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "eu-stack: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|l| l.starts_with("TID ") || l.starts_with('#'))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        let (a, b) = (stacks(&kc.path), stacks(&rewritten_path));
        assert_eq!(a, b);
        assert_eq!(b.iter().filter(|l| l.starts_with("TID ")).count(), 9);
        assert!(b.iter().any(|l| l.ends_with(" crash_here")), "{b:?}");
    }

    // eu-readelf reads every note of the rewritten core without complaint,
    // and sees the same notes as in the original.
    let notes = |path: &Path| {
        let out = Command::new(&readelf).arg("-n").arg(path).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success() && stderr.is_empty(),
            "eu-readelf -n {}: {stderr}",
            path.display()
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.contains(" at offset "))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let original_notes = notes(&kc.path);
    let rewritten_notes = notes(&rewritten_path);
    assert!(
        rewritten_notes
            .iter()
            .filter(|l| l.contains("PRSTATUS"))
            .count()
            == 9
    );
    assert_eq!(original_notes, rewritten_notes);
}

#[test]
fn rewritten_gcore_keeps_gdb_conventions_and_backtraces() {
    let Some(gdb) = oracle("gdb") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let target = coroner_test_support::Target::spawn(&[
        "--threads",
        "3",
        "--pattern-mib",
        "1",
        "--reserve-gib",
        "0",
    ]);
    let original_path = dir.path().join("core.gdb");
    let out = Command::new(&gdb)
        .args(["-batch", "-nx", "-p", &target.pid().to_string(), "-ex"])
        .arg(format!("gcore {}", original_path.display()))
        .output()
        .unwrap();
    assert!(
        original_path.is_file(),
        "gcore: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(target);

    let original = std::fs::read(&original_path).unwrap();
    let core = parse(&original).unwrap();
    let model = core.to_model().unwrap();
    assert_eq!(
        model.files.as_ref().unwrap().page_size,
        1,
        "gdb's NT_FILE convention"
    );
    let rewritten_path = dir.path().join("core.rewritten");
    let mut sink = SeekSink::new(File::create(&rewritten_path).unwrap());
    model
        .write(&mut core.memory_map().unwrap(), &mut sink)
        .unwrap();
    drop(sink);

    let rewritten = std::fs::read(&rewritten_path).unwrap();
    let again = parse(&rewritten).unwrap();
    assert_eq!(again.to_model().unwrap(), model);
    let files = again.file_note().unwrap().unwrap();
    assert_eq!(files.page_size(), 1);
    let a: Vec<_> = core
        .file_note()
        .unwrap()
        .unwrap()
        .entries()
        .map(|e| e.unwrap())
        .collect();
    let b: Vec<_> = files.entries().map(|e| e.unwrap()).collect();
    assert_eq!(a, b);

    let before = backtraces(&gdb, &original_path);
    let after = backtraces(&gdb, &rewritten_path);
    assert_eq!(before, after);
    assert_eq!(after.iter().filter(|l| l.starts_with("Thread ")).count(), 4);
    let text = after.join("\n");
    assert!(
        PARK_FUNCTIONS[..3].iter().all(|f| text.contains(f)),
        "{text}"
    );
}
