//! A counting global allocator: INFO's `used_memory` and the `maxmemory` check read the
//! bytes the process really holds, tracked as they change, instead of the resident set size
//! sampled once a second.
//!
//! [`Counting`] wraps the allocator a binary uses (mimalloc, or [`std::alloc::System`]) and
//! keeps one process-wide atomic up to date: a relaxed add on every allocation, a relaxed
//! subtract on every free. It counts the bytes asked for (`Layout::size`), not the size
//! class the allocator rounds them up to, so the figure is a little below what the
//! allocator has handed out; the difference shows in `mem_fragmentation_ratio` with the
//! rest of the allocator's overhead.
//!
//! A binary installs it and registers it, so that [`crate::server_store`] gives the store
//! its reading ([`gauge`]):
//!
//! ```no_run
//! use redish_host::alloc::Counting;
//!
//! #[global_allocator]
//! static GLOBAL: Counting<std::alloc::System> = Counting::new(std::alloc::System, "libc");
//!
//! fn main() {
//!     redish_host::alloc::register(&GLOBAL);
//!     // … redish_host::server_store(…) now reads GLOBAL's count.
//! }
//! ```

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// Bytes allocated and not yet freed through the installed [`Counting`] allocator.
static ALLOCATED: AtomicU64 = AtomicU64::new(0);

/// The registered allocator's name, once [`register`] was called.
static REGISTERED: OnceLock<&'static str> = OnceLock::new();

/// A global allocator that counts the bytes it holds, wrapping `A`.
#[derive(Debug)]
pub struct Counting<A> {
    inner: A,
    name: &'static str,
}

impl<A> Counting<A> {
    /// Wraps `inner`; `name` is what INFO's `mem_allocator` reports (`libc`, `mimalloc`).
    pub const fn new(inner: A, name: &'static str) -> Counting<A> {
        Counting { inner, name }
    }
}

// SAFETY: every call is forwarded to `inner` unchanged; the counter is only arithmetic on
// the sizes of the layouts that succeeded.
unsafe impl<A: GlobalAlloc> GlobalAlloc for Counting<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = self.inner.alloc(layout);
        if !p.is_null() {
            ALLOCATED.fetch_add(layout.size() as u64, Ordering::Relaxed);
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = self.inner.alloc_zeroed(layout);
        if !p.is_null() {
            ALLOCATED.fetch_add(layout.size() as u64, Ordering::Relaxed);
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.inner.dealloc(ptr, layout);
        ALLOCATED.fetch_sub(layout.size() as u64, Ordering::Relaxed);
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = self.inner.realloc(ptr, layout, new_size);
        if !p.is_null() {
            // Two's-complement wrapping makes a shrink a subtraction.
            let delta = (new_size as u64).wrapping_sub(layout.size() as u64);
            ALLOCATED.fetch_add(delta, Ordering::Relaxed);
        }
        p
    }
}

/// Declares `allocator` the process's global allocator, so that [`gauge`] reads its count.
/// Call it once, early in `main`; it must be the `#[global_allocator]` static.
pub fn register<A: GlobalAlloc>(allocator: &'static Counting<A>) {
    let _ = REGISTERED.set(allocator.name);
}

/// Bytes held through the counting allocator now (0 if none is installed).
pub fn allocated_bytes() -> u64 {
    ALLOCATED.load(Ordering::Relaxed)
}

/// The store's reading of the counting allocator, if one was [`register`]ed.
pub fn gauge() -> Option<Box<dyn redish_core::db::MemoryGauge>> {
    let name = *REGISTERED.get()?;
    Some(Box::new(AllocatorGauge { name }))
}

/// [`redish_core::db::MemoryGauge`] over the registered [`Counting`] allocator, with a
/// monotonic clock for the eviction time limit (`maxmemory-eviction-tenacity`).
#[derive(Debug)]
struct AllocatorGauge {
    name: &'static str,
}

impl redish_core::db::MemoryGauge for AllocatorGauge {
    fn used_bytes(&self) -> u64 {
        allocated_bytes()
    }

    fn allocator(&self) -> &str {
        self.name
    }

    fn monotonic_us(&self) -> Option<u64> {
        static START: OnceLock<std::time::Instant> = OnceLock::new();
        let start = START.get_or_init(std::time::Instant::now);
        Some(start.elapsed().as_micros() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_allocations_frees_and_reallocations() {
        // The counting allocator is not installed in this test binary: drive it directly.
        let a = Counting::new(std::alloc::System, "libc");
        let before = allocated_bytes();
        unsafe {
            let layout = Layout::from_size_align(1000, 8).unwrap();
            let p = a.alloc(layout);
            assert_eq!(allocated_bytes() - before, 1000);
            let p = a.realloc(p, layout, 3000);
            assert_eq!(allocated_bytes() - before, 3000);
            let layout = Layout::from_size_align(3000, 8).unwrap();
            let p = a.realloc(p, layout, 10);
            assert_eq!(allocated_bytes() - before, 10);
            a.dealloc(p, Layout::from_size_align(10, 8).unwrap());
        }
        assert_eq!(allocated_bytes(), before);
    }
}
