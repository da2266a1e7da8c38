//! Why a subcommand stopped, and the exit status that goes with it.

use std::process::ExitCode;

/// Why a subcommand stopped before finishing its work.
#[derive(Debug)]
pub enum Failure {
    /// A failure to report on stderr; exit status 1.
    Message(String),
    /// The reader of stdout went away (`coroner inspect core | head -1`).
    /// Nothing is wrong with what was done; the output is simply no longer
    /// wanted, so the command ends quietly with status 0, as `head`'s
    /// writer would expect.
    StdoutClosed,
}

impl Failure {
    /// Report on stderr (if there is anything to say) and give the exit
    /// status.
    pub fn report(self) -> ExitCode {
        match self {
            Failure::Message(msg) => {
                crate::output::note(&format!("coroner: error: {msg}"));
                ExitCode::from(1)
            }
            Failure::StdoutClosed => ExitCode::SUCCESS,
        }
    }
}

impl From<String> for Failure {
    fn from(msg: String) -> Failure {
        Failure::Message(msg)
    }
}

impl From<&str> for Failure {
    fn from(msg: &str) -> Failure {
        Failure::Message(msg.to_owned())
    }
}
