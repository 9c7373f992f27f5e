//! Medians of burn's timings for `compare.sh`, as JSON on stdout: the layer forward and
//! forward+backward on S1-S4 (default path, and forced per-dilation) and the MNIST model's
//! training images/s, on flex (or the device `BURN_DEVICE` selects).
//!
//! `cargo run --release -p multi-dilation-benches --bin burn_timings [repeats]`

use burn::tensor::Device;
use multi_dilation_benches::{MnistStep, Path, SHAPES, Workload, input, median_ms, run};

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
    for shape in &SHAPES {
        for backward in [false, true] {
            let device = if backward {
                device.clone().autodiff()
            } else {
                device.clone()
            };
            let x = input(shape, &device, backward);
            let [ms, per_dilation_ms] = [Path::Layer, Path::LayerPerDilation].map(|path| {
                let workload = Workload::new(path, shape, &device);
                median_ms(repeats, || run(&workload, &x, backward))
            });
            rows.push(serde_json::json!({
                "shape": shape.name,
                "mode": if backward { "fwd+bwd" } else { "fwd" },
                "ms": ms,
                "per_dilation_ms": per_dilation_ms,
                "forward_gflops": shape.forward_flops() / 1e9,
            }));
        }
    }
    let mut step = MnistStep::new(64, &device.clone().autodiff());
    let ms = median_ms(repeats, || step.step());
    let report = serde_json::json!({
        "device": format!("{device:?}"),
        "layer": rows,
        "mnist_train_images_per_second": 64.0 / (ms / 1e3),
    });
    println!("{report}");
}
