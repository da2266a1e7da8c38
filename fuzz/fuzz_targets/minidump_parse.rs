//! Parse arbitrary bytes as a minidump and walk every stream and iterator;
//! when the input converts to a model with a small rewrite, check that
//! parse(write(parse(x))) == parse(x).
#![no_main]
use coroner_fuzz as _;

use coroner_minidump_format::write::{Layout, MemorySource};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(dump) = coroner_minidump_format::parse(data) else { return };
    for s in dump.streams() {
        let _ = s.map(|s| s.data.len());
    }
    if let Ok(Some(threads)) = dump.threads() {
        for t in threads.iter().flatten() {
            let _ = t.stack_bytes();
            let _ = t.context();
            let _ = t.to_model();
        }
    }
    if let Ok(Some(modules)) = dump.modules() {
        for m in modules.iter().flatten() {
            let _ = m.name();
            let _ = m.code_id();
            let _ = m.debug_id();
            let _ = m.misc_record();
        }
    }
    let mut addrs = Vec::new();
    if let Ok(Some(l)) = dump.memory_list() {
        addrs.extend(l.iter().flatten().map(|r| r.start));
    }
    if let Ok(Some(l)) = dump.memory64_list() {
        addrs.extend(l.iter().flatten().map(|r| r.start.wrapping_add(1)));
    }
    if let Ok(mut memory) = dump.memory() {
        let mut buf = [0u8; 64];
        for a in addrs.iter().take(64) {
            let _ = memory.read(*a, 8);
            let _ = memory.read_at(*a, &mut buf);
        }
    }
    if let Ok(Some(e)) = dump.exception() {
        let _ = e.to_model();
    }
    if let Ok(Some(s)) = dump.system_info() {
        let _ = s.to_model();
    }
    if let Ok(Some(m)) = dump.misc_info() {
        let _ = m.to_model();
    }
    if let Ok(Some(n)) = dump.thread_names() {
        for _ in n.iter() {}
    }
    if let Ok(Some(i)) = dump.memory_info() {
        for _ in i.iter() {}
    }
    if let Ok(Some(a)) = dump.linux_auxv() {
        for _ in a {}
    }
    if let Ok(Some(d)) = dump.linux_dso_debug() {
        for _ in d.link_maps() {}
    }
    let _ = dump.linux_cpu_info();
    let _ = dump.linux_maps();

    let Ok(model) = dump.to_model() else { return };
    let Ok(layout) = Layout::plan(&model) else { return };
    if layout.file_size() > 16 << 20 {
        return;
    }
    let Ok(mut memory) = dump.memory() else { return };
    let mut out = Vec::new();
    layout.write(&mut memory, &mut out).expect("rewriting a parsed dump");
    let again = coroner_minidump_format::parse(&out).expect("our own output parses");
    assert_eq!(again.to_model().expect("our own output converts"), model);
});
