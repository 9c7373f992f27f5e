//! [`Strategy`]: how [`backward`](super::backward::backward) computes the input and kernel
//! gradients, and the rule that picks one from the plan.

use super::plan::Plan;

/// How [`backward`](super::backward::backward) computes the input and kernel gradients (the
/// bias gradient is the same sum in both).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Strategy {
    /// Stride 1 only. The input gradient is the transposed convolution of the output gradient:
    /// per branch, im2col blocks of the output gradient ([`Plan::grad_taps`], rows `(o, i, j)`
    /// over the input grid) times the kernel laid out `[in, out * kh * kw]`, accumulated
    /// straight into the input gradient, with no scatter. The kernel gradient comes from the
    /// same blocks: `dW[o, c, i, j] = sum_q g[o, q + top - i * d] * x[c, q]` over input
    /// positions `q` is row `(o, i, j)` of a block times the input's columns, summed as
    /// `[(o, i, j), c]`. That saves the im2col of the input.
    TransposedGemm,
    /// The input gradient is the kernel's transpose times the output gradient, one
    /// `[in * kh * kw, ho * wo]` matrix per branch, scattered back onto the input (col2im). The
    /// kernel gradient is the im2col of the input times the output gradient, summed as
    /// `[(c, i, j), o]`.
    Col2im,
}

impl Strategy {
    /// The strategy [`backward`](super::backward::backward) uses for `plan` when it computes
    /// the gradients `want` (input, kernel, bias).
    ///
    /// [`TransposedGemm`](Self::TransposedGemm) gathers `out * kh * kw` rows where col2im
    /// scatters `in * kh * kw`, so it is taken when the input has at least half as many channels
    /// as the output: col2im is 2.5x faster when the input has few channels (S2: 1 -> 32
    /// channels), the transposed GEMM is faster on S3 and S4. It needs stride 1, and it is
    /// taken only when the input gradient is wanted: its saving on the kernel gradient comes
    /// from reusing the blocks the input gradient builds anyway.
    pub(crate) fn select(plan: &Plan, want: [bool; 3]) -> Self {
        let [want_input, _, _] = want;
        if want_input && plan.stride == [1, 1] && 2 * plan.channels_in >= plan.channels_out {
            Self::TransposedGemm
        } else {
            Self::Col2im
        }
    }
}
