//! The forward kernel with its input read through shared memory ([`forward_tiled_kernel`]),
//! and when it applies ([`TiledForward::plan`]). [`launch`](super::launch) takes it where a
//! tile's input region fits in shared memory, and the direct
//! [`forward_kernel`](super::kernels::forward_kernel) otherwise.

use burn::tensor::Shape;
use burn_cubecl::cubecl;
use cubecl::prelude::*;

use super::kernels::{inside, stacked_channels};
use crate::fused::FusedGeometry;
use crate::padding::same_padding;

/// Output positions per side of one cube's tile: a cube is `TILE x TILE` threads.
pub(super) const TILE: usize = 16;

/// Output channels each thread computes (in every branch): the shared region of one input
/// channel serves that many channels of every branch before the next is loaded.
pub(super) const CHANNELS: usize = 4;

/// The most `f32` values of one tile's input region: 32 KiB, half of the 64 KiB of shared
/// memory most GPUs give a block, so that two cubes fit on one multiprocessor.
const MAX_REGION: usize = 8 * 1024;

/// The launch arguments of [`forward_tiled_kernel`] for one geometry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct TiledForward {
    /// How far the largest reach of any branch extends before the first output row and column
    /// of a tile: the largest 'same' padding before the rows and before the columns.
    pub halo: [usize; 2],
    /// Rows and columns of one tile's input region.
    pub region: [usize; 2],
}

impl TiledForward {
    /// The tiled forward for input `x` and kernel `weight`, or `None` where a region would be
    /// larger than [`MAX_REGION`] (large dilations, which the direct kernel serves).
    pub(super) fn plan(x: &Shape, weight: &Shape, geometry: &FusedGeometry) -> Option<Self> {
        let axis = |axis: usize| {
            let (len, k, stride) = (x[axis], weight[axis], geometry.stride[axis - 2]);
            let reach = |d: usize| {
                let (before, _) = same_padding(len, k, stride, d);
                (before, (k - 1) * d - before.min((k - 1) * d))
            };
            let before = geometry.dilations.iter().map(|&d| reach(d).0).max()?;
            let after = geometry.dilations.iter().map(|&d| reach(d).1).max()?;
            Some((before, (TILE - 1) * stride + 1 + before + after))
        };
        let ((top, rows), (left, columns)) = (axis(2)?, axis(3)?);
        (rows * columns <= MAX_REGION).then_some(Self {
            halo: [top, left],
            region: [rows, columns],
        })
    }
}

