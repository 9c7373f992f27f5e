//! The fused multi-dilation convolution on plain `f32` slices: the im2col matrix of each
//! (image, dilation) from the one input, built in L2-sized blocks that a GEMM with the shared
//! kernel consumes at once, and a backward pass that sums the weight gradient over every
//! dilation inside the same loop.
//!
//! Layouts are row-major and contiguous: input `[batch, in, h, w]`, kernel `[out, in, kh, kw]`,
//! output `[batch, dilations, out, ho, wo]`, which is the channel concatenation of the branches.
//! Work is split over (image, dilation) pairs with rayon; each GEMM runs single-threaded.

use std::ops::Range;

use rayon::prelude::*;

use crate::padding::{same_output_size, same_padding};

/// The size of one block of an im2col matrix: the GEMM consumes each block while it is still in
/// the core's L2 cache (2 MiB on the machine measured), instead of reading back a matrix of
/// several megabytes from memory. 512 KiB measured best of 256 KiB to 2 MiB on S3 and S4.
const BLOCK_BYTES: usize = 512 * 1024;

/// How many groups of work a call splits into: four per thread, each with its own scratch
/// blocks and partial sums, so that rayon can hand the groups of a thread that runs slow (a
/// busy core on a shared machine) to the other. With one group per thread, S3's forward took
/// 9.6-11.2 ms in five of six runs on a noisy VM; with four, 7.0-9.2 ms.
fn groups() -> usize {
    4 * rayon::current_num_threads().max(1)
}

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
    pub out_height: usize,
    pub out_width: usize,
    /// The size of one im2col block ([`BLOCK_BYTES`]; tests make it tiny to cut every
    /// matrix into one-row blocks).
    pub block_bytes: usize,
}

impl Plan {
    /// The plan for input `[batch, in, h, w]` and kernel `[out, in, kh, kw]` (groups 1).
    pub fn new(
        input: [usize; 4],
        kernel: [usize; 4],
        stride: [usize; 2],
        dilations: &[usize],
    ) -> Self {
        let [batch, channels_in, height, width] = input;
        let [channels_out, kernel_in, kh, kw] = kernel;
        assert_eq!(
            kernel_in, channels_in,
            "fused multi-dilation conv2d: kernel expects {kernel_in} input channels, got {channels_in}"
        );
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
            out_height: same_output_size(height, stride[0]),
            out_width: same_output_size(width, stride[1]),
            block_bytes: BLOCK_BYTES,
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

    /// Elements of one output map of one branch: `out * ho * wo`.
    pub fn map(&self) -> usize {
        self.channels_out * self.positions()
    }

    /// Elements of the whole output: `batch * dilations * out * ho * wo`.
    pub fn output_len(&self) -> usize {
        self.batch * self.branches.len() * self.map()
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
            ones_row: false,
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
            ones_row: false,
        }
    }
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
    /// [`blocks`](Self::blocks) appends a row of ones to each block (so that a kernel with
    /// the bias as its last column adds the bias in the GEMM).
    pub ones_row: bool,
}

impl Taps {
    /// Columns of the matrix.
    pub fn columns(&self) -> usize {
        self.target[0] * self.target[1]
    }

