use crate::raw;

/// The `siginfo_t` of `NT_SIGINFO`, kept as its 128 raw bytes with typed
/// accessors for the common fields.
///
/// ```
/// use coroner_core_format::SigInfo;
/// let si = SigInfo::new(11, 0, 1).with_addr(0x10);
/// assert_eq!((si.signo(), si.errno(), si.code(), si.addr()), (11, 0, 1, 0x10));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SigInfo {
    /// The raw `siginfo_t`.
    pub bytes: [u8; raw::SIGINFO_SIZE],
}

impl Default for SigInfo {
    fn default() -> SigInfo {
        SigInfo {
            bytes: [0; raw::SIGINFO_SIZE],
        }
    }
}

impl core::fmt::Debug for SigInfo {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SigInfo")
            .field("signo", &self.signo())
            .field("errno", &self.errno())
            .field("code", &self.code())
            .field("addr", &format_args!("{:#x}", self.addr()))
            .finish_non_exhaustive()
    }
}

fn get<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(src) = at.checked_add(N).and_then(|end| bytes.get(at..end)) {
        out.copy_from_slice(src);
    }
    out
}

fn put(bytes: &mut [u8], at: usize, value: &[u8]) {
    if let Some(dst) = at
        .checked_add(value.len())
        .and_then(|end| bytes.get_mut(at..end))
    {
        dst.copy_from_slice(value);
    }
}

impl SigInfo {
    /// A `siginfo_t` with `si_signo`, `si_errno` and `si_code` set, the rest zero.
    pub fn new(signo: i32, errno: i32, code: i32) -> SigInfo {
        let mut si = SigInfo::default();
        put(&mut si.bytes, raw::SI_SIGNO_OFFSET, &signo.to_le_bytes());
        put(&mut si.bytes, raw::SI_ERRNO_OFFSET, &errno.to_le_bytes());
        put(&mut si.bytes, raw::SI_CODE_OFFSET, &code.to_le_bytes());
        si
    }

    /// Set `si_addr` (the faulting address of SIGSEGV, SIGBUS …).
    pub fn with_addr(mut self, addr: u64) -> SigInfo {
        put(&mut self.bytes, raw::SI_FIELDS_OFFSET, &addr.to_le_bytes());
        self
    }

    /// From the raw descriptor; `None` unless it is exactly 128 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<SigInfo> {
        Some(SigInfo {
            bytes: bytes.try_into().ok()?,
        })
    }

    /// `si_signo`.
    pub fn signo(&self) -> i32 {
        i32::from_le_bytes(get(&self.bytes, raw::SI_SIGNO_OFFSET))
    }

    /// `si_errno`.
    pub fn errno(&self) -> i32 {
        i32::from_le_bytes(get(&self.bytes, raw::SI_ERRNO_OFFSET))
    }

    /// `si_code`.
    pub fn code(&self) -> i32 {
        i32::from_le_bytes(get(&self.bytes, raw::SI_CODE_OFFSET))
    }

    /// `si_addr` (meaningful for SIGSEGV, SIGBUS, SIGILL, SIGFPE).
    pub fn addr(&self) -> u64 {
        u64::from_le_bytes(get(&self.bytes, raw::SI_FIELDS_OFFSET))
    }

    /// `si_pid` (meaningful for signals sent by a process, `si_code` ≤ 0).
    pub fn pid(&self) -> i32 {
        i32::from_le_bytes(get(&self.bytes, raw::SI_FIELDS_OFFSET))
    }

    /// `si_uid` (meaningful for signals sent by a process).
    pub fn uid(&self) -> u32 {
        u32::from_le_bytes(get(&self.bytes, raw::SI_UID_OFFSET))
    }
}
