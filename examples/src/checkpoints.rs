//! The checkpoints of a training run: which epoch is complete, what is left by a killed run,
//! and what a resumed run replays so that it ends where an uninterrupted run would.

use std::path::Path;
use std::sync::{Arc, Once};

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataloader::{DataLoader, DataLoaderIterator};
use burn::data::dataset::{Dataset, DatasetError};
use burn::lr_scheduler::LrSchedulerRecord;
use burn::optim::OptimizerRecord;
use burn::store::{ModuleRecord, RecordError};
use burn::tensor::Device;
use multi_dilation::ClassificationBatch;
use multi_dilation_mnist::ShiftingBatcher;

use crate::data::Digits;
use crate::training::{TrainingConfig, artifacts};

/// The kinds of file burn's default checkpointers write for each epoch:
/// `checkpoint/<kind>-<epoch>.bpk`.
pub(crate) const CHECKPOINT_KINDS: [&str; 3] = ["model", "optim", "scheduler"];

/// The config of the run that writes the checkpoints, kept beside them so a resume with other
/// options is refused instead of mixing two runs.
pub(crate) const CHECKPOINT_CONFIG: &str = "config.json";

/// The newest epoch whose checkpoint is complete in `dir`: its model, optimizer and scheduler
/// files all exist and all parse as burnpack records. A damaged or partial epoch is passed
/// over for the one before it.
///
/// burn never leaves a partial file under a checkpoint's name (burn-pack writes a scratch
/// sibling, syncs it and renames it into place), but it writes the three files of an epoch
/// from three threads, so a run killed mid-checkpoint can leave an epoch with only some of
/// them; and a file can still be damaged after the fact (a copy cut short). Reading them back
/// costs a few milliseconds for these models.
pub fn last_checkpoint(dir: &Path) -> Option<usize> {
    let folder = dir.join(artifacts::CHECKPOINTS);
    let mut epochs: Vec<usize> = std::fs::read_dir(&folder)
        .ok()?
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            name.strip_prefix("model-")?
                .strip_suffix(".bpk")?
                .parse::<usize>()
                .ok()
        })
        .collect();
    epochs.sort_unstable();
    epochs
        .into_iter()
        .rev()
        .find(|&epoch| checkpoint_loads(&folder, epoch).is_ok())
}

/// Whether the three files of `epoch` in the checkpoint `folder` read back as records; the
/// error names the first that does not.
pub fn checkpoint_loads(folder: &Path, epoch: usize) -> Result<(), String> {
    let path = |kind: &str| folder.join(format!("{kind}-{epoch}.bpk"));
    let fail = |kind: &str, err: RecordError| format!("{}: {err}", path(kind).display());
    ModuleRecord::load(path("model")).map_err(|e| fail("model", e))?;
    OptimizerRecord::load(path("optim")).map_err(|e| fail("optim", e))?;
    LrSchedulerRecord::load(path("scheduler")).map_err(|e| fail("scheduler", e))?;
    Ok(())
}

