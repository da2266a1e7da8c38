//! Dump file names from a template: `{name}`, `{pid}`, `{trigger}`,
//! `{time}` (UTC, `YYYYMMDDTHHMMSS.mmmZ`, so names sort by time) and
//! `{n}` (the dump's number in this watch).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The default template; the extension (`.core` or `.dmp`) is added by
/// the caller for the format.
pub const DEFAULT_TEMPLATE: &str = "{name}_{pid}_{trigger}_{time}";

/// What a name is made of.
#[derive(Debug, Clone, Copy)]
pub struct NameParts<'a> {
    /// The process's name (comm); characters other than letters, digits,
    /// `-`, `_` and `.` become `_`.
    pub name: &'a str,
    /// Its pid.
    pub pid: u32,
    /// The trigger's name.
    pub trigger: &'a str,
    /// When the dump was taken.
    pub time: SystemTime,
    /// The dump's number in this watch, from 1.
    pub n: u64,
}

/// Fill in `template`.
///
/// ```
/// use coroner_watch::naming::{render, NameParts};
/// use std::time::{Duration, UNIX_EPOCH};
/// let parts = NameParts { name: "my app", pid: 42, trigger: "cpu",
///     time: UNIX_EPOCH + Duration::from_millis(1_764_374_400_123), n: 1 };
/// assert_eq!(render("{name}_{pid}_{trigger}_{time}", &parts),
///            "my_app_42_cpu_20251129T000000.123Z");
/// ```
pub fn render(template: &str, parts: &NameParts<'_>) -> String {
    let clean: String = parts
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let clean = if clean.is_empty() || clean.chars().all(|c| c == '.') {
        "process".to_owned()
    } else {
        clean
    };
    template
        .replace("{name}", &clean)
        .replace("{pid}", &parts.pid.to_string())
        .replace("{trigger}", parts.trigger)
        .replace("{time}", &utc_stamp(parts.time))
        .replace("{n}", &parts.n.to_string())
}

/// `YYYYMMDDTHHMMSS.mmmZ` for `time` (UTC).
pub fn utc_stamp(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let secs = since.as_secs();
    let (days, rest) = (secs / 86400, secs % 86400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}.{:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        since.subsec_millis()
    )
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's
/// `civil_from_days`.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_sort_and_match_known_dates() {
        let at = |s: u64| utc_stamp(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "19700101T000000.000Z");
        assert_eq!(at(951_782_400), "20000229T000000.000Z");
        assert_eq!(at(4_102_444_799), "20991231T235959.000Z");
        assert!(at(1_000) < at(100_000));
    }

    #[test]
    fn odd_names_are_made_safe() {
        let parts = NameParts {
            name: "../x/y",
            pid: 1,
            trigger: "t",
            time: UNIX_EPOCH,
            n: 3,
        };
        assert_eq!(render("{name}-{n}", &parts), ".._x_y-3");
        let parts = NameParts {
            name: "..",
            ..parts
        };
        assert_eq!(render("{name}", &parts), "process");
    }
}
