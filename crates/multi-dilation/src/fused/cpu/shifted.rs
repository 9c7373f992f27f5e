//! The shifted-GEMM forward for stride 1 ([`ForwardStrategy::Shifted`]): no im2col matrix.
//!
//! At stride 1, output `(y, x)` of a branch at dilation `d` reads input `(y - top + i d,
//! x - left + j d)` for tap `(i, j)`. Copy the image once into a zero-padded plane of width
//! `Wp = w + (kw - 1) d` (the 'same' padding around it) and number the outputs `p = y Wp + x`
//! over that wider grid: tap `(i, j)` then reads padded position `p + i d Wp + j d`, one offset
//! for every output. So the branch is `kh * kw` GEMMs of the tap's `[out, in]` slice of the
//! kernel with the padded image seen from that offset (a strided view, not a copy), summed;
//! the `Wp - w` positions at the end of each row fall outside the map and are dropped when the
//! sums are written out (with the bias and the ReLU). It reads what im2col would copy, without
//! writing `kh * kw` copies of the image first: it pays where that copy is a large share of the
//! work (few output channels, large kernels), and loses where the GEMMs are too shallow (few
//! input channels) to amortise summing into the output once per tap.
//!
//! The outputs are cut into blocks of columns so that a block's sums stay in L2 across its
//! taps.

use super::gemm::{Mat, Threads, sgemm_rows};
use super::isa::multiversion;
use super::plan::Plan;

/// The kernel `[out, in, kh, kw]` laid out per tap, `[kh * kw, out, in]`: each tap's slice is
/// one GEMM's row-major left operand.
pub(super) fn kernel_taps(plan: &Plan, kernel: &[f32]) -> Vec<f32> {
    let (out, cin, taps) = (
        plan.channels_out,
        plan.channels_in,
        plan.kernel[0] * plan.kernel[1],
    );
    let mut laid = vec![0.0; kernel.len()];
    for (pair, weights) in kernel.chunks_exact(taps.max(1)).enumerate() {
        for (tap, weight) in weights.iter().enumerate() {
            laid[tap * out * cin + pair] = *weight;
        }
    }
    laid
}

/// One branch's padded grid: the padded plane's height (`h + (kh - 1) d`) and width (`Wp`),
/// and the outputs numbered over it (`(h - 1) Wp + w`, the last one the map's last output).
#[derive(Clone, Copy, Debug)]
pub(super) struct Grid {
    height: usize,
    width: usize,
    columns: usize,
}

impl Grid {
    /// The grid of branch `branch` of `plan` (stride 1).
    pub fn new(plan: &Plan, branch: usize) -> Self {
        let (d, _, _) = plan.branches[branch];
        let [kh, kw] = plan.kernel;
        let width = plan.width + (kw - 1) * d;
        Self {
            height: plan.height + (kh - 1) * d,
            width,
            columns: (plan.height - 1) * width + plan.width,
        }
    }

    /// Elements of one padded plane.
    fn plane(&self) -> usize {
        self.height * self.width
    }

    /// Output columns per block: a block's sums `[out, n]` and one tap's input columns
    /// `[in, n]` within half the im2col block's bytes ([`Plan::block_bytes`]: they stay in L2
    /// beside the packed kernel), and at least a quarter of its fewest columns
    /// ([`Plan::block_columns`]: 64 by default, sixteen cache lines of each row).
    pub fn block_columns(&self, plan: &Plan) -> usize {
        let per_column = (plan.channels_out + plan.channels_in) * std::mem::size_of::<f32>();
        (plan.block_bytes / 2 / per_column.max(1))
            .max(plan.block_columns / 4)
            .clamp(1, self.columns.max(1))
    }
}

/// Output channels `channels` of branch `branch` of image `pixels` (`[in, h, w]`) into `map`
/// (`[channels, h, w]`), with `taps` from [`kernel_taps`]; `padded` and `sums` are scratch,
/// resized here.
#[allow(clippy::too_many_arguments)]
pub(super) fn forward_map(
    plan: &Plan,
    branch: usize,
    pixels: &[f32],
    (taps, channels): (&[f32], std::ops::Range<usize>),
    bias: &[f32],
    relu: bool,
    (padded, sums): (&mut Vec<f32>, &mut Vec<f32>),
    map: &mut [f32],
    threads: Threads,
) {
    let (d, top, left) = plan.branches[branch];
    let grid = Grid::new(plan, branch);
    let (out, cin, rows) = (plan.channels_out, plan.channels_in, channels.len());
    let [kh, kw] = plan.kernel;
    plan.pad(pixels, [top, left], [grid.height, grid.width], padded);
    let block = grid.block_columns(plan);
    sums.resize(rows * block, 0.0);
    for first in (0..grid.columns).step_by(block) {
        let n = block.min(grid.columns - first);
        for tap in 0..kh * kw {
            let (i, j) = (tap / kw, tap % kw);
            let offset = first + i * d * grid.width + j * d;
            sgemm_rows(
                sums,
                n,
                tap > 0,
                Mat::row_major(
                    &taps[(tap * out + channels.start) * cin..][..rows * cin],
                    rows,
                    cin,
                ),
                Mat {
                    data: &padded[offset..],
                    rows: cin,
                    cols: n,
                    row_stride: grid.plane(),
                    col_stride: 1,
                },
                threads,
            );
        }
        write_out(
            plan.isa,
            plan,
            grid.width,
            first..first + n,
            &sums[..rows * n],
            &bias[channels.clone()],
            relu,
            map,
        );
    }
}

multiversion! {
/// The sums of columns `columns` of the padded grid (`[channels, columns.len()]`, row-major)
/// into `map` (`[channels, h, w]`): the positions inside the map, plus the bias (one per
/// channel), rectified when `relu`.
fn write_out(
    plan: &Plan,
    grid_width: usize,
    columns: std::ops::Range<usize>,
    sums: &[f32],
    bias: &[f32],
    relu: bool,
    map: &mut [f32],
) {
    let (width, positions, n) = (plan.width, plan.positions(), columns.len());
    for ((row, target), shift) in sums
        .chunks_exact(n)
        .zip(map.chunks_exact_mut(positions))
        .zip(bias)
    {
        // Runs of one grid row: columns `from..to` (global) of row `y`.
        let mut p = columns.start;
        while p < columns.end {
            let (y, x) = (p / grid_width, p % grid_width);
            let row_end = (y * grid_width + grid_width).min(columns.end);
            if x < width {
                let to = (y * grid_width + width).min(columns.end);
                let source = &row[p - columns.start..to - columns.start];
                let dest = &mut target[y * width + x..][..to - p];
                for (value, sum) in dest.iter_mut().zip(source) {
                    let biased = sum + shift;
                    *value = if relu { biased.max(0.0) } else { biased };
                }
            }
            p = row_end;
        }
    }
}
}
