//! Accuracy, loss, per-class accuracy and the confusion matrix of a classifier on a dataset.

use burn::data::dataloader::batcher::Batcher;
use burn::tensor::Device;
use multi_dilation::{ClassificationBatch, ConfigError};

use crate::classifier::Classifier;
use multi_dilation_mnist::MnistBatcher;

use crate::data::Digits;

/// What [`evaluate`] measures.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Items evaluated.
    pub count: usize,
    /// Fraction classified correctly, 0 to 1 (NaN for no items: there is no fraction).
    pub accuracy: f64,
    /// Mean cross-entropy (NaN for no items).
    pub loss: f64,
    /// `confusion[true][predicted]` counts.
    pub confusion: [[usize; 10]; 10],
}

impl Report {
    /// Accuracy of each true class (NaN for a class with no items).
    pub fn per_class(&self) -> [f64; 10] {
        std::array::from_fn(|c| {
            let total: usize = self.confusion[c].iter().sum();
            self.confusion[c][c] as f64 / total as f64
        })
    }

    /// The line scripts read: `test accuracy: 99.12%`.
    pub fn accuracy_line(&self) -> String {
        format!("test accuracy: {:.2}%", 100.0 * self.accuracy)
    }

    /// A human-readable table: loss, per-class accuracy, confusion matrix.
    pub fn table(&self) -> String {
        let mut out = format!(
            "items: {}\nloss: {:.4}\naccuracy: {:.2}%\n\nper class:\n",
            self.count,
            self.loss,
            100.0 * self.accuracy
        );
        for (c, acc) in self.per_class().iter().enumerate() {
            out += &format!("  {c}: {:6.2}%\n", 100.0 * acc);
        }
        out += "\nconfusion (rows: true class, columns: predicted):\n     ";
        for c in 0..10 {
            out += &format!("{c:>6}");
        }
        for (t, row) in self.confusion.iter().enumerate() {
            out += &format!("\n  {t}: ");
            for n in row {
                out += &format!("{n:>6}");
            }
        }
        out + "\n"
    }
}

/// Checks a batch size given to [`evaluate`]; the command line calls it before loading
/// anything, so a 0 fails at once.
///
/// # Example
/// ```
/// let err = multi_dilation_examples::evaluate::validate_batch_size(0).unwrap_err();
/// assert_eq!(err.to_string(), "invalid `batch_size` = 0: must be at least 1");
/// ```
pub fn validate_batch_size(batch_size: usize) -> Result<(), ConfigError> {
    if batch_size == 0 {
        return Err(ConfigError::new(
            "batch_size",
            &batch_size,
            "must be at least 1",
        ));
    }
    Ok(())
}

/// Evaluates `net` on `data` in batches of `batch_size` on `device`.
///
/// A `batch_size` of 0 is an error naming it (see [`validate_batch_size`]).
pub fn evaluate(
    net: &Classifier,
    data: &Digits,
    batch_size: usize,
    device: &Device,
) -> Result<Report, ConfigError> {
    validate_batch_size(batch_size)?;
    let mut confusion = [[0usize; 10]; 10];
    let mut loss_sum = 0.0;
    let len = data.len();
    for start in (0..len).step_by(batch_size) {
        let items: Vec<_> = (start..(start + batch_size).min(len))
            .map(|i| data.get(i).expect("in-bounds item"))
            .collect();
        let n = items.len();
        let batch: ClassificationBatch = MnistBatcher.batch(items, device);
        let targets = batch.targets.clone();
        let (logits, loss) = net.forward_loss(batch);
        loss_sum += f64::from(loss.into_scalar::<f32>()) * n as f64;
        let predicted = logits.argmax(1).flatten::<1>(0, 1).into_data();
        let predicted = predicted
            .convert::<i64>()
            .try_into_vec::<i64>()
            .unwrap_or_default();
        let truth = targets
            .into_data()
            .convert::<i64>()
            .try_into_vec::<i64>()
            .unwrap_or_default();
        for (t, p) in truth.iter().zip(&predicted) {
            confusion[*t as usize][*p as usize] += 1;
        }
    }
    let correct: usize = (0..10).map(|c| confusion[c][c]).sum();
    // 0 / 0 is NaN for an empty set: no accuracy rather than a made-up 0%.
    Ok(Report {
        count: len,
        accuracy: correct as f64 / len as f64,
        loss: loss_sum / len as f64,
        confusion,
    })
}
