//! The layer's math as plain functions on tensors, one burn convolution per dilation: the
//! per-dilation path of [`MultiDilationConv`](crate::MultiDilationConv) at every rank and the
//! reference every fused kernel is tested against. Both paths take their padding from
//! [`same_padding`].

use burn::tensor::Tensor;
use burn::tensor::module::{conv1d, conv2d, conv3d};
use burn::tensor::ops::{ConvOptions, PadMode};

use crate::padding::same_padding;

/// `x` as a tensor of rank `B`, which must be its own rank `A` (a reshape to the same shape:
/// a view, no copy). It lets a function generic over the rank call burn's convolution of that
/// rank.
fn same_rank<const A: usize, const B: usize>(x: Tensor<A>) -> Tensor<B> {
    let dims: [usize; B] = x.dims()[..]
        .try_into()
        .expect("called with the tensor's own rank");
    x.reshape(dims)
}

/// The convolution of rank `D` (burn's `conv1d`, `conv2d` or `conv3d` for `D` = 3, 4, 5) with
/// `padding` as `(before, after)` per spatial axis and one `dilation` on every axis.
///
/// # Panics
/// For a rank other than 3, 4 or 5, or as burn's convolutions do on shapes that do not fit.
pub(crate) fn conv<const D: usize>(
    x: Tensor<D>,
    weight: Tensor<D>,
    bias: Option<Tensor<1>>,
    stride: &[usize],
    padding: &[(usize, usize)],
    dilation: usize,
    groups: usize,
) -> Tensor<D> {
    match D {
        3 => same_rank(conv1d(
            same_rank(x),
            same_rank(weight),
            bias,
            ConvOptions::new_with_padding([stride[0]], [padding[0]], [dilation], groups),
        )),
        4 => same_rank(conv2d(
            same_rank(x),
            same_rank(weight),
            bias,
            ConvOptions::new_with_padding(
                [stride[0], stride[1]],
                [padding[0], padding[1]],
                [dilation; 2],
                groups,
            ),
        )),
        5 => {
            // burn 0.22.1's conv3d panics on uneven padding ("Asymmetric padding is not yet
            // supported for conv3d", burn-tensor `tensor/module.rs`): pad the input instead.
            let uneven = padding.iter().any(|(before, after)| before != after);
            let (x, padding) = if uneven {
                (x.pad(padding.to_vec(), PadMode::Constant(0.0)), [0; 3])
            } else {
                (x, [padding[0].0, padding[1].0, padding[2].0])
            };
            // burn-cubecl 0.22.1 computes conv3d's input gradient with `kernel * dilation -
            // stride` in unsigned integers (`kernel/conv/conv_transpose3d.rs`), which wraps on an
            // axis whose kernel spans fewer positions than the stride: that gradient comes back
            // wrong on every CubeCL backend. Such an axis is convolved at stride 1 and every
            // stride-th output kept, which gives the same outputs on every backend and a
            // gradient that each computes right.
            let kernel = weight.dims();
            let short: [bool; 3] = std::array::from_fn(|a| kernel[a + 2] * dilation < stride[a]);
            let strides = std::array::from_fn(|a| if short[a] { 1 } else { stride[a] });
            let device = x.device();
            let mut y = conv3d(
                same_rank(x),
                same_rank(weight),
                bias,
                ConvOptions::new(strides, padding, [dilation; 3], groups),
            );
            for axis in (0..3).filter(|&a| short[a]) {
                let kept = y.dims()[axis + 2].div_ceil(stride[axis]) as i64;
                let every =
                    Tensor::arange_step(0..kept * stride[axis] as i64, stride[axis], &device);
                y = y.select(axis + 2, every);
            }
            same_rank(y)
        }
        _ => panic!(
            "multi-dilation convolutions have 1 to 3 spatial axes (tensors of rank 3 to 5), \
             got rank {D}"
        ),
    }
}

/// One branch at any rank: the convolution of `x` with `weight` at `dilation` (every spatial
/// axis), `stride` (one per spatial axis), `groups`, and TensorFlow/Keras 'same' padding.
///
/// Shapes: `x` is `[batch, in, ..spatial]`, `weight` is `[out, in / groups, ..kernel]`, `bias`
/// is `[out]`; the result is `[batch, out, ..]`, each spatial size divided by its stride,
/// rounded up.
///
/// # Panics
/// Panics if `stride` does not have one entry per spatial axis, if `dilation`, a stride or
/// `groups` is zero, or if the shapes do not fit.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use multi_dilation::functional::conv_same;
///
/// let device = Device::default();
/// let signal = Tensor::<3>::ones([1, 1, 9], &device);
/// let y = conv_same(signal, Tensor::<3>::ones([1, 1, 3], &device), None, &[1], 4, 1);
/// assert_eq!(y.dims(), [1, 1, 9]);
/// let y = y.into_data().try_to_vec::<f32>().unwrap();
/// assert_eq!((y[4], y[0]), (3.0, 2.0)); // the centre sees three taps, the ends two
/// ```
pub fn conv_same<const D: usize>(
    x: Tensor<D>,
    weight: Tensor<D>,
    bias: Option<Tensor<1>>,
    stride: &[usize],
    dilation: usize,
    groups: usize,
) -> Tensor<D> {
    assert_eq!(
        stride.len() + 2,
        D,
        "functional::conv_same: expected one stride per spatial axis, got {stride:?} for rank {D}"
    );
    let (dims, kernel) = (x.dims(), weight.dims());
    let padding: Vec<(usize, usize)> = (2..D)
        .map(|axis| same_padding(dims[axis], kernel[axis], stride[axis - 2], dilation))
        .collect();
    conv(x, weight, bias, stride, &padding, dilation, groups)
}

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
    conv_same(x, weight, bias, &stride, dilation, groups)
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
    branches_same(x, weight, bias, &stride, dilations, groups)
}

/// [`conv_same`] of `x` at each of `dilations`, at any rank: the per-dilation path of the layer.
pub(crate) fn branches_same<const D: usize>(
    x: Tensor<D>,
    weight: Tensor<D>,
    bias: Option<Tensor<1>>,
    stride: &[usize],
    dilations: &[usize],
    groups: usize,
) -> Vec<Tensor<D>> {
    let branch = |&d: &usize| conv_same(x.clone(), weight.clone(), bias.clone(), stride, d, groups);
    dilations.iter().map(branch).collect()
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
    parallel_same(branches, weight, bias, &stride, dilations, groups)
}

/// [`conv_same`] of `branches[i]` at `dilations[i]`, at any rank (the list already checked).
pub(crate) fn parallel_same<const D: usize>(
    branches: Vec<Tensor<D>>,
    weight: Tensor<D>,
    bias: Option<Tensor<1>>,
    stride: &[usize],
    dilations: &[usize],
    groups: usize,
) -> Vec<Tensor<D>> {
    let branch = |(x, &d): (Tensor<D>, &usize)| {
        conv_same(x, weight.clone(), bias.clone(), stride, d, groups)
    };
    branches.into_iter().zip(dilations).map(branch).collect()
}
