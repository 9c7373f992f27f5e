//! How the branches of a multi-dilation convolution are combined.

use burn::config::Config;
use burn::tensor::Tensor;

/// How [`MultiDilationConv2d`](crate::MultiDilationConv2d) combines its branches, one per
/// dilation, each shaped `[batch, out, height, width]` (any rank: the channel axis is 1).
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use multi_dilation::Merge;
///
/// let device = Device::default();
/// let a = Tensor::<4>::ones([1, 2, 3, 3], &device);
/// let b = Tensor::<4>::ones([1, 2, 3, 3], &device).mul_scalar(3.0);
/// assert_eq!(Merge::Concat.apply(vec![a.clone(), b.clone()]).dims(), [1, 4, 3, 3]);
/// let mean = Merge::Mean.apply(vec![a, b]);
/// assert_eq!(mean.dims(), [1, 2, 3, 3]);
/// assert_eq!(mean.sum().into_scalar::<f32>(), 2.0 * 2.0 * 9.0);
/// ```
#[derive(Config, Debug, Copy, PartialEq, Eq, Hash)]
pub enum Merge {
    /// Concatenate on the channel axis, dilation-major: channels `[0, out)` come from the first
    /// dilation, `[out, 2 * out)` from the second, and so on. This is what Keras
    /// `Concatenate()([l1(x), l2(x), l3(x)])` gives. Output channels: `out * dilations.len()`.
    Concat,
    /// Element-wise sum of the branches. Output channels: `out`.
    Sum,
    /// Element-wise mean of the branches. Output channels: `out`.
    Mean,
    /// Element-wise maximum of the branches. Output channels: `out`.
    Max,
}

impl Merge {
    /// Combines `branches` (at least one, all of one shape) into one tensor.
    ///
    /// # Panics
    /// Panics if `branches` is empty or the shapes differ.
    pub fn apply<const D: usize>(self, branches: Vec<Tensor<D>>) -> Tensor<D> {
        assert!(
            !branches.is_empty(),
            "Merge::{self:?}: expected at least one branch, got none"
        );
        let first = branches[0].dims();
        for (i, branch) in branches.iter().enumerate() {
            assert_eq!(
                branch.dims(),
                first,
                "Merge::{self:?}: branch {i} has shape {:?}, expected {first:?} like branch 0",
                branch.dims()
            );
        }
        let count = branches.len();
        match self {
            Merge::Concat => Tensor::cat(branches, 1),
            Merge::Sum => sum(branches),
            Merge::Mean => sum(branches).div_scalar(count as f32),
            Merge::Max => branches
                .into_iter()
                .reduce(|acc, branch| acc.max_pair(branch))
                .expect("checked non-empty above"),
        }
    }

    /// Channels of the merged tensor for `branches` branches of `out` channels each.
    ///
    /// # Example
    /// ```
    /// use multi_dilation::Merge;
    /// assert_eq!(Merge::Concat.output_channels(4, 3), 12);
    /// assert_eq!(Merge::Sum.output_channels(4, 3), 4);
    /// ```
    pub fn output_channels(self, out: usize, branches: usize) -> usize {
        match self {
            Merge::Concat => out * branches,
            Merge::Sum | Merge::Mean | Merge::Max => out,
        }
    }
}

fn sum<const D: usize>(branches: Vec<Tensor<D>>) -> Tensor<D> {
    branches
        .into_iter()
        .reduce(|acc, branch| acc + branch)
        .expect("checked non-empty by the caller")
}
