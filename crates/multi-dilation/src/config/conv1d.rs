//! [`MultiDilationConv1dConfig`]: everything that defines a 1-D multi-dilation convolution.

use burn::module::Initializer;
use burn::tensor::Device;

use crate::error::ConfigError;
use crate::execute::ExecutionPath;
use crate::merge::Merge;
use crate::ranks::MultiDilationConv1d;

super::layer_config! {
    /// Configuration of a [`MultiDilationConv1d`]: one kernel along a signal, applied at several
    /// dilation rates. The fields are those of
    /// [`MultiDilationConv2dConfig`](crate::MultiDilationConv2dConfig), with one kernel size and one
    /// stride; [`try_init`](Self::try_init) gives an error naming the invalid field,
    /// [`init`](Self::init) panics with the same message.
    ///
    /// # Example
    /// ```
    /// use burn::tensor::{Device, Tensor};
    /// use multi_dilation::{Merge, MultiDilationConv1dConfig};
    ///
    /// let device = Device::default();
    /// // One kernel of 5 taps, 2 -> 8 channels, seen at dilations 1, 4 and 16.
    /// let layer = MultiDilationConv1dConfig::new([2, 8], 5)
    ///     .with_dilations(vec![1, 4, 16])
    ///     .with_merge(Merge::Sum)
    ///     .init(&device);
    /// let y = layer.forward(Tensor::<3>::zeros([4, 2, 100], &device));
    /// assert_eq!(y.dims(), [4, 8, 100]);
    /// assert!(MultiDilationConv1dConfig::new([2, 8], 0).validate().is_err());
    /// ```
    MultiDilationConv1dConfig builds MultiDilationConv1d at rank 3;
    kernel_size: usize,
        /// Kernel size (taps); even kernels are allowed.
    ;
    stride: 1,
        /// Stride, shared by every branch.
    ;
    path:
        /// Which implementation computes the layer: the 2-D fused kernel on a signal seen as
        /// an image of height 1 where it is preferred ([`ExecutionPath::Auto`]), or forced
        /// either way.
    ;
    anti_alias:
        /// Anti-aliased dilation: `Some(sigma0)` blurs the input of the branch at dilation `d`
        /// with a Gaussian of standard deviation `sigma0 * sqrt(d^2 - 1)` (see
        /// [`crate::blur`]).
    ;
}
