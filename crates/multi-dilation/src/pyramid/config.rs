//! [`AtrousPyramidConfig`]: everything that defines an atrous pyramid, KSAC or ASPP.

use burn::config::Config;
use burn::nn::BatchNormConfig;
use burn::nn::conv::Conv2dConfig;
use burn::tensor::Device;

use super::block::{AtrousNorm, AtrousPyramid, ConvBnRelu};
use crate::branch_norm::BranchBatchNormConfig;
use crate::config::MultiDilationConv2dConfig;
use crate::deep::Kernels;
use crate::error::ConfigError;
use crate::execute::ExecutionPath;
use crate::merge::Merge;

/// Configuration of an [`AtrousPyramid`]: a 1x1 branch, one kernel seen at several atrous
/// rates (or one kernel per rate), an image-pooling branch, concatenated and projected.
///
/// [`AtrousPyramidConfig::new`] with the defaults gives KSAC's head (rates 6, 12 and 18, one
/// shared 3x3 kernel, its rates summed); `.with_kernels(Kernels::Independent)` gives its twin,
/// DeepLabv3's ASPP (one kernel per rate, the rates concatenated). [`AtrousPyramid`] says
/// what each paper does and where.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use multi_dilation::{AtrousPyramidConfig, Kernels, Merge};
///
/// let device = Device::default();
/// let ksac = AtrousPyramidConfig::new([32, 16]);
/// assert_eq!(ksac.rates, vec![6, 12, 18]);
/// assert_eq!(ksac.atrous_merge(), Merge::Sum);
/// let aspp = ksac.clone().with_kernels(Kernels::Independent);
/// assert_eq!(aspp.atrous_merge(), Merge::Concat);
/// // The projection sees the 1x1 branch, the atrous part and the image pooling.
/// assert_eq!(ksac.projection_channels(), 3 * 16);
/// assert_eq!(aspp.projection_channels(), 5 * 16);
/// let block = ksac.init(&device);
/// assert_eq!(block.forward(Tensor::<4>::zeros([2, 32, 9, 7], &device)).dims(), [2, 16, 9, 7]);
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct AtrousPyramidConfig {
    /// Input channels, and the channels of every branch and of the output: `[in, out]`
    /// (DeepLabv3 and KSAC use 256 out).
    pub channels: [usize; 2],
    /// The atrous rates (dilations), one branch each, in merge order.
    #[config(default = "vec![6, 12, 18]")]
    pub rates: Vec<usize>,
    /// Kernel size of the atrous convolution(s); 'same' padding as TensorFlow/Keras.
    #[config(default = "[3, 3]")]
    pub kernel_size: [usize; 2],
    /// One kernel seen at every rate (KSAC), or one kernel per rate (ASPP).
    #[config(default = "Kernels::Shared")]
    pub kernels: Kernels,
    /// How the rates are combined; `None` (the default) as each paper does: [`Merge::Sum`]
    /// for [`Kernels::Shared`] (KSAC), [`Merge::Concat`] for [`Kernels::Independent`] (ASPP).
    #[config(default = "None")]
    pub merge: Option<Merge>,
    /// Whether the image-pooling branch is there (global average, 1x1 convolution, batch
    /// norm, ReLU, broadcast back to the input's size).
    #[config(default = true)]
    pub image_pooling: bool,
    /// Execution path of the atrous convolution(s).
    #[config(default = "ExecutionPath::Auto")]
    pub path: ExecutionPath,
}

impl AtrousPyramidConfig {
    /// The merge of the rates that [`merge`](Self::merge) gives.
    ///
    /// # Example
    /// ```
    /// use multi_dilation::{AtrousPyramidConfig, Merge};
    /// let config = AtrousPyramidConfig::new([8, 4]);
    /// assert_eq!(config.atrous_merge(), Merge::Sum);
    /// assert_eq!(config.with_merge(Some(Merge::Max)).atrous_merge(), Merge::Max);
    /// ```
    pub fn atrous_merge(&self) -> Merge {
        self.merge.unwrap_or(match self.kernels {
            Kernels::Shared => Merge::Sum,
            Kernels::Independent => Merge::Concat,
        })
    }

    /// Input channels of the projection: `out` for the 1x1 branch, the merged rates (`out`, or
    /// `out * rates` concatenated) and `out` for the image pooling.
    ///
    /// # Example
    /// ```
    /// use multi_dilation::{AtrousPyramidConfig, Merge};
    /// let config = AtrousPyramidConfig::new([8, 4]).with_image_pooling(false);
    /// assert_eq!(config.projection_channels(), 4 + 4);
    /// assert_eq!(config.with_merge(Some(Merge::Concat)).projection_channels(), 4 + 3 * 4);
    /// ```
    pub fn projection_channels(&self) -> usize {
        let out = self.channels[1];
        let atrous = self.atrous_merge().output_channels(out, self.rates.len());
        out + atrous + if self.image_pooling { out } else { 0 }
    }

