//! [`DeepMultiDilationNetConfig`]: everything that defines a deep multi-dilation classifier.

use burn::config::Config;
use burn::nn::{BatchNormConfig, LinearConfig};
use burn::tensor::Device;

use super::net::{BlockNorm, DeepBlock, DeepMultiDilationNet};
use super::options::{BranchNorm, HeadPool, Kernels, PoolAt, ScalePool};
use crate::branch_norm::BranchBatchNormConfig;
use crate::config::MultiDilationConv2dConfig;
use crate::error::ConfigError;
use crate::execute::ExecutionPath;
use crate::weighting::{BranchWeighting, BranchWeightingConfig};

/// Configuration of a [`DeepMultiDilationNet`]: blocks of multi-dilation convolution, branch
/// normalization, ReLU and 2x2 max pooling, scale pooling at [`PoolAt`], a pooled linear head.
/// [`DeepMultiDilationNetConfig::new`] gives an MNIST classifier: 1x28x28 input, 10 classes,
/// three 3x3 blocks of 16, 32 and 48 channels at dilations 1, 2, 3 with one shared kernel
/// each, per-branch batch norm, branches kept apart and max-pooled over scales before a
/// global max pool and the head.
///
/// The plain CNN of the same skeleton is `.with_dilations(vec![1])`; the independent-kernel
/// twin is `.with_kernels(Kernels::Independent)`.
///
/// # Example
/// ```
/// use burn::module::Module;
/// use burn::tensor::{Device, Tensor};
/// use multi_dilation::{DeepMultiDilationNetConfig, Kernels};
///
/// let device = Device::default();
/// let shared = DeepMultiDilationNetConfig::new().init(&device);
/// let plain = DeepMultiDilationNetConfig::new().with_dilations(vec![1]).init(&device);
/// let twin = DeepMultiDilationNetConfig::new()
///     .with_kernels(Kernels::Independent)
///     .init(&device);
/// assert_eq!(shared.trainable_params(), plain.trainable_params()); // the CNN's parameters
/// assert_eq!(twin.conv_parameters(), 3 * shared.conv_parameters());
/// let logits = shared.forward(Tensor::<4>::zeros([2, 1, 28, 28], &device));
/// assert_eq!(logits.dims(), [2, 10]);
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct DeepMultiDilationNetConfig {
    /// Input `[channels, height, width]`.
    #[config(default = "[1, 28, 28]")]
    pub input_shape: [usize; 3],
    /// Number of classes.
    #[config(default = 10)]
    pub classes: usize,
    /// Output channels of each block (per branch); one block per entry.
    #[config(default = "vec![16, 32, 48]")]
    pub channels: Vec<usize>,
    /// Kernel size of every block.
    #[config(default = "[3, 3]")]
    pub kernel_size: [usize; 2],
    /// Dilation of each branch, the same in every block.
    #[config(default = "vec![1, 2, 3]")]
    pub dilations: Vec<usize>,
    /// One kernel per block shared by the branches, or one per branch.
    #[config(default = "Kernels::Shared")]
    pub kernels: Kernels,
    /// Normalization of the branches in each block.
    #[config(default = "BranchNorm::PerBranch")]
    pub norm: BranchNorm,
    /// How branches are pooled over scales.
    #[config(default = "ScalePool::Max")]
    pub scale_pool: ScalePool,
    /// Where branches are pooled over scales.
    #[config(default = "PoolAt::BeforeHead")]
    pub pool_at: PoolAt,
    /// Anti-aliased dilation in every convolution (see
    /// [`MultiDilationConv2dConfig::anti_alias`]).
    #[config(default = "None")]
    pub anti_alias: Option<f64>,
    /// How the last feature maps reach the head.
    #[config(default = "HeadPool::GlobalMax")]
    pub head_pool: HeadPool,
    /// Execution path of every convolution.
    #[config(default = "ExecutionPath::Auto")]
    pub path: ExecutionPath,
}

impl DeepMultiDilationNetConfig {
    /// The spatial size of the last block's output: each block halves it (rounding down).
    pub fn final_size(&self) -> [usize; 2] {
        let [_, h, w] = self.input_shape;
        let shrink = |s: usize| self.channels.iter().fold(s, |s, _| s / 2);
        [shrink(h), shrink(w)]
    }

