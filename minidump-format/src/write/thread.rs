//! The ThreadList stream: a count, the `MINIDUMP_THREAD` table, and each
//! thread's context; stacks are memory blocks placed later.

use super::encode::{context_bytes, count32, size_of, Patch};
use super::layout::{location, offset_usize, table_len, Planner};
use crate::error::WriteError;
use crate::model::Thread;
use crate::raw::{
    MINIDUMP_LOCATION_DESCRIPTOR, MINIDUMP_MEMORY_DESCRIPTOR, MINIDUMP_STREAM_TYPE as ST,
    MINIDUMP_THREAD,
};

/// Offset of `stack.memory.rva` in `MINIDUMP_THREAD`.
const THREAD_STACK_RVA: u64 = 36;

impl Planner {
    /// The table is reserved first and filled in as each thread's context
    /// is appended after it (16-aligned). A stack that is also in the
    /// MemoryList shares that block; any other becomes a block of its own.
    pub(super) fn plan_thread_list(&mut self, threads: &[Thread]) -> Result<(), WriteError> {
        self.meta.align(8);
        let off = self
            .meta
            .put("ThreadList count", count32("thread count", threads.len())?)?;
        let entry = size_of::<MINIDUMP_THREAD>();
        let len = table_len(threads.len(), entry);
        let table = self.meta.reserve("ThreadList", len)?;
        for (i, t) in threads.iter().enumerate() {
            let thread_context = match &t.context {
                Some(c) => {
                    self.meta.align(16);
                    self.meta.location("thread context", &context_bytes(c)?)?
                }
                None => MINIDUMP_LOCATION_DESCRIPTOR::default(),
            };
            let entry_off = table.saturating_add(table_len(i, entry));
            let mut stack = MINIDUMP_MEMORY_DESCRIPTOR::default();
            if let Some(range) = t.stack {
                stack.start_of_memory_range = range.start;
                stack.memory.data_size =
                    u32::try_from(range.size).map_err(|_| WriteError::TooLarge {
                        what: "thread stack size",
                        value: range.size,
                        limit: u32::MAX.into(),
                    })?;
                let block = match self.blocks.iter().position(|b| *b == range) {
                    Some(b) => b,
                    None => {
                        self.blocks.push(range);
                        self.blocks.len().saturating_sub(1)
                    }
                };
                let at = offset_usize("thread stack", entry_off.saturating_add(THREAD_STACK_RVA))?;
                self.meta.patches.push(Patch { at, block });
            }
            let raw = MINIDUMP_THREAD {
                thread_id: t.thread_id,
                suspend_count: t.suspend_count,
                priority_class: t.priority_class,
                priority: t.priority,
                teb: t.teb,
                stack,
                thread_context,
            };
            self.meta.put_at("MINIDUMP_THREAD", entry_off, raw)?;
        }
        let size = len.saturating_add(size_of::<u32>());
        self.add_stream(ST::THREAD_LIST, location("ThreadList", off, size)?);
        Ok(())
    }
}
