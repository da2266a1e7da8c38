//! `/proc/<pid>/stat` (and `/proc/<pid>/task/<tid>/stat`).

use super::{parse_i64, parse_u32, parse_u64, tokens, ParseError};

/// The fields of `/proc/<pid>/stat`, named as in proc(5). Times are in clock
/// ticks (see [`crate::clock_ticks_per_second`]); fields that older kernels
/// lack are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stat {
    /// (1) pid: the thread id for a task's stat.
    pub pid: u32,
    /// (2) comm, without the parentheses (may contain spaces and parentheses).
    pub comm: Vec<u8>,
    /// (3) state letter.
    pub state: u8,
    /// (4) ppid.
    pub ppid: i32,
    /// (5) pgrp.
    pub pgrp: i32,
    /// (6) session.
    pub session: i32,
    /// (7) tty_nr.
    pub tty_nr: i32,
    /// (8) tpgid.
    pub tpgid: i32,
    /// (9) flags (PF_*).
    pub flags: u32,
    /// (10) minflt.
    pub minflt: u64,
    /// (11) cminflt.
    pub cminflt: u64,
    /// (12) majflt.
    pub majflt: u64,
    /// (13) cmajflt.
    pub cmajflt: u64,
    /// (14) utime in clock ticks.
    pub utime: u64,
    /// (15) stime in clock ticks.
    pub stime: u64,
    /// (16) cutime in clock ticks.
    pub cutime: i64,
    /// (17) cstime in clock ticks.
    pub cstime: i64,
    /// (18) priority.
    pub priority: i64,
    /// (19) nice.
    pub nice: i64,
    /// (20) num_threads.
    pub num_threads: i64,
    /// (22) starttime: clock ticks after boot.
    pub start_time: u64,
    /// (23) vsize in bytes.
    pub vsize: u64,
    /// (24) rss in pages.
    pub rss: i64,
    /// (25) rsslim in bytes.
    pub rsslim: Option<u64>,
    /// (28) startstack: address of the bottom of the stack.
    pub start_stack: Option<u64>,
    /// (38) exit_signal.
    pub exit_signal: Option<i32>,
    /// (39) processor last run on.
    pub processor: Option<i32>,
    /// (47) start_brk.
    pub start_brk: Option<u64>,
    /// (48) arg_start.
    pub arg_start: Option<u64>,
    /// (49) arg_end.
    pub arg_end: Option<u64>,
    /// (50) env_start.
    pub env_start: Option<u64>,
    /// (51) env_end.
    pub env_end: Option<u64>,
    /// (52) exit_code.
    pub exit_code: Option<i32>,
}

impl Stat {
    /// Whether the task is a zombie or dead (`Z` or `X`).
    pub fn is_zombie(&self) -> bool {
        matches!(self.state, b'Z' | b'X')
    }
}

