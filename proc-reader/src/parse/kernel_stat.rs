//! `/proc/stat`, the kernel's system-wide statistics: only `btime`, the boot
//! time, is read (a process's start time in its own `stat` counts clock
//! ticks from it).

use super::{lines, parse_u64, tokens, ParseError};

/// The boot time in seconds since the epoch (`btime` line).
///
/// ```
/// use coroner_proc_reader::parse::kernel_stat::parse_boot_time;
/// let text = b"cpu  1 2 3 4\nintr 5\nbtime 1764380000\nprocesses 99\n";
/// assert_eq!(parse_boot_time(text), Ok(1_764_380_000));
/// ```
pub fn parse_boot_time(data: &[u8]) -> Result<u64, ParseError> {
    for (line_no, line) in lines(data) {
        let mut fields = tokens(line);
        if fields.next() != Some(b"btime") {
            continue;
        }
        let value = fields.next().unwrap_or_default();
        return parse_u64(value, 10).ok_or_else(|| ParseError::bad_number(line_no, "btime", value));
    }
    Err(ParseError::MissingField {
        line: 0,
        field: "btime",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn btime_is_found_or_reported_missing() {
        assert_eq!(parse_boot_time(b"btime 5"), Ok(5));
        assert!(matches!(
            parse_boot_time(b"cpu 1\n"),
            Err(ParseError::MissingField { field: "btime", .. })
        ));
        assert!(matches!(
            parse_boot_time(b"btime x\n"),
            Err(ParseError::BadNumber { line: 1, .. })
        ));
        // A line that merely starts with the word is not it.
        assert!(parse_boot_time(b"btimex 5\n").is_err());
    }
}
