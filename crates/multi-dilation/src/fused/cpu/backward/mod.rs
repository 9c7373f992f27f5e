//! Backward from the output gradient `[batch, dilations, out, ho, wo]` (`[dilations, batch,
//! out, ho, wo]` for per-branch inputs): the input gradient, and the kernel and bias gradients
//! summed over every image and every dilation in one pass.
//!
//! Input images (with per-branch inputs, each of the `dilations * batch`) are split into
//! contiguous groups (see [`groups`]). Each group writes the input gradient of its own images
//! (disjoint chunks) and sums its own [`Partial`] kernel and bias gradients, which are added up
//! across groups at the end. Per image and branch ([`pass`]), the bias gradient is a sum of the
//! output gradient's rows; the input and kernel gradients are computed by the
//! [`BackwardStrategy`] that [`BackwardStrategy::select`] picks. The Winograd strategy's input
//! gradient is a forward of its own ([`winograd`]).

mod pass;
mod winograd;

use rayon::prelude::*;

use crate::fused::cpu::plan::Plan;
use crate::fused::cpu::strategy::BackwardStrategy;
use crate::fused::cpu::threads::groups;
#[cfg(test)]
pub(super) use pass::lane_sum;
use pass::{Partial, Pass};

/// What [`backward`] computes: each gradient is `None` when not asked for.
pub(crate) struct Grads {
    pub input: Option<Vec<f32>>,
    pub kernel: Option<Vec<f32>>,
    pub bias: Option<Vec<f32>>,
}

/// Backward from the output gradient `[batch, dilations, out, ho, wo]`: the gradients `want`
/// (input, kernel, bias), with the kernel and bias gradients summed over every image and every
/// dilation, by the strategy [`BackwardStrategy::select`] picks.
pub(crate) fn backward(
    plan: &Plan,
    input: &[f32],
    kernel: &[f32],
    grad_output: &[f32],
    want: [bool; 3],
) -> Grads {
    let strategy = BackwardStrategy::select(plan, want);
    backward_using(plan, input, kernel, grad_output, want, strategy)
}

/// [`backward`] by `strategy` (tests force each one).
///
/// # Panics
/// Panics if `strategy` is not [`BackwardStrategy::Col2im`] and the stride is not 1.
pub(crate) fn backward_using(
    plan: &Plan,
    input: &[f32],
    kernel: &[f32],
    grad_output: &[f32],
    want: [bool; 3],
    strategy: BackwardStrategy,
) -> Grads {
    assert!(
        strategy == BackwardStrategy::Col2im || plan.stride == [1, 1],
        "fused multi-dilation conv2d: the {strategy:?} backward needs stride 1, got {:?}",
        plan.stride
    );
    let [want_input, want_kernel, want_bias] = want;
    if strategy == BackwardStrategy::Winograd {
        let rest = [false, want_kernel, want_bias];
        let grads = backward_using(
            plan,
            input,
            kernel,
            grad_output,
            rest,
            BackwardStrategy::Col2im,
        );
        let input = want_input.then(|| winograd::input_gradient(plan, kernel, grad_output));
        return Grads { input, ..grads };
    }
    let pass = Pass::new(plan, input, kernel, grad_output, want, strategy);
    let image_len = plan.image();
    let mut grad_input = vec![0.0f32; if want_input { input.len() } else { 0 }];
    // Contiguous groups of images (see `groups`): one partial sum and one pair of scratch
    // buffers per group, whatever the batch size.
    let images = plan.input_images();
    let per_group = images.div_ceil(groups()).max(1);
    let total = if want_input && image_len > 0 {
        grad_input
            .par_chunks_mut(image_len * per_group)
            .enumerate()
            .map(|(group, images)| {
                let (mut acc, mut scratch) = (pass.partial(), pass.scratch());
                for (k, image_grad) in images.chunks_mut(image_len).enumerate() {
                    pass.image(
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
        (0..images.div_ceil(per_group))
            .into_par_iter()
            .map(|group| {
                let (mut acc, mut scratch) = (pass.partial(), pass.scratch());
                for image in group * per_group..((group + 1) * per_group).min(images) {
                    pass.image(image, None, &mut acc, &mut scratch);
                }
                acc
            })
            .reduce_with(Partial::add)
    }
    .unwrap_or_else(|| pass.partial());
    Grads {
        input: want_input.then_some(grad_input),
        kernel: want_kernel.then(|| pass.kernel_grad(&total.kernel)),
        bias: want_bias.then_some(total.bias),
    }
}
