#![doc = include_str!("../../../README.md")]
//!
//! # Crate map
//! - [`MultiDilationConv2dConfig`] / [`MultiDilationConv2d`]: the layer.
//! - [`Merge`]: how branches combine.
//! - [`MultiDilationNetConfig`] / [`MultiDilationNet`]: the layer, an activation, pooling and a
//!   linear head: a classifier.
//! - [`ClassificationBatch`] and, with the feature `train`, burn's `TrainStep` and
//!   `InferenceStep` for [`MultiDilationNet`], so `SupervisedTraining` trains it directly.
//! - [`functional`]: the same math as functions on tensors; [`padding`]: the 'same' rule.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod config;
mod conv;
mod error;
pub mod functional;
#[cfg(feature = "interop")]
pub mod interop;
mod merge;
mod net;
pub mod padding;
mod train;

pub use config::MultiDilationConv2dConfig;
pub use conv::MultiDilationConv2d;
pub use error::ConfigError;
pub use merge::Merge;
pub use net::{MultiDilationNet, MultiDilationNetConfig, Pooling};
pub use train::ClassificationBatch;
