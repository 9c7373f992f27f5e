//! [`BranchBatchNorm`]: batch normalization of a branch list with separate statistics per
//! branch and one shared affine transform.

use burn::config::Config;
use burn::module::{Flag, Module, Param, RunningState};
use burn::tensor::module::{batch_norm, batch_norm_train};
use burn::tensor::{Device, Tensor};

use crate::error::ConfigError;
use crate::shape::{check_branch_list, check_channels};

/// Configuration of a [`BranchBatchNorm`].
///
/// # Example
/// ```
/// use burn::tensor::Device;
/// use multi_dilation::BranchBatchNormConfig;
///
/// let norm = BranchBatchNormConfig::new(16, 3).init(&Device::default());
/// assert_eq!(norm.branches(), 3);
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct BranchBatchNormConfig {
    /// Channels of each branch.
    pub channels: usize,
    /// Number of branches (one per dilation).
    pub branches: usize,
    /// Momentum of the running statistics, as burn's `BatchNormConfig`.
    #[config(default = 0.1)]
    pub momentum: f64,
    /// Added to the variance for numerical stability.
    #[config(default = 1e-5)]
    pub epsilon: f64,
}

impl BranchBatchNormConfig {
    /// Builds the module, or says which field is invalid.
    pub fn try_init(&self, device: &Device) -> Result<BranchBatchNorm, ConfigError> {
        if self.channels == 0 {
            return Err(ConfigError::new(
                "channels",
                &self.channels,
                "must be at least 1",
            ));
        }
        if self.branches == 0 {
            return Err(ConfigError::new(
                "branches",
                &self.branches,
                "must be at least 1",
            ));
        }
        if !(self.momentum.is_finite() && (0.0..=1.0).contains(&self.momentum)) {
            return Err(ConfigError::new(
                "momentum",
                &self.momentum,
                "must be finite and within [0, 1]",
            ));
        }
        if !(self.epsilon.is_finite() && self.epsilon > 0.0) {
            return Err(ConfigError::new(
                "epsilon",
                &self.epsilon,
                "must be finite and positive",
            ));
        }
        let (c, n) = (self.channels, self.branches);
        Ok(BranchBatchNorm {
            gamma: Param::from_tensor(Tensor::ones([c], device)),
            beta: Param::from_tensor(Tensor::zeros([c], device)),
            training: Param::from_bool(true),
            running_mean: RunningState::new(Tensor::zeros([n, c], device)),
            running_var: RunningState::new(Tensor::ones([n, c], device)),
            momentum: self.momentum,
            epsilon: self.epsilon,
        })
    }

    /// Builds the module.
    ///
    /// # Panics
    /// Panics with the [`ConfigError`] message of [`try_init`](Self::try_init).
    pub fn init(&self, device: &Device) -> BranchBatchNorm {
        self.try_init(device).unwrap_or_else(|err| panic!("{err}"))
    }
}

/// Batch normalization of a list of branches, one per dilation, each `[batch, channels, h, w]`
/// (or any rank from 2: `[batch, channels, length]`, `[batch, channels, d, h, w]`):
/// every branch is normalized with **its own** batch statistics (and, at inference, its own
/// running mean and variance), then scaled and shifted by **one** `gamma` and `beta`.
///
/// Why separate statistics: the same kernel at a larger dilation sees a coarser view of the
/// input, and its responses have another mean and spread (KSAC and Autofocus normalize each
/// branch for that reason). Why one affine transform: it keeps the parameters those of a
/// single `BatchNorm`, in the spirit of the shared kernel, and after normalization the
/// branches are on one scale, so one affine map serves them all. To share the statistics too
/// (as detectron2's `TridentConv` shares its norm), apply burn's `BatchNorm` to the branches
/// concatenated on the batch axis.
///
/// Training behaviour (batch statistics, running statistics updated) is taken on an autodiff
/// device while `training` is enabled, as burn's `BatchNorm` does.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Distribution, Tensor};
/// use multi_dilation::BranchBatchNormConfig;
///
/// let device = Device::default().autodiff();
/// let norm = BranchBatchNormConfig::new(2, 2).init(&device);
/// let small = Tensor::<4>::random([4, 2, 5, 5], Distribution::Normal(0.0, 1.0), &device);
/// let large = small.clone().mul_scalar(10.0).add_scalar(3.0);
/// let out = norm.forward(vec![small, large]);
/// // Each branch normalized by its own statistics: the two come out the same.
/// let diff = (out[0].clone() - out[1].clone()).abs().max().into_scalar::<f32>();
/// assert!(diff < 1e-3);
/// ```
#[derive(Module, Debug)]
pub struct BranchBatchNorm {
    /// The shared scale, `[channels]`.
    pub gamma: Param<Tensor<1>>,
    /// The shared shift, `[channels]`.
    pub beta: Param<Tensor<1>>,
    /// Whether training behaviour is enabled (see the type's documentation).
    pub training: Param<Flag>,
    /// Running mean per branch, `[branches, channels]`.
    pub running_mean: RunningState<Tensor<2>>,
    /// Running variance per branch, `[branches, channels]`.
    pub running_var: RunningState<Tensor<2>>,
    momentum: f64,
    epsilon: f64,
}

impl BranchBatchNorm {
    /// The number of branches it normalizes.
    pub fn branches(&self) -> usize {
        self.running_mean.value().dims()[0]
    }

    /// Normalizes each branch by its statistics, then applies the shared affine transform.
    ///
    /// # Panics
    /// Panics if `branches` does not hold [`branches`](Self::branches) tensors of one shape,
    /// or if their channels differ from the module's.
    pub fn forward<const D: usize>(&self, branches: Vec<Tensor<D>>) -> Vec<Tensor<D>> {
        let what = "BranchBatchNorm::forward";
        check_branch_list(&branches, self.branches(), what);
        let channels = self.gamma.dims()[0];
        check_channels(&branches[0].dims(), channels, what);
        let device = branches[0].device();
        if device.is_autodiff() && self.training.is_enabled() {
            let mut means = Vec::with_capacity(branches.len());
            let mut vars = Vec::with_capacity(branches.len());
            let outputs = branches
                .into_iter()
                .map(|x| {
                    let result =
                        batch_norm_train(x, self.gamma.val(), self.beta.val(), self.epsilon);
                    means.push(result.mean.detach());
                    vars.push(result.variance.detach());
                    result.output
                })
                .collect();
            let update = |state: &RunningState<Tensor<2>>, batch: Vec<Tensor<1>>| {
                let old = state.value_sync().to_device(&device);
                let new = Tensor::stack::<2>(batch, 0);
                state.update(
                    old.mul_scalar(1.0 - self.momentum)
                        .add(new.mul_scalar(self.momentum))
                        .detach(),
                );
            };
            update(&self.running_mean, means);
            update(&self.running_var, vars);
            outputs
        } else {
            let mean = self.running_mean.value().to_device(&device);
            let var = self.running_var.value().to_device(&device);
            branches
                .into_iter()
                .enumerate()
                .map(|(i, x)| {
                    let row = |t: &Tensor<2>| t.clone().narrow(0, i, 1).reshape([channels]);
                    batch_norm(
                        x,
                        self.gamma.val(),
                        self.beta.val(),
                        row(&mean),
                        row(&var),
                        self.epsilon,
                    )
                })
                .collect()
        }
    }
}
