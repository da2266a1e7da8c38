//! Error messages for operators: the whole chain of causes, and for the
//! output errors an operator can fix (a full disk, a quota, a read-only
//! file system), what to do.

use std::error::Error;
use std::io;

/// `err`'s message, then each cause beneath it that the message does not
/// already say, then a hint when an OS error has a known fix.
pub fn describe(err: &(dyn Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut os_error = err
        .downcast_ref::<io::Error>()
        .and_then(io::Error::raw_os_error);
    let mut cause = err.source();
    while let Some(c) = cause {
        let message = c.to_string();
        if !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        if let Some(code) = c
            .downcast_ref::<io::Error>()
            .and_then(io::Error::raw_os_error)
        {
            os_error = Some(code);
        }
        cause = c.source();
    }
    if let Some(hint) = os_error.and_then(hint) {
        text.push_str(" (");
        text.push_str(hint);
        text.push(')');
    }
    text
}

/// What to do about an OS error that stops the output.
#[cfg(not(unix))]
fn hint(_code: i32) -> Option<&'static str> {
    // Windows reports Win32 error codes, not errno values.
    None
}

/// What to do about an OS error that stops the output.
#[cfg(unix)]
fn hint(code: i32) -> Option<&'static str> {
    Some(match code {
        libc::ENOSPC => {
            "the file system of the output is full: free space there or write elsewhere with -o; \
             nothing partial was left behind"
        }
        libc::EDQUOT => {
            "the disk quota of the output's owner is used up: free space or write elsewhere with -o; \
             nothing partial was left behind"
        }
        libc::EROFS => "the output's file system is read-only: write elsewhere with -o",
        libc::EFBIG => {
            "the output's file system cannot hold a file this large: write elsewhere with -o, \
             or make the dump smaller (--filter, --exclude, or a minidump)"
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(io::Error);
    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "writing the core at file offset 0x1000 failed")
        }
    }
    impl Error for Outer {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn a_full_disk_names_the_cause_and_the_fix() {
        let e = Outer(io::Error::from_raw_os_error(libc::ENOSPC));
        let text = describe(&e);
        assert!(
            text.starts_with("writing the core at file offset 0x1000 failed: "),
            "{text}"
        );
        assert!(text.contains("No space left on device"), "{text}");
        assert!(text.contains("write elsewhere with -o"), "{text}");
    }

    #[test]
    fn causes_already_in_the_message_are_not_repeated() {
        let inner = io::Error::from_raw_os_error(libc::EACCES);
        let e = io::Error::other(format!("opening x: {inner}"));
        assert_eq!(describe(&e), format!("opening x: {inner}"));
    }
}
