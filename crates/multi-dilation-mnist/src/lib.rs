//! MNIST for the `multi-dilation` crate (and any burn model): an IDX reader (raw or gzip), finding and verified download of
//! the files, burn datasets and a batcher, and a download-free procedural dataset.
//!
//! # Example
//! ```
//! use burn::data::dataloader::batcher::Batcher;
//! use burn::data::dataset::Dataset;
//! use burn::tensor::Device;
//! use multi_dilation_mnist::{MnistBatch, MnistBatcher, SyntheticDigits};
//!
//! let digits = SyntheticDigits::new(8, 0);
//! let items: Vec<_> = (0..8).map(|i| digits.get(i).unwrap()).collect();
//! let batch: MnistBatch = MnistBatcher.batch(items, &Device::default());
//! assert_eq!(batch.images.dims(), [8, 1, 28, 28]);
//! assert_eq!(batch.targets.dims(), [8]);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod augment;
pub mod batcher;
pub mod dataset;
pub mod download;
mod error;
pub mod files;
pub mod idx;
pub mod rng;
pub mod scale;
pub mod synthetic;

pub use augment::ShiftingBatcher;
pub use batcher::{MnistBatch, MnistBatcher};
pub use dataset::{MnistDataset, MnistItem};
pub use error::MnistError;
pub use synthetic::SyntheticDigits;
