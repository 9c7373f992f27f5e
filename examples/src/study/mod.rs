//! The scale-robustness study, second edition: does sharing one kernel across dilations help
//! with digits of other sizes? The models of [`models::ModelKind`], one skeleton and one
//! budget, trained on MNIST-scale realisations and on the scale-generalisation set (trained
//! small, tested up to three times larger).

pub mod fit;
pub mod models;
pub mod plots;
pub mod report;

use std::path::Path;
use std::time::Instant;

use burn::data::dataset::Dataset;
use burn::tensor::Device;
use multi_dilation::HeadPool;
use multi_dilation_mnist::scale::{
    self, ScaledDigit, generalisation_factors, mnist_scale_sized, scale_generalisation,
};
use multi_dilation_mnist::{MnistDataset, MnistItem, SyntheticDigits};

use fit::{Budget, accuracy, train};
use models::{ModelKind, SharedVariant};
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
    /// Training digits of the scale-generalisation set.
    pub generalisation_train: usize,
    /// Test digits per scale factor of the scale-generalisation set.
    pub generalisation_test: usize,
    /// Budget on the scale-generalisation set.
    pub generalisation_budget: Budget,
    /// Canvas side of the scale-generalisation set.
    pub canvas: usize,
    /// Scale of the training digits of the scale-generalisation set (of the 28x28 original).
    pub train_scale: f64,
    /// The skeleton's head pooling.
    pub head: HeadPool,
}

impl StudyConfig {
    /// The full study: three realisations of MNIST-scale (seeds 0 to 2, 10k/2k/50k), 5
    /// epochs each; the scale-generalisation set with 10k training digits at scale 0.45 on a
    /// 40x40 canvas, 5 epochs.
    pub fn full() -> Self {
        let budget = Budget {
            epochs: 5,
            batch_size: 64,
            learning_rate: 3e-3,
        };
        Self {
            realisations: (0..3).collect(),
            sizes: scale::SPLIT_SIZES,
            budget,
            generalisation_train: 10_000,
            generalisation_test: 2_000,
            generalisation_budget: budget,
            canvas: 40,
            train_scale: 0.45,
            head: HeadPool::GlobalMax,
        }
    }

    /// `--quick`: one realisation with 3k training and 5k test digits, 2 epochs; a smaller
    /// scale-generalisation set (under 10 minutes on 2 cores).
    pub fn quick() -> Self {
        let budget = Budget {
            epochs: 2,
            ..Self::full().budget
        };
        Self {
            realisations: vec![0],
            sizes: [3_000, 500, 5_000],
            budget,
            generalisation_train: 3_000,
            generalisation_test: 500,
            generalisation_budget: budget,
            ..Self::full()
        }
    }

