//! Errors of the reader ([`ReadError`]) and of the writer ([`WriteError`]).

use std::io;

/// Why a core file (or a part of it) could not be read.
///
/// Iterators yield at most one error and then stop.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The file does not start with `\x7fELF`.
    #[error("not an ELF file (bad magic)")]
    BadMagic,
    /// The file is ELF but not a 64-bit little-endian one.
    #[error(
        "unsupported ELF class {class} / data encoding {data}: only ELF64 little-endian is read"
    )]
    UnsupportedFormat {
        /// `e_ident[EI_CLASS]`.
        class: u8,
        /// `e_ident[EI_DATA]`.
        data: u8,
    },
    /// `e_type` is not `ET_CORE`.
    #[error("not a core file: e_type is {e_type}, expected 4 (ET_CORE)")]
    NotCore {
        /// The `e_type` found.
        e_type: u16,
    },
    /// An entry size in the header is not the one ELF64 uses.
    #[error("bad {what} entry size {actual}, expected {expected}")]
    BadEntrySize {
        /// Which table.
        what: &'static str,
        /// Expected size.
        expected: u64,
        /// Size found.
        actual: u64,
    },
    /// A structure extends past the end of the file (or of its segment).
    #[error("{what} at offset {offset:#x} needs {needed} bytes, only {available} available (the file is cut short or corrupt: was it written or copied completely?)")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// File offset where it starts.
        offset: u64,
        /// Bytes it needs.
        needed: u64,
        /// Bytes that remain.
        available: u64,
    },
    /// A note descriptor has the wrong size for its type.
    #[error("note type {n_type:#x} at offset {offset:#x}: descriptor of {actual} bytes, expected {expected}")]
    BadDescSize {
        /// Note type.
        n_type: u32,
        /// File offset of the note header.
        offset: u64,
        /// Expected size (minimum).
        expected: u64,
        /// Size found.
        actual: u64,
    },
    /// A note's contents are inconsistent.
    #[error("malformed note type {n_type:#x} at offset {offset:#x}: {reason}")]
    BadNote {
        /// Note type.
        n_type: u32,
        /// File offset of the note header.
        offset: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// Registers of an architecture this crate does not decode.
    #[error("unsupported machine e_machine={e_machine}: registers are decoded for x86_64 (62) and aarch64 (183)")]
    UnsupportedMachine {
        /// `e_machine` of the file.
        e_machine: u16,
    },
    /// No segment maps this address.
    #[error("address {addr:#x} is not mapped in the core")]
    NotMapped {
        /// The virtual address.
        addr: u64,
    },
    /// The address is mapped but its bytes were not written to the file
    /// (`p_filesz` < `p_memsz`, or the file is truncated).
    #[error("address {addr:#x} is mapped but its contents are not in the core file")]
    NotInFile {
        /// The virtual address.
        addr: u64,
    },
}

/// Why a core file could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// Writing to (or seeking in) the sink failed.
    #[error("writing the core at file offset {offset:#x} failed")]
    Io {
        /// File offset the writer had reached.
        offset: u64,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The memory source returned an error (a short read would have been a hole).
    #[error("reading memory at {addr:#x} ({len} bytes) failed")]
    Memory {
        /// Address of the failed request.
        addr: u64,
        /// Length of the failed request.
        len: u64,
        /// The source's error.
        #[source]
        source: io::Error,
    },
    /// The model cannot be written as described.
    #[error("invalid core model: {what}: {reason}")]
    InvalidModel {
        /// Which part of the model (for example `segment 3`).
        what: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Offsets or sizes overflow 64 bits (or the address space).
    #[error("layout overflows: {what}")]
    Overflow {
        /// What overflowed.
        what: &'static str,
    },
    /// The memory source claimed to have read more bytes than asked for
    /// (a bug in the source).
    #[error("memory source returned {returned} bytes for a {requested}-byte read at {addr:#x}")]
    SourceOverread {
        /// Address being read.
        addr: u64,
        /// Bytes requested.
        requested: usize,
        /// Bytes it claimed.
        returned: usize,
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
            O::Backwards { .. } => WriteError::Overflow {
                what: "layout went backwards (internal error)",
            },
            // A new kind of failure in the shared writer: keep its message.
            other => WriteError::Io {
                offset: 0,
                source: std::io::Error::other(other.to_string()),
            },
        }
    }
}
