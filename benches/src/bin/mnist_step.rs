//! Times the MNIST model's training step alone (batch 64, Adam) on flex: a target for
//! profilers (`perf record`). Prints the median milliseconds per step.
//!
//! `cargo run --release -p multi-dilation-benches --bin mnist_step [steps]`

use std::time::Instant;

/// glibc's malloc returns large tensors' memory to the OS and faults it back in on every step;
/// mimalloc keeps it, like PyTorch's CPU allocator does (measured: see the README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use burn::tensor::Device;
use multi_dilation_benches::MnistStep;

fn main() {
    let steps: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(30);
    let mut step = MnistStep::new(64, &Device::flex().autodiff());
    step.step();
    let mut times: Vec<f64> = (0..steps)
        .map(|_| {
            let start = Instant::now();
            step.step();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    println!("median ms per step: {:.2}", times[steps / 2]);
}
