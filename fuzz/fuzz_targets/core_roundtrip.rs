//! parse → model → write → parse: whatever model the reader decodes from
//! arbitrary bytes, writing it must not panic, and once written the model
//! and the memory bytes must survive another write unchanged.
#![no_main]
use coroner_fuzz as _;

use coroner_core_format::write::{CoreWriter, StreamSink, WriteOptions};
use coroner_core_format::{parse, CoreModel};
use libfuzzer_sys::fuzz_target;

/// Keep writes small: the fuzzer's inputs may describe huge segments.
const MAX_FILE_DATA: u64 = 2 << 20;

fn rewrite(data: &[u8]) -> Option<(CoreModel, Vec<u8>)> {
    let core = parse(data).ok()?;
    let model = core.to_model().ok()?;
    let total = model.segments.iter().map(|s| s.filesz).fold(0u64, u64::saturating_add);
    if total > MAX_FILE_DATA {
        return None;
    }
    let mut memory = core.memory_map().ok()?;
    let mut sink = StreamSink::new(Vec::new());
    // A small buffer keeps executions fast and splits segments into many requests.
    let writer = CoreWriter::new(WriteOptions::default().with_buffer_size(64 << 10));
    writer.write(&model, &mut memory, &mut sink).ok()?;
    Some((model, sink.into_inner()))
}

fuzz_target!(|data: &[u8]| {
    let Some((_, once)) = rewrite(data) else { return };
    let core = parse(&once).expect("the writer's output parses");
    let model = core.to_model().expect("the writer's output decodes");
    let (model2, twice) = rewrite(&once).expect("the writer's output can be rewritten");
    assert_eq!(model, model2);
    let again = parse(&twice).expect("parses");
    assert_eq!(again.to_model().expect("decodes"), model);
    for (a, b) in core.segments().zip(again.segments()) {
        assert_eq!(a.data(), b.data(), "segment {:#x}", a.vaddr());
    }
});
