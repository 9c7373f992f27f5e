//! The fused multi-dilation convolution: one backend operation that computes every branch from
//! one read of the input and, in backward, the kernel gradient summed over every dilation.
//!
//! It is a burn backend extension ([`MultiDilationBackend`]) with a hand-written backward,
//! implemented for Flex (burn's CPU backend, feature `flex`). On any other backend, other
//! dtypes than `f32`, or grouped convolutions, [`is_supported`] is false and the layer uses one
//! conv2d per dilation instead (see [`ExecutionPath`](crate::ExecutionPath)).

mod autodiff;
mod cpu;
mod flex;

use burn::backend::{Dispatch, backend_extension, tensor::FloatTensor};
use burn::tensor::{DType, Device, Tensor};

/// The non-tensor arguments of the fused operation: stride and dilations ('same' padding is
/// derived from them, by [`same_padding`](crate::padding::same_padding)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FusedGeometry {
    /// Stride `[sh, sw]`.
    pub stride: [usize; 2],
    /// Dilation of each branch, in output order.
    pub dilations: Vec<usize>,
    /// Apply ReLU to the output inside the kernel (and mask the gradient in backward).
    pub relu: bool,
}

/// The fused operation as a burn backend extension. Its output is the channel concatenation of
/// the branches: `[batch, dilations * out, ceil(h / sh), ceil(w / sw)]`.
// The backward's tuple of optional gradients must be spelled out for the macro to map it.
#[allow(clippy::type_complexity)]
#[backend_extension(Flex, Autodiff)]
pub trait MultiDilationBackend: burn::backend::Backend {
    /// Forward: `x` `[batch, in, h, w]`, `weight` `[out, in, kh, kw]`, `bias` `[out]` (zeros
    /// for a layer without bias: an untracked bias gets no gradient).
    fn multi_dilation_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        geometry: FusedGeometry,
    ) -> FloatTensor<Self>;

    /// Backward from `grad` (shaped like the forward output): the gradients of `x`, `weight`
    /// and the bias, each computed only when `want` (in that order) asks for it. `grad` is the
    /// gradient of the convolution's output: with `geometry.relu` the caller has already masked
    /// it by the ReLU.
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
    );
}

/// Whether the fused operation runs for `x` on `device` with `groups`: Flex (directly or under
/// autodiff), `f32`, groups 1.
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
    groups == 1
        && dtype == DType::F32
        && matches!(
            device.clone().without_autodiff().as_dispatch(),
            burn::backend::DispatchDevice::Flex(_)
        )
}

/// Every branch of `x` convolved with the one `weight` (and `bias`) at `dilations`, 'same'
/// padding, concatenated on the channel axis, computed by the fused operation.
///
/// # Panics
/// Panics if [`is_supported`] is false for `x`, or if the shapes do not fit.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Distribution, Tensor};
/// use multi_dilation::{functional::multi_dilation_conv2d, fused};
///
/// let device = Device::flex();
/// let x = Tensor::<4>::random([2, 3, 8, 8], Distribution::Default, &device);
/// let w = Tensor::<4>::random([4, 3, 3, 3], Distribution::Default, &device);
/// let fast = fused::multi_dilation_conv2d(x.clone(), w.clone(), None, [1, 1], &[1, 2, 3]);
/// let branches = multi_dilation_conv2d(x, w, None, [1, 1], &[1, 2, 3], 1);
/// assert_eq!(fast.dims(), [2, 12, 8, 8]);
/// let diff = (fast - Tensor::cat(branches, 1)).abs().max().into_scalar::<f32>();
/// assert!(diff < 1e-5);
/// ```
pub fn multi_dilation_conv2d(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    stride: [usize; 2],
    dilations: &[usize],
) -> Tensor<4> {
    launch(x, weight, bias, stride, dilations, false)
}

/// ReLU of [`multi_dilation_conv2d`], with the ReLU applied as the kernel writes its output
/// (one pass over the output less than a separate activation).
///
/// # Panics
/// As [`multi_dilation_conv2d`].
///
/// # Example
/// ```
/// use burn::tensor::{Device, Distribution, Tensor, activation::relu};
/// use multi_dilation::fused;
///
/// let device = Device::flex();
/// let x = Tensor::<4>::random([1, 2, 6, 6], Distribution::Default, &device);
/// let w = Tensor::<4>::random([3, 2, 3, 3], Distribution::Default, &device);
/// let fast = fused::multi_dilation_conv2d_relu(x.clone(), w.clone(), None, [1, 1], &[1, 2]);
/// let slow = relu(fused::multi_dilation_conv2d(x, w, None, [1, 1], &[1, 2]));
/// assert_eq!(fast.into_data(), slow.into_data());
/// ```
pub fn multi_dilation_conv2d_relu(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    stride: [usize; 2],
    dilations: &[usize],
) -> Tensor<4> {
    launch(x, weight, bias, stride, dilations, true)
}

fn launch(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    stride: [usize; 2],
    dilations: &[usize],
    relu: bool,
) -> Tensor<4> {
    assert!(
        is_supported(&x.device(), x.dtype(), 1),
        "fused::multi_dilation_conv2d: needs an f32 tensor on Flex, got {:?} on {:?}",
        x.dtype(),
        x.device()
    );
    let geometry = FusedGeometry {
        stride,
        dilations: dilations.to_vec(),
        relu,
    };
    let bias = bias.unwrap_or_else(|| Tensor::zeros([weight.dims()[0]], &weight.device()));
    Tensor::from_dispatch(Dispatch::multi_dilation_conv2d(
        x.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
        geometry,
    ))
}
