//! [`MultiDilationConv3dConfig`]: everything that defines a 3-D multi-dilation convolution.

use burn::module::Initializer;
use burn::tensor::Device;

use crate::error::ConfigError;
use crate::execute::ExecutionPath;
use crate::merge::Merge;
use crate::ranks::MultiDilationConv3d;

super::layer_config! {
    /// Configuration of a [`MultiDilationConv3d`]: one kernel over a volume, applied at several
    /// dilation rates (each on every axis). The fields are those of
    /// [`MultiDilationConv2dConfig`](crate::MultiDilationConv2dConfig), with a kernel size and a
    /// stride per axis `[d, h, w]`; [`try_init`](Self::try_init) gives an error naming the invalid
    /// field, [`init`](Self::init) panics with the same message. A 3-D layer runs one burn `conv3d`
    /// per dilation: there is no fused 3-D kernel, so [`ExecutionPath::Fused`] is an error.
    ///
    /// # Example
    /// ```
    /// use burn::tensor::{Device, Tensor};
    /// use multi_dilation::{BranchBatchNormConfig, MultiDilationConv3dConfig};
    ///
    /// let device = Device::default();
    /// // Autofocus-style: one 3x3x3 kernel at dilations 2 and 6, each branch normalized alone.
    /// let layer = MultiDilationConv3dConfig::new([1, 4], [3, 3, 3])
    ///     .with_dilations(vec![2, 6])
    ///     .init(&device);
    /// let norm = BranchBatchNormConfig::new(4, 2).init(&device);
    /// let branches = layer.forward_branches(Tensor::<5>::zeros([2, 1, 8, 8, 8], &device));
    /// let normalized = norm.forward(branches);
    /// assert_eq!(normalized[1].dims(), [2, 4, 8, 8, 8]);
    /// ```
    MultiDilationConv3dConfig builds MultiDilationConv3d at rank 5;
    kernel_size: [usize; 3],
        /// Kernel size `[kd, kh, kw]`; even and anisotropic kernels are allowed.
    ;
    stride: "[1, 1, 1]",
        /// Stride `[sd, sh, sw]`, shared by every branch.
    ;
    path:
        /// Which implementation computes the layer: one convolution per dilation
        /// ([`ExecutionPath::Auto`] and [`ExecutionPath::PerDilation`] alike).
    ;
    anti_alias:
        /// Anti-aliased dilation: `Some(sigma0)` blurs the input of the branch at dilation `d`
        /// with a Gaussian of standard deviation `sigma0 * sqrt(d^2 - 1)` on every axis (see
        /// [`crate::blur`]).
    ;
}
