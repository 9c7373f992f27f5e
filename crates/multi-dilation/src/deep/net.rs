//! [`DeepMultiDilationNet`]: blocks of branch-parallel multi-dilation convolution with scale
//! pooling, a classifier.

use burn::module::Module;
use burn::nn::{BatchNorm, Linear};
use burn::tensor::Tensor;
use burn::tensor::activation::relu;
use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;

use super::options::{HeadPool, Kernels, PoolAt, ScalePool};
use crate::branch_norm::BranchBatchNorm;
use crate::ranks::MultiDilationConv2d;
use crate::shape::BranchLayout;
use crate::weighting::BranchWeighting;

/// The normalization of one block.
#[derive(Module, Debug)]
pub enum BlockNorm {
    /// Statistics shared by the branches: burn's `BatchNorm` over the branches stacked on the
    /// batch axis.
    Shared(BatchNorm),
    /// Statistics per branch.
    PerBranch(BranchBatchNorm),
}

/// One block: convolution at every dilation, normalization, ReLU, 2x2 max pooling.
#[derive(Module, Debug)]
pub struct DeepBlock {
    /// One shared convolution at every dilation, or one single-dilation convolution per
    /// branch ([`Kernels::Independent`]).
    pub convs: Vec<MultiDilationConv2d>,
    /// The branch normalization, if any.
    pub norm: Option<BlockNorm>,
    /// The learned scale pooling after this block ([`ScalePool::Weighted`] with
    /// [`PoolAt::EveryBlock`]).
    pub weighting: Option<BranchWeighting>,
}

/// A deep multi-dilation classifier: blocks of one kernel at several dilations, the branches
/// normalized and pooled over scales after every block or once before the head (see
/// [`DeepMultiDilationNetConfig`](crate::DeepMultiDilationNetConfig), which builds it and
/// whose example shows it in use).
///
/// # Shapes
/// - input: `[batch, channels, height, width]` of the config's `input_shape`
/// - output: logits `[batch, classes]`
#[derive(Module, Debug)]
pub struct DeepMultiDilationNet {
    /// The blocks, in order.
    pub blocks: Vec<DeepBlock>,
    /// The learned scale pooling before the head ([`ScalePool::Weighted`] with
    /// [`PoolAt::BeforeHead`]).
    pub weighting: Option<BranchWeighting>,
    /// The classifier.
    pub head: Linear,
    #[module(skip)]
    pub(crate) kernels: Kernels,
    #[module(skip)]
    pub(crate) scale_pool: ScalePool,
    #[module(skip)]
    pub(crate) pool_at: PoolAt,
    #[module(skip)]
    pub(crate) head_pool: HeadPool,
}

impl DeepMultiDilationNet {
    /// Logits `[batch, classes]` for `images`.
    ///
    /// # Panics
    /// Panics if `images` does not have the configured channels (the message gives the
    /// expected and actual shapes).
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let features = self.features(images);
        let pooled = self.head_pool.apply(features);
        self.head.forward(pooled.flatten::<2>(1, 3))
    }

    /// The last block's output pooled over scales, `[batch, channels, h, w]`, before the head.
    pub fn features(&self, images: Tensor<4>) -> Tensor<4> {
        // What flows between blocks: one tensor every branch reads, or the branches stacked on
        // the batch axis (the layout the fused kernel takes and gives), so that the branches
        // are split only where they are pooled.
        let mut features = (BranchLayout::Shared, images);
        let mut count = 1;
        for block in &self.blocks {
            count = block.branch_count(self.kernels);
            let stacked = block.forward_stacked(features, self.kernels);
            features = match self.pool_at {
                PoolAt::EveryBlock => (
                    BranchLayout::Shared,
                    self.pool(stacked.chunk(count, 0), block.weighting.as_ref()),
                ),
                PoolAt::BeforeHead => (BranchLayout::Stacked, stacked),
            };
        }
        match features {
            (BranchLayout::Shared, x) => x,
            (BranchLayout::Stacked, x) => self.pool(x.chunk(count, 0), self.weighting.as_ref()),
        }
    }

    /// Parameters of the convolutions alone.
    pub fn conv_parameters(&self) -> usize {
        self.blocks
            .iter()
            .flat_map(|block| &block.convs)
            .map(Module::num_params)
            .sum()
    }

    /// The parameters training changes: burn's `num_params` without batch norm's running
    /// statistics (which it counts too, and which differ between a shared model with per-branch
    /// statistics and its plain CNN though their trainable parameters are the same).
    pub fn trainable_params(&self) -> usize {
        let running: usize = self
            .blocks
            .iter()
            .filter_map(|block| block.norm.as_ref())
            .map(|norm| match norm {
                BlockNorm::PerBranch(n) => 2 * n.running_mean.value().shape().num_elements(),
                BlockNorm::Shared(n) => 2 * n.running_mean.value().shape().num_elements(),
            })
            .sum();
        self.num_params() - running
    }

    /// The learned scale weights ([`ScalePool::Weighted`]): for each place where branches are
    /// pooled, `[branches, channels]`, each column summing to 1. Empty for the other poolings.
    pub fn scale_weights(&self) -> Vec<Tensor<2>> {
        self.blocks
            .iter()
            .filter_map(|block| block.weighting.as_ref())
            .chain(self.weighting.as_ref())
            .map(BranchWeighting::weights)
            .collect()
    }

    fn pool(&self, branches: Vec<Tensor<4>>, weighting: Option<&BranchWeighting>) -> Tensor<4> {
        match (self.scale_pool.merge(), weighting) {
            (Some(merge), _) => merge.apply(branches),
            (None, Some(weighting)) => weighting.forward(branches),
            (None, None) => unreachable!("the config builds a weighting for ScalePool::Weighted"),
        }
    }
}

impl DeepBlock {
    /// The number of branches: the shared convolution's dilations, or one independent
    /// convolution per branch.
    fn branch_count(&self, kernels: Kernels) -> usize {
        match kernels {
            Kernels::Shared => self.convs[0].dilations().len(),
            Kernels::Independent => self.convs.len(),
        }
    }

    /// The block's branches, stacked on the batch axis branch-major, from the previous
    /// block's features in their layout.
    fn forward_stacked(&self, features: (BranchLayout, Tensor<4>), kernels: Kernels) -> Tensor<4> {
        let count = self.branch_count(kernels);
        let stacked = match (kernels, features) {
            (Kernels::Shared, (BranchLayout::Shared, x)) => {
                Tensor::cat(self.convs[0].forward_branches(x), 0)
            }
            (Kernels::Shared, (BranchLayout::Stacked, x)) => {
                self.convs[0].forward_parallel_stacked(x)
            }
            (Kernels::Independent, (BranchLayout::Shared, x)) => Tensor::cat(
                self.convs
                    .iter()
                    .map(|conv| conv.forward(x.clone()))
                    .collect(),
                0,
            ),
            (Kernels::Independent, (BranchLayout::Stacked, x)) => Tensor::cat(
                self.convs
                    .iter()
                    .zip(x.chunk(count, 0))
                    .map(|(conv, x)| conv.forward(x))
                    .collect(),
                0,
            ),
        };
        // ReLU and pooling act on each image alone, and a norm shared by the branches takes
        // them stacked; only per-branch statistics need the branches apart.
        let normalized = match &self.norm {
            None => stacked,
            Some(BlockNorm::PerBranch(norm)) => {
                Tensor::cat(norm.forward(stacked.chunk(count, 0)), 0)
            }
            Some(BlockNorm::Shared(norm)) => norm.forward(stacked),
        };
        max_pool2d(relu(normalized), MaxPoolOptions::new([2, 2]))
    }
}
