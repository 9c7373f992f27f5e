//! The models of the study: one skeleton (three blocks of 3x3 convolution with 16, 32 and 48
//! channels, batch norm, ReLU, 2x2 max pooling, a pooled linear head: global max by default)
//! in several variants, and the first edition's one-layer model for continuity.

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use multi_dilation::{
    BranchNorm, DeepMultiDilationNet, DeepMultiDilationNetConfig, HeadPool, Kernels,
    MultiDilationConv2dConfig, MultiDilationNet, MultiDilationNetConfig, PoolAt, Pooling,
};

/// The base scale of anti-aliased dilation in the study: the branch at dilation `d` is
/// blurred with standard deviation `0.5 * sqrt(d^2 - 1)` (0.87 at 2, 1.41 at 3).
pub const ANTI_ALIAS: f64 = 0.5;

/// Which model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// The plain CNN: the skeleton at dilation 1 only.
    Cnn,
    /// The plain CNN with a flattening head (every position) instead of the global max.
    CnnFlatten,
    /// One kernel per block at dilations 1, 2, 3, max over scales after every block.
    SharedEveryBlock,
    /// One kernel per block at dilations 1, 2, 3, branches kept apart, max before the head.
    SharedBeforeHead,
    /// [`SharedBeforeHead`](Self::SharedBeforeHead) with one batch norm for all branches.
    SharedBeforeHeadSharedNorm,
    /// [`SharedBeforeHead`](Self::SharedBeforeHead) with anti-aliased dilation.
    SharedBeforeHeadAntiAlias,
    /// The independent-kernel twin of a shared model (one kernel per block and dilation).
    Twin(SharedVariant),
    /// The first edition's model (a): one 3x3 layer at dilations 1, 2, 3, concatenated, 2x2
    /// max pooling, a linear head.
    OneLayer,
}

/// The shared models, whose twin the study may train.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharedVariant {
    /// [`ModelKind::SharedEveryBlock`].
    EveryBlock,
    /// [`ModelKind::SharedBeforeHead`].
    BeforeHead,
    /// [`ModelKind::SharedBeforeHeadSharedNorm`].
    BeforeHeadSharedNorm,
    /// [`ModelKind::SharedBeforeHeadAntiAlias`].
    BeforeHeadAntiAlias,
}

impl SharedVariant {
    /// The shared model.
    pub fn kind(self) -> ModelKind {
        match self {
            SharedVariant::EveryBlock => ModelKind::SharedEveryBlock,
            SharedVariant::BeforeHead => ModelKind::SharedBeforeHead,
            SharedVariant::BeforeHeadSharedNorm => ModelKind::SharedBeforeHeadSharedNorm,
            SharedVariant::BeforeHeadAntiAlias => ModelKind::SharedBeforeHeadAntiAlias,
        }
    }
}

impl ModelKind {
    /// The models trained before the twin, in the study's order.
    pub const FIRST: [ModelKind; 7] = [
        ModelKind::Cnn,
        ModelKind::CnnFlatten,
        ModelKind::SharedEveryBlock,
        ModelKind::SharedBeforeHead,
        ModelKind::SharedBeforeHeadSharedNorm,
        ModelKind::SharedBeforeHeadAntiAlias,
        ModelKind::OneLayer,
    ];

    /// The shared variants, whose best gets a twin.
    pub const SHARED: [SharedVariant; 4] = [
        SharedVariant::EveryBlock,
        SharedVariant::BeforeHead,
        SharedVariant::BeforeHeadSharedNorm,
        SharedVariant::BeforeHeadAntiAlias,
    ];

    /// A short name for tables and plots.
    pub fn label(self) -> String {
        match self {
            ModelKind::Cnn => "CNN (d=1)".into(),
            ModelKind::CnnFlatten => "CNN (d=1), flatten head".into(),
            ModelKind::SharedEveryBlock => "shared, max over scales per block".into(),
            ModelKind::SharedBeforeHead => "shared, branches kept, max before head".into(),
            ModelKind::SharedBeforeHeadSharedNorm => {
                "shared, branches kept, one BN for all branches".into()
            }
            ModelKind::SharedBeforeHeadAntiAlias => {
                "shared, branches kept, anti-aliased dilation".into()
            }
            ModelKind::Twin(variant) => format!("independent twin of: {}", variant.kind().label()),
            ModelKind::OneLayer => "first edition (a): one layer, concat".into(),
        }
    }

    /// The model on `device` for images `[1, side, side]`, with `head` as the skeleton's head
    /// pooling (the flatten-head CNN keeps its own).
    pub fn build(self, side: usize, head: HeadPool, device: &Device) -> StudyNet {
        let skeleton = DeepMultiDilationNetConfig::new()
            .with_input_shape([1, side, side])
            .with_head_pool(head);
        let deep = |config: DeepMultiDilationNetConfig| StudyNet::Deep(config.init(device));
        match self {
            ModelKind::Cnn => deep(skeleton.with_dilations(vec![1])),
            ModelKind::CnnFlatten => deep(
                skeleton
                    .with_dilations(vec![1])
                    .with_head_pool(HeadPool::Flatten),
            ),
            ModelKind::SharedEveryBlock
            | ModelKind::SharedBeforeHead
            | ModelKind::SharedBeforeHeadSharedNorm
            | ModelKind::SharedBeforeHeadAntiAlias => deep(self.shared_config(skeleton)),
            ModelKind::Twin(variant) => deep(
                variant
                    .kind()
                    .shared_config(skeleton)
                    .with_kernels(Kernels::Independent),
            ),
            ModelKind::OneLayer => StudyNet::OneLayer(
                MultiDilationNetConfig::new()
                    .with_input_shape([1, side, side])
                    .with_conv(MultiDilationConv2dConfig::new([1, 16], [3, 3]))
                    .with_pooling(Pooling::Max2x2)
                    .init(device),
            ),
        }
    }

    /// The configuration of a shared model on `skeleton`.
    fn shared_config(self, skeleton: DeepMultiDilationNetConfig) -> DeepMultiDilationNetConfig {
        let kept = skeleton.with_pool_at(PoolAt::BeforeHead);
        match self {
            ModelKind::SharedEveryBlock => kept.with_pool_at(PoolAt::EveryBlock),
            ModelKind::SharedBeforeHeadSharedNorm => kept.with_norm(BranchNorm::Shared),
            ModelKind::SharedBeforeHeadAntiAlias => kept.with_anti_alias(Some(ANTI_ALIAS)),
            _ => kept,
        }
    }
}

/// Any of the study's models.
// A handful exist at a time; boxing the large variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum StudyNet {
    /// The skeleton's variants.
    Deep(DeepMultiDilationNet),
    /// The first edition's one-layer model.
    OneLayer(MultiDilationNet),
}

impl StudyNet {
    /// Logits `[batch, 10]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        match self {
            StudyNet::Deep(net) => net.forward(images),
            StudyNet::OneLayer(net) => net.forward(images),
        }
    }

    /// Parameters of the convolution(s), and trainable parameters of the whole model (burn's
    /// `num_params` also counts batch norm's running statistics; they are left out here).
    pub fn parameter_counts(&self) -> (usize, usize) {
        match self {
            StudyNet::Deep(net) => (net.conv_parameters(), net.trainable_params()),
            StudyNet::OneLayer(net) => (net.conv.num_params(), net.num_params()),
        }
    }
}