    /// For a tap whose source index is `t * stride + offset`, the targets `lo..hi` that land
    /// inside `0..len`.
    fn valid_range(offset: isize, stride: usize, len: usize, out_len: usize) -> (usize, usize) {
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

    /// Visits every target row of every matrix row: `f(row, ty, lo, hi, src)` where columns
    /// `lo..hi` of target row `ty` of matrix row `row` read the source at `src, src + sx, ...`
    /// and the other columns lie outside the source (`lo == hi` and `src == None` when the
    /// whole target row does).
    fn for_each_run(
        &self,
        target_rows: Range<usize>,
        mut f: impl FnMut(usize, usize, usize, usize, Option<usize>),
    ) {
        let [kh, kw] = self.kernel;
        let [sy, sx] = self.stride;
        let [height, width] = self.source;
        let [target_h, target_w] = self.target;
        for c in 0..self.channels {
            for i in 0..kh {
                let offset_y = self.start[0] + i as isize * self.step[0];
                let (ty_lo, ty_hi) = Self::valid_range(offset_y, sy, height, target_h);
                for j in 0..kw {
                    let row = (c * kh + i) * kw + j;
                    let offset_x = self.start[1] + j as isize * self.step[1];
                    let (lo, hi) = Self::valid_range(offset_x, sx, width, target_w);
                    for ty in target_rows.clone() {
                        if lo == hi || ty < ty_lo || ty >= ty_hi {
                            f(row, ty, 0, 0, None);
                            continue;
                        }
                        let y = (ty * sy) as isize + offset_y;
                        let x = (lo * sx) as isize + offset_x;
                        f(
                            row,
                            ty,
                            lo,
                            hi,
                            Some((c * height + y as usize) * width + x as usize),
                        );
                    }
                }
            }
        }
    }

    /// Target rows per block of [`blocks`](Self::blocks) so that a block of the matrix takes
    /// about `block_bytes` (at least one target row).
    pub fn block_rows(&self) -> usize {
        let row_bytes = self.block_matrix_rows() * self.target[1] * std::mem::size_of::<f32>();
        (self.block_bytes / row_bytes.max(1)).clamp(1, self.target[0].max(1))
    }

    /// Rows of the matrix: `channels * kh * kw`.
    pub fn rows(&self) -> usize {
        self.channels * self.kernel[0] * self.kernel[1]
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

    /// The matrix block by block of [`block_rows`](Self::block_rows) target rows, built in
    /// `scratch` (at least [`block_len`](Self::block_len) long): `f(columns, block)` with
    /// `block` the `[block_matrix_rows, columns.len()]` matrix of the matrix's columns
    /// `columns` (and a last row of ones with [`ones_row`](Self::ones_row)).
    pub fn blocks(
        &self,
        source: &[f32],
        scratch: &mut [f32],
        mut f: impl FnMut(Range<usize>, &[f32]),
    ) {
        let (step, [target_h, target_w]) = (self.block_rows(), self.target);
        for first in (0..target_h).step_by(step) {
            let rows = first..(first + step).min(target_h);
            let columns = rows.start * target_w..rows.end * target_w;
            let block = &mut scratch[..self.block_matrix_rows() * columns.len()];
            let (matrix, ones) = block.split_at_mut(self.rows() * columns.len());
            self.im2col_rows(source, matrix, rows);
            ones.fill(1.0);
            f(columns, block);
        }
    }

    /// The columns of target rows `target_rows` of the matrix, as a matrix
    /// `[rows, target_rows.len() * target_w]` in `cols` (every entry written once).
    pub fn im2col_rows(&self, source: &[f32], cols: &mut [f32], target_rows: Range<usize>) {
        if self.stride == [1, 1] && self.target == self.source {
            return self.im2col_shifted(source, cols, target_rows);
        }
        let target_w = self.target[1];
        let (first, columns) = (target_rows.start, target_rows.len() * target_w);
        let sx = self.stride[1];
        self.for_each_run(target_rows, |row, ty, lo, hi, src| {
            let dst = &mut cols[row * columns + (ty - first) * target_w..][..target_w];
            dst[..lo].fill(0.0);
            dst[hi..].fill(0.0);
            let Some(src) = src else { return };
            let dst = &mut dst[lo..hi];
            if sx == 1 {
                dst.copy_from_slice(&source[src..src + (hi - lo)]);
            } else {
                for (k, value) in dst.iter_mut().enumerate() {
                    *value = source[src + k * sx];
                }
            }
        });
    }

    /// [`im2col_rows`](Self::im2col_rows) when the matrix's columns are the source's own positions
    /// (stride 1, target shaped like the source, as 'same' padding gives): each matrix row is
    /// then the source plane shifted by one offset, so it is one copy of the valid span, after
    /// which the few entries that wrapped around a row edge (and the rows above and below the
    /// source) are zeroed. On 28x28 maps this replaces 28 short copies per row by one.
    fn im2col_shifted(&self, source: &[f32], cols: &mut [f32], target_rows: Range<usize>) {
        let [kh, kw] = self.kernel;
        let [height, width] = self.source;
        let plane = height * width;
        // Positions are global (`ty * width + tx`); the block starts at `base`.
        let base = target_rows.start * width;
        let columns = target_rows.len() * width;
        for c in 0..self.channels {
            let channel = &source[c * plane..][..plane];
            for i in 0..kh {
                let offset_y = self.start[0] + i as isize * self.step[0];
                let (ty_lo, ty_hi) = Self::valid_range(offset_y, 1, height, height);
                let (ty_lo, ty_hi) = (ty_lo.max(target_rows.start), ty_hi.min(target_rows.end));
                for j in 0..kw {
                    let row = (c * kh + i) * kw + j;
                    let dst = &mut cols[row * columns..][..columns];
                    let offset_x = self.start[1] + j as isize * self.step[1];
                    let (lo, hi) = Self::valid_range(offset_x, 1, width, width);
                    if lo == hi || ty_lo >= ty_hi {
                        dst.fill(0.0);
                        continue;
                    }
                    // Positions `first..last` span every valid entry; position `p` reads
                    // `p + shift` of the plane (in bounds for every `p` in the span).
                    let (first, last) = (ty_lo * width + lo, (ty_hi - 1) * width + hi);
                    let shift = offset_y * width as isize + offset_x;
                    let from = (first as isize + shift) as usize;
                    dst[..first - base].fill(0.0);
                    dst[first - base..last - base]
                        .copy_from_slice(&channel[from..from + (last - first)]);
                    dst[last - base..].fill(0.0);
                    // Between two valid rows: the tail of one and the head of the next read
                    // across the row edge.
                    if lo > 0 || hi < width {
                        for ty in ty_lo..ty_hi - 1 {
                            dst[ty * width + hi - base..(ty + 1) * width + lo - base].fill(0.0);
                        }
                    }
                }
            }
        }
    }

    /// The adjoint of the whole matrix's im2col: adds each entry of `cols` onto the source
    /// element it was gathered from.
    pub fn col2im_add(&self, cols: &[f32], source: &mut [f32]) {
        let (columns, target_w, sx) = (self.columns(), self.target[1], self.stride[1]);
        self.for_each_run(0..self.target[0], |row, ty, lo, hi, src| {
            let Some(src) = src else { return };
            let from = &cols[row * columns + ty * target_w..][lo..hi];
            if sx == 1 {
                for (acc, value) in source[src..src + (hi - lo)].iter_mut().zip(from) {
                    *acc += value;
                }
            } else {
                for (k, value) in from.iter().enumerate() {
                    source[src + k * sx] += value;
                }
            }
        });
    }
}

/// A read-only matrix view: `rows x cols` elements of `data` at `r * row_stride + c * col_stride`.
#[derive(Clone, Copy)]
pub(crate) struct Mat<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a> Mat<'a> {
    /// A row-major `rows x cols` matrix.
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The transpose of a row-major `cols x rows` matrix (no copy).
    pub fn transposed(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            row_stride: 1,
            col_stride: rows,
        }
    }

