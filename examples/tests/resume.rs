//! Nothing is lost when a run dies. A training run SIGKILLed at ten moments drawn from a
//! seeded RNG (some while a checkpoint is being written) and resumed after each with
//! `--resume` never leaves a damaged checkpoint and ends with the weights of an uninterrupted
//! run, bit for bit. A checkpoint that cannot be written (a file-size limit standing in for a
//! full disk) stops training with an error naming the file, and the checkpoint before it stays
//! whole.
//!
//! The runs to kill are this test binary itself, started again as a child that only trains.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use burn::lr_scheduler::LrSchedulerRecord;
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::OptimizerRecord;
use burn::store::ModuleRecord;
use burn::tensor::{Device, Tensor};
use multi_dilation_examples::classifier::Classifier;
use multi_dilation_examples::data::{self, DataChoice, DataOptions, Splits};
use multi_dilation_examples::evaluate::evaluate;
use multi_dilation_examples::training::{self, TrainingConfig, artifacts};
use multi_dilation_mnist::rng::SplitMix64;

/// The child trains into this folder...
const CHILD_DIR: &str = "MULTI_DILATION_RESUME_CHILD_DIR";
/// ...with `--resume` when this is set.
const CHILD_RESUME: &str = "MULTI_DILATION_RESUME_CHILD_RESUME";
/// A child whose training returns an error exits with this code (a panic exits with 101).
const CHILD_FAILED: i32 = 3;

fn splits() -> Splits {
    data::load(&DataOptions {
        choice: DataChoice::Synthetic,
        data_dir: None,
        validation: 500,
        train_limit: Some(3_000),
        test_limit: Some(1_000),
        seed: 3,
    })
    .unwrap()
}

/// Four epochs so the kills spread over several; shifts of up to a pixel so that resuming
/// must also replay the augmentation of the epochs before the checkpoint.
fn config() -> TrainingConfig {
    TrainingConfig::new()
        .with_epochs(4)
        .with_batch_size(32)
        .with_max_shift(1)
}

/// The child's side of every test here: train into `CHILD_DIR` (resuming when asked) and
/// report an error on stderr with exit code [`CHILD_FAILED`]. Returns false in the parent.
fn run_as_child() -> bool {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return false;
    };
    let resume = std::env::var_os(CHILD_RESUME).is_some();
    let result = training::train(
        &config(),
        &splits(),
        Path::new(&dir),
        &Device::flex(),
        resume,
    );
    if let Err(err) = result {
        eprintln!("error: {err}");
        std::process::exit(CHILD_FAILED);
    }
    true
}

/// Starts this test again as a child that trains into `dir`; `wrapper` (a shell snippet that
/// ends by running `"$0" "$@"`) runs it under limits.
fn spawn_child(test: &str, dir: &Path, resume: bool, wrapper: Option<&str>) -> Child {
    let exe = std::env::current_exe().unwrap();
    let mut command = match wrapper {
        Some(script) => {
            let mut sh = Command::new("sh");
            sh.arg("-c").arg(script).arg(exe);
            sh
        }
        None => Command::new(exe),
    };
    command
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if resume {
        command.env(CHILD_RESUME, "1");
    }
    command.spawn().unwrap()
}

/// Every float parameter of `model`, in visiting order, as bits.
fn weights(model: &Classifier) -> Vec<u32> {
    struct Collect(Vec<u32>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let values = param.val().into_data().try_to_vec::<f32>().unwrap();
            self.0.extend(values.iter().map(|v| v.to_bits()));
        }
    }
    let mut collect = Collect(Vec::new());
    model.visit(&mut collect);
    collect.0
}

/// The files of the checkpoint folder of `dir` with their final names (`<kind>-<epoch>.bpk`,
/// not burn-pack's scratch files), as (kind, epoch, path).
fn checkpoint_files(dir: &Path) -> Vec<(String, usize, PathBuf)> {
    let folder = dir.join(artifacts::CHECKPOINTS);
    let Ok(entries) = std::fs::read_dir(&folder) else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let name = path.file_name()?.to_str()?.to_string();
            let (kind, epoch) = name.strip_suffix(".bpk")?.split_once('-')?;
            Some((kind.to_string(), epoch.parse().ok()?, path))
        })
        .collect()
}

/// The burn-pack scratch files (checkpoints being written, or stranded by a kill) in the
/// checkpoint folder of `dir`.
fn scratch_files(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir.join(artifacts::CHECKPOINTS)) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".bpk.") && name.ends_with(".tmp"))
        .collect()
}

