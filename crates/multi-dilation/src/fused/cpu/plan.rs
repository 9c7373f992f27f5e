//! The geometry of one fused convolution: [`Plan`] (sizes, and the 'same' padding of each
//! dilation) and [`Taps`], which describes an im2col matrix (which source element each entry
//! reads) and how it is cut into blocks, and the zero-padded copy of an image that the shifted
//! and direct forwards read ([`Plan::pad`]). Building the matrices is in
//! [`im2col`](super::im2col).

use std::ops::Range;

use rayon::prelude::*;

use super::isa::Isa;
use crate::padding::{same_output_size, same_padding};
use crate::shape::BranchLayout;

/// The sizes of one fused convolution, and the 'same' padding of each dilation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    pub batch: usize,
    pub channels_in: usize,
    pub height: usize,
    pub width: usize,
    pub channels_out: usize,
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    /// `(dilation, top padding, left padding)` per branch, in order.
    pub branches: Vec<(usize, usize, usize)>,
    /// How input and output hold the branches. [`BranchLayout::Stacked`]: each branch reads an
    /// input of its own, input `[branches * batch, in, h, w]` and output
    /// `[branches * batch, out, ho, wo]`, where image `n * batch + b` is image `b` of branch
    /// `n`, so each input image has one branch. [`BranchLayout::Shared`]: every branch reads
    /// each image, and the output maps are `image * branches + branch`.
    pub layout: BranchLayout,
    pub out_height: usize,
    pub out_width: usize,
    /// The size of one im2col block ([`BLOCK_BYTES`]; tests make it tiny to cut every
    /// matrix into one-row blocks).
    pub block_bytes: usize,
    /// The fewest columns of one im2col block ([`BLOCK_COLUMNS`]; tests set 0), which wins
    /// over `block_bytes` for wide layers.
    pub block_columns: usize,
    /// The instruction set the kernel's own loops run on ([`Isa::detect`]; tests set each
    /// level [`Isa::available`] lists).
    pub isa: Isa,
}

impl Plan {
    /// The plan for input `[batch, in, h, w]` (`[dilations * batch, in, h, w]` for
    /// [`BranchLayout::Stacked`]) and kernel `[out, in, kh, kw]` (groups 1).
    ///
    /// # Panics
    /// Panics if the channels differ, or if a per-branch input's rows are not a multiple of
    /// the number of dilations.
    pub fn new(
        input: [usize; 4],
        kernel: [usize; 4],
        stride: [usize; 2],
        dilations: &[usize],
        layout: BranchLayout,
    ) -> Self {
        let [rows, channels_in, height, width] = input;
        let [channels_out, kernel_in, kh, kw] = kernel;
        assert_eq!(
            kernel_in, channels_in,
            "fused multi-dilation conv2d: kernel expects {kernel_in} input channels, got \
             {channels_in}"
        );
        let inputs = match layout {
            BranchLayout::Stacked => dilations.len().max(1),
            BranchLayout::Shared => 1,
        };
        assert!(
            rows.is_multiple_of(inputs),
            "fused multi-dilation conv2d: per-branch inputs stack {inputs} branches on the batch \
             axis, got {rows} images"
        );
        let batch = rows / inputs;
        let branches = dilations
            .iter()
            .map(|&d| {
                let (top, _) = same_padding(height, kh, stride[0], d);
                let (left, _) = same_padding(width, kw, stride[1], d);
                (d, top, left)
            })
            .collect();
        Self {
            batch,
            channels_in,
            height,
            width,
            channels_out,
            kernel: [kh, kw],
            stride,
            branches,
            layout,
            out_height: same_output_size(height, stride[0]),
            out_width: same_output_size(width, stride[1]),
            block_bytes: BLOCK_BYTES,
            block_columns: BLOCK_COLUMNS,
            isa: Isa::detect(),
        }
    }

    /// Rows of the im2col matrix: `in * kh * kw`.
    pub fn patch(&self) -> usize {
        self.channels_in * self.kernel[0] * self.kernel[1]
    }

    /// Output positions per map: `ho * wo`.
    pub fn positions(&self) -> usize {
        self.out_height * self.out_width
    }

    /// Elements of one input image: `in * h * w`.
    pub fn image(&self) -> usize {
        self.channels_in * self.height * self.width
    }

    /// Images of the whole input: the batch, times the number of branches when they are
    /// stacked.
    pub fn input_images(&self) -> usize {
        if self.layout == BranchLayout::Stacked {
            self.batch * self.branches.len()
        } else {
            self.batch
        }
    }

