//! [`MultiDilationNet`]: the layer, an activation, pooling and a linear head: a classifier.

use burn::config::Config;
use burn::module::Module;
use burn::nn::activation::{Activation, ActivationConfig};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::softmax;
use burn::tensor::module::{adaptive_avg_pool2d, max_pool2d};
use burn::tensor::ops::MaxPoolOptions;
use burn::tensor::{Device, Tensor};

use crate::config::MultiDilationConv2dConfig;
use crate::epilogue::Epilogue;
use crate::error::ConfigError;
use crate::merge::Merge;
use crate::padding::same_output_size;
use crate::ranks::MultiDilationConv2d;

/// Spatial pooling between the merged features and the linear head.
#[derive(Config, Debug, Copy, PartialEq, Eq, Hash)]
pub enum Pooling {
    /// No pooling: the head sees every position.
    None,
    /// 2x2 max pooling with stride 2 (odd sizes round down): a 14x14 map from 28x28 digits.
    Max2x2,
    /// 4x4 max pooling with stride 4 (odd sizes round down). The default: on 28x28 digits it
    /// keeps a 7x7 map, coarse enough to tolerate small shifts, fine enough that the position
    /// of strokes still matters (measured better on MNIST than 2x2).
    Max4x4,
    /// Global average over the whole map: one value per channel, translation invariant.
    GlobalAverage,
}

impl Pooling {
    /// The pooled spatial size of a `[height, width]` map.
    ///
    /// # Example
    /// ```
    /// use multi_dilation::Pooling;
    /// assert_eq!(Pooling::Max2x2.output_size([28, 27]), [14, 13]);
    /// assert_eq!(Pooling::GlobalAverage.output_size([28, 28]), [1, 1]);
    /// ```
    pub fn output_size(self, size: [usize; 2]) -> [usize; 2] {
        match self {
            Pooling::None => size,
            Pooling::Max2x2 => size.map(|s| s / 2),
            Pooling::Max4x4 => size.map(|s| s / 4),
            Pooling::GlobalAverage => [1, 1],
        }
    }

    /// Applies the pooling to `x`, `[batch, channels, height, width]`.
    pub fn apply(self, x: Tensor<4>) -> Tensor<4> {
        match self {
            Pooling::None => x,
            Pooling::Max2x2 => max_pool2d(x, MaxPoolOptions::new([2, 2])),
            Pooling::Max4x4 => max_pool2d(x, MaxPoolOptions::new([4, 4])),
            Pooling::GlobalAverage => adaptive_avg_pool2d(x, [1, 1]),
        }
    }
}

/// Configuration of a [`MultiDilationNet`]. [`MultiDilationNetConfig::new`] gives the MNIST
/// classifier: 1x28x28 input, 10 classes, 64 channels of 5x5 at dilations 1, 2, 3
/// concatenated, ReLU, 4x4 max pooling, a linear head.
///
/// # Example
/// ```
/// use burn::module::Module;
/// use burn::tensor::{Device, Tensor};
/// use multi_dilation::{MultiDilationConv2dConfig, MultiDilationNetConfig, Pooling};
///
/// let device = Device::default();
/// let config = MultiDilationNetConfig::new()
///     .with_input_shape([3, 32, 32])
///     .with_conv(MultiDilationConv2dConfig::new([3, 8], [3, 3]))
///     .with_pooling(Pooling::GlobalAverage);
/// let net = config.try_init(&device).unwrap();
/// let logits = net.forward(Tensor::<4>::zeros([2, 3, 32, 32], &device));
/// assert_eq!(logits.dims(), [2, 10]);
/// assert_eq!(net.num_params(), (8 * 3 * 9 + 8) + (24 * 10 + 10));
/// ```
#[derive(Config, Debug)]
pub struct MultiDilationNetConfig {
    /// Input shape `[channels, height, width]`; channels must equal `conv.channels[0]`.
    #[config(default = "[1, 28, 28]")]
    pub input_shape: [usize; 3],
    /// Number of classes (logits).
    #[config(default = 10)]
    pub num_classes: usize,
    /// The multi-dilation convolution.
    #[config(default = "MultiDilationConv2dConfig::new([1, 64], [5, 5])")]
    pub conv: MultiDilationConv2dConfig,
    /// Activation applied to each branch before the merge.
    #[config(default = "ActivationConfig::Relu")]
    pub activation: ActivationConfig,
    /// Pooling after the merge.
    #[config(default = "Pooling::Max4x4")]
    pub pooling: Pooling,
}

impl MultiDilationNetConfig {
    /// Shape `[channels, height, width]` of the pooled map the linear head receives
    /// (flattened in that order).
    ///
    /// # Example
    /// ```
    /// use multi_dilation::MultiDilationNetConfig;
    /// // 64 channels x 3 dilations, pooled to 7x7.
    /// assert_eq!(MultiDilationNetConfig::new().head_input_shape(), [192, 7, 7]);
    /// ```
    pub fn head_input_shape(&self) -> [usize; 3] {
        let [_, height, width] = self.input_shape;
        let conv = &self.conv;
        let channels = conv
            .merge
            .output_channels(conv.channels[1], conv.dilations.len());
        let merged = [
            same_output_size(height, conv.stride[0].max(1)),
            same_output_size(width, conv.stride[1].max(1)),
        ];
        let [ph, pw] = self.pooling.output_size(merged);
        [channels, ph, pw]
    }

