//! Pillow's resampling of 8-bit images (`Image.resize`, libImaging/Resample.c), to the bit: the
//! same filters and supports, coefficients rounded to the same 22-bit fixed point, a horizontal
//! pass rounded to 8 bits before the vertical one. `transformers`' slow image processors resize
//! with Pillow, so the tensors match theirs exactly; fast_image_resize's 16-bit coefficients
//! differ from Pillow by one level on some pixels, more than the 1e-3 a PNG may differ by.

use super::config::Resample;

/// Pillow's `PRECISION_BITS` for 8-bit images: 32 - 8 - 2.
const PRECISION_BITS: u32 = 22;

/// Resizes RGB `pixels` (`width` x `height`) to `out_width` x `out_height`.
pub fn resize(
    pixels: &[u8],
    width: u32,
    height: u32,
    out_width: u32,
    out_height: u32,
    filter: Resample,
) -> Vec<u8> {
    let (width, height) = (width as usize, height as usize);
    let (out_width, out_height) = (out_width as usize, out_height as usize);
    if filter == Resample::Nearest {
        return nearest(pixels, width, height, out_width, out_height);
    }
    let horizontal = Coefficients::new(width, out_width, filter);
    let vertical = Coefficients::new(height, out_height, filter);
    // The horizontal pass, on the rows the vertical pass reads.
    let (first_row, last_row) = vertical.span();
    let rows = if out_width != width {
        let mut rows = vec![0u8; (last_row - first_row) * out_width * 3];
        for (y, out) in rows.chunks_exact_mut(out_width * 3).enumerate() {
            let row = &pixels[(first_row + y) * width * 3..][..width * 3];
            for (x, pixel) in out.chunks_exact_mut(3).enumerate() {
                let (start, weights) = horizontal.of(x);
                for (c, value) in pixel.iter_mut().enumerate() {
                    *value = clip8(
                        weights
                            .iter()
                            .enumerate()
                            .fold(1 << (PRECISION_BITS - 1), |sum, (i, k)| {
                                sum + i32::from(row[(start + i) * 3 + c]) * k
                            }),
                    );
                }
            }
        }
        rows
    } else {
        pixels[first_row * width * 3..last_row * width * 3].to_vec()
    };
    if out_height == height {
        return rows;
    }
    let stride = out_width * 3;
    let mut out = vec![0u8; out_height * stride];
    for (y, out_row) in out.chunks_exact_mut(stride).enumerate() {
        let (start, weights) = vertical.of(y);
        let start = start - first_row;
        for (i, value) in out_row.iter_mut().enumerate() {
            *value = clip8(
                weights
                    .iter()
                    .enumerate()
                    .fold(1 << (PRECISION_BITS - 1), |sum, (j, k)| {
                        sum + i32::from(rows[(start + j) * stride + i]) * k
                    }),
            );
        }
    }
    out
}

/// What `resize` allocates besides its output, before it runs: the horizontal pass's rows (at
/// most every input row at the output width) and the two weight tables. A thin image makes both
/// large (1 x 40,000,000 to 224 x 224 is 26.9 GB of rows), while its pixel count passes the limit.
/// Saturating: the sides come from a header, checked against the limit only after this.
pub fn work_bytes(width: u32, height: u32, out_width: u32, out_height: u32, filter: Resample) -> WorkBytes {
    if filter == Resample::Nearest {
        return WorkBytes { rows: 0, tables: 0 };
    }
    let table = |in_size: u32, out_size: u32| -> u64 {
        let scale = f64::from(in_size) / f64::from(out_size.max(1));
        let size = (support(filter) * scale.max(1.0)).ceil() as u64 * 2 + 1;
        // `weights` (i32), `bounds` (two usize) and the f64 scratch row, as `Coefficients::new`.
        u64::from(out_size)
            .saturating_mul(size * 4 + 16)
            .saturating_add(size * 8)
    };
    WorkBytes {
        rows: (u64::from(height) * u64::from(out_width)).saturating_mul(3),
        tables: table(width, out_width).saturating_add(table(height, out_height)),
    }
}

/// The bytes `resize` allocates besides its output (`work_bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkBytes {
    /// The horizontal pass's rows.
    pub rows: u64,
    /// Both weight tables.
    pub tables: u64,
}

/// Each filter's support, as Pillow defines it.
fn support(filter: Resample) -> f64 {
    match filter {
        Resample::Box => 0.5,
        Resample::Bilinear | Resample::Hamming => 1.0,
        Resample::Bicubic => 2.0,
        Resample::Lanczos => 3.0,
        Resample::Nearest => 0.0,
    }
}

/// Per output position, the first input it reads and its fixed-point weights.
struct Coefficients {
    bounds: Vec<(usize, usize)>,
    weights: Vec<i32>,
    size: usize,
}

