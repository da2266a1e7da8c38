//! `/proc/<pid>/status` (and `/proc/<pid>/task/<tid>/status`).

use super::{lines, parse_u32, parse_u64, tokens, trim, ParseError};

/// The fields of `/proc/<pid>/status` a dump needs. Sizes are in bytes
/// (the file gives kB); absent optional fields are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Status {
    /// `Name`: the command name (comm), unescaped, at most 15 bytes on Linux.
    pub name: Vec<u8>,
    /// `Umask` (octal in the file).
    pub umask: Option<u32>,
    /// `State`: the state letter (R, S, D, T, t, Z, X …).
    pub state: Option<u8>,
    /// `Tgid`: the thread-group id (the process id).
    pub tgid: u32,
    /// `Ngid`: NUMA group id.
    pub ngid: Option<u32>,
    /// `Pid`: the thread id.
    pub pid: u32,
    /// `PPid`: the parent's pid.
    pub ppid: u32,
    /// `TracerPid`: the thread that traces this one, 0 when not traced.
    pub tracer_pid: u32,
    /// `Uid`: real, effective, saved, filesystem.
    pub uid: [u32; 4],
    /// `Gid`: real, effective, saved, filesystem.
    pub gid: [u32; 4],
    /// `FDSize`: allocated file descriptor slots.
    pub fd_size: Option<u64>,
    /// `Groups`: supplementary groups.
    pub groups: Vec<u32>,
    /// `NStgid`: the tgid in each pid namespace, outermost first.
    pub nstgid: Vec<u32>,
    /// `NSpid`: the pid in each pid namespace, outermost first; the last one
    /// is the pid as the process itself sees it.
    pub nspid: Vec<u32>,
    /// `NSpgid`: the process group in each namespace.
    pub nspgid: Vec<u32>,
    /// `NSsid`: the session in each namespace.
    pub nssid: Vec<u32>,
    /// `VmPeak` in bytes.
    pub vm_peak: Option<u64>,
    /// `VmSize` in bytes.
    pub vm_size: Option<u64>,
    /// `VmLck` in bytes.
    pub vm_lck: Option<u64>,
    /// `VmHWM` (peak resident set) in bytes.
    pub vm_hwm: Option<u64>,
    /// `VmRSS` in bytes.
    pub vm_rss: Option<u64>,
    /// `VmData` in bytes.
    pub vm_data: Option<u64>,
    /// `VmStk` in bytes.
    pub vm_stk: Option<u64>,
    /// `VmExe` in bytes.
    pub vm_exe: Option<u64>,
    /// `VmLib` in bytes.
    pub vm_lib: Option<u64>,
    /// `VmSwap` in bytes.
    pub vm_swap: Option<u64>,
    /// `RssAnon`: resident anonymous memory in bytes.
    pub rss_anon: Option<u64>,
    /// `RssShmem`: resident shared memory (shmem, tmpfs, shared anonymous)
    /// in bytes.
    pub rss_shmem: Option<u64>,
    /// `Threads`: number of threads.
    pub threads: Option<u32>,
    /// `SigPnd`: signals pending for this thread.
    pub sig_pnd: u64,
    /// `ShdPnd`: signals pending for the whole process.
    pub shd_pnd: u64,
    /// `SigBlk`: blocked signals.
    pub sig_blk: u64,
    /// `SigIgn`: ignored signals.
    pub sig_ign: u64,
    /// `SigCgt`: caught signals.
    pub sig_cgt: u64,
    /// `CapInh`.
    pub cap_inh: Option<u64>,
    /// `CapPrm`.
    pub cap_prm: Option<u64>,
    /// `CapEff`.
    pub cap_eff: Option<u64>,
    /// `CapBnd`.
    pub cap_bnd: Option<u64>,
    /// `CapAmb`.
    pub cap_amb: Option<u64>,
    /// `NoNewPrivs`.
    pub no_new_privs: Option<u32>,
    /// `Seccomp` mode (0 off, 1 strict, 2 filter).
    pub seccomp: Option<u32>,
}

