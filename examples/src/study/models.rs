//! The models of the study: one skeleton (three blocks of 3x3 convolution with 16, 32 and 48
//! channels, batch norm, ReLU, 2x2 max pooling, a pooled linear head) in several variants,
//! each with a global-max or a flattening head, and the first edition's one-layer model for
//! continuity.

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use multi_dilation::{
    BranchNorm, DeepMultiDilationNet, DeepMultiDilationNetConfig, HeadPool, Kernels,
    MultiDilationConv2dConfig, MultiDilationNet, MultiDilationNetConfig, PoolAt, Pooling,
};

/// The shared-kernel variants: dilations 1, 2, 3 with one kernel per block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SharedVariant {
    /// Max over scales after every block (SI-ConvNet style).
    EveryBlock,
    /// Branch `i` at dilation `i` through every block, kept apart, per-branch batch norm, max
    /// over scales before the head (TridentNet and DSS style).
    Kept,
    /// [`Kept`](Self::Kept) with one batch norm for all branches.
    KeptOneNorm,
    /// [`Kept`](Self::Kept) with each branch's input blurred for its dilation: standard
    /// deviation `sigma0 * sqrt(d^2 - 1)` at dilation `d` (DSS).
    KeptAntiAliased {
        /// The blur's base scale.
        sigma0: f64,
    },
}

impl SharedVariant {
    /// The four variants, the anti-aliased one with base scale `sigma0`.
    pub fn all(sigma0: f64) -> [SharedVariant; 4] {
        [
            SharedVariant::EveryBlock,
            SharedVariant::Kept,
            SharedVariant::KeptOneNorm,
            SharedVariant::KeptAntiAliased { sigma0 },
        ]
    }

    fn key(self) -> String {
        match self {
            SharedVariant::EveryBlock => "shared-every-block".into(),
            SharedVariant::Kept => "shared-kept".into(),
            SharedVariant::KeptOneNorm => "shared-kept-one-bn".into(),
            SharedVariant::KeptAntiAliased { sigma0 } => format!("shared-kept-aa{sigma0:.2}"),
        }
    }

    fn label(self) -> String {
        match self {
            SharedVariant::EveryBlock => "shared, max over scales per block".into(),
            SharedVariant::Kept => "shared, branches kept, max before head".into(),
            SharedVariant::KeptOneNorm => "shared, branches kept, one BN for all branches".into(),
            SharedVariant::KeptAntiAliased { sigma0 } => {
                format!("shared, branches kept, anti-aliased (sigma0 {sigma0})")
            }
        }
    }

    /// The configuration of this variant on `skeleton`.
    fn config(self, skeleton: DeepMultiDilationNetConfig) -> DeepMultiDilationNetConfig {
        let kept = skeleton.with_pool_at(PoolAt::BeforeHead);
        match self {
            SharedVariant::EveryBlock => kept.with_pool_at(PoolAt::EveryBlock),
            SharedVariant::Kept => kept,
            SharedVariant::KeptOneNorm => kept.with_norm(BranchNorm::Shared),
            SharedVariant::KeptAntiAliased { sigma0 } => kept.with_anti_alias(Some(sigma0)),
        }
    }
}

/// The architecture of a study model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arch {
    /// The plain CNN: the skeleton at dilation 1 only.
    Cnn,
    /// The plain CNN trained on digits rescaled at random over the test range every epoch: a
    /// reference that sees the test scales in training.
    CnnAugmented,
    /// A shared-kernel model.
    Shared(SharedVariant),
    /// The independent-kernel twin of a shared model (one kernel per block and dilation, the
    /// same norm, pooling and blur).
    Twin(SharedVariant),
    /// The first edition's model (a): one 3x3 layer at dilations 1, 2, 3, concatenated, 2x2
    /// max pooling, a linear head over every position.
    OneLayer,
}

/// One model of the study: an architecture and the head pooling of the skeleton.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelSpec {
    /// The architecture.
    pub arch: Arch,
    /// How the last feature maps reach the linear head (the one-layer model always flattens).
    pub head: HeadPool,
}

impl ModelSpec {
    /// `arch` with `head`.
    pub fn new(arch: Arch, head: HeadPool) -> Self {
        let head = if arch == Arch::OneLayer {
            HeadPool::Flatten
        } else {
            head
        };
        Self { arch, head }
    }