/// The forward of [`forward_kernel`](super::kernels::forward_kernel) with the input read through
/// shared memory: a cube of `tile x tile` threads owns a tile of output positions of one image
/// and `channels` output channels. For each input channel it loads the tile's input region
/// once, with the halo the largest dilation reaches, and every branch and every output channel
/// of the cube reads it from there; each thread keeps `branches * channels` sums in registers.
/// With `per_branch` (inputs stacked branch-major, `branch_images` images per branch), each
/// branch reads its own image, so the region is loaded once per branch.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub(super) fn forward_tiled_kernel<F: Float>(
    x: &Tensor<F>,
    weight: &Tensor<F>,
    bias: &Tensor<F>,
    output: &mut Tensor<F>,
    dilations: Sequence<usize>,
    pad_top: Sequence<usize>,
    pad_left: Sequence<usize>,
    halo_top: usize,
    halo_left: usize,
    stride_h: usize,
    stride_w: usize,
    branch_images: usize,
    #[comptime] per_branch: bool,
    #[comptime] tile: usize,
    #[comptime] region_h: usize,
    #[comptime] region_w: usize,
    #[comptime] channels: usize,
    #[comptime] relu: bool,
    #[define(F)] _dtype: ElemType,
) {
    let branches = comptime![dilations.len()];
    let out_c = weight.shape(0);
    let (in_c, kh, kw) = (weight.shape(1), weight.shape(2), weight.shape(3));
    let (h, w) = (x.shape(2), x.shape(3));
    let (out_h, out_w) = (output.shape(2), output.shape(3));
    // Spelled out: the kernel language expands operators, not every method of `usize`.
    #[allow(clippy::manual_div_ceil)]
    let groups = (out_c + channels - 1) / channels;
    let b = CUBE_POS_Z as usize / groups;
    let first_o = (CUBE_POS_Z as usize % groups) * channels;
    let (ty, tx) = (UNIT_POS_Y as usize, UNIT_POS_X as usize);
    let (oy, ox) = (
        CUBE_POS_Y as usize * tile + ty,
        CUBE_POS_X as usize * tile + tx,
    );
    // The region's first row and column, in padded coordinates (image row + `halo_top`).
    let row0 = CUBE_POS_Y as usize * tile * stride_h;
    let col0 = CUBE_POS_X as usize * tile * stride_w;
    let thread = ty * tile + tx;
    let owns = oy < out_h && ox < out_w;
    let branch_outs = stacked_channels(branch_images, out_c);

    let mut region = Shared::<[F]>::new_slice(comptime![region_h * region_w]);
    let mut sums = Array::<F>::new(comptime![branches * channels]);
    #[unroll]
    for k in 0..channels {
        let o = first_o + k;
        let mut start = F::from_int(0);
        if o < out_c {
            start = bias[o * bias.stride(0)];
        }
        #[unroll]
        for branch in 0..branches {
            sums[branch * channels + k] = start;
        }
    }

    // One region serves every branch, or each branch has its own image.
    let stacks = comptime![if per_branch { branches } else { 1 }];
    for c in 0..in_c {
        #[unroll]
        for stack in 0..stacks {
            let plane = (b + stack * branch_images) * x.stride(0) + c * x.stride(1);
            // Every thread loads its share of the region (zeros in the padding), then waits
            // for the others.
            let mut at = thread;
            while at < comptime![region_h * region_w] {
                let (r, q) = (at / region_w, at % region_w);
                let mut value = F::from_int(0);
                if inside(row0 + r, halo_top, h) && inside(col0 + q, halo_left, w) {
                    value = x[plane
                        + (row0 + r - halo_top) * x.stride(2)
                        + (col0 + q - halo_left) * x.stride(3)];
                }
                region[at] = value;
                at += tile * tile;
            }
            sync_cube();
            if owns {
                let w_plane = c * weight.stride(1);
                #[unroll]
                for branch in 0..branches {
                    if !per_branch || branch == stack {
                        let d = dilations[branch];
                        // Tap (ky, kx) of output (oy, ox) reads padded row `oy * stride + ky *
                        // d + halo - pad`: region row `ty * stride + ky * d + halo - pad` (the
                        // halo is at least every branch's padding).
                        let r0 = ty * stride_h + halo_top - pad_top[branch];
                        let q0 = tx * stride_w + halo_left - pad_left[branch];
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let value = region[(r0 + ky * d) * region_w + q0 + kx * d];
                                let tap = w_plane + ky * weight.stride(2) + kx * weight.stride(3);
                                #[unroll]
                                for k in 0..channels {
                                    let o = first_o + k;
                                    if o < out_c {
                                        sums[branch * channels + k] +=
                                            value * weight[tap + o * weight.stride(0)];
                                    }
                                }
                            }
                        }
                    }
                }
            }
            // Nobody loads the next region while another thread still reads this one.
            sync_cube();
        }
    }

    if owns {
        #[unroll]
        for branch in 0..branches {
            #[unroll]
            for k in 0..channels {
                let o = first_o + k;
                if o < out_c {
                    let mut value = sums[branch * channels + k];
                    if relu && value < F::from_int(0) {
                        value = F::from_int(0);
                    }
                    let at = (b + branch * branch_images) * output.stride(0)
                        + (branch * branch_outs + o) * output.stride(1)
                        + oy * output.stride(2)
                        + ox * output.stride(3);
                    output[at] = value;
                }
            }
        }
    }
}
