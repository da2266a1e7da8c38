//! The target's memory as the unwinder reads it: a word at a time, through
//! a small page cache over whatever holds it (a core, a minidump, a live
//! process's stack).

use std::collections::HashMap;

/// Where the unwinder's reads go: fill `buf` from address `addr`, returning
/// how many bytes were available from there (fewer at a hole or the end).
pub(crate) trait ReadMemory {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> usize;
}

/// Bytes per cached page.
const PAGE: u64 = 4096;
const PAGE_LEN: usize = 4096;
/// Pages kept: the stacks of a few hundred threads' top frames.
const MAX_PAGES: usize = 4096;

/// A page cache over a [`ReadMemory`]: unwinding reads the same few stack
/// pages word by word, and each underlying read may be a system call.
pub(crate) struct CachedMemory<M> {
    inner: M,
    pages: HashMap<u64, Option<Box<[u8]>>>,
}

impl<M: ReadMemory> CachedMemory<M> {
    pub(crate) fn new(inner: M) -> CachedMemory<M> {
        CachedMemory {
            inner,
            pages: HashMap::new(),
        }
    }

    /// The 8-byte little-endian word at `addr`, if readable.
    pub(crate) fn read_u64(&mut self, addr: u64) -> Option<u64> {
        let mut word = [0u8; 8];
        (self.read(addr, &mut word) == word.len()).then(|| u64::from_le_bytes(word))
    }

    /// The page holding `addr`, whole, or `None` where the source has no
    /// full page (those reads go to the source directly).
    fn page(&mut self, base: u64) -> Option<&[u8]> {
        if !self.pages.contains_key(&base) {
            if self.pages.len() >= MAX_PAGES {
                self.pages.clear();
            }
            let mut bytes = vec![0u8; PAGE_LEN].into_boxed_slice();
            let got = self.inner.read(base, &mut bytes);
            let page = (got == bytes.len()).then_some(bytes);
            self.pages.insert(base, page);
        }
        self.pages.get(&base).and_then(|p| p.as_deref())
    }
}

impl<M: ReadMemory> ReadMemory for CachedMemory<M> {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> usize {
        let base = addr & !(PAGE - 1);
        let within = usize::try_from(addr.saturating_sub(base)).unwrap_or(usize::MAX);
        if let Some(page) = self.page(base) {
            if let Some(src) = within
                .checked_add(buf.len())
                .and_then(|end| page.get(within..end))
            {
                buf.copy_from_slice(src);
                return buf.len();
            }
        }
        // Crosses a page boundary or lies in a partial page.
        self.inner.read(addr, buf)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Memory of a test: `bytes` mapped at `base`.
    pub(crate) struct VecMemory {
        pub base: u64,
        pub bytes: Vec<u8>,
    }

    impl ReadMemory for VecMemory {
        fn read(&mut self, addr: u64, buf: &mut [u8]) -> usize {
            let Some(start) = addr.checked_sub(self.base) else {
                return 0;
            };
            let avail = self.bytes.get(start as usize..).unwrap_or(&[]);
            let n = avail.len().min(buf.len());
            buf[..n].copy_from_slice(&avail[..n]);
            n
        }
    }

    #[test]
    fn words_are_read_across_pages_and_up_to_the_end() {
        let mut bytes = vec![0u8; 8192 + 4];
        bytes[4092..4100].copy_from_slice(&0x1122_3344_5566_7788u64.to_le_bytes());
        let mut mem = CachedMemory::new(VecMemory {
            base: 0x10000,
            bytes,
        });
        assert_eq!(mem.read_u64(0x10000 + 4092), Some(0x1122_3344_5566_7788));
        assert_eq!(mem.read_u64(0x10000 + 8192), None, "only 4 bytes left");
        assert_eq!(mem.read_u64(0xfff8), None);
    }
}
