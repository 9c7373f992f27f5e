//! [`MultiDilationConv2dConfig`]: everything that defines a 2-D multi-dilation convolution.

use burn::module::Initializer;
use burn::tensor::Device;

use crate::error::ConfigError;
use crate::execute::ExecutionPath;
use crate::merge::Merge;
use crate::ranks::MultiDilationConv2d;

super::layer_config! {
    /// Configuration of a [`MultiDilationConv2d`]: one kernel applied at several dilation rates.
    ///
    /// Built with [`MultiDilationConv2dConfig::new`] and the `with_*` setters, turned into a module
    /// with [`try_init`](Self::try_init) (an error for an invalid config) or
    /// [`init`](Self::init) (a panic with the same message).
    ///
    /// # Example
    /// ```
    /// use burn::tensor::Device;
    /// use multi_dilation::{Merge, MultiDilationConv2dConfig};
    ///
    /// let config = MultiDilationConv2dConfig::new([3, 16], [3, 3])
    ///     .with_dilations(vec![1, 2, 4])
    ///     .with_merge(Merge::Sum);
    /// let layer = config.try_init(&Device::default()).unwrap();
    /// assert_eq!(layer.output_channels(), 16);
    /// ```
    MultiDilationConv2dConfig builds MultiDilationConv2d at rank 4;
    kernel_size: [usize; 2],
        /// Kernel size `[kh, kw]`; even and rectangular kernels are allowed.
    ;
    stride: "[1, 1]",
        /// Stride `[sh, sw]`, shared by every branch.
    ;
    path:
        /// Which implementation computes the layer: the fused kernel where available
        /// ([`ExecutionPath::Auto`], the default), or forced either way.
    ;
    anti_alias:
        /// Anti-aliased dilation: `Some(sigma0)` blurs the input of the branch at dilation `d`
        /// with a Gaussian of standard deviation `sigma0 * sqrt(d^2 - 1)` before the dilated
        /// convolution (Deep Scale-Spaces' construction; the formula and why are in
        /// [`crate::blur`]). `None`, the default, convolves the input as it is.
    ;
}
