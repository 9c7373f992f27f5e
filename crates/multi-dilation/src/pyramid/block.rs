//! [`AtrousPyramid`]: the block, its branches and their normalization.

use burn::module::Module;
use burn::nn::BatchNorm;
use burn::nn::conv::Conv2d;
use burn::tensor::Tensor;
use burn::tensor::activation::relu;
use burn::tensor::module::adaptive_avg_pool2d;

use crate::branch_norm::BranchBatchNorm;
use crate::deep::Kernels;
use crate::merge::Merge;
use crate::ranks::MultiDilationConv2d;

/// A 1x1 convolution without bias, batch norm, ReLU: the 1x1 branch, the image-pooling branch
/// and the projection of an [`AtrousPyramid`].
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use multi_dilation::AtrousPyramidConfig;
///
/// let device = Device::default();
/// let block = AtrousPyramidConfig::new([8, 4]).init(&device);
/// let y = block.pointwise.forward(Tensor::<4>::ones([2, 8, 5, 5], &device));
/// assert_eq!(y.dims(), [2, 4, 5, 5]);
/// assert!(y.min().into_scalar::<f32>() >= 0.0);
/// ```
#[derive(Module, Debug)]
pub struct ConvBnRelu {
    /// The 1x1 convolution, `weight` `[out, in, 1, 1]`, no bias.
    pub conv: Conv2d,
    /// Its batch norm.
    pub norm: BatchNorm,
}

impl ConvBnRelu {
    /// `relu(norm(conv(x)))`.
    ///
    /// # Example
    /// ```
    /// use burn::tensor::{Device, Tensor};
    /// use multi_dilation::AtrousPyramidConfig;
    ///
    /// let device = Device::default();
    /// let projection = AtrousPyramidConfig::new([8, 4]).init(&device).projection;
    /// let y = projection.forward(Tensor::<4>::ones([1, 12, 3, 3], &device)); // 3 * 4 channels in
    /// assert_eq!(y.dims(), [1, 4, 3, 3]);
    /// ```
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        relu(self.norm.forward(self.conv.forward(x)))
    }
}

/// The batch norm of the atrous branches of an [`AtrousPyramid`]: each rate is normalized with
/// its own statistics in both.
///
/// # Example
/// ```
/// use burn::tensor::Device;
/// use multi_dilation::{AtrousNorm, AtrousPyramidConfig, Kernels};
///
/// let device = Device::default();
/// let ksac = AtrousPyramidConfig::new([8, 4]).init(&device);
/// assert!(matches!(&ksac.atrous_norm, AtrousNorm::PerRate(norm) if norm.branches() == 3));
/// let aspp = AtrousPyramidConfig::new([8, 4]).with_kernels(Kernels::Independent).init(&device);
/// assert!(matches!(&aspp.atrous_norm, AtrousNorm::Separate(norms) if norms.len() == 3));
/// ```
// One per block, built once: boxing the larger variant would only add an indirection.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum AtrousNorm {
    /// [`BranchBatchNorm`]: statistics per rate, one scale and shift (the shared kernel's,
    /// [`Kernels::Shared`]).
    PerRate(BranchBatchNorm),
    /// One burn `BatchNorm` per rate, each with its statistics, scale and shift (ASPP's,
    /// [`Kernels::Independent`]).
    Separate(Vec<BatchNorm>),
}

