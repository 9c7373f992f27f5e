//! The MNIST pipeline end to end on flex: training reaches its accuracy floors, `predict`
//! classifies a PNG, bad files give one-line errors.
//!
//! How the accuracy floors are set. Each test trains with the default seed, but on another
//! CPU gemm and Flex pick other SIMD kernels (AVX-512 on the machine these were measured on,
//! AVX2/FMA on older x86, NEON on ARM) whose other rounding sends training down another path:
//! the accuracy then moves about as much as with another seed. So each test was measured with
//! ten seeds (the default 42 and 1 to 9) on AVX-512, and with three (42, 1, 2) on AVX2 kernels:
//! gemm has no switch to force those at run time (only its compile-time `x86-v4` feature,
//! which the workspace turns on), so the same test binary ran under
//! `qemu-x86_64 -cpu Haswell`, which hides AVX-512 from gemm's and Flex's CPU detection. A
//! floor is the lowest accuracy measured minus three standard deviations of the ten AVX-512
//! seeds, rounded down to a whole percent: far enough below every measured run to hold on
//! any CPU, close enough to fail a model that learns worse than this one does.

use std::path::Path;

use burn::data::dataset::Dataset;
use burn::tensor::Device;
use multi_dilation::DeepMultiDilationNetConfig;
use multi_dilation_examples::classifier::{Classifier, ModelConfig};
use multi_dilation_examples::data::{self, DataChoice, DataOptions, Splits};
use multi_dilation_examples::evaluate::evaluate;
use multi_dilation_examples::images;
use multi_dilation_examples::training::{self, TrainingConfig};

fn options(choice: DataChoice, data_dir: Option<std::path::PathBuf>) -> DataOptions {
    DataOptions {
        choice,
        data_dir,
        validation: 2_000,
        train_limit: Some(10_000),
        test_limit: Some(2_000),
        seed: 7,
    }
}

/// One epoch of the default model on `splits`; returns the test accuracy and checks that a
/// test digit saved as a 56x56 RGB PNG is classified right.
fn one_epoch_then_predict(splits: &Splits, out: &Path) -> f64 {
    let device = Device::flex();
    let config = TrainingConfig::new()
        .with_epochs(1)
        .with_batch_size(8)
        .with_learning_rate(4e-3);
    let trained = training::train(&config, splits, out, &device, false).unwrap();
    let report = evaluate(&trained.model, &splits.test, 500, &device).unwrap();
    println!("{} ({} test images)", report.accuracy_line(), report.count);

    // The saved model, loaded back as `eval` and `predict` do, gives the same accuracy.
    let (loaded, _) = training::load(out, &device).unwrap();
    assert_eq!(
        evaluate(&loaded, &splits.test, 500, &device).unwrap(),
        report
    );

    // A correctly classified test digit, upscaled to 56x56 RGB PNG.
    let item = (0..splits.test.len())
        .map(|i| splits.test.get(i).unwrap())
        .find(|item| {
            let prepared = images::PreparedImage {
                pixels: item.image.clone(),
                notes: vec![],
            };
            images::top3(&loaded, &prepared, &device)[0].0 == usize::from(item.label)
        })
        .expect("some test digit is classified right");
    let small = image::GrayImage::from_raw(28, 28, item.image.clone()).unwrap();
    let big = image::imageops::resize(&small, 56, 56, image::imageops::FilterType::Nearest);
    let rgb = image::DynamicImage::ImageLuma8(big).to_rgb8();
    let png = out.join("digit.png");
    rgb.save(&png).unwrap();
    let prepared = images::prepare(&png).unwrap();
    assert_eq!(
        prepared.notes,
        vec!["resized from 56x56 to 28x28".to_string()]
    );
    let top = images::top3(&loaded, &prepared, &device);
    assert_eq!(top.len(), 3);
    assert_eq!(top[0].0, usize::from(item.label), "top-3 {top:?}");
    report.accuracy
}

#[test]
fn builtin_digits_one_epoch_reaches_88_percent() {
    let splits = data::load(&options(DataChoice::Synthetic, None)).unwrap();
    let out = tempfile::tempdir().unwrap();
    let accuracy = one_epoch_then_predict(&splits, out.path());
    // The built-in digits are hard on purpose (scale-varied, cluttered, noisy). Measured (see
    // the top of this file): AVX-512, seeds 42, 1-9: 90.95, 90.95, 91.00, 90.75, 90.55,
    // 91.10, 90.15, 91.25, 91.70, 90.80% (standard deviation 0.41); AVX2, seeds 42, 1, 2:
    // 91.10, 90.90, 90.95%. Floor: 90.15 - 3 x 0.41 = 88.9, so 88%.
    assert!(accuracy >= 0.88, "accuracy {accuracy}");
}

