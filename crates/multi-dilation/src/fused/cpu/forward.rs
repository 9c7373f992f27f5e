//! Forward: for each (image, dilation), im2col blocks of the image times the kernel, written
//! straight into that branch's map of the output, or the same map by Winograd's algorithm
//! ([`ForwardStrategy`]).

use rayon::prelude::*;

use super::gemm::{Mat, Threads, sgemm_rows};
use super::plan::{Plan, Taps};
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
/// stride not 1.
pub(crate) fn forward_using(
    plan: &Plan,
    input: &[f32],
    kernel: &[f32],
    bias: &[f32],
    relu: bool,
    strategy: ForwardStrategy,
) -> Vec<f32> {
    let (patch, positions) = (plan.patch(), plan.positions());
    let mut output = vec![0.0f32; plan.output_len()];
    if output.is_empty() {
        return output;
    }
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
        &mut output,
        || vec![0.0f32; taps(0).block_len()],
        |cols, image, branch, map, threads| {
            let pixels = plan.pixels(input, image);
            taps(branch).blocks(pixels, cols, |columns, block| {
                sgemm_rows(
                    &mut map[columns.start..],
                    positions,
                    false,
                    Mat::row_major(&kernel_bias, plan.channels_out, patch + 1),
                    Mat::row_major(block, patch + 1, columns.len()),
                    threads,
                );
            });
            if relu {
                for value in map.iter_mut() {
                    *value = value.max(0.0);
                }
            }
        },
    );
    output
}

/// Runs `f(scratch, image, branch, map, threads)` for every (image, branch) map of `output`,
/// split into contiguous groups of maps (see [`groups`]), with one `scratch()` per group and
/// each GEMM on the threads [`gemm_threads`] gives.
fn for_each_map<S>(
    plan: &Plan,
    output: &mut [f32],
    scratch: impl Fn() -> S + Sync,
    f: impl Fn(&mut S, usize, usize, &mut [f32], Threads) + Sync,
) {
    let maps = plan.batch * plan.branches.len();
    let per_group = maps.div_ceil(groups());
    let threads = gemm_threads(maps, 2.0 * (plan.map() * (plan.patch() + 1)) as f64);
    output
        .par_chunks_mut(plan.map() * per_group)
        .enumerate()
        .for_each(|(group, maps)| {
            let mut scratch = scratch();
            for (k, map) in maps.chunks_mut(plan.map()).enumerate() {
                let (image, branch) = plan.map_source(group * per_group + k);
                f(&mut scratch, image, branch, map, threads);
            }
        });
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
    for_each_map(
        plan,
        output,
        || {
            (
                vec![0.0f32; v_len * most],
                vec![0.0f32; m_len * most],
                Vec::new(),
            )
        },
        |(v, m, phase), image, branch, map, threads| {
            let tiles = &tiles[branch];
            let v = &mut v[..v_len * tiles.count];
            let m = &mut m[..m_len * tiles.count];
            let pixels = plan.pixels(input, image);
            winograd::input_transform(plan, tiles, pixels, phase, v);
            winograd::multiply(plan, tiles, &u, v, m, threads);
            winograd::output_transform(plan, tiles, m, bias, relu, map);
        },
    );
}
