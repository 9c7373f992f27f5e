//! Training a classifier ([`Classifier`]: the one-layer `MultiDilationNet` or the deep
//! `DeepMultiDilationNet`) on digits with burn's `SupervisedTraining` and `Learner`:
//! checkpoints every epoch, resume, and atomic saving of the model and its config.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::config::Config;
use burn::data::dataloader::DataLoaderBuilder;
use burn::lr_scheduler::cosine::CosineAnnealingLrSchedulerConfig;
use burn::module::Module;
use burn::optim::AdamConfig;
use burn::tensor::Device;
use burn::train::metric::{AccuracyMetric, LossMetric};
use burn::train::{Learner, SupervisedTraining};
use multi_dilation::{ClassificationBatch, MultiDilationNetConfig};
use multi_dilation_mnist::{MnistBatcher, ShiftingBatcher, download};

use crate::classifier::{Classifier, ModelConfig};
use crate::data::{DataChoice, Splits};
use crate::renderer::EpochLines;

/// Default number of epochs.
pub const DEFAULT_EPOCHS: usize = 6;
/// Default batch size.
pub const DEFAULT_BATCH_SIZE: usize = 64;
/// Default initial learning rate.
pub const DEFAULT_LEARNING_RATE: f64 = 3e-3;
/// Default seed.
pub const DEFAULT_SEED: u64 = 42;

/// Everything a training run needs besides the data; saved as `config.json` next to the model
/// so `eval` and `predict` can rebuild it.
#[derive(Config, Debug)]
pub struct TrainingConfig {
    /// The classifier.
    #[config(default = "ModelConfig::Single(MultiDilationNetConfig::new())")]
    pub model: ModelConfig,
    /// Epochs over the training set.
    #[config(default = "DEFAULT_EPOCHS")]
    pub epochs: usize,
    /// Images per step.
    #[config(default = "DEFAULT_BATCH_SIZE")]
    pub batch_size: usize,
    /// Adam's initial learning rate, annealed to zero along a cosine over the whole run.
    #[config(default = "DEFAULT_LEARNING_RATE")]
    pub learning_rate: f64,
    /// Seed of the initialization and the shuffling.
    #[config(default = "DEFAULT_SEED")]
    pub seed: u64,
    /// Training digits are shifted by up to this many pixels per axis (0: no augmentation).
    #[config(default = 0)]
    pub max_shift: usize,
    /// The data the model was trained on.
    #[config(default = "DataChoice::Auto")]
    pub data: DataChoice,
}

/// File names inside the output folder.
pub mod artifacts {
    /// The trained model (burnpack).
    pub const MODEL: &str = "model.bpk";
    /// The [`TrainingConfig`](super::TrainingConfig) as JSON.
    pub const CONFIG: &str = "config.json";
    /// burn's checkpoint folder.
    pub const CHECKPOINTS: &str = "checkpoint";
}

/// What a run gives back.
pub struct Trained {
    /// The model on the inference device.
    pub model: Classifier,
    /// The epoch training started at (1, or the one after the resumed checkpoint).
    pub started_at_epoch: usize,
    /// Wall time of the training, validation included.
    pub seconds: f64,
    /// Training images processed per second (all epochs run, validation time included).
    pub images_per_second: f64,
}

/// The newest epoch with a complete checkpoint (model, optimizer and scheduler) in `dir`.
pub fn last_checkpoint(dir: &Path) -> Option<usize> {
    let folder = dir.join(artifacts::CHECKPOINTS);
    let epochs = std::fs::read_dir(&folder).ok()?.filter_map(|entry| {
        let name = entry.ok()?.file_name().into_string().ok()?;
        name.strip_prefix("model-")?
            .strip_suffix(".bpk")?
            .parse::<usize>()
            .ok()
    });
    epochs
        .filter(|epoch| {
            ["optim", "scheduler"]
                .iter()
                .all(|kind| folder.join(format!("{kind}-{epoch}.bpk")).is_file())
        })
        .max()
}

/// Trains `config.model` on `splits` on `device`, writing checkpoints, the model and the
/// config into `out`. With `resume`, training continues from the newest complete checkpoint in
/// `out` (if any).
pub fn train(
    config: &TrainingConfig,
    splits: &Splits,
    out: &Path,
    device: &Device,
    resume: bool,
) -> Result<Trained, Box<dyn std::error::Error>> {
    std::fs::create_dir_all(out)?;
    device.seed(config.seed);
    // Built on the autodiff device so the parameters are tracked (forking would not be).
    let autodiff = device.clone().autodiff();
    let model = config.model.try_init(&autodiff)?;

    let shifting = ShiftingBatcher::new(config.max_shift, config.seed);
    let train_loader = DataLoaderBuilder::<_, ClassificationBatch>::new(shifting)
        .batch_size(config.batch_size)
        .shuffle(config.seed)
        .set_device(autodiff.clone())
        .build(splits.train.clone());
    let valid_loader = DataLoaderBuilder::<_, ClassificationBatch>::new(MnistBatcher)
        .batch_size(config.batch_size.max(256))
        .set_device(device.clone())
        .build(splits.valid.clone());

    let mut training = SupervisedTraining::new(out, train_loader, valid_loader)
        .metrics((AccuracyMetric::new(), LossMetric::new()))
        .with_default_checkpointers()
        .num_epochs(config.epochs);
    if !std::io::stdout().is_terminal() {
        training = training.renderer(Box::new(EpochLines::new()));
    }
    let checkpoint = if resume { last_checkpoint(out) } else { None };
    let started_at_epoch = checkpoint.map_or(1, |epoch| epoch + 1);
    if let Some(epoch) = checkpoint {
        println!(
            "resuming from the checkpoint of epoch {epoch} in {}",
            out.display()
        );
        training = training.checkpoint(epoch);
    }

    let start = Instant::now();
    let optimizer = AdamConfig::new().init();
    let steps = config.epochs * splits.train.len().div_ceil(config.batch_size.max(1));
    let schedule =
        CosineAnnealingLrSchedulerConfig::new(config.learning_rate, steps.max(1)).init()?;
    let result = training.launch(Learner::new(model, optimizer, schedule));
    let seconds = start.elapsed().as_secs_f64();
    let epochs_run = (config.epochs + 1).saturating_sub(started_at_epoch);
    let images = (epochs_run * splits.train.len()) as f64;

    let model = result.model.valid();
    model.clone().save_file(out.join(artifacts::MODEL))?;
    download::write_atomic(&out.join(artifacts::CONFIG), config.to_string().as_bytes())?;
    Ok(Trained {
        model,
        started_at_epoch,
        seconds,
        images_per_second: images / seconds.max(1e-9),
    })
}

/// Loads the model and config saved by [`train`] in `dir`, on `device`.
pub fn load(dir: &Path, device: &Device) -> Result<(Classifier, TrainingConfig), String> {
    let config_path: PathBuf = dir.join(artifacts::CONFIG);
    let config = TrainingConfig::load(&config_path).map_err(|e| {
        format!(
            "{}: cannot read the training config: {e}",
            config_path.display()
        )
    })?;
    let net = config.model.try_init(device).map_err(|e| e.to_string())?;
    let model_path = dir.join(artifacts::MODEL);
    let net = net
        .try_load_file(&model_path)
        .map_err(|e| format!("{}: cannot load the model: {e}", model_path.display()))?;
    Ok((net, config))
}
