//! Training a classifier ([`Classifier`]: the one-layer `MultiDilationNet` or the deep
//! `DeepMultiDilationNet`) on digits with burn's `SupervisedTraining` and `Learner`:
//! checkpoints every epoch, resume (to the same weights as an uninterrupted run), and atomic
//! saving of the model and its config.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use burn::config::Config;
use burn::data::dataloader::{DataLoader, DataLoaderBuilder};
use burn::data::dataset::Dataset;
use burn::lr_scheduler::cosine::CosineAnnealingLrSchedulerConfig;
use burn::module::Module;
use burn::tensor::Device;
use burn::train::metric::{AccuracyMetric, LossMetric};
use burn::train::{Learner, SupervisedTraining};
use multi_dilation::{ClassificationBatch, ConfigError, MultiDilationNetConfig};
use multi_dilation_mnist::{MnistBatcher, ShiftingBatcher, download};

use crate::checkpoints::{
    CHECKPOINT_CONFIG, SkipEpochs, config_differences, remove_checkpoints, remove_scratch_files,
    replay_shifts,
};
pub use crate::checkpoints::{checkpoint_loads, last_checkpoint};
use crate::classifier::{Classifier, ModelConfig};
use crate::data::{DataChoice, Splits};
use crate::distributed::Plan;
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

impl TrainingConfig {
    /// Checks every value a run depends on before anything is loaded or written: a zero
    /// would otherwise stop a run late (a batch size of 0 divides by zero when the schedule
    /// is sized) or quietly train nothing (0 epochs still writes a model).
    ///
    /// # Example
    /// ```
    /// use multi_dilation_examples::training::TrainingConfig;
    ///
    /// let err = TrainingConfig::new().with_batch_size(0).validate().unwrap_err();
    /// assert_eq!(err.to_string(), "invalid `batch_size` = 0: must be at least 1");
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        at_least_one("epochs", self.epochs)?;
        at_least_one("batch_size", self.batch_size)?;
        // burn's cosine schedule refuses values outside (0, 1] without naming them, and lets
        // NaN through.
        if !(self.learning_rate > 0.0 && self.learning_rate <= 1.0) {
            return Err(ConfigError::new(
                "learning_rate",
                &self.learning_rate,
                "must be greater than 0 and at most 1",
            ));
        }
        self.model.validate().map_err(|err| err.nested("model"))
    }
}

/// An error naming `field` unless the count `value` is at least 1: a step count or batch size
/// of 0 would divide by zero or train nothing.
pub(crate) fn at_least_one(field: &str, value: usize) -> Result<(), ConfigError> {
    if value == 0 {
        return Err(ConfigError::new(field, &value, "must be at least 1"));
    }
    Ok(())
}

/// Trains `config.model` on `splits` on `device`, writing checkpoints, the model and the
/// config into `out`.
///
/// Without `resume`, training starts at epoch 1 and the checkpoints of an earlier run in
/// `out` are removed first. With `resume`, it continues from the newest complete checkpoint
/// ([`last_checkpoint`]) if there is one, with the data order (and the shifts of
/// `max_shift`) the uninterrupted run would have had: a resumed run ends with the same
/// weights, bit for bit, on the same machine. The checkpoints must come from the same
/// config; another one is an error naming the fields that differ.
///
/// Errors name the file or the field: an invalid config, a checkpoint that cannot be
/// written (a full disk: training stops at that epoch, the previous checkpoint stays
/// complete), or a model that cannot be saved. Only one run may use `out` at a time.
pub fn train(
    config: &TrainingConfig,
    splits: &Splits,
    out: &Path,
    device: &Device,
    resume: bool,
) -> Result<Trained, Box<dyn std::error::Error>> {
    let plan = Plan::single(device.clone(), config.batch_size);
    train_on(config, splits, out, &plan, resume)
}

