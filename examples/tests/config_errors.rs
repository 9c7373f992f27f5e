//! User values out of range are errors that name the field and the value, before anything is
//! loaded or written: no silent clamping of a batch size or an epoch count of 0.

use burn::tensor::Device;
use multi_dilation::MultiDilationNetConfig;
use multi_dilation_examples::classifier::ModelConfig;
use multi_dilation_examples::data::{self, DataChoice, DataOptions, Splits};
use multi_dilation_examples::evaluate::{evaluate, validate_batch_size};
use multi_dilation_examples::study::fit::Budget;
use multi_dilation_examples::training::{self, TrainingConfig};

fn splits(train_limit: usize) -> Splits {
    data::load(&DataOptions {
        choice: DataChoice::Synthetic,
        data_dir: None,
        validation: 20,
        train_limit: Some(train_limit),
        test_limit: Some(20),
        seed: 1,
    })
    .unwrap()
}

/// The error `train` gives for `config`, after checking that it wrote nothing.
fn train_error(config: &TrainingConfig, splits: &Splits) -> String {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("run");
    let err = training::train(config, splits, &dir, &Device::flex(), false)
        .err()
        .expect("an error")
        .to_string();
    assert!(!dir.exists(), "{err}: the output folder was created anyway");
    err
}

#[test]
fn training_values_out_of_range_are_errors_naming_field_and_value() {
    let splits = splits(10);
    let base = TrainingConfig::new();
    let cases = [
        (
            base.clone().with_batch_size(0),
            "invalid `batch_size` = 0: must be at least 1",
        ),
        (
            base.clone().with_epochs(0),
            "invalid `epochs` = 0: must be at least 1",
        ),
        (
            base.clone().with_learning_rate(f64::NAN),
            "invalid `learning_rate` = NaN: must be greater than 0 and at most 1",
        ),
        (
            base.clone().with_learning_rate(0.0),
            "invalid `learning_rate` = 0.0: must be greater than 0 and at most 1",
        ),
    ];
    for (config, expected) in cases {
        assert_eq!(config.validate().unwrap_err().to_string(), expected);
        assert_eq!(train_error(&config, &splits), expected);
    }

    // A model field is named with its path from the training config.
    let mut single = MultiDilationNetConfig::new();
    single.conv.dilations = vec![1, 0];
    let err = base
        .clone()
        .with_model(ModelConfig::Single(single))
        .validate()
        .unwrap_err();
    assert!(err.field.starts_with("model."), "{err}");
    assert!(err.field.ends_with("dilations"), "{err}");
    assert_eq!(err.value, "[1, 0]");

    assert!(base.validate().is_ok(), "the defaults are valid");
}

#[test]
fn an_empty_training_split_is_an_error() {
    let err = train_error(&TrainingConfig::new(), &splits(0));
    assert_eq!(err, "no training images: the training split is empty");
}

#[test]
fn evaluating_in_batches_of_zero_is_an_error() {
    let splits = splits(10);
    let device = Device::flex();
    let model = TrainingConfig::new().model.init(&device);
    let expected = "invalid `batch_size` = 0: must be at least 1";
    assert_eq!(validate_batch_size(0).unwrap_err().to_string(), expected);
    let err = evaluate(&model, &splits.test, 0, &device).unwrap_err();
    assert_eq!(err.to_string(), expected);
    // Any batch size covers every item once.
    let whole = evaluate(&model, &splits.test, 20, &device).unwrap();
    let ragged = evaluate(&model, &splits.test, 7, &device).unwrap();
    assert_eq!(whole.count, 20);
    assert_eq!(whole.confusion, ragged.confusion);
}

#[test]
fn a_study_budget_out_of_range_is_an_error() {
    let good = Budget {
        epochs: 2,
        batch_size: 64,
        learning_rate: 3e-3,
    };
    assert!(good.validate().is_ok());
    let cases = [
        (
            Budget { epochs: 0, ..good },
            "invalid `epochs` = 0: must be at least 1",
        ),
        (
            Budget {
                batch_size: 0,
                ..good
            },
            "invalid `batch_size` = 0: must be at least 1",
        ),
        (
            Budget {
                learning_rate: -1.0,
                ..good
            },
            "invalid `learning_rate` = -1.0: must be a positive finite number",
        ),
    ];
    for (budget, expected) in cases {
        assert_eq!(budget.validate().unwrap_err().to_string(), expected);
    }
}
