#![doc = include_str!("../README.md")]
//!
//! # Crate map
//! - [`MultiDilationConv2dConfig`] / [`MultiDilationConv2d`]: the layer; for signals and
//!   volumes [`MultiDilationConv1d`] and [`MultiDilationConv3d`] (one type,
//!   [`MultiDilationConv`], at three ranks).
//! - [`Merge`]: how branches combine.
//! - [`MultiDilationNetConfig`] / [`MultiDilationNet`]: the layer, an activation, pooling and a
//!   linear head: a classifier.
//! - Where sharing pays: [`MultiDilationConv2d::forward_parallel`] (branches kept apart through
//!   a stack, TridentNet), anti-aliased dilation ([`MultiDilationConv2dConfig::anti_alias`],
//!   [`blur`]), [`BranchBatchNorm`], scale pooling ([`Merge::Max`] and [`Merge::Mean`] over a
//!   branch list, [`BranchWeighting`]), and [`DeepMultiDilationNetConfig`] /
//!   [`DeepMultiDilationNet`], a deep classifier built from them, with its independent-kernel
//!   twin ([`Kernels::Independent`]).
//! - [`AtrousPyramidConfig`] / [`AtrousPyramid`]: KSAC's head (one kernel at atrous rates 6,
//!   12, 18, per-rate batch norm, summed, beside a 1x1 and an image-pooling branch, projected)
//!   and its independent-kernel twin, DeepLabv3's ASPP.
//! - [`ClassificationBatch`] and, with the feature `train`, burn's `TrainStep` and
//!   `InferenceStep` for [`MultiDilationNet`], so `SupervisedTraining` trains it directly.
//! - [`functional`]: the same math as functions on tensors; [`padding`]: the 'same' rule;
//!   [`blur`]: the Gaussian of anti-aliased dilation.
//! - [`Epilogue`]: an activation applied to each branch, inside the fused kernel where it runs.
//! - [`ExecutionPath`] and, with a backend feature that has one (`flex`, `wgpu`, `vulkan`,
//!   `metal`, `cuda`, `rocm`), the module `fused`: one fused kernel for every dilation, forward and
//!   backward, on burn's Flex CPU backend and its CubeCL backend.
//! - With the feature `interop`, the module `interop`: weights from PyTorch and Keras, and back.
#![deny(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// The repository README's snippets are compiled as doctests too (not part of the package).
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct RepositoryReadme;

pub mod blur;
mod branch_norm;
mod config;
mod conv;
mod deep;
mod epilogue;
mod error;
mod execute;
pub mod functional;
#[cfg(any(feature = "flex", cube_kernels))]
pub mod fused;
#[cfg(feature = "interop")]
pub mod interop;
mod merge;
mod net;
pub mod padding;
mod pyramid;
mod ranks;
mod shape;
mod train;
mod weighting;

pub use branch_norm::{BranchBatchNorm, BranchBatchNormConfig};
pub use config::{
    LayerConfig, MultiDilationConv1dConfig, MultiDilationConv2dConfig, MultiDilationConv3dConfig,
};
pub use conv::MultiDilationConv;
pub use deep::{
    BlockNorm, BranchNorm, DeepBlock, DeepMultiDilationNet, DeepMultiDilationNetConfig, HeadPool,
    Kernels, PoolAt, ScalePool,
};
pub use epilogue::Epilogue;
pub use error::ConfigError;
pub use execute::ExecutionPath;
pub use merge::Merge;
pub use net::{MultiDilationNet, MultiDilationNetConfig, Pooling};
pub use pyramid::{AtrousNorm, AtrousPyramid, AtrousPyramidConfig, ConvBnRelu};
pub use ranks::{MultiDilationConv1d, MultiDilationConv2d, MultiDilationConv3d};
pub use shape::BranchLayout;
pub use train::ClassificationBatch;
pub use weighting::{BranchWeighting, BranchWeightingConfig};
