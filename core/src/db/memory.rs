//! Memory accounting: what INFO's memory section reports and what `maxmemory` is checked
//! against.
//!
//! Core cannot see the allocator, so the adapter injects a [`MemoryGauge`] (the binaries
//! install a counting global allocator, `redish_host::alloc`, and hand its reading over).
//! Without one, `used_memory` falls back to what the adapter writes in
//! [`super::ProcessInfo::used_memory_bytes`].
//!
//! What the figures count:
//!
//! - `used_memory`: the gauge's bytes — everything the process holds through its global
//!   allocator (data, connections' buffers, the Lua VM, the runtime).
//! - `used_memory_peak`: the highest `used_memory` seen, at each reading (INFO, the
//!   `maxmemory` check before a command, the adapter's once-a-second sample).
//! - `used_memory_startup`: `used_memory` when the adapter called
//!   [`Store::mark_startup_memory`] (after the store is built, before data is loaded).
//! - `used_memory_overhead`: the startup figure, plus the keyspace's own structures (the
//!   tables' bucket arrays, one 64-byte entry per key, the expiry index at about 32 bytes per
//!   volatile key), plus the script cache and the Lua VM. Connections' buffers are counted
//!   in `used_memory` but not here: core does not hold them.
//! - `used_memory_dataset`: `used_memory` minus the overhead.

use std::sync::atomic::{AtomicU64, Ordering};

use super::Store;

/// The adapter's reading of the memory the process holds (see the module docs).
pub trait MemoryGauge: Send + Sync + std::fmt::Debug {
    /// Bytes held now.
    fn used_bytes(&self) -> u64;

    /// The allocator's name, as INFO's `mem_allocator` reports it (`libc`, `jemalloc-5.2.1`).
    fn allocator(&self) -> &str {
        "libc"
    }

    /// A monotonic clock in microseconds, to bound the time one eviction pass takes
    /// (`maxmemory-eviction-tenacity`); `None`: no bound, eviction runs until it freed
    /// enough or found nothing to evict.
    fn monotonic_us(&self) -> Option<u64> {
        None
    }
}

/// The store's memory accounting state.
#[derive(Debug, Default)]
pub(crate) struct Memory {
    pub gauge: Option<Box<dyn MemoryGauge>>,
    /// Highest reading: atomic so that readers holding `&Store` (INFO) can raise it.
    peak: AtomicU64,
    pub startup: u64,
}

/// Bytes the expiry index is estimated to take per volatile key.
const EXPIRY_INDEX_BYTES: u64 = 32;

impl Store {
    /// Injects the adapter's memory reading (see [`MemoryGauge`]).
    pub fn set_memory_gauge(&mut self, gauge: Box<dyn MemoryGauge>) {
        self.memory.gauge = Some(gauge);
    }

    /// Bytes the server holds (INFO `used_memory`): the gauge's reading, or without one
    /// the adapter's [`super::ProcessInfo::used_memory_bytes`]. Raises the peak.
    pub fn used_memory(&self) -> u64 {
        let used = match &self.memory.gauge {
            Some(g) => g.used_bytes(),
            None => self.server.process.used_memory_bytes,
        };
        self.memory.peak.fetch_max(used, Ordering::Relaxed);
        used
    }

    /// Takes a reading now, for the peak (adapters call it about once a second).
    pub fn sample_memory(&mut self) {
        self.used_memory();
    }

    /// Records the current reading as INFO's `used_memory_startup`: call it once the store
    /// is built, before loading data.
    pub fn mark_startup_memory(&mut self) {
        self.memory.startup = self.used_memory();
    }

    /// INFO `used_memory_peak`.
    pub(crate) fn used_memory_peak(&self) -> u64 {
        self.memory.peak.load(Ordering::Relaxed)
    }

    /// INFO `used_memory_startup`.
    pub(crate) fn used_memory_startup(&self) -> u64 {
        self.memory.startup
    }

    /// INFO `mem_allocator`.
    pub(crate) fn allocator_name(&self) -> &str {
        self.memory.gauge.as_ref().map_or("libc", |g| g.allocator())
    }

    /// A monotonic reading in microseconds for eviction's time limit: the injected clock's
    /// (see [`super::Clock`]), else the gauge's, else none (no limit).
    pub(crate) fn eviction_clock_us(&self) -> Option<u64> {
        if self.observe.clock.is_some() {
            return Some(self.monotonic_us());
        }
        self.memory.gauge.as_ref().and_then(|g| g.monotonic_us())
    }

    /// INFO `used_memory_overhead` (see the module docs for what it counts).
    pub(crate) fn used_memory_overhead(&self) -> u64 {
        let keyspace: u64 = self
            .dbs
            .iter()
            .map(|db| db.overhead_bytes() + db.volatile_len() as u64 * EXPIRY_INDEX_BYTES)
            .sum();
        let scripts = self.scripts.engine_memory() as u64 + self.scripts.memory() as u64;
        self.memory.startup + keyspace + scripts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[derive(Debug)]
    struct Fixed(Arc<AtomicU64>);

    impl MemoryGauge for Fixed {
        fn used_bytes(&self) -> u64 {
            self.0.load(Ordering::Relaxed)
        }
        fn allocator(&self) -> &str {
            "test"
        }
    }

    #[test]
    fn the_gauge_feeds_used_memory_peak_and_startup() {
        let mut store = Store::default();
        store.process_info_mut().used_memory_bytes = 7;
        assert_eq!(
            store.used_memory(),
            7,
            "without a gauge, the adapter's figure"
        );
        let bytes = Arc::new(AtomicU64::new(1000));
        store.set_memory_gauge(Box::new(Fixed(bytes.clone())));
        store.mark_startup_memory();
        bytes.store(5000, Ordering::Relaxed);
        assert_eq!(store.used_memory(), 5000);
        bytes.store(3000, Ordering::Relaxed);
        assert_eq!(store.used_memory(), 3000);
        assert_eq!(store.used_memory_peak(), 5000);
        assert_eq!(store.used_memory_startup(), 1000);
        assert_eq!(store.allocator_name(), "test");
        assert!(store.used_memory_overhead() >= 1000);
    }
}