/// An atrous pyramid: KSAC's kernel-sharing head ([`Kernels::Shared`]) or its independent-kernel
/// twin, DeepLabv3's ASPP ([`Kernels::Independent`]). Built by
/// [`AtrousPyramidConfig`](crate::AtrousPyramidConfig).
///
/// # What it computes
/// ```text
/// y = P(cat([B_1x1(x), merge_r(relu(N_r(conv(x, K_r, rate r)))), B_pool(mean_hw(x))], channels))
/// ```
/// in that channel order, where `B_1x1`, `B_pool` and the projection `P` are [`ConvBnRelu`]s,
/// `conv` is 'same'-padded (so `y` has the input's height and width), the image-pooling branch
/// is broadcast back to the input's size (DeepLabv3 upsamples it bilinearly: from one pixel,
/// the same constant map), and `merge` is [`Merge::Sum`] for KSAC and [`Merge::Concat`] for
/// ASPP unless the config says otherwise. `K_r` is one kernel for every rate
/// ([`MultiDilationConv2d::forward_branches`]) or one per rate, and `N_r` the [`AtrousNorm`].
///
/// # The sources
/// - KSAC: Huang, Wang, Jia and He, "See More Than Once: Kernel-Sharing Atrous Convolution for
///   Semantic Segmentation", arXiv 1908.09443. Algorithm 1: one kernel `K` of shape
///   `[3, 3, in, out]`; for each rate `r`, `B_r = BatchNorm(Conv2D(T, r, K))`; the result is
///   `sum_r ReLU(B_r)`: the rates are **summed**, each after its own batch norm and ReLU.
///   Figure 4 (rates 6, 12, 18) puts that beside a 1x1 branch and an image-pooling branch
///   (pooling, 1x1 kernel, upsampling) and **concatenates** the three. The figure ends there:
///   KSAC takes ASPP's place in DeepLabv3+, whose 1x1 projection follows. Whether the per-rate
///   batch norms share their scale and shift is not said there; here they do
///   ([`AtrousNorm::PerRate`]), which keeps the norm's parameters those of one batch norm,
///   like the kernel's.
/// - ASPP: Chen, Papandreou, Schroff and Adam, "Rethinking Atrous Convolution for Semantic
///   Image Segmentation", arXiv 1706.05587, section 3.3: a 1x1 convolution and three 3x3
///   atrous convolutions (rates 6, 12, 18 at output stride 16) of 256 filters with batch
///   norm, image-level features (global average pooling, 1x1 convolution of 256 with batch
///   norm, bilinear upsampling), all **concatenated**, then a 1x1 convolution of 256 with
///   batch norm.
/// - Parameters saved by sharing: `(rates - 1) * kh * kw * in * out` in the kernels, and the
///   projection's input shrinks from `(rates + 2) * out` to `3 * out` channels
///   (`examples/pyramid.rs` prints both blocks at MobileNetV2's size). Dropout after the
///   projection, which some DeepLabv3+ code adds, is left to the caller.
///
/// # Training
/// On an autodiff device with training enabled every batch norm uses batch statistics, as
/// burn's `BatchNorm` does. The image-pooling branch's norm then sees one value per image and
/// channel: train on batches of more than one image (PyTorch refuses a batch of one there).
/// The running variances are updated with the batch's biased variance (burn's rule; PyTorch
/// updates with the unbiased one), so they drift apart from PyTorch's in training while the
/// outputs and gradients agree.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use multi_dilation::{AtrousPyramidConfig, Kernels};
///
/// let device = Device::default();
/// let ksac = AtrousPyramidConfig::new([16, 8]).init(&device);
/// let aspp = AtrousPyramidConfig::new([16, 8]).with_kernels(Kernels::Independent).init(&device);
/// let x = Tensor::<4>::ones([2, 16, 12, 10], &device);
/// assert_eq!(ksac.forward(x.clone()).dims(), [2, 8, 12, 10]);
/// assert_eq!(aspp.forward(x).dims(), [2, 8, 12, 10]);
/// // One 3x3 kernel instead of three, and a projection from 3 * 8 instead of 5 * 8 channels.
/// assert_eq!(ksac.conv_parameters(), 16 * 8 + 9 * 16 * 8 + 16 * 8 + 3 * 8 * 8);
/// assert_eq!(aspp.conv_parameters(), 16 * 8 + 3 * 9 * 16 * 8 + 16 * 8 + 5 * 8 * 8);
/// ```
#[derive(Module, Debug)]
pub struct AtrousPyramid {
    /// The 1x1 branch.
    pub pointwise: ConvBnRelu,
    /// The atrous convolution: one at every rate ([`Kernels::Shared`]), or one per rate, each
    /// at its rate ([`Kernels::Independent`]); without bias.
    pub atrous: Vec<MultiDilationConv2d>,
    /// The batch norm of the atrous branches, one branch per rate.
    pub atrous_norm: AtrousNorm,
    /// The image-pooling branch, if configured.
    pub image_pool: Option<ConvBnRelu>,
    /// The projection of the concatenated branches to the output channels.
    pub projection: ConvBnRelu,
    #[module(skip)]
    pub(crate) kernels: Kernels,
    #[module(skip)]
    pub(crate) merge: Merge,
}

