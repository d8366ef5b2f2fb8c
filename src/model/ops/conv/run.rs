//! Running the direct convolution on one image: `kernel.rs`'s tiles, in groups that stay in
//! cache, written in place where their positions are the answers' (else their sums are copied
//! out), or `across.rs`'s tiles; the epilogue; and the split of the output channels over tract's
//! intra-op pool.

use std::mem::MaybeUninit;

use super::across;
use super::denormals::DenormalsAreZero;
use super::epilogue::{self, Step};
use super::kernel::{Finish, Tile, ROWS};
use super::layout::Geometry;
use super::transpose;
use super::Params;
use crate::model::threads::current_pool;

impl Params {
    /// One image's blocks of output channels from `first_block` on, into `part`.
    fn run_share(&self, geometry: &Geometry, input: &[f32], first_block: usize, part: Part) {
        // As tract's kernels do, and per thread: a denormal operand read as zero (answers as
        // tract's, and no 90x microcode assist per multiply-add on a request of tiny floats).
        let _daz = DenormalsAreZero::set();
        if self.across {
            self.run_across(geometry, input, first_block, part)
        } else {
            self.run_blocks(geometry, input, first_block, part)
        }
    }

    /// [`run_share`](Self::run_share) on `across.rs`'s tiles: each block's answers in tiles of
    /// nearly equal size, their sums position by position, then the block's rows, channel by
    /// channel, through the epilogue (a small image's: they are still in cache).
    fn run_across(&self, geometry: &Geometry, input: &[f32], first_block: usize, part: Part) {
        let plane_out = (geometry.out_h * geometry.out_w).max(1);
        let block_weights = geometry.channels * geometry.offsets.len() * across::CHANNELS;
        let tiles = plane_out.div_ceil(across::POSITIONS);
        // Answer `a`'s place in the laid-out input: its row's, past the extra columns of the rows
        // before it.
        let out_w = geometry.out_w.max(1);
        let place = |a: usize| a / out_w * geometry.plane_w + a % out_w;
        let reads = across::Reads::new(geometry.channels, geometry.channel_stride(), &geometry.offsets);
        let mut sums = vec![[0.0f32; across::CHANNELS]; plane_out];
        let Part { output, residual } = part;
        for (block, block_output) in output.chunks_mut(across::CHANNELS * plane_out).enumerate() {
            let weights = &self.weights[(first_block + block) * block_weights..][..block_weights];
            let rows = block_output.len() / plane_out;
            let next_weights = self
                .weights
                .get((first_block + block + 1) * block_weights..)
                .unwrap_or(&[]);
            let next_weights = &next_weights[..block_weights.min(next_weights.len())];
            for tile in 0..tiles {
                let (start, end) = (tile * plane_out / tiles, (tile + 1) * plane_out / tiles);
                let mut at = [0; across::POSITIONS];
                at.iter_mut().zip(start..end).for_each(|(at, a)| *at = place(a));
                let share = |tile: usize| tile * next_weights.len() / tiles;
                let tile = across::Tile {
                    input,
                    reads: &reads,
                    at: &at[..end - start],
                    weights,
                    next_weights: &next_weights[share(tile)..share(tile + 1)],
                };
                tile.run(&mut sums[start..end]);
            }
            transpose::to_channels(&sums, block_output, plane_out, rows);
            let first_channel = (first_block + block) * across::CHANNELS;
            for (index, answers) in block_output.chunks_mut(plane_out).enumerate() {
                let first = (block * across::CHANNELS + index) * plane_out;
                let residual = residual.get(first..first + plane_out).unwrap_or(&[]);
                epilogue::apply(&self.steps, first_channel + index, answers, residual);
            }
        }
    }

