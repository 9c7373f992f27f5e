//! One backward call's work per input image: [`Pass`] holds the call's arguments and the kernel
//! laid out for its strategy, and runs every branch of one image into a group's [`Partial`]
//! sums and [`Scratch`] buffers; [`lane_sum`] is the bias gradient's reduction.

use crate::fused::cpu::gemm::{Mat, Threads, sgemm, sgemm_rows};
use crate::fused::cpu::plan::{Plan, Taps};
use crate::fused::cpu::strategy::BackwardStrategy;
use crate::fused::cpu::threads::gemm_threads;

/// One call of `backward_using`: its arguments, and the kernel laid out for the strategy.
pub(super) struct Pass<'a> {
    plan: &'a Plan,
    input: &'a [f32],
    kernel: &'a [f32],
    grad_output: &'a [f32],
    want_input: bool,
    want_kernel: bool,
    want_bias: bool,
    strategy: BackwardStrategy,
    /// The kernel as `[in, (o, i, j)]` for [`BackwardStrategy::TransposedGemm`]'s input
    /// gradient (empty otherwise).
    kernel_t: Vec<f32>,
    /// The threads of each GEMM (see [`gemm_threads`]).
    threads: Threads,
}

impl<'a> Pass<'a> {
    /// The pass, with the transposed kernel when the strategy needs it.
    pub(super) fn new(
        plan: &'a Plan,
        input: &'a [f32],
        kernel: &'a [f32],
        grad_output: &'a [f32],
        want: [bool; 3],
        strategy: BackwardStrategy,
    ) -> Self {
        let [want_input, want_kernel, want_bias] = want;
        let kernel_t = if want_input && strategy == BackwardStrategy::TransposedGemm {
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
        // Per input image: an input-gradient and a kernel-gradient GEMM, per branch but for
        // the transposed GEMMs, which run once on the branches' summed gathers.
        let per_branch = match strategy {
            BackwardStrategy::TransposedGemm => 1,
            BackwardStrategy::Col2im | BackwardStrategy::Winograd => plan.image_branches(0).len(),
        };
        let gemms = per_branch * (usize::from(want_input) + usize::from(want_kernel));
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
    pub(super) fn partial(&self) -> Partial {
        let (out, patch) = (self.plan.channels_out, self.plan.patch());
        Partial {
            kernel: vec![0.0; if self.want_kernel { out * patch } else { 0 }],
            bias: vec![0.0; if self.want_bias { out } else { 0 }],
        }
    }

    /// Scratch buffers of the sizes the strategy uses.
    pub(super) fn scratch(&self) -> Scratch {
        let (plan, input, kernel) = (self.plan, self.want_input, self.want_kernel);
        let (cols, dcols) = match self.strategy {
            BackwardStrategy::TransposedGemm => {
                let blocks = input || kernel;
                (None, blocks.then(|| plan.grad_taps(0).block_len()))
            }
            BackwardStrategy::Col2im | BackwardStrategy::Winograd => (
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
    pub(super) fn image(
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
        let grad_of =
            |branch| &self.grad_output[plan.output_map(image, branch) * map_len..][..map_len];
        if self.want_bias {
            for branch in branches.clone() {
                for (sum, row) in acc.bias.iter_mut().zip(grad_of(branch).chunks(positions)) {
                    *sum += lane_sum(row);
                }
            }
        }
        match self.strategy {
            BackwardStrategy::TransposedGemm => {
                let parts: Vec<_> = branches
                    .map(|branch| (plan.grad_taps(branch), grad_of(branch)))
                    .collect();
                self.transposed_gemm(&parts, pixels, image_grad, &mut acc.kernel, scratch);
            }
            BackwardStrategy::Col2im | BackwardStrategy::Winograd => {
                for branch in branches {
                    let image_grad = image_grad.as_deref_mut();
                    self.col2im(
                        branch,
                        pixels,
                        grad_of(branch),
                        image_grad,
                        &mut acc.kernel,
                        scratch,
                    );
                }
            }
        }
    }

    /// [`BackwardStrategy::TransposedGemm`] for every branch of one image: `pixels` its input,
    /// `parts` each branch's gather of its output gradient `[out, ho, wo]`
    /// ([`Plan::grad_taps`]); writes the image's input gradient.
    ///
    /// Each branch's input gradient is the kernel `[in, (o, i, j)]` times its gather, and its
    /// kernel gradient its gather times the image's pixels; both products are linear in the
    /// gather, and the kernel and the pixels are the same for every branch, so the gathers
    /// are summed first ([`Taps::summed_blocks`](crate::fused::cpu::plan::Taps)) and each
    /// GEMM runs once per image instead of once per branch.
    fn transposed_gemm(
        &self,
        parts: &[(Taps, &[f32])],
        pixels: &[f32],
        mut image_grad: Option<&mut [f32]>,
        kernel_sums: &mut [f32],
        scratch: &mut Scratch,
    ) {
        if parts.is_empty() || (image_grad.is_none() && !self.want_kernel) {
            return;
        }
        let plan = self.plan;
        let taps_len = plan.channels_out * plan.kernel[0] * plan.kernel[1];
        let image_positions = plan.height * plan.width;
        Taps::summed_blocks(parts, &mut scratch.dcols, |columns, block| {
            let block = Mat::row_major(block, taps_len, columns.len());
            if let Some(image_grad) = image_grad.as_deref_mut() {
                sgemm_rows(
                    &mut image_grad[columns.start..],
                    image_positions,
                    false,
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

    /// [`BackwardStrategy::Col2im`] for one branch of one image: `pixels` its input, `grad` its
    /// output gradient `[out, ho, wo]`.
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
    pub(super) fn kernel_grad(&self, sums: &[f32]) -> Vec<f32> {
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
                        BackwardStrategy::TransposedGemm => sums[(o * taps + t) * cin + c],
                        BackwardStrategy::Col2im | BackwardStrategy::Winograd => {
                            sums[(c * taps + t) * out + o]
                        }
                    };
                }
            }
        }
        kernel_grad
    }
}

/// The sum of `values` in 16 interleaved partial sums (lane `k` adds every value whose index
/// is `k` modulo 16), added up at the end: a plain `iter().sum()` is one chain of dependent
/// additions that the compiler may not reorder (float addition is not associative), where
/// independent lanes run as vector additions.
pub(crate) fn lane_sum(values: &[f32]) -> f32 {
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
pub(super) struct Partial {
    pub(super) kernel: Vec<f32>,
    pub(super) bias: Vec<f32>,
}

impl Partial {
    /// The element-wise sum of two shares.
    pub(super) fn add(mut self, other: Self) -> Self {
        for (a, b) in self.kernel.iter_mut().zip(&other.kernel) {
            *a += b;
        }
        for (a, b) in self.bias.iter_mut().zip(&other.bias) {
            *a += b;
        }
        self
    }
}

/// One group's im2col buffers: `cols` of the input (for [`BackwardStrategy::Col2im`]'s kernel
/// gradient), `dcols` of the output gradient ([`BackwardStrategy::TransposedGemm`]) or of the
/// GEMM's columns that col2im scatters ([`BackwardStrategy::Col2im`]).
pub(super) struct Scratch {
    cols: Vec<f32>,
    dcols: Vec<f32>,
}
