//! [`MultiDilationConv`]: the layer, at every spatial rank ([`MultiDilationConv1d`],
//! [`MultiDilationConv2d`], [`MultiDilationConv3d`]), and every way to call it.

use burn::module::{Content, DisplaySettings, Module, ModuleDisplay, Param};
use burn::tensor::Tensor;

use crate::epilogue::Epilogue;
use crate::error::ConfigError;
use crate::execute::{self, Branches, Conv, ExecutionPath, Inputs};
use crate::merge::Merge;
use crate::padding::same_output_size;
use crate::shape::{
    BranchLayout, check_branch_list, check_channels, check_stacked_on_batch, validate_dilations,
};

/// A convolution that holds **one kernel** and applies it at several dilation rates, with
/// 'same' padding, then merges the branches. `D` is the rank of its tensors: 3 for signals
/// ([`MultiDilationConv1d`](crate::MultiDilationConv1d)), 4 for images
/// ([`MultiDilationConv2d`](crate::MultiDilationConv2d)), 5 for volumes
/// ([`MultiDilationConv3d`](crate::MultiDilationConv3d)); every method below serves the three, and the examples show the
/// 2-D layer.
///
/// The parameters are those of a single burn `Conv2d` (or `Conv1d`, `Conv3d`): `weight` shaped
/// `[out, in / groups, kh, kw]` (`[out, in / groups, k]`, `[out, in / groups, kd, kh, kw]`)
/// and an optional `bias` shaped `[out]`, public like burn's so weights are read and set the
/// same way. Build it with [`MultiDilationConv2dConfig`](crate::MultiDilationConv2dConfig)
/// ([`MultiDilationConv1dConfig`](crate::MultiDilationConv1dConfig),
/// [`MultiDilationConv3dConfig`](crate::MultiDilationConv3dConfig)).
///
/// # Shapes
/// - input: `[batch, in, height, width]` (`[batch, in, length]`, `[batch, in, depth, height,
///   width]`)
/// - output: `[batch, output_channels(), ceil(height / sh), ceil(width / sw)]` (each spatial
///   size divided by its stride, rounded up), where `output_channels()` is
///   `out * dilations.len()` for [`Merge::Concat`] and `out` otherwise.
///
/// # Fewer branches at inference
/// The kernel does not depend on the dilation, so the same weights serve any set of dilations.
/// TridentNet's fast inference, where one branch serves at test time, is
/// [`forward_dilation`](Self::forward_dilation) for a single branch, or
/// [`with_dilations`](Self::with_dilations) for a module (same parameters, other branches) that
/// drops into the model unchanged. With [`Merge::Mean`] or [`Merge::Max`] the channel count
/// and scale do not depend on the number of branches; with [`Merge::Concat`] the channels
/// become `out * dilations.len()`.
///
/// # Example
/// ```
/// use burn::module::Module;
/// use burn::tensor::{Device, Tensor};
/// use multi_dilation::MultiDilationConv2dConfig;
///
/// let device = Device::default();
/// let layer = MultiDilationConv2dConfig::new([1, 4], [3, 3]).init(&device);
/// let y = layer.forward(Tensor::<4>::zeros([8, 1, 10, 10], &device));
/// assert_eq!(y.dims(), [8, 12, 10, 10]); // 4 channels x dilations 1, 2, 3
/// assert_eq!(layer.num_params(), 40); // 36 + 4: one kernel, one bias
/// ```
#[derive(Module, Debug)]
#[module(custom_display)]
pub struct MultiDilationConv<const D: usize> {
    /// The one kernel, `[out, in / groups, ..kernel]`.
    pub weight: Param<Tensor<D>>,
    /// The one bias, `[out]`, if any.
    pub bias: Option<Param<Tensor<1>>>,
    // Set by the configs (`config/`), which validate them.
    #[module(skip)]
    pub(crate) stride: Vec<usize>,
    pub(crate) groups: usize,
    #[module(skip)]
    pub(crate) dilations: Vec<usize>,
    #[module(skip)]
    pub(crate) merge: Merge,
    #[module(skip)]
    pub(crate) path: ExecutionPath,
    #[module(skip)]
    pub(crate) anti_alias: Option<f64>,
}

