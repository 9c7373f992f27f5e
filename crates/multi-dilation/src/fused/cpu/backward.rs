//! Backward from the output gradient `[batch, dilations, out, ho, wo]` (`[dilations, batch,
//! out, ho, wo]` for per-branch inputs): the input gradient, and the kernel and bias gradients
//! summed over every image and every dilation in one pass.
//!
//! Input images (with per-branch inputs, each of the `dilations * batch`) are split into
//! contiguous groups (see [`groups`]). Each group writes the input gradient of its own images
//! (disjoint chunks) and sums its own [`Partial`] kernel and bias gradients, which are added up
//! across groups at the end. Per image and branch, the bias gradient is a sum of the output
//! gradient's rows; the input and kernel gradients are computed by the [`Strategy`] that
//! [`Strategy::select`] picks.

use rayon::prelude::*;

use super::gemm::{Mat, Threads, sgemm, sgemm_rows};
use super::gemm_threads;
use super::groups;
use super::plan::Plan;
pub(crate) use super::strategy::Strategy;
use super::winograd;

/// What [`backward`] computes: each gradient is `None` when not asked for.
pub(crate) struct Grads {
    pub input: Option<Vec<f32>>,
    pub kernel: Option<Vec<f32>>,
    pub bias: Option<Vec<f32>>,
}

/// Backward from the output gradient `[batch, dilations, out, ho, wo]`: the gradients `want`
/// (input, kernel, bias), with the kernel and bias gradients summed over every image and every
/// dilation, by the strategy [`Strategy::select`] picks.
pub(crate) fn backward(
    plan: &Plan,
    input: &[f32],
    kernel: &[f32],
    grad_output: &[f32],
    want: [bool; 3],
) -> Grads {
    let strategy = Strategy::select(plan, want);
    backward_with(plan, input, kernel, grad_output, want, strategy)
}

