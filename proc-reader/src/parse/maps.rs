//! `/proc/<pid>/maps` and `/proc/<pid>/smaps`: the mapping list, and each
//! mapping's VmFlags and page counts.

use super::{lines, parse_u64, tokens, trim, ParseError};

/// Access permissions of a mapping (`rwxp` / `rwxs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Perms {
    /// `r`
    pub read: bool,
    /// `w`
    pub write: bool,
    /// `x`
    pub exec: bool,
    /// `s` (shared) rather than `p` (private).
    pub shared: bool,
}

impl Perms {
    /// ELF `p_flags`: R=4, W=2, X=1.
    pub fn elf_flags(self) -> u32 {
        u32::from(self.read) << 2 | u32::from(self.write) << 1 | u32::from(self.exec)
    }
}

/// A device number (`major:minor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Device {
    /// Major number.
    pub major: u32,
    /// Minor number.
    pub minor: u32,
}

/// Two-letter VmFlags mnemonics, in bit order of [`VmFlags`].
pub const VM_FLAG_NAMES: [&str; 38] = [
    "rd", "wr", "ex", "sh", "mr", "mw", "me", "ms", "gd", "pf", "dw", "lo", "io", "sr", "rr", "dc",
    "de", "ac", "nr", "ht", "sf", "nl", "ar", "wf", "dd", "sd", "mm", "hg", "nh", "mg", "um", "uw",
    "ss", "sl", "bt", "mt", "ui", "dp",
];

/// The `VmFlags:` line of one smaps entry: the known two-letter mnemonics as a
/// bit set, and any the table does not know kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct VmFlags {
    bits: u64,
    unknown: Vec<String>,
}

impl VmFlags {
    /// Parse the value of a `VmFlags:` line.
    ///
    /// ```
    /// use coroner_proc_reader::parse::maps::VmFlags;
    /// let f = VmFlags::parse(b"rd wr mr mw me dd ac zz");
    /// assert!(f.dont_dump() && f.contains("ac") && !f.io());
    /// assert_eq!(f.unknown(), ["zz"]);
    /// ```
    pub fn parse(text: &[u8]) -> VmFlags {
        let mut flags = VmFlags::default();
        for tok in tokens(text) {
            match VM_FLAG_NAMES.iter().position(|n| n.as_bytes() == tok) {
                Some(bit) => {
                    flags.bits |= 1u64
                        .checked_shl(u32::try_from(bit).unwrap_or(63))
                        .unwrap_or(0)
                }
                None => flags
                    .unknown
                    .push(String::from_utf8_lossy(tok).into_owned()),
            }
        }
        flags
    }

    /// Whether the mnemonic is set.
    pub fn contains(&self, mnemonic: &str) -> bool {
        match VM_FLAG_NAMES.iter().position(|n| *n == mnemonic) {
            Some(bit) => {
                self.bits
                    & 1u64
                        .checked_shl(u32::try_from(bit).unwrap_or(63))
                        .unwrap_or(0)
                    != 0
            }
            None => self.unknown.iter().any(|u| u == mnemonic),
        }
    }

    /// The set mnemonics, known ones first in table order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        VM_FLAG_NAMES
            .iter()
            .enumerate()
            .filter(|(i, _)| {
                self.bits
                    & 1u64
                        .checked_shl(u32::try_from(*i).unwrap_or(63))
                        .unwrap_or(0)
                    != 0
            })
            .map(|(_, n)| *n)
            .chain(self.unknown.iter().map(String::as_str))
    }

    /// Mnemonics the table does not know.
    pub fn unknown(&self) -> &[String] {
        &self.unknown
    }

    /// `dd`: VM_DONTDUMP (madvise(MADV_DONTDUMP)); the kernel skips it in cores.
    pub fn dont_dump(&self) -> bool {
        self.contains("dd")
    }
    /// `io`: VM_IO, memory-mapped I/O; never read it.
    pub fn io(&self) -> bool {
        self.contains("io")
    }
    /// `ht`: hugetlb mapping.
    pub fn hugetlb(&self) -> bool {
        self.contains("ht")
    }
    /// `pf`: VM_PFNMAP, pure page frames without struct page.
    pub fn pfn_map(&self) -> bool {
        self.contains("pf")
    }
    /// `sh`: shared mapping.
    pub fn shared(&self) -> bool {
        self.contains("sh")
    }
}

