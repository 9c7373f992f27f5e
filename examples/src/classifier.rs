//! The classifiers the MNIST example trains: the one-layer [`MultiDilationNet`] or the deep
//! [`DeepMultiDilationNet`] (shared kernels, or its independent-kernel twin), behind one type
//! that burn's `Learner` trains and that `eval` and `predict` rebuild from `config.json`.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor};
use burn::train::{ClassificationOutput, InferenceStep, TrainOutput, TrainStep};
use multi_dilation::{
    ClassificationBatch, ConfigError, DeepMultiDilationNet, DeepMultiDilationNetConfig,
    MultiDilationNet, MultiDilationNetConfig,
};

/// Which classifier, with its configuration.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use multi_dilation::DeepMultiDilationNetConfig;
/// use multi_dilation_examples::classifier::ModelConfig;
///
/// let config = ModelConfig::Deep(DeepMultiDilationNetConfig::new());
/// let model = config.try_init(&Device::default()).unwrap();
/// let logits = model.forward(Tensor::<4>::zeros([2, 1, 28, 28], &Device::default()));
/// assert_eq!(logits.dims(), [2, 10]);
/// ```
#[derive(Config, Debug)]
pub enum ModelConfig {
    /// One multi-dilation layer, pooling and a linear head.
    Single(MultiDilationNetConfig),
    /// Blocks of branch-parallel multi-dilation convolution with scale pooling.
    Deep(DeepMultiDilationNetConfig),
}

impl ModelConfig {
    /// Checks the configuration.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self {
            ModelConfig::Single(config) => config.validate(),
            ModelConfig::Deep(config) => config.validate(),
        }
    }

    /// Builds the classifier on `device`.
    pub fn try_init(&self, device: &Device) -> Result<Classifier, ConfigError> {
        Ok(match self {
            ModelConfig::Single(config) => Classifier::Single(config.try_init(device)?),
            ModelConfig::Deep(config) => Classifier::Deep(config.try_init(device)?),
        })
    }

    /// Builds the classifier on `device`.
    ///
    /// # Panics
    /// Panics with the [`ConfigError`] message of [`try_init`](Self::try_init).
    pub fn init(&self, device: &Device) -> Classifier {
        self.try_init(device).unwrap_or_else(|err| panic!("{err}"))
    }
}

/// A classifier of either kind.
// One model exists per run; boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Classifier {
    /// The one-layer classifier.
    Single(MultiDilationNet),
    /// The deep classifier.
    Deep(DeepMultiDilationNet),
}

impl Classifier {
    /// Logits `[batch, classes]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        match self {
            Classifier::Single(net) => net.forward(images),
            Classifier::Deep(net) => net.forward(images),
        }
    }

    /// Logits and the mean cross-entropy loss of a batch.
    pub fn forward_loss(&self, batch: ClassificationBatch) -> (Tensor<2>, Tensor<1>) {
        match self {
            Classifier::Single(net) => net.forward_loss(batch),
            Classifier::Deep(net) => net.forward_loss(batch),
        }
    }

    /// Class probabilities `[batch, classes]`.
    pub fn predict(&self, images: Tensor<4>) -> Tensor<2> {
        softmax(self.forward(images), 1)
    }
}

// The steps are those of the wrapped classifier: its parameters are the enum's.
impl TrainStep for Classifier {
    type Input = ClassificationBatch;
    type Output = ClassificationOutput;

    fn step(&self, batch: ClassificationBatch) -> TrainOutput<ClassificationOutput> {
        match self {
            Classifier::Single(net) => TrainStep::step(net, batch),
            Classifier::Deep(net) => TrainStep::step(net, batch),
        }
    }
}

impl InferenceStep for Classifier {
    type Input = ClassificationBatch;
    type Output = ClassificationOutput;

    fn step(&self, batch: ClassificationBatch) -> ClassificationOutput {
        match self {
            Classifier::Single(net) => InferenceStep::step(net, batch),
            Classifier::Deep(net) => InferenceStep::step(net, batch),
        }
    }
}
