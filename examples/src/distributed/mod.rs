//! Data-parallel training through burn's own engine: which devices, which of burn's
//! strategies, and what that does to the batch, the gradient and the schedule.
//!
//! Nothing here distributes anything: a [`Plan`] checks the request against the backend and
//! hands burn-train an [`ExecutionStrategy`](burn::train::ExecutionStrategy) for
//! `SupervisedTraining::with_training_strategy`.
//! What burn 0.22.1 does with it (read in its sources, checked by `tests/distributed.rs`):
//!
//! - `multi`: the training loader is cut into one contiguous range of items per device, each
//!   batched at the loader's batch size; every step, each device runs the model on its batch
//!   and the gradients are **summed** on the first device, which takes one optimizer and one
//!   scheduler step. Validation runs on the first device only.
//! - `ddp`: the same split, one worker and optimizer per device, gradients **averaged** by an
//!   all-reduce; only backends with collectives can run it (CUDA with NCCL in burn 0.22.1).
//!
//! The command line's batch size stays the effective batch: each of `n` replicas gets `1/n` of
//! it, so the number of steps, and with it the learning-rate schedule, stays that of one device.

use std::fmt;
use std::str::FromStr;

use burn::tensor::{Device, DeviceType};
use multi_dilation::ConfigError;

/// burn's default epsilon of Adam (`AdamConfig`'s field is private, so it is restated here).
pub const ADAM_EPSILON: f32 = 1e-5;

/// How training is spread over devices: one of burn-train's execution strategies.
///
/// # Example
/// ```
/// use clap::ValueEnum;
/// use multi_dilation_examples::distributed::Strategy;
///
/// assert_eq!(Strategy::from_str("ddp", false), Ok(Strategy::Ddp));
/// assert_eq!(Strategy::Multi.to_string(), "multi");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Strategy {
    /// One device.
    Single,
    /// burn's multi-device strategy: gradients summed on the first device, one optimizer.
    Multi,
    /// burn's distributed data parallel: one optimizer per device, gradients all-reduced.
    Ddp,
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The name `--strategy` takes.
        let value = clap::ValueEnum::to_possible_value(self).expect("no variant is skipped");
        f.write_str(value.get_name())
    }
}

/// The backend chosen by cargo feature, in the precedence of
/// [`select_device`](crate::select_device).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// CUDA.
    Cuda,
    /// wgpu on Metal.
    Metal,
    /// wgpu on Vulkan.
    Vulkan,
    /// wgpu, any graphics API.
    Wgpu,
    /// burn's Flex CPU backend.
    Flex,
    /// burn's NdArray CPU backend.
    NdArray,
}

impl Backend {
    /// The backend [`select_device`](crate::select_device) takes its device from.
    ///
    /// # Example
    /// ```
    /// use multi_dilation_examples::distributed::Backend;
    ///
    /// let backend = Backend::selected(); // Flex with the default features
    /// println!("{backend}: {} devices", backend.devices().len());
    /// ```
    #[allow(unreachable_code)]
    pub fn selected() -> Self {
        #[cfg(feature = "cuda")]
        return Backend::Cuda;
        #[cfg(feature = "metal")]
        return Backend::Metal;
        #[cfg(feature = "vulkan")]
        return Backend::Vulkan;
        #[cfg(feature = "wgpu")]
        return Backend::Wgpu;
        #[cfg(feature = "flex")]
        return Backend::Flex;
        Backend::NdArray
    }

    /// Whether burn 0.22.1 can run DDP's collectives on this backend. Only its cubecl backend
    /// is on its list (burn-backend-extension src/catalog.rs:15-35), so on Flex and NdArray
    /// `ExecutionStrategy::ddp` panics as it is built (burn-dispatch src/ops/distributed.rs:66);
    /// of the cubecl runtimes only CUDA moves data between devices (cubecl-cuda
    /// src/runtime.rs:410, when NCCL loads), and wgpu's first all-reduce panics with "no
    /// transport between its devices" (cubecl-runtime src/client.rs:957).
    ///
    /// # Example
    /// ```
    /// use multi_dilation_examples::distributed::Backend;
    ///
    /// assert!(Backend::Cuda.has_collectives() && !Backend::Flex.has_collectives());
    /// ```
    pub fn has_collectives(self) -> bool {
        self == Backend::Cuda
    }

