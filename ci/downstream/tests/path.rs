//! Which execution path a user gets with the README's dependency lines, per backend.

use burn::tensor::{DType, Device};
use multi_dilation::ExecutionPath;

/// The fused kernel is compiled in for `device` and `Fused` selects it.
fn assert_fused_available(device: &Device) {
    assert!(
        ExecutionPath::Fused.uses_fused(device, DType::F32, 1),
        "the fused kernel is not available on {device:?}: check the backend feature"
    );
    assert!(multi_dilation::fused::is_supported(device, DType::F32, 1));
}

#[cfg(feature = "flex")]
#[test]
fn flex_lines_give_the_fused_kernel_by_default() {
    use burn::tensor::{Distribution, Tensor};
    use multi_dilation::MultiDilationConv2dConfig;

    let device = Device::flex();
    assert_fused_available(&device);
    let layer = MultiDilationConv2dConfig::new([3, 8], [3, 3]).init(&device);
    assert_eq!(layer.path(), ExecutionPath::Auto);
    assert!(layer.path().uses_fused(&device, DType::F32, layer.groups()));
    assert!(ExecutionPath::Auto.uses_fused(&device.clone().autodiff(), DType::F32, 1));

    // And it computes what one conv2d per dilation computes.
    let x = Tensor::<4>::random([2, 3, 9, 9], Distribution::Default, &device);
    let fused = layer.forward(x.clone());
    let reference = layer.with_path(ExecutionPath::PerDilation).forward(x);
    let diff = (fused - reference).abs().max().into_scalar::<f32>();
    assert!(diff < 1e-5, "fused and per-dilation differ by {diff}");
}

// The GPU lines are compiled in CI (no GPU there): the kernels are in the build and `Fused`
// selects them on the backend's device. `Auto` keeps burn's own convolutions on GPUs until the
// kernels are measured faster there.
#[cfg(feature = "wgpu")]
#[test]
#[ignore = "needs a wgpu adapter"]
fn wgpu_lines_give_the_fused_kernel() {
    assert_fused_available(&Device::wgpu(burn::tensor::DeviceKind::DefaultDevice));
}

#[cfg(feature = "cuda")]
#[test]
#[ignore = "needs a CUDA GPU"]
fn cuda_lines_give_the_fused_kernel() {
    assert_fused_available(&Device::cuda(0));
}
