//! The metadata buffer: headers, streams, strings and records, all of which
//! are small (proportional to the model, never to memory).

use scroll::ctx::{SizeWith, TryIntoCtx};
use scroll::{Endian, Pwrite, LE};

use crate::error::WriteError;
use crate::model::{CodeView, Context};
use crate::raw::{self, MINIDUMP_LOCATION_DESCRIPTOR, RVA};

/// Largest offset a 32-bit RVA can express (the data must also end by 4 GiB).
pub(crate) const RVA_LIMIT: u64 = 1 << 32;

/// A pending RVA that points into memory data placed after the metadata.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Patch {
    /// Metadata offset of the u32 RVA field.
    pub at: usize,
    /// Index of the memory block it points to.
    pub block: usize,
}

#[derive(Debug, Default)]
pub(crate) struct Meta {
    pub buf: Vec<u8>,
    pub patches: Vec<Patch>,
}

fn encode_err(what: &'static str) -> impl Fn(scroll::Error) -> WriteError {
    move |e| WriteError::Encode { what, source: e }
}

impl Meta {
    pub fn here(&self) -> u64 {
        u64::try_from(self.buf.len()).unwrap_or(u64::MAX)
    }

    /// Pad with zeros to a multiple of `align`.
    pub fn align(&mut self, align: usize) {
        let rem = self.buf.len().checked_rem(align).unwrap_or(0);
        if rem != 0 {
            let pad = align.saturating_sub(rem);
            self.buf.resize(self.buf.len().saturating_add(pad), 0);
        }
    }

    /// Append `len` zero bytes and return their offset.
    pub fn reserve(&mut self, what: &'static str, len: u64) -> Result<u64, WriteError> {
        let off = self.here();
        let new_len = off.checked_add(len).filter(|end| *end <= RVA_LIMIT).ok_or(
            WriteError::RvaOverflow {
                what,
                end: off.saturating_add(len),
            },
        )?;
        let new_len =
            usize::try_from(new_len).map_err(|_| WriteError::RvaOverflow { what, end: new_len })?;
        self.buf.resize(new_len, 0);
        Ok(off)
    }

    /// Append a structure and return its offset.
    pub fn put<T>(&mut self, what: &'static str, value: T) -> Result<u64, WriteError>
    where
        T: TryIntoCtx<Endian, Error = scroll::Error> + SizeWith<Endian>,
    {
        let size = u64::try_from(T::size_with(&LE)).unwrap_or(u64::MAX);
        let off = self.reserve(what, size)?;
        self.put_at(what, off, value)?;
        Ok(off)
    }

    /// Overwrite a structure at `offset` (already reserved).
    pub fn put_at<T>(&mut self, what: &'static str, offset: u64, value: T) -> Result<(), WriteError>
    where
        T: TryIntoCtx<Endian, Error = scroll::Error> + SizeWith<Endian>,
    {
        let at =
            usize::try_from(offset).map_err(|_| WriteError::RvaOverflow { what, end: offset })?;
        self.buf
            .as_mut_slice()
            .pwrite_with(value, at, LE)
            .map_err(encode_err(what))?;
        Ok(())
    }

    /// Append raw bytes and return their offset.
    pub fn bytes(&mut self, what: &'static str, bytes: &[u8]) -> Result<u64, WriteError> {
        let off = self.reserve(what, u64::try_from(bytes.len()).unwrap_or(u64::MAX))?;
        let at = usize::try_from(off).map_err(|_| WriteError::RvaOverflow { what, end: off })?;
        if let Some(dst) = self.buf.get_mut(at..) {
            for (d, s) in dst.iter_mut().zip(bytes) {
                *d = *s;
            }
        }
        Ok(off)
    }

    /// Append bytes (4-aligned) and return their location descriptor.
    pub fn location(
        &mut self,
        what: &'static str,
        bytes: &[u8],
    ) -> Result<MINIDUMP_LOCATION_DESCRIPTOR, WriteError> {
        self.align(4);
        let off = self.bytes(what, bytes)?;
        Ok(MINIDUMP_LOCATION_DESCRIPTOR {
            data_size: size32(what, bytes.len())?,
            rva: rva(what, off)?,
        })
    }

    /// Append a `MINIDUMP_STRING` (u32 byte length, UTF-16LE, NUL) and return its RVA.
    pub fn string(&mut self, what: &'static str, s: &str) -> Result<u64, WriteError> {
        self.align(4);
        let units: Vec<u16> = s.encode_utf16().collect();
        let len = size32(what, units.len().saturating_mul(2))?;
        let off = self.put(what, len)?;
        for unit in units.into_iter().chain(std::iter::once(0)) {
            self.put(what, unit)?;
        }
        Ok(off)
    }
}

/// The encoded size of a raw structure, as the writer lays it out.
pub(crate) fn size_of<T: SizeWith<Endian>>() -> u64 {
    u64::try_from(T::size_with(&LE)).unwrap_or(u64::MAX)
}

/// `offset` as a 32-bit RVA.
pub(crate) fn rva(what: &'static str, offset: u64) -> Result<RVA, WriteError> {
    RVA::try_from(offset).map_err(|_| WriteError::RvaOverflow { what, end: offset })
}

/// A length as a u32 size field.
pub(crate) fn size32(what: &'static str, len: usize) -> Result<u32, WriteError> {
    let len = u64::try_from(len).unwrap_or(u64::MAX);
    u32::try_from(len).map_err(|_| WriteError::TooLarge {
        what,
        value: len,
        limit: u32::MAX.into(),
    })
}

/// A count as a u32 count field.
pub(crate) fn count32(what: &'static str, count: usize) -> Result<u32, WriteError> {
    size32(what, count)
}

/// The bytes of a thread context.
pub(crate) fn context_bytes(context: &Context) -> Result<Vec<u8>, WriteError> {
    match context {
        Context::Amd64(c) => encode_struct("CONTEXT_AMD64", **c),
        Context::Arm64(c) => encode_struct("CONTEXT_ARM64", **c),
        Context::Other(b) => Ok(b.clone()),
    }
}

fn encode_struct<T>(what: &'static str, value: T) -> Result<Vec<u8>, WriteError>
where
    T: TryIntoCtx<Endian, Error = scroll::Error> + SizeWith<Endian>,
{
    let mut v = vec![0u8; T::size_with(&LE)];
    v.as_mut_slice()
        .pwrite_with(value, 0, LE)
        .map_err(encode_err(what))?;
    Ok(v)
}

/// The bytes of a CodeView record.
pub(crate) fn code_view_bytes(cv: &CodeView) -> Vec<u8> {
    match cv {
        CodeView::Elf { build_id } => {
            let mut v = raw::CV_SIGNATURE_ELF.to_le_bytes().to_vec();
            v.extend_from_slice(build_id);
            v
        }
        CodeView::Pdb70 {
            guid,
            age,
            file_name,
        } => {
            let mut v = raw::CV_SIGNATURE_PDB70.to_le_bytes().to_vec();
            v.extend_from_slice(guid);
            v.extend_from_slice(&age.to_le_bytes());
            v.extend_from_slice(file_name);
            v.push(0);
            v
        }
        CodeView::Other(b) => b.clone(),
    }
}
