//! How one call of a multi-dilation layer runs: the inputs in their [`BranchLayout`], the
//! empty-input guard, the blur of anti-aliased dilation, the rule that picks the fused kernel
//! or one convolution per dilation ([`ExecutionPath`]), and the branches as either gives them,
//! ready for the merge.

use burn::config::Config;
use burn::tensor::{DType, Device, Tensor};

use crate::blur::{branch_sigma, gaussian_blur};
use crate::epilogue::Epilogue;
use crate::functional::{branches_same, parallel_same};
use crate::merge::Merge;
use crate::padding::same_output_size;
use crate::shape::{BranchLayout, check_channels};

/// How the layer computes its branches. Both paths give the same numbers (to float rounding);
/// they differ in speed and memory.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use multi_dilation::{ExecutionPath, MultiDilationConv2dConfig};
///
/// let device = Device::default();
/// let auto = MultiDilationConv2dConfig::new([1, 4], [3, 3]).init(&device);
/// assert_eq!(auto.path(), ExecutionPath::Auto);
/// // The same weights, computed one conv2d per dilation.
/// let plain = auto.clone().with_path(ExecutionPath::PerDilation);
/// let x = Tensor::<4>::ones([1, 1, 6, 6], &device);
/// let diff = (auto.forward(x.clone()) - plain.forward(x)).abs().max().into_scalar::<f32>();
/// assert!(diff < 1e-5);
/// ```
#[derive(Config, Debug, Copy, PartialEq, Eq, Hash)]
pub enum ExecutionPath {
    /// The fused kernel where it runs and is measured faster than one convolution per
    /// dilation: on Flex (`f32`, groups 1, crate feature `flex`). One convolution per dilation
    /// elsewhere, on GPUs too, where the CubeCL kernels are exact but not yet timed against
    /// burn's autotuned convolutions (`docs/performance.md`). The default.
    Auto,
    /// One backend conv2d per dilation, then the merge: works on every backend.
    PerDilation,
    /// The fused kernel wherever it runs: Flex (feature `flex`) or a device of any CubeCL
    /// runtime (features `wgpu`, `vulkan`, `metal`, `cuda` or `rocm`); `try_init`
    /// returns an error where it cannot.
    Fused,
}

impl ExecutionPath {
    /// Whether a layer with `groups` computes an input of `dtype` on `device` with the fused
    /// kernel.
    ///
    /// # Example
    /// ```
    /// use burn::tensor::{DType, Device};
    /// use multi_dilation::ExecutionPath;
    ///
    /// assert!(!ExecutionPath::PerDilation.uses_fused(&Device::default(), DType::F32, 1));
    /// ```
    pub fn uses_fused(self, device: &Device, dtype: DType, groups: usize) -> bool {
        match self {
            ExecutionPath::PerDilation => false,
            ExecutionPath::Auto => kernel::preferred(device, dtype, groups),
            ExecutionPath::Fused => kernel::supported(device, dtype, groups),
        }
    }

    /// [`uses_fused`](Self::uses_fused) for the input `x` of rank `D`; panics when the path is
    /// `Fused` and the fused kernel cannot run for `x` (a `Fused` layer built by `try_init` on
    /// another device, or given an input of another dtype).
    fn resolve<const D: usize>(self, x: &Tensor<D>, groups: usize) -> bool {
        let fused = has_kernel(D) && self.uses_fused(&x.device(), x.dtype(), groups);
        assert!(
            fused || self != ExecutionPath::Fused,
            "ExecutionPath::Fused needs {FUSED_NEEDS}, got {:?} on {:?} with groups {groups}",
            x.dtype(),
            x.device()
        );
        fused
    }
}

/// What the fused kernel needs, for error messages.
pub(crate) const FUSED_NEEDS: &str = "a 1-D or 2-D layer, an f32 input, groups 1 and a Flex \
    device (crate feature `flex`) or a CubeCL device (crate feature `wgpu`, `vulkan`, `metal`, \
    `cuda` or `rocm`)";

/// Whether the fused kernel can run a layer of tensor rank `rank` for `dtype` on `device` with
/// `groups`.
pub(crate) fn fused_supported(rank: usize, device: &Device, dtype: DType, groups: usize) -> bool {
    has_kernel(rank) && kernel::supported(device, dtype, groups)
}

