//! Giving memory back to the system after large requests. mimalloc keeps freed pages in the heap
//! of the thread that used them (fast for the next request of that size), and a blocking thread
//! that goes idle after a burst of large bodies keeps them until it exits, 10 s later: hundreds of
//! megabytes resident for nothing (BENCHMARKS.md, "Memory that comes back"). A collect on that
//! thread, right after the large request, returns them at once.

/// Bodies from this size on are followed by a collect. Smaller ones reuse their pages: at 5 MB
/// fresh pages for every request would cost more than the pages kept (BENCHMARKS.md, "Measured
/// choices in the code").
pub const LARGE_BODY_BYTES: usize = 8 << 20;

/// Frees the calling thread's empty pages and returns every purgeable page to the system now.
pub fn give_back() {
    // SAFETY: mi_collect has no preconditions; with mimalloc as the global allocator it acts on
    // this thread's heap and the shared arenas, and with another allocator it finds nothing.
    unsafe { libmimalloc_sys::mi_collect(true) }
}
