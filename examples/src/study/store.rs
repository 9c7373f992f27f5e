//! What each trained model gave, one JSON file per (experiment, model, seed) under the output
//! folder's `runs/`, written atomically as soon as the model is tested. A rerun reads them and
//! trains only what is missing, so an interrupted study resumes where it stopped.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::fit::Fitted;
use super::models::ModelSpec;

/// The study's experiments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Experiment {
    /// MNIST-scale, one realisation per seed.
    MnistScale,
    /// MNIST-scale with twice the budget (the convergence check).
    MnistScaleLong,
    /// Trained at one scale, tested at larger ones; one training seed per seed.
    Generalisation,
    /// Scale generalisation with three times the budget (its convergence check).
    GeneralisationLong,
}

impl Experiment {
    /// The folder name.
    pub fn key(self) -> &'static str {
        match self {
            Experiment::MnistScale => "mnist-scale",
            Experiment::MnistScaleLong => "mnist-scale-long",
            Experiment::Generalisation => "generalisation",
            Experiment::GeneralisationLong => "generalisation-long",
        }
    }
}

/// One trained and tested model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The experiment.
    pub experiment: Experiment,
    /// The model's key ([`ModelSpec::key`](super::models::ModelSpec::key)).
    pub model: String,
    /// The model's label.
    pub label: String,
    /// The realisation (MNIST-scale; it is also the training seed) or the training seed.
    pub seed: u64,
    /// The settings that made it (sizes, budget, data source): a record made with other
    /// settings is not reused.
    pub settings: String,
    /// Parameters of the convolution(s).
    pub conv_parameters: usize,
    /// Trainable parameters of the whole model.
    pub parameters: usize,
    /// Training time in seconds.
    pub train_seconds: f64,
    /// Validation error (%) after each epoch: on MNIST-scale's validation split, or on the
    /// validation digits at the training scale.
    pub validation_curve: Vec<f64>,
    /// The epoch (from 1) of the tested checkpoint: the lowest validation error.
    pub best_epoch: usize,
    /// Validation error (%) of the tested checkpoint.
    pub validation_error: f64,
    /// MNIST-scale test error (%) of the tested checkpoint.
    pub test_error: Option<f64>,
    /// Scale generalisation: validation accuracy (%) per factor.
    pub validation_by_factor: Vec<(f64, f64)>,
    /// Scale generalisation: test accuracy (%) per factor.
    pub test_by_factor: Vec<(f64, f64)>,
}

impl RunRecord {
    /// The record of `fitted`, `spec` trained at `seed` with `settings`, before any test: the
    /// test numbers are filled in by the experiment.
    pub fn of(
        experiment: Experiment,
        spec: &ModelSpec,
        seed: u64,
        settings: String,
        fitted: Fitted,
    ) -> Self {
        let (conv_parameters, parameters) = fitted.model.parameter_counts();
        Self {
            experiment,
            model: spec.key(),
            label: spec.label(),
            seed,
            settings,
            conv_parameters,
            parameters,
            train_seconds: fitted.seconds,
            validation_error: fitted.curve[fitted.best_epoch - 1],
            validation_curve: fitted.curve,
            best_epoch: fitted.best_epoch,
            test_error: None,
            validation_by_factor: Vec::new(),
            test_by_factor: Vec::new(),
        }
    }
}

/// The records under one output folder.
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// The store under `out/runs`.
    pub fn new(out: &Path) -> Self {
        Self {
            dir: out.join("runs"),
        }
    }

    fn path(&self, experiment: Experiment, model: &str, seed: u64) -> PathBuf {
        self.dir
            .join(experiment.key())
            .join(model.replace('/', "--"))
            .join(format!("seed-{seed}.json"))
    }

    /// The record of `model` at `seed`, if one was written with `settings`. A record of other
    /// settings is an error, so a study never mixes results of two configurations.
    pub fn load(
        &self,
        experiment: Experiment,
        model: &str,
        seed: u64,
        settings: &str,
    ) -> Result<Option<RunRecord>, Box<dyn std::error::Error>> {
        let path = self.path(experiment, model, seed);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(format!("{}: {err}", path.display()).into()),
        };
        let record: RunRecord = serde_json::from_str(&text)
            .map_err(|err| format!("{}: not a study record: {err}", path.display()))?;
        if record.settings != settings {
            return Err(format!(
                "{} was made with other settings ({}; this run: {settings}): use another --output, or remove the folder",
                path.display(),
                record.settings
            )
            .into());
        }
        Ok(Some(record))
    }

    /// Writes `record` atomically (a temporary file renamed over the target).
    pub fn save(&self, record: &RunRecord) -> std::io::Result<()> {
        let path = self.path(record.experiment, &record.model, record.seed);
        let dir = path.parent().expect("a record path has a folder");
        std::fs::create_dir_all(dir)?;
        let text = serde_json::to_string_pretty(record).map_err(std::io::Error::other)?;
        write_atomic(&path, text.as_bytes())
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder, renamed into place,
/// so that an interrupted write never leaves a truncated file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut file, bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|err| err.error)?;
    Ok(())
}
