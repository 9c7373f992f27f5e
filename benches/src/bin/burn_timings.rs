//! Medians of burn's timings for `compare.sh`, as JSON on stdout: the layer forward and
//! forward+backward on S1-S4 (default path, and forced per-dilation), the branch-parallel layer
//! (`forward_parallel`, one input per dilation) the same way on S3 and S4, and on its branches
//! stacked on the batch axis (`forward_parallel_stacked`, default path), the shape classes
//! (`CLASSES`, forward, forward+backward and forward at batch 1: the default path, the fused
//! kernel and the per-dilation path, each forced, with each row's geometry for the PyTorch side), and the MNIST model's training images/s, on
//! flex (or the device `BURN_DEVICE` selects).
//!
//! `cargo run --release -p multi-dilation-benches --bin burn_timings [repeats]`

use burn::tensor::{DType, Device};
use multi_dilation::ExecutionPath;
use multi_dilation_benches::{
    CLASSES, MnistStep, Path, SHAPES, Workload, input, median_ms, parallel_workload, run,
    run_parallel, run_parallel_stacked, stacked_input,
};

fn main() {
    let repeats: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    let device = match std::env::var("BURN_DEVICE") {
        Ok(_) => Device::default(),
        Err(_) => Device::flex(),
    };
    let mut rows = Vec::new();
    let mut parallel = Vec::new();
    for shape in &SHAPES {
        for backward in [false, true] {
            let (device, mode) = mode(&device, backward);
            // One row: the default path's and the per-dilation path's medians.
            let row = |[ms, per_dilation_ms]: [f64; 2]| {
                serde_json::json!({
                    "shape": shape.name,
                    "mode": mode,
                    "ms": ms,
                    "per_dilation_ms": per_dilation_ms,
                    "forward_gflops": shape.forward_flops() / 1e9,
                })
            };
            let x = input(shape, &device, backward);
            rows.push(row([Path::Layer, Path::LayerPerDilation].map(|path| {
                let workload = Workload::new(path, shape, &device);
                median_ms(repeats, || run(&workload, &x, backward))
            })));
            if !["S3", "S4"].contains(&shape.name) {
                continue;
            }
            let mut parallel_row = row([ExecutionPath::Auto, ExecutionPath::PerDilation].map(
                |path| {
                    let (layer, inputs) = parallel_workload(shape, path, &device, backward);
                    median_ms(repeats, || run_parallel(&layer, &inputs, backward))
                },
            ));
            // The same layer on its branches stacked on the batch axis.
            let layer = shape.layer(ExecutionPath::Auto, &device);
            let x = stacked_input(shape, &device, backward);
            parallel_row["stacked_ms"] =
                median_ms(repeats, || run_parallel_stacked(&layer, &x, backward)).into();
            parallel.push(parallel_row);
        }
    }
    let classes = classes(&device, repeats);
    let mut step = MnistStep::new(64, &device.clone().autodiff());
    let ms = median_ms(repeats, || step.step());
    let report = serde_json::json!({
        "device": format!("{device:?}"),
        "isa": isa(),
        "layer": rows,
        "parallel": parallel,
        "classes": classes,
        "mnist_train_images_per_second": 64.0 / (ms / 1e3),
    });
    println!("{report}");
}

/// The shape classes: for each shape and mode (forward, forward+backward, and forward at batch
/// 1 where the class's batch is larger), the medians of the fused kernel and of the
/// per-dilation path, and the one the default path (`Auto`) takes, whose time is that path's
/// (timing it a third time would only add noise). The larger shapes take up to a second a
/// call, so they get a quarter of the repeats (at least 3).
fn classes(device: &Device, repeats: usize) -> Vec<serde_json::Value> {
    let repeats = (repeats / 4).max(3);
    let mut rows = Vec::new();
    for class in &CLASSES {
        let single = class.single();
        let mut modes = vec![(class, false), (class, true)];
        if class.batch > 1 {
            modes.push((&single, false));
        }
        for (shape, backward) in modes {
            let (device, mut mode) = mode(device, backward);
            if shape.batch != class.batch {
                mode = "fwd b1";
            }
            let x = input(shape, &device, backward);
            let time = |path: Path| {
                if !path.runs_on(&device) {
                    return f64::NAN;
                }
                let workload = Workload::new(path, shape, &device);
                median_ms(repeats, || run(&workload, &x, backward))
            };
            let [fused, per_dilation] = [Path::LayerFused, Path::LayerPerDilation].map(time);
            let auto_fused = ExecutionPath::Auto.uses_fused(&device, DType::F32, 1);
            let auto = if auto_fused { fused } else { per_dilation };
            rows.push(serde_json::json!({
                "shape": shape.name,
                "geometry": shape.geometry(),
                "mode": mode,
                "ms": auto,
                "auto": if auto_fused { "fused" } else { "per-dilation" },
                "fused_ms": fused,
                "per_dilation_ms": per_dilation,
                "forward_gflops": shape.forward_flops() / 1e9,
            }));
        }
    }
    rows
}

/// The device a row runs on (with autodiff for forward+backward) and the row's mode name.
fn mode(device: &Device, backward: bool) -> (Device, &'static str) {
    if backward {
        (device.clone().autodiff(), "fwd+bwd")
    } else {
        (device.clone(), "fwd")
    }
}

/// The instruction set the fused kernel's loops and gemm run on here: AVX-512 where this build
/// has the `x86-v4` feature and the CPU has it, else AVX2+FMA where the CPU has them (the
/// library's own detection, `fused/cpu/isa.rs`, follows the same rule).
fn isa() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        let avx512 = has!("avx512f") && has!("avx512vl") && has!("avx512dq") && has!("avx512bw");
        if cfg!(feature = "x86-v4") && avx512 {
            return "AVX-512";
        }
        if has!("avx2") && has!("fma") {
            return "AVX2+FMA";
        }
    }
    "baseline"
}
