//! The MNIST pipeline end to end on flex: training reaches its accuracy targets, `predict`
//! classifies a PNG, bad files give one-line errors.

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
    let report = evaluate(&trained.model, &splits.test, 500, &device);
    println!("{} ({} test images)", report.accuracy_line(), report.count);

    // The saved model, loaded back as `eval` and `predict` do, gives the same accuracy.
    let (loaded, _) = training::load(out, &device).unwrap();
    assert_eq!(evaluate(&loaded, &splits.test, 500, &device), report);

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
fn builtin_digits_one_epoch_reaches_85_percent() {
    let splits = data::load(&options(DataChoice::Synthetic, None)).unwrap();
    let out = tempfile::tempdir().unwrap();
    let accuracy = one_epoch_then_predict(&splits, out.path());
    // The built-in digits are hard on purpose (scale-varied, cluttered, noisy): this run
    // measured 90.95%, too close to 90% for a floor; the example's default run (six epochs of
    // 20k) reaches 94.45%.
    assert!(accuracy >= 0.85, "accuracy {accuracy}");
}

#[test]
fn mnist_10k_subset_one_epoch_reaches_97_percent() {
    let Some(dir) = std::env::var_os("MNIST_DIR") else {
        eprintln!("skipped: MNIST_DIR is not set (.ci/run sets it to ../shared/data/mnist)");
        return;
    };
    let splits = data::load(&options(DataChoice::Mnist, Some(dir.into()))).unwrap();
    assert_eq!((splits.train.len(), splits.test.len()), (10_000, 2_000));
    let out = tempfile::tempdir().unwrap();
    let accuracy = one_epoch_then_predict(&splits, out.path());
    // The default model (64 channels of 5x5, 4x4 pooling) measured 97.40% here with the
    // default seed (97.35%, 97.05% and 97.00% with seeds 1, 2 and 3).
    assert!(accuracy >= 0.97, "accuracy {accuracy}");
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
    let report = evaluate(&trained.model, &splits.test, 500, &device);
    println!("{} ({} test images)", report.accuracy_line(), report.count);
    // Measured 89.10% here (3k digits, one epoch, 3 s of training): the floor leaves room for
    // the other rounding of other CPUs and still fails a model that does not learn (10%).
    assert!(report.accuracy >= 0.80, "accuracy {}", report.accuracy);
    // config.json rebuilds the deep model, and the saved weights load into it.
    let (loaded, saved) = training::load(out.path(), &device).unwrap();
    assert!(matches!(saved.model, ModelConfig::Deep(_)));
    assert_eq!(evaluate(&loaded, &splits.test, 500, &device), report);
}
