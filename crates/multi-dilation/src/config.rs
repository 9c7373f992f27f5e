//! [`MultiDilationConv2dConfig`]: everything that defines a multi-dilation convolution.

use burn::config::Config;
use burn::module::Initializer;
use burn::tensor::Device;

use crate::conv::MultiDilationConv2d;
use crate::error::ConfigError;
use crate::execute::{ExecutionPath, FUSED_NEEDS, fused_supported};
use crate::merge::Merge;
use crate::shape::validate_dilations;

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
        if self.channels.contains(&0) {
            return Err(ConfigError::new(
                "channels",
                &self.channels,
                "input and output channels must be at least 1",
            ));
        }
        if self.kernel_size.contains(&0) {
            return Err(ConfigError::new(
                "kernel_size",
                &self.kernel_size,
                "every kernel dimension must be at least 1",
            ));
        }
        if self.stride.contains(&0) {
            return Err(ConfigError::new(
                "stride",
                &self.stride,
                "every stride must be at least 1",
            ));
        }
        validate_dilations(&self.dilations)?;
        if let Some(sigma0) = self.anti_alias
            && !(sigma0.is_finite() && sigma0 > 0.0)
        {
            return Err(ConfigError::new(
                "anti_alias",
                &self.anti_alias,
                "the blur's base scale sigma0 must be a positive finite number (None for no blur)",
            ));
        }
        if self.groups == 0 {
            return Err(ConfigError::new(
                "groups",
                &self.groups,
                "must be at least 1",
            ));
        }
        if self.channels.iter().any(|c| c % self.groups != 0) {
            return Err(ConfigError::new(
                "groups",
                &self.groups,
                format!(
                    "channels {:?} must both be divisible by groups",
                    self.channels
                ),
            ));
        }
        Ok(())
    }

    /// Builds the layer on `device`, or says which field is invalid.
    ///
    /// The kernel is `[out, in / groups, kh, kw]` and the bias `[out]`, initialized like burn's
    /// `Conv2d` (fan in `in / groups * kh * kw`).
    pub fn try_init(&self, device: &Device) -> Result<MultiDilationConv2d, ConfigError> {
        self.validate()?;
        if self.path == ExecutionPath::Fused
            && !fused_supported(device, device.settings().float_dtype.into(), self.groups)
        {
            return Err(ConfigError::new(
                "path",
                &self.path,
                format!(
                    "the fused kernel needs {}; got device {device:?}, groups {}",
                    FUSED_NEEDS, self.groups
                ),
            ));
        }
        let [channels_in, channels_out] = self.channels;
        let [kh, kw] = self.kernel_size;
        let fan_in = channels_in / self.groups * kh * kw;
        let fan_out = channels_out / self.groups * kh * kw;
        let weight = self.initializer.init_with(
            [channels_out, channels_in / self.groups, kh, kw],
            Some(fan_in),
            Some(fan_out),
            device,
        );
        let bias = self.bias.then(|| {
            self.initializer
                .init_with([channels_out], Some(fan_in), Some(fan_out), device)
        });
        Ok(MultiDilationConv2d {
            weight,
            bias,
            stride: self.stride,
            groups: self.groups,
            dilations: self.dilations.clone(),
            merge: self.merge,
            path: self.path,
            anti_alias: self.anti_alias,
        })
    }

    /// Builds the layer on `device`.
    ///
    /// # Panics
    /// Panics with the [`ConfigError`] message of [`try_init`](Self::try_init) if the config is
    /// invalid.
    pub fn init(&self, device: &Device) -> MultiDilationConv2d {
        self.try_init(device).unwrap_or_else(|err| panic!("{err}"))
    }
}
