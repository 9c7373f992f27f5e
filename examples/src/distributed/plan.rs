//! [`Plan`]: a checked request for data-parallel training, and what it gives burn-train.

use burn::optim::AdamConfig;
use burn::tensor::Device;
use burn::tensor::distributed::{DistributedConfig, ReduceOperation};
use burn::train::{ExecutionStrategy, MultiDeviceOptim};
use multi_dilation::ConfigError;

use super::{ADAM_EPSILON, Backend, DeviceSelection, Strategy, refuse};

/// A checked request: the strategy, its devices and the effective batch.
///
/// # Example
/// ```
/// use multi_dilation_examples::distributed::{Plan, Strategy};
///
/// let plan = Plan::new(None, &"0,0".parse().unwrap(), 64).unwrap();
/// assert_eq!(plan.strategy(), Strategy::Multi);
/// assert_eq!((plan.replicas(), plan.devices().len()), (2, 2));
/// assert_eq!((plan.batch_size(), plan.replica_batch_size()), (64, 32));
/// ```
#[derive(Clone, Debug)]
pub struct Plan {
    strategy: Strategy,
    backend: Backend,
    devices: Vec<Device>,
    indices: Vec<usize>,
    batch_size: usize,
}

impl Plan {
    /// Training on `device` alone at `batch_size`: what a run without `--devices` does.
    ///
    /// # Example
    /// ```
    /// use burn::tensor::Device;
    /// use multi_dilation_examples::distributed::Plan;
    ///
    /// let plan = Plan::single(Device::flex(), 64);
    /// assert_eq!((plan.replicas(), plan.replica_batch_size()), (1, 64));
    /// ```
    pub fn single(device: Device, batch_size: usize) -> Self {
        Plan {
            strategy: Strategy::Single,
            backend: Backend::selected(),
            devices: vec![device],
            indices: vec![0],
            batch_size,
        }
    }

    /// Checks `strategy` (by default `single` for one device, `multi` for several), `devices`
    /// and the effective `batch_size` against the [`Backend::selected`] backend, before
    /// anything is loaded or launched. Errors, one per cause: a strategy the backend cannot
    /// run, no devices or more than exist, `single` on several devices, the same device twice
    /// under `ddp`, a batch smaller than the device count or not a multiple of it (each
    /// replica takes an equal share).
    ///
    /// # Example
    /// ```
    /// use multi_dilation_examples::distributed::{DeviceSelection, Plan, Strategy};
    ///
    /// let plan = Plan::new(None, &DeviceSelection::Indices(vec![0, 0]), 64).unwrap();
    /// assert_eq!((plan.strategy(), plan.replica_batch_size()), (Strategy::Multi, 32));
    /// let err = Plan::new(None, &DeviceSelection::Indices(vec![0, 0]), 1).unwrap_err();
    /// assert_eq!(err.field, "batch_size");
    /// ```
    pub fn new(
        strategy: Option<Strategy>,
        devices: &DeviceSelection,
        batch_size: usize,
    ) -> Result<Self, ConfigError> {
        let backend = Backend::selected();
        if strategy == Some(Strategy::Ddp) && !backend.has_collectives() {
            return Err(refuse(
                "strategy",
                Strategy::Ddp,
                format!(
                    "burn 0.22.1 runs DDP's all-reduce only on CUDA with NCCL, and this build's \
                     backend is {backend} (build with --features cuda); --strategy multi runs \
                     here"
                ),
            ));
        }
        let available = match devices {
            // One device is the one `select_device` picks, not the first one listed: a
            // single-device run stays what it was.
            DeviceSelection::Count(1) => vec![crate::select_device()],
            _ => backend.devices(),
        };
        let existing = || match available.len() {
            1 => format!("the {backend} backend has 1 device (index 0)"),
            n => format!("the {backend} backend has {n} devices (0 to {})", n - 1),
        };
        let indices: Vec<usize> = match devices {
            DeviceSelection::Count(0) => {
                return Err(refuse("devices", 0, "must be at least 1".into()));
            }
            DeviceSelection::Count(n) if *n > available.len() => {
                let repeat = vec!["0"; *n].join(",");
                return Err(refuse(
                    "devices",
                    n,
                    format!(
                        "{}; list indices instead, and repeat one to run several replicas on \
                         it (--devices {repeat})",
                        existing()
                    ),
                ));
            }
            DeviceSelection::Count(n) => (0..*n).collect(),
            DeviceSelection::Indices(list) => {
                if let Some(bad) = list.iter().find(|&&i| i >= available.len()) {
                    return Err(refuse(
                        "devices",
                        devices,
                        format!("there is no device {bad}: {}", existing()),
                    ));
                }
                list.clone()
            }
        };
        let n = indices.len();
        let strategy = strategy.unwrap_or(if n == 1 {
            Strategy::Single
        } else {
            Strategy::Multi
        });
        if strategy == Strategy::Single && n > 1 {
            return Err(refuse(
                "devices",
                devices,
                format!("--strategy single trains on one device, not {n}: use multi or ddp"),
            ));
        }
        if strategy == Strategy::Ddp && (1..n).any(|i| indices[..i].contains(&indices[i])) {
            return Err(refuse(
                "devices",
                devices,
                "ddp needs distinct devices (NCCL joins each device once); list each once, \
                 or use --strategy multi"
                    .into(),
            ));
        }
        if batch_size < n {
            return Err(refuse(
                "batch_size",
                batch_size,
                format!(
                    "smaller than the {n} devices: each replica takes an equal share of the \
                     batch, so one would get no images; use at least {n}"
                ),
            ));
        }
        if !batch_size.is_multiple_of(n) {
            let lower = batch_size - batch_size % n;
            return Err(refuse(
                "batch_size",
                batch_size,
                format!(
                    "not a multiple of the {n} devices: each replica takes an equal share of \
                     the batch; use {lower} or {}",
                    lower + n
                ),
            ));
        }
        let devices = indices.iter().map(|&i| available[i].clone()).collect();
        Ok(Plan {
            strategy,
            backend,
            devices,
            indices,
            batch_size,
        })
    }

