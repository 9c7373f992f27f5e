//! A scale task at any rank (training, validation and test sets, the test sets one per size),
//! training with the study's budget, and the comparison table.

use std::time::Instant;

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Int, Tensor, TensorData};
use multi_dilation_mnist::rng::SplitMix64;

use super::ScaleNet;
use crate::study::fit::Budget;
use crate::study::report::mean_std;
use crate::study::select::BestCheckpoint;

/// One example: its values (one channel, positions in row-major order) and its class.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The input, `positions` values.
    pub values: Vec<f32>,
    /// The class.
    pub label: usize,
}

/// The sets of a scale task: trained and validated on one band of sizes, tested at several.
#[derive(Debug, Clone)]
pub struct Task {
    /// The spatial extent of every sample (`[length]` or `[depth, height, width]`).
    pub extent: Vec<usize>,
    /// The number of classes.
    pub classes: usize,
    /// The training samples (sizes of the training band).
    pub train: Vec<Sample>,
    /// The validation samples (the same band, other draws): the checkpoint is chosen on them.
    pub valid: Vec<Sample>,
    /// `(size factor, samples)`: the test sets, one per size.
    pub tests: Vec<(f64, Vec<Sample>)>,
}

/// How many samples a task draws, and at which size factors.
#[derive(Debug, Clone, PartialEq)]
pub struct Draws {
    /// The training band of size factors (also the validation band), drawn uniformly.
    pub train_band: (f64, f64),
    /// The test size factors.
    pub test_factors: Vec<f64>,
    /// Training samples.
    pub train: usize,
    /// Validation samples.
    pub valid: usize,
    /// Test samples per size.
    pub test: usize,
}

impl Task {
    /// The task whose samples `make(label, size factor, rng)` draws: classes in turn (so
    /// balanced), each set from its own stream of `seed`.
    pub fn generate(
        extent: Vec<usize>,
        classes: usize,
        draws: &Draws,
        seed: u64,
        make: &dyn Fn(usize, f64, &mut SplitMix64) -> Sample,
    ) -> Task {
        let set = |n: usize, band: (f64, f64), stream: u64| {
            let mut rng = SplitMix64::new(SplitMix64::mix(seed ^ stream));
            (0..n)
                .map(|i| {
                    let factor = rng.uniform(band.0, band.1);
                    make(i % classes, factor, &mut rng)
                })
                .collect()
        };
        Task {
            extent,
            classes,
            train: set(draws.train, draws.train_band, 1),
            valid: set(draws.valid, draws.train_band, 2),
            tests: draws
                .test_factors
                .iter()
                .enumerate()
                .map(|(i, &f)| (f, set(draws.test, (f, f), 3 + i as u64)))
                .collect(),
        }
    }
}

/// One trained model's numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The model's name.
    pub model: String,
    /// Its trainable parameters.
    pub parameters: usize,
    /// The training seed.
    pub seed: u64,
    /// Validation accuracy (%) of the tested checkpoint.
    pub valid_accuracy: f64,
    /// `(size factor, test accuracy %)`.
    pub test_accuracy: Vec<(f64, f64)>,
    /// Training time in seconds.
    pub seconds: f64,
}

/// `samples` as a batch `[n, 1, ..extent]` and its labels.
fn batch<const D: usize>(
    samples: &[&Sample],
    extent: &[usize],
    device: &Device,
) -> (Tensor<D>, Tensor<1, Int>) {
    let mut shape = vec![samples.len(), 1];
    shape.extend_from_slice(extent);
    assert_eq!(shape.len(), D, "a sample's extent has {} axes", D - 2);
    let values: Vec<f32> = samples
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .collect();
    let labels: Vec<i64> = samples.iter().map(|s| s.label as i64).collect();
    (
        Tensor::from_data(TensorData::new(values, shape), device),
        Tensor::from_data(TensorData::new(labels, [samples.len()]), device),
    )
}

/// Accuracy (%) of `net` on `samples`.
pub fn accuracy<const D: usize>(
    net: &ScaleNet<D>,
    samples: &[Sample],
    extent: &[usize],
    device: &Device,
) -> f64 {
    let mut correct = 0usize;
    for chunk in samples.chunks(200) {
        let refs: Vec<&Sample> = chunk.iter().collect();
        let (x, labels) = batch::<D>(&refs, extent, device);
        let predicted = net.forward(x).argmax(1).flatten::<1>(0, 1);
        correct += predicted.equal(labels).int().sum().into_scalar::<i64>() as usize;
    }
    100.0 * correct as f64 / samples.len().max(1) as f64
}

