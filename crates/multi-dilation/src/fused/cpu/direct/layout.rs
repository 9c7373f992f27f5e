//! The layout the direct forward reads: how a plan's outputs are cut into tiles ([`Shape`]),
//! the kernel in blocks of a tile's channels ([`Packed`]), and the zero-padded image every
//! branch reads in place ([`Frame`]).

use rayon::prelude::*;

use crate::fused::cpu::isa::Level;
use crate::fused::cpu::plan::Plan;

/// Most outputs of one row in a tile, at every level and width: `V * P` accumulators, with
/// `V = 2`, are 24 of AVX-512's 32 registers; AVX2 takes half as many outputs for its 16.
const MAX_PIXELS: usize = 12;

/// How the tiles of a plan are shaped at an instruction-set level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Shape {
    /// Lanes of one vector: 8 (AVX2) or 16 (AVX-512).
    pub(super) lanes: usize,
    /// Vectors of output channels per tile (`V`): 2, or 1 when the layer has at most `lanes`
    /// output channels.
    pub(super) vectors: usize,
    /// Outputs of a row in the widest tile (`P`): the row is cut into as few tiles as the
    /// registers allow, of widths that differ by one at most ([`tile`](Self::tile)), so that
    /// no tile computes outputs past the row's end.
    pub(super) pixels: usize,
    /// Tiles per output row.
    pub(super) per_row: usize,
}

impl Shape {
    /// The tiles for `plan`, or `None` below AVX2 or at a horizontal stride above 2.
    pub fn new(plan: &Plan) -> Option<Self> {
        let lanes = match plan.isa.level() {
            Level::Baseline => return None,
            Level::Avx2 => 8,
            Level::Avx512 => 16,
        };
        if plan.stride[1] > 2 || plan.stride[0] == 0 {
            return None;
        }
        let vectors = if plan.channels_out <= lanes { 1 } else { 2 };
        // Accumulators: 24 of AVX-512's 32 registers, 12 of AVX2's 16 (the rest hold the
        // weights and the broadcast pixel).
        let most = if lanes == 16 { 24 } else { 12 } / vectors;
        let most = most.min(MAX_PIXELS);
        let width = plan.out_width.max(1);
        let per_row = width.div_ceil(most);
        Some(Self {
            lanes,
            vectors,
            pixels: width.div_ceil(per_row),
            per_row,
        })
    }

    /// Output channels per tile: `V * L`.
    pub fn channels(&self) -> usize {
        self.vectors * self.lanes
    }

    /// Tile `index` of a row of `width` outputs: its first output and its width. The first
    /// `width % per_row` tiles are one output wider than the others.
    pub(super) fn tile(&self, index: usize, width: usize) -> (usize, usize) {
        let (base, wider) = (width / self.per_row, width % self.per_row);
        (
            index * base + index.min(wider),
            base + usize::from(index < wider),
        )
    }
}

/// The kernel and the bias in blocks of [`Shape::channels`] output channels: block `b` holds
/// the weights of (input channel, tap) `k` for its channels at `[b][k][channel]`, and its bias
/// at `[b][channel]`; channels past the layer's last are zero.
pub(super) struct Packed {
    weights: Vec<f32>,
    bias: Vec<f32>,
    channels: usize,
    patch: usize,
}

impl Packed {
    /// `kernel` (`[out, in, kh, kw]`) and `bias` (`[out]`) in blocks of `channels`.
    ///
    /// Each block is the transpose of its rows of the kernel, `[channels, patch]` to `[patch,
    /// channels]`, taken 64 steps at a time so that the rows read and the columns written stay
    /// in L1 (a wide layer's kernel is several megabytes, and transposing it row by row missed
    /// the cache on every write); the blocks in parallel.
    ///
    /// The buffer is the one the last `Packed` of this thread left ([`SPARE`]), so that a
    /// kernel of several megabytes is not zeroed, nor its pages faulted in, on every call;
    /// every element is written here.
    pub fn new(plan: &Plan, kernel: &[f32], bias: &[f32], channels: usize) -> Self {
        const STEPS: usize = 64;
        let (out, patch) = (plan.channels_out, plan.patch());
        let blocks = out.div_ceil(channels);
        let mut weights = SPARE.take();
        // Only a buffer that grows is zeroed (its new part).
        weights.resize(blocks * patch * channels, 0.0);
        let mut padded_bias = vec![0.0; blocks * channels];
        padded_bias[..out].copy_from_slice(&bias[..out]);
        let block_len = (patch * channels).max(1);
        weights
            .par_chunks_mut(block_len)
            .enumerate()
            .for_each(|(block, packed)| {
                let rows = block * channels..((block + 1) * channels).min(out);
                if rows.len() < channels {
                    // The last block's lanes past the layer's last channel.
                    for lanes in packed.chunks_exact_mut(channels) {
                        lanes[rows.len()..].fill(0.0);
                    }
                }
                for first in (0..patch).step_by(STEPS) {
                    let steps = first..(first + STEPS).min(patch);
                    for (lane, o) in rows.clone().enumerate() {
                        let row = &kernel[o * patch..][steps.clone()];
                        for (k, weight) in steps.clone().zip(row) {
                            packed[k * channels + lane] = *weight;
                        }
                    }
                }
            });
        Self {
            weights,
            bias: padded_bias,
            channels,
            patch,
        }
    }

