//! The study's data: MNIST-scale realisations and the scale-generalisation sets, each with a
//! validation split apart from its test digits, built from MNIST (or built-in digits).

use std::path::Path;

use burn::data::dataset::Dataset;
use multi_dilation_mnist::rng::SplitMix64;
use multi_dilation_mnist::scale::{self, ScaledDigit, mnist_scale_sized, rescale};
use multi_dilation_mnist::{MnistDataset, MnistItem, SyntheticDigits};

/// Training digits with the 28x28 originals they were made from, so that a model trained with
/// scale augmentation can draw each digit at a new scale every epoch.
#[derive(Debug, Clone)]
pub struct TrainingSet {
    /// The digits as the protocol gives them.
    pub digits: Vec<ScaledDigit>,
    /// `originals[i]` is the 28x28 digit `digits[i]` was rescaled from.
    pub originals: Vec<MnistItem>,
    /// The range of scales (of the 28x28 original) that augmentation draws from uniformly:
    /// the test range.
    pub augment_range: (f64, f64),
}

impl TrainingSet {
    /// The digits of one epoch with augmentation: each original rescaled by a factor drawn
    /// uniformly from [`augment_range`](Self::augment_range), on the same canvas.
    ///
    /// # Example
    /// ```
    /// use multi_dilation_examples::study::sets::TrainingSet;
    /// use multi_dilation_mnist::MnistItem;
    /// use multi_dilation_mnist::rng::SplitMix64;
    /// use multi_dilation_mnist::scale::ScaledDigit;
    ///
    /// let original = MnistItem { image: vec![0; 28 * 28], label: 3 };
    /// let digit = ScaledDigit { image: vec![0; 40 * 40], side: 40, label: 3, scale: 0.45, source: 0 };
    /// let set = TrainingSet { digits: vec![digit], originals: vec![original], augment_range: (0.45, 1.35) };
    /// let epoch = set.augmented(&mut SplitMix64::new(1));
    /// assert_eq!(epoch[0].side, 40);
    /// assert!((0.45..1.35).contains(&epoch[0].scale));
    /// ```
    pub fn augmented(&self, rng: &mut SplitMix64) -> Vec<ScaledDigit> {
        let (low, high) = self.augment_range;
        self.digits
            .iter()
            .zip(&self.originals)
            .map(|(digit, original)| {
                let scale = rng.uniform(low, high);
                ScaledDigit {
                    image: rescale(&original.image, 28, scale, digit.side),
                    scale,
                    ..digit.clone()
                }
            })
            .collect()
    }
}

/// One MNIST-scale realisation.
#[derive(Debug, Clone)]
pub struct MnistScaleSets {
    /// Training digits.
    pub train: TrainingSet,
    /// Validation digits: every choice is made on these.
    pub valid: Vec<ScaledDigit>,
    /// Test digits: reported, never chosen on.
    pub test: Vec<ScaledDigit>,
}

/// The scale-generalisation sets: training digits at one scale; validation and test digits at
/// that scale times each factor. The validation digits come from MNIST's training set (apart
/// from the training digits), the test digits from its test set.
#[derive(Debug, Clone)]
pub struct GeneralisationSets {
    /// Training digits, at the training scale.
    pub train: TrainingSet,
    /// Validation digits per factor (relative to the training scale).
    pub valid: Vec<(f64, Vec<ScaledDigit>)>,
    /// Test digits per factor.
    pub test: Vec<(f64, Vec<ScaledDigit>)>,
}

/// Sizes and scales of the study's sets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SetSizes {
    /// MNIST-scale split sizes: train, validation, test.
    pub mnist_scale: [usize; 3],
    /// Scale generalisation: training digits, validation digits per factor, test digits per
    /// factor.
    pub generalisation: [usize; 3],
    /// Canvas side of the scale-generalisation sets.
    pub canvas: usize,
    /// Scale of the scale-generalisation training digits (of the 28x28 original).
    pub train_scale: f64,
}

/// Where the study's sets come from. The study reads its data through this trait only, so a
/// test can hand it sets whose test labels were permuted and check that no choice changes.
pub trait StudySets {
    /// MNIST-scale realisation `seed`.
    fn mnist_scale(&self, seed: u64, sizes: &SetSizes) -> MnistScaleSets;
    /// The scale-generalisation sets at `factors`.
    fn generalisation(&self, sizes: &SetSizes, factors: &[f64]) -> GeneralisationSets;
    /// Where the digits come from, for the report.
    fn source(&self) -> String;
    /// What identifies the digits across machines (their kind and count, not their folder):
    /// part of the settings a stored result must match.
    fn fingerprint(&self) -> String;
}

