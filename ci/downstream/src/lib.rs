//! A user's crate: nothing of its own, only the tests in `tests/` that use multi-dilation as a
//! dependency.
