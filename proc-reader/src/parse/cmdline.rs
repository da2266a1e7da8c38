//! `/proc/<pid>/cmdline` and `/proc/<pid>/environ`: NUL-separated strings.

/// The arguments of a `cmdline` file (NUL-separated, usually NUL-terminated).
/// A process that rewrote its argument area may leave no terminator; the
/// last piece is still returned.
///
/// ```
/// use coroner_proc_reader::parse::cmdline::parse_cmdline;
/// assert_eq!(parse_cmdline(b"ls\0-l\0\0"), vec![&b"ls"[..], b"-l", b""]);
/// assert_eq!(parse_cmdline(b"nginx: worker"), vec![&b"nginx: worker"[..]]);
/// assert!(parse_cmdline(b"").is_empty());
/// ```
pub fn parse_cmdline(data: &[u8]) -> Vec<&[u8]> {
    let data = data.strip_suffix(b"\0").unwrap_or(data);
    if data.is_empty() {
        return Vec::new();
    }
    data.split(|&b| b == 0).collect()
}

/// One `NAME=value` entry of an `environ` file; an entry without `=` has an
/// empty value and `has_equals == false`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvVar<'a> {
    /// Bytes before the first `=`.
    pub name: &'a [u8],
    /// Bytes after the first `=`.
    pub value: &'a [u8],
    /// Whether the entry contained `=` at all.
    pub has_equals: bool,
}

/// The variables of an `environ` file.
///
/// ```
/// use coroner_proc_reader::parse::cmdline::parse_environ;
/// let vars = parse_environ(b"HOME=/root\0A=b=c\0odd\0");
/// assert_eq!(vars[0].name, b"HOME");
/// assert_eq!(vars[1].value, b"b=c");
/// assert!(!vars[2].has_equals);
/// ```
pub fn parse_environ(data: &[u8]) -> Vec<EnvVar<'_>> {
    parse_cmdline(data)
        .into_iter()
        .filter(|entry| !entry.is_empty())
        .map(|entry| match entry.iter().position(|&b| b == b'=') {
            Some(eq) => EnvVar {
                name: entry.get(..eq).unwrap_or(&[]),
                value: entry.get(eq.saturating_add(1)..).unwrap_or(&[]),
                has_equals: true,
            },
            None => EnvVar {
                name: entry,
                value: &[],
                has_equals: false,
            },
        })
        .collect()
}