impl AtrousPyramid {
    /// The block's output, `[batch, out, height, width]` for `x` `[batch, in, height, width]`.
    ///
    /// # Panics
    /// Panics if `x` does not have [`in_channels`](Self::in_channels) channels.
    ///
    /// # Example
    /// ```
    /// use burn::tensor::{Device, Tensor};
    /// use multi_dilation::AtrousPyramidConfig;
    ///
    /// let device = Device::default();
    /// let block = AtrousPyramidConfig::new([4, 2]).init(&device);
    /// let y = block.forward(Tensor::<4>::ones([2, 4, 17, 13], &device));
    /// assert_eq!(y.dims(), [2, 2, 17, 13]); // 'same' size at rates 6, 12, 18
    /// assert!(y.min().into_scalar::<f32>() >= 0.0); // the projection ends with a ReLU
    /// ```
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [batch, _, height, width] = self.check(&x, "forward");
        let mut parts = vec![self.pointwise.forward(x.clone())];
        parts.push(self.merge.apply(self.forward_rates(x.clone())));
        if let Some(pool) = &self.image_pool {
            let context = pool.forward(adaptive_avg_pool2d(x, [1, 1]));
            parts.push(context.expand([batch, self.out_channels(), height, width]));
        }
        self.projection.forward(Tensor::cat(parts, 1))
    }

    /// The atrous branches before their merge, one per rate in the order of
    /// [`rates`](Self::rates): `relu(N_r(conv(x, K_r, r)))`, each `[batch, out, height, width]`.
    ///
    /// # Panics
    /// As [`forward`](Self::forward).
    ///
    /// # Example
    /// ```
    /// use burn::tensor::{Device, Tensor};
    /// use multi_dilation::{AtrousPyramidConfig, Merge};
    ///
    /// let device = Device::default();
    /// let block = AtrousPyramidConfig::new([4, 2]).init(&device);
    /// let rates = block.forward_rates(Tensor::<4>::ones([1, 4, 6, 6], &device));
    /// assert_eq!(rates.len(), 3);
    /// assert_eq!(Merge::Sum.apply(rates).dims(), [1, 2, 6, 6]); // what KSAC passes on
    /// ```
    pub fn forward_rates(&self, x: Tensor<4>) -> Vec<Tensor<4>> {
        self.check(&x, "forward_rates");
        let branches: Vec<Tensor<4>> = self
            .atrous
            .iter()
            .flat_map(|conv| conv.forward_branches(x.clone()))
            .collect();
        let normalized = match &self.atrous_norm {
            AtrousNorm::PerRate(norm) => norm.forward(branches),
            AtrousNorm::Separate(norms) => {
                assert_eq!(
                    norms.len(),
                    branches.len(),
                    "AtrousPyramid: {} batch norms for {} rates",
                    norms.len(),
                    branches.len()
                );
                branches
                    .into_iter()
                    .zip(norms)
                    .map(|(branch, norm)| norm.forward(branch))
                    .collect()
            }
        };
        normalized.into_iter().map(relu).collect()
    }

    /// The atrous rates, one branch each, in merge order.
    ///
    /// # Example
    /// ```
    /// use burn::tensor::Device;
    /// use multi_dilation::{AtrousPyramidConfig, Kernels, Merge};
    ///
    /// let aspp = AtrousPyramidConfig::new([8, 4])
    ///     .with_rates(vec![2, 4])
    ///     .with_kernels(Kernels::Independent)
    ///     .init(&Device::default());
    /// assert_eq!(aspp.rates(), vec![2, 4]);
    /// assert_eq!(aspp.kernels(), Kernels::Independent);
    /// assert_eq!(aspp.merge(), Merge::Concat);
    /// assert_eq!((aspp.in_channels(), aspp.out_channels()), (8, 4));
    /// ```
    pub fn rates(&self) -> Vec<usize> {
        self.atrous
            .iter()
            .flat_map(|conv| conv.dilations().iter().copied())
            .collect()
    }

    /// Whether the rates share one kernel (KSAC) or have one each (ASPP).
    ///
    /// See [`rates`](Self::rates) for an example.
    pub fn kernels(&self) -> Kernels {
        self.kernels
    }

    /// How the atrous branches are combined.
    ///
    /// See [`rates`](Self::rates) for an example.
    pub fn merge(&self) -> Merge {
        self.merge
    }

    /// Channels the input must have.
    ///
    /// See [`rates`](Self::rates) for an example.
    pub fn in_channels(&self) -> usize {
        self.atrous[0].in_channels()
    }

    /// Channels of every branch and of the output.
    ///
    /// See [`rates`](Self::rates) for an example.
    pub fn out_channels(&self) -> usize {
        self.projection.conv.weight.dims()[0]
    }

    /// Parameters of the convolutions alone: the 1x1 branch, the atrous kernel(s), the
    /// image-pooling branch and the projection.
    ///
    /// # Example
    /// ```
    /// use burn::tensor::Device;
    /// use multi_dilation::AtrousPyramidConfig;
    ///
    /// let block = AtrousPyramidConfig::new([8, 4]).init(&Device::default());
    /// // 1x1: 8 * 4, one 3x3 kernel: 9 * 8 * 4, pooling: 8 * 4, projection: 3 * 4 * 4.
    /// assert_eq!(block.conv_parameters(), 32 + 288 + 32 + 48);
    /// ```
    pub fn conv_parameters(&self) -> usize {
        let pointwise = [&self.pointwise, &self.projection]
            .into_iter()
            .chain(&self.image_pool)
            .map(|block| block.conv.num_params());
        let atrous = self.atrous.iter().map(Module::num_params);
        pointwise.chain(atrous).sum()
    }

    /// The parameters training changes: burn's `num_params` without the batch norms' running
    /// statistics (which it counts too).
    ///
    /// # Example
    /// ```
    /// use burn::module::Module;
    /// use burn::tensor::Device;
    /// use multi_dilation::AtrousPyramidConfig;
    ///
    /// let block = AtrousPyramidConfig::new([8, 4]).init(&Device::default());
    /// // Four batch norms of 4 channels (1x1, rates, pooling, projection): a scale and a shift.
    /// assert_eq!(block.trainable_params(), block.conv_parameters() + 4 * 2 * 4);
    /// assert!(block.num_params() > block.trainable_params());
    /// ```
    pub fn trainable_params(&self) -> usize {
        let norms = [&self.pointwise, &self.projection]
            .into_iter()
            .chain(&self.image_pool)
            .map(|block| &block.norm);
        let mut running: usize = match &self.atrous_norm {
            AtrousNorm::PerRate(norm) => 2 * norm.running_mean.value().shape().num_elements(),
            AtrousNorm::Separate(separate) => separate.iter().map(running_of).sum(),
        };
        running += norms.map(running_of).sum::<usize>();
        self.num_params() - running
    }

    /// The input's dims, after checking its channels.
    fn check(&self, x: &Tensor<4>, call: &str) -> [usize; 4] {
        let dims = x.dims();
        assert_eq!(
            dims[1],
            self.in_channels(),
            "AtrousPyramid::{call}: expected an input of shape [batch, {}, height, width], got \
             {dims:?}",
            self.in_channels()
        );
        dims
    }
}

/// The running statistics of a `BatchNorm`, in elements.
fn running_of(norm: &BatchNorm) -> usize {
    2 * norm.running_mean.value().shape().num_elements()
}
