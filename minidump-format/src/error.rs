//! Errors of the reader ([`ReadError`]) and the writer ([`WriteError`]).

use std::io;

/// Why a minidump could not be read. Every variant says what was being read
/// and where; none of them is ever a panic.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The file does not start with "MDMP".
    #[error(
        "not a minidump: signature {actual:#010x} at offset 0, expected 0x504d444d (\"MDMP\")"
    )]
    BadSignature {
        /// The first four bytes as a little-endian u32.
        actual: u32,
    },
    /// The header's version is not 0xa793.
    #[error("unsupported minidump version {actual:#x} (low 16 bits must be 0xa793)")]
    BadVersion {
        /// The version field.
        actual: u32,
    },
    /// A structure or data block lies (partly) outside the file.
    #[error("{what} at offset {offset:#x} needs {expected} bytes but the file has {actual} there (the file is cut short or corrupt: was it written or copied completely?)")]
    OutOfBounds {
        /// What was being read.
        what: &'static str,
        /// File offset.
        offset: u64,
        /// Bytes needed.
        expected: u64,
        /// Bytes available at `offset`.
        actual: u64,
    },
    /// A count multiplied by its entry size exceeds what the stream holds.
    #[error("{what} count {count} at offset {offset:#x} needs more than the {available} bytes available")]
    BadCount {
        /// What was being counted.
        what: &'static str,
        /// The count read from the file.
        count: u64,
        /// File offset of the count.
        offset: u64,
        /// Bytes available for the entries.
        available: u64,
    },
    /// A field holds a value that cannot be right (an odd string length, a
    /// header smaller than its structure …).
    #[error("{what} at offset {offset:#x} is invalid: {value:#x}")]
    BadValue {
        /// What was being read.
        what: &'static str,
        /// File offset.
        offset: u64,
        /// The value found.
        value: u64,
    },
    /// A `MINIDUMP_STRING` is not valid UTF-16.
    #[error("string at offset {offset:#x} is not valid UTF-16")]
    BadUtf16 {
        /// File offset of the string.
        offset: u64,
    },
    /// scroll could not decode a structure.
    #[error("cannot decode {what} at offset {offset:#x}")]
    Decode {
        /// What was being read.
        what: &'static str,
        /// File offset.
        offset: u64,
        /// scroll's error.
        #[source]
        source: scroll::Error,
    },
}

/// Why a minidump could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// Writing to the output failed.
    #[error("cannot write the minidump at offset {offset:#x}")]
    Io {
        /// Output offset where the write failed.
        offset: u64,
        /// The output's error.
        #[source]
        source: io::Error,
    },
    /// The [`MemorySource`](crate::write::MemorySource) failed (not a short read:
    /// those are holes).
    #[error("reading memory at {addr:#x} ({len} bytes) for the dump failed")]
    Memory {
        /// Address of the failed request.
        addr: u64,
        /// Length of the failed request.
        len: u64,
        /// The source's error.
        #[source]
        source: io::Error,
    },
    /// The memory source claimed to have read more bytes than asked for.
    #[error("memory source returned {returned} bytes for a {requested}-byte read at {addr:#x}")]
    SourceOverread {
        /// Address being read.
        addr: u64,
        /// Bytes requested.
        requested: usize,
        /// Bytes it claimed.
        returned: usize,
    },
    /// Something that a 32-bit RVA must reach would lie at or beyond 4 GiB.
    /// Put large memory in the Memory64List (it is written last) and keep
    /// the MemoryList small.
    #[error("{what} would end at file offset {end:#x}, beyond the 4 GiB a 32-bit RVA can reach")]
    RvaOverflow {
        /// What would not fit.
        what: &'static str,
        /// Where it would end.
        end: u64,
    },
    /// A value does not fit the field the format gives it.
    #[error("{what} is {value}, more than the format's limit {limit}")]
    TooLarge {
        /// What is too large.
        what: &'static str,
        /// Its value.
        value: u64,
        /// The largest value the format can hold.
        limit: u64,
    },
    /// scroll could not encode a structure (a bug in this crate if it happens).
    #[error("cannot encode {what}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// scroll's error.
        #[source]
        source: scroll::Error,
    },
}

impl From<coroner_dump_source::OutputError> for WriteError {
    fn from(e: coroner_dump_source::OutputError) -> WriteError {
        use coroner_dump_source::OutputError as O;
        match e {
            O::Sink { offset, source } => WriteError::Io { offset, source },
            O::Memory { addr, len, source } => WriteError::Memory { addr, len, source },
            O::Overread {
                addr,
                requested,
                returned,
            } => WriteError::SourceOverread {
                addr,
                requested,
                returned,
            },
            // A layout that went backwards (a bug here), or a new kind of
            // failure in the shared writer: keep its message.
            other => WriteError::Io {
                offset: 0,
                source: io::Error::other(other.to_string()),
            },
        }
    }
}
