//! `siginfo_t` as `PTRACE_GETSIGINFO` returns it (and as an ELF core's
//! `NT_SIGINFO` note holds it): 128 native-endian bytes whose first three
//! `int`s are common to every signal, followed by a union whose meaning
//! depends on the signal and `si_code`.

use super::ParseError;

/// Size of a kernel `siginfo_t` on every Linux architecture.
pub const SIGINFO_SIZE: usize = 128;
/// Offset of `si_signo` (`int`).
pub const SI_SIGNO_OFFSET: usize = 0;
/// Offset of `si_errno` (`int`).
pub const SI_ERRNO_OFFSET: usize = 4;
/// Offset of `si_code` (`int`).
pub const SI_CODE_OFFSET: usize = 8;
/// Offset of the union on 64-bit targets (after the three `int`s, aligned
/// to 8): `si_addr` for fault signals, `si_pid`/`si_uid` for sent ones.
pub const SI_ADDR_OFFSET: usize = 16;

/// `SIGILL`.
pub const SIGILL: i32 = 4;
/// `SIGTRAP`.
pub const SIGTRAP: i32 = 5;
/// `SIGBUS`.
pub const SIGBUS: i32 = 7;
/// `SIGFPE`.
pub const SIGFPE: i32 = 8;
/// `SIGSEGV`.
pub const SIGSEGV: i32 = 11;

/// The fields of a `siginfo_t` every consumer needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SigInfo {
    /// The signal number.
    pub signo: i32,
    /// An errno value associated with it (normally 0).
    pub errno: i32,
    /// Why it was sent: > 0 when the kernel raised it for a fault or event,
    /// `SI_USER` (0), `SI_QUEUE` (-1), `SI_TKILL` (-6) … when a process did.
    pub code: i32,
    /// The faulting address (`si_addr`), for SIGILL, SIGTRAP, SIGBUS, SIGFPE
    /// and SIGSEGV raised by the kernel (`code` > 0); `None` otherwise,
    /// where that union member means something else.
    pub fault_address: Option<u64>,
}

fn int_at(data: &[u8], offset: usize) -> Option<i32> {
    let end = offset.checked_add(4)?;
    let bytes = data.get(offset..end)?.try_into().ok()?;
    Some(i32::from_ne_bytes(bytes))
}

fn u64_at(data: &[u8], offset: usize) -> Option<u64> {
    let end = offset.checked_add(8)?;
    let bytes = data.get(offset..end)?.try_into().ok()?;
    Some(u64::from_ne_bytes(bytes))
}

/// Whether `signo` carries `si_addr` when the kernel raises it.
pub fn carries_fault_address(signo: i32) -> bool {
    matches!(signo, SIGILL | SIGTRAP | SIGBUS | SIGFPE | SIGSEGV)
}

/// Decode a raw `siginfo_t` of [`SIGINFO_SIZE`] bytes.
///
/// ```
/// use coroner_proc_reader::parse::siginfo::{parse_siginfo, SIGSEGV, SIGINFO_SIZE};
/// let mut raw = [0u8; SIGINFO_SIZE];
/// raw[..4].copy_from_slice(&SIGSEGV.to_ne_bytes());
/// raw[8..12].copy_from_slice(&1i32.to_ne_bytes()); // SEGV_MAPERR
/// raw[16..24].copy_from_slice(&0xdeadu64.to_ne_bytes());
/// let si = parse_siginfo(&raw).unwrap();
/// assert_eq!((si.signo, si.code, si.fault_address), (SIGSEGV, 1, Some(0xdead)));
/// ```
pub fn parse_siginfo(data: &[u8]) -> Result<SigInfo, ParseError> {
    if data.len() != SIGINFO_SIZE {
        return Err(ParseError::BadLength {
            len: data.len(),
            unit: SIGINFO_SIZE,
        });
    }
    let field =
        |offset, field| int_at(data, offset).ok_or(ParseError::MissingField { line: 0, field });
    let signo = field(SI_SIGNO_OFFSET, "si_signo")?;
    let errno = field(SI_ERRNO_OFFSET, "si_errno")?;
    let code = field(SI_CODE_OFFSET, "si_code")?;
    let fault_address = if carries_fault_address(signo) && code > 0 {
        Some(
            u64_at(data, SI_ADDR_OFFSET).ok_or(ParseError::MissingField {
                line: 0,
                field: "si_addr",
            })?,
        )
    } else {
        None
    };
    Ok(SigInfo {
        signo,
        errno,
        code,
        fault_address,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(signo: i32, code: i32, addr: u64) -> [u8; SIGINFO_SIZE] {
        let mut raw = [0u8; SIGINFO_SIZE];
        raw[SI_SIGNO_OFFSET..4].copy_from_slice(&signo.to_ne_bytes());
        raw[SI_ERRNO_OFFSET..8].copy_from_slice(&7i32.to_ne_bytes());
        raw[SI_CODE_OFFSET..12].copy_from_slice(&code.to_ne_bytes());
        raw[SI_ADDR_OFFSET..24].copy_from_slice(&addr.to_ne_bytes());
        raw
    }

    #[test]
    fn a_kernel_fault_has_an_address_a_sent_signal_does_not() {
        let fault = parse_siginfo(&raw(SIGBUS, 2, 0x1234)).unwrap();
        assert_eq!(
            fault,
            SigInfo {
                signo: SIGBUS,
                errno: 7,
                code: 2,
                fault_address: Some(0x1234)
            }
        );
        // kill(2) of SIGSEGV: SI_USER, the union holds si_pid/si_uid.
        let sent = parse_siginfo(&raw(SIGSEGV, 0, 0x1234)).unwrap();
        assert_eq!(sent.fault_address, None);
        // SIGSTOP has no address whatever its code.
        assert_eq!(parse_siginfo(&raw(19, 1, 5)).unwrap().fault_address, None);
    }

    #[test]
    fn only_whole_siginfos_are_accepted() {
        assert!(parse_siginfo(&[0; SIGINFO_SIZE - 1]).is_err());
        assert!(parse_siginfo(&[0; SIGINFO_SIZE + 1]).is_err());
        assert_eq!(parse_siginfo(&[0; SIGINFO_SIZE]), Ok(SigInfo::default()));
    }
}
