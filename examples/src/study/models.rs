//! The four models of the study: one shared kernel, independent kernels, and two
//! single-dilation CNNs matched to them in parameters.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig, Relu};
use burn::tensor::{Device, Tensor};
use multi_dilation::{
    MultiDilationConv2d, MultiDilationConv2dConfig, MultiDilationNet, MultiDilationNetConfig,
    Pooling,
};

/// Pooling of every study model: 2x2 max pooling, as in the measured results in
/// `docs/scale_study` (the MNIST classifier's default has since become 4x4).
const STUDY_POOLING: Pooling = Pooling::Max2x2;

/// Which model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// (a) `MultiDilationNet`: one kernel at dilations 1, 2, 3.
    Shared,
    /// (b) The same with an independent kernel per dilation (3x the conv parameters).
    Independent,
    /// (c) A single-dilation CNN with the conv parameters of (a).
    Single,
    /// (d) A single-dilation CNN widened to the parameters of (b).
    SingleWide,
}

impl ModelKind {
    /// The four, in the study's order.
    pub const ALL: [ModelKind; 4] = [
        ModelKind::Shared,
        ModelKind::Independent,
        ModelKind::Single,
        ModelKind::SingleWide,
    ];

    /// A short name for tables and plots.
    pub fn label(self) -> &'static str {
        match self {
            ModelKind::Shared => "(a) shared kernel, d=1,2,3",
            ModelKind::Independent => "(b) independent kernels, d=1,2,3",
            ModelKind::Single => "(c) CNN d=1, params of (a)",
            ModelKind::SingleWide => "(d) CNN d=1, params of (b)",
        }
    }

    /// The model on `device` for images `[1, side, side]`, `channels` per branch.
    pub fn build(self, channels: usize, side: usize, device: &Device) -> StudyNet {
        let net = |channels: usize, dilations: Vec<usize>| {
            let conv =
                MultiDilationConv2dConfig::new([1, channels], [3, 3]).with_dilations(dilations);
            MultiDilationNetConfig::new()
                .with_input_shape([1, side, side])
                .with_conv(conv)
                .with_pooling(STUDY_POOLING)
                .init(device)
        };
        match self {
            ModelKind::Shared => StudyNet::Multi(net(channels, vec![1, 2, 3])),
            ModelKind::Single => StudyNet::Multi(net(channels, vec![1])),
            ModelKind::SingleWide => StudyNet::Multi(net(3 * channels, vec![1])),
            ModelKind::Independent => {
                StudyNet::Independent(IndependentNet::new(channels, &[1, 2, 3], side, device))
            }
        }
    }
}

/// Any of the four models.
// Four values exist at a time; boxing the large variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum StudyNet {
    /// (a), (c) and (d): a `MultiDilationNet`.
    Multi(MultiDilationNet),
    /// (b).
    Independent(IndependentNet),
}

impl StudyNet {
    /// Logits `[batch, 10]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        match self {
            StudyNet::Multi(net) => net.forward(images),
            StudyNet::Independent(net) => net.forward(images),
        }
    }

    /// Parameters of the convolution(s), and of the whole model.
    pub fn parameter_counts(&self) -> (usize, usize) {
        match self {
            StudyNet::Multi(net) => (net.conv.num_params(), net.num_params()),
            StudyNet::Independent(net) => (
                net.convs.iter().map(Module::num_params).sum(),
                net.num_params(),
            ),
        }
    }
}

/// Model (b): one independent kernel per dilation (each a single-dilation
/// `MultiDilationConv2d`, so initialization and padding are those of (a)), ReLU, channel
/// concatenation, the default pooling, a linear head: (a) without the sharing.
#[derive(Module, Debug)]
pub struct IndependentNet {
    /// One convolution per dilation.
    pub convs: Vec<MultiDilationConv2d>,
    /// The classifier.
    pub head: Linear,
    relu: Relu,
    #[module(skip)]
    pooling: Pooling,
}

impl IndependentNet {
    fn new(channels: usize, dilations: &[usize], side: usize, device: &Device) -> Self {
        // The head sees what (a)'s does: the study's pooling of the concatenation.
        let shared = MultiDilationNetConfig::new()
            .with_input_shape([1, side, side])
            .with_pooling(STUDY_POOLING)
            .with_conv(
                MultiDilationConv2dConfig::new([1, channels], [3, 3])
                    .with_dilations(dilations.to_vec()),
            );
        let convs = dilations
            .iter()
            .map(|&d| {
                MultiDilationConv2dConfig::new([1, channels], [3, 3])
                    .with_dilations(vec![d])
                    .init(device)
            })
            .collect();
        Self {
            convs,
            head: LinearConfig::new(shared.head_features(), 10).init(device),
            relu: Relu::new(),
            pooling: shared.pooling,
        }
    }

    fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let branches = self
            .convs
            .iter()
            .map(|conv| self.relu.forward(conv.forward(images.clone())))
            .collect();
        let pooled = self.pooling.apply(Tensor::cat(branches, 1));
        self.head.forward(pooled.flatten::<2>(1, 3))
    }
}
