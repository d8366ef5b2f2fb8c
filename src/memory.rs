//! Giving memory back to the system after large requests. mimalloc keeps freed pages in the heap
//! of the thread that used them (fast for the next request of that size), and a blocking thread
//! that goes idle after a burst of large bodies keeps them until it exits, 10 s later (or until
//! the next purge after that): hundreds of megabytes resident for nothing (BENCHMARKS.md, "Memory
//! that comes back"). A collect on that thread, right after the large request, returns them at
//! once.

/// How long mimalloc keeps freed pages before it gives them back to the system (its
/// `purge_delay`). Once per delay, mimalloc purges every free range its arenas hold, ranges about
/// to be reused by the requests in flight included, and each page is then faulted in afresh (the
/// kernel zeroes it): at its default of 1 s, that was a few percent of a busy server's time on
/// image models (BENCHMARKS.md, "Measured choices in the code"). Freed memory now stays resident
/// about this long after the traffic that used it (mimalloc purges on its next page release past
/// the delay, so an idle server may hold it longer); large bodies still give theirs back at once
/// (`give_back` forces the purge, of every thread's ranges: a steady stream of bodies of 8 MiB or
/// more purges as often as they come).
const PURGE_DELAY_MS: std::ffi::c_long = 10_000;

/// mimalloc's option number for `purge_delay` (`mi_option_purge_delay` in the `mimalloc.h` of
/// libmimalloc-sys's default build, mimalloc 3; the crate does not name it, and Cargo.toml pins
/// the crate's version so that the number cannot move under it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Sets the allocator's purge delay, unless the environment set mimalloc's own
/// (`MIMALLOC_PURGE_DELAY`, read by mimalloc at start), which then wins.
pub fn keep_freed_pages() {
    // SAFETY: mi_option_set_default stores a value for an option number in range, which this one
    // is (the test below reads purge_delay's default through it). It leaves an option the
    // environment set as it is.
    unsafe { libmimalloc_sys::mi_option_set_default(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) }
}

/// Bodies from this size on are followed by a collect. Smaller ones reuse their pages: at 5 MB
/// fresh pages for every request would cost more than the pages kept (BENCHMARKS.md, "Measured
/// choices in the code").
pub const LARGE_BODY_BYTES: usize = 8 << 20;

/// Frees the calling thread's empty pages and returns every purgeable page to the system now.
/// (mimalloc lets one thread purge at a time: if another is purging, what it leaves waits for the
/// next purge, up to [`PURGE_DELAY_MS`] later.)
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
        // SAFETY: mi_option_get and mi_option_set take an option number in range.
        let read = || unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        assert!(
            std::env::var_os("MIMALLOC_PURGE_DELAY").is_none(),
            "unset MIMALLOC_PURGE_DELAY to run this test: it reads mimalloc's default"
        );
        // mimalloc 3's default for purge_delay (its `options.c`): the number names that option.
        let default = read();
        assert_eq!(default, 1000);
        keep_freed_pages();
        let set = read();
        // SAFETY: as above. The option is the process's: put back for any test after this one.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, default) };
        assert_eq!(set, PURGE_DELAY_MS);
    }
}