/// Whether a fused kernel exists for tensors of rank `rank`: the 2-D kernel, which also runs
/// 1-D layers as images of height 1. A 3-D layer runs one convolution per dilation.
fn has_kernel(rank: usize) -> bool {
    rank == 3 || rank == 4
}

/// The parts of a layer that a call reads.
pub(crate) struct Conv<const D: usize> {
    /// The one kernel, `[out, in / groups, ..kernel]`.
    pub weight: Tensor<D>,
    /// The one bias, `[out]`, if any.
    pub bias: Option<Tensor<1>>,
    /// One stride per spatial axis.
    pub stride: Vec<usize>,
    /// Channel groups.
    pub groups: usize,
    /// Which implementation runs.
    pub path: ExecutionPath,
    /// The blur's base scale of anti-aliased dilation.
    pub anti_alias: Option<f64>,
}

/// The inputs of one call.
// One value lives for one call, moved once: boxing the tensor would buy nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Inputs<const D: usize> {
    /// One tensor: every branch's input ([`BranchLayout::Shared`]) or the branches' inputs
    /// stacked on the batch axis ([`BranchLayout::Stacked`]).
    One(BranchLayout, Tensor<D>),
    /// One input per branch, in the order of the dilations (`forward_parallel`, and a shared
    /// input once blurred for each dilation).
    List(Vec<Tensor<D>>),
}

impl<const D: usize> Inputs<D> {
    /// One input (for stacked inputs, all of them): its channels and spatial size are every
    /// input's (a branch list is checked to be of one shape), its device and dtype decide the
    /// execution path.
    fn first(&self) -> &Tensor<D> {
        match self {
            Inputs::One(_, x) => x,
            Inputs::List(branches) => &branches[0],
        }
    }
}

/// The branches as either implementation gives them.
// One value lives for one call, moved once: boxing the tensor would buy nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Branches<const D: usize> {
    /// The fused kernel's output: the branches concatenated on the channel axis
    /// ([`BranchLayout::Shared`]) or stacked on the batch axis ([`BranchLayout::Stacked`]).
    Fused(BranchLayout, Tensor<D>),
    /// One tensor per branch.
    Separate(Vec<Tensor<D>>),
}

impl<const D: usize> Branches<D> {
    /// The branches merged; `count` is their number.
    pub(crate) fn merge(self, merge: Merge, count: usize) -> Tensor<D> {
        match (self, merge) {
            (Branches::Fused(BranchLayout::Shared, all), Merge::Concat) => all,
            (branches, merge) => merge.apply(branches.into_list(count)),
        }
    }

    /// One tensor per branch; `count` is their number.
    pub(crate) fn into_list(self, count: usize) -> Vec<Tensor<D>> {
        match self {
            Branches::Fused(BranchLayout::Shared, all) => all.chunk(count, 1),
            Branches::Fused(BranchLayout::Stacked, all) => all.chunk(count, 0),
            Branches::Separate(branches) => branches,
        }
    }

    /// The branches stacked on the batch axis, branch-major; `count` is their number.
    pub(crate) fn into_stacked_on_batch(self, count: usize) -> Tensor<D> {
        match self {
            Branches::Fused(BranchLayout::Stacked, all) => all,
            branches => Tensor::cat(branches.into_list(count), 0),
        }
    }
}

/// Computes the branches of `conv` at `dilations` for `inputs`, with `epilogue` applied to
/// each: checks the channels, answers an empty input with an empty output, blurs each branch's
/// input for its dilation when the layer anti-aliases, then runs the fused kernel or one
/// convolution per dilation as `conv.path` resolves for the input. `what` names the layer in
/// panic messages.
///
/// # Panics
/// If the inputs do not have the kernel's input channels (the message gives the expected and
/// actual shapes), or if the path is `Fused` and the kernel cannot run for them.
pub(crate) fn run<const D: usize>(
    conv: &Conv<D>,
    inputs: Inputs<D>,
    dilations: &[usize],
    epilogue: Epilogue,
    what: &str,
) -> Branches<D> {
    let kernel_dims = conv.weight.dims();
    let (out, per_group) = (kernel_dims[0], kernel_dims[1]);
    let dims = inputs.first().dims();
    check_channels(&dims, per_group * conv.groups, what);
    if dims.contains(&0) {
        return empty(conv, &inputs, out, dilations.len());
    }
    let inputs = blurred(inputs, conv.anti_alias, dilations);
    let weight = conv.weight.clone();
    let bias = conv.bias.clone();
    let (stride, groups) = (&conv.stride, conv.groups);
    if conv.path.resolve(inputs.first(), groups) {
        return kernel::run(inputs, weight, bias, stride, dilations, epilogue);
    }
    let branches = match inputs {
        Inputs::One(BranchLayout::Shared, x) => {
            branches_same(x, weight, bias, stride, dilations, groups)
        }
        Inputs::One(BranchLayout::Stacked, x) => {
            let xs = x.chunk(dilations.len(), 0);
            parallel_same(xs, weight, bias, stride, dilations, groups)
        }
        Inputs::List(xs) => parallel_same(xs, weight, bias, stride, dilations, groups),
    };
    Branches::Separate(branches.into_iter().map(|b| epilogue.apply(b)).collect())
}

