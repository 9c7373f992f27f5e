//! [`DeepMultiDilationNet`]: a deep classifier of branch-parallel multi-dilation blocks with
//! scale pooling, and its configuration.

mod config;
mod net;
mod options;

pub use config::DeepMultiDilationNetConfig;
pub use net::{BlockNorm, DeepBlock, DeepMultiDilationNet};
pub use options::{BranchNorm, HeadPool, Kernels, PoolAt, ScalePool};
