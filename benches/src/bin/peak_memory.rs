//! One shape's forward+backward on one path, a few times, for `/usr/bin/time -v` to report
//! the peak memory (maximum resident set size) of that path alone.
//!
//! `peak_memory <layer|layer_per_dilation|independent|single> <S1|S2|S3|S4> [repeats]`

use burn::tensor::Device;
use multi_dilation_benches::{Path, SHAPES, Workload, input, run};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage =
        "usage: peak_memory <layer|layer_per_dilation|independent|single> <S1..S4> [repeats]";
    let path = args
        .get(1)
        .and_then(|name| Path::ALL.into_iter().find(|p| p.name() == name))
        .unwrap_or_else(|| panic!("{usage}"));
    let shape = args
        .get(2)
        .and_then(|name| SHAPES.iter().find(|s| s.name == name))
        .unwrap_or_else(|| panic!("{usage}"));
    let repeats: usize = args.get(3).and_then(|r| r.parse().ok()).unwrap_or(3);
    let device = Device::flex().autodiff();
    let workload = Workload::new(path, shape, &device);
    let x = input(shape, &device, true);
    for _ in 0..repeats {
        run(&workload, &x, true);
    }
    println!("{} {} fwd+bwd x{repeats} done", path.name(), shape.name);
}
