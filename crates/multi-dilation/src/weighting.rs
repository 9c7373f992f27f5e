//! [`BranchWeighting`]: a learned, softmax-normalized weighting of the branches, a merge that
//! can be read back to see which scales a trained model uses.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor};

use crate::error::ConfigError;

/// Configuration of a [`BranchWeighting`].
///
/// # Example
/// ```
/// use burn::tensor::Device;
/// use multi_dilation::BranchWeightingConfig;
///
/// let device = Device::default();
/// let per_branch = BranchWeightingConfig::new(3).init(&device);
/// assert_eq!(per_branch.weights().dims(), [3, 1]);
/// let per_channel = BranchWeightingConfig::new(3).with_channels(Some(16)).init(&device);
/// assert_eq!(per_channel.weights().dims(), [3, 16]);
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct BranchWeightingConfig {
    /// Number of branches (one per dilation).
    pub branches: usize,
    /// `None`: one logit per branch; `Some(channels)`: one per branch and channel.
    #[config(default = "None")]
    pub channels: Option<usize>,
}

impl BranchWeightingConfig {
    /// Builds the module, or says which field is invalid. The logits start at 0: the
    /// weighting starts as the mean of the branches.
    pub fn try_init(&self, device: &Device) -> Result<BranchWeighting, ConfigError> {
        if self.branches == 0 {
            return Err(ConfigError::new(
                "branches",
                &self.branches,
                "must be at least 1",
            ));
        }
        if self.channels == Some(0) {
            return Err(ConfigError::new(
                "channels",
                &self.channels,
                "must be at least 1 (None for one weight per branch)",
            ));
        }
        let columns = self.channels.unwrap_or(1);
        Ok(BranchWeighting {
            logits: Param::from_tensor(Tensor::zeros([self.branches, columns], device)),
        })
    }

    /// Builds the module.
    ///
    /// # Panics
    /// Panics with the [`ConfigError`] message of [`try_init`](Self::try_init).
    pub fn init(&self, device: &Device) -> BranchWeighting {
        self.try_init(device).unwrap_or_else(|err| panic!("{err}"))
    }
}

/// Merges a branch list `[batch, channels, h, w]` (one per dilation; any rank from 2) into one
/// tensor of that shape: `sum_i softmax(logits)[i] * branch_i`, the softmax taken over the branches, per
/// channel when the logits have one column per channel. A soft, learned choice of scale;
/// [`weights`](Self::weights) reads it back.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use multi_dilation::BranchWeightingConfig;
///
/// let device = Device::default();
/// let merge = BranchWeightingConfig::new(2).init(&device);
/// let a = Tensor::<4>::ones([1, 2, 3, 3], &device);
/// let b = Tensor::<4>::ones([1, 2, 3, 3], &device).mul_scalar(3.0);
/// // At initialization the weights are equal: the mean.
/// let y = merge.forward(vec![a, b]);
/// assert!((y.mean().into_scalar::<f32>() - 2.0).abs() < 1e-6);
/// ```
#[derive(Module, Debug)]
pub struct BranchWeighting {
    /// The logits, `[branches, 1]` or `[branches, channels]`.
    pub logits: Param<Tensor<2>>,
}

impl BranchWeighting {
    /// The weights, `[branches, 1]` or `[branches, channels]`: the softmax of the logits over
    /// the branches (each column sums to 1).
    pub fn weights(&self) -> Tensor<2> {
        softmax(self.logits.val(), 0)
    }

    /// The weighted sum of `branches`.
    ///
    /// # Panics
    /// Panics if `branches` does not hold one tensor per logit row, of one shape, or if the
    /// channels differ from the logits' columns.
    pub fn forward<const D: usize>(&self, branches: Vec<Tensor<D>>) -> Tensor<D> {
        let [count, columns] = self.logits.dims();
        crate::shape::check_branch_list(&branches, count, "BranchWeighting::forward");
        let channels = branches[0].dims()[1];
        assert!(
            columns == 1 || columns == channels,
            "BranchWeighting::forward: the logits have {columns} columns, so the branches must \
             have {columns} channels; got {:?}",
            branches[0].dims()
        );
        let weights = self.weights();
        branches
            .into_iter()
            .enumerate()
            .map(|(i, branch)| {
                let mut shape = [1; D];
                shape[1] = columns;
                branch * weights.clone().narrow(0, i, 1).reshape(shape)
            })
            .reduce(|acc, branch| acc + branch)
            .expect("checked non-empty above")
    }
}
