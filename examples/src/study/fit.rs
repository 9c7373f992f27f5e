//! Training and evaluation of a study model: Adam with a cosine learning rate, the same budget
//! for every model, the validation error after every epoch, and the checkpoint with the lowest
//! validation error kept for testing.

use std::time::Instant;

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Int, Tensor, TensorData};
use multi_dilation::ConfigError;
use multi_dilation_mnist::batcher::normalize;
use multi_dilation_mnist::rng::SplitMix64;
use multi_dilation_mnist::scale::ScaledDigit;

use super::models::{ModelSpec, StudyNet};
use super::select::BestCheckpoint;
use super::sets::TrainingSet;
use crate::training::at_least_one;

/// The optimisation budget, the same for all models.
#[derive(Debug, Clone, Copy, PartialEq)]
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

/// A trained model and how it got there.
pub struct Fitted {
    /// The checkpoint with the lowest validation error (on the inference device).
    pub model: StudyNet,
    /// Validation error (%) after each epoch.
    pub curve: Vec<f64>,
    /// The epoch (from 1) of [`model`](Self::model).
    pub best_epoch: usize,
    /// Training time in seconds, validation passes left out.
    pub seconds: f64,
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

/// Trains `spec` on `set` with `seed` (initialisation, data order and augmentation), measures
/// the error on `valid` after every epoch, and returns the checkpoint with the lowest one.
///
/// # Panics
/// On a budget [`Budget::validate`] rejects, with its message; the command line
/// (`scale_study`) validates the budgets before the study starts, so a user's value is an
/// error there, not a panic here. On an empty `set` or `valid`.
pub fn train(
    spec: &ModelSpec,
    set: &TrainingSet,
    valid: &[ScaledDigit],
    budget: Budget,
    seed: u64,
    device: &Device,
) -> Fitted {
    if let Err(err) = budget.validate() {
        panic!("{err}");
    }
    assert!(
        !set.digits.is_empty() && !valid.is_empty(),
        "training needs digits to train and validate on"
    );
    let autodiff = device.clone().autodiff();
    autodiff.seed(seed);
    let mut model = spec.build(set.digits[0].side, &autodiff);
    let mut optim = AdamConfig::new().init();
    let loss_fn = CrossEntropyLossConfig::new().init(&autodiff);
    let total = budget.epochs * set.digits.len().div_ceil(budget.batch_size);
    let mut order_rng = SplitMix64::new(seed);
    // A stream of its own, so that the augmented model sees its digits in the same order as
    // the others.
    let mut augment_rng = SplitMix64::new(seed ^ 0xA5A5_5A5A_0F0F_F0F0);
    let mut best = BestCheckpoint::new();
    let mut curve = Vec::with_capacity(budget.epochs);
    let mut seconds = 0.0;
    let mut step = 0;
    for _ in 0..budget.epochs {
        let start = Instant::now();
        let augmented;
        let digits = if spec.augmented() {
            augmented = set.augmented(&mut augment_rng);
            &augmented
        } else {
            &set.digits
        };
        let mut order: Vec<&ScaledDigit> = digits.iter().collect();
        order_rng.shuffle(&mut order);
        for chunk in order.chunks(budget.batch_size) {
            let (images, targets) = batch(chunk, &autodiff);
            let loss = loss_fn.forward(model.forward(images), targets);
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            let progress = step as f64 / total as f64;
            let lr = budget.learning_rate * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
            model = optim.step(lr, model, grads);
            step += 1;
        }
        seconds += start.elapsed().as_secs_f64();
        let inference = model.valid();
        let error = 100.0 * (1.0 - accuracy(&inference, valid, device));
        curve.push(error);
        best.offer(error, inference);
    }
    let (best_epoch, model) = best.take().expect("at least one epoch ran");
    Fitted {
        model,
        curve,
        best_epoch,
        seconds,
    }
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
