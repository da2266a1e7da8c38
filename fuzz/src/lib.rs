//! What every fuzz target links in: an allocator that refuses any single
//! allocation above [`ALLOCATION_LIMIT`].
//!
//! libFuzzer's `-malloc_limit_mb` (by default the `-rss_limit_mb` of 2048)
//! catches a parser that allocates more than its input justifies even when
//! the memory is never touched — but only through the sanitizer runtime's
//! malloc hooks. Campaigns run without a sanitizer (`-s none`: the code
//! under test is safe Rust, so AddressSanitizer finds nothing there and
//! costs 2.4-3.8x the CPU per execution), so the check lives here instead:
//! an allocation above the limit fails, which Rust turns into an abort
//! ("memory allocation of N bytes failed") that libFuzzer reports as a
//! crash with the input saved. Code that asks with `try_reserve` gets the
//! error and may recover, as it would on a host without the memory.
//!
//! Each target links it with `use coroner_fuzz as _;`.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};

/// The largest single allocation allowed, in bytes: libFuzzer's default
/// `-rss_limit_mb=2048`, which `fuzz/smoke.sh` and the campaigns pass too.
pub const ALLOCATION_LIMIT: usize = 2048 << 20;

/// The system allocator, with allocations above [`ALLOCATION_LIMIT`] refused.
pub struct LimitedAllocator;

// SAFETY: every call is forwarded unchanged to `System`, which upholds the
// `GlobalAlloc` contract; refusing (returning null) is allowed by it.
unsafe impl GlobalAlloc for LimitedAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > ALLOCATION_LIMIT {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > ALLOCATION_LIMIT {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > ALLOCATION_LIMIT {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: LimitedAllocator = LimitedAllocator;