    /// One image's output channels `first_block * ROWS..`, into `output` (`[channel, out_h,
    /// out_w]`, as many channels as it holds); `residual` is the second input from the same place
    /// on, or empty.
    fn run_blocks(&self, geometry: &Geometry, input: &[f32], first_block: usize, part: Part) {
        let plane_out = (geometry.out_h * geometry.out_w).max(1);
        let block_weights = geometry.channels * geometry.offsets.len() * ROWS;
        let width = geometry.tile_width;
        let tiles = geometry.positions() / width;
        let tiles_per_group = tiles.div_ceil(self.groups(input)).max(1);
        // A 1x1 convolution reads the image itself, whose last tile may read past its end.
        let tail = geometry.tail_tile(input);
        let group_width = tiles_per_group * width;
        // Without extra columns a tile's positions are its answers': it writes them in place,
        // and takes every step (reading the residual where it writes). Else it writes its sums
        // here, for `finish` to copy, and takes the steps before a residual.
        let in_place = geometry.plane_w == geometry.out_w;
        let mut sums = if in_place {
            Vec::new()
        } else {
            vec![0.0f32; ROWS * group_width]
        };
        let Part { output, residual } = part;
        let in_tiles = if in_place {
            self.steps.len()
        } else {
            self.steps
                .iter()
                .position(|step| *step == Step::AddInput)
                .unwrap_or(self.steps.len())
        };
        let (in_tiles, after) = self.steps.split_at(in_tiles);
        for group in (0..tiles).step_by(tiles_per_group) {
            for (block, block_output) in output.chunks_mut(ROWS * plane_out).enumerate() {
                let weights = &self.weights[(first_block + block) * block_weights..][..block_weights];
                let rows = block_output.len() / plane_out;
                for tile in group..tiles.min(group + tiles_per_group) {
                    let first = tile * width;
                    let columns = width.min(plane_out.saturating_sub(first));
                    // The residual only in place, where `first` is also an answer's index.
                    let finish = Finish {
                        steps: in_tiles,
                        first_channel: (first_block + block) * ROWS,
                        residual: match in_place {
                            true => residual.get(block * ROWS * plane_out + first..).unwrap_or(&[]),
                            false => &[],
                        },
                        residual_stride: plane_out,
                        residual_len: if in_place { columns } else { 0 },
                    };
                    let (input, channel_stride) = match &tail {
                        Some((at, tail)) if first == *at => (&tail[..], width),
                        _ => (&input[first..], geometry.channel_stride()),
                    };
                    let tile = Tile {
                        input,
                        channel_stride,
                        channels: geometry.channels,
                        offsets: &geometry.offsets,
                        weights,
                        width,
                    };
                    if in_place {
                        tile.run(&mut block_output[first..], plane_out, rows, columns, &finish);
                    } else {
                        let tile_sums = &mut sums[(first - group * width)..];
                        tile.run(tile_sums, group_width, rows, width, &finish);
                    }
                }
                if in_place {
                    continue;
                }
                let first_channel = (first_block + block) * ROWS;
                let channels = block_output.chunks_mut(plane_out).zip(sums.chunks(group_width));
                for (index, (answers, sums)) in channels.enumerate() {
                    let at = (block * ROWS + index) * plane_out;
                    let residual = residual.get(at..at + plane_out).unwrap_or(&[]);
                    let channel = Channel {
                        index: first_channel + index,
                        answers,
                        residual,
                    };
                    finish(geometry, after, group * width, sums, channel);
                }
            }
        }
    }

    /// How many groups of tiles to run, each read by every block of output channels before the
    /// next: more than one when the laid-out input overflows [`INPUT_GROUP_BYTES`] while all the
    /// weights fit [`WEIGHTS_IN_CACHE_BYTES`], which each group then reads again.
    fn groups(&self, input: &[f32]) -> usize {
        if std::mem::size_of_val(&self.weights[..]) > WEIGHTS_IN_CACHE_BYTES {
            return 1;
        }
        std::mem::size_of_val(input).div_ceil(INPUT_GROUP_BYTES).max(1)
    }
}

/// One output channel's answers at positions `first..` from their `sums`, through the
/// epilogue's `steps` the tiles left; the extra columns of each row (see `layout.rs`) are
/// dropped. The answers of a group of tiles are one contiguous run of the channel's, which the
/// epilogue then takes in one pass per step.
fn finish(geometry: &Geometry, steps: &[Step], first: usize, sums: &[f32], channel: Channel) {
    let (plane_w, out_w) = (geometry.plane_w, geometry.out_w);
    let end = (first + sums.len()).min(geometry.out_h * plane_w);
    let mut answered: Option<std::ops::Range<usize>> = None;
    let mut at = first;
    while at < end {
        let (oy, ox) = (at / plane_w, at % plane_w);
        let row_end = ((oy + 1) * plane_w).min(end);
        if ox < out_w {
            let count = (out_w - ox).min(row_end - at);
            let place = oy * out_w + ox;
            channel.answers[place..place + count].copy_from_slice(&sums[at - first..][..count]);
            let start = answered.map_or(place, |run| run.start);
            answered = Some(start..place + count);
        }
        at = row_end;
    }
    if let Some(run) = answered {
        let residual = channel.residual.get(run.clone()).unwrap_or(&[]);
        epilogue::apply(steps, channel.index, &mut channel.answers[run], residual);
    }
}