/// [`backward`] by `strategy` (tests force each one).
///
/// # Panics
/// Panics if `strategy` is [`Strategy::TransposedGemm`] and the stride is not 1.
pub(crate) fn backward_with(
    plan: &Plan,
    input: &[f32],
    kernel: &[f32],
    grad_output: &[f32],
    want: [bool; 3],
    strategy: Strategy,
) -> Grads {
    assert!(
        strategy == Strategy::Col2im || plan.stride == [1, 1],
        "fused multi-dilation conv2d: the {strategy:?} backward needs stride 1, got {:?}",
        plan.stride
    );
    let [want_input, want_kernel, want_bias] = want;
    if strategy == Strategy::Winograd {
        let rest = [false, want_kernel, want_bias];
        let grads = backward_with(plan, input, kernel, grad_output, rest, Strategy::Col2im);
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

/// One call of [`backward_with`]: its arguments, and the kernel laid out for the strategy.
struct Pass<'a> {
    plan: &'a Plan,
    input: &'a [f32],
    kernel: &'a [f32],
    grad_output: &'a [f32],
    want_input: bool,
    want_kernel: bool,
    want_bias: bool,
    strategy: Strategy,
    /// The kernel as `[in, (o, i, j)]` for [`Strategy::TransposedGemm`]'s input gradient
    /// (empty otherwise).
    kernel_t: Vec<f32>,
    /// The threads of each GEMM (see [`gemm_threads`]).
    threads: Threads,
}

impl<'a> Pass<'a> {
    /// The pass, with the transposed kernel when the strategy needs it.
    fn new(
        plan: &'a Plan,
        input: &'a [f32],
        kernel: &'a [f32],
        grad_output: &'a [f32],
        want: [bool; 3],
        strategy: Strategy,
    ) -> Self {
        let [want_input, want_kernel, want_bias] = want;
        let kernel_t = if want_input && strategy == Strategy::TransposedGemm {
            // `[o, c, tap]` to `[c, o, tap]`: one copy of `kh * kw` taps per (o, c).
            let (cin, out, taps) = (
                plan.channels_in,
                plan.channels_out,
                plan.kernel[0] * plan.kernel[1],
            );
            let mut kernel_t = vec![0.0; cin * out * taps];
            for (index, taps_of) in kernel.chunks_exact(taps.max(1)).enumerate() {
                let (o, c) = (index / cin, index % cin);
                kernel_t[(c * out + o) * taps..][..taps].copy_from_slice(taps_of);
            }
            kernel_t
        } else {
            Vec::new()
        };
        // Per input image: its branches, each an input-gradient and a kernel-gradient GEMM.
        let gemms =
            plan.image_branches(0).len() * (usize::from(want_input) + usize::from(want_kernel));
        let flops = 2.0 * (gemms * plan.map() * plan.patch()) as f64;
        Self {
            plan,
            input,
            kernel,
            grad_output,
            want_input,
            want_kernel,
            want_bias,
            strategy,
            kernel_t,
            threads: gemm_threads(plan.input_images(), flops),
        }
    }

    /// Zeroed partial sums of the gradients asked for.
    fn partial(&self) -> Partial {
        let (out, patch) = (self.plan.channels_out, self.plan.patch());
        Partial {
            kernel: vec![0.0; if self.want_kernel { out * patch } else { 0 }],
            bias: vec![0.0; if self.want_bias { out } else { 0 }],
        }
    }

    /// Scratch buffers of the sizes the strategy uses.
    fn scratch(&self) -> Scratch {
        let (plan, input, kernel) = (self.plan, self.want_input, self.want_kernel);
        let (cols, dcols) = match self.strategy {
            Strategy::TransposedGemm => {
                let blocks = input || kernel;
                (None, blocks.then(|| plan.grad_taps(0).block_len()))
            }
            Strategy::Col2im | Strategy::Winograd => (
                kernel.then(|| plan.input_taps(0).block_len()),
                input.then(|| plan.patch() * plan.positions()),
            ),
        };
        Scratch {
            cols: vec![0.0; cols.unwrap_or(0)],
            dcols: vec![0.0; dcols.unwrap_or(0)],
        }
    }

    /// Every branch that convolves input image `image`: its input gradient into `image_grad`
    /// (when asked for), its kernel and bias gradients added to `acc`.
    fn image(
        &self,
        image: usize,
        mut image_grad: Option<&mut [f32]>,
        acc: &mut Partial,
        scratch: &mut Scratch,
    ) {
        let plan = self.plan;
        let (map_len, positions) = (plan.map(), plan.positions());
        let pixels = plan.pixels(self.input, image);
        let branches = plan.image_branches(image);
        for branch in branches.clone() {
            let grad = &self.grad_output[plan.output_map(image, branch) * map_len..][..map_len];
            if self.want_bias {
                for (sum, row) in acc.bias.iter_mut().zip(grad.chunks(positions)) {
                    *sum += lane_sum(row);
                }
            }
            // The first branch writes the image's input gradient, the others add to it.
            let first = branch == branches.start;
            let image_grad = image_grad.as_deref_mut();
            match self.strategy {
                Strategy::TransposedGemm => self.transposed_gemm(
                    branch,
                    first,
                    pixels,
                    grad,
                    image_grad,
                    &mut acc.kernel,
                    scratch,
                ),
                Strategy::Col2im | Strategy::Winograd => {
                    self.col2im(branch, pixels, grad, image_grad, &mut acc.kernel, scratch)
                }
            }
        }
    }

    /// [`Strategy::TransposedGemm`] for one branch of one image: `pixels` its input, `grad`
    /// its output gradient `[out, ho, wo]`; the first branch of the image (`first`) writes its
    /// input gradient, later ones add to it.
    #[allow(clippy::too_many_arguments)]
    fn transposed_gemm(
        &self,
        branch: usize,
        first: bool,
        pixels: &[f32],
        grad: &[f32],
        mut image_grad: Option<&mut [f32]>,
        kernel_sums: &mut [f32],
        scratch: &mut Scratch,
    ) {
        if image_grad.is_none() && !self.want_kernel {
            return;
        }
        let plan = self.plan;
        let taps_len = plan.channels_out * plan.kernel[0] * plan.kernel[1];
        let image_positions = plan.height * plan.width;
        plan.grad_taps(branch)
            .blocks(grad, &mut scratch.dcols, |columns, block| {
                let block = Mat::row_major(block, taps_len, columns.len());
                if let Some(image_grad) = image_grad.as_deref_mut() {
                    sgemm_rows(
                        &mut image_grad[columns.start..],
                        image_positions,
                        !first,
                        Mat::row_major(&self.kernel_t, plan.channels_in, taps_len),
                        block,
                        self.threads,
                    );
                }
                if self.want_kernel {
                    // `[(o, i, j), c]`: the same block times the input's columns.
                    let pixels = Mat {
                        data: &pixels[columns.start..],
                        rows: columns.len(),
                        cols: plan.channels_in,
                        row_stride: 1,
                        col_stride: image_positions,
                    };
                    sgemm(kernel_sums, true, block, pixels, self.threads);
                }
            });
    }

    /// [`Strategy::Col2im`] for one branch of one image: `pixels` its input, `grad` its output
    /// gradient `[out, ho, wo]`.
    fn col2im(
        &self,
        branch: usize,
        pixels: &[f32],
        grad: &[f32],
        image_grad: Option<&mut [f32]>,
        kernel_sums: &mut [f32],
        scratch: &mut Scratch,
    ) {
        let plan = self.plan;
        let (patch, positions, out) = (plan.patch(), plan.positions(), plan.channels_out);
        if self.want_kernel {
            // The transpose, `[patch, out]`: the im2col matrix is the row-major lhs, the
            // output gradient's columns of the block the transposed rhs.
            plan.input_taps(branch)
                .blocks(pixels, &mut scratch.cols, |columns, block| {
                    sgemm(
                        kernel_sums,
                        true,
                        Mat::row_major(block, patch, columns.len()),
                        Mat {
                            data: &grad[columns.start..],
                            rows: columns.len(),
                            cols: out,
                            row_stride: 1,
                            col_stride: positions,
                        },
                        self.threads,
                    );
                });
        }
        if let Some(image_grad) = image_grad {
            sgemm(
                &mut scratch.dcols,
                false,
                Mat::transposed(self.kernel, patch, out),
                Mat::row_major(grad, out, positions),
                self.threads,
            );
            plan.input_taps(branch)
                .col2im_add(&scratch.dcols, image_grad);
        }
    }

    /// The summed kernel gradient `sums`, from the strategy's layout back to the kernel's
    /// `[o, (c, i, j)]`.
    fn kernel_grad(&self, sums: &[f32]) -> Vec<f32> {
        let plan = self.plan;
        let (out, patch) = (plan.channels_out, plan.patch());
        let (cin, taps) = (plan.channels_in, plan.kernel[0] * plan.kernel[1]);
        let mut kernel_grad = vec![0.0; out * patch];
        // Nested loops, not one index split by divisions: on wide layers this runs over
        // millions of entries.
        let mut entries = kernel_grad.iter_mut();
        for o in 0..out {
            for c in 0..cin {
                for t in 0..taps {
                    let value = entries.next().expect("out * cin * taps entries");
                    *value = match self.strategy {
                        Strategy::TransposedGemm => sums[(o * taps + t) * cin + c],
                        Strategy::Col2im | Strategy::Winograd => sums[(c * taps + t) * out + o],
                    };
                }
            }
        }
        kernel_grad
    }
}

/// The sum of `values` in 16 interleaved partial sums (lane `k` adds every value whose index
/// is `k` modulo 16), added up at the end. A plain `iter().sum()` is one chain of dependent
/// additions that the compiler may not reorder (float addition is not associative), so it
/// runs one scalar addition at a time: on S3 that chain, the bias gradient, took 3.6% of
/// forward+backward in `perf`, and 0.8% as independent lanes, which run as vector additions.
pub(super) fn lane_sum(values: &[f32]) -> f32 {
    const LANES: usize = 16;
    let mut lanes = [0.0f32; LANES];
    let mut chunks = values.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (lane, value) in lanes.iter_mut().zip(chunk) {
            *lane += value;
        }
    }
    let tail: f32 = chunks.remainder().iter().sum();
    lanes.iter().sum::<f32>() + tail
}

/// One group's share of the kernel and bias gradients.
struct Partial {
    kernel: Vec<f32>,
    bias: Vec<f32>,
}

impl Partial {
    /// The element-wise sum of two shares.
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

/// One group's im2col buffers: `cols` of the input (for [`Strategy::Col2im`]'s kernel
/// gradient), `dcols` of the output gradient ([`Strategy::TransposedGemm`]) or of the GEMM's
/// columns that col2im scatters ([`Strategy::Col2im`]).
struct Scratch {
    cols: Vec<f32>,
    dcols: Vec<f32>,
}
