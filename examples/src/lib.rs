//! Shared helpers of the runnable examples of `multi-dilation`.
//!
//! The backend is a cargo feature of this package: `flex` (default), `ndarray` or `wgpu`.

use burn::tensor::Device;

/// The device of the backend chosen by cargo feature, the most capable one when several are on:
/// `wgpu`, then `flex`, then `ndarray`.
///
/// # Example
/// ```
/// let device = multi_dilation_examples::select_device();
/// println!("{device:?}");
/// ```
#[allow(unreachable_code)]
pub fn select_device() -> Device {
    #[cfg(feature = "wgpu")]
    return Device::wgpu(burn::tensor::DeviceKind::DefaultDevice);
    #[cfg(feature = "flex")]
    return Device::flex();
    #[cfg(feature = "ndarray")]
    #[allow(deprecated)]
    return Device::ndarray();
    #[cfg(not(any(feature = "wgpu", feature = "flex", feature = "ndarray")))]
    compile_error!("enable one backend feature of multi-dilation-examples: flex, ndarray or wgpu")
}
