//! `/proc/meminfo`: the machine's memory figures, `Key:   123 kB` lines.

use super::lines;

/// The figures of `/proc/meminfo` coroner uses, in bytes; each `None` when
/// the line is absent or not a number (older kernels lack `MemAvailable`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemInfo {
    /// `MemTotal`.
    pub mem_total: Option<u64>,
    /// `MemAvailable`: the kernel's estimate of memory available for new
    /// allocations without swapping.
    pub mem_available: Option<u64>,
}

/// Parse `/proc/meminfo`. Lines that are not `Key: N kB` are skipped, so a
/// file from any kernel gives what it has.
///
/// ```
/// use coroner_proc_reader::parse::meminfo::parse_meminfo;
/// let m = parse_meminfo(b"MemTotal:  8 kB\nMemFree: 1 kB\nMemAvailable:    4 kB\n");
/// assert_eq!((m.mem_total, m.mem_available), (Some(8192), Some(4096)));
/// ```
pub fn parse_meminfo(data: &[u8]) -> MemInfo {
    let mut info = MemInfo::default();
    for (_, line) in lines(data) {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (key, rest) = line.split_at(colon);
        let slot = match key {
            b"MemTotal" => &mut info.mem_total,
            b"MemAvailable" => &mut info.mem_available,
            _ => continue,
        };
        *slot = kib_value(rest.get(1..).unwrap_or_default());
    }
    info
}

/// `   123 kB` in bytes.
fn kib_value(text: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(text).ok()?.trim();
    let kib: u64 = text.strip_suffix("kB")?.trim().parse().ok()?;
    kib.checked_mul(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_lines_are_skipped_and_absurd_values_are_none() {
        let m = parse_meminfo(b"junk\nMemTotal: 99999999999999999999 kB\nMemAvailable: 12 kB\n");
        assert_eq!(m.mem_total, None);
        assert_eq!(m.mem_available, Some(12 * 1024));
        assert_eq!(parse_meminfo(b""), MemInfo::default());
        assert_eq!(parse_meminfo(b"MemAvailable: 7\n").mem_available, None);
    }
}