/// The output of an empty batch or image: zeros of the output's shape, made here rather than by
/// a convolution, for three behaviours of burn 0.22.1. Its conv2d gives an image of zero rows
/// an output of one row (the 'same' padding makes the padded height positive); on Flex, the
/// backward of a convolution over an empty batch panics (`burn-flex` `ops/reduce.rs:1172`, a
/// slice past the end of the empty gradient); and `Tensor::slice` and `Tensor::cat` give empty
/// results no autodiff graph, so this output has none either. To see them, remove this guard
/// and run `tests/layer/edge.rs` with the empty cases kept in its gradient test.
fn empty<const D: usize>(
    conv: &Conv<D>,
    inputs: &Inputs<D>,
    out: usize,
    count: usize,
) -> Branches<D> {
    let x = inputs.first();
    let shape = |channels| {
        let mut shape = x.dims();
        shape[1] = channels;
        for (size, &stride) in shape[2..].iter_mut().zip(&conv.stride) {
            *size = same_output_size(*size, stride);
        }
        shape
    };
    match inputs {
        Inputs::One(BranchLayout::Stacked, _) => Branches::Fused(
            BranchLayout::Stacked,
            Tensor::zeros(shape(out), &x.device()),
        ),
        _ => Branches::Fused(
            BranchLayout::Shared,
            Tensor::zeros(shape(out * count), &x.device()),
        ),
    }
}

/// With `anti_alias` `sigma0`, each branch's input blurred for its dilation `d` (standard
/// deviation `sigma0 * sqrt(d^2 - 1)`, see [`crate::blur`]); otherwise the inputs unchanged.
fn blurred<const D: usize>(
    inputs: Inputs<D>,
    anti_alias: Option<f64>,
    dilations: &[usize],
) -> Inputs<D> {
    let Some(sigma0) = anti_alias else {
        return inputs;
    };
    let blur = |x: Tensor<D>, d: usize| gaussian_blur(x, branch_sigma(sigma0, d));
    let each = |xs: Vec<Tensor<D>>| -> Vec<Tensor<D>> {
        xs.into_iter()
            .zip(dilations)
            .map(|(x, &d)| blur(x, d))
            .collect()
    };
    match inputs {
        Inputs::One(BranchLayout::Shared, x) => {
            Inputs::List(dilations.iter().map(|&d| blur(x.clone(), d)).collect())
        }
        Inputs::One(BranchLayout::Stacked, x) => Inputs::One(
            BranchLayout::Stacked,
            Tensor::cat(each(x.chunk(dilations.len(), 0)), 0),
        ),
        Inputs::List(xs) => Inputs::List(each(xs)),
    }
}

/// The fused kernels, when a backend feature compiles one.
#[cfg(any(feature = "flex", cube_kernels))]
mod kernel {
    use burn::tensor::{DType, Device, Tensor};

    use super::{Branches, Inputs};
    use crate::epilogue::Epilogue;
    use crate::fused;
    use crate::shape::BranchLayout;

    pub(super) fn supported(device: &Device, dtype: DType, groups: usize) -> bool {
        fused::is_supported(device, dtype, groups)
    }

    /// `Auto`'s rule: the kernel on Flex, where `benches/compare.sh` measures it faster than
    /// one convolution per dilation on every shape; not on CubeCL devices until it is timed
    /// against burn's own convolutions on a GPU.
    pub(super) fn preferred(device: &Device, dtype: DType, groups: usize) -> bool {
        supported(device, dtype, groups) && fused::is_flex(device)
    }

