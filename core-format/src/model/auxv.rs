/// One auxiliary vector entry (`NT_AUXV`), for example
/// `AuxvEntry { key: raw::AT_PAGESZ, value: 4096 }`.
///
/// The terminating `AT_NULL` is not part of the model: the reader stops at
/// it and the writer appends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AuxvEntry {
    /// `a_type` (`AT_*`).
    pub key: u64,
    /// `a_val`.
    pub value: u64,
}
