//! Giving memory back to the system after large requests. mimalloc keeps freed pages in the heap
//! of the thread that used them (fast for the next request of that size), and a blocking thread
//! that goes idle after a burst of large bodies keeps them until it exits, 10 s later: hundreds of
//! megabytes resident for nothing (BENCHMARKS.md, "Memory that comes back"). A collect on that
//! thread, right after the large request, returns them at once.

/// How long mimalloc keeps freed pages before it gives them back to the system (its
/// `purge_delay`). Once per delay, mimalloc purges every free page it holds, pages about to be
/// reused included, and each is then faulted in afresh (the kernel zeroes it). At its default of
/// 1 s, ResNet-50 at 8 concurrent requests faulted about 1,500 pages (6 MB) per image; at 10 s
/// about 85, for 3-10 % more images per second (BENCHMARKS.md, "Stop 31"). Large bodies still
/// give theirs back at once (`give_back` forces the purge).
const PURGE_DELAY_MS: std::ffi::c_long = 10_000;

/// mimalloc's option number for `purge_delay` (`mi_option_purge_delay` in the `mimalloc.h` of
/// libmimalloc-sys's default build, mimalloc 3; the crate does not name it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Sets the allocator's purge delay, unless the environment sets mimalloc's own
/// (`MIMALLOC_PURGE_DELAY`), which mimalloc has read by now.
pub fn keep_freed_pages() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: mi_option_set stores a value for an option number in range, which this one is
        // (the test below reads purge_delay's default through it).
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_purge_delay_is_the_option_set() {
        // SAFETY: mi_option_get reads an option number in range.
        let read = || unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        assert!(std::env::var_os("MIMALLOC_PURGE_DELAY").is_none());
        // mimalloc 3's default for purge_delay (its `options.c`): the number names that option.
        assert_eq!(read(), 1000);
        keep_freed_pages();
        assert_eq!(read(), PURGE_DELAY_MS);
    }
}
