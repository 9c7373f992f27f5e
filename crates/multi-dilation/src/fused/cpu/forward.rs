//! Forward: for each (image, dilation), im2col blocks of the image times the kernel, written
//! straight into that branch's map of the output, or the same map by Winograd's algorithm
//! ([`ForwardStrategy`]).

use std::ops::Range;

use rayon::prelude::*;

use super::direct;
use super::gemm::{Mat, Threads, sgemm_rows};
use super::isa::multiversion;
use super::plan::{Plan, Taps};
use super::shifted;
use super::strategy::ForwardStrategy;
use super::threads::{gemm_threads, groups};
use super::winograd::{self, POINTS, Tiles};

/// Forward: `[batch, dilations, out, ho, wo]` (`[dilations, batch, out, ho, wo]` for
/// per-branch inputs) from input, kernel and bias (`[out]`, may be all
/// zeros), with ReLU applied to each map as it is finished when `relu`, by the strategy
/// [`ForwardStrategy::select`] picks.
pub(crate) fn forward(
    plan: &Plan,
    input: &[f32],
    kernel: &[f32],
    bias: &[f32],
    relu: bool,
) -> Vec<f32> {
    forward_using(
        plan,
        input,
        kernel,
        bias,
        relu,
        ForwardStrategy::select(plan),
    )
}

/// [`forward`] by `strategy` (tests force each one).
///
/// # Panics
/// Panics if `strategy` is [`ForwardStrategy::Winograd`] and the kernel is not 3x3 or the
/// stride not 1, or if it is [`ForwardStrategy::Shifted`] and the stride is not 1.
pub(crate) fn forward_using(
    plan: &Plan,
    input: &[f32],
    kernel: &[f32],
    bias: &[f32],
    relu: bool,
    strategy: ForwardStrategy,
) -> Vec<f32> {
    let (patch, positions) = (plan.patch(), plan.positions());
    if plan.output_len() == 0 {
        return Vec::new();
    }
    if strategy == ForwardStrategy::Direct {
        return direct::forward(plan, input, kernel, bias, relu);
    }
    // Zeroed by every thread: `vec![0.0; n]` zeroes a reused allocation on the calling
    // thread alone, 3% of the samples (and the other core idle) on a batch-32 forward.
    let mut output = Vec::with_capacity(plan.output_len());
    output.par_extend(rayon::iter::repeat_n(0.0f32, plan.output_len()));
    if strategy == ForwardStrategy::Winograd {
        assert!(
            plan.kernel == [3, 3] && plan.stride == [1, 1],
            "fused multi-dilation conv2d: the Winograd forward needs a 3x3 kernel at stride 1, \
             got {:?} at stride {:?}",
            plan.kernel,
            plan.stride
        );
        by_winograd(plan, input, kernel, bias, relu, &mut output);
        return output;
    }
    if strategy == ForwardStrategy::Shifted {
        assert!(
            plan.stride == [1, 1],
            "fused multi-dilation conv2d: the shifted-GEMM forward needs stride 1, got {:?}",
            plan.stride
        );
        by_shifted(plan, input, kernel, bias, relu, &mut output);
        return output;
    }
    // The bias as the kernel's last column, times a row of ones under each im2col block: the
    // GEMM writes each output once, with no pass to fill in the bias first.
    let mut kernel_bias = Vec::with_capacity(plan.channels_out * (patch + 1));
    for (row, bias) in kernel.chunks_exact(patch.max(1)).zip(bias) {
        kernel_bias.extend_from_slice(row);
        kernel_bias.push(*bias);
    }
    let taps = |branch| Taps {
        ones_row: true,
        ..plan.input_taps(branch)
    };
    for_each_map(
        plan,
        Pieces::PerThread,
        &mut output,
        || vec![0.0f32; taps(0).block_len()],
        |cols, image, branch, channels, map, threads| {
            let pixels = plan.pixels(input, image);
            let rows = &kernel_bias[channels.start * (patch + 1)..channels.end * (patch + 1)];
            taps(branch).blocks(pixels, cols, |columns, block| {
                sgemm_rows(
                    &mut map[columns.start..],
                    positions,
                    false,
                    Mat::row_major(rows, channels.len(), patch + 1),
                    Mat::row_major(block, patch + 1, columns.len()),
                    threads,
                );
            });
            if relu {
                rectify(plan.isa, map);
            }
        },
    );
    output
}

/// How [`for_each_map`] may cut the maps when they cannot be spread evenly over the threads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pieces {
    /// Into one piece of output channels per thread, each on one thread.
    PerThread,
    /// Not at all: whole maps, each GEMM across every thread.
    WholeMaps,
}

