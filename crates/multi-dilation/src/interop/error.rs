//! [`InteropError`]: what can go wrong reading or writing weight files.

use std::path::PathBuf;

use crate::error::ConfigError;

/// An error importing or exporting weights. Every variant names the file; those about one
/// tensor name the tensor, and a shape error gives the expected and the actual shape.
#[derive(Debug, thiserror::Error)]
pub enum InteropError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The first bytes match no format this crate reads.
    #[error(
        "{path} is not a weight file this crate reads (PyTorch .pt/.pth, safetensors, \
         HDF5 .weights.h5): {reason}"
    )]
    UnknownFormat {
        /// The file.
        path: PathBuf,
        /// What the first bytes looked like.
        reason: String,
    },
    /// The file has a known format but is truncated or corrupt.
    #[error("{path}: corrupt or truncated {format} file: {message}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The format recognized from the first bytes.
        format: &'static str,
        /// The reader's diagnosis.
        message: String,
    },
    /// A tensor the import needs is not in the file.
    #[error("{path}: tensor '{name}' is missing; the file holds: {available}")]
    Missing {
        /// The file.
        path: PathBuf,
        /// The tensor looked for.
        name: String,
        /// The names the file holds, comma-separated.
        available: String,
    },
    /// A tensor holds integers or booleans where weights (floats) were expected.
    #[error(
        "{path}: tensor '{name}' has dtype {dtype}, expected a floating-point tensor (f32, f64, f16 or bf16)"
    )]
    DType {
        /// The file.
        path: PathBuf,
        /// The tensor.
        name: String,
        /// Its dtype as the file names it.
        dtype: String,
    },
    /// A tensor's shape is not the one the configuration implies.
    #[error("{path}: tensor '{name}' has shape {actual:?}, expected {expected:?} ({layout})")]
    Shape {
        /// The file.
        path: PathBuf,
        /// The tensor.
        name: String,
        /// The shape the configuration implies, in the file's layout.
        expected: Vec<usize>,
        /// The shape in the file.
        actual: Vec<usize>,
        /// What the axes of `expected` mean.
        layout: &'static str,
    },
    /// Layers that must hold copies of one kernel hold different values.
    #[error(
        "{path}: '{first}' and '{other}' must hold the same values to be one shared kernel, \
         but differ by up to {max_difference}"
    )]
    NotShared {
        /// The file.
        path: PathBuf,
        /// The tensor taken as the shared one.
        first: String,
        /// A tensor that differs from it.
        other: String,
        /// The largest absolute difference.
        max_difference: f32,
    },
    /// A bias is in the file but the configuration has none, or the other way round.
    #[error("{path}: {message}")]
    Bias {
        /// The file.
        path: PathBuf,
        /// What does not match.
        message: String,
    },
    /// The configuration the weights are imported into is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Writing the exported file failed (nothing is left half-written).
    #[error("cannot write {path}: {message}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
}
