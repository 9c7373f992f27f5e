//! The layer's math as plain functions on tensors, one burn `conv2d` per dilation: the
//! per-dilation path of [`MultiDilationConv2d`](crate::MultiDilationConv2d) and the reference
//! every fused kernel is tested against. Both paths take their padding from
//! [`same_padding`].

use burn::tensor::Tensor;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;

use crate::padding::same_padding;

/// One branch: a 2-D convolution of `x` with `weight` at `dilation` (both axes), `stride`,
/// `groups`, and TensorFlow/Keras 'same' padding (see [`same_padding`]).
///
/// Shapes: `x` is `[batch, in, height, width]`, `weight` is `[out, in / groups, kh, kw]`,
/// `bias` is `[out]`; the result is `[batch, out, ceil(height / sh), ceil(width / sw)]`.
///
/// # Panics
/// Panics if `dilation`, a stride or `groups` is zero, or if the shapes do not fit (burn's own
/// conv2d checks).
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use multi_dilation::functional::conv2d_same;
///
/// let device = Device::default();
/// let x = Tensor::<4>::ones([1, 1, 5, 5], &device);
/// let w = Tensor::<4>::ones([1, 1, 3, 3], &device);
/// let y = conv2d_same(x, w, None, [1, 1], 2, 1);
/// assert_eq!(y.dims(), [1, 1, 5, 5]);
/// // The centre sees all nine taps at dilation 2; a corner sees four.
/// let y = y.into_data().try_to_vec::<f32>().unwrap();
/// assert_eq!(y[12], 9.0);
/// assert_eq!(y[0], 4.0);
/// ```
pub fn conv2d_same(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    stride: [usize; 2],
    dilation: usize,
    groups: usize,
) -> Tensor<4> {
    let [_, _, height, width] = x.dims();
    let [_, _, kh, kw] = weight.dims();
    let padding = [
        same_padding(height, kh, stride[0], dilation),
        same_padding(width, kw, stride[1], dilation),
    ];
    let options = ConvOptions::new_with_padding(stride, padding, [dilation, dilation], groups);
    conv2d(x, weight, bias, options)
}

/// Every branch: [`conv2d_same`] of `x` with the one `weight` (and `bias`) at each of
/// `dilations`, in order, unmerged: one tensor per branch.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use multi_dilation::functional::multi_dilation_conv2d_branches;
///
/// let device = Device::default();
/// let x = Tensor::<4>::ones([2, 3, 8, 8], &device);
/// let w = Tensor::<4>::ones([4, 3, 3, 3], &device);
/// let branches = multi_dilation_conv2d_branches(x, w, None, [1, 1], &[1, 2, 3], 1);
/// assert_eq!(branches.len(), 3);
/// assert_eq!(branches[2].dims(), [2, 4, 8, 8]);
/// ```
pub fn multi_dilation_conv2d_branches(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    stride: [usize; 2],
    dilations: &[usize],
    groups: usize,
) -> Vec<Tensor<4>> {
    dilations
        .iter()
        .map(|&dilation| {
            conv2d_same(
                x.clone(),
                weight.clone(),
                bias.clone(),
                stride,
                dilation,
                groups,
            )
        })
        .collect()
}

/// Branch-parallel: [`conv2d_same`] of `branches[i]` with the one `weight` (and `bias`) at
/// `dilations[i]`, one tensor per branch. This is how shared-dilation layers stack
/// (TridentNet): each branch keeps its own feature map through the network.
///
/// # Panics
/// Panics if `branches` and `dilations` differ in length, or the branches differ in shape.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use multi_dilation::functional::multi_dilation_conv2d_parallel;
///
/// let device = Device::default();
/// let a = Tensor::<4>::ones([2, 3, 8, 8], &device);
/// let w = Tensor::<4>::ones([4, 3, 3, 3], &device);
/// let out = multi_dilation_conv2d_parallel(vec![a.clone(), a], w, None, [1, 1], &[1, 2], 1);
/// assert_eq!(out.len(), 2);
/// assert_eq!(out[1].dims(), [2, 4, 8, 8]);
/// ```
pub fn multi_dilation_conv2d_parallel(
    branches: Vec<Tensor<4>>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    stride: [usize; 2],
    dilations: &[usize],
    groups: usize,
) -> Vec<Tensor<4>> {
    crate::shape::check_branch_list(
        &branches,
        dilations.len(),
        "functional::multi_dilation_conv2d_parallel",
    );
    branches
        .into_iter()
        .zip(dilations)
        .map(|(x, &dilation)| {
            conv2d_same(x, weight.clone(), bias.clone(), stride, dilation, groups)
        })
        .collect()
}
