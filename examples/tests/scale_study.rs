//! The scale study end to end in a tiny configuration: the records, tables and plots are
//! written; a rerun reads the records back instead of training; and with every test label
//! changed, no choice changes (the choices read validation data only).

use std::path::Path;

use burn::tensor::Device;
use multi_dilation_examples::study::select::Selections;
use multi_dilation_examples::study::sets::{GeneralisationSets, MnistScaleSets, SetSizes};
use multi_dilation_examples::study::store::{Experiment, RunRecord, Store};
use multi_dilation_examples::study::{self, StudyConfig, StudyDigits, StudySets};
use multi_dilation_mnist::scale::ScaledDigit;

/// The study's digits with every test label moved to the next class: test accuracy collapses,
/// training and validation digits are untouched.
struct WrongTestLabels<'a>(&'a StudyDigits);

fn relabel(digits: &mut [ScaledDigit]) {
    for digit in digits {
        digit.label = (digit.label + 1) % 10;
    }
}

impl StudySets for WrongTestLabels<'_> {
    fn mnist_scale(&self, seed: u64, sizes: &SetSizes) -> MnistScaleSets {
        let mut sets = self.0.mnist_scale(seed, sizes);
        relabel(&mut sets.test);
        sets
    }

    fn generalisation(&self, sizes: &SetSizes, factors: &[f64]) -> GeneralisationSets {
        let mut sets = self.0.generalisation(sizes, factors);
        for (_, digits) in &mut sets.test {
            relabel(digits);
        }
        sets
    }

    fn source(&self) -> String {
        self.0.source()
    }

    fn fingerprint(&self) -> String {
        self.0.fingerprint()
    }
}

fn run(data: &dyn StudySets, out: &Path) -> (Vec<RunRecord>, Selections) {
    study::run(&StudyConfig::tiny(), data, out, &Device::flex()).unwrap()
}

fn of(records: &[RunRecord], experiment: Experiment) -> Vec<&RunRecord> {
    records
        .iter()
        .filter(|r| r.experiment == experiment)
        .collect()
}

