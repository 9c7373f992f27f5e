//! The scale-robustness study: does sharing one kernel across dilations help with digits of
//! other sizes? Four models ([`models::ModelKind`]) trained with the same budget on
//! MNIST-scale realisations and on the scale-generalisation set.

pub mod fit;
pub mod models;
pub mod plots;
pub mod report;

use std::path::Path;
use std::time::Instant;

use burn::data::dataset::Dataset;
use burn::tensor::Device;
use multi_dilation_mnist::scale::{
    self, ScaledDigit, generalisation_factors, mnist_scale_sized, scale_generalisation,
};
use multi_dilation_mnist::{MnistDataset, MnistItem, SyntheticDigits};

use fit::{Budget, accuracy, train};
use models::ModelKind;
use report::ModelResult;

/// What to run.
#[derive(Debug, Clone)]
pub struct StudyConfig {
    /// MNIST-scale realisations (seeds).
    pub realisations: Vec<u64>,
    /// Split sizes (train, validation, test) of MNIST-scale.
    pub sizes: [usize; 3],
    /// Budget on MNIST-scale.
    pub budget: Budget,
    /// Channels per branch of (a); the other models follow from it.
    pub channels: usize,
    /// Training digits of the scale-generalisation set.
    pub generalisation_train: usize,
    /// Test digits per scale factor of the scale-generalisation set.
    pub generalisation_test: usize,
    /// Budget on the scale-generalisation set.
    pub generalisation_budget: Budget,
}

impl StudyConfig {
    /// The full study: six realisations of MNIST-scale (seeds 0 to 5, 10k/2k/50k), 5 epochs
    /// each; the scale-generalisation set with 10k training digits, 2 epochs.
    pub fn full() -> Self {
        Self {
            realisations: (0..6).collect(),
            sizes: scale::SPLIT_SIZES,
            budget: Budget {
                epochs: 5,
                batch_size: 32,
                learning_rate: 3e-3,
            },
            channels: 16,
            generalisation_train: 10_000,
            generalisation_test: 1_000,
            generalisation_budget: Budget {
                epochs: 2,
                batch_size: 32,
                learning_rate: 3e-3,
            },
        }
    }

    /// `--quick`: one realisation and fewer epochs and digits (under 10 minutes on 2 cores).
    pub fn quick() -> Self {
        Self {
            realisations: vec![0],
            budget: Budget {
                epochs: 2,
                ..Self::full().budget
            },
            generalisation_train: 5_000,
            generalisation_test: 500,
            generalisation_budget: Budget {
                epochs: 1,
                ..Self::full().generalisation_budget
            },
            ..Self::full()
        }
    }

    /// A run of seconds for tests: tiny splits, one epoch.
    pub fn tiny() -> Self {
        Self {
            realisations: vec![0, 1],
            sizes: [300, 50, 300],
            budget: Budget {
                epochs: 1,
                batch_size: 32,
                learning_rate: 3e-3,
            },
            channels: 4,
            generalisation_train: 200,
            generalisation_test: 30,
            generalisation_budget: Budget {
                epochs: 1,
                batch_size: 32,
                learning_rate: 3e-3,
            },
        }
    }
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

/// Runs the study, writes `results.md`, `results.json` and the plots into `out`, and returns
/// the results. Progress goes to stdout, one line per trained model.
pub fn run(
    config: &StudyConfig,
    digits: &StudyDigits,
    out: &Path,
    device: &Device,
) -> Result<Vec<ModelResult>, Box<dyn std::error::Error>> {
    std::fs::create_dir_all(out)?;
    let start = Instant::now();
    let mut results: Vec<ModelResult> = ModelKind::ALL
        .iter()
        .map(|&k| ModelResult::new(k))
        .collect();

    for &seed in &config.realisations {
        let splits = mnist_scale_sized(&digits.all, seed, config.sizes);
        println!(
            "MNIST-scale realisation {seed}: {} train, {} validation, {} test (checksum of test {})",
            splits.train.len(),
            splits.valid.len(),
            splits.test.len(),
            &scale::checksum(&splits.test)[..16]
        );
        for (kind, result) in ModelKind::ALL.iter().zip(&mut results) {
            let (model, seconds) = train(
                *kind,
                config.channels,
                &splits.train,
                config.budget,
                seed,
                device,
            );
            let error = 100.0 * (1.0 - accuracy(&model, &splits.test, device));
            let valid_error = 100.0 * (1.0 - accuracy(&model, &splits.valid, device));
            (result.conv_parameters, result.parameters) = model.parameter_counts();
            result.test_errors.push(error);
            result.train_seconds.push(seconds);
            println!(
                "  {:<34} test error {error:5.2}%  validation error {valid_error:5.2}%  trained in {seconds:.0} s",
                kind.label()
            );
        }
    }

    let (train_digits, test_digits) = digits.all.split_at(digits.train_count);
    let generalisation = scale_generalisation(
        &train_digits[..config.generalisation_train.min(train_digits.len())],
        &test_digits[..config.generalisation_test.min(test_digits.len())],
        56,
        &generalisation_factors(),
    );
    println!(
        "scale generalisation: {} training digits at scale 1 on 56x56, {} test digits at each of {} scales",
        generalisation.train.len(),
        config.generalisation_test,
        generalisation.test.len()
    );
    for (kind, result) in ModelKind::ALL.iter().zip(&mut results) {
        let (model, seconds) = train(
            *kind,
            config.channels,
            &generalisation.train,
            config.generalisation_budget,
            0,
            device,
        );
        result.generalisation = generalisation
            .test
            .iter()
            .map(|(factor, test): &(f64, Vec<ScaledDigit>)| {
                (*factor, 100.0 * accuracy(&model, test, device))
            })
            .collect();
        let summary: Vec<String> = result
            .generalisation
            .iter()
            .map(|(f, a)| format!("{f:.1}:{a:.0}"))
            .collect();
        println!(
            "  {:<34} trained in {seconds:.0} s; accuracy by scale {}",
            kind.label(),
            summary.join(" ")
        );
    }

    let table = report::markdown(&results);
    let minutes = start.elapsed().as_secs_f64() / 60.0;
    let text = format!(
        "{table}\nData: {}. Budget: {} epochs, batch {}, Adam at {} (cosine); scale generalisation {} epochs. {:.1} min on {:?}.\n",
        digits.source,
        config.budget.epochs,
        config.budget.batch_size,
        config.budget.learning_rate,
        config.generalisation_budget.epochs,
        minutes,
        device
    );
    std::fs::write(out.join("results.md"), &text)?;
    std::fs::write(
        out.join("results.json"),
        serde_json::to_string_pretty(&results)?,
    )?;
    plots::write(out, &results)?;
    println!("\n{text}");
    Ok(results)
}
