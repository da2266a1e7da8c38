//! Streaming minidump writer.
//!
//! [`Layout::plan`] computes the whole file first: every stream, string and
//! CodeView record gets its offset, every 32-bit RVA is checked to lie below
//! 4 GiB (an impossible layout is a [`WriteError`], never a wrapped offset),
//! and memory goes last — MemoryList bytes, then the Memory64List bytes, which
//! may run far past 4 GiB because that list uses a 64-bit base. Then
//! [`Layout::write`] streams the file once over any [`io::Write`], pulling
//! memory through a [`MemorySource`] into one fixed buffer; nothing ever
//! holds a memory range whole.
//!
//! ```
//! use coroner_minidump_format::model::{MinidumpModel, MemoryRange, Exception, SystemInfo};
//! use coroner_minidump_format::write::{Layout, SliceSource};
//! let memory = vec![0xaau8; 8192];
//! let mut model = MinidumpModel::default();
//! model.system_info = Some(SystemInfo::linux_amd64(2, "Linux"));
//! model.exception = Some(Exception::dump_requested(1));
//! model.memory64_list.push(MemoryRange { start: 0x10000, size: 8192 });
//! let layout = Layout::plan(&model).unwrap();
//! let written = layout.write(&mut SliceSource::new(0x10000, &memory), std::io::sink()).unwrap();
//! assert_eq!(written, layout.file_size());
//! ```

mod encode;
mod exception;
mod layout;
mod linux;
mod memory;
mod memory_info;
mod misc_info;
mod module;
mod output;
mod source;
mod system_info;
mod thread;
mod thread_names;

pub use layout::Layout;
pub use source::{BytesAt, MemorySource, NoMemory, SliceSource};

use std::io;

use crate::error::WriteError;
use crate::model::MinidumpModel;

impl MinidumpModel {
    /// Plan the layout and stream the dump to `out`, pulling memory bytes
    /// from `source`. Returns the number of bytes written.
    ///
    /// ```
    /// use coroner_minidump_format::{model::MinidumpModel, write::NoMemory};
    /// let mut out = Vec::new();
    /// let n = MinidumpModel::default().write(&mut NoMemory, &mut out).unwrap();
    /// assert_eq!(n, out.len() as u64);
    /// assert_eq!(&out[..4], b"MDMP");
    /// ```
    pub fn write<S, W>(&self, source: &mut S, out: W) -> Result<u64, WriteError>
    where
        S: MemorySource + ?Sized,
        W: io::Write,
    {
        Layout::plan(self)?.write(source, out)
    }
}
