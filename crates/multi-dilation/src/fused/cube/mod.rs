//! [`MultiDilationBackend`](crate::fused::MultiDilationBackend) for burn's CubeCL backend (wgpu,
//! and every other cubecl runtime): direct kernels over NCHW tensors, one thread per element of
//! what each computes.
//!
//! - Forward: a thread owns one `(image, out channel, row, column)` and writes it in every
//!   branch, so each weight it loads serves all dilations. Where the tile's input region fits
//!   in shared memory, a cube of 16 x 16 threads instead owns a tile of positions and 4 output
//!   channels, and reads the tile's input region (with the halo of the largest dilation) once
//!   per input channel (and per branch, for per-branch inputs) into shared memory, where every
//!   branch reads it ([`tiled`]).
//! - Input gradient: a thread owns one input element and gathers, over every branch, the output
//!   positions whose window covers it (no atomics).
//! - Kernel gradient: a thread owns one `(slice of the batch, weight element)` and sums over
//!   the slice's images, every branch and every position; the partial sums of at most 32
//!   slices (however large the batch) are then reduced by burn's `sum_dim`.
//!
//! [`kernels`] holds the `#[cube]` functions; [`launch`] checks the arguments, makes the tensors
//! contiguous, computes each branch's dilation and 'same' padding (from
//! [`same_padding`](crate::padding::same_padding), the one rule every path shares) and launches
//! them. Indices go through each tensor's strides, so any row-major layout works.

mod kernels;
mod launch;
mod tiled;
