//! [`MultiDilationConv2d`]: the layer.

use burn::module::{Content, DisplaySettings, Module, ModuleDisplay, Param};
use burn::tensor::Tensor;

use crate::blur::{branch_sigma, gaussian_blur};
use crate::branches::{Branches, Inputs, fused};
use crate::config::validate_dilations;
use crate::functional::{multi_dilation_conv2d_branches, multi_dilation_conv2d_parallel};
use crate::padding::same_output_size;
use crate::{ConfigError, Epilogue, ExecutionPath, Merge, MultiDilationConv2dConfig};

/// A 2-D convolution that holds **one kernel** and applies it at several dilation rates, with
/// 'same' padding, then merges the branches.
///
/// The parameters are those of a single `Conv2d`: `weight` shaped `[out, in / groups, kh, kw]`
/// and an optional `bias` shaped `[out]`, public like burn's `Conv2d` so weights are read and
/// set the same way. Build it with [`MultiDilationConv2dConfig`](crate::MultiDilationConv2dConfig).
///
/// # Shapes
/// - input: `[batch, in, height, width]`
/// - output: `[batch, output_channels(), ceil(height / sh), ceil(width / sw)]`, where
///   `output_channels()` is `out * dilations.len()` for [`Merge::Concat`] and `out` otherwise.
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
pub struct MultiDilationConv2d {
    /// The one kernel, `[out, in / groups, kh, kw]`.
    pub weight: Param<Tensor<4>>,
    /// The one bias, `[out]`, if any.
    pub bias: Option<Param<Tensor<1>>>,
    stride: [usize; 2],
    groups: usize,
    #[module(skip)]
    dilations: Vec<usize>,
    #[module(skip)]
    merge: Merge,
    #[module(skip)]
    path: ExecutionPath,
    #[module(skip)]
    anti_alias: Option<f64>,
}

impl MultiDilationConv2d {
    /// The layer `config` describes, with these parameters (`config` is validated).
    pub(crate) fn from_parts(
        config: &MultiDilationConv2dConfig,
        weight: Param<Tensor<4>>,
        bias: Option<Param<Tensor<1>>>,
    ) -> Self {
        Self {
            weight,
            bias,
            stride: config.stride,
            groups: config.groups,
            dilations: config.dilations.clone(),
            merge: config.merge,
            path: config.path,
            anti_alias: config.anti_alias,
        }
    }

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
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
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
    pub fn forward_with(&self, x: Tensor<4>, epilogue: Epilogue) -> Tensor<4> {
        self.compute(Inputs::Shared(x), &self.dilations, epilogue)
            .merge(self.merge, self.dilations.len())
    }

    /// Each branch unmerged, in the order of [`dilations`](Self::dilations); each is
    /// `[batch, out, ceil(height / sh), ceil(width / sw)]`. Computed by the same
    /// [`path`](Self::path) as [`forward`](Self::forward).
    ///
    /// # Panics
    /// As [`forward`](Self::forward).
    pub fn forward_branches(&self, x: Tensor<4>) -> Vec<Tensor<4>> {
        self.compute(Inputs::Shared(x), &self.dilations, Epilogue::None)
            .into_branches(self.dilations.len())
    }

