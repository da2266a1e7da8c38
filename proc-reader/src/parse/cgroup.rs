//! `/proc/<pid>/cgroup`: `hierarchy-ID:controller-list:cgroup-path` lines.

use super::{lines, parse_u32, ParseError};

/// One line of a `cgroup` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupEntry {
    /// Hierarchy id (0 for the cgroup v2 unified hierarchy).
    pub hierarchy: u32,
    /// Controllers bound to the hierarchy (empty for v2); named hierarchies
    /// appear as `name=...`.
    pub controllers: Vec<String>,
    /// The cgroup's path within the hierarchy (may itself contain `:`).
    pub path: Vec<u8>,
}

/// Parse a `cgroup` file.
///
/// ```
/// use coroner_proc_reader::parse::cgroup::parse_cgroup;
/// let v = parse_cgroup(b"0::/user.slice/a:b\n4:cpu,cpuacct:/\n").unwrap();
/// assert_eq!(v[0].path, b"/user.slice/a:b");
/// assert_eq!(v[1].controllers, ["cpu", "cpuacct"]);
/// ```
pub fn parse_cgroup(data: &[u8]) -> Result<Vec<CgroupEntry>, ParseError> {
    let mut out = Vec::new();
    for (line, text) in lines(data) {
        let mut parts = text.splitn(3, |&b| b == b':');
        let (Some(id), Some(ctl), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(ParseError::Malformed {
                line,
                what: "expected ID:controllers:path",
            });
        };
        let hierarchy =
            parse_u32(id).ok_or_else(|| ParseError::bad_number(line, "hierarchy-ID", id))?;
        let controllers = ctl
            .split(|&b| b == b',')
            .filter(|c| !c.is_empty())
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        out.push(CgroupEntry {
            hierarchy,
            controllers,
            path: path.to_vec(),
        });
    }
    Ok(out)
}