    /// Every device of this backend on this machine, in burn's order; `--devices 0,1` picks
    /// from these. Flex and NdArray have one: the host.
    ///
    /// # Example
    /// ```
    /// use multi_dilation_examples::distributed::Backend;
    ///
    /// println!("{} devices", Backend::selected().devices().len()); // 1 on Flex: the host
    /// ```
    pub fn devices(self) -> Vec<Device> {
        #[allow(deprecated, unreachable_patterns)]
        let kind = match self {
            #[cfg(feature = "cuda")]
            Backend::Cuda => DeviceType::Cuda,
            #[cfg(feature = "metal")]
            Backend::Metal => DeviceType::Metal,
            #[cfg(feature = "vulkan")]
            Backend::Vulkan => DeviceType::Vulkan,
            #[cfg(feature = "wgpu")]
            Backend::Wgpu => DeviceType::Wgpu,
            #[cfg(feature = "flex")]
            Backend::Flex => DeviceType::Flex,
            #[cfg(feature = "ndarray")]
            Backend::NdArray => DeviceType::NdArray,
            // A backend this build does not have has no devices.
            _ => return Vec::new(),
        };
        Device::enumerate(kind).into_vec()
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Cuda => "CUDA",
            Backend::Metal => "Metal",
            Backend::Vulkan => "Vulkan",
            Backend::Wgpu => "wgpu",
            Backend::Flex => "Flex",
            Backend::NdArray => "NdArray",
        })
    }
}

/// `--devices`: a count (`2`: the backend's first two devices) or a comma-separated list of
/// device indices (`0,1`; `3,` is device 3 alone). An index may repeat: `0,0` runs two
/// replicas on device 0, which is how a CPU backend, with its one device, trains in parallel.
///
/// # Example
/// ```
/// use multi_dilation_examples::distributed::DeviceSelection;
///
/// assert_eq!("2".parse(), Ok(DeviceSelection::Count(2)));
/// assert_eq!("0,0".parse(), Ok(DeviceSelection::Indices(vec![0, 0])));
/// assert_eq!(DeviceSelection::Indices(vec![3]).to_string(), "3,");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceSelection {
    /// The first N devices; 1 is the device [`select_device`](crate::select_device) picks.
    Count(usize),
    /// These devices, by index into [`Backend::devices`].
    Indices(Vec<usize>),
}

impl fmt::Display for DeviceSelection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceSelection::Count(count) => write!(f, "{count}"),
            DeviceSelection::Indices(indices) if indices.len() == 1 => write!(f, "{},", indices[0]),
            DeviceSelection::Indices(indices) => {
                let list: Vec<String> = indices.iter().map(usize::to_string).collect();
                f.write_str(&list.join(","))
            }
        }
    }
}

impl FromStr for DeviceSelection {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let number = |piece: &str| {
            piece.trim().parse::<usize>().map_err(|err| {
                format!("{piece:?} is not a device count or index: {err} (examples: 2, 0,1, 0,0)")
            })
        };
        if !text.contains(',') {
            return number(text).map(DeviceSelection::Count);
        }
        let indices = text
            .split(',')
            .filter(|piece| !piece.trim().is_empty())
            .map(number)
            .collect::<Result<Vec<_>, _>>()?;
        if indices.is_empty() {
            return Err(format!("{text:?} lists no device index"));
        }
        Ok(DeviceSelection::Indices(indices))
    }
}

/// Why a [`Plan`] cannot be made: the crate's [`ConfigError`], naming the option (`strategy`,
/// `devices` or `batch_size`), its value as given, and the remedy.
fn refuse(field: &'static str, value: impl fmt::Display, reason: String) -> ConfigError {
    // `ConfigError::new` shows the value with `Debug`; the options are shown as typed.
    ConfigError {
        field: field.to_string(),
        value: value.to_string(),
        reason,
    }
}

mod plan;

pub use plan::Plan;