    /// One past the largest index the view reads (0 when empty).
    fn extent(&self) -> usize {
        if self.rows == 0 || self.cols == 0 {
            0
        } else {
            (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride + 1
        }
    }
}

/// `dst = lhs * rhs` (or `dst += lhs * rhs` with `accumulate`), `dst` row-major
/// `lhs.rows x rhs.cols`, single-threaded.
///
/// # Panics
/// Panics if the inner dimensions differ or a view reaches past its slice.
pub(crate) fn sgemm(dst: &mut [f32], accumulate: bool, lhs: Mat<'_>, rhs: Mat<'_>) {
    sgemm_rows(dst, rhs.cols, accumulate, lhs, rhs);
}

/// [`sgemm`] into `lhs.rows x rhs.cols` entries of `dst` whose rows are `dst_row_stride`
/// apart (a block of columns of a wider matrix).
///
/// # Panics
/// Panics if the inner dimensions differ, `dst_row_stride < rhs.cols`, or a view (`dst`
/// included) reaches past its slice.
pub(crate) fn sgemm_rows(
    dst: &mut [f32],
    dst_row_stride: usize,
    accumulate: bool,
    lhs: Mat<'_>,
    rhs: Mat<'_>,
) {
    assert_eq!(lhs.cols, rhs.rows, "sgemm: inner dimensions differ");
    let (m, n, k) = (lhs.rows, rhs.cols, lhs.cols);
    assert!(
        dst_row_stride >= n,
        "sgemm: destination rows overlap ({dst_row_stride} < {n})"
    );
    assert!(
        m == 0 || n == 0 || (m - 1) * dst_row_stride + n <= dst.len(),
        "sgemm: destination too small"
    );
    assert!(
        lhs.extent() <= lhs.data.len(),
        "sgemm: lhs view out of bounds"
    );
    assert!(
        rhs.extent() <= rhs.data.len(),
        "sgemm: rhs view out of bounds"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for row in dst.chunks_mut(dst_row_stride).take(m) {
                row[..n].fill(0.0);
            }
        }
        return;
    }
    // SAFETY: `gemm` reads `lhs` at `r * rs + c * cs` for r < m, c < k, `rhs` likewise for
    // r < k, c < n, and reads (with `accumulate`) and writes `dst` at
    // `r * dst_row_stride + c` for r < m, c < n. The asserts above bound every such index by
    // the length of its slice, all strides are non-negative, `dst_row_stride >= n` so no two
    // (r, c) share an index, `dst` is a unique borrow so it aliases neither input, and with
    // `read_dst == false` gemm never reads `dst` before writing it. Covered by `fused::cpu::tests` (direct-loop references with
    // transposed views and accumulation) and the layer's fused-vs-per-dilation tests.
    #[allow(unsafe_code)]
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_row_stride as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.data.as_ptr(),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// Forward: `[batch, dilations, out, ho, wo]` from input, kernel and bias (`[out]`, may be all
/// zeros), with ReLU applied to each map as it is finished when `relu`.
pub(crate) fn forward(
    plan: &Plan,
    input: &[f32],
    kernel: &[f32],
    bias: &[f32],
    relu: bool,
) -> Vec<f32> {
    let (patch, positions, branches) = (plan.patch(), plan.positions(), plan.branches.len());
    let mut output = vec![0.0f32; plan.output_len()];
    if output.is_empty() {
        return output;
    }
    // The bias as the kernel's last column, times a row of ones under each im2col block: the
    // GEMM writes each output once, with no pass to fill in the bias first.
    let kernel_bias: Vec<f32> = (0..plan.channels_out)
        .flat_map(|o| kernel[o * patch..(o + 1) * patch].iter().chain([&bias[o]]))
        .copied()
        .collect();
    let taps = |branch| Taps {
        ones_row: true,
        ..plan.input_taps(branch)
    };
    // Contiguous groups of (image, branch) maps (see `groups`), one im2col block buffer each.
    let per_group = (plan.batch * branches).div_ceil(groups());
    output
        .par_chunks_mut(plan.map() * per_group)
        .enumerate()
        .for_each(|(group, maps)| {
            let mut cols = vec![0.0f32; taps(0).block_len()];
            for (k, map) in maps.chunks_mut(plan.map()).enumerate() {
                let index = group * per_group + k;
                let (image, branch) = (index / branches, index % branches);
                let pixels = &input[image * plan.image()..][..plan.image()];
                taps(branch).blocks(pixels, &mut cols, |columns, block| {
                    sgemm_rows(
                        &mut map[columns.start..],
                        positions,
                        false,
                        Mat::row_major(&kernel_bias, plan.channels_out, patch + 1),
                        Mat::row_major(block, patch + 1, columns.len()),
                    );
                });
                if relu {
                    for value in map.iter_mut() {
                        *value = value.max(0.0);
                    }
                }
            }
        });
    output
}

/// What [`backward`] computes: each gradient is `None` when not asked for.
pub(crate) struct Grads {
    pub input: Option<Vec<f32>>,
    pub kernel: Option<Vec<f32>>,
    pub bias: Option<Vec<f32>>,
}

/// Backward from the output gradient `[batch, dilations, out, ho, wo]`: the input gradient,
/// and the kernel and bias gradients summed over every image and every dilation in one pass.
pub(crate) fn backward(
    plan: &Plan,
    input: &[f32],
    kernel: &[f32],
    grad_output: &[f32],
    want: [bool; 3],
) -> Grads {
    let [want_input, want_kernel, want_bias] = want;
    let (patch, positions, branches) = (plan.patch(), plan.positions(), plan.branches.len());
    let (image_len, map_len, out) = (plan.image(), plan.map(), plan.channels_out);
    let mut grad_input = vec![0.0f32; if want_input { input.len() } else { 0 }];
    // At stride 1 the input gradient is a convolution of the output gradient (the transposed
    // convolution): one GEMM per branch with the kernel laid out `[in, out * kh * kw]`, no
    // scatter. It gathers `out * kh * kw` rows where col2im scatters `in * kh * kw`, so it is
    // used when the input has at least half as many channels as the output (measured on S2,
    // 1 -> 32 channels, col2im is 2.5x faster; on S3 and S4 the transposed GEMM is faster).
    // Other strides always scatter the GEMM's columns back (col2im).
    let transposed = plan.stride == [1, 1] && 2 * plan.channels_in >= plan.channels_out;
    let taps_len = out * plan.kernel[0] * plan.kernel[1];
    let kernel_t: Vec<f32> = if want_input && transposed {
        let cin = plan.channels_in;
        let taps = plan.kernel[0] * plan.kernel[1];
        (0..cin * taps_len)
            .map(|index| {
                let (c, rest) = (index / taps_len, index % taps_len);
                let (o, tap) = (rest / taps, rest % taps);
                kernel[(o * cin + c) * taps + tap]
            })
            .collect()
    } else {
        Vec::new()
    };
    let image_positions = plan.height * plan.width;
    // With the transposed input gradient, the kernel gradient comes from the same im2col
    // blocks of the output gradient: `dW[o, c, i, j] = sum_q g[o, q + top - i * d] * x[c, q]`
    // over input positions `q`, which is row `(o, i, j)` of that matrix times the input. That
    // saves the im2col of the input: the kernel gradient is summed as `[(o, i, j), c]`.
    // Otherwise it is the im2col of the input times the output gradient, summed as
    // `[(c, i, j), o]` (the im2col block as the row-major lhs).
    let kernel_from_grad_cols = want_input && transposed;

    // Per image: its input gradient (a disjoint chunk) and partial kernel/bias gradients that
    // are reduced across threads at the end.
    let per_image = |image: usize,
                     image_grad: Option<&mut [f32]>,
                     acc: &mut Partial,
                     scratch: &mut Scratch| {
        let pixels = &input[image * image_len..][..image_len];
        let mut image_grad = image_grad;
        for branch in 0..branches {
            let grad = &grad_output[(image * branches + branch) * map_len..][..map_len];
            if want_bias {
                for (sum, row) in acc.bias.iter_mut().zip(grad.chunks(positions)) {
                    *sum += row.iter().sum::<f32>();
                }
            }
            if want_kernel && !kernel_from_grad_cols {
                // The transpose, `[patch, out]`: the im2col matrix is the row-major lhs,
                // the output gradient's columns of the block the transposed rhs.
                plan.input_taps(branch)
                    .blocks(pixels, &mut scratch.cols, |columns, block| {
                        sgemm(
                            &mut acc.kernel,
                            true,
                            Mat::row_major(block, patch, columns.len()),
                            Mat {
                                data: &grad[columns.start..],
                                rows: columns.len(),
                                cols: out,
                                row_stride: 1,
                                col_stride: positions,
                            },
                        );
                    });
            }
            if let Some(image_grad) = image_grad.as_deref_mut() {
                if transposed {
                    plan.grad_taps(branch)
                        .blocks(grad, &mut scratch.dcols, |columns, block| {
                            let block = Mat::row_major(block, taps_len, columns.len());
                            sgemm_rows(
                                &mut image_grad[columns.start..],
                                image_positions,
                                branch > 0,
                                Mat::row_major(&kernel_t, plan.channels_in, taps_len),
                                block,
                            );
                            if kernel_from_grad_cols {
                                // `[(o, i, j), c]`: the same block times the input's columns.
                                let pixels = Mat {
                                    data: &pixels[columns.start..],
                                    rows: columns.len(),
                                    cols: plan.channels_in,
                                    row_stride: 1,
                                    col_stride: image_positions,
                                };
                                sgemm(&mut acc.kernel, true, block, pixels);
                            }
                        });
                } else {
                    sgemm(
                        &mut scratch.dcols,
                        false,
                        Mat::transposed(kernel, patch, out),
                        Mat::row_major(grad, out, positions),
                    );
                    plan.input_taps(branch)
                        .col2im_add(&scratch.dcols, image_grad);
                }
            }
        }
    };
    let partial = || Partial {
        kernel: vec![0.0; if want_kernel { out * patch } else { 0 }],
        bias: vec![0.0; if want_bias { out } else { 0 }],
    };
    let scratch = || Scratch {
        cols: vec![
            0.0;
            if want_kernel && !kernel_from_grad_cols {
                plan.input_taps(0).block_len()
            } else {
                0
            }
        ],
        dcols: vec![
            0.0;
            match (want_input, transposed) {
                (false, _) => 0,
                (true, true) => plan.grad_taps(0).block_len(),
                (true, false) => patch * positions,
            }
        ],
    };
    // Contiguous groups of images (see `groups`): one partial sum and one pair of scratch
    // buffers per group, whatever the batch size.
    let per_group = plan.batch.div_ceil(groups()).max(1);
    let total = if want_input && image_len > 0 {
        grad_input
            .par_chunks_mut(image_len * per_group)
            .enumerate()
            .map(|(group, images)| {
                let (mut acc, mut scratch) = (partial(), scratch());
                for (k, image_grad) in images.chunks_mut(image_len).enumerate() {
                    per_image(
                        group * per_group + k,
                        Some(image_grad),
                        &mut acc,
                        &mut scratch,
                    );
                }
                acc
            })
            .reduce_with(Partial::add)
    } else {
        (0..plan.batch.div_ceil(per_group))
            .into_par_iter()
            .map(|group| {
                let (mut acc, mut scratch) = (partial(), scratch());
                for image in group * per_group..((group + 1) * per_group).min(plan.batch) {
                    per_image(image, None, &mut acc, &mut scratch);
                }
                acc
            })
            .reduce_with(Partial::add)
    }
    .unwrap_or_else(partial);
    Grads {
        input: want_input.then_some(grad_input),
        kernel: want_kernel.then(|| {
            // Back to the kernel's `[o, (c, i, j)]`.
            let (cin, taps) = (plan.channels_in, plan.kernel[0] * plan.kernel[1]);
            let mut kernel_grad = vec![0.0; out * patch];
            for (index, value) in kernel_grad.iter_mut().enumerate() {
                let (o, c, t) = (
                    index / patch,
                    index % patch / taps.max(1),
                    index % taps.max(1),
                );
                *value = if kernel_from_grad_cols {
                    total.kernel[(o * taps + t) * cin + c]
                } else {
                    total.kernel[(c * taps + t) * out + o]
                };
            }
            kernel_grad
        }),
        bias: want_bias.then_some(total.bias),
    }
}

/// One thread's share of the kernel and bias gradients.
struct Partial {
    kernel: Vec<f32>,
    bias: Vec<f32>,
}

/// One thread's im2col buffers: of the input (for the kernel gradient) and of the output
/// gradient or the GEMM's columns (for the input gradient).
struct Scratch {
    cols: Vec<f32>,
    dcols: Vec<f32>,
}

impl Partial {
    fn add(mut self, other: Self) -> Self {
        for (a, b) in self.kernel.iter_mut().zip(&other.kernel) {
            *a += b;
        }
        for (a, b) in self.bias.iter_mut().zip(&other.bias) {
            *a += b;
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic values in [-1, 1).
    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
            })
            .collect()
    }

