//! The fused multi-dilation convolution: one backend operation that computes every branch from
//! one read of the input and, in backward, the kernel gradient summed over every dilation.
//!
//! It is a burn backend extension ([`MultiDilationBackend`]) with a hand-written backward
//! (`autodiff.rs`), implemented for Flex (burn's CPU backend, feature `flex`: im2col and one
//! GEMM per image and dilation, in `cpu/`, reached through `flex.rs`) and for burn's CubeCL
//! backend (features `wgpu`, `vulkan`, `metal`, `cuda` and `rocm`: the runtime-generic kernels
//! of `cube/`, under burn's kernel fusion). On any other backend, other
//! dtypes than `f32`, or grouped convolutions, [`is_supported`] is false and the layer uses one
//! conv2d per dilation instead (see [`ExecutionPath`](crate::ExecutionPath)).
//!
//! This module sits below the layer: it takes tensors and a [`FusedGeometry`], and imports
//! only the shape rules, the padding rule and the [`Epilogue`].

mod autodiff;
#[cfg(feature = "flex")]
mod cpu;
#[cfg(cube_kernels)]
mod cube;
#[cfg(feature = "flex")]
mod flex;

use burn::backend::{Dispatch, TensorMetadata, backend_extension, tensor::FloatTensor};
use burn::tensor::{DType, Device, Shape, Tensor};

use crate::epilogue::Epilogue;
use crate::padding::same_output_size;
use crate::shape::{BranchLayout, check_stacked_on_batch};

/// The non-tensor arguments of the fused operation: stride and dilations ('same' padding is
/// derived from them, by [`same_padding`](crate::padding::same_padding)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FusedGeometry {
    /// Stride `[sh, sw]`.
    pub stride: [usize; 2],
    /// Dilation of each branch, in output order.
    pub dilations: Vec<usize>,
    /// The activation applied to the output inside the kernel (in backward, the gradient is
    /// masked by the saved output for [`Epilogue::Relu`]).
    pub epilogue: Epilogue,
    /// How `x` and the output hold the branches: [`BranchLayout::Shared`], one input
    /// `[batch, in, h, w]` for every branch and the output `[batch, dilations * out, ho, wo]`
    /// concatenated on the channel axis; or [`BranchLayout::Stacked`], the branch inputs
    /// stacked on the batch axis, branch-major (`x` is `[dilations * batch, in, h, w]`, images
    /// `i * batch .. (i + 1) * batch` are convolved at `dilations[i]`), and the output
    /// `[dilations * batch, out, ho, wo]` stacked the same way.
    pub layout: BranchLayout,
}

/// The shape of the fused output for inputs shaped `x` and `weight`:
/// `[batch, dilations * out, ceil(h / sh), ceil(w / sw)]`, or for
/// [`BranchLayout::Stacked`] `[dilations * batch, out, ..]` (`x[0]` is then already
/// `dilations * batch`).
///
/// # Panics
/// Panics if `x` or `weight` does not have 4 dimensions.
///
/// # Example
/// ```
/// use burn::tensor::Shape;
/// use multi_dilation::{BranchLayout, Epilogue};
/// use multi_dilation::fused::{FusedGeometry, output_shape};
///
/// let geometry = FusedGeometry {
///     stride: [2, 1],
///     dilations: vec![1, 2, 3],
///     epilogue: Epilogue::None,
///     layout: BranchLayout::Shared,
/// };
/// let shape = output_shape(&Shape::new([8, 4, 7, 10]), &Shape::new([5, 4, 3, 3]), &geometry);
/// assert_eq!(shape, Shape::new([8, 15, 4, 10]));
///
/// // Three branch inputs of 8 images each, stacked on the batch axis.
/// let parallel = FusedGeometry { layout: BranchLayout::Stacked, ..geometry };
/// let shape = output_shape(&Shape::new([24, 4, 7, 10]), &Shape::new([5, 4, 3, 3]), &parallel);
/// assert_eq!(shape, Shape::new([24, 5, 4, 10]));
/// ```
pub fn output_shape(x: &Shape, weight: &Shape, geometry: &FusedGeometry) -> Shape {
    assert!(
        x.num_dims() == 4 && weight.num_dims() == 4,
        "fused multi-dilation conv2d: x and weight must have 4 dimensions, got {x:?} and {weight:?}"
    );
    let stacks = match geometry.layout {
        BranchLayout::Shared => geometry.dilations.len(),
        BranchLayout::Stacked => 1,
    };
    Shape::new([
        x[0],
        stacks * weight[0],
        same_output_size(x[2], geometry.stride[0]),
        same_output_size(x[3], geometry.stride[1]),
    ])
}

