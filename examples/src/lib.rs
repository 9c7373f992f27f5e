//! Shared code of the runnable examples of `multi-dilation`: device selection, the MNIST data
//! sources, training with burn's `SupervisedTraining`, evaluation, image input for prediction.
//!
//! The backend is a cargo feature of this package: `flex` (default), `ndarray`, `wgpu`, and the
//! pass-throughs `vulkan`, `metal`, `cuda`.

pub mod checkpoints;
pub mod classifier;
pub mod data;
pub mod distributed;
pub mod evaluate;
pub mod images;
pub mod ranks;
pub mod renderer;
pub mod study;
pub mod training;

use burn::tensor::Device;

/// Every example (and test) of this package allocates through mimalloc. Training allocates and
/// frees tensors of tens of megabytes each step; glibc's malloc hands such blocks back to the
/// kernel and faults them in again, page by page, on the next step, which cost the MNIST
/// training step 2.5x (see `docs/performance.md`). mimalloc keeps them for reuse.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The device of the backend chosen by cargo feature; when several are on, the most specific
/// GPU API first (`cuda`, `metal`, `vulkan`, `wgpu`), then `flex`, then `ndarray`.
///
/// # Example
/// ```
/// let device = multi_dilation_examples::select_device();
/// println!("{device:?}");
/// ```
#[allow(unreachable_code)]
pub fn select_device() -> Device {
    #[cfg(feature = "cuda")]
    return Device::cuda(burn::tensor::DeviceIndex::Default);
    #[cfg(feature = "metal")]
    return Device::metal(burn::tensor::DeviceKind::DefaultDevice);
    #[cfg(feature = "vulkan")]
    return Device::vulkan(burn::tensor::DeviceKind::DefaultDevice);
    #[cfg(feature = "wgpu")]
    return Device::wgpu(burn::tensor::DeviceKind::DefaultDevice);
    #[cfg(feature = "flex")]
    return Device::flex();
    #[cfg(feature = "ndarray")]
    #[allow(deprecated)]
    return Device::ndarray();
    #[cfg(not(any(
        feature = "cuda",
        feature = "metal",
        feature = "vulkan",
        feature = "wgpu",
        feature = "flex",
        feature = "ndarray"
    )))]
    compile_error!("enable one backend feature of multi-dilation-examples: flex, ndarray or wgpu")
}