/// Removes the scratch files burn-pack strands in `folder` when SIGKILL lands between their
/// creation and their rename: `<name>.bpk.<pid>-<n>.tmp`, as large as the file they were to
/// become. Only one run may use an output folder at a time, so none of them belongs to a live
/// writer; nothing else in the folder is touched.
pub(crate) fn remove_scratch_files(folder: &Path) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    let is_scratch = |name: &str| {
        let Some((base, tag)) = name
            .strip_suffix(".tmp")
            .and_then(|rest| rest.rsplit_once('.'))
        else {
            return false;
        };
        let numbered = tag.split_once('-').is_some_and(|(pid, n)| {
            [pid, n]
                .iter()
                .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
        });
        numbered && base.ends_with(".bpk")
    };
    for entry in entries.flatten() {
        if is_scratch(&entry.file_name().to_string_lossy()) && entry.path().is_file() {
            // Best effort: a leftover costs disk space, never correctness.
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Removes the checkpoints of an earlier run from `folder` so that a later `--resume` cannot
/// pick one of them up: a run without `--resume` starts over. Returns how many files went.
pub(crate) fn remove_checkpoints(folder: &Path) -> std::io::Result<usize> {
    let entries = match std::fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(err) => return Err(err),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let checkpoint = CHECKPOINT_KINDS.iter().any(|kind| {
            name.strip_prefix(kind)
                .and_then(|rest| rest.strip_prefix('-'))
                .and_then(|rest| rest.strip_suffix(".bpk"))
                .is_some_and(|epoch| epoch.parse::<usize>().is_ok())
        });
        if checkpoint || name == CHECKPOINT_CONFIG {
            std::fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// The fields of `config` that differ from `saved` (both as written by [`Config`]'s JSON):
/// `epochs: 3 in the checkpoints, 4 now`.
pub(crate) fn config_differences(saved: &str, config: &TrainingConfig) -> Vec<String> {
    let parse = |text: &str| serde_json::from_str::<serde_json::Value>(text).ok();
    let (Some(saved), Some(now)) = (parse(saved), parse(&config.to_string())) else {
        return vec!["the saved config does not parse".to_string()];
    };
    let empty = serde_json::Map::new();
    let saved = saved.as_object().unwrap_or(&empty);
    let now = now.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = saved.keys().chain(now.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|key| saved.get(*key) != now.get(*key))
        .map(|key| {
            let show = |value: Option<&serde_json::Value>| {
                value.map_or_else(|| "nothing".to_string(), ToString::to_string)
            };
            format!(
                "{key}: {} in the checkpoints, {} now",
                show(saved.get(key)),
                show(now.get(key))
            )
        })
        .collect()
}

/// burn's training loader, made to shuffle a resumed run's epochs as the uninterrupted run
/// would have.
///
/// burn's loader draws each epoch's order from one RNG, advanced once per epoch, and a resumed
/// run builds a fresh loader: its first epoch would get epoch 1's order again. This loader
/// draws `skip` orders and throws them away before the first epoch it serves. burn iterates
/// the loader [`DataLoader::to_device`] returns, whose RNG is forked from this one when
/// training starts; the skip therefore happens there, after the fork, exactly as the
/// uninterrupted run's first `skip` epochs advanced it.
pub(crate) struct SkipEpochs<O> {
    inner: Arc<dyn DataLoader<O>>,
    skip: usize,
    skipped: Once,
}

impl<O> SkipEpochs<O> {
    pub(crate) fn new(inner: Arc<dyn DataLoader<O>>, skip: usize) -> Self {
        Self {
            inner,
            skip,
            skipped: Once::new(),
        }
    }
}

impl<O: Send + 'static> DataLoader<O> for SkipEpochs<O> {
    fn iter<'a>(&'a self) -> Box<dyn DataLoaderIterator<O> + 'a> {
        // An iterator draws its order when it is created and batches lazily: creating and
        // dropping one costs a shuffle of the indices, nothing more.
        self.skipped.call_once(|| {
            for _ in 0..self.skip {
                drop(self.inner.iter());
            }
        });
        self.inner.iter()
    }

    fn num_items(&self) -> usize {
        self.inner.num_items()
    }

    fn to_device(&self, device: &Device) -> Arc<dyn DataLoader<O>> {
        Arc::new(Self::new(self.inner.to_device(device), self.skip))
    }

    fn slice(&self, start: usize, end: usize) -> Arc<dyn DataLoader<O>> {
        Arc::new(Self::new(self.inner.slice(start, end), self.skip))
    }
}

/// Shifts every training digit `epochs` times with `batcher` and throws the batches away.
///
/// [`ShiftingBatcher`] draws a digit's shift from how many times it has shifted that digit
/// before, which a resumed run's new batcher would count from zero: replaying the epochs
/// before the checkpoint gives the resumed epochs the shifts of an uninterrupted run. Costs
/// about as much as batching those epochs once, without any training.
pub(crate) fn replay_shifts(
    batcher: &ShiftingBatcher,
    train: &Digits,
    epochs: usize,
    device: &Device,
) -> Result<(), DatasetError> {
    const CHUNK: usize = 1024;
    let len = train.len();
    for _ in 0..epochs {
        for start in (0..len).step_by(CHUNK) {
            let items = (start..(start + CHUNK).min(len))
                .map(|i| train.get(i))
                .collect::<Result<_, _>>()?;
            let _: ClassificationBatch = batcher.batch(items, device);
        }
    }
    Ok(())
}
