//! [`MultiDilationConv2dConfig`]: everything that defines a 2-D multi-dilation convolution.

use burn::config::Config;
use burn::module::Initializer;
use burn::tensor::Device;

use super::Settings;
use crate::error::ConfigError;
use crate::execute::ExecutionPath;
use crate::merge::Merge;
use crate::ranks::MultiDilationConv2d;

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
#[derive(Config, Debug, PartialEq)]
pub struct MultiDilationConv2dConfig {
    /// Input and output channels per branch: `[in, out]`.
    pub channels: [usize; 2],
    /// Kernel size `[kh, kw]`; even and rectangular kernels are allowed.
    pub kernel_size: [usize; 2],
    /// The dilation rates, one branch each, in merge order. Each applies to both axes.
    #[config(default = "vec![1, 2, 3]")]
    pub dilations: Vec<usize>,
    /// Stride `[sh, sw]`, shared by every branch.
    #[config(default = "[1, 1]")]
    pub stride: [usize; 2],
    /// Channel groups; both channel counts must be divisible by it.
    #[config(default = 1)]
    pub groups: usize,
    /// Whether the layer holds a bias (one, shared by every branch like the kernel).
    #[config(default = true)]
    pub bias: bool,
    /// How the branches are combined.
    #[config(default = "Merge::Concat")]
    pub merge: Merge,
    /// Initializer of the kernel and bias; the default is the one burn's `Conv2dConfig` uses.
    #[config(
        default = "Initializer::KaimingUniform { gain: 1.0 / f64::sqrt(3.0), fan_out_only: false }"
    )]
    pub initializer: Initializer,
    /// Which implementation computes the layer: the fused kernel where available
    /// ([`ExecutionPath::Auto`], the default), or forced either way.
    #[config(default = "ExecutionPath::Auto")]
    pub path: ExecutionPath,
    /// Anti-aliased dilation: `Some(sigma0)` blurs the input of the branch at dilation `d`
    /// with a Gaussian of standard deviation `sigma0 * sqrt(d^2 - 1)` before the dilated
    /// convolution (Deep Scale-Spaces' construction; the formula and why are in
    /// [`crate::blur`]). `None`, the default, convolves the input as it is.
    #[config(default = "None")]
    pub anti_alias: Option<f64>,
}

impl MultiDilationConv2dConfig {
    /// Checks every field; the first invalid one gives the error.
    ///
    /// # Example
    /// ```
    /// use multi_dilation::MultiDilationConv2dConfig;
    /// let err = MultiDilationConv2dConfig::new([3, 4], [3, 3])
    ///     .with_groups(2)
    ///     .validate()
    ///     .unwrap_err();
    /// assert_eq!(err.field, "groups");
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.settings().validate()
    }

    /// Builds the layer on `device`, or says which field is invalid.
    ///
    /// The kernel is `[out, in / groups, kh, kw]` and the bias `[out]`, initialized like burn's
    /// `Conv2d` (fan in `in / groups * kh * kw`).
    pub fn try_init(&self, device: &Device) -> Result<MultiDilationConv2d, ConfigError> {
        self.settings().try_init(device)
    }

    /// Builds the layer on `device`.
    ///
    /// # Panics
    /// Panics with the [`ConfigError`] message of [`try_init`](Self::try_init) if the config is
    /// invalid.
    pub fn init(&self, device: &Device) -> MultiDilationConv2d {
        self.try_init(device).unwrap_or_else(|err| panic!("{err}"))
    }

    fn settings(&self) -> Settings<'_> {
        Settings {
            channels: self.channels,
            kernel_size: &self.kernel_size,
            kernel_size_field: &self.kernel_size,
            stride: &self.stride,
            stride_field: &self.stride,
            dilations: &self.dilations,
            groups: self.groups,
            bias: self.bias,
            merge: self.merge,
            initializer: &self.initializer,
            path: self.path,
            anti_alias: self.anti_alias,
        }
    }
}

super::layer_config!(MultiDilationConv2dConfig, 4);