    /// The convolution as a direct loop over output, channel and tap, with explicit bounds.
    fn direct(plan: &Plan, input: &[f32], kernel: &[f32], bias: &[f32]) -> Vec<f32> {
        let mut out = vec![0.0; plan.output_len()];
        let [kh, kw] = plan.kernel;
        let (h, w) = (plan.height as isize, plan.width as isize);
        for b in 0..plan.batch {
            for (n, &(d, top, left)) in plan.branches.iter().enumerate() {
                for o in 0..plan.channels_out {
                    for oy in 0..plan.out_height {
                        for ox in 0..plan.out_width {
                            let mut sum = bias[o];
                            for c in 0..plan.channels_in {
                                for i in 0..kh {
                                    for j in 0..kw {
                                        let iy =
                                            (oy * plan.stride[0] + i * d) as isize - top as isize;
                                        let ix =
                                            (ox * plan.stride[1] + j * d) as isize - left as isize;
                                        if iy < 0 || ix < 0 || iy >= h || ix >= w {
                                            continue;
                                        }
                                        let x = input[((b * plan.channels_in + c) * plan.height
                                            + iy as usize)
                                            * plan.width
                                            + ix as usize];
                                        sum += x * kernel
                                            [((o * plan.channels_in + c) * kh + i) * kw + j];
                                    }
                                }
                            }
                            let index = (((b * plan.branches.len() + n) * plan.channels_out + o)
                                * plan.out_height
                                + oy)
                                * plan.out_width
                                + ox;
                            out[index] = sum;
                        }
                    }
                }
            }
        }
        out
    }

