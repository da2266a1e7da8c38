//! The files of a cgroup directory that tell how close its processes are to
//! the memory limit: cgroup v2's `memory.current`, `memory.max`,
//! `memory.high`, `memory.events` and `memory.pressure` (PSI); cgroup v1's
//! `memory.usage_in_bytes`, `memory.limit_in_bytes` and `memory.oom_control`;
//! and the `cgroup.procs` pid list of either.

use super::{lines, parse_u32, parse_u64, tokens, trim, ParseError};

/// cgroup v1 writes "no limit" as the largest page-aligned counter
/// (`PAGE_COUNTER_MAX` pages, 0x7FFF_FFFF_FFFF_F000 with 4 KiB pages);
/// anything at or above 2^62 bytes is read as unlimited.
const V1_UNLIMITED: u64 = 1 << 62;

/// One number of a cgroup file: `Ok(None)` for `max` (cgroup v2's "no
/// limit") and for cgroup v1's huge "unlimited" value.
///
/// ```
/// use coroner_proc_reader::parse::cgroup_files::parse_cgroup_value;
/// assert_eq!(parse_cgroup_value(b"104857600\n").unwrap(), Some(100 << 20));
/// assert_eq!(parse_cgroup_value(b"max\n").unwrap(), None);
/// assert_eq!(parse_cgroup_value(b"9223372036854771712\n").unwrap(), None);
/// ```
pub fn parse_cgroup_value(data: &[u8]) -> Result<Option<u64>, ParseError> {
    let text = trim(data);
    if text == b"max" {
        return Ok(None);
    }
    let value = parse_u64(text, 10).ok_or_else(|| ParseError::bad_number(1, "value", text))?;
    Ok((value < V1_UNLIMITED).then_some(value))
}

/// `memory.events` (v2) or the counters of `memory.oom_control` (v1): how
/// often the cgroup hit each boundary. Counters a kernel does not write
/// stay 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemoryEvents {
    /// Reclaim below `memory.low` (v2 `low`).
    pub low: u64,
    /// Throttled over `memory.high` (v2 `high`).
    pub high: u64,
    /// Allocation hit `memory.max` (v2 `max`).
    pub max: u64,
    /// The OOM killer was invoked (v2 `oom`; v1 `under_oom` counts as 1 while it lasts).
    pub oom: u64,
    /// Processes the OOM killer killed (`oom_kill`, both versions).
    pub oom_kill: u64,
}

/// Parse `memory.events` or `memory.oom_control`: `key value` lines;
/// unknown keys are skipped.
///
/// ```
/// use coroner_proc_reader::parse::cgroup_files::parse_memory_events;
/// let e = parse_memory_events(b"low 0\nhigh 7\nmax 2\noom 1\noom_kill 1\noom_group_kill 0\n").unwrap();
/// assert_eq!((e.high, e.max, e.oom, e.oom_kill), (7, 2, 1, 1));
/// ```
pub fn parse_memory_events(data: &[u8]) -> Result<MemoryEvents, ParseError> {
    let mut events = MemoryEvents::default();
    for (line, text) in lines(data) {
        let mut parts = tokens(text);
        let (Some(key), Some(value)) = (parts.next(), parts.next()) else {
            return Err(ParseError::Malformed {
                line,
                what: "expected `key value`",
            });
        };
        let slot = match key {
            b"low" => &mut events.low,
            b"high" => &mut events.high,
            b"max" => &mut events.max,
            b"oom" | b"under_oom" => &mut events.oom,
            b"oom_kill" => &mut events.oom_kill,
            _ => continue,
        };
        *slot = parse_u64(value, 10).ok_or_else(|| ParseError::bad_number(line, "count", value))?;
    }
    Ok(events)
}

/// One line of a PSI file: the share of wall time some (or all) tasks were
/// stalled waiting for memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PressureLine {
    /// Average over the last 10 s, in hundredths of a percent (`12.34` → 1234).
    pub avg10: u32,
    /// Average over the last 60 s, hundredths of a percent.
    pub avg60: u32,
    /// Average over the last 300 s, hundredths of a percent.
    pub avg300: u32,
    /// Total stall time in microseconds.
    pub total_us: u64,
}

/// `memory.pressure` (PSI): the `some` and `full` lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pressure {
    /// Some task was stalled.
    pub some: PressureLine,
    /// Every non-idle task was stalled at once (absent on old kernels).
    pub full: Option<PressureLine>,
}

