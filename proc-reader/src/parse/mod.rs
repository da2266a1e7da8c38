//! Pure parsers for the text (and binary) files under `/proc/<pid>/`, the
//! host's `/proc` files a dump records (`cpuinfo`, `stat`), and the
//! `siginfo_t` ptrace returns.
//!
//! Every parser takes the file's bytes and never touches a process, so each is
//! fuzzed on its own (`fuzz/fuzz_targets/proc_*.rs`). They never panic, never
//! loop without consuming input, and allocate at most in proportion to the
//! input.

pub mod auxv;
pub mod cgroup;
pub mod cgroup_files;
pub mod cmdline;
pub mod coredump_filter;
pub mod cpuinfo;
pub mod kernel_stat;
pub mod limits;
pub mod maps;
pub mod meminfo;
pub mod pagemap;
pub mod siginfo;
pub mod stat;
pub mod status;

/// Why a `/proc` file could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// A field every kernel writes is absent.
    #[error("line {line}: missing field `{field}`")]
    MissingField {
        /// 1-based line number (0 when the whole file is meant).
        line: usize,
        /// The field's name.
        field: &'static str,
    },
    /// A field is present but does not hold a number of the expected kind.
    #[error("line {line}: field `{field}` is not a valid number: {text:?}")]
    BadNumber {
        /// 1-based line number.
        line: usize,
        /// The field's name.
        field: &'static str,
        /// The offending text (at most 64 bytes of it, lossily decoded).
        text: String,
    },
    /// A line does not have the expected shape.
    #[error("line {line}: malformed: {what}")]
    Malformed {
        /// 1-based line number.
        line: usize,
        /// What was expected.
        what: &'static str,
    },
    /// A binary file's length is not a whole number of records.
    #[error("length {len} is not a multiple of the {unit}-byte record size")]
    BadLength {
        /// Bytes in the input.
        len: usize,
        /// Record size in bytes.
        unit: usize,
    },
}

impl ParseError {
    pub(crate) fn bad_number(line: usize, field: &'static str, text: &[u8]) -> ParseError {
        let shown = text.get(..64).unwrap_or(text);
        ParseError::BadNumber {
            line,
            field,
            text: String::from_utf8_lossy(shown).into_owned(),
        }
    }
}

/// Lines of `data` split on `\n` with 1-based numbers; a final empty line
/// (after the last `\n`) is not yielded.
pub(crate) fn lines(data: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let data = data.strip_suffix(b"\n").unwrap_or(data);
    let empty = data.is_empty();
    data.split(|&b| b == b'\n')
        .enumerate()
        .filter(move |_| !empty)
        .map(|(i, l)| (i.saturating_add(1), l))
}

/// `data` without leading and trailing ASCII whitespace.
pub(crate) fn trim(data: &[u8]) -> &[u8] {
    let start = data
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(data.len());
    let end = data
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |p| p.saturating_add(1));
    data.get(start..end).unwrap_or(&[])
}

/// Whitespace-separated tokens of `data`.
pub(crate) fn tokens(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    data.split(|b| b.is_ascii_whitespace())
        .filter(|t| !t.is_empty())
}

/// An unsigned number in `radix` (10 or 16), the whole of `text`.
pub(crate) fn parse_u64(text: &[u8], radix: u32) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    for &b in text {
        let digit = char::from(b).to_digit(radix)?;
        value = value
            .checked_mul(u64::from(radix))?
            .checked_add(u64::from(digit))?;
    }
    Some(value)
}

/// A signed decimal number, the whole of `text`.
pub(crate) fn parse_i64(text: &[u8]) -> Option<i64> {
    match text.split_first() {
        Some((b'-', rest)) => {
            let magnitude = parse_u64(rest, 10)?;
            0i64.checked_sub_unsigned(magnitude)
        }
        _ => i64::try_from(parse_u64(text, 10)?).ok(),
    }
}

/// A decimal number that must fit a `u32`.
pub(crate) fn parse_u32(text: &[u8]) -> Option<u32> {
    u32::try_from(parse_u64(text, 10)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_u64(b"123", 10), Some(123));
        assert_eq!(parse_u64(b"ff", 16), Some(255));
        assert_eq!(parse_u64(b"", 10), None);
        assert_eq!(parse_u64(b"18446744073709551616", 10), None);
        assert_eq!(parse_i64(b"-1"), Some(-1));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_u32(b"4294967296"), None);
    }

    #[test]
    fn line_splitting() {
        let got: Vec<_> = lines(b"a\nb\n").collect();
        assert_eq!(got, vec![(1, &b"a"[..]), (2, &b"b"[..])]);
        assert_eq!(lines(b"").count(), 0);
        assert_eq!(lines(b"\n").count(), 0);
        assert_eq!(trim(b"  x y \n"), b"x y");
        assert_eq!(trim(b"   "), b"");
    }
}