    /// Checks every field; the first invalid one gives the error.
    ///
    /// # Example
    /// ```
    /// use multi_dilation::AtrousPyramidConfig;
    /// let err = AtrousPyramidConfig::new([8, 4]).with_rates(vec![6, 0]).validate().unwrap_err();
    /// assert_eq!(err.field, "rates");
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.channels.contains(&0) {
            return Err(ConfigError::new(
                "channels",
                &self.channels,
                "input and output channels must be at least 1",
            ));
        }
        if self.rates.is_empty() || self.rates.contains(&0) {
            return Err(ConfigError::new(
                "rates",
                &self.rates,
                "at least one rate is needed, and every rate must be at least 1",
            ));
        }
        if self.kernel_size.contains(&0) {
            return Err(ConfigError::new(
                "kernel_size",
                &self.kernel_size,
                "every kernel dimension must be at least 1",
            ));
        }
        Ok(())
    }

    /// Builds the block on `device`, or says which field is invalid (a forced
    /// [`ExecutionPath::Fused`] the device cannot run is `path`).
    ///
    /// Every convolution is without bias (a batch norm follows each) and initialized like
    /// burn's `Conv2d`; every batch norm starts as burn's `BatchNorm` (scale 1, shift 0,
    /// running mean 0 and variance 1, momentum 0.1, epsilon 1e-5, PyTorch's defaults).
    ///
    /// # Example
    /// ```
    /// use burn::tensor::Device;
    /// use multi_dilation::AtrousPyramidConfig;
    ///
    /// let device = Device::default();
    /// assert!(AtrousPyramidConfig::new([8, 4]).try_init(&device).is_ok());
    /// let err = AtrousPyramidConfig::new([8, 0]).try_init(&device).unwrap_err();
    /// assert_eq!(err.field, "channels");
    /// ```
    pub fn try_init(&self, device: &Device) -> Result<AtrousPyramid, ConfigError> {
        self.validate()?;
        let [channels_in, out] = self.channels;
        let (atrous, atrous_norm) = match self.kernels {
            Kernels::Shared => (
                vec![self.atrous_conv(self.rates.clone()).try_init(device)?],
                AtrousNorm::PerRate(
                    BranchBatchNormConfig::new(out, self.rates.len()).try_init(device)?,
                ),
            ),
            Kernels::Independent => (
                self.rates
                    .iter()
                    .map(|&rate| self.atrous_conv(vec![rate]).try_init(device))
                    .collect::<Result<_, _>>()?,
                AtrousNorm::Separate(
                    self.rates
                        .iter()
                        .map(|_| BatchNormConfig::new(out).init(device))
                        .collect(),
                ),
            ),
        };
        Ok(AtrousPyramid {
            pointwise: conv_bn_relu([channels_in, out], device),
            atrous,
            atrous_norm,
            image_pool: self
                .image_pooling
                .then(|| conv_bn_relu([channels_in, out], device)),
            projection: conv_bn_relu([self.projection_channels(), out], device),
            kernels: self.kernels,
            merge: self.atrous_merge(),
        })
    }

    /// Builds the block on `device`.
    ///
    /// # Panics
    /// Panics with the [`ConfigError`] message of [`try_init`](Self::try_init).
    ///
    /// # Example
    /// ```should_panic
    /// use burn::tensor::Device;
    /// use multi_dilation::AtrousPyramidConfig;
    /// // Panics with "invalid `rates` = []: at least one rate is needed, ...".
    /// AtrousPyramidConfig::new([8, 4]).with_rates(vec![]).init(&Device::default());
    /// ```
    pub fn init(&self, device: &Device) -> AtrousPyramid {
        self.try_init(device).unwrap_or_else(|err| panic!("{err}"))
    }

    /// The atrous convolution at `dilations`: without bias, the batch norm's shift replaces it.
    fn atrous_conv(&self, dilations: Vec<usize>) -> MultiDilationConv2dConfig {
        MultiDilationConv2dConfig::new(self.channels, self.kernel_size)
            .with_dilations(dilations)
            .with_bias(false)
            .with_path(self.path)
    }
}

/// A 1x1 convolution without bias, then batch norm (and, in `forward`, ReLU).
fn conv_bn_relu(channels: [usize; 2], device: &Device) -> ConvBnRelu {
    ConvBnRelu {
        conv: Conv2dConfig::new(channels, [1, 1])
            .with_bias(false)
            .init(device),
        norm: BatchNormConfig::new(channels[1]).init(device),
    }
}
