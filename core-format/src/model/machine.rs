use crate::raw;

/// The architectures whose registers this crate decodes and encodes,
/// identified by `e_machine`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Machine {
    /// `EM_X86_64` (62).
    X86_64,
    /// `EM_AARCH64` (183).
    Aarch64,
}

impl Machine {
    /// The machine of an `e_machine` value, if it is supported.
    ///
    /// ```
    /// use coroner_core_format::Machine;
    /// assert_eq!(Machine::from_e_machine(62), Some(Machine::X86_64));
    /// assert_eq!(Machine::from_e_machine(3), None);
    /// ```
    pub fn from_e_machine(e_machine: u16) -> Option<Machine> {
        match e_machine {
            raw::EM_X86_64 => Some(Machine::X86_64),
            raw::EM_AARCH64 => Some(Machine::Aarch64),
            _ => None,
        }
    }

    /// The `e_machine` value.
    pub fn e_machine(self) -> u16 {
        match self {
            Machine::X86_64 => raw::EM_X86_64,
            Machine::Aarch64 => raw::EM_AARCH64,
        }
    }

    /// Number of u64 general registers in `pr_reg` (27 or 34).
    pub fn gp_register_count(self) -> usize {
        match self {
            Machine::X86_64 => 27,
            Machine::Aarch64 => 34,
        }
    }

    /// Size of `struct elf_prstatus` (336 or 392).
    pub fn prstatus_size(self) -> usize {
        match self {
            Machine::X86_64 => raw::PRSTATUS_X86_64_SIZE,
            Machine::Aarch64 => raw::PRSTATUS_AARCH64_SIZE,
        }
    }

    /// The machine coroner itself runs on, if supported.
    pub fn host() -> Option<Machine> {
        if cfg!(target_arch = "x86_64") {
            Some(Machine::X86_64)
        } else if cfg!(target_arch = "aarch64") {
            Some(Machine::Aarch64)
        } else {
            None
        }
    }
}
