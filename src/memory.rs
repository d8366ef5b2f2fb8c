//! Giving memory back to the system after large requests. mimalloc keeps freed pages in the heap
//! of the thread that used them (fast for the next request of that size), and a blocking thread
//! that goes idle after a burst of large bodies keeps them until it exits, 10 s later: measured,
//! 492 MB resident for those 10 s after twelve 60 MB requests, against 25 MB idle. A collect on
//! that thread, right after the large request, returns them at once.

/// Bodies from this size on are followed by a collect. Smaller ones reuse their pages: at 5 MB
/// fresh pages cost 10-15 % of the request (BENCHMARKS.md), and what they keep is small.
pub const LARGE_BODY_BYTES: usize = 8 << 20;

/// Frees the calling thread's empty pages and returns every purgeable page to the system now.
pub fn give_back() {
    // SAFETY: mi_collect has no preconditions; with mimalloc as the global allocator it acts on
    // this thread's heap and the shared arenas, and with another allocator it finds nothing.
    unsafe { libmimalloc_sys::mi_collect(true) }
}