impl Status {
    /// The identity lines of `/proc/<pid>/status` as the kernel writes
    /// them: `Name` (escaped), `State` (when known), `Tgid`, `Pid`, `PPid`,
    /// `Uid`, `Gid`. [`parse_status`] reads them back. This is what a
    /// minidump's ProcStatus stream can hold when no live process is behind
    /// it (a converted core).
    ///
    /// ```
    /// use coroner_proc_reader::parse::status::{parse_status, Status};
    /// let mut s = Status::default();
    /// s.name = b"my\nproc".to_vec();
    /// s.state = Some(b'S');
    /// (s.tgid, s.pid, s.ppid, s.uid, s.gid) = (42, 42, 1, [1000; 4], [100; 4]);
    /// let text = s.identity_text();
    /// assert!(text.starts_with(b"Name:\tmy\\nproc\nState:\tS\nTgid:\t42\n"));
    /// assert_eq!(parse_status(&text).unwrap(), s);
    /// ```
    pub fn identity_text(&self) -> Vec<u8> {
        let mut out = b"Name:\t".to_vec();
        out.extend(escape(&self.name));
        out.push(b'\n');
        if let Some(state) = self.state {
            out.extend_from_slice(b"State:\t");
            out.push(state);
            out.push(b'\n');
        }
        let ids = |v: &[u32; 4]| v.iter().map(u32::to_string).collect::<Vec<_>>().join("\t");
        out.extend(
            format!(
                "Tgid:\t{}\nPid:\t{}\nPPid:\t{}\nUid:\t{}\nGid:\t{}\n",
                self.tgid,
                self.pid,
                self.ppid,
                ids(&self.uid),
                ids(&self.gid)
            )
            .into_bytes(),
        );
        out
    }

    /// Whether the thread is a zombie or dead (`Z` or `X`).
    pub fn is_zombie(&self) -> bool {
        matches!(self.state, Some(b'Z' | b'X'))
    }
}

/// Undo the kernel's escaping of `Name` (`\n` and `\\`, and the other C escapes).
/// The inverse of [`unescape`]: how the kernel escapes a task name.
fn escape(name: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len());
    for &b in name {
        let escaped = match b {
            b'\\' => b'\\',
            b'\n' => b'n',
            b'\t' => b't',
            b'\r' => b'r',
            0x0c => b'f',
            0x0b => b'v',
            0x07 => b'a',
            0x1b => b'e',
            _ => {
                out.push(b);
                continue;
            }
        };
        out.push(b'\\');
        out.push(escaped);
    }
    out
}

fn unescape(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut it = text.iter().copied();
    while let Some(b) = it.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match it.next() {
            Some(b'n') => out.push(b'\n'),
            Some(b't') => out.push(b'\t'),
            Some(b'r') => out.push(b'\r'),
            Some(b'f') => out.push(0x0c),
            Some(b'v') => out.push(0x0b),
            Some(b'a') => out.push(0x07),
            Some(b'e') => out.push(0x1b),
            Some(other) => out.push(other),
            None => out.push(b'\\'),
        }
    }
    out
}

fn kb(line: usize, field: &'static str, value: &[u8]) -> Result<u64, ParseError> {
    let mut t = tokens(value);
    let n = t
        .next()
        .and_then(|n| parse_u64(n, 10))
        .ok_or_else(|| ParseError::bad_number(line, field, value))?;
    n.checked_mul(1024)
        .ok_or_else(|| ParseError::bad_number(line, field, value))
}

fn hex(line: usize, field: &'static str, value: &[u8]) -> Result<u64, ParseError> {
    parse_u64(value, 16).ok_or_else(|| ParseError::bad_number(line, field, value))
}

fn dec(line: usize, field: &'static str, value: &[u8]) -> Result<u32, ParseError> {
    parse_u32(value).ok_or_else(|| ParseError::bad_number(line, field, value))
}

fn dec_list(line: usize, field: &'static str, value: &[u8]) -> Result<Vec<u32>, ParseError> {
    tokens(value)
        .map(|t| parse_u32(t).ok_or_else(|| ParseError::bad_number(line, field, t)))
        .collect()
}

fn ids(line: usize, field: &'static str, value: &[u8]) -> Result<[u32; 4], ParseError> {
    let list = dec_list(line, field, value)?;
    match list.as_slice() {
        [a, b, c, d] => Ok([*a, *b, *c, *d]),
        _ => Err(ParseError::Malformed {
            line,
            what: "Uid/Gid need four ids",
        }),
    }
}

