//! Weight import and export (feature `interop`): PyTorch and Keras fixtures, round trips, bad
//! files. Fixtures are made by `tests/fixtures/interop/make_torch.py` and `make_keras.py`.
#![cfg(feature = "interop")]

#[path = "../layer/common.rs"]
#[allow(dead_code)]
mod common;

mod errors;
mod fixtures;
mod half;
mod ranks;
mod roundtrip;
mod stems;

use std::path::PathBuf;

/// The folder of the interop fixtures.
pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/interop")
}