/// One mapping: a `maps` line, joined with its `smaps` figures when those
/// were read. Sizes are bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Mapping {
    /// First address.
    pub start: u64,
    /// One past the last address.
    pub end: u64,
    /// Permissions.
    pub perms: Perms,
    /// Offset into the file.
    pub offset: u64,
    /// Device of the file.
    pub dev: Device,
    /// Inode of the file (0 for anonymous memory).
    pub inode: u64,
    /// Path or pseudo-name (`[heap]`, `[stack]`, `[vdso]` …) as the kernel
    /// prints it, possibly ending in ` (deleted)`; empty for anonymous memory.
    pub path: Vec<u8>,
    /// VmFlags (empty when only `maps` was read).
    pub vm_flags: VmFlags,
    /// `Rss`: resident bytes.
    pub rss: u64,
    /// `Pss`.
    pub pss: u64,
    /// `Private_Dirty`.
    pub private_dirty: u64,
    /// `Shared_Dirty`.
    pub shared_dirty: u64,
    /// `Anonymous`: bytes of anonymous pages (ever written private memory).
    pub anonymous: u64,
    /// `Swap`.
    pub swap: u64,
    /// `Locked`.
    pub locked: u64,
    /// `KernelPageSize`, when given.
    pub kernel_page_size: Option<u64>,
    /// Whether smaps figures were filled in.
    pub has_smaps: bool,
}

impl Mapping {
    /// Size in bytes.
    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }
    /// Whether the mapping is empty (never, for the kernel's own output).
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }
    /// Whether `addr` lies inside.
    pub fn contains(&self, addr: u64) -> bool {
        self.start <= addr && addr < self.end
    }
    /// Whether the file behind it was deleted (` (deleted)` suffix).
    pub fn is_deleted(&self) -> bool {
        self.path.ends_with(b" (deleted)")
    }
    /// The pseudo-name for special mappings (`[heap]`, `[stack]`, `[vdso]`,
    /// `[vvar]`, `[vsyscall]`, `[anon:name]` …).
    pub fn pseudo_name(&self) -> Option<&[u8]> {
        (self.path.first() == Some(&b'[') && self.path.last() == Some(&b']'))
            .then_some(self.path.as_slice())
    }
    /// Whether the mapping is backed by a file (has an inode or an absolute path).
    pub fn is_file_backed(&self) -> bool {
        self.inode != 0 || self.path.first() == Some(&b'/')
    }
}

/// Parse one `maps` line (also the header line of an smaps block).
///
/// ```
/// use coroner_proc_reader::parse::maps::parse_maps_line;
/// let m = parse_maps_line(b"7f00-7f10 r-xp 00001000 fd:01 1234   /usr/lib/x y (deleted)", 1).unwrap();
/// assert_eq!((m.start, m.end, m.offset, m.inode), (0x7f00, 0x7f10, 0x1000, 1234));
/// assert!(m.perms.read && m.perms.exec && !m.perms.shared);
/// assert_eq!((m.dev.major, m.dev.minor), (0xfd, 1));
/// assert_eq!(m.path, b"/usr/lib/x y (deleted)");
/// assert!(m.is_deleted());
/// ```
pub fn parse_maps_line(text: &[u8], line: usize) -> Result<Mapping, ParseError> {
    // Five space-separated fields, then optional padding and the path (which
    // may contain spaces).
    let mut rest = text;
    let mut field = |name: &'static str| -> Result<&[u8], ParseError> {
        let start = rest
            .iter()
            .position(|&b| b != b' ')
            .ok_or(ParseError::MissingField { line, field: name })?;
        let after = rest.get(start..).unwrap_or(&[]);
        let len = after.iter().position(|&b| b == b' ').unwrap_or(after.len());
        let (tok, tail) = after.split_at(len);
        rest = tail;
        Ok(tok)
    };
    let range = field("address")?;
    let perms = field("perms")?;
    let offset = field("offset")?;
    let dev = field("dev")?;
    let inode = field("inode")?;
    let (start, end) = split2(range, b'-').ok_or(ParseError::Malformed {
        line,
        what: "address is start-end",
    })?;
    let start = parse_u64(start, 16).ok_or_else(|| ParseError::bad_number(line, "start", start))?;
    let end = parse_u64(end, 16).ok_or_else(|| ParseError::bad_number(line, "end", end))?;
    let perms = match perms {
        [r, w, x, s] => Perms {
            read: *r == b'r',
            write: *w == b'w',
            exec: *x == b'x',
            shared: *s == b's',
        },
        _ => {
            return Err(ParseError::Malformed {
                line,
                what: "perms are four letters",
            })
        }
    };
    let offset =
        parse_u64(offset, 16).ok_or_else(|| ParseError::bad_number(line, "offset", offset))?;
    let (major, minor) = split2(dev, b':').ok_or(ParseError::Malformed {
        line,
        what: "dev is major:minor",
    })?;
    let dev = Device {
        major: parse_u64(major, 16)
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| ParseError::bad_number(line, "dev", dev))?,
        minor: parse_u64(minor, 16)
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| ParseError::bad_number(line, "dev", dev))?,
    };
    let inode = parse_u64(inode, 10).ok_or_else(|| ParseError::bad_number(line, "inode", inode))?;
    let path_start = rest.iter().position(|&b| b != b' ').unwrap_or(rest.len());
    let path = rest.get(path_start..).unwrap_or(&[]).to_vec();
    Ok(Mapping {
        start,
        end,
        perms,
        offset,
        dev,
        inode,
        path,
        ..Mapping::default()
    })
}