    /// Number of features the linear head receives: the product of
    /// [`head_input_shape`](Self::head_input_shape).
    ///
    /// # Example
    /// ```
    /// use multi_dilation::MultiDilationNetConfig;
    /// assert_eq!(MultiDilationNetConfig::new().head_features(), 192 * 7 * 7);
    /// ```
    pub fn head_features(&self) -> usize {
        self.head_input_shape().iter().product()
    }

    /// Checks every field; the first invalid one gives the error (fields of `conv` are named
    /// `conv.*`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.conv.validate().map_err(|err| err.nested("conv"))?;
        if self.input_shape.contains(&0) {
            return Err(ConfigError::new(
                "input_shape",
                &self.input_shape,
                "every dimension must be at least 1",
            ));
        }
        if self.input_shape[0] != self.conv.channels[0] {
            return Err(ConfigError::new(
                "input_shape",
                &self.input_shape,
                format!(
                    "has {} channels but conv.channels[0] is {}",
                    self.input_shape[0], self.conv.channels[0]
                ),
            ));
        }
        if self.num_classes == 0 {
            return Err(ConfigError::new(
                "num_classes",
                &self.num_classes,
                "must be at least 1",
            ));
        }
        if self.head_features() == 0 {
            return Err(ConfigError::new(
                "pooling",
                &self.pooling,
                format!(
                    "leaves no features from an input of shape {:?}",
                    self.input_shape
                ),
            ));
        }
        Ok(())
    }

    /// Builds the classifier on `device`, or says which field is invalid.
    pub fn try_init(&self, device: &Device) -> Result<MultiDilationNet, ConfigError> {
        self.validate()?;
        Ok(MultiDilationNet {
            conv: self
                .conv
                .try_init(device)
                .map_err(|err| err.nested("conv"))?,
            activation: self.activation.init(device),
            head: LinearConfig::new(self.head_features(), self.num_classes).init(device),
            pooling: self.pooling,
            input_shape: self.input_shape,
        })
    }

    /// Builds the classifier on `device`.
    ///
    /// # Panics
    /// Panics with the [`ConfigError`] message of [`try_init`](Self::try_init).
    pub fn init(&self, device: &Device) -> MultiDilationNet {
        self.try_init(device).unwrap_or_else(|err| panic!("{err}"))
    }
}

/// A classifier: [`MultiDilationConv2d`], an activation per branch, the merge, pooling,
/// flatten, and a `Linear` head giving logits.
///
/// Built with [`MultiDilationNetConfig`], which holds everything needed to rebuild it.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use multi_dilation::MultiDilationNetConfig;
///
/// let device = Device::default();
/// let net = MultiDilationNetConfig::new().init(&device);
/// let probs = net.predict(Tensor::<4>::zeros([4, 1, 28, 28], &device));
/// assert_eq!(probs.dims(), [4, 10]);
/// let total = probs.sum().into_scalar::<f32>();
/// assert!((total - 4.0).abs() < 1e-4);
/// ```
#[derive(Module, Debug)]
pub struct MultiDilationNet {
    /// The shared-kernel convolution.
    pub conv: MultiDilationConv2d,
    /// The activation applied to each branch.
    pub activation: Activation,
    /// The linear head: `head_features -> num_classes`.
    pub head: Linear,
    #[module(skip)]
    pooling: Pooling,
    #[module(skip)]
    input_shape: [usize; 3],
}

impl MultiDilationNet {
    /// Logits `[batch, num_classes]` for images `[batch, channels, height, width]`.
    ///
    /// # Panics
    /// Panics if the image shape is not the configured `input_shape`; the message gives the
    /// expected and actual shapes.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let dims = x.dims();
        let [channels, height, width] = self.input_shape;
        assert_eq!(
            dims[1..],
            self.input_shape,
            "MultiDilationNet: expected an input of shape [batch, {channels}, {height}, {width}], \
             got {dims:?}"
        );
        // The activation acts on each branch before the merge. A ReLU is the layer's epilogue
        // (inside the fused kernel where it runs); for a concatenation any other activation
        // is applied to the merged tensor, which equals applying it per branch.
        let merged = match (&self.activation, self.conv.merge()) {
            (Activation::Relu(_), _) => self.conv.forward_with(x, Epilogue::Relu),
            (activation, Merge::Concat) => activation.forward(self.conv.forward(x)),
            (activation, merge) => merge.apply(
                self.conv
                    .forward_branches(x)
                    .into_iter()
                    .map(|branch| activation.forward(branch))
                    .collect(),
            ),
        };
        let pooled = self.pooling.apply(merged);
        self.head.forward(pooled.flatten::<2>(1, 3))
    }

    /// Class probabilities `[batch, num_classes]`: the softmax of [`forward`](Self::forward).
    pub fn predict(&self, x: Tensor<4>) -> Tensor<2> {
        softmax(self.forward(x), 1)
    }

    /// The input shape `[channels, height, width]` the net was built for.
    pub fn input_shape(&self) -> [usize; 3] {
        self.input_shape
    }

    /// The pooling between the merged features and the head.
    pub fn pooling(&self) -> Pooling {
        self.pooling
    }
}
