//! Medians of burn's timings for `compare.sh`, as JSON on stdout: the layer forward and
//! forward+backward on S1-S4 (default path, and forced per-dilation), the branch-parallel layer
//! (`forward_parallel`, one input per dilation) the same way on S3 and S4, and the MNIST model's
//! training images/s, on flex (or the device `BURN_DEVICE` selects).
//!
//! `cargo run --release -p multi-dilation-benches --bin burn_timings [repeats]`

use burn::tensor::Device;
use multi_dilation::ExecutionPath;
use multi_dilation_benches::{
    MnistStep, Path, SHAPES, Workload, input, median_ms, parallel_workload, run, run_parallel,
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
            let device = if backward {
                device.clone().autodiff()
            } else {
                device.clone()
            };
            // One row: the default path's and the per-dilation path's medians.
            let row = |[ms, per_dilation_ms]: [f64; 2]| {
                serde_json::json!({
                    "shape": shape.name,
                    "mode": if backward { "fwd+bwd" } else { "fwd" },
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
            parallel.push(row([ExecutionPath::Auto, ExecutionPath::PerDilation].map(
                |path| {
                    let (layer, inputs) = parallel_workload(shape, path, &device, backward);
                    median_ms(repeats, || run_parallel(&layer, &inputs, backward))
                },
            )));
        }
    }
    let mut step = MnistStep::new(64, &device.clone().autodiff());
    let ms = median_ms(repeats, || step.step());
    let report = serde_json::json!({
        "device": format!("{device:?}"),
        "layer": rows,
        "parallel": parallel,
        "mnist_train_images_per_second": 64.0 / (ms / 1e3),
    });
    println!("{report}");
}
