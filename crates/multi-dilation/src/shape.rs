//! The shape rules of the crate: how one tensor holds the branches of a multi-dilation
//! convolution, what an input must look like, and which dilation lists are valid. This module
//! imports nothing from the crate but [`ConfigError`], so every other module may use it.

use burn::tensor::Tensor;

use crate::error::ConfigError;

/// How one tensor holds the branches of a multi-dilation convolution.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use multi_dilation::{BranchLayout, MultiDilationConv2dConfig};
///
/// let device = Device::default();
/// let layer = MultiDilationConv2dConfig::new([4, 8], [3, 3]).init(&device);
/// // BranchLayout::Shared: one input, the branches concatenated on the channel axis.
/// assert_eq!(layer.forward(Tensor::<4>::ones([2, 4, 10, 10], &device)).dims(), [2, 24, 10, 10]);
/// // BranchLayout::Stacked: three branches of two images each, branch-major, in and out.
/// let y = layer.forward_parallel_stacked(Tensor::<4>::ones([3 * 2, 4, 10, 10], &device));
/// assert_eq!(y.dims(), [6, 8, 10, 10]);
/// # let _ = (BranchLayout::Shared, BranchLayout::Stacked);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BranchLayout {
    /// One input `[batch, in, ..]` that every branch convolves; the branches come out
    /// concatenated on the channel axis, `[batch, branches * out, ..]`.
    Shared,
    /// One input per branch, stacked on the batch axis branch-major: `[branches * batch, in, ..]`
    /// where images `i * batch .. (i + 1) * batch` are branch `i`'s; the branches come out
    /// stacked the same way, `[branches * batch, out, ..]`. Each branch is one contiguous block,
    /// so stacking and splitting them are plain copies and views.
    Stacked,
}

/// `[batch, C, height, width]` and the like for a tensor of rank `D` with `channels`.
fn layout_text(rank: usize, channels: &str) -> String {
    let spatial = match rank {
        3 => "length",
        4 => "height, width",
        5 => "depth, height, width",
        _ => "..",
    };
    format!("[batch, {channels}, {spatial}]")
}

/// Panics unless `dims` has `expected` channels (axis 1); `what` names the caller. The message
/// gives the expected and actual shapes.
pub(crate) fn check_channels<const D: usize>(dims: &[usize; D], expected: usize, what: &str) {
    assert_eq!(
        dims[1],
        expected,
        "{what}: expected an input of shape {}, got {dims:?}",
        layout_text(D, &expected.to_string())
    );
}

/// Panics unless the batch of `x` holds `count` branches of equal size, stacked branch-major
/// ([`BranchLayout::Stacked`]); `what` names the caller.
pub(crate) fn check_stacked_on_batch<const D: usize>(x: &Tensor<D>, count: usize, what: &str) {
    let dims = x.dims();
    let layout = layout_text(D, "channels").replacen("batch", &format!("{count} * batch"), 1);
    assert!(
        dims[0].is_multiple_of(count),
        "{what}: expected the {count} branches stacked on the batch axis, {layout}, got {dims:?} \
         (a batch of {} is not a multiple of {count})",
        dims[0]
    );
}

/// Panics unless `branches` holds `expected` tensors of one shape; `what` names the caller.
pub(crate) fn check_branch_list<const D: usize>(
    branches: &[Tensor<D>],
    expected: usize,
    what: &str,
) {
    assert_eq!(
        branches.len(),
        expected,
        "{what}: expected {expected} branch inputs (one per dilation), got {}",
        branches.len()
    );
    if let Some(first) = branches.first() {
        let first = first.dims();
        for (i, branch) in branches.iter().enumerate() {
            assert_eq!(
                branch.dims(),
                first,
                "{what}: every branch input must have the shape of branch 0, {first:?}; \
                 branch {i} has {:?}",
                branch.dims()
            );
        }
    }
}

/// The rule every list of dilations obeys: not empty, every entry at least 1.
pub(crate) fn validate_dilations(dilations: &[usize]) -> Result<(), ConfigError> {
    if dilations.is_empty() {
        return Err(ConfigError::new(
            "dilations",
            &dilations,
            "at least one dilation is required",
        ));
    }
    if dilations.contains(&0) {
        return Err(ConfigError::new(
            "dilations",
            &dilations,
            "every dilation must be at least 1",
        ));
    }
    Ok(())
}