/// MNIST's 60k training then 10k test digits, or built-in digits when MNIST is unavailable.
pub struct StudyDigits {
    /// The 70k (or fewer built-in) digits, training ones first.
    pub all: Vec<MnistItem>,
    /// How many of `all` come from the training set.
    pub train_count: usize,
    /// Where they come from, for the report.
    pub source: String,
}

impl StudyDigits {
    /// MNIST from `dir`.
    pub fn mnist(dir: &Path) -> Result<Self, Box<dyn std::error::Error>> {
        let train = MnistDataset::train(dir)?;
        let test = MnistDataset::test(dir)?;
        let mut all: Vec<MnistItem> = train.iter().collect::<Result<_, _>>()?;
        let train_count = all.len();
        all.extend(test.iter().collect::<Result<Vec<_>, _>>()?);
        Ok(Self {
            all,
            train_count,
            source: format!("MNIST ({})", dir.display()),
        })
    }

    /// `count` built-in procedural digits (no download): the clean ones, which the study
    /// rescales itself.
    pub fn builtin(count: usize) -> Self {
        let all: Vec<MnistItem> = SyntheticDigits::clean(count, 5)
            .iter()
            .map(|item| item.expect("built-in digits are generated, never missing"))
            .collect();
        Self {
            train_count: count * 6 / 7,
            all,
            source: "built-in procedural digits".into(),
        }
    }
}

impl StudySets for StudyDigits {
    fn mnist_scale(&self, seed: u64, sizes: &SetSizes) -> MnistScaleSets {
        let splits = mnist_scale_sized(&self.all, seed, sizes.mnist_scale);
        println!(
            "MNIST-scale realisation {seed}: {} train, {} validation, {} test (checksum of test {})",
            splits.train.len(),
            splits.valid.len(),
            splits.test.len(),
            &scale::checksum(&splits.test)[..16]
        );
        let originals = splits
            .train
            .iter()
            .map(|d| self.all[d.source].clone())
            .collect();
        MnistScaleSets {
            train: TrainingSet {
                digits: splits.train,
                originals,
                augment_range: (scale::MIN_SCALE, scale::MAX_SCALE),
            },
            valid: splits.valid,
            test: splits.test,
        }
    }

    fn generalisation(&self, sizes: &SetSizes, factors: &[f64]) -> GeneralisationSets {
        let [train_count, valid_count, test_count] = sizes.generalisation;
        let (train_digits, test_digits) = self.all.split_at(self.train_count);
        let train_end = train_count.min(train_digits.len());
        let valid_end = (train_end + valid_count).min(train_digits.len());
        let train = &train_digits[..train_end];
        let valid = &train_digits[train_end..valid_end];
        let test = &test_digits[..test_count.min(test_digits.len())];
        let place = |digit: &MnistItem, scale: f64| ScaledDigit {
            image: rescale(&digit.image, 28, scale, sizes.canvas),
            side: sizes.canvas,
            label: digit.label,
            scale,
            source: 0,
        };
        let at_factors = |digits: &[MnistItem]| -> Vec<(f64, Vec<ScaledDigit>)> {
            factors
                .iter()
                .map(|&f| {
                    let placed = digits
                        .iter()
                        .map(|d| place(d, sizes.train_scale * f))
                        .collect();
                    (f, placed)
                })
                .collect()
        };
        let sets = GeneralisationSets {
            train: TrainingSet {
                digits: train.iter().map(|d| place(d, sizes.train_scale)).collect(),
                originals: train.to_vec(),
                augment_range: (
                    sizes.train_scale * factors.first().copied().unwrap_or(1.0),
                    sizes.train_scale * factors.last().copied().unwrap_or(1.0),
                ),
            },
            valid: at_factors(valid),
            test: at_factors(test),
        };
        println!(
            "scale generalisation: {} training digits at scale {} on {}x{}; {} validation (from the training set) and {} test digits at each of {} factors",
            sets.train.digits.len(),
            sizes.train_scale,
            sizes.canvas,
            sizes.canvas,
            valid.len(),
            test.len(),
            factors.len()
        );
        sets
    }

    fn source(&self) -> String {
        self.source.clone()
    }

    fn fingerprint(&self) -> String {
        let kind = if self.source.starts_with("MNIST") {
            "MNIST"
        } else {
            "built-in digits"
        };
        format!(
            "{kind}, {} digits ({} for training)",
            self.all.len(),
            self.train_count
        )
    }
}