impl Coefficients {
    /// Pillow's `precompute_coeffs` and `normalize_coeffs_8bpc`.
    fn new(in_size: usize, out_size: usize, filter: Resample) -> Self {
        let kernel: fn(f64) -> f64 = match filter {
            Resample::Box => box_filter,
            Resample::Bilinear => bilinear,
            Resample::Hamming => hamming,
            Resample::Bicubic => bicubic,
            Resample::Lanczos => lanczos,
            Resample::Nearest => unreachable!("nearest has no kernel"),
        };
        let support = support(filter);
        let scale = in_size as f64 / out_size as f64;
        let filter_scale = scale.max(1.0);
        let support = support * filter_scale;
        let size = support.ceil() as usize * 2 + 1;
        let mut bounds = Vec::with_capacity(out_size);
        let mut weights = vec![0i32; out_size * size];
        let mut row = vec![0f64; size];
        for x in 0..out_size {
            let center = (x as f64 + 0.5) * scale;
            // C's (int) cast truncates toward zero, as here.
            let min = ((center - support + 0.5) as i64).max(0) as usize;
            let max = ((center + support + 0.5) as i64).min(in_size as i64) as usize;
            let count = max.saturating_sub(min);
            let mut total = 0.0;
            for (i, w) in row.iter_mut().enumerate().take(count) {
                *w = kernel(((i + min) as f64 - center + 0.5) / filter_scale);
                total += *w;
            }
            for (i, w) in row.iter().enumerate().take(count) {
                let w = if total != 0.0 { w / total } else { *w };
                let fixed = w * f64::from(1u32 << PRECISION_BITS);
                weights[x * size + i] = if w < 0.0 {
                    (fixed - 0.5) as i32
                } else {
                    (fixed + 0.5) as i32
                };
            }
            bounds.push((min, count));
        }
        Coefficients {
            bounds,
            weights,
            size,
        }
    }

    fn of(&self, x: usize) -> (usize, &[i32]) {
        let (start, count) = self.bounds[x];
        (start, &self.weights[x * self.size..][..count])
    }

    /// The first input read and one past the last.
    fn span(&self) -> (usize, usize) {
        let first = self.bounds.first().map_or(0, |b| b.0);
        let last = self.bounds.last().map_or(0, |b| b.0 + b.1);
        (first, last)
    }
}

fn clip8(value: i32) -> u8 {
    (value >> PRECISION_BITS).clamp(0, 255) as u8
}

/// Pillow's nearest neighbour: the input pixel under each output pixel's center.
fn nearest(pixels: &[u8], width: usize, height: usize, out_width: usize, out_height: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(out_width * out_height * 3);
    let (sx, sy) = (width as f64 / out_width as f64, height as f64 / out_height as f64);
    for y in 0..out_height {
        let iy = (((y as f64 + 0.5) * sy) as usize).min(height - 1);
        for x in 0..out_width {
            let ix = (((x as f64 + 0.5) * sx) as usize).min(width - 1);
            out.extend_from_slice(&pixels[(iy * width + ix) * 3..][..3]);
        }
    }
    out
}

fn box_filter(x: f64) -> f64 {
    if x > -0.5 && x <= 0.5 {
        1.0
    } else {
        0.0
    }
}

fn bilinear(x: f64) -> f64 {
    let x = x.abs();
    if x < 1.0 {
        1.0 - x
    } else {
        0.0
    }
}

fn hamming(x: f64) -> f64 {
    let x = x.abs();
    if x == 0.0 {
        1.0
    } else if x >= 1.0 {
        0.0
    } else {
        let x = x * std::f64::consts::PI;
        x.sin() / x * (0.54 + 0.46 * x.cos())
    }
}

fn bicubic(x: f64) -> f64 {
    // Pillow's a = -0.5.
    const A: f64 = -0.5;
    let x = x.abs();
    if x < 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * A
    } else {
        0.0
    }
}

fn sinc(x: f64) -> f64 {
    if x == 0.0 {
        1.0
    } else {
        let x = x * std::f64::consts::PI;
        x.sin() / x
    }
}

fn lanczos(x: f64) -> f64 {
    if (-3.0..3.0).contains(&x) {
        sinc(x) * sinc(x / 3.0)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flat_image_stays_flat_under_every_filter() {
        let pixels = vec![77u8; 7 * 5 * 3];
        for filter in [
            Resample::Nearest,
            Resample::Box,
            Resample::Bilinear,
            Resample::Hamming,
            Resample::Bicubic,
            Resample::Lanczos,
        ] {
            let out = resize(&pixels, 7, 5, 3, 11, filter);
            assert_eq!(out, vec![77u8; 3 * 11 * 3], "{filter:?}");
        }
    }

    #[test]
    fn work_bytes_counts_every_input_row_at_the_output_width_and_both_tables() {
        let work = work_bytes(1, 40_000_000, 224, 224, Resample::Bilinear);
        assert_eq!(work.rows, 40_000_000 * 224 * 3);
        // The vertical table: 224 positions of 2 * ceil(40e6 / 224) + 1 weights.
        let vertical = 224 * ((2 * 178_572 + 1) * 4 + 16) + (2 * 178_572 + 1) * 8;
        let horizontal = 224 * (3 * 4 + 16) + 3 * 8;
        assert_eq!(work.tables, vertical + horizontal);
    }
}
