use super::{bytes_at, read_at, read_context, Stream};
use crate::error::ReadError;
use crate::model::{self, Context};
use crate::raw::MINIDUMP_EXCEPTION_STREAM;

/// The Exception stream.
///
/// ```
/// use coroner_minidump_format::{model::*, parse, write::NoMemory};
/// let model = MinidumpModel { exception: Some(Exception::dump_requested(42)), ..MinidumpModel::default() };
/// let mut file = Vec::new();
/// model.write(&mut NoMemory, &mut file).unwrap();
/// let dump = parse(&file).unwrap();
/// let e = dump.exception().unwrap().unwrap();
/// assert_eq!((e.thread_id(), e.code()), (42, 0xffff_ffff));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Exception<'a> {
    data: &'a [u8],
    /// The raw stream.
    pub raw: MINIDUMP_EXCEPTION_STREAM,
}

impl<'a> Exception<'a> {
    pub(crate) fn new(data: &'a [u8], stream: Stream<'a>) -> Result<Self, ReadError> {
        let raw = read_at(stream.data, "MINIDUMP_EXCEPTION_STREAM", 0)
            .map_err(|e| rebase(e, stream.offset()))?;
        Ok(Exception { data, raw })
    }

    /// The thread that raised it.
    pub fn thread_id(&self) -> u32 {
        self.raw.thread_id
    }

    /// The exception code (signal number, or `DUMP_REQUESTED`).
    pub fn code(&self) -> u32 {
        self.raw.exception_record.exception_code
    }

    /// The thread's context at the exception, if present.
    pub fn context(&self) -> Result<Option<Context>, ReadError> {
        let l = self.raw.thread_context;
        if l.data_size == 0 {
            return Ok(None);
        }
        let bytes = bytes_at(
            self.data,
            "exception context",
            l.rva.into(),
            l.data_size.into(),
        )?;
        read_context(bytes, l.rva.into()).map(Some)
    }

    /// The owned model.
    pub fn to_model(&self) -> Result<model::Exception, ReadError> {
        let r = &self.raw.exception_record;
        let n = usize::try_from(r.number_parameters).unwrap_or(usize::MAX);
        Ok(model::Exception {
            thread_id: self.raw.thread_id,
            code: r.exception_code,
            flags: r.exception_flags,
            record: r.exception_record,
            address: r.exception_address,
            parameters: r.exception_information.iter().take(n).copied().collect(),
            context: self.context()?,
        })
    }
}

/// Turn an error at a stream-relative offset into one at a file offset.
pub(crate) fn rebase(e: ReadError, base: u64) -> ReadError {
    match e {
        ReadError::OutOfBounds {
            what,
            offset,
            expected,
            actual,
        } => ReadError::OutOfBounds {
            what,
            offset: offset.saturating_add(base),
            expected,
            actual,
        },
        ReadError::Decode {
            what,
            offset,
            source,
        } => ReadError::Decode {
            what,
            offset: offset.saturating_add(base),
            source,
        },
        other => other,
    }
}
