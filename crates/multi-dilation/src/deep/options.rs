//! The choices that shape a [`DeepMultiDilationNet`](crate::DeepMultiDilationNet).

use burn::config::Config;
use burn::tensor::Tensor;
use burn::tensor::module::adaptive_avg_pool2d;

use crate::merge::Merge;

/// Whether the branches of a block (of a deep network, or of an atrous pyramid) share one
/// kernel.
#[derive(Config, Debug, Copy, PartialEq, Eq, Hash)]
pub enum Kernels {
    /// One kernel per block, applied at every dilation: a multi-dilation network (KSAC in an
    /// atrous pyramid).
    Shared,
    /// One kernel per block and dilation: the same structure without the sharing, with
    /// `dilations` times the conv parameters. The twin to compare a shared model against (ASPP
    /// in an atrous pyramid).
    Independent,
}

/// How each block normalizes its branches.
#[derive(Config, Debug, Copy, PartialEq, Eq, Hash)]
pub enum BranchNorm {
    /// No normalization.
    None,
    /// One burn `BatchNorm` over every branch (statistics shared across dilations, as
    /// detectron2's `TridentConv` shares its norm).
    Shared,
    /// [`BranchBatchNorm`](crate::BranchBatchNorm): statistics per branch, one affine map.
    PerBranch,
}

/// How a branch list becomes one tensor (scale pooling).
#[derive(Config, Debug, Copy, PartialEq, Eq, Hash)]
pub enum ScalePool {
    /// The maximum over branches (SI-ConvNet, DSS).
    Max,
    /// The mean over branches.
    Mean,
    /// A learned softmax weighting per branch and channel
    /// ([`BranchWeighting`](crate::BranchWeighting)).
    Weighted,
}

impl ScalePool {
    /// The [`Merge`] that computes it, for [`Max`](Self::Max) and [`Mean`](Self::Mean).
    pub(crate) fn merge(self) -> Option<Merge> {
        match self {
            ScalePool::Max => Some(Merge::Max),
            ScalePool::Mean => Some(Merge::Mean),
            ScalePool::Weighted => None,
        }
    }
}

/// Where the branches are pooled over scales.
#[derive(Config, Debug, Copy, PartialEq, Eq, Hash)]
pub enum PoolAt {
    /// After every block, SI-ConvNet style: each block starts from one tensor, and its
    /// branches are pooled over scales before the next.
    EveryBlock,
    /// Once, before the head, TridentNet and DSS style: branch `i` runs at dilation
    /// `dilations[i]` through every block, kept apart from the others.
    BeforeHead,
}

/// How the last feature maps reach the linear head.
#[derive(Config, Debug, Copy, PartialEq, Eq, Hash)]
pub enum HeadPool {
    /// Every position: the head sees `channels * h * w` features.
    Flatten,
    /// The mean over positions: one feature per channel.
    GlobalAverage,
    /// The maximum over positions: one feature per channel; with [`PoolAt::BeforeHead`],
    /// what lets a digit found by a larger dilation reach the head unchanged.
    GlobalMax,
}

impl HeadPool {
    /// The pooled `[batch, channels, h, w]` map.
    pub(crate) fn apply(self, x: Tensor<4>) -> Tensor<4> {
        match self {
            HeadPool::Flatten => x,
            HeadPool::GlobalAverage => adaptive_avg_pool2d(x, [1, 1]),
            HeadPool::GlobalMax => x.max_dim(3).max_dim(2),
        }
    }

    /// Features per channel for a final map of `size`.
    pub(crate) fn features(self, size: [usize; 2]) -> usize {
        match self {
            HeadPool::Flatten => size[0] * size[1],
            HeadPool::GlobalAverage | HeadPool::GlobalMax => 1,
        }
    }
}