    /// A run of seconds for tests: tiny splits, one epoch.
    pub fn tiny() -> Self {
        let budget = Budget {
            epochs: 1,
            batch_size: 32,
            learning_rate: 3e-3,
        };
        Self {
            realisations: vec![0, 1],
            sizes: [300, 50, 300],
            budget,
            generalisation_train: 200,
            generalisation_test: 30,
            generalisation_budget: budget,
            canvas: 40,
            train_scale: 0.45,
            head: HeadPool::GlobalMax,
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

/// Runs the study, writes `results.md`, `results.json` and the plots into `out` (the table
/// and JSON again after every model, so an interrupted run leaves what it has), and returns
/// the results. Progress goes to stdout, one line per trained model.
///
/// Order: every model of [`ModelKind::FIRST`] on each realisation; then the independent twin
/// of the shared model with the lowest mean validation error, on the same realisations; then
/// every model on the scale-generalisation set.
pub fn run(
    config: &StudyConfig,
    digits: &StudyDigits,
    out: &Path,
    device: &Device,
) -> Result<Vec<ModelResult>, Box<dyn std::error::Error>> {
    config.budget.validate().map_err(|e| e.nested("budget"))?;
    config
        .generalisation_budget
        .validate()
        .map_err(|e| e.nested("generalisation_budget"))?;
    std::fs::create_dir_all(out)?;
    let start = Instant::now();
    let mut kinds = ModelKind::FIRST.to_vec();
    let mut results: Vec<ModelResult> = kinds.iter().map(|&k| ModelResult::new(k)).collect();
    let splits = |seed: u64| {
        let splits = mnist_scale_sized(&digits.all, seed, config.sizes);
        println!(
            "MNIST-scale realisation {seed}: {} train, {} validation, {} test (checksum of test {})",
            splits.train.len(),
            splits.valid.len(),
            splits.test.len(),
            &scale::checksum(&splits.test)[..16]
        );
        splits
    };
    let fit_all = |kinds: &[ModelKind], results: &mut [ModelResult], seed: u64| {
        let splits = splits(seed);
        for (kind, result) in kinds.iter().zip(results) {
            let (model, seconds) = train(
                *kind,
                config.head,
                &splits.train,
                config.budget,
                seed,
                device,
            );
            let error = 100.0 * (1.0 - accuracy(&model, &splits.test, device));
            let valid_error = 100.0 * (1.0 - accuracy(&model, &splits.valid, device));
            (result.conv_parameters, result.parameters) = model.parameter_counts();
            result.test_errors.push(error);
            result.validation_errors.push(valid_error);
            result.train_seconds.push(seconds);
            println!(
                "  {:<52} {:>6} params  test error {error:5.2}%  validation error {valid_error:5.2}%  trained in {seconds:.0} s",
                kind.label(),
                result.parameters,
            );
        }
    };
    for &seed in &config.realisations {
        fit_all(&kinds, &mut results, seed);
        write_tables(out, &results)?;
    }
    let best = best_shared(&kinds, &results);
    println!(
        "best shared model: {}; training its twin",
        best.kind().label()
    );
    let twin = ModelKind::Twin(best);
    let mut twin_result = vec![ModelResult::new(twin)];
    for &seed in &config.realisations {
        fit_all(&[twin], &mut twin_result, seed);
    }
    kinds.push(twin);
    results.extend(twin_result);
    write_tables(out, &results)?;

    let (train_digits, test_digits) = digits.all.split_at(digits.train_count);
    let generalisation = scale_generalisation(
        &train_digits[..config.generalisation_train.min(train_digits.len())],
        &test_digits[..config.generalisation_test.min(test_digits.len())],
        config.canvas,
        config.train_scale,
        &generalisation_factors(),
    );
    println!(
        "scale generalisation: {} training digits at scale {} on {}x{}, {} test digits at each of {} scales",
        generalisation.train.len(),
        config.train_scale,
        config.canvas,
        config.canvas,
        config.generalisation_test,
        generalisation.test.len()
    );
    for (index, kind) in kinds.iter().enumerate() {
        let result = &mut results[index];
        let (model, seconds) = train(
            *kind,
            config.head,
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
            .map(|(f, a)| format!("{f:.2}:{a:.0}"))
            .collect();
        println!(
            "  {:<52} trained in {seconds:.0} s; accuracy by factor {}",
            kind.label(),
            summary.join(" ")
        );
        write_tables(out, &results)?;
    }

    let table = report::markdown(&results);
    let minutes = start.elapsed().as_secs_f64() / 60.0;
    let text = format!(
        "{table}\nData: {}. Head pooling: {:?}. Budget: {} epochs, batch {}, Adam at {} (cosine); scale generalisation: {} training digits at scale {} on {}x{}, {} epochs. {:.1} min on {:?}.\n",
        digits.source,
        config.head,
        config.budget.epochs,
        config.budget.batch_size,
        config.budget.learning_rate,
        config.generalisation_train,
        config.train_scale,
        config.canvas,
        config.canvas,
        config.generalisation_budget.epochs,
        minutes,
        device
    );
    std::fs::write(out.join("results.md"), &text)?;
    let caption = format!(
        "Trained at scale {}, tested enlarged ({}x{} canvas)",
        config.train_scale, config.canvas, config.canvas
    );
    plots::write(out, &results, &caption)?;
    println!("\n{text}");
    Ok(results)
}

/// The shared variant with the lowest mean MNIST-scale validation error (the test set plays no
/// part in the choice).
fn best_shared(kinds: &[ModelKind], results: &[ModelResult]) -> SharedVariant {
    let error = |variant: SharedVariant| {
        kinds
            .iter()
            .position(|&k| k == variant.kind())
            .map_or(f64::INFINITY, |i| {
                report::mean_std(&results[i].test_errors).0
            })
    };
    ModelKind::SHARED
        .into_iter()
        .min_by(|a, b| error(*a).total_cmp(&error(*b)))
        .expect("there are shared variants")
}

/// The table and the JSON of what is measured so far.
fn write_tables(out: &Path, results: &[ModelResult]) -> std::io::Result<()> {
    std::fs::write(out.join("results.md"), report::markdown(results))?;
    std::fs::write(
        out.join("results.json"),
        serde_json::to_string_pretty(results).map_err(std::io::Error::other)?,
    )
}
