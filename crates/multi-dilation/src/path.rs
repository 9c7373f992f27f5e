//! [`ExecutionPath`]: which implementation computes a [`MultiDilationConv2d`](crate::MultiDilationConv2d).

use burn::config::Config;
use burn::tensor::{DType, Device, Tensor};

/// How the layer computes its branches. Both paths give the same numbers (to float rounding);
/// they differ in speed and memory.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use multi_dilation::{ExecutionPath, MultiDilationConv2dConfig};
///
/// let device = Device::default();
/// let auto = MultiDilationConv2dConfig::new([1, 4], [3, 3]).init(&device);
/// assert_eq!(auto.path(), ExecutionPath::Auto);
/// // The same weights, computed one conv2d per dilation.
/// let plain = auto.clone().with_path(ExecutionPath::PerDilation);
/// let x = Tensor::<4>::ones([1, 1, 6, 6], &device);
/// let diff = (auto.forward(x.clone()) - plain.forward(x)).abs().max().into_scalar::<f32>();
/// assert!(diff < 1e-5);
/// ```
#[derive(Config, Debug, Copy, PartialEq, Eq, Hash)]
pub enum ExecutionPath {
    /// The fused kernel where it is available and measured faster (Flex, `f32`, groups 1, with
    /// the crate feature `flex`: faster on every geometry measured, from batch 1 to wide layers
    /// and large dilations), one conv2d per dilation elsewhere: on GPUs too, until the CubeCL
    /// kernels are measured faster than burn's autotuned convolutions there (see
    /// `fused::is_preferred`). The default.
    Auto,
    /// One backend conv2d per dilation, then the merge: works on every backend.
    PerDilation,
    /// The fused kernel wherever it runs: Flex (feature `flex`) or a device of any CubeCL
    /// runtime (features `wgpu`, `vulkan`, `metal`, `cuda` or `rocm`); `try_init`
    /// returns an error where it cannot.
    Fused,
}

impl ExecutionPath {
    /// Whether a layer with `groups` computes an input of `dtype` on `device` with the fused
    /// kernel.
    ///
    /// # Example
    /// ```
    /// use burn::tensor::{DType, Device};
    /// use multi_dilation::ExecutionPath;
    ///
    /// assert!(!ExecutionPath::PerDilation.uses_fused(&Device::default(), DType::F32, 1));
    /// ```
    pub fn uses_fused(self, device: &Device, dtype: DType, groups: usize) -> bool {
        match self {
            ExecutionPath::PerDilation => false,
            ExecutionPath::Auto => fused_preferred(device, dtype, groups),
            ExecutionPath::Fused => fused_available(device, dtype, groups),
        }
    }
}

impl ExecutionPath {
    /// [`uses_fused`](Self::uses_fused) for the input `x`; panics when the path is `Fused`
    /// and the fused kernel cannot run for `x` (a `Fused` layer built by `try_init` on another
    /// device, or given an input of another dtype).
    pub(crate) fn resolve(self, x: &Tensor<4>, groups: usize) -> bool {
        let fused = self.uses_fused(&x.device(), x.dtype(), groups);
        assert!(
            fused || self != ExecutionPath::Fused,
            "ExecutionPath::Fused needs {FUSED_NEEDS}, got {:?} on {:?} with groups {groups}",
            x.dtype(),
            x.device()
        );
        fused
    }
}

/// What the fused kernel needs, for error messages.
pub(crate) const FUSED_NEEDS: &str = "an f32 input, groups 1 and a Flex device (crate feature \
    `flex`) or a CubeCL device (crate feature `wgpu`, `vulkan`, `metal`, `cuda` or `rocm`)";

#[cfg(any(feature = "flex", cube_kernels))]
pub(crate) fn fused_available(device: &Device, dtype: DType, groups: usize) -> bool {
    crate::fused::is_supported(device, dtype, groups)
}

#[cfg(any(feature = "flex", cube_kernels))]
fn fused_preferred(device: &Device, dtype: DType, groups: usize) -> bool {
    crate::fused::is_preferred(device, dtype, groups)
}

#[cfg(not(any(feature = "flex", cube_kernels)))]
pub(crate) fn fused_available(_device: &Device, _dtype: DType, _groups: usize) -> bool {
    false
}

#[cfg(not(any(feature = "flex", cube_kernels)))]
fn fused_preferred(_device: &Device, _dtype: DType, _groups: usize) -> bool {
    false
}