/// A share of one image's output channels, and of the residual input at the same place (empty
/// without one).
pub(super) struct Part<'a> {
    pub output: &'a mut [f32],
    pub residual: &'a [f32],
}

/// One output channel's answers and residual input.
struct Channel<'a> {
    index: usize,
    answers: &'a mut [f32],
    residual: &'a [f32],
}

/// The laid-out input read by all blocks of output channels before the next group of tiles: a
/// fraction of a 1-2 MiB L2, leaving room for the weights. Without groups a 128-channel stride-2
/// convolution (ResNet-50's first of stage 2, 1.7 MiB laid out) ran at 60 % of the speed of its
/// neighbours, its input streamed from L3 once per block of output channels.
const INPUT_GROUP_BYTES: usize = 384 * 1024;

/// Weights small enough to stay in L2 when each group of tiles reads them all again. Larger
/// weights (ResNet-50's last stage: 9 MiB) are read from memory once, so their tiles run in one
/// group.
const WEIGHTS_IN_CACHE_BYTES: usize = 1024 * 1024;

/// One image's blocks of output channels, split over tract's intra-op pool when there is one.
pub(super) fn run_split(params: &Params, geometry: &Geometry, input: &[f32], part: Part) {
    let block_len = params.block_channels() * geometry.out_h * geometry.out_w;
    let blocks = params.out_channels.div_ceil(params.block_channels());
    match current_pool() {
        Some(pool) if blocks > 1 => {
            let share = blocks.div_ceil(pool.current_num_threads()) * block_len;
            pool.scope(|scope| {
                for (index, output) in part.output.chunks_mut(share).enumerate() {
                    let residual = part.residual.get(index * share..).unwrap_or(&[]);
                    let part = Part { output, residual };
                    let first_block = index * share / block_len.max(1);
                    scope.spawn(move |_| params.run_share(geometry, input, first_block, part));
                }
            });
        }
        _ => params.run_share(geometry, input, 0, part),
    }
}

/// One image's input channels through the convolution's prologue (`steps`, per input channel),
/// into `prepared`: each channel copied and stepped while it is in cache, the channels split over
/// tract's intra-op pool when there is one.
pub(super) fn prepare_split(steps: &[Step], channels: usize, image: &[f32], prepared: &mut Vec<f32>) {
    prepared.clear();
    debug_assert_eq!(image.len() % channels.max(1), 0, "an image is whole planes");
    let plane = image.len().checked_div(channels).unwrap_or(0);
    if plane == 0 {
        return;
    }
    prepared.reserve(image.len());
    let into = &mut prepared.spare_capacity_mut()[..image.len()];
    match current_pool() {
        Some(pool) if channels > 1 => {
            let share = channels.div_ceil(pool.current_num_threads()) * plane;
            pool.scope(|scope| {
                for (index, (image, into)) in image.chunks(share).zip(into.chunks_mut(share)).enumerate() {
                    scope.spawn(move |_| prepare(steps, index * share / plane, plane, image, into));
                }
            });
        }
        _ => prepare(steps, 0, plane, image, into),
    }
    // SAFETY: `prepare` wrote every element of `into`, the first `image.len()` of the spare
    // capacity (the shares of the split cover it: `chunks` of both have the same bounds).
    unsafe { prepared.set_len(image.len()) };
}

/// Channels `first..` of an image (planes of `plane` floats) through `steps`, written into `into`.
fn prepare(steps: &[Step], first: usize, plane: usize, image: &[f32], into: &mut [MaybeUninit<f32>]) {
    for (index, (from, to)) in image.chunks(plane).zip(into.chunks_mut(plane)).enumerate() {
        to.iter_mut().zip(from).for_each(|(to, &from)| {
            to.write(from);
        });
        // SAFETY: every element of `to` was written just above, and `MaybeUninit<f32>` has the
        // layout of `f32`.
        let to = unsafe { &mut *(to as *mut [MaybeUninit<f32>] as *mut [f32]) };
        epilogue::apply(steps, first + index, to, &[]);
    }
}
