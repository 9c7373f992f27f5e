//! The input gradient of the Winograd backward strategy: the transposed convolution, run as
//! the Winograd forward ([`ForwardStrategy::Winograd`]).

use crate::fused::cpu::forward::forward_using;
use crate::fused::cpu::plan::Plan;
use crate::fused::cpu::strategy::ForwardStrategy;
use crate::shape::BranchLayout;

/// The input gradient of `plan`'s convolution (3x3, stride 1) from the output gradient, by
/// the Winograd forward: the transposed convolution of a 'same' 3x3 kernel at stride 1 and
/// dilation `d` is the 'same' convolution at dilation `d` with the kernel turned by 180
/// degrees and its channel axes swapped (`gx[c, q] = sum_{o, i, j} w[o, c, 2 - i, 2 - j]
/// g[o, q + (i - 1, j - 1) d]`), summed over the branches. The output gradient's maps are
/// first laid out branch-major, as branch-parallel inputs are, so that the branches' partial
/// gradients come out as one block per branch.
pub(super) fn input_gradient(plan: &Plan, kernel: &[f32], grad_output: &[f32]) -> Vec<f32> {
    let (cin, out, branches) = (plan.channels_in, plan.channels_out, plan.branches.len());
    let (batch, map) = (plan.batch, plan.map());
    let mut turned = vec![0.0; kernel.len()];
    for (index, taps) in kernel.chunks_exact(9).enumerate() {
        let (o, c) = (index / cin, index % cin);
        for (t, weight) in taps.iter().enumerate() {
            turned[(c * out + o) * 9 + 8 - t] = *weight;
        }
    }
    let stacked;
    let branch_major = if plan.layout == BranchLayout::Stacked {
        grad_output
    } else {
        let mut maps = vec![0.0; grad_output.len()];
        for (index, source) in grad_output.chunks_exact(map).enumerate() {
            let (b, n) = (index / branches, index % branches);
            maps[(n * batch + b) * map..][..map].copy_from_slice(source);
        }
        stacked = maps;
        &stacked
    };
    let dilations: Vec<usize> = plan.branches.iter().map(|&(d, _, _)| d).collect();
    let transposed = Plan::new(
        [branches * batch, out, plan.height, plan.width],
        [cin, out, 3, 3],
        [1, 1],
        &dilations,
        BranchLayout::Stacked,
    );
    let zeros = vec![0.0; cin];
    let partial = forward_using(
        &transposed,
        branch_major,
        &turned,
        &zeros,
        false,
        ForwardStrategy::Winograd,
    );
    if plan.layout == BranchLayout::Stacked {
        return partial;
    }
    let image = plan.image();
    let mut grad_input = partial[..batch * image].to_vec();
    for branch in partial.chunks_exact(batch * image).skip(1) {
        for (sum, value) in grad_input.iter_mut().zip(branch) {
            *sum += value;
        }
    }
    grad_input
}