    fn loss(plan: &Plan, input: &[f32], kernel: &[f32], bias: &[f32], weights: &[f32]) -> f64 {
        direct(plan, input, kernel, bias)
            .iter()
            .zip(weights)
            .map(|(y, w)| f64::from(*y) * f64::from(*w))
            .sum()
    }

    /// Every geometry twice: with the default im2col blocks (one block on these sizes) and
    /// with one target row per block.
    fn plans() -> Vec<Plan> {
        let plans = [
            Plan::new([2, 3, 7, 6], [4, 3, 3, 3], [1, 1], &[1, 2, 3]),
            Plan::new([1, 2, 9, 8], [3, 2, 3, 2], [2, 1], &[1, 3]),
            Plan::new([2, 1, 5, 5], [2, 1, 5, 5], [1, 2], &[2, 4]),
            Plan::new([1, 2, 6, 7], [2, 2, 1, 3], [3, 3], &[1]),
            // Stride 1 takes the transposed-convolution input gradient: even and rectangular
            // kernels (asymmetric padding), and dilations wider than the image.
            Plan::new([2, 2, 6, 9], [3, 2, 2, 4], [1, 1], &[1, 3]),
            Plan::new([1, 3, 5, 4], [2, 3, 5, 3], [1, 1], &[2, 5]),
        ];
        let one_row = plans.clone().map(|plan| Plan {
            block_bytes: 1,
            ..plan
        });
        plans.into_iter().chain(one_row).collect()
    }

