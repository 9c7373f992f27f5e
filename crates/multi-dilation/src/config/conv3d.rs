//! [`MultiDilationConv3dConfig`]: everything that defines a 3-D multi-dilation convolution.

use burn::config::Config;
use burn::module::Initializer;
use burn::tensor::Device;

use super::Settings;
use crate::error::ConfigError;
use crate::execute::ExecutionPath;
use crate::merge::Merge;
use crate::ranks::MultiDilationConv3d;

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
#[derive(Config, Debug, PartialEq)]
pub struct MultiDilationConv3dConfig {
    /// Input and output channels per branch: `[in, out]`.
    pub channels: [usize; 2],
    /// Kernel size `[kd, kh, kw]`; even and anisotropic kernels are allowed.
    pub kernel_size: [usize; 3],
    /// The dilation rates, one branch each, in merge order. Each applies to every axis.
    #[config(default = "vec![1, 2, 3]")]
    pub dilations: Vec<usize>,
    /// Stride `[sd, sh, sw]`, shared by every branch.
    #[config(default = "[1, 1, 1]")]
    pub stride: [usize; 3],
    /// Channel groups; both channel counts must be divisible by it.
    #[config(default = 1)]
    pub groups: usize,
    /// Whether the layer holds a bias (one, shared by every branch like the kernel).
    #[config(default = true)]
    pub bias: bool,
    /// How the branches are combined.
    #[config(default = "Merge::Concat")]
    pub merge: Merge,
    /// Initializer of the kernel and bias; the default is the one burn's `Conv3dConfig` uses.
    #[config(
        default = "Initializer::KaimingUniform { gain: 1.0 / f64::sqrt(3.0), fan_out_only: false }"
    )]
    pub initializer: Initializer,
    /// Which implementation computes the layer: one convolution per dilation
    /// ([`ExecutionPath::Auto`] and [`ExecutionPath::PerDilation`] alike).
    #[config(default = "ExecutionPath::Auto")]
    pub path: ExecutionPath,
    /// Anti-aliased dilation: `Some(sigma0)` blurs the input of the branch at dilation `d` with
    /// a Gaussian of standard deviation `sigma0 * sqrt(d^2 - 1)` on every axis (see
    /// [`crate::blur`]).
    #[config(default = "None")]
    pub anti_alias: Option<f64>,
}

impl MultiDilationConv3dConfig {
    /// Checks every field; the first invalid one gives the error.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.settings().validate()
    }

    /// Builds the layer on `device`, or says which field is invalid. The kernel is
    /// `[out, in / groups, kd, kh, kw]` and the bias `[out]`, initialized like burn's `Conv3d`.
    pub fn try_init(&self, device: &Device) -> Result<MultiDilationConv3d, ConfigError> {
        self.settings().try_init(device)
    }

    /// Builds the layer on `device`.
    ///
    /// # Panics
    /// Panics with the [`ConfigError`] message of [`try_init`](Self::try_init).
    pub fn init(&self, device: &Device) -> MultiDilationConv3d {
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

super::layer_config!(MultiDilationConv3dConfig, 5);