    /// The strategy.
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// The devices, one per replica, the first doing validation (and, under `multi`, the
    /// optimizer step): build the model and the validation loader on it.
    pub fn devices(&self) -> &[Device] {
        &self.devices
    }

    /// How many replicas train at once.
    pub fn replicas(&self) -> usize {
        self.devices.len()
    }

    /// The effective batch: images per optimizer step, all replicas together.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// The training loader's batch size: each replica's share of the effective batch.
    pub fn replica_batch_size(&self) -> usize {
        self.batch_size / self.replicas()
    }

    /// How many times burn's `multi` summed gradient is the mean gradient of the effective
    /// batch (each replica's loss is a mean over its share): the replica count under `multi`,
    /// else 1. Divide an SGD learning rate by it; Adam needs only [`adam`](Self::adam).
    ///
    /// # Example
    /// ```
    /// use multi_dilation_examples::distributed::Plan;
    ///
    /// let plan = Plan::new(None, &"0,0".parse().unwrap(), 64).unwrap();
    /// assert_eq!(plan.gradient_scale(), 2.0);
    /// ```
    pub fn gradient_scale(&self) -> f64 {
        match self.strategy {
            Strategy::Multi => self.replicas() as f64,
            Strategy::Single | Strategy::Ddp => 1.0,
        }
    }

    /// burn's default Adam, with its epsilon scaled by [`gradient_scale`](Self::gradient_scale).
    /// Adam's step is `m / (sqrt(v) + epsilon)`: a gradient `n` times larger scales `m` and
    /// `sqrt(v)` alike, so the learning rate stays, and only epsilon must grow `n` times to
    /// take the steps of one device with the effective batch (unscaled, parameters whose
    /// gradients are near epsilon step up to a third further; see `tests/distributed.rs`).
    /// On one device this is `AdamConfig::new()`.
    ///
    /// # Example
    /// ```
    /// use multi_dilation_examples::distributed::Plan;
    ///
    /// let plan = Plan::new(None, &"0,0".parse().unwrap(), 64).unwrap();
    /// let optimizer = plan.adam().init(); // epsilon 2e-5
    /// ```
    pub fn adam(&self) -> AdamConfig {
        AdamConfig::new().with_epsilon(ADAM_EPSILON * self.gradient_scale() as f32)
    }

