//! Forward: for each (image, dilation), im2col blocks of the image times the kernel, written
//! straight into that branch's map of the output.

use rayon::prelude::*;

use super::gemm::{Mat, sgemm_rows};
use super::gemm_threads;
use super::groups;
use super::plan::{Plan, Taps};

/// Forward: `[batch, dilations, out, ho, wo]` (`[dilations, batch, out, ho, wo]` for
/// per-branch inputs) from input, kernel and bias (`[out]`, may be all
/// zeros), with ReLU applied to each map as it is finished when `relu`.
pub(crate) fn forward(
    plan: &Plan,
    input: &[f32],
    kernel: &[f32],
    bias: &[f32],
    relu: bool,
) -> Vec<f32> {
    let (patch, positions) = (plan.patch(), plan.positions());
    let mut output = vec![0.0f32; plan.output_len()];
    if output.is_empty() {
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
    // Contiguous groups of (image, branch) maps (see `groups`), one im2col block buffer each.
    let maps = plan.batch * plan.branches.len();
    let per_group = maps.div_ceil(groups());
    let threads = gemm_threads(maps, 2.0 * (plan.map() * (patch + 1)) as f64);
    output
        .par_chunks_mut(plan.map() * per_group)
        .enumerate()
        .for_each(|(group, maps)| {
            let mut cols = vec![0.0f32; taps(0).block_len()];
            for (k, map) in maps.chunks_mut(plan.map()).enumerate() {
                let (image, branch) = plan.map_source(group * per_group + k);
                let pixels = plan.pixels(input, image);
                taps(branch).blocks(pixels, &mut cols, |columns, block| {
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
            }
        });
    output
}