    /// The branches that convolve input image `image`: all of them, or for stacked branches
    /// the one whose stack the image lies in.
    pub fn image_branches(&self, image: usize) -> Range<usize> {
        if self.layout == BranchLayout::Stacked {
            let branch = image / self.batch.max(1);
            branch..branch + 1
        } else {
            0..self.branches.len()
        }
    }

    /// Which output map branch `branch` of input image `image` writes.
    pub fn output_map(&self, image: usize, branch: usize) -> usize {
        if self.layout == BranchLayout::Stacked {
            image
        } else {
            image * self.branches.len() + branch
        }
    }

    /// The input image and the branch of output map `map` (the inverse of
    /// [`output_map`](Self::output_map)).
    pub fn map_source(&self, map: usize) -> (usize, usize) {
        if self.layout == BranchLayout::Stacked {
            (map, map / self.batch.max(1))
        } else {
            (map / self.branches.len(), map % self.branches.len())
        }
    }

    /// The `[in, h, w]` pixels of input image `image`.
    pub fn pixels<'a>(&self, input: &'a [f32], image: usize) -> &'a [f32] {
        &input[image * self.image()..][..self.image()]
    }

    /// Elements of one output map of one branch: `out * ho * wo`.
    pub fn map(&self) -> usize {
        self.channels_out * self.positions()
    }

    /// Elements of the whole output: `batch * dilations * out * ho * wo`, in either layout.
    pub fn output_len(&self) -> usize {
        self.batch * self.branches.len() * self.map()
    }

    /// Image `pixels` (`[in, h, w]`) into `padded`, resized to `in` zero planes of `[height,
    /// width]` with the image at row `top` and column `left` of each (the shifted and direct
    /// forwards read it in place); the channels in parallel.
    ///
    /// # Panics
    /// Panics if the image does not fit the planes at that offset.
    pub fn pad(
        &self,
        pixels: &[f32],
        [top, left]: [usize; 2],
        [height, width]: [usize; 2],
        padded: &mut Vec<f32>,
    ) {
        let (h, w) = (self.height, self.width);
        assert!(
            top + h <= height && left + w <= width,
            "fused multi-dilation conv2d: a {h}x{w} image at ({top}, {left}) in {height}x{width}"
        );
        padded.clear();
        padded.resize(self.channels_in * height * width, 0.0);
        if h * w == 0 {
            return;
        }
        let planes = padded
            .par_chunks_mut(height * width)
            .zip(pixels.par_chunks(h * w));
        planes.for_each(|(plane, channel)| {
            for (row, target) in channel
                .chunks_exact(w)
                .zip(plane[top * width..].chunks_exact_mut(width))
            {
                target[left..left + w].copy_from_slice(row);
            }
        });
    }

    /// How branch `branch` reads the input: im2col rows `(c, i, j)` over the output grid.
    pub fn input_taps(&self, branch: usize) -> Taps {
        let (d, top, left) = self.branches[branch];
        Taps {
            channels: self.channels_in,
            source: [self.height, self.width],
            target: [self.out_height, self.out_width],
            kernel: self.kernel,
            stride: self.stride,
            start: [-(top as isize), -(left as isize)],
            step: [d as isize, d as isize],
            block_bytes: self.block_bytes,
            block_columns: self.block_columns,
            ones_row: false,
            isa: self.isa,
        }
    }

    /// For stride 1 only: how the input gradient of branch `branch` reads the output gradient,
    /// im2col rows `(o, i, j)` over the input grid: `gx[c, y, x]` gathers
    /// `g[o, y + top - i * d, x + left - j * d]`, the transposed convolution.
    pub fn grad_taps(&self, branch: usize) -> Taps {
        debug_assert_eq!(self.stride, [1, 1]);
        let (d, top, left) = self.branches[branch];
        Taps {
            channels: self.channels_out,
            source: [self.out_height, self.out_width],
            target: [self.height, self.width],
            kernel: self.kernel,
            stride: [1, 1],
            start: [top as isize, left as isize],
            step: [-(d as isize), -(d as isize)],
            block_bytes: self.block_bytes,
            block_columns: self.block_columns,
            ones_row: false,
            isa: self.isa,
        }
    }
}

/// The size of one block of an im2col matrix: small enough that the GEMM consumes each block
/// while it is still in the core's L2 cache, instead of reading back a matrix of several
/// megabytes from memory (the sizes measured are in `docs/cpu_kernel.md`).
const BLOCK_BYTES: usize = 512 * 1024;