    /// Blocks of output channels.
    pub(super) fn blocks(&self) -> usize {
        self.bias.len() / self.channels.max(1)
    }

    /// Block `block`'s weights: `[patch, channels]`.
    pub(super) fn block(&self, block: usize) -> &[f32] {
        let size = self.patch * self.channels;
        &self.weights[block * size..][..size]
    }

    /// Block `block`'s bias: `[channels]`.
    pub(super) fn bias(&self, block: usize) -> &[f32] {
        &self.bias[block * self.channels..][..self.channels]
    }
}

impl Drop for Packed {
    /// Leaves the weights' buffer to the next `Packed` of this thread, if it is the largest.
    fn drop(&mut self) {
        let weights = std::mem::take(&mut self.weights);
        let spare = SPARE.take();
        SPARE.set(if spare.capacity() > weights.capacity() {
            spare
        } else {
            weights
        });
    }
}

thread_local! {
    /// The largest buffer of packed weights of this thread's direct forwards, kept for the
    /// next one: a thread keeps the memory of the largest kernel it ran. On B1x512 (a 9 MB
    /// kernel, batch 1) a fresh buffer per call, zeroed and its pages faulted in, made the
    /// forward 6-7% slower (`docs/cpu_inference.md`).
    static SPARE: std::cell::Cell<Vec<f32>> = const { std::cell::Cell::new(Vec::new()) };
}

/// The zero-padded image every branch reads: the image at row `top` and column `left` of
/// planes `height x width`, `top` and `left` the largest padding of any branch, and the planes
/// large enough for the farthest pixel any branch's tap reads for any output of a tile.
#[derive(Clone, Copy, Debug)]
pub(super) struct Frame {
    pub(super) top: usize,
    pub(super) left: usize,
    height: usize,
    pub(super) width: usize,
}

impl Frame {
    /// The frame of `plan` for tiles `shape`.
    pub fn new(plan: &Plan) -> Self {
        let [kh, kw] = plan.kernel;
        let [sy, sx] = plan.stride;
        let top = plan.branches.iter().map(|b| b.1).max().unwrap_or(0);
        let left = plan.branches.iter().map(|b| b.2).max().unwrap_or(0);
        // Branch `(d, t, l)` reads padded row `y sy + top - t + i d` for output row `y`, and
        // column `x sx + left - l + j d` for output `x`.
        let last_x = plan.out_width.max(1) - 1;
        let (mut height, mut width) = (top + plan.height, left + plan.width);
        for &(d, t, l) in &plan.branches {
            let row = (plan.out_height.max(1) - 1) * sy + top - t + (kh - 1) * d;
            let column = last_x * sx + left - l + (kw - 1) * d;
            height = height.max(row + 1);
            width = width.max(column + 1);
        }
        Self {
            top,
            left,
            height,
            width,
        }
    }

    /// Elements of one padded channel.
    pub(super) fn plane(&self) -> usize {
        self.height * self.width
    }

    /// The image `pixels` (`[in, h, w]`) into `padded` (`[in, height, width]`).
    pub(super) fn pad(&self, plan: &Plan, pixels: &[f32], padded: &mut Vec<f32>) {
        plan.pad(
            pixels,
            [self.top, self.left],
            [self.height, self.width],
            padded,
        );
    }
}
