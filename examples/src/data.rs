//! Where the examples' digits come from: the real MNIST, or the built-in procedural digits.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use burn::data::dataset::Dataset;
use multi_dilation_mnist::{MnistDataset, MnistError, MnistItem, SyntheticDigits, download, files};

/// A shared dataset of digits.
pub type Digits = Arc<dyn Dataset<MnistItem>>;

/// Which data to use.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
pub enum DataChoice {
    /// MNIST if it is found or can be downloaded, else the built-in digits.
    Auto,
    /// MNIST, or an error saying how to provide it.
    Mnist,
    /// The built-in procedural digits (no download; `builtin` works too).
    #[value(alias = "builtin")]
    Synthetic,
}

/// Default size of the validation split held out from the training set.
pub const DEFAULT_VALIDATION: usize = 5_000;

/// Options that pick and trim the data.
#[derive(Debug, Clone)]
pub struct DataOptions {
    /// Which data.
    pub choice: DataChoice,
    /// `--data-dir`; else `MNIST_DIR`; else the user cache folder.
    pub data_dir: Option<PathBuf>,
    /// Size of the validation split taken from the end of the training set.
    pub validation: usize,
    /// Use only the first N training items.
    pub train_limit: Option<usize>,
    /// Use only the first N test items.
    pub test_limit: Option<usize>,
    /// Seed of the built-in digits.
    pub seed: u64,
}

/// Train, validation and test sets, and a description of their origin.
pub struct Splits {
    /// Training items.
    pub train: Digits,
    /// Validation items (disjoint from `train`).
    pub valid: Digits,
    /// Test items.
    pub test: Digits,
    /// `"MNIST (<folder>)"` or `"built-in procedural digits"`.
    pub source: String,
}

fn limit(dataset: MnistDataset, count: Option<usize>) -> MnistDataset {
    match count {
        Some(n) => dataset.take(n),
        None => dataset,
    }
}

/// Loads MNIST from `dir`, downloading what is missing.
pub fn load_mnist(dir: &Path, options: &DataOptions) -> Result<Splits, MnistError> {
    download::ensure(dir, &download::MIRRORS)?;
    let (train, valid) = MnistDataset::train(dir)?.split_validation(options.validation);
    let test = MnistDataset::test(dir)?;
    Ok(Splits {
        train: Arc::new(limit(train, options.train_limit)),
        valid: Arc::new(valid),
        test: Arc::new(limit(test, options.test_limit)),
        source: format!("MNIST ({})", dir.display()),
    })
}

/// The built-in procedural digits: 20,000 (or `train_limit`) for training, the validation
/// size from another stream, 2,000 (or `test_limit`) for testing.
pub fn load_synthetic(options: &DataOptions) -> Splits {
    let seed = options.seed;
    let train = options.train_limit.unwrap_or(20_000);
    let test = options.test_limit.unwrap_or(2_000);
    Splits {
        train: Arc::new(SyntheticDigits::new(train, seed)),
        valid: Arc::new(SyntheticDigits::new(
            options.validation.min(5_000),
            seed ^ 0xA11D,
        )),
        test: Arc::new(SyntheticDigits::new(test, seed ^ 0x7E57)),
        source: "built-in procedural digits".to_string(),
    }
}

/// Why MNIST could not be used, in one line. A failed download keeps only the cause of the
/// first failure: the full error names every URL tried.
fn short_reason(err: &MnistError) -> String {
    match err {
        MnistError::Unavailable { dir, attempts } => {
            let first = attempts.split("; ").next().unwrap_or_default();
            let cause = first.rsplit(": ").next().unwrap_or(first);
            format!("not in {} and the download failed ({cause})", dir.display())
        }
        other => other.to_string(),
    }
}

/// Resolves `options` to datasets. With [`DataChoice::Auto`], a missing MNIST falls back to
/// the built-in digits with a three-line note on stderr.
pub fn load(options: &DataOptions) -> Result<Splits, MnistError> {
    let dir = files::resolve_data_dir(options.data_dir.as_deref());
    match options.choice {
        DataChoice::Synthetic => Ok(load_synthetic(options)),
        DataChoice::Mnist => load_mnist(&dir, options),
        DataChoice::Auto => match load_mnist(&dir, options) {
            Ok(splits) => Ok(splits),
            Err(err) => {
                eprintln!(
                    "note: cannot use MNIST: {}\n\
                     note: using the built-in procedural digits instead: harder, scale-varied \
                     digits, not MNIST\n\
                     note: for MNIST, point --data-dir or MNIST_DIR at its four IDX files; \
                     --data mnist insists on it",
                    short_reason(&err)
                );
                Ok(load_synthetic(options))
            }
        },
    }
}
