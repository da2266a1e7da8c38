//! The handler's log: the kernel log (`/dev/kmsg`, shown by `dmesg` and
//! journald), since a `core_pattern` handler has no terminal; stderr when
//! the kernel log cannot be opened. Every line is made printable first, so
//! a process name cannot forge log lines.
//!
//! The kernel refuses a write to `/dev/kmsg` longer than one record
//! (1024 bytes with its `<N>` prefix on Linux 6.18, measured; 992 on older
//! kernels) with `EINVAL`, and by default lets each opener write at most
//! 10 records per 5 seconds (`printk.devkmsg=ratelimit`). So a long
//! message is split into numbered records of at most [`MAX_RECORD`] bytes,
//! at most [`MAX_RECORDS`] of them, all written through one open file.

use std::io::Write;

use crate::names::printable;

/// Syslog severity `err`.
pub const ERR: u8 = 3;
/// Syslog severity `notice`.
pub const NOTICE: u8 = 5;

/// Most bytes of one record, prefix and newline included: below every
/// kernel's limit.
pub const MAX_RECORD: usize = 960;
/// Most records one message becomes; the rest is cut (a crash loop must
/// not flood the kernel's ring buffer, and the rate limit would drop more).
pub const MAX_RECORDS: usize = 8;
/// What ends a message cut at [`MAX_RECORDS`].
const CUT: &str = " [cut]";

/// Log `message` at syslog `severity` (facility user).
pub fn log(severity: u8, message: &str) {
    let lines = records(severity, std::process::id(), message);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/kmsg")
        .and_then(|mut kmsg| {
            // One write per record: each write(2) is one record.
            lines.iter().try_for_each(|l| kmsg.write_all(l.as_bytes()))
        });
    if written.is_err() {
        let mut err = std::io::stderr().lock();
        for line in &lines {
            let _ = err.write_all(line.as_bytes());
        }
    }
}

/// The kernel-log records of `message`: `<PRI>coroner-crash-handler[PID]:
/// TEXT\n`, the text made printable; split into parts numbered `(i/n)`
/// when it does not fit one record, at most [`MAX_RECORDS`], each at most
/// [`MAX_RECORD`] bytes.
pub fn records(severity: u8, pid: u32, message: &str) -> Vec<String> {
    // Facility LOG_USER (1 << 3) so it is not mistaken for a kernel message.
    let head = format!(
        "<{}>coroner-crash-handler[{pid}]: ",
        8 + u32::from(severity.min(7))
    );
    let text = printable(message.as_bytes());
    // Room for the text of one record: the head, a part number such as
    // "(8/8) ", the cut mark and the newline.
    let room = MAX_RECORD.saturating_sub(head.len() + "(88/88) ".len() + CUT.len() + 1);
    if head.len() + text.len() < MAX_RECORD {
        return vec![format!("{head}{text}\n")];
    }
    let mut parts = Vec::new();
    let mut rest = text.as_str();
    while !rest.is_empty() && parts.len() < MAX_RECORDS {
        let mut end = room.min(rest.len());
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (part, tail) = rest.split_at(end);
        parts.push(part);
        rest = tail;
    }
    let cut = !rest.is_empty();
    let n = parts.len();
    parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            let mark = if cut && i + 1 == n { CUT } else { "" };
            format!("{head}({}/{n}) {part}{mark}\n", i + 1)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_message_is_one_record() {
        assert_eq!(
            records(NOTICE, 7, "pid 1 (x\ny) died"),
            ["<13>coroner-crash-handler[7]: pid 1 (x\\ny) died\n"]
        );
    }

    #[test]
    fn a_long_message_is_split_into_numbered_records_that_fit_and_is_cut() {
        // Multi-byte characters so a split can fall inside one.
        let message: String = (0..3000)
            .map(|i| if i % 7 == 0 { 'é' } else { 'a' })
            .collect();
        let lines = records(ERR, 4242, &message);
        assert!(lines.len() > 1);
        let mut joined = String::new();
        for (i, line) in lines.iter().enumerate() {
            assert!(line.len() <= MAX_RECORD, "{} bytes", line.len());
            let prefix = format!(
                "<11>coroner-crash-handler[4242]: ({}/{}) ",
                i + 1,
                lines.len()
            );
            let body = line
                .strip_prefix(&prefix)
                .unwrap_or_else(|| panic!("{line}"));
            joined.push_str(body.strip_suffix('\n').unwrap());
        }
        assert_eq!(joined, message);

        let huge = "x".repeat(MAX_RECORD * (MAX_RECORDS + 2));
        let lines = records(ERR, 1, &huge);
        assert_eq!(lines.len(), MAX_RECORDS);
        assert!(lines.iter().all(|l| l.len() <= MAX_RECORD));
        assert!(lines.last().unwrap().ends_with(" [cut]\n"));
        assert!(!lines[0].contains("[cut]"));
    }
}
