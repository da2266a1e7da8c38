//! `coroner completions SHELL` and `coroner man`: shell completions and the
//! man page, generated from the same clap definitions that parse the
//! command line, so they cannot drift from it (clap_complete, clap_mangen:
//! clap's own generators, rather than hand-kept scripts and roff).

use std::io::{self, Write};

use clap::Args;
use clap_complete::Shell;

use crate::failure::Failure;

/// Arguments of `coroner completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for. Install for example with
    /// `coroner completions bash > /etc/bash_completion.d/coroner`,
    /// `coroner completions zsh > "${fpath[1]}/_coroner"` or
    /// `coroner completions fish > ~/.config/fish/completions/coroner.fish`.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Print the completion script for `args.shell` on stdout.
pub fn completions(args: &CompletionsArgs, mut command: clap::Command) -> Result<(), Failure> {
    let name = command.get_name().to_owned();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, name, &mut script);
    print(&script)
}

/// Print the man page, section 1, on stdout: the command's own page (its
/// SUBCOMMANDS section names each one), followed by a section per visible
/// subcommand with its synopsis, description and options, so one page
/// documents every flag (`coroner man > /usr/share/man/man1/coroner.1`).
pub fn man(command: clap::Command) -> Result<(), Failure> {
    let mut page = Vec::new();
    page_of(command, &mut page).map_err(|e| Failure::Message(format!("man page: {e}")))?;
    print(&page)
}

fn page_of(command: clap::Command, out: &mut Vec<u8>) -> io::Result<()> {
    // Subcommands' usage lines are only complete ("coroner capture …")
    // once clap has built the tree from the top.
    let mut command = command;
    command.build();
    let top = command.get_name().to_owned();
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone()).render(&mut page)?;
    // clap_mangen's SUBCOMMANDS list points at one page per subcommand
    // (coroner-capture(1)); here they are sections of this page.
    let mut page = String::from_utf8_lossy(&page).into_owned();
    for sub in command.get_subcommands() {
        let name = sub.get_name();
        page = page.replace(&format!("{top}\\-{name}(1)"), &format!("{top} {name}"));
    }
    out.extend_from_slice(page.as_bytes());
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let title = format!("{top} {}", sub.get_name()).to_uppercase();
        writeln!(out, ".SH \"{title}\"")?;
        // The subcommand's own sections become subsections of its section.
        let man = clap_mangen::Man::new(sub.clone());
        let mut sections = Vec::new();
        man.render_synopsis_section(&mut sections)?;
        man.render_description_section(&mut sections)?;
        man.render_options_section(&mut sections)?;
        if sub.has_subcommands() {
            man.render_subcommands_section(&mut sections)?;
        }
        for line in String::from_utf8_lossy(&sections).lines() {
            match line.strip_prefix(".SH ") {
                Some(heading) => writeln!(out, ".SS {heading}")?,
                None => writeln!(out, "{line}")?,
            }
        }
    }
    Ok(())
}

/// Write to stdout; a closed pipe (`coroner man | head`) is not a failure.
fn print(bytes: &[u8]) -> Result<(), Failure> {
    let mut stdout = io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(Failure::Message(format!("cannot write to stdout: {e}")))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    /// Every subcommand clap knows and shows (not a list kept by hand, so
    /// one added later is checked too).
    fn visible_subcommands() -> Vec<String> {
        let names: Vec<String> = crate::Cli::command()
            .get_subcommands()
            .filter(|s| !s.is_hide_set())
            .map(|s| s.get_name().to_owned())
            .collect();
        assert!(names.len() >= 6, "{names:?}");
        names
    }

    #[test]
    fn completions_of_every_shell_name_every_subcommand() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut crate::Cli::command(), "coroner", &mut script);
            let script = String::from_utf8(script).unwrap();
            for name in visible_subcommands() {
                assert!(
                    script.contains(&name),
                    "{shell} completions lack {name}:\n{script}"
                );
            }
            // Options of a subcommand complete too.
            assert!(script.contains("--format"), "{shell}:\n{script}");
        }
    }

    #[test]
    fn the_man_page_names_and_documents_every_subcommand() {
        let mut page = Vec::new();
        page_of(crate::Cli::command(), &mut page).unwrap();
        let page = String::from_utf8(page).unwrap();
        assert!(page.starts_with(".ie") || page.starts_with(".TH"), "{page}");
        assert!(page.contains(".TH coroner 1"), "{page}");
        for name in visible_subcommands() {
            // Listed in SUBCOMMANDS, and a section of its own.
            let section = format!(".SH \"CORONER {}\"", name.to_uppercase());
            assert!(page.contains(&section), "no {section} in:\n{page}");
            // Not a reference to a separate page that does not exist.
            assert!(!page.contains(&format!("coroner\\-{name}(1)")), "{page}");
        }
        // A subcommand's option, with its help text.
        assert!(page.contains("coredump_filter bits"), "{page}");
        assert!(
            !page.contains("sample\\-process"),
            "hidden commands stay out"
        );
    }
}
