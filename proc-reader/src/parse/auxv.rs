//! `/proc/<pid>/auxv`: the ELF auxiliary vector, native-endian `u64` pairs.

use super::ParseError;

/// `AT_NULL`: the end of the vector.
pub const AT_NULL: u64 = 0;
/// `AT_PHDR`: address of the program headers.
pub const AT_PHDR: u64 = 3;
/// `AT_PHENT`: size of one program header.
pub const AT_PHENT: u64 = 4;
/// `AT_PHNUM`: number of program headers.
pub const AT_PHNUM: u64 = 5;
/// `AT_PAGESZ`: page size.
pub const AT_PAGESZ: u64 = 6;
/// `AT_BASE`: the interpreter's load address.
pub const AT_BASE: u64 = 7;
/// `AT_ENTRY`: the program's entry point.
pub const AT_ENTRY: u64 = 9;
/// `AT_HWCAP`: CPU capability bits.
pub const AT_HWCAP: u64 = 16;
/// `AT_RANDOM`: address of 16 random bytes.
pub const AT_RANDOM: u64 = 25;
/// `AT_EXECFN`: address of the executed file name.
pub const AT_EXECFN: u64 = 31;
/// `AT_SYSINFO_EHDR`: address of the vDSO.
pub const AT_SYSINFO_EHDR: u64 = 33;

/// One auxiliary vector entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuxvEntry {
    /// `AT_*` type.
    pub key: u64,
    /// Its value.
    pub value: u64,
}

/// Size of one entry in bytes.
pub const ENTRY_SIZE: usize = 16;

/// The entries of an `auxv` file up to (not including) `AT_NULL`. Input
/// after `AT_NULL` is ignored; input without `AT_NULL` must be whole entries.
///
/// ```
/// use coroner_proc_reader::parse::auxv::{parse_auxv, AT_PAGESZ};
/// let mut raw = Vec::new();
/// for v in [AT_PAGESZ, 4096, 0, 0] {
///     raw.extend_from_slice(&v.to_ne_bytes());
/// }
/// let v = parse_auxv(&raw).unwrap();
/// assert_eq!((v.len(), v[0].key, v[0].value), (1, AT_PAGESZ, 4096));
/// ```
pub fn parse_auxv(data: &[u8]) -> Result<Vec<AuxvEntry>, ParseError> {
    let mut out = Vec::with_capacity(data.len() / ENTRY_SIZE);
    let mut chunks = data.chunks_exact(ENTRY_SIZE);
    for chunk in &mut chunks {
        let (k, v) = chunk.split_at(8);
        let key = u64::from_ne_bytes(k.try_into().map_err(|_| ParseError::BadLength {
            len: data.len(),
            unit: ENTRY_SIZE,
        })?);
        let value = u64::from_ne_bytes(v.try_into().map_err(|_| ParseError::BadLength {
            len: data.len(),
            unit: ENTRY_SIZE,
        })?);
        if key == AT_NULL {
            return Ok(out);
        }
        out.push(AuxvEntry { key, value });
    }
    if chunks.remainder().is_empty() {
        Ok(out)
    } else {
        Err(ParseError::BadLength {
            len: data.len(),
            unit: ENTRY_SIZE,
        })
    }
}

/// The value of the first entry with `key`.
pub fn auxv_value(entries: &[AuxvEntry], key: u64) -> Option<u64> {
    entries.iter().find(|e| e.key == key).map(|e| e.value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths() {
        assert_eq!(parse_auxv(b""), Ok(vec![]));
        assert_eq!(
            parse_auxv(&[1u8; 17]),
            Err(ParseError::BadLength { len: 17, unit: 16 })
        );
        let mut raw = [0u8; 40];
        raw[0] = 6;
        raw[8] = 1;
        // AT_NULL at 16, junk after it is ignored.
        raw[32] = 0xff;
        assert_eq!(parse_auxv(&raw), Ok(vec![AuxvEntry { key: 6, value: 1 }]));
        assert_eq!(auxv_value(&parse_auxv(&raw).unwrap(), AT_PAGESZ), Some(1));
    }
}
