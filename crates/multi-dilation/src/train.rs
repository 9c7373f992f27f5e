//! Training [`MultiDilationNet`] and [`DeepMultiDilationNet`] with burn's `SupervisedTraining` / `Learner`.
//!
//! [`ClassificationBatch`] is always available; the `TrainStep` and `InferenceStep`
//! implementations need the crate feature `train` (which enables burn's `train`).

use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::{Int, Tensor};

use crate::deep::DeepMultiDilationNet;
use crate::net::MultiDilationNet;

/// A batch of images and their classes.
#[derive(Debug, Clone)]
pub struct ClassificationBatch {
    /// Images `[batch, channels, height, width]`.
    pub images: Tensor<4>,
    /// Class indices `[batch]`.
    pub targets: Tensor<1, Int>,
}

/// From the pair `(images, targets)`: what data crates' batchers (such as
/// `multi-dilation-mnist`'s) build, so they need not depend on this crate.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Int, Tensor};
/// use multi_dilation::ClassificationBatch;
///
/// let device = Device::default();
/// let pair = (Tensor::<4>::zeros([2, 1, 4, 4], &device), Tensor::<1, Int>::from_ints([1, 0], &device));
/// let batch = ClassificationBatch::from(pair);
/// assert_eq!(batch.targets.dims(), [2]);
/// ```
impl From<(Tensor<4>, Tensor<1, Int>)> for ClassificationBatch {
    fn from((images, targets): (Tensor<4>, Tensor<1, Int>)) -> Self {
        Self { images, targets }
    }
}

impl MultiDilationNet {
    /// Logits and the mean cross-entropy loss of a batch.
    ///
    /// # Example
    /// ```
    /// use burn::tensor::{Device, Int, Tensor};
    /// use multi_dilation::{ClassificationBatch, MultiDilationNetConfig};
    ///
    /// let device = Device::default();
    /// let net = MultiDilationNetConfig::new().init(&device);
    /// let batch = ClassificationBatch {
    ///     images: Tensor::zeros([2, 1, 28, 28], &device),
    ///     targets: Tensor::<1, Int>::from_ints([3, 7], &device),
    /// };
    /// let (logits, loss) = net.forward_loss(batch);
    /// assert_eq!(logits.dims(), [2, 10]);
    /// assert_eq!(loss.dims(), [1]);
    /// ```
    pub fn forward_loss(&self, batch: ClassificationBatch) -> (Tensor<2>, Tensor<1>) {
        cross_entropy(self.forward(batch.images), batch.targets)
    }
}

impl DeepMultiDilationNet {
    /// Logits and the mean cross-entropy loss of a batch.
    ///
    /// # Example
    /// ```
    /// use burn::tensor::{Device, Int, Tensor};
    /// use multi_dilation::{ClassificationBatch, DeepMultiDilationNetConfig};
    ///
    /// let device = Device::default();
    /// let net = DeepMultiDilationNetConfig::new().init(&device);
    /// let batch = ClassificationBatch {
    ///     images: Tensor::zeros([2, 1, 28, 28], &device),
    ///     targets: Tensor::<1, Int>::from_ints([3, 7], &device),
    /// };
    /// let (logits, loss) = net.forward_loss(batch);
    /// assert_eq!(logits.dims(), [2, 10]);
    /// assert_eq!(loss.dims(), [1]);
    /// ```
    pub fn forward_loss(&self, batch: ClassificationBatch) -> (Tensor<2>, Tensor<1>) {
        cross_entropy(self.forward(batch.images), batch.targets)
    }
}

fn cross_entropy(logits: Tensor<2>, targets: Tensor<1, Int>) -> (Tensor<2>, Tensor<1>) {
    let loss = CrossEntropyLossConfig::new()
        .init(&logits.device())
        .forward(logits.clone(), targets);
    (logits, loss)
}

#[cfg(feature = "train")]
mod steps {
    use burn::train::{ClassificationOutput, InferenceStep, TrainOutput, TrainStep};

    use crate::deep::DeepMultiDilationNet;
    use crate::net::MultiDilationNet;
    use crate::train::ClassificationBatch;

    /// burn's training steps for a classifier with a `forward_loss`.
    macro_rules! classifier_steps {
        ($net:ty) => {
            impl TrainStep for $net {
                type Input = ClassificationBatch;
                type Output = ClassificationOutput;

                fn step(&self, batch: ClassificationBatch) -> TrainOutput<ClassificationOutput> {
                    let targets = batch.targets.clone();
                    let (output, loss) = self.forward_loss(batch);
                    let output = ClassificationOutput {
                        loss,
                        output,
                        targets,
                    };
                    TrainOutput::new(self, output.loss.backward(), output)
                }
            }

            impl InferenceStep for $net {
                type Input = ClassificationBatch;
                type Output = ClassificationOutput;

                fn step(&self, batch: ClassificationBatch) -> ClassificationOutput {
                    let targets = batch.targets.clone();
                    let (output, loss) = self.forward_loss(batch);
                    ClassificationOutput {
                        loss,
                        output,
                        targets,
                    }
                }
            }
        };
    }

    classifier_steps!(MultiDilationNet);
    classifier_steps!(DeepMultiDilationNet);
}
