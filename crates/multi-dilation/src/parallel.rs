//! The branch-parallel forms of [`MultiDilationConv2d`]: one input per dilation, given as a
//! list or stacked on the batch axis, each convolved at its dilation with the one kernel.

use burn::tensor::Tensor;

use crate::branches::{Inputs, check_branch_list, check_stacked};
use crate::{Epilogue, MultiDilationConv2d};

impl MultiDilationConv2d {
    /// Branch-parallel: `branches[i]` convolved at `dilations()[i]` with the one kernel and
    /// bias, unmerged, one output per branch. This is how shared-dilation layers stack
    /// (TridentNet): feed the outputs of one layer, after any per-branch operation, to the
    /// next. Computed by the same [`path`](Self::path) as [`forward`](Self::forward); the
    /// fused kernel runs every branch in one operation and sums the kernel gradient over the
    /// branches inside it. With [`anti_alias`](Self::anti_alias), branch `i`'s input is blurred
    /// for its dilation first.
    ///
    /// # Panics
    /// Panics if `branches` does not hold one input per dilation, if the inputs differ in
    /// shape, or on a wrong channel count as [`forward`](Self::forward).
    ///
    /// The list is joined into one tensor for the fused kernel and its output split again,
    /// and in backward each split allocates a gradient of the whole output:
    /// [`forward_parallel_stacked`](Self::forward_parallel_stacked) keeps the branches in one
    /// tensor and spares both, for stacks of layers that can keep them so.
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
    pub fn forward_parallel(&self, branches: Vec<Tensor<4>>) -> Vec<Tensor<4>> {
        let dilations = self.dilations();
        check_branch_list(
            &branches,
            dilations.len(),
            "MultiDilationConv2d::forward_parallel",
        );
        self.compute(Inputs::PerBranch(branches), dilations, Epilogue::None)
            .into_branches(dilations.len())
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
    pub fn forward_parallel_stacked(&self, x: Tensor<4>) -> Tensor<4> {
        let dilations = self.dilations();
        check_stacked(
            &x,
            dilations.len(),
            "MultiDilationConv2d::forward_parallel_stacked",
        );
        self.compute(Inputs::Stacked(x), dilations, Epilogue::None)
            .into_stacked(dilations.len())
    }
}