    /// The layer's one decision point: blurs the inputs when the layer anti-aliases,
    /// resolves the [`ExecutionPath`] for them, then computes the branches at `dilations`,
    /// with `epilogue` applied, by the fused kernel (one tensor holding every branch) or
    /// by one conv2d per dilation (one tensor per branch).
    pub(crate) fn compute(
        &self,
        inputs: Inputs,
        dilations: &[usize],
        epilogue: Epilogue,
    ) -> Branches {
        let dims = inputs.first().dims();
        self.check_input(&dims);
        if dims.contains(&0) {
            // An empty batch or image has an empty output, made here: burn's convolution
            // backward on Flex indexes into the empty tensor and panics. burn gives empty
            // tensors no autodiff graph (its slice and cat return fresh empty tensors), so
            // this output has none either.
            let mut shape = self.output_shape(dims);
            let device = inputs.first().device();
            if let Inputs::Stacked(_) = inputs {
                shape[1] = self.branch_channels();
                return Branches::Stacked(Tensor::zeros(shape, &device));
            }
            shape[1] = self.branch_channels() * dilations.len();
            return Branches::Concatenated(Tensor::zeros(shape, &device));
        }
        let inputs = self.blurred(inputs, dilations);
        let weight = self.weight.val();
        let bias = self.bias.as_ref().map(|bias| bias.val());
        if self.path.resolve(inputs.first(), self.groups) {
            return fused(inputs, weight, bias, self.stride, dilations, epilogue);
        }
        let branches = match inputs {
            Inputs::Shared(x) => {
                multi_dilation_conv2d_branches(x, weight, bias, self.stride, dilations, self.groups)
            }
            Inputs::PerBranch(xs) => multi_dilation_conv2d_parallel(
                xs,
                weight,
                bias,
                self.stride,
                dilations,
                self.groups,
            ),
            Inputs::Stacked(x) => multi_dilation_conv2d_parallel(
                x.chunk(dilations.len(), 0),
                weight,
                bias,
                self.stride,
                dilations,
                self.groups,
            ),
        };
        Branches::Separate(branches.into_iter().map(|b| epilogue.apply(b)).collect())
    }

    /// With [`anti_alias`](Self::anti_alias) `sigma0`, each branch's input blurred for its
    /// dilation `d` (standard deviation `sigma0 * sqrt(d^2 - 1)`, see [`crate::blur`]);
    /// otherwise the inputs unchanged.
    fn blurred(&self, inputs: Inputs, dilations: &[usize]) -> Inputs {
        let Some(sigma0) = self.anti_alias else {
            return inputs;
        };
        let blur = |x: Tensor<4>, d: usize| gaussian_blur(x, branch_sigma(sigma0, d));
        match inputs {
            Inputs::Shared(x) => {
                Inputs::PerBranch(dilations.iter().map(|&d| blur(x.clone(), d)).collect())
            }
            Inputs::PerBranch(xs) => Inputs::PerBranch(
                xs.into_iter()
                    .zip(dilations)
                    .map(|(x, &d)| blur(x, d))
                    .collect(),
            ),
            Inputs::Stacked(x) => Inputs::Stacked(Tensor::cat(
                x.chunk(dilations.len(), 0)
                    .into_iter()
                    .zip(dilations)
                    .map(|(x, &d)| blur(x, d))
                    .collect(),
                0,
            )),
        }
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
    pub fn forward_dilation(&self, x: Tensor<4>, dilation: usize) -> Tensor<4> {
        assert!(
            dilation > 0,
            "MultiDilationConv2d::forward_dilation: dilation must be at least 1, got 0"
        );
        self.compute(Inputs::Shared(x), &[dilation], Epilogue::None)
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

    /// The stride `[sh, sw]`.
    pub fn stride(&self) -> [usize; 2] {
        self.stride
    }

    /// The number of channel groups.
    pub fn groups(&self) -> usize {
        self.groups
    }

    /// The kernel size `[kh, kw]`.
    pub fn kernel_size(&self) -> [usize; 2] {
        let [_, _, kh, kw] = self.weight.dims();
        [kh, kw]
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
    pub fn output_shape(&self, input: [usize; 4]) -> [usize; 4] {
        self.check_input(&input);
        let [batch, _, height, width] = input;
        [
            batch,
            self.output_channels(),
            same_output_size(height, self.stride[0]),
            same_output_size(width, self.stride[1]),
        ]
    }

    fn check_input(&self, dims: &[usize; 4]) {
        let channels = self.in_channels();
        assert_eq!(
            dims[1], channels,
            "MultiDilationConv2d: expected an input of shape [batch, {channels}, height, width], \
             got {dims:?}"
        );
    }
}

impl ModuleDisplay for MultiDilationConv2d {
    fn custom_settings(&self) -> Option<DisplaySettings> {
        DisplaySettings::new()
            .with_new_line_after_attribute(false)
            .optional()
    }

    fn custom_content(&self, content: Content) -> Option<Content> {
        content
            .add("ch_in", &self.in_channels())
            .add("ch_out", &self.branch_channels())
            .add("kernel_size", &format!("{:?}", self.kernel_size()))
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
