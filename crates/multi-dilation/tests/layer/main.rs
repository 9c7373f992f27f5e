//! Tests of `MultiDilationConv2d` and `MultiDilationNet` against independent references.
//!
//! The backend is flex unless burn's `BURN_DEVICE` names another compiled one, for example
//! `BURN_DEVICE=ndarray cargo test -p multi-dilation` or
//! `BURN_DEVICE=wgpu cargo test -p multi-dilation --features wgpu`.

mod common;

mod backends;
mod deep;
mod edge;
mod equivalence;
mod errors;
mod fixtures;
mod gradients;
mod net;
mod parallel;
mod parallel_fixtures;
mod paths;
mod persistence;
mod pyramid;
mod pyramid_fixtures;
mod quickstart;
mod ranks;
mod stacked;
