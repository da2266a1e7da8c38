//! Stand-ins for the commands that read a live process (`capture`, `demo`)
//! on systems other than Linux, where proc-reader has no ptrace or /proc to
//! use. They fail with a message saying so (exit status 1); `inspect` and
//! `convert` are file work and run everywhere.

fn refuse(command: &str) -> Result<(), String> {
    Err(format!(
        "`coroner {command}` needs Linux: it reads a live process with ptrace and /proc, \
         which this system ({}) does not have; `coroner inspect` and `coroner convert` \
         work here on dumps taken on Linux",
        std::env::consts::OS
    ))
}

/// `coroner capture` elsewhere than Linux.
pub mod capture_cmd {
    /// Refuse: see the module's documentation.
    pub fn run(_args: &crate::CaptureArgs) -> Result<(), crate::failure::Failure> {
        super::refuse("capture").map_err(Into::into)
    }
}

/// `coroner demo` elsewhere than Linux.
pub mod demo {
    /// Refuse: see the module's documentation.
    pub fn run(_args: &crate::DemoArgs) -> Result<(), crate::failure::Failure> {
        super::refuse("demo").map_err(Into::into)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_refusal_names_the_command_linux_and_what_works_here() {
        let msg = super::refuse("capture").unwrap_err();
        assert!(msg.starts_with("`coroner capture` needs Linux"), "{msg}");
        assert!(msg.contains(std::env::consts::OS), "{msg}");
        assert!(
            msg.contains("`coroner inspect` and `coroner convert`"),
            "{msg}"
        );
    }
}
