//! What flows into and out of the layer's one decision point
//! ([`MultiDilationConv2d::compute`](crate::MultiDilationConv2d)): the inputs (one shared by
//! every branch, or one per branch) and the branches as either implementation gives them.

use burn::tensor::Tensor;

use crate::{Epilogue, Merge};

/// The inputs of one call.
// One value lives for one call, moved once: boxing the tensor would buy nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Inputs {
    /// One input that every branch convolves (`forward`).
    Shared(Tensor<4>),
    /// One input per branch, in the order of the dilations (`forward_parallel`, and
    /// `forward` with anti-aliasing, where each branch convolves its own blurred input).
    PerBranch(Vec<Tensor<4>>),
    /// One input per branch, stacked on the batch axis branch-major
    /// (`forward_parallel_stacked`).
    Stacked(Tensor<4>),
}

impl Inputs {
    /// One input (for stacked inputs, all of them): its channels and spatial size are every
    /// input's (a branch list is checked to be of one shape), its device and dtype decide the
    /// execution path.
    pub(crate) fn first(&self) -> &Tensor<4> {
        match self {
            Inputs::Shared(x) | Inputs::Stacked(x) => x,
            Inputs::PerBranch(branches) => &branches[0],
        }
    }
}

/// The branches as one of the two implementations gives them.
// One value lives for one call, moved once: boxing the tensor would buy nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Branches {
    /// The fused kernel's output for one shared input: the branches concatenated on the channel
    /// axis.
    Concatenated(Tensor<4>),
    /// The fused kernel's output for per-branch inputs: the branches stacked on the batch axis,
    /// branch-major (`[branches * batch, out, h, w]`).
    Stacked(Tensor<4>),
    /// One tensor per branch.
    Separate(Vec<Tensor<4>>),
}

impl Branches {
    /// The branches merged; `count` is their number.
    pub(crate) fn merge(self, merge: Merge, count: usize) -> Tensor<4> {
        match (self, merge) {
            (Branches::Concatenated(all), Merge::Concat) => all,
            (branches, merge) => merge.apply(branches.into_branches(count)),
        }
    }

    /// One tensor per branch; `count` is their number.
    pub(crate) fn into_branches(self, count: usize) -> Vec<Tensor<4>> {
        match self {
            Branches::Concatenated(all) => all.chunk(count, 1),
            Branches::Stacked(all) => all.chunk(count, 0),
            Branches::Separate(branches) => branches,
        }
    }

    /// The branches stacked on the batch axis, branch-major; `count` is their number.
    pub(crate) fn into_stacked(self, count: usize) -> Tensor<4> {
        match self {
            Branches::Stacked(all) => all,
            branches => Tensor::cat(branches.into_branches(count), 0),
        }
    }
}

/// Panics unless the batch of `x` holds `count` branches of equal size, stacked branch-major;
/// `what` names the caller.
pub(crate) fn check_stacked(x: &Tensor<4>, count: usize, what: &str) {
    let dims = x.dims();
    assert!(
        dims[0].is_multiple_of(count),
        "{what}: expected the {count} branches stacked on the batch axis, \
         [{count} * batch, channels, height, width], got {dims:?} (a batch of {} is not a \
         multiple of {count})",
        dims[0]
    );
}

/// Panics unless `branches` holds `expected` tensors of one shape; `what` names the caller.
pub(crate) fn check_branch_list(branches: &[Tensor<4>], expected: usize, what: &str) {
    assert_eq!(
        branches.len(),
        expected,
        "{what}: expected {expected} branch inputs (one per dilation), got {}",
        branches.len()
    );
    if let Some(first) = branches.first() {
        let first = first.dims();
        for (i, branch) in branches.iter().enumerate() {
            assert_eq!(
                branch.dims(),
                first,
                "{what}: every branch input must have the shape of branch 0, {first:?}; \
                 branch {i} has {:?}",
                branch.dims()
            );
        }
    }
}

/// The fused kernel, for either kind of input; without one compiled,
/// [`ExecutionPath::resolve`](crate::ExecutionPath) never selects it.
pub(crate) fn fused(
    inputs: Inputs,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    stride: [usize; 2],
    dilations: &[usize],
    epilogue: Epilogue,
) -> Branches {
    #[cfg(any(feature = "flex", cube_kernels))]
    {
        use crate::fused::{multi_dilation_conv2d_concat, multi_dilation_conv2d_parallel};
        match inputs {
            Inputs::Shared(x) => Branches::Concatenated(multi_dilation_conv2d_concat(
                x, weight, bias, stride, dilations, epilogue,
            )),
            Inputs::PerBranch(branches) => Branches::Stacked(multi_dilation_conv2d_parallel(
                Tensor::cat(branches, 0),
                weight,
                bias,
                stride,
                dilations,
                epilogue,
            )),
            Inputs::Stacked(x) => Branches::Stacked(multi_dilation_conv2d_parallel(
                x, weight, bias, stride, dilations, epilogue,
            )),
        }
    }
    #[cfg(not(any(feature = "flex", cube_kernels)))]
    {
        let _ = (inputs, weight, bias, stride, dilations, epilogue);
        unreachable!("no fused kernel is compiled, so no execution path selects it")
    }
}