/// Runs `f(scratch, image, branch, channels, part, threads)` for every (image, branch) map of
/// `output`, `part` being the map's output channels `channels` (`[channels, ho * wo]`).
///
/// Maps are handed out whole, in contiguous groups (see [`groups`]) with one `scratch()` per
/// group, each GEMM on one thread. Where whole maps cannot keep every thread busy
/// ([`gemm_threads`] gives [`Threads::All`]: one image of three branches on two threads, say),
/// each map is cut into one piece of output channels per thread when `pieces` allows it and
/// every piece keeps at least 16 channels, each piece computed on one thread from its own
/// im2col (the copy is repeated per piece, a small cost next to a GEMM that deep); otherwise
/// each GEMM runs across every thread.
fn for_each_map<S>(
    plan: &Plan,
    pieces: Pieces,
    output: &mut [f32],
    scratch: impl Fn() -> S + Sync,
    f: impl Fn(&mut S, usize, usize, Range<usize>, &mut [f32], Threads) + Sync,
) {
    let maps = plan.batch * plan.branches.len();
    let threads = gemm_threads(maps, 2.0 * (plan.map() * (plan.patch() + 1)) as f64);
    let (out, positions) = (plan.channels_out, plan.positions());
    let rows = out.div_ceil(rayon::current_num_threads().max(1));
    if threads == Threads::All && pieces == Pieces::PerThread && rows >= 16 {
        output
            .par_chunks_mut(plan.map())
            .enumerate()
            .for_each(|(index, map)| {
                let (image, branch) = plan.map_source(index);
                map.par_chunks_mut(rows * positions)
                    .enumerate()
                    .for_each(|(piece, part)| {
                        let first = piece * rows;
                        let channels = first..(first + rows).min(out);
                        f(&mut scratch(), image, branch, channels, part, Threads::One);
                    });
            });
        return;
    }
    let per_group = maps.div_ceil(groups());
    output
        .par_chunks_mut(plan.map() * per_group)
        .enumerate()
        .for_each(|(group, maps)| {
            let mut scratch = scratch();
            for (k, map) in maps.chunks_mut(plan.map()).enumerate() {
                let (image, branch) = plan.map_source(group * per_group + k);
                f(&mut scratch, image, branch, 0..out, map, threads);
            }
        });
}

/// [`ForwardStrategy::Shifted`] into `output`: per (image, branch) map, the padded image and
/// one GEMM per tap ([`shifted`]).
fn by_shifted(
    plan: &Plan,
    input: &[f32],
    kernel: &[f32],
    bias: &[f32],
    relu: bool,
    output: &mut [f32],
) {
    let taps = shifted::kernel_taps(plan, kernel);
    for_each_map(
        plan,
        Pieces::PerThread,
        output,
        || (Vec::new(), Vec::new()),
        |(padded, sums), image, branch, channels, map, threads| {
            shifted::forward_map(
                plan,
                branch,
                plan.pixels(input, image),
                (&taps, channels),
                bias,
                relu,
                (padded, sums),
                map,
                threads,
            );
        },
    );
}

/// [`ForwardStrategy::Winograd`] into `output`: per (image, branch) map, the input transform,
/// 16 GEMMs and the output transform ([`winograd`]).
fn by_winograd(
    plan: &Plan,
    input: &[f32],
    kernel: &[f32],
    bias: &[f32],
    relu: bool,
    output: &mut [f32],
) {
    let u = winograd::kernel_transform(plan, kernel);
    let tiles: Vec<Tiles> = plan
        .branches
        .iter()
        .map(|&(d, _, _)| Tiles::new(plan, d))
        .collect();
    let most = tiles.iter().map(|t| t.count).max().unwrap_or(0);
    let (v_len, m_len) = (POINTS * plan.channels_in, POINTS * plan.channels_out);
    // The transforms of a map are not cut by output channels: whole maps only.
    for_each_map(
        plan,
        Pieces::WholeMaps,
        output,
        || {
            (
                vec![0.0f32; v_len * most],
                vec![0.0f32; m_len * most],
                Vec::new(),
            )
        },
        |(v, m, phase), image, branch, _, map, threads| {
            let tiles = &tiles[branch];
            let v = &mut v[..v_len * tiles.count];
            let m = &mut m[..m_len * tiles.count];
            let pixels = plan.pixels(input, image);
            winograd::input_transform(plan.isa, plan, tiles, pixels, phase, v);
            winograd::multiply(plan, tiles, &u, v, m, threads);
            winograd::output_transform(plan.isa, plan, tiles, m, bias, relu, map);
        },
    );
}

multiversion! {
/// ReLU in place, compiled for each instruction set.
fn rectify(values: &mut [f32]) {
    for value in values.iter_mut() {
        *value = value.max(0.0);
    }
}
}