    /// Whether its training digits are rescaled at random every epoch.
    pub fn augmented(&self) -> bool {
        self.arch == Arch::CnnAugmented
    }

    /// The shared variant, for the shared models.
    pub fn shared(&self) -> Option<SharedVariant> {
        match self.arch {
            Arch::Shared(variant) => Some(variant),
            _ => None,
        }
    }

    /// A stable name for file names and the JSON report, e.g. `shared-kept/global-max`.
    pub fn key(&self) -> String {
        let arch = match self.arch {
            Arch::Cnn => "cnn".into(),
            Arch::CnnAugmented => "cnn-scale-augmented".into(),
            Arch::Shared(variant) => variant.key(),
            Arch::Twin(variant) => format!("twin-of-{}", variant.key()),
            Arch::OneLayer => return "first-edition-one-layer".into(),
        };
        format!("{arch}/{}", head_key(self.head))
    }

    /// A short name for tables and plots.
    pub fn label(&self) -> String {
        let arch = match self.arch {
            Arch::Cnn => "CNN (d=1)".into(),
            Arch::CnnAugmented => "CNN (d=1) + scale augmentation [reference]".into(),
            Arch::Shared(variant) => variant.label(),
            Arch::Twin(variant) => format!("independent twin of: {}", variant.label()),
            Arch::OneLayer => return "first edition (a): one layer, concat".into(),
        };
        match self.head {
            HeadPool::GlobalMax => arch,
            HeadPool::Flatten => format!("{arch}; flatten head"),
            HeadPool::GlobalAverage => format!("{arch}; global-average head"),
        }
    }

    /// The model on `device` for images `[1, side, side]`.
    pub fn build(&self, side: usize, device: &Device) -> StudyNet {
        let skeleton = DeepMultiDilationNetConfig::new()
            .with_input_shape([1, side, side])
            .with_head_pool(self.head);
        let deep = |config: DeepMultiDilationNetConfig| StudyNet::Deep(config.init(device));
        match self.arch {
            Arch::Cnn | Arch::CnnAugmented => deep(skeleton.with_dilations(vec![1])),
            Arch::Shared(variant) => deep(variant.config(skeleton)),
            Arch::Twin(variant) => {
                deep(variant.config(skeleton).with_kernels(Kernels::Independent))
            }
            Arch::OneLayer => StudyNet::OneLayer(
                MultiDilationNetConfig::new()
                    .with_input_shape([1, side, side])
                    .with_conv(MultiDilationConv2dConfig::new([1, 16], [3, 3]))
                    .with_pooling(Pooling::Max2x2)
                    .init(device),
            ),
        }
    }
}

/// A shared variant with `head`.
pub fn shared(variant: SharedVariant, head: HeadPool) -> ModelSpec {
    ModelSpec::new(Arch::Shared(variant), head)
}

/// The anti-aliased shared model with the global-max head, at `sigma0`.
pub fn anti_aliased(sigma0: f64) -> ModelSpec {
    shared(
        SharedVariant::KeptAntiAliased { sigma0 },
        HeadPool::GlobalMax,
    )
}

/// The models trained before any choice on MNIST-scale: the plain CNN with either head and
/// with scale augmentation, the four shared variants with the global-max head (the
/// anti-aliased one at `sigma0`), and the first edition's model.
pub fn first_models(sigma0: f64) -> Vec<ModelSpec> {
    let gmax = |arch| ModelSpec::new(arch, HeadPool::GlobalMax);
    let mut models = vec![
        gmax(Arch::Cnn),
        ModelSpec::new(Arch::Cnn, HeadPool::Flatten),
        gmax(Arch::CnnAugmented),
    ];
    models.extend(SharedVariant::all(sigma0).map(|v| shared(v, HeadPool::GlobalMax)));
    models.push(ModelSpec::new(Arch::OneLayer, HeadPool::Flatten));
    models
}

/// The head's name in keys.
pub fn head_key(head: HeadPool) -> &'static str {
    match head {
        HeadPool::GlobalMax => "global-max",
        HeadPool::Flatten => "flatten",
        HeadPool::GlobalAverage => "global-average",
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
