//! The AVX2 (with FMA) versions of the direct convolution's and max pool's vector code, for
//! machines without AVX-512 (for example AMD's cores before Zen 4, which many cloud VM sizes run
//! on). Their 16 registers hold 8 floats each where AVX-512's 32 hold 16, so the
//! tiles run as smaller sub-tiles that keep their accumulators in registers. Every sum is taken in
//! the same order as on AVX-512 (input channel, then tap, from zero, one multiply-add each), and
//! the steps after it are the same operations, so the answers are the same bits: tract's.

use std::arch::x86_64::*;

mod across;
mod pool;
mod tile;
mod transpose;

pub use across::run_tile as run_across_tile;
pub use pool::{copy_every_second, pool};
pub use tile::run_tile;
pub use transpose::to_channels;

/// The first `count` floats at `at` (all 8 if `count >= 8`), the others zero.
///
/// # Safety
///
/// The machine has AVX2, and the `count.min(8)` floats at `at` are readable. The others are not
/// read (nor fault).
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn load(at: *const f32, count: usize) -> __m256 {
    // SAFETY: the contract; a masked-off lane is not read.
    unsafe {
        if count >= 8 {
            _mm256_loadu_ps(at)
        } else {
            _mm256_maskload_ps(at, lanes(count))
        }
    }
}

/// Writes the first `count` floats of `v` at `at` (all 8 if `count >= 8`).
///
/// # Safety
///
/// The machine has AVX2, and the `count.min(8)` floats at `at` are writable. The others are not
/// written.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn store(at: *mut f32, count: usize, v: __m256) {
    // SAFETY: the contract; a masked-off lane is not written. A whole vector takes a plain store:
    // a masked one is many times slower on AMD's cores before Zen 4, where a 1x1 convolution's
    // tiles (few multiply-adds per store) ran at a third of onnxruntime's speed with them.
    unsafe {
        if count >= 8 {
            _mm256_storeu_ps(at, v)
        } else if count > 0 {
            _mm256_maskstore_ps(at, lanes(count), v)
        }
    }
}

/// The first `count` lanes (`count < 8`), as the mask of `_mm256_maskload_ps` and
/// `_mm256_maskstore_ps`: all bits set in a lane taken.
#[target_feature(enable = "avx2")]
#[inline]
fn lanes(count: usize) -> __m256i {
    _mm256_cmpgt_epi32(
        _mm256_set1_epi32(count as i32),
        _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
    )
}
