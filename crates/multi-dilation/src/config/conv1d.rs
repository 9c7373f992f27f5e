//! [`MultiDilationConv1dConfig`]: everything that defines a 1-D multi-dilation convolution.

use burn::config::Config;
use burn::module::Initializer;
use burn::tensor::Device;

use super::Settings;
use crate::error::ConfigError;
use crate::execute::ExecutionPath;
use crate::merge::Merge;
use crate::ranks::MultiDilationConv1d;

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
#[derive(Config, Debug, PartialEq)]
pub struct MultiDilationConv1dConfig {
    /// Input and output channels per branch: `[in, out]`.
    pub channels: [usize; 2],
    /// Kernel size (taps); even kernels are allowed.
    pub kernel_size: usize,
    /// The dilation rates, one branch each, in merge order.
    #[config(default = "vec![1, 2, 3]")]
    pub dilations: Vec<usize>,
    /// Stride, shared by every branch.
    #[config(default = 1)]
    pub stride: usize,
    /// Channel groups; both channel counts must be divisible by it.
    #[config(default = 1)]
    pub groups: usize,
    /// Whether the layer holds a bias (one, shared by every branch like the kernel).
    #[config(default = true)]
    pub bias: bool,
    /// How the branches are combined.
    #[config(default = "Merge::Concat")]
    pub merge: Merge,
    /// Initializer of the kernel and bias; the default is the one burn's `Conv1dConfig` uses.
    #[config(
        default = "Initializer::KaimingUniform { gain: 1.0 / f64::sqrt(3.0), fan_out_only: false }"
    )]
    pub initializer: Initializer,
    /// Which implementation computes the layer: the 2-D fused kernel on a signal seen as an
    /// image of height 1 where it is preferred ([`ExecutionPath::Auto`]), or forced either way.
    #[config(default = "ExecutionPath::Auto")]
    pub path: ExecutionPath,
    /// Anti-aliased dilation: `Some(sigma0)` blurs the input of the branch at dilation `d` with
    /// a Gaussian of standard deviation `sigma0 * sqrt(d^2 - 1)` (see [`crate::blur`]).
    #[config(default = "None")]
    pub anti_alias: Option<f64>,
}

impl MultiDilationConv1dConfig {
    /// Checks every field; the first invalid one gives the error.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.settings().validate()
    }

    /// Builds the layer on `device`, or says which field is invalid. The kernel is
    /// `[out, in / groups, k]` and the bias `[out]`, initialized like burn's `Conv1d`.
    pub fn try_init(&self, device: &Device) -> Result<MultiDilationConv1d, ConfigError> {
        self.settings().try_init(device)
    }

    /// Builds the layer on `device`.
    ///
    /// # Panics
    /// Panics with the [`ConfigError`] message of [`try_init`](Self::try_init).
    pub fn init(&self, device: &Device) -> MultiDilationConv1d {
        self.try_init(device).unwrap_or_else(|err| panic!("{err}"))
    }

    fn settings(&self) -> Settings<'_> {
        Settings {
            channels: self.channels,
            kernel_size: std::slice::from_ref(&self.kernel_size),
            kernel_size_field: &self.kernel_size,
            stride: std::slice::from_ref(&self.stride),
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

super::layer_config!(MultiDilationConv1dConfig, 3);