    /// Every im2col (the shifted fast path at stride 1 and the per-row runs otherwise) against
    /// its definition, entry by entry, for the input and output-gradient taps of every plan.
    #[test]
    fn im2col_equals_its_definition() {
        for plan in plans() {
            for branch in 0..plan.branches.len() {
                let mut all = vec![plan.input_taps(branch)];
                if plan.stride == [1, 1] {
                    all.push(plan.grad_taps(branch));
                }
                for taps in all {
                    let [height, width] = taps.source;
                    let source = values(taps.channels * height * width, 3);
                    let mut scratch = vec![f32::NAN; taps.block_len()];
                    let mut seen = 0;
                    taps.blocks(&source, &mut scratch, |columns, block| {
                        assert_eq!(columns.start, seen, "{taps:?}: blocks in order");
                        seen = columns.end;
                        check_block(&taps, &source, columns, block);
                    });
                    assert_eq!(seen, taps.columns(), "{taps:?}: every column");
                }
            }
        }
    }

    /// `block` holds columns `columns` of the im2col matrix of `taps` over `source`.
    fn check_block(taps: &Taps, source: &[f32], columns: Range<usize>, block: &[f32]) {
        let [height, width] = taps.source;
        assert_eq!(block.len(), taps.rows() * columns.len());
        for (index, got) in block.iter().enumerate() {
            let (row, column) = (index / columns.len(), columns.start + index % columns.len());
            let (c, tap) = (
                row / (taps.kernel[0] * taps.kernel[1]),
                row % (taps.kernel[0] * taps.kernel[1]),
            );
            let (i, j) = (tap / taps.kernel[1], tap % taps.kernel[1]);
            let (ty, tx) = (column / taps.target[1], column % taps.target[1]);
            let y = (ty * taps.stride[0]) as isize + taps.start[0] + i as isize * taps.step[0];
            let x = (tx * taps.stride[1]) as isize + taps.start[1] + j as isize * taps.step[1];
            let want = if (0..height as isize).contains(&y) && (0..width as isize).contains(&x) {
                source[(c * height + y as usize) * width + x as usize]
            } else {
                0.0
            };
            assert_eq!(*got, want, "{taps:?}: row {row} column {column}");
        }
    }

