//! Tells the unit tests whether they are built inside coroner's repository,
//! where the unpublished coroner-test-support (its C target program) is:
//! the few unit tests that capture that program are `cfg(coroner_repo_tests)`
//! and compile out of the published package, whose other tests still run.
use std::path::Path;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(coroner_repo_tests)");
    println!("cargo::rerun-if-changed=build.rs");
    if Path::new("../test-support/Cargo.toml").exists() {
        println!("cargo::rustc-cfg=coroner_repo_tests");
    }
}
