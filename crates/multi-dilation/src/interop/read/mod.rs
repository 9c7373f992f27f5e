//! The readers behind `WeightFile::open`, one per format: each turns a file's bytes into
//! [`Stored`] tensors by name, and none knows the others or the public types above them. What
//! they share is in [`stored`]: the tensor they produce, the bound on the size a header may
//! claim, and the one table of float dtypes read as `f32`.

pub(super) mod hdf5;
pub(super) mod safetensors;
mod stored;
pub(super) mod torch;
mod zip_repair;

pub(super) use stored::Stored;
