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

/// One layer config: the struct with the fields every rank has (the kernel size and stride in
/// the form `$axes` of burn's convolution of that rank), its `validate`, `try_init` and `init`
/// through [`Settings`], and [`LayerConfig`]. The three configs differ only in what is passed.
macro_rules! layer_config {
    (
        $(#[$doc:meta])*
        $name:ident builds $layer:ident at rank $rank:literal;
        kernel_size: $axes:ty, $(#[$kernel_doc:meta])*;
        stride: $stride_default:literal, $(#[$stride_doc:meta])*;
        path: $(#[$path_doc:meta])*;
        anti_alias: $(#[$blur_doc:meta])*;
    ) => {
        $(#[$doc])*
        #[derive(burn::config::Config, Debug, PartialEq)]
        pub struct $name {
            /// Input and output channels per branch: `[in, out]`.
            pub channels: [usize; 2],
            $(#[$kernel_doc])*
            pub kernel_size: $axes,
            /// The dilation rates, one branch each, in merge order. Each applies to every axis.
            #[config(default = "vec![1, 2, 3]")]
            pub dilations: Vec<usize>,
            $(#[$stride_doc])*
            #[config(default = $stride_default)]
            pub stride: $axes,
            /// Channel groups; both channel counts must be divisible by it.
            #[config(default = 1)]
            pub groups: usize,
            /// Whether the layer holds a bias (one, shared by every branch like the kernel).
            #[config(default = true)]
            pub bias: bool,
            /// How the branches are combined.
            #[config(default = "Merge::Concat")]
            pub merge: Merge,
            /// Initializer of the kernel and bias; the default is the one burn's convolutions
            /// use.
            #[config(
                default = "Initializer::KaimingUniform { gain: 1.0 / f64::sqrt(3.0), fan_out_only: false }"
            )]
            pub initializer: Initializer,
            $(#[$path_doc])*
            #[config(default = "ExecutionPath::Auto")]
            pub path: ExecutionPath,
            $(#[$blur_doc])*
            #[config(default = "None")]
            pub anti_alias: Option<f64>,
        }

        impl $name {
            /// Checks every field; the first invalid one gives the error.
            pub fn validate(&self) -> Result<(), ConfigError> {
                self.settings().validate()
            }

            /// Builds the layer on `device`, or says which field is invalid. The kernel is
            /// `[out, in / groups, ..kernel_size]` and the bias `[out]`, initialized like
            /// burn's convolutions (fan in `in / groups * prod(kernel_size)`).
            pub fn try_init(&self, device: &Device) -> Result<$layer, ConfigError> {
                self.settings().try_init(device)
            }

            /// Builds the layer on `device`.
            ///
            /// # Panics
            /// Panics with the [`ConfigError`] message of [`try_init`](Self::try_init) if the
            /// config is invalid.
            pub fn init(&self, device: &Device) -> $layer {
                self.try_init(device).unwrap_or_else(|err| panic!("{err}"))
            }

            fn settings(&self) -> $crate::config::Settings<'_> {
                use $crate::config::Axes;
                $crate::config::Settings {
                    channels: self.channels,
                    kernel_size: self.kernel_size.axes(),
                    kernel_size_field: &self.kernel_size,
                    stride: self.stride.axes(),
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

        impl $crate::config::LayerConfig<$rank> for $name {
            fn kernel_shape(&self) -> [usize; $rank] {
                self.settings().kernel_shape()
            }

            fn has_bias(&self) -> bool {
                self.bias
            }

            fn check(&self) -> Result<(), ConfigError> {
                self.validate()
            }

            fn build(&self, device: &Device) -> Result<$layer, ConfigError> {
                self.try_init(device)
            }
        }
    };
}
pub(crate) use layer_config;

/// A kernel size or stride as one entry per spatial axis: `usize` for 1-D, arrays above.
pub(crate) trait Axes {
    fn axes(&self) -> &[usize];
}

impl Axes for usize {
    fn axes(&self) -> &[usize] {
        std::slice::from_ref(self)
    }
}

impl<const N: usize> Axes for [usize; N] {
    fn axes(&self) -> &[usize] {
        self
    }
}

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
