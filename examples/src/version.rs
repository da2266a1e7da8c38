//! What `coroner --version` prints: the version, the commit and the target
//! the binary was built for (`0.1.0 (commit 0123456789ab, x86_64-unknown-linux-musl)`),
//! stamped by build.rs.

/// The `--version` text.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("CORONER_COMMIT"),
    ", ",
    env!("CORONER_TARGET"),
    ")"
);