impl<const D: usize> MultiDilationConv<D> {
    /// The layer's name in messages: `MultiDilationConv1d`, `2d` or `3d`.
    pub(crate) const NAME: &'static str = match D {
        3 => "MultiDilationConv1d",
        4 => "MultiDilationConv2d",
        5 => "MultiDilationConv3d",
        _ => "MultiDilationConv",
    };

    /// Convolves `x` at every dilation and merges the branches.
    ///
    /// # Panics
    /// Panics if `x` does not have [`in_channels`](Self::in_channels) channels; the message
    /// gives the expected and actual shapes. A tensor of another rank is rejected at compile
    /// time:
    /// ```compile_fail
    /// # use burn::tensor::{Device, Tensor};
    /// # use multi_dilation::MultiDilationConv2dConfig;
    /// # let device = Device::default();
    /// let layer = MultiDilationConv2dConfig::new([1, 4], [3, 3]).init(&device);
    /// layer.forward(Tensor::<3>::zeros([1, 10, 10], &device)); // rank 3: does not compile
    /// ```
    pub fn forward(&self, x: Tensor<D>) -> Tensor<D> {
        self.forward_with(x, Epilogue::None)
    }

    /// Convolves `x` at every dilation, applies `epilogue` to each branch, and merges the
    /// branches. On the fused path the epilogue runs inside the kernel (no extra pass over
    /// the output); the result is the same on every path.
    ///
    /// # Panics
    /// As [`forward`](Self::forward).
    ///
    /// # Example
    /// ```
    /// use burn::tensor::{Device, Tensor};
    /// use multi_dilation::{Epilogue, Merge, MultiDilationConv2dConfig};
    ///
    /// let device = Device::default();
    /// let layer = MultiDilationConv2dConfig::new([1, 4], [3, 3])
    ///     .with_merge(Merge::Mean)
    ///     .init(&device);
    /// let y = layer.forward_with(Tensor::<4>::ones([2, 1, 8, 8], &device), Epilogue::Relu);
    /// assert_eq!(y.dims(), [2, 4, 8, 8]);
    /// assert!(y.min().into_scalar::<f32>() >= 0.0); // a mean of rectified branches
    /// ```
    pub fn forward_with(&self, x: Tensor<D>, epilogue: Epilogue) -> Tensor<D> {
        self.run(
            Inputs::One(BranchLayout::Shared, x),
            &self.dilations,
            epilogue,
        )
        .merge(self.merge, self.dilations.len())
    }

    /// Each branch unmerged, in the order of [`dilations`](Self::dilations); each is
    /// `[batch, out, ceil(height / sh), ceil(width / sw)]`. Computed by the same
    /// [`path`](Self::path) as [`forward`](Self::forward).
    ///
    /// # Panics
    /// As [`forward`](Self::forward).
    pub fn forward_branches(&self, x: Tensor<D>) -> Vec<Tensor<D>> {
        self.run(
            Inputs::One(BranchLayout::Shared, x),
            &self.dilations,
            Epilogue::None,
        )
        .into_list(self.dilations.len())
    }

    /// Branch-parallel: `branches[i]` convolved at `dilations()[i]` with the one kernel and
    /// bias, unmerged, one output per branch. This is how shared-dilation layers stack
    /// (TridentNet): feed the outputs of one layer, after any per-branch operation, to the
    /// next. Computed by the same [`path`](Self::path) as [`forward`](Self::forward); on the
    /// fused path, one call of the fused kernel per branch, each input at its own dilation
    /// (autodiff adds up their kernel gradients). With [`anti_alias`](Self::anti_alias), branch
    /// `i`'s input is blurred for its dilation first.
    ///
    /// # Panics
    /// Panics if `branches` does not hold one input per dilation, if the inputs differ in
    /// shape, or on a wrong channel count as [`forward`](Self::forward).
    ///
    /// [`forward_parallel_stacked`](Self::forward_parallel_stacked) runs every branch in one
    /// call, on the branches kept in one tensor, for stacks of layers that can keep them so.
    /// Joining a list for that call and splitting its output again would cost more than the
    /// call saves: in backward each piece of a split gets a gradient of the whole output.
    ///
    /// # Example
    /// ```
    /// use burn::tensor::{Device, Tensor};
    /// use multi_dilation::MultiDilationConv2dConfig;
    ///
    /// let device = Device::default();
    /// let first = MultiDilationConv2dConfig::new([1, 4], [3, 3]).init(&device);
    /// let second = MultiDilationConv2dConfig::new([4, 8], [3, 3]).init(&device);
    /// let x = Tensor::<4>::ones([2, 1, 10, 10], &device);
    /// // Three branches (dilations 1, 2, 3), kept apart through two layers.
    /// let branches = first.forward_branches(x);
    /// let branches = second.forward_parallel(branches);
    /// assert_eq!(branches.len(), 3);
    /// assert_eq!(branches[2].dims(), [2, 8, 10, 10]);
    /// ```
    pub fn forward_parallel(&self, branches: Vec<Tensor<D>>) -> Vec<Tensor<D>> {
        let dilations = self.dilations();
        check_branch_list(
            &branches,
            dilations.len(),
            &format!("{}::forward_parallel", Self::NAME),
        );
        self.run(Inputs::List(branches), dilations, Epilogue::None)
            .into_list(dilations.len())
    }

    /// Branch-parallel on branches stacked on the batch axis, branch-major: `x` is
    /// `[n * batch, in, height, width]` with `n = dilations().len()`, its `i`-th block of
    /// `batch` images is branch `i`'s input, convolved at `dilations()[i]` with the one kernel
    /// and bias; the output is stacked the same way,
    /// `[n * batch, out, ceil(height / sh), ceil(width / sw)]`. The same numbers as
    /// [`forward_parallel`](Self::forward_parallel) on `x.chunk(n, 0)`, concatenated; on the
    /// fused path `x` goes to the kernel as it is and its output comes back as it is, so a
    /// stack of these layers with per-image operations between them (activations, pooling, a
    /// `BatchNorm` shared by the branches) never splits or joins its branches.
    ///
    /// # Panics
    /// Panics if the batch of `x` is not a multiple of the number of dilations, or on a wrong
    /// channel count as [`forward`](Self::forward).
    ///
    /// # Example
    /// ```
    /// use burn::tensor::{Device, Tensor};
    /// use multi_dilation::MultiDilationConv2dConfig;
    ///
    /// let device = Device::default();
    /// let layer = MultiDilationConv2dConfig::new([4, 8], [3, 3]).init(&device);
    /// // Three branches (dilations 1, 2, 3) of two images each, branch-major.
    /// let x = Tensor::<4>::ones([3 * 2, 4, 10, 10], &device);
    /// let y = layer.forward_parallel_stacked(x.clone());
    /// assert_eq!(y.dims(), [6, 8, 10, 10]);
    /// let listed = Tensor::cat(layer.forward_parallel(x.chunk(3, 0)), 0);
    /// let gap: f32 = (y - listed).abs().max().into_scalar();
    /// assert!(gap < 1e-5);
    /// ```
    pub fn forward_parallel_stacked(&self, x: Tensor<D>) -> Tensor<D> {
        let dilations = self.dilations();
        check_stacked_on_batch(
            &x,
            dilations.len(),
            &format!("{}::forward_parallel_stacked", Self::NAME),
        );
        self.run(
            Inputs::One(BranchLayout::Stacked, x),
            dilations,
            Epilogue::None,
        )
        .into_stacked_on_batch(dilations.len())
    }

    /// The branches at `dilations` for `inputs`, by the route of [`execute::run`]: the
    /// layer's parameters and settings, and nothing else, go down to it.
    fn run(&self, inputs: Inputs<D>, dilations: &[usize], epilogue: Epilogue) -> Branches<D> {
        let conv = Conv {
            weight: self.weight.val(),
            bias: self.bias.as_ref().map(|bias| bias.val()),
            stride: self.stride.clone(),
            groups: self.groups,
            path: self.path,
            anti_alias: self.anti_alias,
        };
        execute::run(&conv, inputs, dilations, epilogue, Self::NAME)
    }

    /// One branch at `dilation`, which need not be one of the configured dilations (the shared
    /// kernel serves any), by this layer's [`path`](Self::path). This is TridentNet's
    /// single-branch inference.
    ///
    /// # Panics
    /// Panics if `dilation` is zero, or on a wrong input shape as [`forward`](Self::forward).
    ///
    /// # Example
    /// ```
    /// use burn::tensor::{Device, Tensor};
    /// use multi_dilation::MultiDilationConv2dConfig;
    ///
    /// let device = Device::default();
    /// let layer = MultiDilationConv2dConfig::new([1, 4], [3, 3]).init(&device);
    /// let x = Tensor::<4>::ones([1, 1, 10, 10], &device);
    /// let middle = layer.forward_dilation(x.clone(), 2);
    /// let all = layer.forward_branches(x);
    /// // One branch alone sums in another order than three together: equal to rounding.
    /// let gap: f32 = (middle - all[1].clone()).abs().max().into_scalar();
    /// assert!(gap < 1e-5);
    /// ```
    pub fn forward_dilation(&self, x: Tensor<D>, dilation: usize) -> Tensor<D> {
        assert!(
            dilation > 0,
            "{}::forward_dilation: dilation must be at least 1, got 0",
            Self::NAME
        );
        self.run(
            Inputs::One(BranchLayout::Shared, x),
            &[dilation],
            Epilogue::None,
        )
        .merge(Merge::Concat, 1)
    }

    /// The same module (the same parameters, shared, not copied) with other dilations: fewer
    /// branches for fast inference, or dilations never trained on to probe scale.
    ///
    /// # Example
    /// ```
    /// use burn::tensor::{Device, Tensor};
    /// use multi_dilation::{Merge, MultiDilationConv2dConfig};
    ///
    /// let device = Device::default();
    /// let layer = MultiDilationConv2dConfig::new([1, 4], [3, 3])
    ///     .with_merge(Merge::Mean)
    ///     .init(&device);
    /// let fast = layer.clone().with_dilations(vec![2]).unwrap();
    /// let x = Tensor::<4>::ones([1, 1, 10, 10], &device);
    /// assert_eq!(fast.forward(x.clone()).dims(), layer.forward(x).dims());
    /// assert!(layer.with_dilations(vec![]).is_err());
    /// ```
    pub fn with_dilations(mut self, dilations: Vec<usize>) -> Result<Self, ConfigError> {
        validate_dilations(&dilations)?;
        self.dilations = dilations;
        Ok(self)
    }

    /// The dilation rates, one branch each, in merge order.
    pub fn dilations(&self) -> &[usize] {
        &self.dilations
    }

    /// The base scale `sigma0` of anti-aliased dilation, if the layer blurs each branch's
    /// input before its dilated convolution (see
    /// [`MultiDilationConv2dConfig::anti_alias`](crate::MultiDilationConv2dConfig::anti_alias)).
    pub fn anti_alias(&self) -> Option<f64> {
        self.anti_alias
    }

    /// How the branches are merged.
    pub fn merge(&self) -> Merge {
        self.merge
    }

    /// Which implementation [`forward`](Self::forward) uses.
    pub fn path(&self) -> ExecutionPath {
        self.path
    }

    /// The same module computed by another [`ExecutionPath`] (for example to compare or
    /// benchmark the two).
    pub fn with_path(mut self, path: ExecutionPath) -> Self {
        self.path = path;
        self
    }

    /// The number of channel groups.
    pub fn groups(&self) -> usize {
        self.groups
    }

    /// Channels the input must have.
    pub fn in_channels(&self) -> usize {
        self.weight.dims()[1] * self.groups
    }

    /// Channels of each branch (the kernel's output channels); the merged output has
    /// [`output_channels`](Self::output_channels).
    pub fn branch_channels(&self) -> usize {
        self.weight.dims()[0]
    }

    /// Channels of the merged output: `out * dilations.len()` for [`Merge::Concat`], `out`
    /// otherwise.
    pub fn output_channels(&self) -> usize {
        self.merge
            .output_channels(self.branch_channels(), self.dilations.len())
    }

    /// The shape [`forward`](Self::forward) gives for an input of shape `input`.
    ///
    /// # Panics
    /// Panics if `input` does not have [`in_channels`](Self::in_channels) channels.
    ///
    /// # Example
    /// ```
    /// use burn::tensor::Device;
    /// use multi_dilation::MultiDilationConv2dConfig;
    ///
    /// let layer = MultiDilationConv2dConfig::new([1, 4], [3, 3])
    ///     .with_stride([2, 2])
    ///     .init(&Device::default());
    /// assert_eq!(layer.output_shape([8, 1, 28, 27]), [8, 12, 14, 14]);
    /// ```
    pub fn output_shape(&self, input: [usize; D]) -> [usize; D] {
        check_channels(&input, self.in_channels(), Self::NAME);
        let mut shape = input;
        shape[1] = self.output_channels();
        for (size, &stride) in shape[2..].iter_mut().zip(&self.stride) {
            *size = same_output_size(*size, stride);
        }
        shape
    }
}

impl<const D: usize> ModuleDisplay for MultiDilationConv<D> {
    fn custom_settings(&self) -> Option<DisplaySettings> {
        DisplaySettings::new()
            .with_new_line_after_attribute(false)
            .optional()
    }

    fn custom_content(&self, content: Content) -> Option<Content> {
        content
            .set_top_level_type(Self::NAME)
            .add("ch_in", &self.in_channels())
            .add("ch_out", &self.branch_channels())
            .add("kernel_size", &format!("{:?}", &self.weight.dims()[2..]))
            .add("stride", &format!("{:?}", self.stride))
            .add("dilations", &format!("{:?}", self.dilations))
            .add("groups", &self.groups)
            .add("merge", &format!("{:?}", self.merge))
            .add("path", &format!("{:?}", self.path))
            .add("anti_alias", &format!("{:?}", self.anti_alias))
            .add("output_channels", &self.output_channels())
            .add("bias", &self.bias.is_some())
            .optional()
    }
}
