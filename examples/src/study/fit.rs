//! Training and evaluation of a study model on scaled digits: Adam with a cosine learning
//! rate, the same budget for every model.

use std::time::Instant;

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Int, Tensor, TensorData};
use multi_dilation::{ConfigError, HeadPool};
use multi_dilation_mnist::batcher::normalize;
use multi_dilation_mnist::rng::SplitMix64;
use multi_dilation_mnist::scale::ScaledDigit;

use super::models::{ModelKind, StudyNet};
use crate::training::at_least_one;

/// The optimisation budget, the same for all models.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Passes over the training digits.
    pub epochs: usize,
    /// Digits per step.
    pub batch_size: usize,
    /// Adam's initial learning rate, annealed to 0 along a cosine.
    pub learning_rate: f64,
}

impl Budget {
    /// Checks the budget: 0 epochs would train nothing and report the untrained models' errors
    /// as results, a batch size of 0 cannot make a batch, and the learning rate must be a
    /// step size. The error names the field and the value.
    ///
    /// # Example
    /// ```
    /// use multi_dilation_examples::study::fit::Budget;
    ///
    /// let budget = Budget { epochs: 0, batch_size: 64, learning_rate: 3e-3 };
    /// let err = budget.validate().unwrap_err();
    /// assert_eq!(err.to_string(), "invalid `epochs` = 0: must be at least 1");
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        at_least_one("epochs", self.epochs)?;
        at_least_one("batch_size", self.batch_size)?;
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return Err(ConfigError::new(
                "learning_rate",
                &self.learning_rate,
                "must be a positive finite number",
            ));
        }
        Ok(())
    }
}

/// Images `[n, 1, side, side]` (normalized as for MNIST) and labels of `digits`.
pub fn batch(digits: &[&ScaledDigit], device: &Device) -> (Tensor<4>, Tensor<1, Int>) {
    let side = digits.first().map_or(28, |d| d.side);
    let pixels: Vec<f32> = digits.iter().flat_map(|d| normalize(&d.image)).collect();
    let labels: Vec<i64> = digits.iter().map(|d| i64::from(d.label)).collect();
    let n = digits.len();
    (
        Tensor::from_data(TensorData::new(pixels, [n, 1, side, side]), device),
        Tensor::from_data(TensorData::new(labels, [n]), device),
    )
}

/// A trained model (on the inference device) and its training time in seconds.
///
/// # Panics
/// On a budget [`Budget::validate`] rejects, with its message; the command line
/// (`scale_study`) validates the budgets before the study starts, so a user's value is an
/// error there, not a panic here.
pub fn train(
    kind: ModelKind,
    head: HeadPool,
    digits: &[ScaledDigit],
    budget: Budget,
    seed: u64,
    device: &Device,
) -> (StudyNet, f64) {
    if let Err(err) = budget.validate() {
        panic!("{err}");
    }
    let autodiff = device.clone().autodiff();
    autodiff.seed(seed);
    let side = digits.first().map_or(28, |d| d.side);
    let mut model = kind.build(side, head, &autodiff);
    let mut optim = AdamConfig::new().init();
    let loss_fn = CrossEntropyLossConfig::new().init(&autodiff);
    let steps_per_epoch = digits.len().div_ceil(budget.batch_size);
    // Read only inside the loop below, which runs only when there is a step: never 0 there.
    let total = budget.epochs * steps_per_epoch;
    let mut rng = SplitMix64::new(seed);
    let start = Instant::now();
    let mut step = 0;
    for _ in 0..budget.epochs {
        let mut order: Vec<&ScaledDigit> = digits.iter().collect();
        rng.shuffle(&mut order);
        for chunk in order.chunks(budget.batch_size) {
            let (images, targets) = batch(chunk, &autodiff);
            let loss = loss_fn.forward(model.forward(images), targets);
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            let progress = step as f64 / total as f64;
            let lr = budget.learning_rate * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
            model = optim.step(lr, model, grads);
            step += 1;
        }
    }
    (model.valid(), start.elapsed().as_secs_f64())
}

/// Fraction of `digits` that `model` classifies right.
pub fn accuracy(model: &StudyNet, digits: &[ScaledDigit], device: &Device) -> f64 {
    let mut correct = 0usize;
    for chunk in digits.chunks(500) {
        let refs: Vec<&ScaledDigit> = chunk.iter().collect();
        let (images, targets) = batch(&refs, device);
        let predicted = model.forward(images).argmax(1).flatten::<1>(0, 1);
        correct += predicted.equal(targets).int().sum().into_scalar::<i64>() as usize;
    }
    // The study never tests on an empty set; were it to, 0 is written rather than a NaN that
    // the JSON report cannot hold.
    correct as f64 / digits.len().max(1) as f64
}