    /// The 2-D kernel on rank-`D` tensors: images as they are, signals (rank 3) as images of
    /// height 1 (a kernel of height 1 at any dilation reads one row, with no padding).
    pub(super) fn run<const D: usize>(
        inputs: Inputs<D>,
        weight: Tensor<D>,
        bias: Option<Tensor<1>>,
        stride: &[usize],
        dilations: &[usize],
        epilogue: Epilogue,
    ) -> Branches<D> {
        match inputs {
            Inputs::One(layout, x) => {
                let y = call(layout, x, weight, bias, stride, dilations, epilogue);
                Branches::Fused(layout, y)
            }
            // One call per branch, each input at its own dilation. Stacking the inputs for
            // one call, then splitting its output, cost more than the call saves: burn's
            // autodiff gives each piece of a split a zero tensor of the whole output in
            // backward (S3 forward+backward 1.6-2.0x PyTorch's list of convolutions, against
            // about 1.0x on the inputs already stacked; `docs/performance.md`).
            Inputs::List(xs) => Branches::Separate(
                xs.into_iter()
                    .zip(dilations)
                    .map(|(x, &d)| {
                        let (weight, bias) = (weight.clone(), bias.clone());
                        call(
                            BranchLayout::Shared,
                            x,
                            weight,
                            bias,
                            stride,
                            &[d],
                            epilogue,
                        )
                    })
                    .collect(),
            ),
        }
    }

    /// One call of the kernel on `x` in `layout`, its output back at rank `D`.
    fn call<const D: usize>(
        layout: BranchLayout,
        x: Tensor<D>,
        weight: Tensor<D>,
        bias: Option<Tensor<1>>,
        stride: &[usize],
        dilations: &[usize],
        epilogue: Epilogue,
    ) -> Tensor<D> {
        let (x, weight, stride) = (as_image(x), as_image(weight), as_image_stride(stride));
        let y = match layout {
            BranchLayout::Shared => {
                fused::multi_dilation_conv2d_concat(x, weight, bias, stride, dilations, epilogue)
            }
            BranchLayout::Stacked => {
                fused::multi_dilation_conv2d_stacked(x, weight, bias, stride, dilations, epilogue)
            }
        };
        let dims = y.dims();
        let back: [usize; D] = match D {
            3 => [dims[0], dims[1], dims[3]][..].try_into(),
            _ => dims[..].try_into(),
        }
        .expect("the kernel runs ranks 3 and 4 only");
        y.reshape(back)
    }

    /// A rank-3 tensor `[n, c, l]` as `[n, c, 1, l]`; a rank-4 one as it is (a view either way).
    fn as_image<const D: usize>(x: Tensor<D>) -> Tensor<4> {
        let dims = x.dims();
        match D {
            3 => x.reshape([dims[0], dims[1], 1, dims[2]]),
            _ => x.reshape([dims[0], dims[1], dims[2], dims[3]]),
        }
    }

    /// The stride of a signal (`[s]`) as that of an image of height 1 (`[1, s]`).
    fn as_image_stride(stride: &[usize]) -> [usize; 2] {
        match *stride {
            [s] => [1, s],
            [sh, sw] => [sh, sw],
            _ => unreachable!("the kernel runs 1-D and 2-D layers only"),
        }
    }
}

/// Without a fused kernel compiled, no path selects one.
#[cfg(not(any(feature = "flex", cube_kernels)))]
mod kernel {
    use burn::tensor::{DType, Device, Tensor};

    use super::{Branches, Inputs};
    use crate::epilogue::Epilogue;

    pub(super) fn supported(_device: &Device, _dtype: DType, _groups: usize) -> bool {
        false
    }

    pub(super) fn preferred(_device: &Device, _dtype: DType, _groups: usize) -> bool {
        false
    }

    pub(super) fn run<const D: usize>(
        inputs: Inputs<D>,
        weight: Tensor<D>,
        bias: Option<Tensor<1>>,
        stride: &[usize],
        dilations: &[usize],
        epilogue: Epilogue,
    ) -> Branches<D> {
        let _ = (inputs, weight, bias, stride, dilations, epilogue);
        unreachable!("no fused kernel is compiled, so no execution path selects it")
    }
}
