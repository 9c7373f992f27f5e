//! [`BackwardStrategy`]: how [`backward`](super::backward::backward) computes the input and
//! kernel gradients, and [`ForwardStrategy`]: how [`forward`](super::forward::forward) computes
//! the output; each with the rule that picks one from the plan.

use super::isa::Level;
use super::plan::{Plan, Taps};

/// How [`backward`](super::backward::backward) computes the input and kernel gradients (the
/// bias gradient is the same sum in all three).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BackwardStrategy {
    /// Stride 1 only. The input gradient is the transposed convolution of the output gradient:
    /// im2col blocks of the output gradient ([`Plan::grad_taps`], rows `(o, i, j)` over the
    /// input grid) times the kernel laid out `[in, out * kh * kw]`, written straight into the
    /// input gradient, with no scatter. The kernel gradient comes from the same blocks:
    /// `dW[o, c, i, j] = sum_q g[o, q + top - i * d] * x[c, q]` over input positions `q` is
    /// row `(o, i, j)` of a block times the input's columns, summed as `[(o, i, j), c]`. That
    /// saves the im2col of the input. Both products are linear in the blocks, and every branch
    /// of an image multiplies its blocks by the same kernel and the same pixels, so the
    /// branches' blocks are summed first and each GEMM runs once per image, not once per
    /// branch.
    TransposedGemm,
    /// The input gradient is the kernel's transpose times the output gradient, one
    /// `[in * kh * kw, ho * wo]` matrix per branch, scattered back onto the input (col2im). The
    /// kernel gradient is the im2col of the input times the output gradient, summed as
    /// `[(c, i, j), o]`.
    Col2im,
    /// 3x3 kernels at stride 1 only: the input gradient by the Winograd forward of the
    /// transposed convolution (`backward/winograd.rs`), the kernel and bias gradients as
    /// [`Col2im`](Self::Col2im) computes them.
    Winograd,
}

impl BackwardStrategy {
    /// The strategy [`backward`](super::backward::backward) uses for `plan` when it computes
    /// the gradients `want` (input, kernel, bias).
    ///
    /// [`TransposedGemm`](Self::TransposedGemm) gathers `out * kh * kw` rows where col2im
    /// scatters `in * kh * kw`, so it is taken at stride 1 when the input has at least half as
    /// many channels as the output, and only when the input gradient is wanted: its saving on
    /// the kernel gradient comes from reusing the blocks the input gradient builds anyway.
    ///
    /// [`Winograd`](Self::Winograd) is taken, for the input gradient, where the forward takes
    /// Winograd with two maps per thread ([`ForwardStrategy::select`]) and each input image
    /// has one branch (per-branch inputs, or one dilation): the transposed convolution has
    /// the same maps and the same channels, swapped, so the same rule holds for it (its
    /// batch-1 clause was measured on the forward only). Where an image has several branches,
    /// [`TransposedGemm`](Self::TransposedGemm)'s one GEMM per image on the summed blocks
    /// does a third of the work at three dilations and was measured 1.7-2.0x faster than
    /// Winograd (`docs/cpu_inference.md`).
    pub(crate) fn select(plan: &Plan, want: [bool; 3]) -> Self {
        let [want_input, _, _] = want;
        let maps = plan.batch * plan.branches.len();
        let one_branch = plan.image_branches(0).len() == 1;
        if want_input && one_branch && wide_3x3(plan) && maps >= 2 * rayon::current_num_threads() {
            return Self::Winograd;
        }
        if want_input && plan.stride == [1, 1] && 2 * plan.channels_in >= plan.channels_out {
            Self::TransposedGemm
        } else {
            Self::Col2im
        }
    }
}

/// How [`forward`](super::forward::forward) computes each branch's map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ForwardStrategy {
    /// Im2col blocks of the image (a row of ones under each for the bias) times the kernel.
    Im2col,
    /// 3x3 kernels at stride 1 only: Winograd's F(2x2, 3x3) on each phase of the dilation
    /// ([`winograd`](super::winograd)), 16 multiplications per 2x2 outputs instead of 36.
    Winograd,
    /// Stride 1 only: one GEMM per tap on the zero-padded image seen from that tap's offset
    /// ([`shifted`](super::shifted)), no im2col matrix.
    Shifted,
    /// AVX2 or AVX-512, horizontal stride 1 or 2: tiles of output channels by outputs of a row
    /// held in registers over the whole sum, read in place from the padded image
    /// ([`direct`](super::direct)), no im2col matrix and no GEMM.
    Direct,
}

