use super::{bytes_at, read_context, Stream, Table, TableIter};
use crate::error::ReadError;
use crate::model::{self, Context, MemoryRange};
use crate::raw::MINIDUMP_THREAD;

const THREAD_SIZE: u64 = 48;

/// The ThreadList stream.
///
/// ```
/// use coroner_minidump_format::{model::*, parse, write::NoMemory};
/// let ctx = Context::from_linux_x86_64(&UserRegsX86_64 { rip: 0x401000, ..Default::default() }, &[0; 512]);
/// let model = MinidumpModel { threads: vec![Thread { thread_id: 9, context: Some(ctx), ..Thread::default() }], ..MinidumpModel::default() };
/// let mut file = Vec::new();
/// model.write(&mut NoMemory, &mut file).unwrap();
/// let dump = parse(&file).unwrap();
/// let threads = dump.threads().unwrap().expect("a ThreadList");
/// assert_eq!(threads.len(), 1);
/// let t = threads.iter().next().unwrap().unwrap();
/// assert_eq!(t.context().unwrap().unwrap().instruction_pointer(), Some(0x401000));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ThreadList<'a> {
    data: &'a [u8],
    table: Table<'a, MINIDUMP_THREAD>,
}

impl<'a> ThreadList<'a> {
    pub(crate) fn new(data: &'a [u8], stream: Stream<'a>) -> Result<Self, ReadError> {
        let table = Table::counted(
            data,
            stream,
            "MINIDUMP_THREAD_LIST count",
            "MINIDUMP_THREAD",
            THREAD_SIZE,
        )?;
        Ok(ThreadList { data, table })
    }

    /// Number of threads.
    pub fn len(&self) -> u64 {
        self.table.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The threads, lazily; stops after the first error.
    pub fn iter(&self) -> ThreadIter<'a> {
        ThreadIter {
            data: self.data,
            inner: self.table.iter(),
        }
    }
}

/// Iterator over a [`ThreadList`].
#[derive(Debug, Clone)]
pub struct ThreadIter<'a> {
    data: &'a [u8],
    inner: TableIter<'a, MINIDUMP_THREAD>,
}

impl<'a> Iterator for ThreadIter<'a> {
    type Item = Result<Thread<'a>, ReadError>;
    fn next(&mut self) -> Option<Self::Item> {
        let data = self.data;
        self.inner.next().map(|r| r.map(|raw| Thread { data, raw }))
    }
}

/// One thread.
#[derive(Debug, Clone, Copy)]
pub struct Thread<'a> {
    data: &'a [u8],
    /// The raw entry.
    pub raw: MINIDUMP_THREAD,
}

impl<'a> Thread<'a> {
    /// Thread id.
    pub fn thread_id(&self) -> u32 {
        self.raw.thread_id
    }

    /// The stack's address range, or `None` when the descriptor is empty.
    pub fn stack_range(&self) -> Option<MemoryRange> {
        let d = self.raw.stack;
        (d.start_of_memory_range != 0 || d.memory.data_size != 0 || d.memory.rva != 0).then_some(
            MemoryRange {
                start: d.start_of_memory_range,
                size: d.memory.data_size.into(),
            },
        )
    }

    /// The stack bytes the thread's own descriptor points at.
    pub fn stack_bytes(&self) -> Result<&'a [u8], ReadError> {
        let m = self.raw.stack.memory;
        bytes_at(self.data, "thread stack", m.rva.into(), m.data_size.into())
    }

    /// The raw context bytes.
    pub fn context_bytes(&self) -> Result<&'a [u8], ReadError> {
        let l = self.raw.thread_context;
        bytes_at(
            self.data,
            "thread context",
            l.rva.into(),
            l.data_size.into(),
        )
    }

    /// The decoded context, or `None` when the thread has none.
    pub fn context(&self) -> Result<Option<Context>, ReadError> {
        let l = self.raw.thread_context;
        if l.data_size == 0 {
            return Ok(None);
        }
        read_context(self.context_bytes()?, l.rva.into()).map(Some)
    }

    /// The owned model of this thread.
    pub fn to_model(&self) -> Result<model::Thread, ReadError> {
        Ok(model::Thread {
            thread_id: self.raw.thread_id,
            suspend_count: self.raw.suspend_count,
            priority_class: self.raw.priority_class,
            priority: self.raw.priority,
            teb: self.raw.teb,
            stack: self.stack_range(),
            context: self.context()?,
        })
    }
}
