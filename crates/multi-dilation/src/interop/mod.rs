//! Bring your kernel: weights from PyTorch and Keras into [`MultiDilationConv2d`] and
//! [`MultiDilationNet`], and back out in PyTorch's layout (feature `interop`, opt-in).
//!
//! 1. [`WeightFile::open`] reads a PyTorch `.pt`/`.pth` (through burn-store's reader), a
//!    safetensors file, or a Keras 3 `.weights.h5` (a pure-Rust HDF5 reader: no Python and
//!    no libhdf5 needed); the format is recognized from the bytes.
//! 2. [`pytorch::load_conv`] / [`pytorch::load_net`] or [`keras::load_conv`] /
//!    [`keras::load_net`] build the module of a configuration from it; every shape is checked
//!    against the configuration and [`layout`] maps the axes.
//! 3. [`pytorch::save`] writes safetensors that a PyTorch module loads with
//!    `load_state_dict`.
//!
//! The dilations, stride, merge and pooling are not in weight files: they come from the
//! configuration, which must match the model the weights were trained in.
//!
//! [`MultiDilationConv2d`]: crate::MultiDilationConv2d
//! [`MultiDilationNet`]: crate::MultiDilationNet

mod assemble;
mod error;
mod file;
pub mod keras;
pub mod layout;
pub mod pytorch;
mod read;

pub use error::InteropError;
pub use file::{WeightFile, WeightFormat};