/// The fused operation as a burn backend extension. Its output holds every branch, shaped by
/// [`output_shape`]: concatenated on the channel axis, or stacked on the batch axis
/// ([`BranchLayout`]).
///
/// Each backend implements the forward and the input and kernel gradients; the bias gradient
/// (a sum of the output gradient) and the combined backward have default bodies, which Flex
/// overrides with one pass for all three gradients. Under burn's kernel fusion
/// (`Fusion<CubeBackend>`, the default wgpu backend) the operations are registered lazily.
// The backward's tuple of optional gradients must be spelled out for the macro to map it.
#[allow(clippy::type_complexity)]
#[backend_extension(
    Flex: cfg(feature = "flex"),
    Cube: cfg(cube_kernels),
    Fusion: cfg(cube_kernels),
    Autodiff
)]
pub trait MultiDilationBackend: burn::backend::Backend {
    /// Forward: `x` `[batch, in, h, w]`, `weight` `[out, in, kh, kw]`, `bias` `[out]` (zeros
    /// for a layer without bias: an untracked bias gets no gradient).
    #[fusion(dtype = x, shape = output_shape(x, weight, geometry))]
    fn multi_dilation_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        geometry: FusedGeometry,
    ) -> FloatTensor<Self>;

    /// The gradient of `x` from `grad`, the gradient of the convolution's output (for
    /// [`Epilogue::Relu`] the caller has already masked it by the ReLU). `x` gives the shape.
    #[fusion(dtype = x, shape = x)]
    fn multi_dilation_conv2d_input_grad(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        geometry: FusedGeometry,
    ) -> FloatTensor<Self>;

    /// The gradient of the shared `weight`, summed over every image and every dilation.
    #[fusion(dtype = weight, shape = weight)]
    fn multi_dilation_conv2d_weight_grad(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        geometry: FusedGeometry,
    ) -> FloatTensor<Self>;

    /// The gradient of the bias `[out]`: `grad` summed over images, dilations and positions.
    #[fusion(default)]
    fn multi_dilation_conv2d_bias_grad(
        grad: FloatTensor<Self>,
        geometry: FusedGeometry,
    ) -> FloatTensor<Self> {
        let dims = grad.shape();
        let stacks = match geometry.layout {
            BranchLayout::Shared => geometry.dilations.len().max(1),
            BranchLayout::Stacked => 1,
        };
        let out = dims[1] / stacks;
        let rows =
            Self::float_reshape(grad, Shape::new([dims[0] * stacks, out, dims[2] * dims[3]]));
        let sums = Self::float_sum_dim(Self::float_sum_dim(rows, 2), 0);
        Self::float_reshape(sums, Shape::new([out]))
    }

    /// The gradients of `x`, `weight` and the bias, each computed only when `want` (in that
    /// order) asks for it.
    #[fusion(default)]
    fn multi_dilation_conv2d_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        geometry: FusedGeometry,
        want: [bool; 3],
    ) -> (
        Option<FloatTensor<Self>>,
        Option<FloatTensor<Self>>,
        Option<FloatTensor<Self>>,
    ) {
        let [want_x, want_weight, want_bias] = want;
        let grad_x = want_x.then(|| {
            Self::multi_dilation_conv2d_input_grad(
                x.clone(),
                weight.clone(),
                grad.clone(),
                geometry.clone(),
            )
        });
        let grad_weight = want_weight.then(|| {
            Self::multi_dilation_conv2d_weight_grad(x, weight, grad.clone(), geometry.clone())
        });
        let grad_bias = want_bias.then(|| Self::multi_dilation_conv2d_bias_grad(grad, geometry));
        (grad_x, grad_weight, grad_bias)
    }
}

