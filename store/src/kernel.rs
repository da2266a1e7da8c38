//! What the kernel tells a `core_pattern` pipe handler, and how to ask it.
//!
//! The kernel runs the handler named after `|` in
//! `/proc/sys/kernel/core_pattern` as root, in the initial namespaces, with
//! the core on stdin and the pattern's `%` specifiers expanded in its
//! arguments (core(5)). Since Linux 5.7 the pattern is split into arguments
//! at its spaces *before* the specifiers are expanded, so a process name
//! with spaces stays one argument; the process name still goes last, and
//! [`KernelFacts::from_args`] joins what follows it, for older kernels.
//! The pattern must fit in 127 bytes (`CORENAME_MAX_SIZE`).

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::StoreError;

/// The specifiers the handler is given, in order, after `--`: pid in the
/// initial and in its own pid namespace, the crashing thread's tid in both,
/// signal, time, uid, gid, core rlimit, dump mode, hostname, process name.
pub const SPECIFIERS: &str = "%P %p %I %i %s %t %u %g %c %d %h %e";

/// The longest `core_pattern` the kernel keeps (`CORENAME_MAX_SIZE` − NUL).
pub const MAX_PATTERN_LEN: usize = 127;

/// The `core_pattern` that pipes cores into `EXE crash-handler run -c
/// CONFIG`; an error when it is longer than the kernel keeps or when a
/// path holds a space (the kernel splits the pattern at spaces).
pub fn pipe_pattern(exe: &Path, config: &Path) -> Result<String, StoreError> {
    for path in [exe, config] {
        if path
            .as_os_str()
            .as_bytes()
            .iter()
            .any(u8::is_ascii_whitespace)
        {
            return Err(StoreError::Pattern(format!(
                "{} holds a space, and the kernel splits core_pattern at spaces; install \
                 coroner or the config at a path without spaces",
                path.display()
            )));
        }
    }
    let pattern = format!(
        "|{} crash-handler run -c {} -- {SPECIFIERS}",
        exe.display(),
        config.display()
    );
    if pattern.len() > MAX_PATTERN_LEN {
        return Err(StoreError::Pattern(format!(
            "the core_pattern `{pattern}` is {} bytes, more than the {MAX_PATTERN_LEN} the kernel \
             keeps; install coroner and its config at shorter paths (for example \
             /usr/local/bin/coroner and /etc/coroner/crash-handler.json)",
            pattern.len()
        )));
    }
    Ok(pattern)
}

/// The facts the kernel passes in the handler's arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KernelFacts {
    /// `%P`: pid in the initial pid namespace (the host).
    pub pid: u32,
    /// `%p`: pid in the process's own pid namespace.
    pub ns_pid: u32,
    /// `%I`: the crashing thread's tid on the host.
    pub tid: u32,
    /// `%i`: the crashing thread's tid in its own namespace.
    pub ns_tid: u32,
    /// `%s`: the signal that killed it.
    pub signal: u32,
    /// `%t`: when, in seconds since the epoch.
    pub time: u64,
    /// `%u`: real uid (in the initial user namespace).
    pub uid: u32,
    /// `%g`: real gid.
    pub gid: u32,
    /// `%c`: the soft `RLIMIT_CORE` (`18446744073709551615` is unlimited).
    pub core_rlimit: u64,
    /// `%d`: the dump mode (`/proc/sys/fs/suid_dumpable` rules: 1 normal,
    /// 2 suid-safe).
    pub dump_mode: u32,
    /// `%h`: hostname (of the process's UTS namespace); hostile bytes.
    pub hostname: Vec<u8>,
    /// `%e`: the process name (comm, or the executable's name); hostile bytes.
    pub comm: Vec<u8>,
}

