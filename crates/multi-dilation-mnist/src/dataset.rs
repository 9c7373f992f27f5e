//! burn datasets of MNIST items.

use std::path::Path;
use std::sync::Arc;

use burn::data::dataset::{Dataset, DatasetError};

use crate::MnistError;
use crate::files::{self, TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS};
use crate::idx::{Images, PIXELS};

/// Default size of the validation split taken from the 60,000 training images.
pub const DEFAULT_VALIDATION: usize = 5_000;

/// One digit: 28x28 gray bytes (row-major, 0 is background) and its class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MnistItem {
    /// 784 gray values.
    pub image: Vec<u8>,
    /// The class, 0 to 9.
    pub label: u8,
}

/// A view of MNIST-format images and labels, shared (cheap to clone and split).
#[derive(Debug, Clone)]
pub struct MnistDataset {
    images: Arc<Images>,
    labels: Arc<Vec<u8>>,
    indices: Arc<[usize]>,
}

impl MnistDataset {
    /// A dataset of `images` and `labels`, which must have the same count.
    pub fn new(images: Images, labels: Vec<u8>) -> Result<Self, MnistError> {
        if images.count != labels.len() {
            return Err(MnistError::CountMismatch {
                images: images.count,
                labels: labels.len(),
            });
        }
        let indices = (0..labels.len()).collect();
        Ok(Self {
            images: Arc::new(images),
            labels: Arc::new(labels),
            indices,
        })
    }

    /// The 60,000 training images in `dir` (raw or gzip files).
    pub fn train(dir: &Path) -> Result<Self, MnistError> {
        let (images, labels) = files::read_pair(dir, TRAIN_IMAGES, TRAIN_LABELS)?;
        Self::new(images, labels)
    }

    /// The 10,000 test images in `dir`.
    pub fn test(dir: &Path) -> Result<Self, MnistError> {
        let (images, labels) = files::read_pair(dir, TEST_IMAGES, TEST_LABELS)?;
        Self::new(images, labels)
    }

    /// Deterministic split: the first `len - validation` items train, the last `validation`
    /// validate (MNIST's usual 55,000 / 5,000 with [`DEFAULT_VALIDATION`]).
    pub fn split_validation(&self, validation: usize) -> (Self, Self) {
        let cut = self.indices.len().saturating_sub(validation);
        (self.select(0..cut), self.select(cut..self.indices.len()))
    }

    /// The first `count` items (all if fewer).
    pub fn take(&self, count: usize) -> Self {
        self.select(0..count.min(self.indices.len()))
    }

    fn select(&self, range: std::ops::Range<usize>) -> Self {
        Self {
            images: self.images.clone(),
            labels: self.labels.clone(),
            indices: self.indices[range].into(),
        }
    }
}

impl Dataset<MnistItem> for MnistDataset {
    fn get(&self, index: usize) -> Result<MnistItem, DatasetError> {
        let i = self.indices[index];
        Ok(MnistItem {
            image: self.images.pixels[i * PIXELS..(i + 1) * PIXELS].to_vec(),
            label: self.labels[i],
        })
    }

    fn len(&self) -> usize {
        self.indices.len()
    }
}
