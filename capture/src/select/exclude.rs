//! `--exclude` rules: address ranges and path globs never dumped.

use std::fmt;

use super::MappingDesc;

/// One `--exclude` rule.
#[derive(Debug, Clone)]
pub enum Exclude {
    /// Mappings overlapping `[start, end)` are not dumped.
    Range {
        /// First excluded address.
        start: u64,
        /// One past the last excluded address.
        end: u64,
    },
    /// Mappings whose path matches the glob are not dumped.
    Path(glob::Pattern),
}

/// An `--exclude` argument that is neither `START-END` nor a valid glob.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad exclusion {arg:?}: {why}; give START-END in hex (0x7f00-0x7f80) or a path glob (*/libfoo*.so*)")]
pub struct ExcludeParseError {
    /// The argument.
    pub arg: String,
    /// What is wrong with it.
    pub why: String,
}

impl Exclude {
    /// Parse `START-END` (hex, `0x` optional, end exclusive) or a path glob.
    /// A path starts with `/` or `[` or contains a glob character; anything
    /// else that has a `-` is read as a range.
    pub fn parse(arg: &str) -> Result<Exclude, ExcludeParseError> {
        let bad = |why: String| ExcludeParseError {
            arg: arg.to_owned(),
            why,
        };
        if arg.trim().is_empty() {
            return Err(bad("it is empty".into()));
        }
        let looks_like_path = arg.starts_with('/')
            || arg.starts_with('[')
            || arg.contains(['*', '?'])
            || !arg.contains('-');
        if !looks_like_path {
            let (a, b) = arg.split_once('-').ok_or_else(|| bad("no '-'".into()))?;
            let num = |s: &str| {
                let s = s.trim();
                let s = s
                    .strip_prefix("0x")
                    .or_else(|| s.strip_prefix("0X"))
                    .unwrap_or(s);
                u64::from_str_radix(s, 16)
                    .map_err(|e| bad(format!("{s:?} is not a hex address: {e}")))
            };
            let (start, end) = (num(a)?, num(b)?);
            if end <= start {
                return Err(bad(format!("end {end:#x} is not above start {start:#x}")));
            }
            return Ok(Exclude::Range { start, end });
        }
        glob::Pattern::new(arg)
            .map(Exclude::Path)
            .map_err(|e| bad(e.to_string()))
    }

    /// Whether the rule excludes `m`.
    pub(crate) fn matches(&self, m: &MappingDesc<'_>) -> bool {
        match self {
            Exclude::Range { start, end } => m.start < *end && *start < m.end,
            Exclude::Path(p) => m.path.is_some_and(|path| p.matches(path)),
        }
    }
}

impl fmt::Display for Exclude {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exclude::Range { start, end } => write!(f, "{start:#x}-{end:#x}"),
            Exclude::Path(p) => f.write_str(p.as_str()),
        }
    }
}
