//! [`Epilogue`]: an activation applied to each branch before the merge, inside the fused kernel
//! where it can run there.

use burn::config::Config;
use burn::tensor::Tensor;
use burn::tensor::activation::relu;

/// What happens to each branch of a [`MultiDilationConv2d`](crate::MultiDilationConv2d) before
/// the branches are merged. Pass it to
/// [`forward_with`](crate::MultiDilationConv2d::forward_with).
///
/// On the fused path the epilogue runs as the kernel writes its output, so the activation
/// costs no extra pass over the branches (and, in backward, the gradient is masked by the
/// saved output). On the per-dilation path it is applied to each branch tensor. Either way the
/// result is the same: the activation of each branch, then the merge. With [`Merge::Max`]
/// or [`Merge::Concat`] ReLU commutes with the merge; with [`Merge::Mean`] or [`Merge::Sum`] it
/// does not, which is why it acts on the branches.
///
/// [`Merge::Max`]: crate::Merge::Max
/// [`Merge::Concat`]: crate::Merge::Concat
/// [`Merge::Mean`]: crate::Merge::Mean
/// [`Merge::Sum`]: crate::Merge::Sum
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor, activation::relu};
/// use multi_dilation::{Epilogue, MultiDilationConv2dConfig};
///
/// let device = Device::default();
/// let layer = MultiDilationConv2dConfig::new([1, 4], [3, 3]).init(&device);
/// let x = Tensor::<4>::random([2, 1, 8, 8], burn::tensor::Distribution::Default, &device);
/// let fused = layer.forward_with(x.clone(), Epilogue::Relu);
/// let separate = relu(layer.forward(x));
/// let diff = (fused - separate).abs().max().into_scalar::<f32>();
/// assert!(diff < 1e-6);
/// ```
#[derive(Config, Debug, Copy, PartialEq, Eq, Hash)]
pub enum Epilogue {
    /// The branches as computed: no activation. The default.
    None,
    /// `max(x, 0)` of every branch.
    Relu,
}

// Written out: burn's `Config` derive rejects the `#[default]` variant attribute.
#[allow(clippy::derivable_impls)]
impl Default for Epilogue {
    fn default() -> Self {
        Epilogue::None
    }
}

impl Epilogue {
    /// Applies the epilogue to a tensor (the per-dilation path, or any branch computed outside
    /// the fused kernel).
    ///
    /// # Example
    /// ```
    /// use burn::tensor::{Device, Tensor};
    /// use multi_dilation::Epilogue;
    ///
    /// let x = Tensor::<4>::from_floats([[[[-1.0, 2.0]]]], &Device::default());
    /// let y = Epilogue::Relu.apply(x).into_data().to_vec::<f32>().unwrap();
    /// assert_eq!(y, vec![0.0, 2.0]);
    /// ```
    pub fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Epilogue::None => x,
            Epilogue::Relu => relu(x),
        }
    }
}
