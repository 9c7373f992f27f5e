//! The layer at each spatial rank: [`MultiDilationConv1d`] for signals, [`MultiDilationConv2d`]
//! for images, [`MultiDilationConv3d`] for volumes. They are one type,
//! [`MultiDilationConv`], at tensor ranks 3, 4 and 5: every `forward*` and the merges, the
//! branch-parallel forms, [`BranchBatchNorm`](crate::BranchBatchNorm) and
//! [`BranchWeighting`](crate::BranchWeighting) serve the three. What differs is written here:
//! the kernel size and stride in the form of burn's `Conv1d`, `Conv2d` and `Conv3d`.

use crate::conv::MultiDilationConv;

/// A 1-D convolution that holds one kernel and applies it at several dilation rates along a
/// signal `[batch, in, length]`, with 'same' padding, then merges the branches. Built by
/// [`MultiDilationConv1dConfig`](crate::MultiDilationConv1dConfig); on Flex it runs the fused
/// CPU kernel (a signal is an image of height 1), elsewhere one burn `conv1d` per dilation.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use multi_dilation::{MultiDilationConv1d, MultiDilationConv1dConfig};
///
/// let device = Device::default();
/// let layer: MultiDilationConv1d = MultiDilationConv1dConfig::new([1, 4], 3).init(&device);
/// assert_eq!((layer.kernel_size(), layer.stride()), (3, 1));
/// let y = layer.forward(Tensor::<3>::ones([2, 1, 50], &device));
/// assert_eq!(y.dims(), [2, 12, 50]); // 4 channels x dilations 1, 2, 3
/// ```
pub type MultiDilationConv1d = MultiDilationConv<3>;

/// A 2-D convolution that holds one kernel and applies it at several dilation rates over an
/// image `[batch, in, height, width]`, with 'same' padding, then merges the branches. Built by
/// [`MultiDilationConv2dConfig`](crate::MultiDilationConv2dConfig); see [`MultiDilationConv`]
/// for every method.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use multi_dilation::{MultiDilationConv2d, MultiDilationConv2dConfig};
///
/// let device = Device::default();
/// let layer: MultiDilationConv2d = MultiDilationConv2dConfig::new([1, 4], [3, 3]).init(&device);
/// assert_eq!(layer.kernel_size(), [3, 3]);
/// let y = layer.forward(Tensor::<4>::ones([2, 1, 10, 10], &device));
/// assert_eq!(y.dims(), [2, 12, 10, 10]);
/// ```
pub type MultiDilationConv2d = MultiDilationConv<4>;

/// A 3-D convolution that holds one kernel and applies it at several dilation rates over a
/// volume `[batch, in, depth, height, width]`, with 'same' padding, then merges the branches
/// (Autofocus, Qin et al. 2018, with per-branch normalization). Built by
/// [`MultiDilationConv3dConfig`](crate::MultiDilationConv3dConfig); it runs one burn `conv3d`
/// per dilation on every backend.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use multi_dilation::{MultiDilationConv3d, MultiDilationConv3dConfig};
///
/// let device = Device::default();
/// let layer: MultiDilationConv3d =
///     MultiDilationConv3dConfig::new([1, 2], [3, 3, 3]).with_stride([1, 2, 2]).init(&device);
/// assert_eq!(layer.stride(), [1, 2, 2]);
/// let y = layer.forward(Tensor::<5>::ones([1, 1, 6, 8, 8], &device));
/// assert_eq!(y.dims(), [1, 6, 6, 4, 4]);
/// ```
pub type MultiDilationConv3d = MultiDilationConv<5>;

impl MultiDilationConv1d {
    /// The kernel size (taps).
    pub fn kernel_size(&self) -> usize {
        self.weight.dims()[2]
    }

    /// The stride.
    pub fn stride(&self) -> usize {
        self.stride[0]
    }
}

impl MultiDilationConv2d {
    /// The kernel size `[kh, kw]`.
    pub fn kernel_size(&self) -> [usize; 2] {
        let [_, _, kh, kw] = self.weight.dims();
        [kh, kw]
    }

    /// The stride `[sh, sw]`.
    pub fn stride(&self) -> [usize; 2] {
        [self.stride[0], self.stride[1]]
    }
}

impl MultiDilationConv3d {
    /// The kernel size `[kd, kh, kw]`.
    pub fn kernel_size(&self) -> [usize; 3] {
        let [_, _, kd, kh, kw] = self.weight.dims();
        [kd, kh, kw]
    }

    /// The stride `[sd, sh, sw]`.
    pub fn stride(&self) -> [usize; 3] {
        [self.stride[0], self.stride[1], self.stride[2]]
    }
}
