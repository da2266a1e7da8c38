//! `coroner --version` names the commit and the target it was built for.

use std::process::Command;

#[test]
fn version_names_the_commit_and_the_build_target() {
    let out = Command::new(env!("CARGO_BIN_EXE_coroner"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let prefix = format!("coroner {} (commit ", env!("CARGO_PKG_VERSION"));
    let rest = text
        .trim()
        .strip_prefix(&prefix)
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{text:?}"));
    let (commit, target) = rest.split_once(", ").unwrap_or_else(|| panic!("{text:?}"));
    // A target triple for this machine (…-linux-gnu, …-linux-musl …).
    assert!(target.starts_with(std::env::consts::ARCH), "{text:?}");
    assert!(target.contains(std::env::consts::OS), "{text:?}");
    // Built from the repository: its HEAD. From a package: the commit cargo
    // recorded, or "unknown" when it was packaged outside git.
    let head = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    match head {
        Some(head) => assert_eq!(commit, &head[..12], "{text:?}"),
        None => assert!(
            commit == "unknown"
                || (commit.len() == 12 && commit.bytes().all(|b| b.is_ascii_hexdigit())),
            "{text:?}"
        ),
    }
}