/// Whether the fused operation runs for an input of `dtype` on `device` with `groups`: `f32`,
/// groups 1, on Flex (feature `flex`) or a device of a CubeCL runtime (features `wgpu`,
/// `vulkan`, `metal`, `cuda`, `rocm`), directly or under autodiff. Whether the layer then takes
/// it is [`ExecutionPath`](crate::ExecutionPath)'s rule.
///
/// # Example
/// ```
/// use burn::tensor::{DType, Device};
/// use multi_dilation::fused;
///
/// assert!(fused::is_supported(&Device::flex(), DType::F32, 1));
/// assert!(!fused::is_supported(&Device::flex(), DType::F32, 2));
/// assert!(!fused::is_supported(&Device::ndarray(), DType::F32, 1));
/// ```
pub fn is_supported(device: &Device, dtype: DType, groups: usize) -> bool {
    groups == 1 && dtype == DType::F32 && (is_flex(device) || is_cube(device))
}

/// Whether `device` (directly or under autodiff) is a Flex device with the CPU kernel compiled.
pub(crate) fn is_flex(device: &Device) -> bool {
    let device = device.clone().without_autodiff();
    #[cfg(feature = "flex")]
    if matches!(device.as_dispatch(), burn::backend::DispatchDevice::Flex(_)) {
        return true;
    }
    let _ = device;
    false
}

/// Whether `device` (directly or under autodiff) is a CubeCL device with the CubeCL kernels
/// compiled.
fn is_cube(device: &Device) -> bool {
    let device = device.clone().without_autodiff();
    #[cfg(cube_kernels)]
    if matches!(device.as_dispatch(), burn::backend::DispatchDevice::Cube(_)) {
        return true;
    }
    let _ = device;
    false
}

/// Every branch of `x` convolved with the one `weight` (and `bias`) at `dilations`, 'same'
/// padding, with `epilogue` applied as the kernel writes its output, concatenated on the
/// channel axis: `[batch, dilations.len() * out, ceil(h / sh), ceil(w / sw)]`.
///
/// [`MultiDilationConv2d`](crate::MultiDilationConv2d) calls this when its
/// [`ExecutionPath`](crate::ExecutionPath) selects the fused kernel; call it directly to run
/// the kernel on tensors of your own.
///
/// # Panics
/// Panics if [`is_supported`] is false for `x`, or if the shapes do not fit.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Distribution, Tensor, activation::relu};
/// use multi_dilation::{Epilogue, functional::multi_dilation_conv2d_branches, fused};
///
/// let device = Device::flex();
/// let x = Tensor::<4>::random([2, 3, 8, 8], Distribution::Default, &device);
/// let w = Tensor::<4>::random([4, 3, 3, 3], Distribution::Default, &device);
/// let dilations = [1, 2, 3];
/// let fast = fused::multi_dilation_conv2d_concat(
///     x.clone(), w.clone(), None, [1, 1], &dilations, Epilogue::Relu,
/// );
/// let branches = multi_dilation_conv2d_branches(x, w, None, [1, 1], &dilations, 1);
/// assert_eq!(fast.dims(), [2, 12, 8, 8]);
/// let diff = (fast - relu(Tensor::cat(branches, 1))).abs().max().into_scalar::<f32>();
/// assert!(diff < 1e-5);
/// ```
pub fn multi_dilation_conv2d_concat(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    stride: [usize; 2],
    dilations: &[usize],
    epilogue: Epilogue,
) -> Tensor<4> {
    let geometry = FusedGeometry {
        stride,
        dilations: dilations.to_vec(),
        epilogue,
        layout: BranchLayout::Shared,
    };
    run("multi_dilation_conv2d_concat", x, weight, bias, geometry)
}

