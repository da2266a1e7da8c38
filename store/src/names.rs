//! Names in the store made from what a crashing process controls.
//!
//! A process picks its own name (`prctl(PR_SET_NAME)`, `argv[0]`, the name
//! of the file it runs), so a name may hold `/`, `..`, newlines, terminal
//! escapes or invalid UTF-8. Names in the store keep only ASCII letters,
//! digits, `-` and `_` (and `.` inside), so a name can neither leave the
//! store directory, nor hide as a dot file, nor break a line of `crashes
//! list` or of a log; the original bytes are kept in the JSON metadata,
//! where the encoding escapes them.

/// Longest name part taken from a process (comm is 15 bytes; an exe base
/// name may be longer).
pub const MAX_NAME_LEN: usize = 64;

/// `raw` made safe as one path component of the store: every byte that is
/// not an ASCII letter, digit, `-`, `_` or `.` becomes `_`, leading dots
/// become `_`, at most [`MAX_NAME_LEN`] bytes; an empty result is `_`.
///
/// ```
/// use coroner_store::names::safe_component;
/// assert_eq!(safe_component(b"../../etc/x"), "___.._etc_x");
/// assert_eq!(safe_component(b"evil\nname"), "evil_name");
/// assert_eq!(safe_component(b""), "_");
/// ```
pub fn safe_component(raw: &[u8]) -> String {
    let mut out: String = raw
        .iter()
        .take(MAX_NAME_LEN)
        .map(|&b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => char::from(b),
            _ => '_',
        })
        .collect();
    // No dot files, no `.` or `..`.
    let dots = out.bytes().take_while(|&b| b == b'.').count();
    out.replace_range(..dots, &"_".repeat(dots));
    if out.is_empty() {
        out.push('_');
    }
    out
}

/// `raw` as one line of text for a log or a terminal: control characters
/// (newlines, escapes) and invalid UTF-8 are shown escaped, so the text
/// cannot forge a line of its own.
///
/// ```
/// use coroner_store::names::printable;
/// assert_eq!(printable(b"a\nb\x1b[31m"), "a\\nb\\u{1b}[31m");
/// ```
pub fn printable(raw: &[u8]) -> String {
    let mut out = String::with_capacity(raw.len());
    for chunk in raw.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() {
                out.extend(c.escape_default());
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// Whether `id` has the shape of an entry name this store makes (so a
/// directory listing never picks up a temporary or foreign file).
pub fn is_entry_id(id: &str) -> bool {
    !id.is_empty()
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && id.bytes().next().is_some_and(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_stay_one_component() {
        for raw in [
            &b"../../etc/x"[..],
            b"..",
            b".",
            b"/",
            b"a/../../b",
            b"name\nwith\nnewlines",
            b"\xff\xfe",
            b".hidden",
            &[b'x'; 300],
        ] {
            let name = safe_component(raw);
            assert!(!name.contains('/'), "{name}");
            assert!(!name.starts_with('.'), "{name}");
            assert!(!name.contains('\n'), "{name}");
            assert!(name.len() <= MAX_NAME_LEN, "{name}");
            assert!(!name.is_empty());
        }
    }

    #[test]
    fn printable_escapes_control_bytes_and_invalid_utf8() {
        assert_eq!(printable(b"ok \xc3\xa9"), "ok \u{e9}");
        assert_eq!(printable(b"\xff\n"), "\\xff\\n");
        assert!(!printable(b"x\r\ny").contains('\n'));
    }
}
