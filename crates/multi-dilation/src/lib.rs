#![doc = include_str!("../../../README.md")]
//!
//! # Crate map
//! - [`MultiDilationConv2dConfig`] / [`MultiDilationConv2d`]: the layer.
//! - [`Merge`]: how branches combine.
//! - [`MultiDilationNetConfig`] / [`MultiDilationNet`]: the layer, an activation, pooling and a
//!   linear head: a classifier.
//! - [`functional`]: the same math as functions on tensors; [`padding`]: the 'same' rule.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod config;
mod conv;
mod error;
pub mod functional;
mod merge;
mod net;
pub mod padding;

pub use config::MultiDilationConv2dConfig;
pub use conv::MultiDilationConv2d;
pub use error::ConfigError;
pub use merge::Merge;
pub use net::{MultiDilationNet, MultiDilationNetConfig, Pooling};