/// Trains the network `build` makes (on the autodiff device it is given) on `task` with
/// `seed` (initialisation and data order): Adam, the learning rate annealed to 0 along a
/// cosine; the checkpoint with the best validation accuracy is tested at every size.
///
/// # Panics
/// On a budget [`Budget::validate`] rejects, or a task without training or validation samples.
pub fn fit<const D: usize>(
    model: &str,
    build: &dyn Fn(&Device) -> ScaleNet<D>,
    task: &Task,
    budget: Budget,
    seed: u64,
    device: &Device,
) -> Outcome {
    if let Err(err) = budget.validate() {
        panic!("{err}");
    }
    assert!(
        !task.train.is_empty() && !task.valid.is_empty(),
        "a task needs training and validation samples"
    );
    let autodiff = device.clone().autodiff();
    autodiff.seed(seed);
    let mut net = build(&autodiff);
    let parameters = net.num_params();
    let mut optim = AdamConfig::new().init();
    let loss_fn = CrossEntropyLossConfig::new().init(&autodiff);
    let total = budget.epochs * task.train.len().div_ceil(budget.batch_size);
    let mut rng = SplitMix64::new(seed);
    let mut best = BestCheckpoint::new();
    let mut step = 0;
    let start = Instant::now();
    for _ in 0..budget.epochs {
        let mut order: Vec<&Sample> = task.train.iter().collect();
        rng.shuffle(&mut order);
        for chunk in order.chunks(budget.batch_size) {
            let (x, labels) = batch::<D>(chunk, &task.extent, &autodiff);
            let loss = loss_fn.forward(net.forward(x), labels);
            let grads = GradientsParams::from_grads(loss.backward(), &net);
            let progress = step as f64 / total as f64;
            let lr = budget.learning_rate * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
            net = optim.step(lr, net, grads);
            step += 1;
        }
        let inference = net.valid();
        let error = 100.0 - accuracy(&inference, &task.valid, &task.extent, device);
        best.offer(error, inference);
    }
    let seconds = start.elapsed().as_secs_f64();
    let (_, tested) = best.take().expect("at least one epoch ran");
    Outcome {
        model: model.to_string(),
        parameters,
        seed,
        valid_accuracy: accuracy(&tested, &task.valid, &task.extent, device),
        test_accuracy: task
            .tests
            .iter()
            .map(|(factor, samples)| (*factor, accuracy(&tested, samples, &task.extent, device)))
            .collect(),
        seconds,
    }
}

/// A model of a comparison: its name and how to build it on a device.
pub type Candidate<'a, const D: usize> = (&'a str, &'a dyn Fn(&Device) -> ScaleNet<D>);

/// Trains every model of `models` with every seed of `seeds` (seed-major, so an interrupted
/// run has every model at the seeds it reached), printing each outcome as it comes.
pub fn compare<const D: usize>(
    task: &Task,
    models: &[Candidate<'_, D>],
    seeds: &[u64],
    budget: Budget,
    device: &Device,
) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    for &seed in seeds {
        for (name, build) in models {
            let outcome = fit(name, *build, task, budget, seed, device);
            let tests: Vec<String> = outcome
                .test_accuracy
                .iter()
                .map(|(f, a)| format!("{f}x {a:.1}"))
                .collect();
            println!(
                "{name}, seed {seed}: validation {:.1}%, test {} ({:.0} s)",
                outcome.valid_accuracy,
                tests.join(", "),
                outcome.seconds
            );
            outcomes.push(outcome);
        }
    }
    outcomes
}

/// A markdown table: per model (in first-seen order) its parameters, seeds, validation
/// accuracy and test accuracy at each size, as mean ± sd over seeds.
pub fn table(outcomes: &[Outcome]) -> String {
    let mut models: Vec<&str> = Vec::new();
    for o in outcomes {
        if !models.contains(&o.model.as_str()) {
            models.push(&o.model);
        }
    }
    let factors: Vec<f64> = outcomes
        .first()
        .map(|o| o.test_accuracy.iter().map(|(f, _)| *f).collect())
        .unwrap_or_default();
    let mut md = String::from("| model | params | seeds | validation % |");
    for f in &factors {
        md.push_str(&format!(" {f}x |"));
    }
    md.push_str(&format!(
        "\n|---|---|---|---|{}\n",
        "---|".repeat(factors.len())
    ));
    for model in models {
        let runs: Vec<&Outcome> = outcomes.iter().filter(|o| o.model == model).collect();
        let (v, vs) = mean_std(&runs.iter().map(|o| o.valid_accuracy).collect::<Vec<_>>());
        md.push_str(&format!(
            "| {model} | {} | {} | {v:.1} ± {vs:.1} |",
            runs[0].parameters,
            runs.len()
        ));
        for (i, _) in factors.iter().enumerate() {
            let at: Vec<f64> = runs.iter().map(|o| o.test_accuracy[i].1).collect();
            let (m, s) = mean_std(&at);
            md.push_str(&format!(" {m:.1} ± {s:.1} |"));
        }
        md.push('\n');
    }
    md
}