    #[test]
    fn gemm_wrapper_matches_a_direct_product_with_transposed_views_and_accumulation() {
        let (m, k, n) = (5, 7, 3);
        let a = values(m * k, 1);
        let bt = values(n * k, 2); // stored as [n, k]: the rhs is its transpose
        let mut dst = values(m * n, 3);
        let start = dst.clone();
        sgemm(
            &mut dst,
            true,
            Mat::row_major(&a, m, k),
            Mat::transposed(&bt, k, n),
        );
        for r in 0..m {
            for c in 0..n {
                let expected: f32 =
                    start[r * n + c] + (0..k).map(|i| a[r * k + i] * bt[c * k + i]).sum::<f32>();
                assert!((dst[r * n + c] - expected).abs() < 1e-5, "({r},{c})");
            }
        }
        let mut fresh = vec![f32::NAN; m * n];
        sgemm(
            &mut fresh,
            false,
            Mat::row_major(&a, m, k),
            Mat::transposed(&bt, k, n),
        );
        for ((x, y), s) in fresh.iter().zip(&dst).zip(&start) {
            assert!((x - (y - s)).abs() < 1e-5, "{x} vs {}", y - s);
        }
    }

    #[test]
    fn gemm_wrapper_writes_a_block_of_columns_and_nothing_else() {
        let (m, k, n, stride, offset) = (4, 6, 3, 8, 2);
        let (a, b) = (values(m * k, 4), values(k * n, 5));
        let start = values(offset + (m - 1) * stride + n + 1, 6);
        for accumulate in [false, true] {
            let mut dst = start.clone();
            sgemm_rows(
                &mut dst[offset..],
                stride,
                accumulate,
                Mat::row_major(&a, m, k),
                Mat::row_major(&b, k, n),
            );
            for (index, got) in dst.iter().enumerate() {
                let (r, c) = (
                    (index.wrapping_sub(offset)) / stride,
                    (index.wrapping_sub(offset)) % stride,
                );
                if index < offset || r >= m || c >= n {
                    assert_eq!(*got, start[index], "{index} is outside the block");
                    continue;
                }
                let product: f32 = (0..k).map(|i| a[r * k + i] * b[i * n + c]).sum();
                let expected = product + if accumulate { start[index] } else { 0.0 };
                assert!(
                    (got - expected).abs() < 1e-5,
                    "({r},{c}): {got} vs {expected}"
                );
            }
        }
    }