/// Branch-parallel on branches stacked on the batch axis, branch-major: `x` is
/// `[dilations.len() * batch, in, h, w]`, its `i`-th block of `batch` images is branch `i`'s
/// input, convolved with the one `weight` (and `bias`) at `dilations[i]`, 'same' padding,
/// `epilogue` applied. The output is stacked the same way,
/// `[dilations.len() * batch, out, ceil(h / sh), ceil(w / sw)]`, so `chunk(n, 0)` gives the
/// branches and the output of one layer is the input of the next. One operation for every
/// branch; in backward the kernel gradient is summed over the branches inside it.
///
/// [`MultiDilationConv2d::forward_parallel`](crate::MultiDilationConv2d::forward_parallel) and
/// [`forward_parallel_stacked`](crate::MultiDilationConv2d::forward_parallel_stacked) call this
/// when their [`ExecutionPath`](crate::ExecutionPath) selects the fused kernel.
///
/// # Panics
/// Panics if [`is_supported`] is false, or if the batch of `x` is not a multiple of
/// `dilations.len()`.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Distribution, Tensor};
/// use multi_dilation::{Epilogue, functional::conv2d_same, fused};
///
/// let device = Device::flex();
/// let a = Tensor::<4>::random([2, 3, 8, 8], Distribution::Default, &device);
/// let b = Tensor::<4>::random([2, 3, 8, 8], Distribution::Default, &device);
/// let w = Tensor::<4>::random([4, 3, 3, 3], Distribution::Default, &device);
/// let stacked = Tensor::cat(vec![a.clone(), b.clone()], 0);
/// let both = fused::multi_dilation_conv2d_stacked(
///     stacked, w.clone(), None, [1, 1], &[1, 2], Epilogue::None,
/// );
/// let expected = Tensor::cat(
///     vec![conv2d_same(a, w.clone(), None, [1, 1], 1, 1), conv2d_same(b, w, None, [1, 1], 2, 1)],
///     0,
/// );
/// assert_eq!(both.dims(), [4, 4, 8, 8]);
/// assert!((both - expected).abs().max().into_scalar::<f32>() < 1e-5);
/// ```
pub fn multi_dilation_conv2d_stacked(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    stride: [usize; 2],
    dilations: &[usize],
    epilogue: Epilogue,
) -> Tensor<4> {
    check_stacked_on_batch(&x, dilations.len(), "fused::multi_dilation_conv2d_stacked");
    let geometry = FusedGeometry {
        stride,
        dilations: dilations.to_vec(),
        epilogue,
        layout: BranchLayout::Stacked,
    };
    run("multi_dilation_conv2d_stacked", x, weight, bias, geometry)
}

/// The fused operation on `x` (every branch input), after checking that it can run; `caller`
/// names the public function in the panic message.
fn run(
    caller: &str,
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    geometry: FusedGeometry,
) -> Tensor<4> {
    assert!(
        is_supported(&x.device(), x.dtype(), 1),
        "fused::{caller}: needs an f32 input on a Flex device (crate feature `flex`) or a \
         CubeCL device (crate feature `wgpu`, `vulkan`, `metal`, `cuda` or `rocm`), got {:?} on {:?}",
        x.dtype(),
        x.device()
    );
    // An untracked zero bias gets no gradient: one operation serves layers with and without.
    let bias = bias.unwrap_or_else(|| Tensor::zeros([weight.dims()[0]], &weight.device()));
    Tensor::from_dispatch(Dispatch::multi_dilation_conv2d(
        x.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
        geometry,
    ))
}