    /// Optimizer (and scheduler) steps per epoch over `train_items`: burn gives the last
    /// replica its range plus the remainder, and a step lasts while any replica has a batch.
    /// Under `ddp` the replicas must have the same number of batches: one with a batch fewer
    /// would leave the others waiting in an all-reduce that never completes.
    ///
    /// # Example
    /// ```
    /// use burn::tensor::Device;
    /// use multi_dilation_examples::distributed::Plan;
    ///
    /// assert_eq!(Plan::single(Device::flex(), 64).steps_per_epoch(55_000), Ok(860));
    /// ```
    pub fn steps_per_epoch(&self, train_items: usize) -> Result<usize, ConfigError> {
        let n = self.replicas();
        let share = train_items / n;
        let last = train_items - (n - 1) * share;
        let batch = self.replica_batch_size();
        let (fewest, most) = (share.div_ceil(batch), last.div_ceil(batch));
        if fewest == 0 || (self.strategy == Strategy::Ddp && fewest != most) {
            return Err(refuse(
                "train_items",
                train_items,
                format!(
                    "split over {n} replicas as {share} items ({fewest} batches of {batch}) \
                     each and {last} ({most} batches) for the last; every replica needs a \
                     batch{}: change the training set's size (--train-limit)",
                    if self.strategy == Strategy::Ddp {
                        ", and under ddp the same number of them"
                    } else {
                        ""
                    }
                ),
            ));
        }
        Ok(most)
    }

    /// The strategy for `SupervisedTraining::with_training_strategy(plan.execution().into())`.
    /// `multi` takes the optimizer step on the first device (`OptimMainDevice`); `ddp`
    /// all-reduces with the mean, so its gradient is the effective batch's.
    ///
    /// # Example
    /// ```
    /// use burn::train::ExecutionStrategy;
    /// use multi_dilation_examples::distributed::Plan;
    ///
    /// let plan = Plan::new(None, &"0,0".parse().unwrap(), 64).unwrap();
    /// let ExecutionStrategy::MultiDevice(devices, _) = plan.execution() else {
    ///     panic!("two devices run burn's multi strategy");
    /// };
    /// assert_eq!(devices.len(), 2);
    /// ```
    pub fn execution(&self) -> ExecutionStrategy {
        match self.strategy {
            Strategy::Single => ExecutionStrategy::single(self.devices[0].clone()),
            Strategy::Multi => {
                ExecutionStrategy::multi(self.devices.clone(), MultiDeviceOptim::OptimMainDevice)
            }
            Strategy::Ddp => ExecutionStrategy::ddp(
                self.devices.clone(),
                DistributedConfig {
                    all_reduce_op: ReduceOperation::Mean,
                },
            ),
        }
    }

    /// The line a run prints at its start: devices, effective batch, the learning-rate rule
    /// for Adam ([`adam`](Self::adam)) at `learning_rate`, and the schedule's length over
    /// `epochs` of `steps_per_epoch`.
    ///
    /// # Example
    /// ```
    /// use multi_dilation_examples::distributed::Plan;
    ///
    /// let plan = Plan::new(None, &"0,0".parse().unwrap(), 64).unwrap();
    /// let line = plan.describe(3e-3, 6, 860);
    /// assert!(line.contains("effective batch 64 = 2 replicas x 32"), "{line}");
    /// ```
    pub fn describe(&self, learning_rate: f64, epochs: usize, steps_per_epoch: usize) -> String {
        let n = self.replicas();
        let list: Vec<String> = self.indices.iter().map(usize::to_string).collect();
        let schedule = format!(
            "cosine schedule over {epochs} epochs x {steps_per_epoch} steps = {}",
            epochs * steps_per_epoch
        );
        let rule = match self.strategy {
            Strategy::Single => {
                return format!(
                    "strategy single on {}: batch {}, Adam learning rate {learning_rate}, \
                     {schedule}",
                    self.backend, self.batch_size
                );
            }
            Strategy::Multi => format!(
                "burn sums the replicas' gradients ({n}x the effective batch's mean), to which \
                 Adam's step is blind once its epsilon is x {n}: learning rate {learning_rate} \
                 unchanged (SGD would take {learning_rate} / {n})"
            ),
            Strategy::Ddp => format!(
                "burn's all-reduce averages the replicas' gradients (the effective batch's \
                 mean): learning rate {learning_rate} unchanged"
            ),
        };
        format!(
            "strategy {} on {} devices {}: effective batch {} = {n} replicas x {}; {rule}; \
             {schedule}; validation on device {}",
            self.strategy,
            self.backend,
            list.join(","),
            self.batch_size,
            self.replica_batch_size(),
            self.indices[0]
        )
    }
}
