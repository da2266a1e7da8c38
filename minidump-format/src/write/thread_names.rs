//! The ThreadNames stream: a count and `MINIDUMP_THREAD_NAME` entries
//! pointing at the names' strings.

use super::encode::{count32, size_of};
use super::layout::{location, table_len, Planner};
use crate::error::WriteError;
use crate::model::ThreadName;
use crate::raw::{MINIDUMP_STREAM_TYPE as ST, MINIDUMP_THREAD_NAME};

impl Planner {
    /// The table is reserved first, the strings follow it.
    pub(super) fn plan_thread_names(&mut self, names: &[ThreadName]) -> Result<(), WriteError> {
        let m = &mut self.meta;
        m.align(8);
        let n = names.len();
        let off = m.put("ThreadNames count", count32("thread name count", n)?)?;
        let entry = size_of::<MINIDUMP_THREAD_NAME>();
        let len = table_len(n, entry);
        let table = m.reserve("ThreadNames", len)?;
        for (i, t) in names.iter().enumerate() {
            let name = m.string("thread name", &t.name)?;
            let raw = MINIDUMP_THREAD_NAME {
                thread_id: t.thread_id,
                rva_of_thread_name: name,
            };
            m.put_at(
                "MINIDUMP_THREAD_NAME",
                table.saturating_add(table_len(i, entry)),
                raw,
            )?;
        }
        let size = len.saturating_add(size_of::<u32>());
        self.add_stream(ST::THREAD_NAMES, location("ThreadNames", off, size)?);
        Ok(())
    }
}
