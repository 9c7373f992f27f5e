//! `--resume`: a training run killed with SIGKILL during epoch 2 restarts from the epoch-1
//! checkpoint and finishes; nothing written before the kill is corrupt.
//!
//! The run to kill is this test binary itself, started again as a child that only trains.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use burn::module::Module;
use burn::tensor::Device;
use multi_dilation_examples::data::{self, DataChoice, DataOptions, Splits};
use multi_dilation_examples::training::{self, TrainingConfig, artifacts};

const CHILD_ENV: &str = "MULTI_DILATION_RESUME_CHILD_DIR";

fn splits() -> Splits {
    data::load(&DataOptions {
        choice: DataChoice::Synthetic,
        data_dir: None,
        validation: 500,
        train_limit: Some(4_000),
        test_limit: Some(100),
        seed: 3,
    })
    .unwrap()
}

fn config() -> TrainingConfig {
    TrainingConfig::new().with_epochs(3).with_batch_size(32)
}

fn train(dir: &Path, resume: bool) -> training::Trained {
    training::train(&config(), &splits(), dir, &Device::flex(), resume).unwrap()
}

#[test]
fn killed_during_epoch_two_resumes_from_epoch_one() {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        // The child: train until killed.
        train(Path::new(&dir), false);
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let dir = out.path();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "killed_during_epoch_two_resumes_from_epoch_one",
            "--exact",
            "--nocapture",
        ])
        .env(CHILD_ENV, dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    // Wait for the complete epoch-1 checkpoint, then a moment into epoch 2, then SIGKILL.
    let deadline = Instant::now() + Duration::from_secs(150);
    while training::last_checkpoint(dir) != Some(1) {
        assert!(Instant::now() < deadline, "no epoch-1 checkpoint in time");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the child ended before its checkpoint"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(700));
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    assert_eq!(
        training::last_checkpoint(dir),
        Some(1),
        "the kill came after epoch 2 ended; make the epochs longer"
    );
    assert!(
        !dir.join(artifacts::MODEL).exists(),
        "the killed run cannot have finished"
    );

    // What the kill left is readable: the epoch-1 model checkpoint loads.
    let device = Device::flex();
    let checkpoint = dir.join(artifacts::CHECKPOINTS).join("model-1.bpk");
    config()
        .model
        .try_init(&device)
        .unwrap()
        .try_load_file(&checkpoint)
        .expect("the epoch-1 checkpoint is intact");

    let resumed = train(dir, true);
    assert_eq!(resumed.started_at_epoch, 2);
    assert_eq!(training::last_checkpoint(dir), Some(3));
    let (model, saved) = training::load(dir, &device).unwrap();
    assert_eq!(saved.to_string(), config().to_string());
    assert_eq!(model.num_params(), resumed.model.num_params());
}