/// [`train`] on the devices and with the burn strategy of `plan`, made for
/// `config.batch_size` ([`Plan::new`]): each replica batches its share of the effective batch,
/// the model and validation live on the plan's first device, Adam's epsilon follows
/// [`Plan::adam`], and the schedule has [`Plan::steps_per_epoch`] steps per epoch.
pub fn train_on(
    config: &TrainingConfig,
    splits: &Splits,
    out: &Path,
    plan: &Plan,
    resume: bool,
) -> Result<Trained, Box<dyn std::error::Error>> {
    config.validate()?;
    if plan.batch_size() != config.batch_size {
        return Err(format!(
            "invalid `batch_size` = {}: the device plan was made for a batch of {}",
            config.batch_size,
            plan.batch_size()
        )
        .into());
    }
    let device = &plan.devices()[0];
    let train_items = splits.train.len();
    if train_items == 0 {
        return Err("no training images: the training split is empty".into());
    }
    let steps_per_epoch = plan.steps_per_epoch(train_items)?;
    let folder = out.join(artifacts::CHECKPOINTS);
    std::fs::create_dir_all(&folder)
        .map_err(|e| format!("{}: cannot create the folder: {e}", folder.display()))?;
    remove_scratch_files(out);
    remove_scratch_files(&folder);
    let config_path = folder.join(CHECKPOINT_CONFIG);
    let checkpoint = if resume { last_checkpoint(out) } else { None };
    if checkpoint.is_some() {
        // A folder from before checkpoints kept their config has none to compare.
        if let Ok(saved) = std::fs::read_to_string(&config_path) {
            let differences = config_differences(&saved, config);
            if !differences.is_empty() {
                return Err(format!(
                    "cannot resume from {}: its checkpoints were written with other options \
                     ({}); resume with the same options, or train without --resume to start \
                     over",
                    folder.display(),
                    differences.join("; ")
                )
                .into());
            }
        }
    } else {
        let removed = remove_checkpoints(&folder)
            .map_err(|e| format!("{}: cannot remove old checkpoints: {e}", folder.display()))?;
        if removed > 0 {
            println!(
                "starting over: removed {removed} files of an earlier run from {}",
                folder.display()
            );
        }
    }
    download::write_atomic(&config_path, config.to_string().as_bytes())?;

    device.seed(config.seed);
    // Built on the autodiff device so the parameters are tracked (forking would not be).
    let autodiff = device.clone().autodiff();
    let model = config.model.try_init(&autodiff)?;
    let started_at_epoch = checkpoint.map_or(1, |epoch| epoch + 1);
    if let Some(epoch) = checkpoint {
        // burn would panic on a checkpoint that does not fit the model; this says which file.
        let path = folder.join(format!("model-{epoch}.bpk"));
        model
            .clone()
            .try_load_file(&path)
            .map_err(|e| format!("{}: cannot resume from it: {e}", path.display()))?;
    }

    let shifting = ShiftingBatcher::new(config.max_shift, config.seed);
    let done = started_at_epoch - 1;
    if config.max_shift > 0 {
        replay_shifts(&shifting, &splits.train, done, device)?;
    }
    let train_loader = DataLoaderBuilder::<_, ClassificationBatch>::new(shifting)
        .batch_size(plan.replica_batch_size())
        .shuffle(config.seed)
        .set_device(autodiff.clone())
        .build(splits.train.clone());
    let train_loader: Arc<dyn DataLoader<ClassificationBatch>> =
        Arc::new(SkipEpochs::new(train_loader, done));
    // Validation needs no gradients, so larger batches only save time: at least 256.
    let valid_loader = DataLoaderBuilder::<_, ClassificationBatch>::new(MnistBatcher)
        .batch_size(config.batch_size.max(256))
        .set_device(device.clone())
        .build(splits.valid.clone());

    let mut training = SupervisedTraining::new(out, train_loader, valid_loader)
        .metrics((AccuracyMetric::new(), LossMetric::new()))
        .with_default_checkpointers()
        .with_training_strategy(plan.execution().into())
        .num_epochs(config.epochs);
    if !std::io::stdout().is_terminal() {
        training = training.renderer(Box::new(EpochLines::new()));
    }
    if let Some(epoch) = checkpoint {
        println!(
            "resuming from the checkpoint of epoch {epoch} in {}",
            out.display()
        );
        training = training.checkpoint(epoch);
    }

    let start = Instant::now();
    let optimizer = plan.adam().init();
    let steps = config.epochs * steps_per_epoch;
    let schedule = CosineAnnealingLrSchedulerConfig::new(config.learning_rate, steps).init()?;
    let result = training.launch(Learner::new(model, optimizer, schedule));
    let seconds = start.elapsed().as_secs_f64();
    // burn stops at the epoch a checkpoint fails to be written (a full disk) and hands back a
    // half-trained model with the error beside it: saving that model would pass it off as
    // the finished one.
    let stopped = result.error.map(|err| err.to_string()).or_else(|| {
        result.interrupted.map(|stop| {
            format!(
                "interrupted ({})",
                stop.reason.as_deref().unwrap_or("no reason given")
            )
        })
    });
    if let Some(reason) = stopped {
        let resumable = match last_checkpoint(out) {
            Some(epoch) => {
                format!("the checkpoint of epoch {epoch} is complete; --resume continues from it")
            }
            None => "no epoch has a complete checkpoint".to_string(),
        };
        return Err(format!(
            "training in {} stopped before the end: {reason}; {resumable}",
            out.display()
        )
        .into());
    }
    let epochs_run = (config.epochs + 1).saturating_sub(started_at_epoch);
    let images = (epochs_run * train_items) as f64;

    let model = result.model.valid();
    let model_path = out.join(artifacts::MODEL);
    // burn-pack writes a scratch sibling, syncs it and renames it over `model.bpk`: a kill or
    // a full disk leaves the previous file whole.
    model
        .clone()
        .save_file(&model_path)
        .map_err(|e| format!("{}: cannot save the model: {e}", model_path.display()))?;
    download::write_atomic(&out.join(artifacts::CONFIG), config.to_string().as_bytes())?;
    Ok(Trained {
        model,
        started_at_epoch,
        seconds,
        // A run resumed after its last epoch trains nothing and has no rate.
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
