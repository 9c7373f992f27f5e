//! Times the MNIST model's training step alone (batch 64, Adam) on flex: a target for
//! profilers (`perf record`). Prints the median milliseconds per step.
//!
//! `cargo run --release -p multi-dilation-benches --bin mnist_step [steps]`

use burn::tensor::Device;
use multi_dilation_benches::{MnistStep, median_ms};

fn main() {
    let steps: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(30);
    let mut step = MnistStep::new(64, &Device::flex().autodiff());
    println!(
        "median ms per step: {:.2}",
        median_ms(steps, || step.step())
    );
}