impl KernelFacts {
    /// Parse the expanded [`SPECIFIERS`]. The name may have been split at
    /// its spaces by an older kernel: every argument after the hostname is
    /// joined with spaces.
    pub fn from_args(args: &[OsString]) -> Result<KernelFacts, StoreError> {
        fn num<T: std::str::FromStr>(
            args: &[OsString],
            i: usize,
            what: &str,
        ) -> Result<T, StoreError> {
            let raw = args.get(i).ok_or_else(|| {
                StoreError::Arguments(format!("missing {what} (argument {i} of `{SPECIFIERS}`)"))
            })?;
            raw.to_str()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| StoreError::Arguments(format!("{what} {raw:?} is not a number")))
        }
        let hostname = args
            .get(10)
            .ok_or_else(|| StoreError::Arguments("missing the hostname (%h)".into()))?;
        let comm: Vec<&[u8]> = args.iter().skip(11).map(|a| a.as_bytes()).collect();
        Ok(KernelFacts {
            pid: num(args, 0, "pid (%P)")?,
            ns_pid: num(args, 1, "namespace pid (%p)")?,
            tid: num(args, 2, "tid (%I)")?,
            ns_tid: num(args, 3, "namespace tid (%i)")?,
            signal: num(args, 4, "signal (%s)")?,
            time: num(args, 5, "time (%t)")?,
            uid: num(args, 6, "uid (%u)")?,
            gid: num(args, 7, "gid (%g)")?,
            core_rlimit: num(args, 8, "core rlimit (%c)")?,
            dump_mode: num(args, 9, "dump mode (%d)")?,
            hostname: hostname.as_bytes().to_vec(),
            comm: comm.join(&b' '),
        })
    }
}

/// The name of signal `signo` on Linux (x86_64 and aarch64 numbering), as
/// `SIGSEGV`; `SIG<n>` for a number without a name.
pub fn signal_name(signo: u32) -> String {
    let name = match signo {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        10 => "SIGUSR1",
        11 => "SIGSEGV",
        12 => "SIGUSR2",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        16 => "SIGSTKFLT",
        24 => "SIGXCPU",
        25 => "SIGXFSZ",
        31 => "SIGSYS",
        _ => return format!("SIG{signo}"),
    };
    name.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn expanded_specifiers_parse_and_a_split_name_is_joined() {
        let facts = KernelFacts::from_args(&args(&[
            "4242",
            "1",
            "4243",
            "2",
            "11",
            "1764390000",
            "1000",
            "1000",
            "18446744073709551615",
            "1",
            "host",
            "my",
            "prog",
        ]))
        .unwrap();
        assert_eq!(
            (facts.pid, facts.ns_pid, facts.tid, facts.ns_tid),
            (4242, 1, 4243, 2)
        );
        assert_eq!(facts.signal, 11);
        assert_eq!(facts.core_rlimit, u64::MAX);
        assert_eq!(facts.comm, b"my prog");
        assert_eq!(signal_name(facts.signal), "SIGSEGV");
    }

    #[test]
    fn missing_or_non_numeric_arguments_are_refused() {
        assert!(KernelFacts::from_args(&args(&["1", "2"])).is_err());
        let mut bad = args(&["x", "1", "1", "1", "11", "0", "0", "0", "0", "1", "h", "c"]);
        assert!(KernelFacts::from_args(&bad).is_err());
        bad[0] = "1".into();
        assert!(KernelFacts::from_args(&bad).is_ok());
    }

    #[test]
    fn patterns_longer_than_the_kernel_keeps_or_with_spaces_are_refused() {
        let p = pipe_pattern(Path::new("/usr/bin/coroner"), Path::new("/etc/c.json")).unwrap();
        assert!(p.starts_with("|/usr/bin/coroner crash-handler run -c /etc/c.json -- %P"));
        assert!(p.len() <= MAX_PATTERN_LEN);
        let long = format!("/{}", "x".repeat(100));
        assert!(pipe_pattern(Path::new(&long), Path::new("/c")).is_err());
        assert!(pipe_pattern(Path::new("/a b/coroner"), Path::new("/c")).is_err());
    }
}