    #[test]
    #[should_panic(expected = "destination too small")]
    fn gemm_wrapper_rejects_a_destination_block_past_its_slice() {
        let a = vec![1.0; 4];
        let mut dst = vec![0.0; 5];
        sgemm_rows(
            &mut dst,
            4,
            false,
            Mat::row_major(&a, 2, 2),
            Mat::row_major(&a, 2, 2),
        );
    }

    #[test]
    #[should_panic(expected = "rhs view out of bounds")]
    fn gemm_wrapper_rejects_a_view_past_its_slice() {
        let a = vec![1.0; 4];
        let b = vec![1.0; 3];
        let mut dst = vec![0.0; 4];
        sgemm(
            &mut dst,
            false,
            Mat::row_major(&a, 2, 2),
            Mat::row_major(&b, 2, 2),
        );
    }

    #[test]
    fn forward_equals_a_direct_loop() {
        for (p, plan) in plans().into_iter().enumerate() {
            let input = values(plan.batch * plan.image(), 10 + p as u64);
            let kernel = values(plan.channels_out * plan.patch(), 20 + p as u64);
            let bias = values(plan.channels_out, 30 + p as u64);
            let fused = forward(&plan, &input, &kernel, &bias, false);
            let reference = direct(&plan, &input, &kernel, &bias);
            assert_eq!(fused.len(), reference.len());
            for (i, (a, b)) in fused.iter().zip(&reference).enumerate() {
                assert!((a - b).abs() < 1e-5, "plan {p} index {i}: {a} vs {b}");
            }
            let rectified = forward(&plan, &input, &kernel, &bias, true);
            assert!(rectified.contains(&0.0) && rectified.iter().any(|v| *v > 0.0));
            for (a, b) in rectified.iter().zip(&fused) {
                assert_eq!(*a, b.max(0.0), "plan {p}: ReLU epilogue");
            }
        }
    }

    #[test]
    fn backward_equals_finite_differences() {
        for (p, plan) in plans().into_iter().enumerate() {
            let input = values(plan.batch * plan.image(), 40 + p as u64);
            let kernel = values(plan.channels_out * plan.patch(), 50 + p as u64);
            let bias = values(plan.channels_out, 60 + p as u64);
            let weights = values(plan.output_len(), 70 + p as u64);
            let grads = backward(&plan, &input, &kernel, &weights, [true, true, true]);
            let eps = 1e-2f32;
            let check = |name: &str, analytic: &[f32], which: usize| {
                for (i, &g) in analytic.iter().enumerate() {
                    let (mut x, mut k, mut b) = (input.clone(), kernel.clone(), bias.clone());
                    let target = match which {
                        0 => &mut x,
                        1 => &mut k,
                        _ => &mut b,
                    };
                    target[i] += eps;
                    let up = loss(&plan, &x, &k, &b, &weights);
                    let target = match which {
                        0 => &mut x,
                        1 => &mut k,
                        _ => &mut b,
                    };
                    target[i] -= 2.0 * eps;
                    let down = loss(&plan, &x, &k, &b, &weights);
                    let numeric = ((up - down) / (2.0 * f64::from(eps))) as f32;
                    assert!(
                        (numeric - g).abs() < 2e-3 * (1.0 + g.abs()),
                        "plan {p} d{name}[{i}]: analytic {g} numeric {numeric}"
                    );
                }
            };
            check("input", grads.input.as_ref().unwrap(), 0);
            check("kernel", grads.kernel.as_ref().unwrap(), 1);
            check("bias", grads.bias.as_ref().unwrap(), 2);
            // Asking for less gives the same values for what is asked.
            let only_kernel = backward(&plan, &input, &kernel, &weights, [false, true, false]);
            assert!(only_kernel.input.is_none() && only_kernel.bias.is_none());
            assert_eq!(only_kernel.kernel, grads.kernel);
        }
    }
}