/// The fewest columns (output positions) of one im2col block, which wins over [`BLOCK_BYTES`]
/// on wide layers: every GEMM packs the whole kernel before multiplying it by the block, at
/// about the cost of 16 multiply-adds per element, so a block of `n` columns spends about
/// `16 / n` of its time packing (6% at 256).
const BLOCK_COLUMNS: usize = 256;

/// Columns of an im2col block are rounded up to a multiple of this where they can be
/// ([`Taps::block_rows`]): 16 `f32` lanes, the gemm crate's vector width with AVX-512 (and a
/// multiple of AVX2's 8).
const COLUMN_MULTIPLE: usize = 16;

/// The greatest common divisor of `a` and `b`.
fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// An im2col gather: row `(c, i, j)`, column `(ty, tx)` of the matrix holds
/// `source[c, ty * sy + start_y + i * step_y, tx * sx + start_x + j * step_x]`, or 0 where that
/// lies outside the source.
#[derive(Clone, Debug)]
pub(crate) struct Taps {
    pub channels: usize,
    pub source: [usize; 2],
    pub target: [usize; 2],
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub start: [isize; 2],
    pub step: [isize; 2],
    /// See [`Plan::block_bytes`].
    pub block_bytes: usize,
    /// See [`Plan::block_columns`].
    pub block_columns: usize,
    /// [`blocks`](Self::blocks) appends a row of ones to each block (so that a kernel with
    /// the bias as its last column adds the bias in the GEMM).
    pub ones_row: bool,
    /// See [`Plan::isa`].
    pub isa: Isa,
}

impl Taps {
    /// Columns of the matrix.
    pub fn columns(&self) -> usize {
        self.target[0] * self.target[1]
    }

    /// Rows of the matrix: `channels * kh * kw`.
    pub fn rows(&self) -> usize {
        self.channels * self.kernel[0] * self.kernel[1]
    }

    /// For a tap whose source index is `t * stride + offset`, the targets `lo..hi` that land
    /// inside `0..len`.
    pub(super) fn valid_range(
        offset: isize,
        stride: usize,
        len: usize,
        out_len: usize,
    ) -> (usize, usize) {
        let s = stride as isize;
        // smallest t with t * s + offset >= 0
        let lo = if offset >= 0 {
            0
        } else {
            (-offset + s - 1) / s
        };
        // largest t with t * s + offset <= len - 1, plus one
        let last = len as isize - 1 - offset;
        let hi = if last < 0 { 0 } else { last / s + 1 };
        let lo = (lo as usize).min(out_len);
        (lo, (hi as usize).clamp(lo, out_len))
    }

    /// Target rows per block of [`blocks`](Self::blocks) so that a block of the matrix takes
    /// about `block_bytes`, and holds at least `block_columns` columns (and one target row).
    ///
    /// With `block_columns` above 0 (always, outside tests) the rows are then rounded up so
    /// that a block's columns are a multiple of [`COLUMN_MULTIPLE`] where the map has rows
    /// enough: the gemm crate reads a block in place only when its columns are a whole number
    /// of its vectors, and otherwise copies the whole block again first (THIN4's 280-column
    /// blocks spent 22% of the forward there with AVX-512).
    pub fn block_rows(&self) -> usize {
        let [target_h, target_w] = [self.target[0].max(1), self.target[1].max(1)];
        let row_bytes = self.block_matrix_rows() * target_w * std::mem::size_of::<f32>();
        let for_bytes = self.block_bytes / row_bytes.max(1);
        let for_columns = self.block_columns.div_ceil(target_w);
        let rows = for_bytes.max(for_columns).clamp(1, target_h);
        let align = COLUMN_MULTIPLE / gcd(target_w, COLUMN_MULTIPLE);
        let aligned = rows.next_multiple_of(align);
        if self.block_columns > 0 && aligned <= target_h {
            aligned
        } else {
            rows
        }
    }

    /// Rows of each block of [`blocks`](Self::blocks): [`rows`](Self::rows), and one more
    /// with [`ones_row`](Self::ones_row).
    pub fn block_matrix_rows(&self) -> usize {
        self.rows() + usize::from(self.ones_row)
    }

    /// Length of the scratch buffer [`blocks`](Self::blocks) needs.
    pub fn block_len(&self) -> usize {
        self.block_matrix_rows() * self.block_rows() * self.target[1]
    }
}