    /// Features the head sees.
    pub fn head_features(&self) -> usize {
        self.channels.last().copied().unwrap_or(0) * self.head_pool.features(self.final_size())
    }

    /// Checks every field; the first invalid one gives the error.
    ///
    /// # Example
    /// ```
    /// use multi_dilation::DeepMultiDilationNetConfig;
    /// let err = DeepMultiDilationNetConfig::new().with_channels(vec![]).validate().unwrap_err();
    /// assert_eq!(err.field, "channels");
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.input_shape.contains(&0) {
            return Err(ConfigError::new(
                "input_shape",
                &self.input_shape,
                "every dimension must be at least 1",
            ));
        }
        if self.classes == 0 {
            return Err(ConfigError::new(
                "classes",
                &self.classes,
                "must be at least 1",
            ));
        }
        if self.channels.is_empty() || self.channels.contains(&0) {
            return Err(ConfigError::new(
                "channels",
                &self.channels,
                "at least one block, each with at least 1 channel",
            ));
        }
        if self.final_size().contains(&0) {
            return Err(ConfigError::new(
                "input_shape",
                &self.input_shape,
                format!(
                    "{} blocks halve the size {} times: height and width must be at least {}",
                    self.channels.len(),
                    self.channels.len(),
                    1usize << self.channels.len().min(63)
                ),
            ));
        }
        self.conv(self.input_shape[0], self.channels[0])
            .validate()
            .map_err(|err| err.nested("conv"))
    }

    /// Builds the network on `device`, or says which field is invalid.
    pub fn try_init(&self, device: &Device) -> Result<DeepMultiDilationNet, ConfigError> {
        self.validate()?;
        let branches = self.dilations.len();
        let mut blocks = Vec::with_capacity(self.channels.len());
        let mut channels_in = self.input_shape[0];
        for &channels in &self.channels {
            let convs = match self.kernels {
                Kernels::Shared => vec![self.conv(channels_in, channels).try_init(device)?],
                Kernels::Independent => self
                    .dilations
                    .iter()
                    .map(|&d| {
                        self.conv(channels_in, channels)
                            .with_dilations(vec![d])
                            .try_init(device)
                    })
                    .collect::<Result<_, _>>()?,
            };
            let norm = match self.norm {
                BranchNorm::None => None,
                BranchNorm::Shared => Some(BlockNorm::Shared(
                    BatchNormConfig::new(channels).init(device),
                )),
                BranchNorm::PerBranch => Some(BlockNorm::PerBranch(
                    BranchBatchNormConfig::new(channels, branches).try_init(device)?,
                )),
            };
            let weighting = (self.pool_at == PoolAt::EveryBlock)
                .then(|| self.weighting(channels, device))
                .flatten();
            blocks.push(DeepBlock {
                convs,
                norm,
                weighting,
            });
            channels_in = channels;
        }
        let last = *self.channels.last().expect("validated non-empty");
        let weighting = (self.pool_at == PoolAt::BeforeHead)
            .then(|| self.weighting(last, device))
            .flatten();
        Ok(DeepMultiDilationNet {
            blocks,
            weighting,
            head: LinearConfig::new(self.head_features(), self.classes).init(device),
            kernels: self.kernels,
            scale_pool: self.scale_pool,
            pool_at: self.pool_at,
            head_pool: self.head_pool,
        })
    }

    /// Builds the network on `device`.
    ///
    /// # Panics
    /// Panics with the [`ConfigError`] message of [`try_init`](Self::try_init).
    pub fn init(&self, device: &Device) -> DeepMultiDilationNet {
        self.try_init(device).unwrap_or_else(|err| panic!("{err}"))
    }

    /// The convolution of one block.
    fn conv(&self, channels_in: usize, channels_out: usize) -> MultiDilationConv2dConfig {
        MultiDilationConv2dConfig::new([channels_in, channels_out], self.kernel_size)
            .with_dilations(self.dilations.clone())
            .with_anti_alias(self.anti_alias)
            .with_path(self.path)
    }

    /// The learned scale pooling of `channels`-channel branches, when it is the one used.
    fn weighting(&self, channels: usize, device: &Device) -> Option<BranchWeighting> {
        (self.scale_pool == ScalePool::Weighted).then(|| {
            BranchWeightingConfig::new(self.dilations.len())
                .with_channels(Some(channels))
                .init(device)
        })
    }
}