/// Parse the bytes of a `status` file.
///
/// ```
/// use coroner_proc_reader::parse::status::parse_status;
/// let s = parse_status(b"Name:\tmy\\\\app\nState:\tS (sleeping)\nTgid:\t42\nPid:\t42\n\
/// PPid:\t1\nTracerPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nNSpid:\t42\t7\nVmRSS:\t  100 kB\n").unwrap();
/// assert_eq!(s.name, b"my\\app");
/// assert_eq!(s.state, Some(b'S'));
/// assert_eq!(s.nspid, [42, 7]);
/// assert_eq!(s.vm_rss, Some(102400));
/// ```
pub fn parse_status(data: &[u8]) -> Result<Status, ParseError> {
    let mut s = Status::default();
    let (mut name, mut tgid, mut pid, mut ppid, mut uid, mut gid) =
        (false, false, false, false, false, false);
    for (line, text) in lines(data) {
        let Some(colon) = text.iter().position(|&b| b == b':') else {
            continue;
        };
        let key = text.get(..colon).unwrap_or(&[]);
        let raw_value = text.get(colon.saturating_add(1)..).unwrap_or(&[]);
        let value = trim(raw_value);
        match key {
            b"Name" => {
                // Only the tab after the colon separates; the name may begin with spaces.
                let v = raw_value.strip_prefix(b"\t").unwrap_or(raw_value);
                s.name = unescape(v);
                name = true;
            }
            b"Umask" => {
                s.umask = Some(
                    parse_u64(value, 8)
                        .and_then(|v| u32::try_from(v).ok())
                        .ok_or_else(|| ParseError::bad_number(line, "Umask", value))?,
                )
            }
            b"State" => s.state = value.first().copied(),
            b"Tgid" => {
                s.tgid = dec(line, "Tgid", value)?;
                tgid = true;
            }
            b"Ngid" => s.ngid = Some(dec(line, "Ngid", value)?),
            b"Pid" => {
                s.pid = dec(line, "Pid", value)?;
                pid = true;
            }
            b"PPid" => {
                s.ppid = dec(line, "PPid", value)?;
                ppid = true;
            }
            b"TracerPid" => s.tracer_pid = dec(line, "TracerPid", value)?,
            b"Uid" => {
                s.uid = ids(line, "Uid", value)?;
                uid = true;
            }
            b"Gid" => {
                s.gid = ids(line, "Gid", value)?;
                gid = true;
            }
            b"FDSize" => {
                s.fd_size = Some(
                    parse_u64(value, 10)
                        .ok_or_else(|| ParseError::bad_number(line, "FDSize", value))?,
                )
            }
            b"Groups" => s.groups = dec_list(line, "Groups", value)?,
            b"NStgid" => s.nstgid = dec_list(line, "NStgid", value)?,
            b"NSpid" => s.nspid = dec_list(line, "NSpid", value)?,
            b"NSpgid" => s.nspgid = dec_list(line, "NSpgid", value)?,
            b"NSsid" => s.nssid = dec_list(line, "NSsid", value)?,
            b"VmPeak" => s.vm_peak = Some(kb(line, "VmPeak", value)?),
            b"VmSize" => s.vm_size = Some(kb(line, "VmSize", value)?),
            b"VmLck" => s.vm_lck = Some(kb(line, "VmLck", value)?),
            b"VmHWM" => s.vm_hwm = Some(kb(line, "VmHWM", value)?),
            b"VmRSS" => s.vm_rss = Some(kb(line, "VmRSS", value)?),
            b"VmData" => s.vm_data = Some(kb(line, "VmData", value)?),
            b"VmStk" => s.vm_stk = Some(kb(line, "VmStk", value)?),
            b"VmExe" => s.vm_exe = Some(kb(line, "VmExe", value)?),
            b"VmLib" => s.vm_lib = Some(kb(line, "VmLib", value)?),
            b"VmSwap" => s.vm_swap = Some(kb(line, "VmSwap", value)?),
            b"RssAnon" => s.rss_anon = Some(kb(line, "RssAnon", value)?),
            b"RssShmem" => s.rss_shmem = Some(kb(line, "RssShmem", value)?),
            b"Threads" => s.threads = Some(dec(line, "Threads", value)?),
            b"SigPnd" => s.sig_pnd = hex(line, "SigPnd", value)?,
            b"ShdPnd" => s.shd_pnd = hex(line, "ShdPnd", value)?,
            b"SigBlk" => s.sig_blk = hex(line, "SigBlk", value)?,
            b"SigIgn" => s.sig_ign = hex(line, "SigIgn", value)?,
            b"SigCgt" => s.sig_cgt = hex(line, "SigCgt", value)?,
            b"CapInh" => s.cap_inh = Some(hex(line, "CapInh", value)?),
            b"CapPrm" => s.cap_prm = Some(hex(line, "CapPrm", value)?),
            b"CapEff" => s.cap_eff = Some(hex(line, "CapEff", value)?),
            b"CapBnd" => s.cap_bnd = Some(hex(line, "CapBnd", value)?),
            b"CapAmb" => s.cap_amb = Some(hex(line, "CapAmb", value)?),
            b"NoNewPrivs" => s.no_new_privs = Some(dec(line, "NoNewPrivs", value)?),
            b"Seccomp" => s.seccomp = Some(dec(line, "Seccomp", value)?),
            _ => {}
        }
    }
    let missing = [
        (name, "Name"),
        (tgid, "Tgid"),
        (pid, "Pid"),
        (ppid, "PPid"),
        (uid, "Uid"),
        (gid, "Gid"),
    ];
    if let Some((_, field)) = missing.iter().find(|(seen, _)| !seen) {
        return Err(ParseError::MissingField { line: 0, field });
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    #[test]
    fn identity_text_reads_back_whatever_the_name() {
        for name in [
            &b"plain"[..],
            b"a\\b",
            b"tab\there",
            b"nl\n",
            b"\x1b\x07\x0b\x0c\r",
            b" lead",
            b"",
        ] {
            let mut s = super::Status {
                name: name.to_vec(),
                tgid: 7,
                pid: 7,
                ppid: 1,
                uid: [0, 1, 2, 3],
                gid: [4, 5, 6, 7],
                ..Default::default()
            };
            assert_eq!(
                super::parse_status(&s.identity_text()).unwrap(),
                s,
                "{name:?}"
            );
            s.state = Some(b'Z');
            assert_eq!(
                super::parse_status(&s.identity_text()).unwrap(),
                s,
                "{name:?}"
            );
        }
    }

    use super::*;

    const REAL: &[u8] = b"Name:\tcat\nUmask:\t0022\nState:\tR (running)\nTgid:\t1234\nNgid:\t0\n\
Pid:\t1234\nPPid:\t99\nTracerPid:\t77\nUid:\t1000\t1001\t1002\t1003\nGid:\t5\t6\t7\t8\n\
FDSize:\t256\nGroups:\t4 24 27 \nNStgid:\t1234\nNSpid:\t1234\nNSpgid:\t1234\nNSsid:\t99\n\
Kthread:\t0\nVmPeak:\t    8528 kB\nVmSize:\t    8528 kB\nVmLck:\t       0 kB\nVmPin:\t       0 kB\n\
VmHWM:\t    1024 kB\nVmRSS:\t    1024 kB\nRssAnon:\t       0 kB\nVmData:\t     360 kB\n\
VmStk:\t     132 kB\nVmExe:\t      20 kB\nVmLib:\t    1812 kB\nVmPTE:\t      52 kB\n\
VmSwap:\t       0 kB\nHugetlbPages:\t       0 kB\nCoreDumping:\t0\nTHP_enabled:\t1\n\
Threads:\t1\nSigQ:\t0/127389\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000100\n\
SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\nSigCgt:\t0000000000000000\n\
CapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t000001ffffffffff\n\
CapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\nNoNewPrivs:\t0\nSeccomp:\t0\n\
Seccomp_filters:\t0\nSpeculation_Store_Bypass:\tthread vulnerable\n\
Cpus_allowed_list:\t0-1\nvoluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n";

    #[test]
    fn real_file() {
        let s = parse_status(REAL).unwrap();
        assert_eq!(s.name, b"cat");
        assert_eq!(s.umask, Some(0o22));
        assert_eq!(s.state, Some(b'R'));
        assert_eq!((s.tgid, s.pid, s.ppid, s.tracer_pid), (1234, 1234, 99, 77));
        assert_eq!(s.uid, [1000, 1001, 1002, 1003]);
        assert_eq!(s.gid, [5, 6, 7, 8]);
        assert_eq!(s.groups, [4, 24, 27]);
        assert_eq!(s.nspid, [1234]);
        assert_eq!((s.rss_anon, s.rss_shmem), (Some(0), None));
        assert_eq!(s.nssid, [99]);
        assert_eq!(s.vm_peak, Some(8528 * 1024));
        assert_eq!(s.threads, Some(1));
        assert_eq!(s.shd_pnd, 0x100);
        assert_eq!(s.cap_eff, Some(0x1ff_ffff_ffff));
        assert_eq!(s.seccomp, Some(0));
        assert!(!s.is_zombie());
    }

    #[test]
    fn escaped_and_odd_names() {
        let s = parse_status(
            b"Name:\t a\\nb\\\\\nTgid:\t1\nPid:\t1\nPPid:\t0\nUid:\t0 0 0 0\nGid:\t0 0 0 0\n",
        )
        .unwrap();
        assert_eq!(s.name, b" a\nb\\");
    }

    #[test]
    fn missing_and_bad() {
        assert_eq!(
            parse_status(b"Name:\tx\n"),
            Err(ParseError::MissingField {
                line: 0,
                field: "Tgid"
            })
        );
        assert!(matches!(
            parse_status(b"Name:\tx\nTgid:\tabc\n"),
            Err(ParseError::BadNumber {
                line: 2,
                field: "Tgid",
                ..
            })
        ));
        assert!(matches!(
            parse_status(b"Uid:\t1 2\n"),
            Err(ParseError::Malformed { line: 1, .. })
        ));
        assert!(matches!(
            parse_status(b"VmRSS:\t99999999999999999999 kB\n"),
            Err(ParseError::BadNumber { .. })
        ));
    }
}
