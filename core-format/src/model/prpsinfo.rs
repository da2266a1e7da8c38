use scroll::Pwrite;

use crate::{raw, ReadError};

/// Process information (`NT_PRPSINFO`, `struct elf_prpsinfo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PrPsInfo {
    /// Numeric state (0 R, 1 S, 2 D, 3 Z, 4 T …).
    pub state: u8,
    /// State letter.
    pub sname: u8,
    /// Zombie flag.
    pub zomb: u8,
    /// Nice value.
    pub nice: i8,
    /// Process flags (`PF_*`).
    pub flag: u64,
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
    /// Process id.
    pub pid: i32,
    /// Parent process id.
    pub ppid: i32,
    /// Process group id.
    pub pgrp: i32,
    /// Session id.
    pub sid: i32,
    /// Command name, NUL-padded.
    pub fname: [u8; 16],
    /// Start of the command line, NULs replaced by spaces, NUL-padded.
    pub psargs: [u8; 80],
}

impl Default for PrPsInfo {
    fn default() -> PrPsInfo {
        PrPsInfo {
            state: 0,
            sname: b'R',
            zomb: 0,
            nice: 0,
            flag: 0,
            uid: 0,
            gid: 0,
            pid: 0,
            ppid: 0,
            pgrp: 0,
            sid: 0,
            fname: [0; 16],
            psargs: [0; 80],
        }
    }
}

fn copy_str(dst: &mut [u8], src: &[u8], nul_to_space: bool) {
    // Leave room for a terminating NUL, as the kernel does.
    let room = dst.len().saturating_sub(1);
    for (d, &s) in dst.iter_mut().zip(src.iter().take(room)) {
        *d = if nul_to_space && s == 0 { b' ' } else { s };
    }
}

fn until_nul(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    bytes.get(..end).unwrap_or(bytes)
}

impl PrPsInfo {
    /// Set `fname` from a command name (truncated to 15 bytes).
    pub fn set_fname(&mut self, name: &[u8]) {
        self.fname = [0; 16];
        copy_str(&mut self.fname, name, false);
    }

    /// Set `psargs` from the raw `/proc/pid/cmdline` (NUL-separated),
    /// truncated to 79 bytes with NULs turned into spaces, as the kernel does.
    pub fn set_psargs(&mut self, cmdline: &[u8]) {
        self.psargs = [0; 80];
        let trimmed = cmdline.strip_suffix(b"\0").unwrap_or(cmdline);
        copy_str(&mut self.psargs, trimmed, true);
    }

    /// The command name up to its first NUL.
    pub fn fname_bytes(&self) -> &[u8] {
        until_nul(&self.fname)
    }

    /// The arguments up to the first NUL.
    pub fn psargs_bytes(&self) -> &[u8] {
        until_nul(&self.psargs)
    }

    /// Decode a `NT_PRPSINFO` descriptor (at least 136 bytes).
    pub fn parse(desc: &[u8], note_offset: u64) -> Result<PrPsInfo, ReadError> {
        let r: raw::elf_prpsinfo =
            super::read_desc(desc, raw::NT_PRPSINFO, note_offset, raw::PRPSINFO_SIZE)?;
        Ok(PrPsInfo {
            state: r.pr_state,
            sname: r.pr_sname,
            zomb: r.pr_zomb,
            nice: r.pr_nice,
            flag: r.pr_flag,
            uid: r.pr_uid,
            gid: r.pr_gid,
            pid: r.pr_pid,
            ppid: r.pr_ppid,
            pgrp: r.pr_pgrp,
            sid: r.pr_sid,
            fname: r.pr_fname,
            psargs: r.pr_psargs,
        })
    }

    /// Encode as a `NT_PRPSINFO` descriptor (136 bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        let r = raw::elf_prpsinfo {
            pr_state: self.state,
            pr_sname: self.sname,
            pr_zomb: self.zomb,
            pr_nice: self.nice,
            pr_pad0: 0,
            pr_flag: self.flag,
            pr_uid: self.uid,
            pr_gid: self.gid,
            pr_pid: self.pid,
            pr_ppid: self.ppid,
            pr_pgrp: self.pgrp,
            pr_sid: self.sid,
            pr_fname: self.fname,
            pr_psargs: self.psargs,
        };
        let mut out = vec![0u8; raw::PRPSINFO_SIZE];
        // Cannot fail: the buffer has exactly the structure's size.
        let _ = out.pwrite_with(r, 0, scroll::LE);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psargs_like_the_kernel() {
        let mut p = PrPsInfo::default();
        p.set_psargs(b"/bin/prog\0--a\0b\0");
        assert_eq!(p.psargs_bytes(), b"/bin/prog --a b");
        p.set_fname(b"a-very-long-command-name");
        assert_eq!(p.fname_bytes(), b"a-very-long-com");
        let back = PrPsInfo::parse(&p.to_bytes(), 0).unwrap();
        assert_eq!(back, p);
    }
}
