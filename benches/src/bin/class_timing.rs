//! One shape (S1-S4 or a shape class) on the fused and the per-dilation path, timed alone on
//! flex: the median of `repeats` calls in milliseconds, one line per path. For profiling one
//! row of `compare.sh` (`perf record` on this binary) and for quick before/after timings.
//!
//! `cargo run --release -p multi-dilation-benches --bin class_timing -- NAME MODE [repeats]
//! [fused]` with `NAME` one of `SHAPES` or `CLASSES` (`S3`, `K7`, `SEG`, ...), `MODE` one of
//! `fwd`, `fwd+bwd`, `fwd-b1` (forward at batch 1), and `fused` to time the fused path only.

use burn::tensor::Device;
use multi_dilation_benches::{CLASSES, Path, SHAPES, Workload, input, median_ms, run};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: class_timing NAME fwd|fwd+bwd|fwd-b1 [repeats] [fused]";
    let (Some(name), Some(mode)) = (args.get(1), args.get(2)) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let repeats: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(10);
    let mut all = SHAPES.iter().chain(&CLASSES);
    let Some(class) = all.find(|c| c.name == name) else {
        let names: Vec<&str> = SHAPES.iter().chain(&CLASSES).map(|c| c.name).collect();
        eprintln!("class_timing: no shape named '{name}' (shapes: {names:?})");
        std::process::exit(2);
    };
    let (shape, backward) = match mode.as_str() {
        "fwd" => (*class, false),
        "fwd+bwd" => (*class, true),
        "fwd-b1" => (class.single(), false),
        _ => {
            eprintln!("class_timing: mode must be fwd, fwd+bwd or fwd-b1, got '{mode}'\n{usage}");
            std::process::exit(2);
        }
    };
    let flex = Device::flex();
    let device = if backward { flex.autodiff() } else { flex };
    let x = input(&shape, &device, backward);
    let paths = if args.get(4).is_some_and(|a| a == "fused") {
        &[Path::LayerFused][..]
    } else {
        &[Path::LayerFused, Path::LayerPerDilation][..]
    };
    for &path in paths {
        let workload = Workload::new(path, &shape, &device);
        let ms = median_ms(repeats, || run(&workload, &x, backward));
        println!("{name} {mode} {}: {ms:.2} ms", path.name());
    }
}
