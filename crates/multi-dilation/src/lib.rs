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
//! - [`ExecutionPath`] and, with the feature `flex` or `wgpu`, [`fused`]: one fused kernel for
//!   every dilation, forward and backward, on burn's Flex CPU backend and its CubeCL backend.
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod config;
mod conv;
mod error;
pub mod functional;
#[cfg(any(feature = "flex", feature = "wgpu"))]
pub mod fused;
#[cfg(feature = "interop")]
pub mod interop;
mod merge;
mod net;
pub mod padding;
mod path;
mod train;

pub use config::MultiDilationConv2dConfig;
pub use conv::MultiDilationConv2d;
pub use error::ConfigError;
pub use merge::Merge;
pub use net::{MultiDilationNet, MultiDilationNetConfig, Pooling};
pub use path::ExecutionPath;
pub use train::ClassificationBatch;