/// Asserts that every file under a final name in `dir` is whole: each checkpoint file reads
/// back as its record (a model one also loads into the model), and so does `model.bpk` if it
/// is there. Checked independently of [`training::last_checkpoint`], which must then name the
/// newest epoch with all three files. Returns that epoch.
fn assert_nothing_damaged(dir: &Path, context: &str) -> Option<usize> {
    let device = Device::flex();
    let model = || config().model.try_init(&device).unwrap();
    let files = checkpoint_files(dir);
    for (kind, _, path) in &files {
        let loaded = match kind.as_str() {
            "model" => model().try_load_file(path).map(drop),
            "optim" => OptimizerRecord::load(path).map(drop),
            "scheduler" => LrSchedulerRecord::load(path).map(drop),
            other => panic!("{context}: unexpected checkpoint file {other}: {path:?}"),
        };
        if let Err(err) = loaded {
            panic!("{context}: {} is damaged: {err}", path.display());
        }
    }
    let final_model = dir.join(artifacts::MODEL);
    if final_model.exists() {
        model()
            .try_load_file(&final_model)
            .unwrap_or_else(|err| panic!("{context}: model.bpk is damaged: {err}"));
    }
    let complete = files
        .iter()
        .map(|(_, epoch, _)| *epoch)
        .filter(|epoch| {
            ["model", "optim", "scheduler"]
                .iter()
                .all(|kind| files.iter().any(|(k, e, _)| k == kind && e == epoch))
        })
        .max();
    assert_eq!(
        training::last_checkpoint(dir),
        complete,
        "{context}: last_checkpoint and the complete epochs on disk disagree"
    );
    complete
}

/// Where a kill lands.
#[derive(Debug, Clone, Copy)]
enum Moment {
    /// This fraction of an epoch's duration after the child reaches the epoch (or starts, if
    /// it resumes inside it): startup, training, validation or the checkpoint.
    Into(f64),
    /// As soon as a checkpoint file of the epoch is being written; if none is seen (the
    /// write is quicker than the polling), as soon as the epoch's checkpoint is complete.
    CheckpointWrite,
}