impl ForwardStrategy {
    /// The strategy [`forward`](super::forward::forward) uses for `plan`.
    /// (`docs/cpu_kernel.md` has the tables of the Winograd rule at two maps per thread,
    /// `docs/cpu_inference.md` those of the direct forward, of Winograd's batch-1 clause and of
    /// the shifted GEMMs.)
    ///
    /// [`Direct`](Self::Direct) needs AVX2, a horizontal stride of 1 or 2 and a kernel of 3x3 or
    /// more. It was measured as fast as im2col or faster on every class of shapes that is not
    /// wide (7x7 kernels 27-38% faster, 5x5 30-31%, stride 2, sixteen output channels), and the
    /// fastest on wide layers (256 channels and more) at batch 1, and on wide layers whose taps
    /// read the padding a third of the time or more ([`inside`]: a KSAC head's dilations of 6 to
    /// 18 on a 33x33 map, 7-30% faster than Winograd in three runs), since it skips the taps
    /// that read only padding. Wide 3x3 layers with two maps per thread and little padding
    /// (dilations 1 to 3 on 28x28) stay with Winograd, 11-29% faster there.
    ///
    /// [`Winograd`](Self::Winograd) does 16/36 of the multiply-adds, but its transforms cost
    /// about as much per tile and channel whatever the depth of its GEMMs: it is taken for 3x3
    /// kernels at stride 1 with at least 256 channels in and out ([`wide_3x3`]) and at least two
    /// maps per thread, where it was measured faster than im2col. Below AVX2, where there is no
    /// direct forward, it is also taken with fewer maps (batch 1) on maps of at least 28x28,
    /// where it was measured 16-18% faster than im2col held to AVX2 (11% slower on a 14x14 map).
    ///
    /// [`Shifted`](Self::Shifted) skips im2col's `kh * kw` copies of the image but sums into the
    /// output once per tap: below AVX2 it is taken at stride 1 for kernels of 7x7 and more with
    /// at least 64 input channels, the one class where it was measured faster than im2col
    /// (5-13%); on 3x3 and 5x5 kernels, and on wider layers, im2col was as fast or faster.
    pub(crate) fn select(plan: &Plan) -> Self {
        let maps = plan.batch * plan.branches.len();
        let few_maps = maps < 2 * rayon::current_num_threads();
        let direct = plan.isa.level() >= Level::Avx2
            && plan.stride[1] <= 2
            && plan.kernel[0] * plan.kernel[1] >= 9;
        if direct && (!wide(plan) || few_maps || 3.0 * inside(plan) < 2.0) {
            Self::Direct
        } else if wide_3x3(plan) && (!few_maps || plan.height * plan.width >= 28 * 28) {
            Self::Winograd
        } else if plan.stride == [1, 1]
            && plan.kernel[0] * plan.kernel[1] >= 49
            && plan.channels_in >= 64
        {
            Self::Shifted
        } else {
            Self::Im2col
        }
    }
}

/// The share of (output, tap) pairs whose tap reads the image rather than its padding,
/// averaged over the branches: the multiply-adds the direct forward does, of those of a
/// convolution that reads the padding too.
pub(super) fn inside(plan: &Plan) -> f64 {
    // Along one axis: of the `out * k` (output, tap) pairs, those reading inside `0..len`.
    let axis = |out: usize, k: usize, stride: usize, start: usize, d: usize, len: usize| {
        let inside: usize = (0..out)
            .map(|o| {
                let (lo, hi) = Taps::valid_range((o * stride) as isize - start as isize, d, len, k);
                hi - lo
            })
            .sum();
        inside as f64 / (out * k).max(1) as f64
    };
    let [kh, kw] = plan.kernel;
    let [sy, sx] = plan.stride;
    let shares: f64 = plan
        .branches
        .iter()
        .map(|&(d, top, left)| {
            axis(plan.out_height, kh, sy, top, d, plan.height)
                * axis(plan.out_width, kw, sx, left, d, plan.width)
        })
        .sum();
    shares / plan.branches.len().max(1) as f64
}

/// A 3x3 kernel at stride 1 with at least 256 channels in and out: where Winograd's transforms
/// cost little next to its GEMMs.
fn wide_3x3(plan: &Plan) -> bool {
    plan.kernel == [3, 3] && plan.stride == [1, 1] && wide(plan)
}

/// At least 256 channels in and out.
fn wide(plan: &Plan) -> bool {
    plan.channels_in.min(plan.channels_out) >= 256
}