/// Parse a PSI file (`some avg10=0.00 avg60=0.00 avg300=0.00 total=0`).
///
/// ```
/// use coroner_proc_reader::parse::cgroup_files::parse_pressure;
/// let p = parse_pressure(b"some avg10=1.50 avg60=0.20 avg300=0.00 total=1234\n\
/// full avg10=0.75 avg60=0.10 avg300=0.00 total=99\n").unwrap();
/// assert_eq!((p.some.avg10, p.some.total_us), (150, 1234));
/// assert_eq!(p.full.unwrap().avg10, 75);
/// ```
pub fn parse_pressure(data: &[u8]) -> Result<Pressure, ParseError> {
    let mut pressure = Pressure::default();
    let mut saw_some = false;
    for (line, text) in lines(data) {
        let mut parts = tokens(text);
        let kind = parts.next();
        let mut parsed = PressureLine::default();
        for field in parts {
            let Some(eq) = field.iter().position(|&b| b == b'=') else {
                return Err(ParseError::Malformed {
                    line,
                    what: "expected key=value",
                });
            };
            let (key, value) = (
                field.get(..eq).unwrap_or_default(),
                field.get(eq.saturating_add(1)..).unwrap_or_default(),
            );
            match key {
                b"avg10" => parsed.avg10 = hundredths(line, value)?,
                b"avg60" => parsed.avg60 = hundredths(line, value)?,
                b"avg300" => parsed.avg300 = hundredths(line, value)?,
                b"total" => {
                    parsed.total_us = parse_u64(value, 10)
                        .ok_or_else(|| ParseError::bad_number(line, "total", value))?;
                }
                _ => {}
            }
        }
        match kind {
            Some(b"some") => {
                pressure.some = parsed;
                saw_some = true;
            }
            Some(b"full") => pressure.full = Some(parsed),
            _ => {
                return Err(ParseError::Malformed {
                    line,
                    what: "expected a `some` or `full` line",
                })
            }
        }
    }
    if !saw_some {
        return Err(ParseError::MissingField {
            line: 0,
            field: "some",
        });
    }
    Ok(pressure)
}

/// `12.34` as 1234: PSI prints two decimals.
fn hundredths(line: usize, text: &[u8]) -> Result<u32, ParseError> {
    let bad = || ParseError::bad_number(line, "avg", text);
    let (whole, frac) = match text.iter().position(|&b| b == b'.') {
        Some(dot) => (
            text.get(..dot).unwrap_or_default(),
            text.get(dot.saturating_add(1)..).unwrap_or_default(),
        ),
        None => (text, &b""[..]),
    };
    let whole = parse_u32(whole).ok_or_else(bad)?;
    let frac_value = match frac.len() {
        0 => 0,
        1 => parse_u32(frac)
            .ok_or_else(bad)?
            .checked_mul(10)
            .ok_or_else(bad)?,
        2 => parse_u32(frac).ok_or_else(bad)?,
        _ => return Err(bad()),
    };
    whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(frac_value))
        .ok_or_else(bad)
}

/// Parse `cgroup.procs` (or `tasks`): one pid per line, in no set order.
///
/// ```
/// use coroner_proc_reader::parse::cgroup_files::parse_pid_list;
/// assert_eq!(parse_pid_list(b"12\n7\n").unwrap(), [12, 7]);
/// ```
pub fn parse_pid_list(data: &[u8]) -> Result<Vec<u32>, ParseError> {
    lines(data)
        .filter(|(_, text)| !trim(text).is_empty())
        .map(|(line, text)| {
            let text = trim(text);
            parse_u32(text).ok_or_else(|| ParseError::bad_number(line, "pid", text))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_limits() {
        assert_eq!(parse_cgroup_value(b"0\n"), Ok(Some(0)));
        assert_eq!(parse_cgroup_value(b"  max  "), Ok(None));
        assert!(parse_cgroup_value(b"-1").is_err());
        assert!(parse_cgroup_value(b"").is_err());
        // v1's unlimited with 4 KiB and 64 KiB pages.
        assert_eq!(parse_cgroup_value(b"9223372036854771712"), Ok(None));
        assert_eq!(parse_cgroup_value(b"9223372036854710272"), Ok(None));
    }

    #[test]
    fn v1_oom_control_counts_as_events() {
        let e = parse_memory_events(b"oom_kill_disable 0\nunder_oom 1\noom_kill 3\n").unwrap();
        assert_eq!((e.oom, e.oom_kill, e.max), (1, 3, 0));
        assert!(parse_memory_events(b"high\n").is_err());
        assert!(parse_memory_events(b"high x\n").is_err());
    }

    #[test]
    fn pressure_without_full_line_and_bad_numbers() {
        let p = parse_pressure(b"some avg10=100.00 avg60=5.5 avg300=0 total=0\n").unwrap();
        assert_eq!((p.some.avg10, p.some.avg60, p.some.avg300), (10000, 550, 0));
        assert_eq!(p.full, None);
        assert!(parse_pressure(b"").is_err());
        assert!(parse_pressure(b"some avg10=1.234 total=0\n").is_err());
        assert!(parse_pressure(b"some avg10=99999999.00\n").is_err());
        assert!(parse_pressure(b"other avg10=1.00\n").is_err());
    }

    #[test]
    fn pid_lists() {
        assert_eq!(parse_pid_list(b""), Ok(vec![]));
        assert!(parse_pid_list(b"1\nx\n").is_err());
    }
}
