//! Raw frames to named ones: the module and offset, the DWARF function with
//! the functions inlined at that point (each a frame of its own, innermost
//! first, as debuggers show them) and file:line, else the symbol table.

use std::path::Path;

use crate::demangle::demangle;
use crate::modules::Modules;
use crate::report::{Frame, FrameSource};
use crate::unwind::RawFrame;

/// The named frames of one raw frame (several when functions were inlined).
pub(crate) fn symbolize(raw: &RawFrame, modules: &mut Modules) -> Vec<Frame> {
    let lookup = if raw.exact {
        raw.pc
    } else {
        raw.pc.saturating_sub(1)
    };
    let mut frame = Frame {
        pc: raw.pc,
        sp: raw.sp,
        source: raw.source,
        module: None,
        module_offset: None,
        function: None,
        function_offset: None,
        file: None,
        line: None,
    };
    let Some(index) = modules.find(lookup) else {
        return vec![frame];
    };
    if let Some(spec) = modules.spec(index) {
        frame.module = Some(file_name(&spec.path));
        frame.module_offset = raw.pc.checked_sub(spec.base);
    }
    let Some((image, bias)) = modules.image(index) else {
        return vec![frame];
    };
    let svma = lookup.wrapping_sub(bias);
    let symbol = image.symbol(svma);
    if let Some((symbol, offset)) = symbol {
        frame.function = Some(demangle(&symbol.name));
        // The offset of the pc itself, as debuggers print `name+offset`.
        frame.function_offset = Some(offset.saturating_add(raw.pc.saturating_sub(lookup)));
    }
    let Some(dwarf) = &image.dwarf else {
        return vec![frame];
    };
    let mut out: Vec<Frame> = Vec::new();
    if let Ok(mut frames) = dwarf.find_frames(svma).skip_all_loads() {
        while let Ok(Some(found)) = frames.next() {
            let mut f = frame.clone();
            let raw_name = found.function.as_ref().and_then(|n| n.raw_name().ok());
            if let Some(raw_name) = raw_name {
                let name = demangle(&raw_name);
                // The symbol offset belongs to the outermost (real) function.
                if f.function.as_deref() != Some(name.as_str()) {
                    f.function_offset = None;
                }
                f.function = Some(name);
            }
            if let Some(location) = &found.location {
                f.file = location.file.map(str::to_owned);
                f.line = location.line;
            }
            out.push(f);
        }
    }
    if out.is_empty() {
        return vec![frame];
    }
    // Every frame but the outermost is inlined into the next one.
    let last = out.len().saturating_sub(1);
    for (i, f) in out.iter_mut().enumerate() {
        if i < last {
            f.source = FrameSource::Inlined;
            f.function_offset = None;
        }
    }
    if let Some(outer) = out.last_mut() {
        outer.source = raw.source;
    }
    out
}

/// The last component of a path.
fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map_or_else(|| path.to_owned(), |n| n.to_string_lossy().into_owned())
}
