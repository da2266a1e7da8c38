//! The handler's log: the kernel log (`/dev/kmsg`, shown by `dmesg` and
//! journald), since a `core_pattern` handler has no terminal; stderr when
//! the kernel log cannot be opened. Every line is made printable first, so
//! a process name cannot forge log lines.

use std::io::Write;

use crate::names::printable;

/// Syslog severity `err`.
pub const ERR: u8 = 3;
/// Syslog severity `notice`.
pub const NOTICE: u8 = 5;

/// Log `message` at syslog `severity` (facility user).
pub fn log(severity: u8, message: &str) {
    // Facility LOG_USER (1 << 3) so it is not mistaken for a kernel message.
    let line = format!(
        "<{}>coroner-crash-handler[{}]: {}\n",
        8 + u32::from(severity.min(7)),
        std::process::id(),
        printable(message.as_bytes())
    );
    let written = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/kmsg")
        .and_then(|mut k| k.write_all(line.as_bytes()));
    if written.is_err() {
        let _ = std::io::stderr().write_all(line.as_bytes());
    }
}
