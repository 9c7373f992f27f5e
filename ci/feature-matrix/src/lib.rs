//! Nothing to use: this package exists for its `Cargo.toml` (see the comment there).
