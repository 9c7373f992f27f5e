//! The GPU machine's one binary: the fused CubeCL kernels against the per-dilation path, first
//! their exactness (forward and the gradients of input, kernel and bias within 1e-4 on every
//! geometry of `gpu::CASES`, one shared input and one input per dilation), then the medians of
//! both paths on `gpu::GPU_SHAPES`, forward and forward+backward, the layer and the
//! branch-parallel layer; for every runtime compiled in (feature `wgpu`: Vulkan, Metal or
//! DirectX through wgpu; feature `cuda`). Prints one JSON object on stdout and exits with
//! status 1 when an exactness check fails. `benches/gpu.sh` builds and runs it.
//!
//! `gpu_bench [--quick] [--repeats N] [--runtime wgpu|cuda]`: `--quick` shrinks the shapes to
//! batch 1 and a quarter of the channels, for a software GPU such as lavapipe.

use burn::tensor::Device;
use multi_dilation::{ExecutionPath, Merge};
use multi_dilation_benches::gpu::{
    CASES, GPU_SHAPES, auto_takes_fused, quick, relative_error, time_ms,
};

/// The largest relative difference allowed between the fused and the per-dilation path.
const TOLERANCE: f64 = 1e-4;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let quick_run = args.iter().any(|a| a == "--quick");
    let repeats = value("--repeats")
        .map(|r| r.parse().expect("--repeats takes a positive integer"))
        .unwrap_or(if quick_run { 2 } else { 10 });
    let runtimes = devices(value("--runtime").as_deref());
    if runtimes.is_empty() {
        eprintln!(
            "gpu_bench: no GPU runtime compiled in (build with --features wgpu or cuda) or \
             none matches --runtime"
        );
        std::process::exit(2);
    }
    let mut exact = true;
    let runs: Vec<_> = runtimes
        .into_iter()
        .map(|(runtime, device)| {
            eprintln!("gpu_bench: {runtime} ({device:?}): exactness");
            let exactness = exactness(&device);
            exact &= exactness.iter().all(|row| row["pass"] == true);
            eprintln!("gpu_bench: {runtime}: timings");
            serde_json::json!({
                "runtime": runtime,
                "device": format!("{device:?}"),
                "auto_takes_fused": auto_takes_fused(&device),
                "tolerance": TOLERANCE,
                "exactness": exactness,
                "timings": timings(&device, quick_run, repeats),
            })
        })
        .collect();
    let report = serde_json::json!({ "quick": quick_run, "repeats": repeats, "runs": runs });
    println!("{report}");
    if !exact {
        eprintln!("gpu_bench: the fused kernels differ from the per-dilation path");
        std::process::exit(1);
    }
}

/// The compiled runtimes' default devices, those named by `only` if given.
fn devices(only: Option<&str>) -> Vec<(&'static str, Device)> {
    #[allow(unused_mut)]
    let mut devices: Vec<(&'static str, Device)> = Vec::new();
    #[cfg(feature = "wgpu")]
    devices.push((
        "wgpu",
        Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
    ));
    #[cfg(feature = "cuda")]
    devices.push(("cuda", Device::cuda(0)));
    devices.retain(|(name, _)| only.is_none_or(|o| o == *name));
    devices
}

/// Every case, with one shared input under every merge (the first case) or concatenation, and
/// with one input per dilation.
fn exactness(device: &Device) -> Vec<serde_json::Value> {
    let device = device.clone().autodiff();
    let mut rows = Vec::new();
    for (i, case) in CASES.iter().enumerate() {
        let merges: &[Merge] = if i == 0 {
            &[Merge::Concat, Merge::Sum, Merge::Mean, Merge::Max]
        } else {
            &[Merge::Concat]
        };
        let runs = merges
            .iter()
            .map(|&m| (m, false))
            .chain([(Merge::Concat, true)]);
        for (merge, parallel) in runs {
            let error = relative_error(case, merge, parallel, &device);
            rows.push(serde_json::json!({
                "case": case.name,
                "merge": format!("{merge:?}"),
                "inputs": if parallel { "per-branch" } else { "shared" },
                "max_relative_error": error,
                "pass": error <= TOLERANCE,
            }));
        }
    }
    rows
}

/// Both paths' medians on every shape, forward and forward+backward, shared and per-branch
/// inputs, with each shape's geometry for the PyTorch side.
fn timings(device: &Device, quick_run: bool, repeats: usize) -> Vec<serde_json::Value> {
    let mut rows = Vec::new();
    for shape in &GPU_SHAPES {
        let shape = if quick_run { quick(shape) } else { *shape };
        for parallel in [false, true] {
            for backward in [false, true] {
                let time = |path| time_ms(&shape, path, parallel, backward, device, repeats);
                let fused = time(ExecutionPath::Fused);
                let per_dilation = time(ExecutionPath::PerDilation);
                rows.push(serde_json::json!({
                    "shape": shape.name,
                    "layer": if parallel { "parallel" } else { "layer" },
                    "mode": if backward { "fwd+bwd" } else { "fwd" },
                    "fused_ms": fused,
                    "per_dilation_ms": per_dilation,
                    "forward_gflops": shape.forward_flops() / 1e9,
                    "geometry": shape.geometry(),
                }));
            }
        }
    }
    rows
}