fn split2(text: &[u8], sep: u8) -> Option<(&[u8], &[u8])> {
    let at = text.iter().position(|&b| b == sep)?;
    Some((text.get(..at)?, text.get(at.checked_add(1)?..)?))
}

/// Parse a whole `maps` file.
pub fn parse_maps(data: &[u8]) -> Result<Vec<Mapping>, ParseError> {
    lines(data)
        .filter(|(_, l)| !l.is_empty())
        .map(|(n, l)| parse_maps_line(l, n))
        .collect()
}

/// Parse an `smaps` file: each mapping's header line followed by `Key: value`
/// lines (sizes in kB) and `VmFlags:`.
///
/// ```
/// use coroner_proc_reader::parse::maps::parse_smaps;
/// let v = parse_smaps(b"1000-3000 rw-p 00000000 00:00 0 \nSize:  8 kB\nRss:   4 kB\n\
/// Anonymous:  4 kB\nVmFlags: rd wr mr mw me dd ac \n").unwrap();
/// assert_eq!((v[0].rss, v[0].anonymous), (4096, 4096));
/// assert!(v[0].vm_flags.dont_dump());
/// ```
pub fn parse_smaps(data: &[u8]) -> Result<Vec<Mapping>, ParseError> {
    let mut out: Vec<Mapping> = Vec::new();
    for (line, text) in lines(data) {
        let first = tokens(text).next().unwrap_or(&[]);
        if first.is_empty() {
            continue;
        }
        let Some(key) = first.strip_suffix(b":") else {
            let mut m = parse_maps_line(text, line)?;
            m.has_smaps = true;
            out.push(m);
            continue;
        };
        let Some(current) = out.last_mut() else {
            return Err(ParseError::Malformed {
                line,
                what: "smaps field before any mapping",
            });
        };
        let colon = text.iter().position(|&b| b == b':').unwrap_or(0);
        let value = trim(text.get(colon.saturating_add(1)..).unwrap_or(&[]));
        if key == b"VmFlags" {
            current.vm_flags = VmFlags::parse(value);
            continue;
        }
        let slot = match key {
            b"Rss" => &mut current.rss,
            b"Pss" => &mut current.pss,
            b"Private_Dirty" => &mut current.private_dirty,
            b"Shared_Dirty" => &mut current.shared_dirty,
            b"Anonymous" => &mut current.anonymous,
            b"Swap" => &mut current.swap,
            b"Locked" => &mut current.locked,
            b"KernelPageSize" => {
                current.kernel_page_size = Some(kb(line, "KernelPageSize", value)?);
                continue;
            }
            _ => continue,
        };
        *slot = kb(line, "size", value)?;
    }
    Ok(out)
}

fn kb(line: usize, field: &'static str, value: &[u8]) -> Result<u64, ParseError> {
    let n = tokens(value).next().unwrap_or(&[]);
    parse_u64(n, 10)
        .and_then(|v| v.checked_mul(1024))
        .ok_or_else(|| ParseError::bad_number(line, field, value))
}