/// Parse the bytes of a `stat` file.
///
/// ```
/// use coroner_proc_reader::parse::stat::parse_stat;
/// let s = parse_stat(b"42 (a (b) c) S 1 42 42 0 -1 4194560 10 0 0 0 7 3 0 0 20 0 1 0 \
/// 1000 4096 10 18446744073709551615\n").unwrap();
/// assert_eq!(s.comm, b"a (b) c");
/// assert_eq!((s.pid, s.state, s.ppid, s.utime, s.stime), (42, b'S', 1, 7, 3));
/// assert_eq!(s.start_time, 1000);
/// ```
pub fn parse_stat(data: &[u8]) -> Result<Stat, ParseError> {
    let open = data
        .iter()
        .position(|&b| b == b'(')
        .ok_or(ParseError::Malformed {
            line: 1,
            what: "no '(' before comm",
        })?;
    let close = data
        .iter()
        .rposition(|&b| b == b')')
        .ok_or(ParseError::Malformed {
            line: 1,
            what: "no ')' after comm",
        })?;
    if close < open {
        return Err(ParseError::Malformed {
            line: 1,
            what: "')' before '('",
        });
    }
    let pid_text = super::trim(data.get(..open).unwrap_or(&[]));
    let pid = parse_u32(pid_text).ok_or_else(|| ParseError::bad_number(1, "pid", pid_text))?;
    let comm = data
        .get(open.saturating_add(1)..close)
        .unwrap_or(&[])
        .to_vec();
    let mut rest = tokens(data.get(close.saturating_add(1)..).unwrap_or(&[]));
    let state_tok = rest.next().ok_or(ParseError::MissingField {
        line: 1,
        field: "state",
    })?;
    let state = match state_tok {
        [letter] => *letter,
        _ => {
            return Err(ParseError::Malformed {
                line: 1,
                what: "state is one letter",
            })
        }
    };
    // Fields 4.. as text; required up to rss (24), the rest optional.
    let fields: Vec<&[u8]> = rest.take(49).collect();
    let get = |n: usize, name: &'static str| -> Result<&[u8], ParseError> {
        fields
            .get(n.wrapping_sub(4))
            .copied()
            .ok_or(ParseError::MissingField {
                line: 1,
                field: name,
            })
    };
    let u = |n: usize, name: &'static str| -> Result<u64, ParseError> {
        let t = get(n, name)?;
        parse_u64(t, 10).ok_or_else(|| ParseError::bad_number(1, name, t))
    };
    let i = |n: usize, name: &'static str| -> Result<i64, ParseError> {
        let t = get(n, name)?;
        parse_i64(t).ok_or_else(|| ParseError::bad_number(1, name, t))
    };
    let i32f = |n: usize, name: &'static str| -> Result<i32, ParseError> {
        let t = get(n, name)?;
        parse_i64(t)
            .and_then(|v| i32::try_from(v).ok())
            .ok_or_else(|| ParseError::bad_number(1, name, t))
    };
    let opt_u = |n: usize, name: &'static str| -> Result<Option<u64>, ParseError> {
        if fields.get(n.wrapping_sub(4)).is_none() {
            return Ok(None);
        }
        u(n, name).map(Some)
    };
    let opt_i32 = |n: usize, name: &'static str| -> Result<Option<i32>, ParseError> {
        if fields.get(n.wrapping_sub(4)).is_none() {
            return Ok(None);
        }
        i32f(n, name).map(Some)
    };
    Ok(Stat {
        pid,
        comm,
        state,
        ppid: i32f(4, "ppid")?,
        pgrp: i32f(5, "pgrp")?,
        session: i32f(6, "session")?,
        tty_nr: i32f(7, "tty_nr")?,
        tpgid: i32f(8, "tpgid")?,
        flags: u32::try_from(u(9, "flags")?)
            .map_err(|_| ParseError::bad_number(1, "flags", b""))?,
        minflt: u(10, "minflt")?,
        cminflt: u(11, "cminflt")?,
        majflt: u(12, "majflt")?,
        cmajflt: u(13, "cmajflt")?,
        utime: u(14, "utime")?,
        stime: u(15, "stime")?,
        cutime: i(16, "cutime")?,
        cstime: i(17, "cstime")?,
        priority: i(18, "priority")?,
        nice: i(19, "nice")?,
        num_threads: i(20, "num_threads")?,
        start_time: u(22, "starttime")?,
        vsize: u(23, "vsize")?,
        rss: i(24, "rss")?,
        rsslim: opt_u(25, "rsslim")?,
        start_stack: opt_u(28, "startstack")?,
        exit_signal: opt_i32(38, "exit_signal")?,
        processor: opt_i32(39, "processor")?,
        start_brk: opt_u(47, "start_brk")?,
        arg_start: opt_u(48, "arg_start")?,
        arg_end: opt_u(49, "arg_end")?,
        env_start: opt_u(50, "env_start")?,
        env_end: opt_u(51, "env_end")?,
        exit_code: opt_i32(52, "exit_code")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const REAL: &[u8] =
        b"3087 (cat) R 3001 3087 3001 34816 3087 4194304 98 0 0 0 0 0 0 0 20 0 1 0 \
1234567 8732672 256 18446744073709551615 94371239890944 94371239907969 140727331338224 0 0 \
0 0 0 0 0 0 0 17 1 0 0 0 0 0 94371239921360 94371239922848 94371256590336 140727331345001 \
140727331345021 140727331345021 140727331352551 0\n";

    #[test]
    fn real_file() {
        let s = parse_stat(REAL).unwrap();
        assert_eq!(s.pid, 3087);
        assert_eq!(s.comm, b"cat");
        assert_eq!(s.state, b'R');
        assert_eq!(
            (s.ppid, s.pgrp, s.session, s.tty_nr, s.tpgid),
            (3001, 3087, 3001, 34816, 3087)
        );
        assert_eq!(s.start_time, 1_234_567);
        assert_eq!(s.vsize, 8_732_672);
        assert_eq!(s.rss, 256);
        assert_eq!(s.rsslim, Some(u64::MAX));
        assert_eq!(s.start_stack, Some(140_727_331_338_224));
        assert_eq!(s.exit_signal, Some(17));
        assert_eq!(s.processor, Some(1));
        assert_eq!(s.arg_start, Some(140_727_331_345_001));
        assert_eq!(s.exit_code, Some(0));
    }

    #[test]
    fn malformed() {
        assert!(parse_stat(b"").is_err());
        assert!(parse_stat(b"1 )x( R").is_err());
        assert!(parse_stat(b"1 (x) RR 1").is_err());
        assert!(matches!(
            parse_stat(b"1 (x) R 1 2 3"),
            Err(ParseError::MissingField { .. })
        ));
        assert!(matches!(
            parse_stat(b"x (x) R"),
            Err(ParseError::BadNumber { field: "pid", .. })
        ));
    }
}