#[test]
fn ten_kills_at_random_moments_then_resume_to_the_uninterrupted_weights() {
    const TEST: &str = "ten_kills_at_random_moments_then_resume_to_the_uninterrupted_weights";
    const KILLS: usize = 10;
    if run_as_child() {
        return;
    }
    let device = Device::flex();
    let splits = splits();
    let epochs = config().epochs;

    // The uninterrupted run, and the time an epoch takes (validation and checkpoint
    // included) to place the kills.
    let reference_dir = tempfile::tempdir().unwrap();
    let reference = training::train(&config(), &splits, reference_dir.path(), &device, false)
        .expect("the uninterrupted run");
    let epoch_seconds = reference.seconds / epochs as f64;
    let reference_report = evaluate(&reference.model, &splits.test, 500, &device).unwrap();

    let out = tempfile::tempdir().unwrap();
    let dir = out.path();
    let mut rng = SplitMix64::new(2024);
    let mut reached = None;
    let mut log = Vec::new();
    for kill in 0..KILLS {
        // The kills walk through the epochs in order, so every epoch gets some.
        let epoch = 1 + kill * epochs / KILLS;
        // Three kills aim at checkpoint writes, in epochs 1, 3 and 4; the others land at a
        // random fraction of their epoch.
        let moment = if kill % 3 == 2 {
            Moment::CheckpointWrite
        } else {
            Moment::Into(rng.uniform(0.0, 1.0))
        };
        // Scratch files a kill stranded (the child removes them when it starts) are not a
        // write in progress.
        let stranded = scratch_files(dir);
        let mut child = spawn_child(TEST, dir, true, None);
        let deadline = Instant::now() + Duration::from_secs(120);
        // Wait for the child to reach `epoch` (its previous checkpoint exists).
        let mut finished = false;
        while training::last_checkpoint(dir).unwrap_or(0) + 1 < epoch {
            assert!(
                Instant::now() < deadline,
                "kill {kill}: epoch {epoch} not reached"
            );
            if child.try_wait().unwrap().is_some() {
                finished = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut landed = "the run had ended";
        if !finished {
            landed = match moment {
                Moment::Into(fraction) => {
                    std::thread::sleep(Duration::from_secs_f64(fraction * epoch_seconds));
                    "at its moment"
                }
                Moment::CheckpointWrite => loop {
                    if scratch_files(dir)
                        .iter()
                        .any(|name| !stranded.contains(name))
                    {
                        break "during a checkpoint write";
                    }
                    // Cheaper than `last_checkpoint` in this busy loop: the names alone.
                    let folder = dir.join(artifacts::CHECKPOINTS);
                    if ["model", "optim", "scheduler"]
                        .iter()
                        .all(|kind| folder.join(format!("{kind}-{epoch}.bpk")).exists())
                    {
                        break "just after the checkpoint";
                    }
                    if child.try_wait().unwrap().is_some() {
                        break "the run had ended";
                    }
                    assert!(
                        Instant::now() < deadline,
                        "kill {kill}: no checkpoint in time"
                    );
                    std::thread::yield_now();
                },
            };
        }
        // SIGKILL on Unix; a child that already ended is only reaped.
        let _ = child.kill();
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success() || output.status.code().is_none(),
            "kill {kill}: the child failed on its own ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        let context = format!("after kill {kill} ({moment:?} in epoch {epoch}, {landed})");
        let now = assert_nothing_damaged(dir, &context);
        assert!(
            now >= reached,
            "{context}: the newest complete checkpoint went back from {reached:?} to {now:?}"
        );
        reached = now;
        log.push(format!(
            "kill {kill}: {moment:?} in epoch {epoch}, {landed}; newest checkpoint {now:?}"
        ));
    }
    println!("{}", log.join("\n"));

    let resumed = training::train(&config(), &splits, dir, &device, true).expect("the last resume");
    assert_nothing_damaged(dir, "after the last resume");
    assert_eq!(training::last_checkpoint(dir), Some(epochs));
    let report = evaluate(&resumed.model, &splits.test, 500, &device).unwrap();
    println!(
        "test accuracy: uninterrupted {:.2}%, killed {KILLS} times and resumed {:.2}%",
        100.0 * reference_report.accuracy,
        100.0 * report.accuracy
    );
    // Same data order, same shifts, the optimizer's and the schedule's state restored: the
    // resumed run repeats the uninterrupted one's arithmetic exactly, so the tolerance is 0
    // on weights, accuracy, loss and confusion matrix alike.
    assert!(
        weights(&resumed.model) == weights(&reference.model),
        "the resumed run's weights differ from the uninterrupted run's"
    );
    assert_eq!(report, reference_report);
    let (saved, saved_config) = training::load(dir, &device).unwrap();
    assert_eq!(saved_config.to_string(), config().to_string());
    assert!(weights(&saved) == weights(&reference.model));
}

#[test]
fn a_checkpoint_that_cannot_be_written_stops_training_and_keeps_the_last_good_one() {
    const TEST: &str =
        "a_checkpoint_that_cannot_be_written_stops_training_and_keeps_the_last_good_one";
    if run_as_child() {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let dir = out.path();

    // A run killed in epoch 2 leaves the checkpoint of epoch 1.
    let mut child = spawn_child(TEST, dir, false, None);
    let deadline = Instant::now() + Duration::from_secs(120);
    while training::last_checkpoint(dir) != Some(1) {
        assert!(Instant::now() < deadline, "no epoch-1 checkpoint in time");
        assert!(child.try_wait().unwrap().is_none(), "the child ended early");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(assert_nothing_damaged(dir, "after the kill"), Some(1));
    let optim = dir.join(artifacts::CHECKPOINTS).join("optim-1.bpk");
    let size = std::fs::metadata(&optim).unwrap().len();
    assert!(size > 512 * 1024, "{size} bytes fit under the limit below");

    // Resumed where no file may grow past 256 KiB (a disk that fills up; root ignores file
    // permissions, not this limit): the epoch-2 optimizer checkpoint (750 KiB, and the model's,
    // 375 KiB, where `ulimit -f` counts 512-byte blocks as dash does; bash counts 1024-byte
    // ones) fails with EFBIG, while the logs (about 10 KiB an epoch) grow on. SIGXFSZ is
    // ignored so that the write fails instead of the signal killing the process.
    let limited = spawn_child(
        TEST,
        dir,
        true,
        Some(r#"trap '' XFSZ; ulimit -f 512 && exec "$0" "$@""#),
    );
    let output = limited.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stderr}");
    assert_eq!(
        output.status.code(),
        Some(CHILD_FAILED),
        "the run under the size limit must fail with an error, not finish or panic: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let error = stderr
        .lines()
        .find(|line| line.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line: {stderr}"));
    // The error says what failed, on which file, and what is left to resume from.
    assert!(
        error.contains("File too large") || error.contains("file too large"),
        "{error}"
    );
    assert!(
        error.contains(&dir.join(artifacts::CHECKPOINTS).display().to_string())
            && (error.contains("model-2.bpk") || error.contains("optim-2.bpk")),
        "the error names the checkpoint file: {error}"
    );
    assert!(
        error.contains("the checkpoint of epoch 1 is complete; --resume continues from it"),
        "{error}"
    );
    assert_eq!(
        assert_nothing_damaged(dir, "after the failed write"),
        Some(1),
        "the last good checkpoint is still the newest complete one"
    );
    assert!(
        !dir.join(artifacts::MODEL).exists(),
        "a run stopped by a failed checkpoint must not save its half-trained model"
    );
    assert_eq!(
        scratch_files(dir),
        Vec::<String>::new(),
        "the failed write left a scratch file"
    );

    // With room again, --resume finishes from that checkpoint.
    let resumed = training::train(&config(), &splits(), dir, &Device::flex(), true).unwrap();
    assert_eq!(resumed.started_at_epoch, 2);
    assert_eq!(
        assert_nothing_damaged(dir, "after the resume"),
        Some(config().epochs)
    );
}

/// Small splits for quick runs of a few epochs.
fn small_splits() -> Splits {
    data::load(&DataOptions {
        choice: DataChoice::Synthetic,
        data_dir: None,
        validation: 100,
        train_limit: Some(300),
        test_limit: Some(10),
        seed: 5,
    })
    .unwrap()
}

#[test]
fn damaged_checkpoints_are_passed_over_and_other_options_are_refused() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path();
    let device = Device::flex();
    let small = |epochs| {
        TrainingConfig::new()
            .with_epochs(epochs)
            .with_batch_size(50)
    };
    training::train(&small(3), &small_splits(), dir, &device, false).unwrap();
    let folder = dir.join(artifacts::CHECKPOINTS);
    assert_eq!(training::last_checkpoint(dir), Some(3));

    // A model file cut short (a copy interrupted, say) is passed over for the epoch before.
    let model_3 = folder.join("model-3.bpk");
    let bytes = std::fs::read(&model_3).unwrap();
    std::fs::write(&model_3, &bytes[..bytes.len() / 2]).unwrap();
    assert!(
        ModuleRecord::load(&model_3).is_err(),
        "the cut file is unreadable"
    );
    let err = training::checkpoint_loads(&folder, 3).unwrap_err();
    assert!(err.contains("model-3.bpk"), "{err}");
    assert_eq!(training::last_checkpoint(dir), Some(2));
    // So is an epoch missing a file.
    std::fs::remove_file(folder.join("scheduler-2.bpk")).unwrap();
    let older = training::last_checkpoint(dir);
    assert!(older.is_none_or(|epoch| epoch < 2), "{older:?}");
    std::fs::write(&model_3, &bytes).unwrap();
    assert_eq!(training::last_checkpoint(dir), Some(3));

    // burn-pack's scratch files stranded by a kill go at the next start; nothing else does.
    let scratch = folder.join("optim-3.bpk.4242-0.tmp");
    let mine = folder.join("notes.tmp");
    std::fs::write(&scratch, b"partial").unwrap();
    std::fs::write(&mine, b"keep").unwrap();

    // Resuming with other options is refused, naming what differs; no checkpoint is touched.
    let err = training::train(&small(5), &small_splits(), dir, &device, true)
        .err()
        .expect("other options")
        .to_string();
    assert!(err.contains("epochs: 3 in the checkpoints, 5 now"), "{err}");
    assert!(err.contains(&folder.display().to_string()), "{err}");
    assert_eq!(training::last_checkpoint(dir), Some(3));
    assert!(!scratch.exists(), "the stranded scratch file is removed");
    assert!(mine.exists(), "other files are left alone");

    // Without --resume a run starts over: the earlier run's checkpoints go first, so the
    // newest is this run's epoch 1, not the earlier run's epoch 3.
    let trained = training::train(&small(1), &small_splits(), dir, &device, false).unwrap();
    assert_eq!(trained.started_at_epoch, 1);
    assert_eq!(training::last_checkpoint(dir), Some(1));
    assert_eq!(
        checkpoint_files(dir).len(),
        3,
        "only epoch 1's three files: {:?}",
        checkpoint_files(dir)
    );
}