/// Join a `maps` listing with `smaps` figures read separately: each mapping
/// of `maps` takes the VmFlags and sizes of the smaps entry with the same
/// start and end; mappings smaps lacks (the process changed in between) keep
/// `has_smaps == false`.
pub fn join_maps_smaps(maps: Vec<Mapping>, smaps: &[Mapping]) -> Vec<Mapping> {
    let mut j = 0usize;
    maps.into_iter()
        .map(|mut m| {
            while smaps.get(j).is_some_and(|s| s.start < m.start) {
                j = j.saturating_add(1);
            }
            if let Some(s) = smaps
                .get(j)
                .filter(|s| s.start == m.start && s.end == m.end)
            {
                let path = std::mem::take(&mut m.path);
                m = Mapping { path, ..s.clone() };
            }
            m
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMAPS: &[u8] = b"55d4c0a00000-55d4c0a02000 r--p 00000000 08:01 131 /usr/bin/cat
Size:                  8 kB
KernelPageSize:        4 kB
MMUPageSize:           4 kB
Rss:                   8 kB
Pss:                   8 kB
Pss_Dirty:             0 kB
Shared_Clean:          0 kB
Shared_Dirty:          0 kB
Private_Clean:         8 kB
Private_Dirty:         0 kB
Referenced:            8 kB
Anonymous:             0 kB
KSM:                   0 kB
LazyFree:              0 kB
AnonHugePages:         0 kB
ShmemPmdMapped:        0 kB
FilePmdMapped:         0 kB
Shared_Hugetlb:        0 kB
Private_Hugetlb:       0 kB
Swap:                  0 kB
SwapPss:               0 kB
Locked:                0 kB
THPeligible:           0
VmFlags: rd mr mw me sd 
7f0000000000-7f0000100000 rw-p 00000000 00:00 0 
Size:               1024 kB
Rss:                 12 kB
Anonymous:           12 kB
Swap:                 4 kB
ProtectionKey:         0
VmFlags: rd wr mr mw me ac sd io dd ht
7ffc1000-7ffc3000 r-xp 00000000 00:00 0                          [vdso]
Rss:                   4 kB
VmFlags: rd ex mr mw me de sd
";

    #[test]
    fn smaps_blocks() {
        let v = parse_smaps(SMAPS).unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].path, b"/usr/bin/cat");
        assert_eq!(
            (v[0].rss, v[0].anonymous, v[0].kernel_page_size),
            (8192, 0, Some(4096))
        );
        assert_eq!(
            (v[1].rss, v[1].anonymous, v[1].swap),
            (12 * 1024, 12 * 1024, 4096)
        );
        assert!(v[1].vm_flags.dont_dump() && v[1].vm_flags.io() && v[1].vm_flags.hugetlb());
        assert!(!v[0].vm_flags.dont_dump());
        assert_eq!(v[1].path, b"");
        assert_eq!(v[2].pseudo_name(), Some(&b"[vdso]"[..]));
        assert!(v.iter().all(|m| m.has_smaps));
        assert_eq!(
            v[1].vm_flags.iter().collect::<Vec<_>>(),
            ["rd", "wr", "mr", "mw", "me", "io", "ac", "ht", "dd", "sd"]
        );
    }

    #[test]
    fn maps_and_join() {
        let maps = parse_maps(
            b"1000-2000 rw-p 00000000 00:00 0\n2000-3000 r--s 00000010 00:05 7 /dev/shm/x\n",
        )
        .unwrap();
        assert_eq!(maps.len(), 2);
        assert!(maps[1].perms.shared && maps[1].is_file_backed());
        assert_eq!(maps[1].perms.elf_flags(), 4);
        let smaps =
            parse_smaps(b"2000-3000 r--s 00000010 00:05 7 /dev/shm/x\nRss: 4 kB\nVmFlags: rd sh\n")
                .unwrap();
        let joined = join_maps_smaps(maps, &smaps);
        assert!(!joined[0].has_smaps);
        assert!(joined[1].has_smaps && joined[1].vm_flags.shared());
        assert_eq!(joined[1].rss, 4096);
    }

    #[test]
    fn malformed() {
        assert!(parse_maps(b"zz-1000 rw-p 0 00:00 0\n").is_err());
        assert!(parse_maps(b"1000-2000 rw 0 00:00 0\n").is_err());
        assert!(parse_maps(b"1000-2000 rw-p 0 0000 0\n").is_err());
        assert!(parse_maps(b"1000-2000 rw-p 0 00:00\n").is_err());
        assert!(parse_smaps(b"Rss: 4 kB\n").is_err());
        assert!(parse_smaps(b"1000-2000 rw-p 0 00:00 0\nRss: x kB\n").is_err());
    }
}
