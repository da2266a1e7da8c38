//! A minidump written by the `minidump-writer` crate (Breakpad's format as
//! Sentry and Firefox write it) of the -O2, frame-pointer-less stack helper
//! unwinds to the same frames minidump-stackwalk finds in it.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use coroner_stack::{stacks_of_file, FrameSource, Options};
use coroner_test_support::{minidump_stackwalk, stack_target_path};

/// (module, offset of the pc in it, how it was found, names innermost
/// first) of each physical frame (tail-call frames are not on the stack); names only for the helper's own frames
/// (see examples/tests/stack.rs: minidump-stackwalk names libc's functions
/// by symbol-table aliases, we by DWARF).
type Walked = (Option<String>, u64, String, Vec<String>);

fn helper_name() -> String {
    stack_target_path()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned()
}

fn keep_names(module: &Option<String>, names: Vec<String>) -> Vec<String> {
    if module.as_deref() == Some(helper_name().as_str()) {
        // minidump-stackwalk drops one leading underscore of symbol names.
        names
            .into_iter()
            .map(|n| n.strip_prefix('_').map_or(n.clone(), str::to_owned))
            .collect()
    } else {
        Vec::new()
    }
}

#[test]
fn a_minidump_writer_dump_unwinds_like_minidump_stackwalk_does() {
    let mut child = Command::new(stack_target_path())
        .args(["--threads", "4"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("READY"), "{line:?}");
    // READY comes just before the last workers enter pause().
    std::thread::sleep(std::time::Duration::from_millis(200));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mdw.dmp");
    let mut file = std::fs::File::create(&path).unwrap();
    let pid = i32::try_from(child.id()).unwrap();
    let written =
        minidump_writer::minidump_writer::MinidumpWriterConfig::new(pid, pid).write(&mut file);
    let _ = child.kill();
    let _ = child.wait();
    written.expect("minidump-writer dumps the helper");
    drop(file);

    let stacks = stacks_of_file(&path, &Options::default()).unwrap();
    assert_eq!(stacks.threads.len(), 5);
    let mut ours: BTreeMap<u64, Vec<Walked>> = BTreeMap::new();
    for thread in &stacks.threads {
        let mut frames = Vec::new();
        let mut names = Vec::new();
        for f in &thread.frames {
            // Tail-call frames are rebuilt from DWARF call-site records,
            // not found on the stack: minidump-stackwalk has none.
            if f.source == FrameSource::TailCall {
                names.clear();
                continue;
            }
            names.push(f.function.clone().unwrap_or_else(|| "??".into()));
            if f.source == FrameSource::Inlined {
                continue;
            }
            let source = f.source.name().replace('-', "_");
            frames.push((
                f.module.clone(),
                f.module_offset.unwrap(),
                source,
                keep_names(&f.module, std::mem::take(&mut names)),
            ));
        }
        ours.insert(u64::from(thread.tid), frames);
    }
    let parked = stacks
        .threads
        .iter()
        .filter(|t| {
            t.frames
                .iter()
                .any(|f| f.function.as_deref() == Some("stack_park"))
        })
        .count();
    assert_eq!(parked, 4);

    let Some(json) = minidump_stackwalk(&path) else {
        return;
    };
    let mut theirs: BTreeMap<u64, Vec<Walked>> = BTreeMap::new();
    for t in json["threads"].as_array().unwrap() {
        let mut frames = Vec::new();
        for (i, f) in t["frames"].as_array().unwrap().iter().enumerate() {
            let mut names: Vec<String> = f["inlines"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|x| x["function"].as_str().unwrap().to_owned())
                .collect();
            names.push(f["function"].as_str().unwrap_or("??").to_owned());
            let module = f["module"].as_str().map(str::to_owned);
            let offset = u64::from_str_radix(
                f["module_offset"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("0x"),
                16,
            )
            .unwrap();
            // A caller frame is reported at its return address - 1.
            frames.push((
                module.clone(),
                offset + u64::from(i > 0),
                f["trust"].as_str().unwrap().to_owned(),
                keep_names(&module, names),
            ));
        }
        theirs.insert(t["thread_id"].as_u64().unwrap(), frames);
    }
    assert_eq!(ours, theirs, "ours (left), minidump-stackwalk's (right)");
}
