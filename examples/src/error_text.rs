//! Error messages for operators: the whole chain of causes, then what to do
//! about it in terms of this CLI's flags.
//!
//! The libraries' messages say what failed and where, never which option to
//! pass: the same error means "give another `-o PATH`" for `capture` and
//! "give another OUT argument" for `convert`, and nothing partial is left
//! behind for a file output but a truncated stream is for stdout. The hint
//! is chosen here, from the typed errors and the OS error code found
//! anywhere in the source chain.

use std::error::Error;
use std::io;

use coroner_capture::SinkError;

/// Where the command's output goes, which decides the advice for output
/// errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// The command writes no dump (`inspect`).
    Nothing,
    /// A file named by `-o PATH` (`capture`, Linux only).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    OptionFile,
    /// A file named by the OUT argument (`convert`).
    ArgumentFile,
    /// Standard output (`-o -`, `convert IN -`): whatever was written before
    /// the error is already downstream.
    Stream,
}

impl Output {
    /// How to point the output somewhere else.
    fn elsewhere(self) -> &'static str {
        match self {
            Output::OptionFile => "write elsewhere with -o PATH",
            Output::ArgumentFile => "give an OUT path elsewhere",
            Output::Stream | Output::Nothing => "write elsewhere",
        }
    }

    /// How to send the output to stdout instead.
    fn to_stdout(self) -> &'static str {
        match self {
            Output::ArgumentFile => "- as OUT",
            _ => "-o -",
        }
    }
}

/// `err`'s message, then each cause beneath it that the message does not
/// already say, then a hint when the error has a known fix.
pub fn describe(err: &(dyn Error + 'static), output: Output) -> String {
    let mut text = err.to_string();
    let mut os_error = None;
    let mut sink_error = None;
    for e in chain(err) {
        let message = e.to_string();
        if !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        if let Some(code) = e
            .downcast_ref::<io::Error>()
            .and_then(io::Error::raw_os_error)
        {
            os_error = Some(code);
        }
        if let Some(s) = e.downcast_ref::<SinkError>() {
            sink_error = Some(s);
        }
    }
    let hint = sink_error
        .and_then(|s| sink_hint(s, output))
        .or_else(|| os_error.and_then(|code| os_hint(code, output)));
    if let Some(hint) = hint {
        text.push_str(" (");
        text.push_str(&hint);
        text.push(')');
    }
    text
}

/// `err` and every error beneath it. An `io::Error` that wraps another
/// error shows that error's message but skips it in `source()`; it is
/// visited here so that an errno or a typed error inside is found too.
fn chain<'a>(err: &'a (dyn Error + 'static)) -> Vec<&'a (dyn Error + 'static)> {
    let mut out = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        out.push(e);
        let wrapped = e
            .downcast_ref::<io::Error>()
            .and_then(io::Error::get_ref)
            .map(|inner| inner as &(dyn Error + 'static));
        next = match wrapped {
            // The wrapped error itself, then its own sources.
            Some(inner) if !out.iter().any(|seen| std::ptr::addr_eq(*seen, inner)) => Some(inner),
            _ => e.source(),
        };
    }
    out
}

/// What to do about an output that could not be set up.
fn sink_hint(err: &SinkError, output: Output) -> Option<String> {
    let elsewhere = output.elsewhere();
    Some(match err {
        SinkError::Exists { .. } => format!("pass --force to replace it, or {elsewhere}"),
        SinkError::Symlink { .. } => format!("remove the link, or {elsewhere}"),
        SinkError::NotAFile { .. } => format!(
            "give the path of a regular file, or {} for stdout",
            output.to_stdout()
        ),
        SinkError::CreateTemp { .. } => format!(
            "choose a directory you can write to ({elsewhere}), or {} for stdout",
            output.to_stdout()
        ),
        _ => return None,
    })
}

/// What to do about an OS error that stops the output.
#[cfg(not(unix))]
fn os_hint(_code: i32, _output: Output) -> Option<String> {
    // Windows reports Win32 error codes, not errno values.
    None
}

/// What to do about an OS error that stops the output.
#[cfg(unix)]
fn os_hint(code: i32, output: Output) -> Option<String> {
    let elsewhere = output.elsewhere();
    if output == Output::Stream {
        return Some(match code {
            libc::ENOSPC | libc::EDQUOT | libc::EFBIG => {
                "stdout's destination is full: what reached it is an incomplete dump; \
                 delete it and free space there"
                    .to_owned()
            }
            libc::EPIPE => {
                "the reader of stdout went away: what it received is an incomplete dump".to_owned()
            }
            _ => return None,
        });
    }
    if output == Output::Nothing {
        return None;
    }
    Some(match code {
        libc::ENOSPC => format!(
            "the file system of the output is full: free space there or {elsewhere}; \
             nothing partial was left behind"
        ),
        libc::EDQUOT => format!(
            "the disk quota of the output's owner is used up: free space or {elsewhere}; \
             nothing partial was left behind"
        ),
        libc::EROFS => format!("the output's file system is read-only: {elsewhere}"),
        libc::EFBIG if output == Output::OptionFile => format!(
            "the output's file system cannot hold a file this large: {elsewhere}, \
             or make the dump smaller (--filter, --exclude, or --format minidump)"
        ),
        libc::EFBIG => {
            format!("the output's file system cannot hold a file this large: {elsewhere}")
        }
        _ => return None,
    })
}

#[cfg(all(test, unix))]
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
        let text = describe(&e, Output::OptionFile);
        assert!(
            text.starts_with("writing the core at file offset 0x1000 failed: "),
            "{text}"
        );
        assert!(text.contains("No space left on device"), "{text}");
        assert!(text.contains("write elsewhere with -o"), "{text}");
        assert!(text.contains("nothing partial"), "{text}");
    }

    #[test]
    fn a_full_stream_does_not_claim_nothing_partial_was_left() {
        let e = Outer(io::Error::from_raw_os_error(libc::ENOSPC));
        let text = describe(&e, Output::Stream);
        assert!(text.contains("incomplete dump"), "{text}");
        assert!(!text.contains("nothing partial"), "{text}");
        assert!(!text.contains("-o"), "{text}");
    }

    #[test]
    fn convert_hints_name_its_out_argument_not_an_option() {
        let e = Outer(io::Error::from_raw_os_error(libc::ENOSPC));
        let text = describe(&e, Output::ArgumentFile);
        assert!(text.contains("give an OUT path elsewhere"), "{text}");
        assert!(!text.contains("-o"), "{text}");
    }

    #[test]
    fn an_errno_inside_an_io_error_wrapping_another_error_is_found() {
        // As a memory source or a sink reports it: io::Error::other(e),
        // whose source() skips `e` itself.
        let inner = Outer(io::Error::from_raw_os_error(libc::EROFS));
        let e = io::Error::other(inner);
        let text = describe(&e, Output::OptionFile);
        assert!(text.contains("read-only"), "{text}");
    }

    #[test]
    fn causes_already_in_the_message_are_not_repeated() {
        let inner = io::Error::from_raw_os_error(libc::EACCES);
        let e = io::Error::other(format!("opening x: {inner}"));
        assert_eq!(describe(&e, Output::Nothing), format!("opening x: {inner}"));
    }
}
