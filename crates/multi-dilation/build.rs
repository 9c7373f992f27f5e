//! One name for "a CubeCL runtime is enabled": the fused CubeCL kernels are compiled for each of
//! burn's CubeCL backends this crate has a feature for, and the code tests `cfg(cube_kernels)`
//! instead of repeating the list of features.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(cube_kernels)");
    let cube = ["WGPU", "VULKAN", "METAL", "CUDA", "ROCM"]
        .iter()
        .any(|feature| std::env::var_os(format!("CARGO_FEATURE_{feature}")).is_some());
    if cube {
        println!("cargo::rustc-cfg=cube_kernels");
    }
}