#[test]
fn tiny_study_writes_resumes_and_chooses_on_validation_only() {
    let digits = StudyDigits::builtin(1_400);
    let out = tempfile::tempdir().unwrap();
    let (records, selections) = run(&digits, out.path());

    // MNIST-scale: 8 models before the choice, the best shared variant with a flatten head,
    // the twin, on 2 realisations; the convergence check: the CNN and the selected model;
    // generalisation: the sweep's other sigma0 on seed 0, and 5 or 6 models on 2 seeds (the CNN
    // with both heads, the augmented CNN, the anti-aliased model, the selected model unless it
    // is that one, the twin); its convergence check: the CNN, the anti-aliased model, the
    // selected model and the twin on seed 0.
    assert_eq!(of(&records, Experiment::MnistScale).len(), 20);
    assert_eq!(of(&records, Experiment::MnistScaleLong).len(), 2);
    let general = selections.generalisation_models();
    assert!((5..=6).contains(&general.len()), "{general:?}");
    assert_eq!(
        of(&records, Experiment::Generalisation).len(),
        1 + 2 * general.len()
    );
    assert!([0.5, 1.0].contains(&selections.sigma0.unwrap()));
    for record in &records {
        assert!(record.best_epoch >= 1 && record.best_epoch <= record.validation_curve.len());
        assert_eq!(
            record.validation_error,
            record.validation_curve[record.best_epoch - 1]
        );
        match record.experiment {
            Experiment::Generalisation | Experiment::GeneralisationLong => {
                assert_eq!(record.test_by_factor.len(), 9, "factors 1 to 3 by quarters");
                assert_eq!(record.validation_by_factor.len(), 9);
            }
            _ => assert!((0.0..=100.0).contains(&record.test_error.unwrap())),
        }
    }
    let compared = selections.generalisation_compared();
    assert!((3..=4).contains(&compared.len()), "{compared:?}");
    let long_general = of(&records, Experiment::GeneralisationLong);
    assert_eq!(long_general.len(), compared.len());
    assert!(
        long_general
            .iter()
            .all(|r| r.validation_curve.len() == 2 && r.seed == 0)
    );
    let long = of(&records, Experiment::MnistScaleLong);
    assert!(
        long.iter()
            .all(|r| r.validation_curve.len() == 2 && r.seed == 0)
    );
    // One skeleton: every shared model holds the CNN's trainable parameters; the twin three
    // times the conv parameters of the selected model.
    let mnist = of(&records, Experiment::MnistScale);
    let params = |key: &str| {
        let r = mnist.iter().find(|r| r.model == key).unwrap();
        (r.conv_parameters, r.parameters)
    };
    let (cnn_conv, cnn_params) = params("cnn/global-max");
    for key in [
        "shared-every-block/global-max",
        "shared-kept/global-max",
        "shared-kept-one-bn/global-max",
    ] {
        assert_eq!(params(key), (cnn_conv, cnn_params), "{key}");
    }
    let twin = mnist
        .iter()
        .find(|r| r.model.starts_with("twin-of-"))
        .unwrap();
    assert_eq!(twin.conv_parameters, 3 * cnn_conv);

    for stem in ["errors", "scale", "convergence"] {
        let png = std::fs::read(out.path().join(format!("{stem}.png"))).unwrap();
        let decoded = image::load_from_memory(&png).unwrap();
        assert_eq!(
            (decoded.width(), decoded.height()),
            (1200, 640),
            "{stem}.png"
        );
        let svg = std::fs::read_to_string(out.path().join(format!("{stem}.svg"))).unwrap();
        assert!(
            svg.trim_end().ends_with("</svg>") && svg.contains("<text"),
            "{stem}.svg"
        );
    }
    let table = std::fs::read_to_string(out.path().join("results.md")).unwrap();
    assert!(
        table.contains("## Targets") && !table.contains("Partial"),
        "{table}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("results.json")).unwrap())
            .unwrap();
    assert_eq!(json["records"].as_array().unwrap().len(), records.len());

    // A rerun trains nothing: every record is read back as it was written, none rewritten.
    let file = out
        .path()
        .join("runs/mnist-scale/cnn--global-max/seed-0.json");
    let written = std::fs::metadata(&file).unwrap().modified().unwrap();
    let (again, same) = run(&digits, out.path());
    assert_eq!(
        std::fs::metadata(&file).unwrap().modified().unwrap(),
        written
    );
    assert_eq!(same, selections);
    // What the rerun returns is what the store holds (JSON keeps every field; its floats are
    // compared as read back, since a parse may differ from the value written in the last bit).
    let store = Store::new(out.path());
    assert_eq!(again.len(), records.len());
    for (read, first) in again.iter().zip(&records) {
        let stored = store
            .load(read.experiment, &read.model, read.seed, &read.settings)
            .unwrap()
            .unwrap();
        assert!(*read == stored, "{} seed {}", read.model, read.seed);
        assert_eq!((&read.model, read.seed), (&first.model, first.seed));
        assert_eq!(read.best_epoch, first.best_epoch);
    }
    // A record made with other settings is refused, naming the file.
    let err = store
        .load(
            Experiment::MnistScale,
            "cnn/global-max",
            0,
            "other settings",
        )
        .unwrap_err();
    assert!(err.to_string().contains("seed-0.json"), "{err}");

    // Every test label wrong: each choice and every validation number stay the same, the
    // test numbers do not.
    let wrong = tempfile::tempdir().unwrap();
    let (relabelled, choices) = run(&WrongTestLabels(&digits), wrong.path());
    assert_eq!(choices, selections);
    assert_eq!(relabelled.len(), records.len());
    for (a, b) in records.iter().zip(&relabelled) {
        assert_eq!((&a.model, a.seed), (&b.model, b.seed));
        assert_eq!(
            a.validation_curve, b.validation_curve,
            "{} {}",
            a.model, a.seed
        );
        assert_eq!(a.validation_by_factor, b.validation_by_factor);
    }
    let test_numbers = |r: &[RunRecord]| -> Vec<f64> {
        r.iter()
            .flat_map(|r| {
                r.test_error
                    .into_iter()
                    .chain(r.test_by_factor.iter().map(|p| p.1))
            })
            .collect()
    };
    assert_ne!(test_numbers(&records), test_numbers(&relabelled));
}
