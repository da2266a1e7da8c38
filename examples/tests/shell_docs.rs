//! `coroner completions SHELL` and `coroner man` through the binary: each
//! succeeds and its output names every subcommand `coroner --help` lists
//! (read from the help, so a subcommand added later is checked too).

use std::process::Command;

fn coroner(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_coroner"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "coroner {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The names in the `Commands:` section of `coroner --help`, without clap's
/// own `help`.
fn subcommands_in_help() -> Vec<String> {
    let help = coroner(&["--help"]);
    let names: Vec<String> = help
        .lines()
        .skip_while(|line| !line.starts_with("Commands:"))
        .skip(1)
        .take_while(|line| line.starts_with("  "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect();
    for expected in ["capture", "inspect", "convert", "completions", "man"] {
        assert!(names.iter().any(|n| n == expected), "{names:?} in\n{help}");
    }
    names
}

#[test]
fn completions_for_bash_zsh_and_fish_name_every_subcommand() {
    let names = subcommands_in_help();
    for shell in ["bash", "zsh", "fish"] {
        let script = coroner(&["completions", shell]);
        assert!(script.len() > 1000, "{shell}: {script}");
        for name in &names {
            assert!(
                script.contains(name.as_str()),
                "{shell} lacks {name}:\n{script}"
            );
        }
    }
}

#[test]
fn bash_accepts_the_completion_script() {
    let script = coroner(&["completions", "bash"]);
    // Sourcing it defines the completion function and registers it.
    let out = Command::new("bash")
        .args([
            "--norc",
            "-c",
            "eval \"$1\" && complete -p coroner",
            "bash",
            &script,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("coroner"));
}

#[test]
fn the_man_page_names_every_subcommand() {
    let page = coroner(&["man"]);
    assert!(page.contains(".TH coroner 1"), "{page}");
    for name in subcommands_in_help() {
        // roff escapes hyphens (`crash\-handler`).
        let roff = name.replace('-', "\\-");
        assert!(
            page.contains(&name) || page.contains(&roff),
            "man page lacks {name}:\n{page}"
        );
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_coroner"))
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
