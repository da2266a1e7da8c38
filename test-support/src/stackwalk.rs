//! minidump-stackwalk, the oracle the tests check minidumps with.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::{oracle, stdout_of};

/// minidump-stackwalk's JSON report of `dump` (`--json
/// --use-local-debuginfo`), required to succeed. `None` when
/// minidump-stackwalk is not installed: [`oracle`] prints why the calling
/// test skips, or panics under `COR_REQUIRE_ORACLES=1`.
pub fn minidump_stackwalk(dump: &Path) -> Option<Value> {
    let mut cmd = Command::new(oracle("minidump-stackwalk")?);
    cmd.args(["--json", "--use-local-debuginfo"]).arg(dump);
    let report = stdout_of(cmd);
    Some(serde_json::from_slice(&report).expect("minidump-stackwalk --json prints JSON"))
}
