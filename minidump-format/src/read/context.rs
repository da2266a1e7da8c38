use scroll::{Pread, LE};

use crate::error::ReadError;
use crate::model::Context;
use crate::raw::{self, CONTEXT_AMD64, CONTEXT_ARM64};

const AMD64_SIZE: usize = 1232;
const ARM64_SIZE: usize = 912;
const AMD64_FLAGS_OFFSET: usize = 48;

/// Decode a thread context from its bytes (`offset` is only used in errors).
///
/// A 1232-byte context whose flags (at offset 48) contain `CONTEXT_AMD64` is
/// [`Context::Amd64`]; a 912-byte one with `CONTEXT_ARM64` in its first word
/// is [`Context::Arm64`]; anything else is [`Context::Other`].
///
/// ```
/// use coroner_minidump_format::{read::read_context, model::Context};
/// assert_eq!(read_context(&[1, 2, 3], 0).unwrap(), Context::Other(vec![1, 2, 3]));
/// ```
pub fn read_context(bytes: &[u8], offset: u64) -> Result<Context, ReadError> {
    let flags_at = |at: usize| -> u32 { bytes.pread_with::<u32>(at, LE).unwrap_or(0) };
    let decode = |what, source| ReadError::Decode {
        what,
        offset,
        source,
    };
    if bytes.len() == AMD64_SIZE && flags_at(AMD64_FLAGS_OFFSET) & 0xffff_ff00 == raw::CONTEXT_AMD64
    {
        let ctx: CONTEXT_AMD64 = bytes
            .pread_with(0, LE)
            .map_err(|e| decode("CONTEXT_AMD64", e))?;
        return Ok(Context::Amd64(Box::new(ctx)));
    }
    if bytes.len() == ARM64_SIZE && flags_at(0) & 0xffff_ff00 == raw::CONTEXT_ARM64 {
        let ctx: CONTEXT_ARM64 = bytes
            .pread_with(0, LE)
            .map_err(|e| decode("CONTEXT_ARM64", e))?;
        return Ok(Context::Arm64(Box::new(ctx)));
    }
    Ok(Context::Other(bytes.to_vec()))
}
