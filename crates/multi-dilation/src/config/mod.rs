//! The configurations of the layer at each rank ([`MultiDilationConv1dConfig`],
//! [`MultiDilationConv2dConfig`], [`MultiDilationConv3dConfig`]) and what they share: one set of
//! checks and one way to build the layer (`Settings`), whatever the rank, and [`LayerConfig`]
//! for code generic over the rank.

mod conv1d;
mod conv2d;
mod conv3d;

pub use conv1d::MultiDilationConv1dConfig;
pub use conv2d::MultiDilationConv2dConfig;
pub use conv3d::MultiDilationConv3dConfig;

use std::fmt::Debug;

use burn::module::Initializer;
use burn::tensor::Device;

use crate::conv::MultiDilationConv;
use crate::error::ConfigError;
use crate::execute::{ExecutionPath, FUSED_NEEDS, fused_supported};
use crate::merge::Merge;
use crate::shape::validate_dilations;

/// What the layer configs of every rank share, for code generic over the rank (the weight
/// imports of `interop` take any of them): `D` is the rank of the layer's tensors.
///
/// # Example
/// ```
/// use burn::tensor::Device;
/// use multi_dilation::{LayerConfig, MultiDilationConv1dConfig, MultiDilationConv3dConfig};
///
/// fn kernel_len<const D: usize>(config: &impl LayerConfig<D>) -> usize {
///     config.kernel_shape().iter().product()
/// }
/// assert_eq!(kernel_len(&MultiDilationConv1dConfig::new([2, 4], 5)), 4 * 2 * 5);
/// assert_eq!(kernel_len(&MultiDilationConv3dConfig::new([1, 2], [3, 3, 3])), 2 * 27);
/// let layer = MultiDilationConv1dConfig::new([2, 4], 5).build(&Device::default()).unwrap();
/// assert_eq!(layer.weight.dims(), [4, 2, 5]);
/// ```
pub trait LayerConfig<const D: usize> {
    /// The kernel's shape, `[out, in / groups, ..kernel_size]`.
    fn kernel_shape(&self) -> [usize; D];
    /// Whether the layer holds a bias.
    fn has_bias(&self) -> bool;
    /// Checks every field; the first invalid one gives the error (the config's `validate`).
    fn check(&self) -> Result<(), ConfigError>;
    /// The layer on `device`, or the first invalid field (the config's `try_init`).
    fn build(&self, device: &Device) -> Result<MultiDilationConv<D>, ConfigError>;
}

/// [`LayerConfig`] for a config of tensor rank `D` with a `settings()` view.
macro_rules! layer_config {
    ($config:ty, $rank:literal) => {
        impl $crate::config::LayerConfig<$rank> for $config {
            fn kernel_shape(&self) -> [usize; $rank] {
                self.settings().kernel_shape()
            }

            fn has_bias(&self) -> bool {
                self.bias
            }

            fn check(&self) -> Result<(), $crate::error::ConfigError> {
                self.validate()
            }

            fn build(
                &self,
                device: &burn::tensor::Device,
            ) -> Result<$crate::conv::MultiDilationConv<$rank>, $crate::error::ConfigError> {
                self.try_init(device)
            }
        }
    };
}
pub(crate) use layer_config;

/// A config's fields at any rank: the kernel size and stride as slices (one entry per spatial
/// axis), with the fields as the user wrote them for error messages.
pub(crate) struct Settings<'a> {
    pub channels: [usize; 2],
    pub kernel_size: &'a [usize],
    pub kernel_size_field: &'a dyn Debug,
    pub stride: &'a [usize],
    pub stride_field: &'a dyn Debug,
    pub dilations: &'a [usize],
    pub groups: usize,
    pub bias: bool,
    pub merge: Merge,
    pub initializer: &'a Initializer,
    pub path: ExecutionPath,
    pub anti_alias: Option<f64>,
}

impl Settings<'_> {
    /// Checks every field; the first invalid one gives the error.
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
                self.kernel_size_field,
                "every kernel dimension must be at least 1",
            ));
        }
        if self.stride.contains(&0) {
            return Err(ConfigError::new(
                "stride",
                self.stride_field,
                "every stride must be at least 1",
            ));
        }
        validate_dilations(self.dilations)?;
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

    /// The kernel's shape at tensor rank `D`: `[out, in / groups, ..kernel_size]`.
    pub fn kernel_shape<const D: usize>(&self) -> [usize; D] {
        let mut shape = [0; D];
        shape[0] = self.channels[1];
        shape[1] = self.channels[0] / self.groups.max(1);
        shape[2..].copy_from_slice(self.kernel_size);
        shape
    }

    /// The layer of tensor rank `D` on `device`, or the first invalid field. The kernel is
    /// `[out, in / groups, ..kernel_size]` and the bias `[out]`, initialized like burn's
    /// convolutions (fan in `in / groups * prod(kernel_size)`).
    pub fn try_init<const D: usize>(
        &self,
        device: &Device,
    ) -> Result<MultiDilationConv<D>, ConfigError> {
        self.validate()?;
        let dtype = device.settings().float_dtype.into();
        if self.path == ExecutionPath::Fused && !fused_supported(D, device, dtype, self.groups) {
            return Err(ConfigError::new(
                "path",
                &self.path,
                format!(
                    "the fused kernel needs {FUSED_NEEDS}; got a {}-D layer on device {device:?}, \
                     groups {}",
                    D - 2,
                    self.groups
                ),
            ));
        }
        let [channels_in, channels_out] = self.channels;
        let taps: usize = self.kernel_size.iter().product();
        let fan_in = channels_in / self.groups * taps;
        let fan_out = channels_out / self.groups * taps;
        let weight = self.initializer.init_with(
            self.kernel_shape::<D>(),
            Some(fan_in),
            Some(fan_out),
            device,
        );
        let bias = self.bias.then(|| {
            self.initializer
                .init_with([channels_out], Some(fan_in), Some(fan_out), device)
        });
        Ok(MultiDilationConv {
            weight,
            bias,
            stride: self.stride.to_vec(),
            groups: self.groups,
            dilations: self.dilations.to_vec(),
            merge: self.merge,
            path: self.path,
            anti_alias: self.anti_alias,
        })
    }
}
