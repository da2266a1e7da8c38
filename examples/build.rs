//! Stamps `coroner --version` with the commit and the target it was built
//! for, so an operator can tell which build runs in a container: the commit
//! from git when building from the repository, from the package's
//! `.cargo_vcs_info.json` when building a published crate, else "unknown".
use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_owned())
}

/// `"sha1": "…"` in the file cargo writes into a package.
fn packaged_commit() -> Option<String> {
    let info = std::fs::read_to_string(".cargo_vcs_info.json").ok()?;
    let after = info.split("\"sha1\"").nth(1)?;
    let sha: String = after
        .chars()
        .skip_while(|c| !c.is_ascii_hexdigit())
        .take_while(char::is_ascii_hexdigit)
        .collect();
    (sha.len() >= 12).then_some(sha)
}

fn main() {
    let in_package = Path::new(".cargo_vcs_info.json").exists();
    let commit = if in_package {
        println!("cargo:rerun-if-changed=.cargo_vcs_info.json");
        packaged_commit()
    } else {
        // Rebuild when HEAD moves: HEAD itself (a branch switch), the
        // branch's ref (a commit) and packed-refs (after a gc).
        for name in ["HEAD", "packed-refs"] {
            if let Some(path) = git(&["rev-parse", "--git-path", name]) {
                println!("cargo:rerun-if-changed={path}");
            }
        }
        if let Some(path) =
            git(&["symbolic-ref", "-q", "HEAD"]).and_then(|r| git(&["rev-parse", "--git-path", &r]))
        {
            println!("cargo:rerun-if-changed={path}");
        }
        git(&["rev-parse", "HEAD"])
    };
    let commit = commit.map_or_else(|| "unknown".to_owned(), |c| c.chars().take(12).collect());
    println!("cargo:rustc-env=CORONER_COMMIT={commit}");
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".to_owned());
    println!("cargo:rustc-env=CORONER_TARGET={target}");
    println!("cargo:rerun-if-env-changed=TARGET");
}