#[test]
fn mnist_10k_subset_one_epoch_reaches_96_percent() {
    let Some(dir) = std::env::var_os("MNIST_DIR") else {
        eprintln!("skipped: MNIST_DIR is not set (.ci/run sets it to ../shared/data/mnist)");
        return;
    };
    let splits = data::load(&options(DataChoice::Mnist, Some(dir.into()))).unwrap();
    assert_eq!((splits.train.len(), splits.test.len()), (10_000, 2_000));
    let out = tempfile::tempdir().unwrap();
    let accuracy = one_epoch_then_predict(&splits, out.path());
    // The default model (64 channels of 5x5, 4x4 pooling). Measured (see the top of this
    // file; `cargo run --release --example mnist -- train --data mnist --train-limit 10000
    // --validation 2000 --test-limit 2000 --epochs 1 --batch-size 8 --learning-rate 4e-3
    // --seed S` gives the same numbers): AVX-512, seeds 42, 1-9: 97.35, 97.25, 97.10, 97.05,
    // 96.95, 96.70, 97.15, 97.05, 97.20, 97.35% (standard deviation 0.20); AVX2, seeds 42, 1,
    // 2: 97.35, 97.30, 97.00%. Two seeds fall below 97%, so a 97% floor passed by the luck of
    // the default seed. Floor: 96.70 - 3 x 0.20 = 96.1, so 96%.
    assert!(accuracy >= 0.96, "accuracy {accuracy}");
}

#[test]
fn bad_image_files_give_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.png");
    std::fs::write(&text, "this is not an image").unwrap();
    let empty = dir.path().join("empty.jpg");
    std::fs::write(&empty, b"").unwrap();
    let truncated = dir.path().join("cut.png");
    let mut png = Vec::new();
    image::DynamicImage::new_luma8(28, 28)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    std::fs::write(&truncated, &png[..png.len() / 2]).unwrap();
    for path in [
        text,
        empty,
        truncated,
        dir.path().to_path_buf(),
        dir.path().join("missing.png"),
    ] {
        let err = images::prepare(&path).unwrap_err();
        assert!(!err.contains('\n'), "{err}");
        assert!(err.contains(&path.display().to_string()), "{err}");
    }
}

#[test]
fn light_background_is_inverted_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("paper.png");
    let mut img = image::GrayImage::from_pixel(28, 28, image::Luma([250]));
    for y in 6..22 {
        img.put_pixel(14, y, image::Luma([10]));
    }
    img.save(&path).unwrap();
    let prepared = images::prepare(&path).unwrap();
    assert_eq!(prepared.notes.len(), 1, "{:?}", prepared.notes);
    assert_eq!(prepared.pixels[10 * 28 + 14], 245);
    assert_eq!(prepared.pixels[0], 5);
}

#[test]
fn auto_falls_back_to_builtin_digits_when_mnist_is_missing() {
    let empty = tempfile::tempdir().unwrap();
    let mut opts = options(DataChoice::Auto, Some(empty.path().join("none")));
    opts.train_limit = Some(10);
    // No network in tests: the mirrors fail or are unreachable; either way the built-in
    // digits are used. (`--data mnist` would be an error instead.)
    let splits = data::load(&opts).unwrap();
    assert_eq!(splits.source, "built-in procedural digits");
    opts.choice = DataChoice::Mnist;
    let err = data::load(&opts).err().expect("MNIST is missing");
    assert!(err.to_string().contains("MNIST_DIR"), "{err}");
}

#[test]
fn the_deep_model_trains_saves_and_loads_through_the_learner() {
    let Some(dir) = std::env::var_os("MNIST_DIR") else {
        eprintln!("skipped: MNIST_DIR is not set (.ci/run sets it to ../shared/data/mnist)");
        return;
    };
    let mut opts = options(DataChoice::Mnist, Some(dir.into()));
    opts.train_limit = Some(3_000);
    opts.validation = 500;
    opts.test_limit = Some(1_000);
    let splits = data::load(&opts).unwrap();
    let device = Device::flex();
    let config = TrainingConfig::new()
        .with_model(ModelConfig::Deep(DeepMultiDilationNetConfig::new()))
        .with_epochs(1)
        .with_batch_size(32);
    let out = tempfile::tempdir().unwrap();
    let trained = training::train(&config, &splits, out.path(), &device, false).unwrap();
    assert!(matches!(trained.model, Classifier::Deep(_)));
    let report = evaluate(&trained.model, &splits.test, 500, &device).unwrap();
    println!("{} ({} test images)", report.accuracy_line(), report.count);
    // Measured (see the top of this file; `cargo run --release --example mnist -- train
    // --data mnist --model deep --train-limit 3000 --validation 500 --test-limit 1000
    // --epochs 1 --batch-size 32 --seed S` gives the same numbers): AVX-512, seeds 42, 1-9:
    // 89.10, 90.10, 91.30, 88.90, 89.80, 91.30, 90.50, 89.10, 87.80, 87.60% (standard
    // deviation 1.30: 3k digits and one epoch leave much to chance); AVX2, seeds 42, 1, 2:
    // 89.30, 90.00, 91.10%. Floor: 87.60 - 3 x 1.30 = 83.7, so 83%.
    assert!(report.accuracy >= 0.83, "accuracy {}", report.accuracy);
    // config.json rebuilds the deep model, and the saved weights load into it.
    let (loaded, saved) = training::load(out.path(), &device).unwrap();
    assert!(matches!(saved.model, ModelConfig::Deep(_)));
    assert_eq!(
        evaluate(&loaded, &splits.test, 500, &device).unwrap(),
        report
    );
}
