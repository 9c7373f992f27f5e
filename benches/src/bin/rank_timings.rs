//! burn's side of `benches/compare_ranks.sh`: the 1-D and 3-D layers (`MultiDilationConv1d`,
//! `MultiDilationConv3d`, branches concatenated) on the shapes of `RANK_SHAPES`, forward and
//! forward+backward, by each path that runs them on Flex: the default (`Auto`), one convolution
//! per dilation, and for 1-D the fused kernel. Prints one JSON object (medians in
//! milliseconds; `null` where a path does not run).
//!
//! Usage: `rank_timings [repeats]`, or `rank_timings peak SHAPE PATH` (PATH: `auto`,
//! `per-dilation`, `fused`): three forward+backward passes of one shape by one path, and the
//! growth of the process's peak resident memory (`VmHWM`) over them, in MiB.

use burn::tensor::{DType, Device, Distribution, Tensor};
use multi_dilation::{
    ExecutionPath, MultiDilationConv, MultiDilationConv1dConfig, MultiDilationConv3dConfig,
};
use multi_dilation_benches::{RANK_SHAPES, RankShape, median_ms};
use serde_json::{Value, json};

/// One row per mode: the median time of each path's forward (and backward) pass.
fn rows<const D: usize>(
    shape: &RankShape,
    layer: MultiDilationConv<D>,
    repeats: usize,
) -> Vec<Value> {
    let input: [usize; D] = shape.input().try_into().expect("the shape's rank");
    let paths = [
        ExecutionPath::Auto,
        ExecutionPath::PerDilation,
        ExecutionPath::Fused,
    ];
    [false, true]
        .into_iter()
        .map(|backward| {
            let device = if backward {
                Device::flex().autodiff()
            } else {
                Device::flex()
            };
            let x = Tensor::<D>::random(input, Distribution::Normal(0.0, 1.0), &device);
            let x = if backward { x.require_grad() } else { x };
            let times: Vec<Option<f64>> = paths
                .iter()
                .map(|&path| {
                    let runs = path != ExecutionPath::Fused || D != 5;
                    let layer = layer.clone().with_path(path);
                    runs.then(|| {
                        median_ms(repeats, || {
                            let y = layer.forward(x.clone());
                            if backward {
                                drop(y.sum().backward());
                            } else {
                                let _ = y.sum().into_scalar::<f32>();
                            }
                        })
                    })
                })
                .collect();
            let fused = D != 5 && ExecutionPath::Auto.uses_fused(&device, DType::F32, 1);
            json!({
                "shape": shape.name,
                "mode": if backward { "fwd+bwd" } else { "fwd" },
                "auto_ms": times[0], "per_dilation_ms": times[1], "fused_ms": times[2],
                "auto": if fused { "fused" } else { "per dilation" },
            })
        })
        .collect()
}

/// The process's peak resident memory so far, in KiB (`VmHWM` of `/proc/self/status`).
fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Three forward+backward passes of `layer` (built on an autodiff device) on `shape`; the
/// growth of the peak memory over them, in MiB.
fn peak_growth<const D: usize>(shape: &RankShape, layer: MultiDilationConv<D>) -> f64 {
    let device = Device::flex().autodiff();
    let input: [usize; D] = shape.input().try_into().expect("the shape's rank");
    let x = Tensor::<D>::random(input, Distribution::Normal(0.0, 1.0), &device).require_grad();
    let before = peak_kib();
    for _ in 0..3 {
        drop(layer.forward(x.clone()).sum().backward());
    }
    (peak_kib() - before) as f64 / 1024.0
}

/// `rank_timings peak SHAPE PATH`.
fn peak(name: &str, path: &str) {
    let shape = RANK_SHAPES
        .iter()
        .find(|s| s.name == name)
        .expect("a shape of RANK_SHAPES");
    let path = match path {
        "auto" => ExecutionPath::Auto,
        "per-dilation" => ExecutionPath::PerDilation,
        "fused" => ExecutionPath::Fused,
        other => panic!("unknown path {other}"),
    };
    let device = Device::flex().autodiff();
    let dilations = shape.dilations.to_vec();
    let mib = if let [k] = *shape.kernel {
        let config = MultiDilationConv1dConfig::new(shape.channels, k).with_dilations(dilations);
        peak_growth(shape, config.with_path(path).init(&device))
    } else {
        let kernel = shape.kernel.try_into().expect("a 3-D kernel");
        let config =
            MultiDilationConv3dConfig::new(shape.channels, kernel).with_dilations(dilations);
        peak_growth(shape, config.with_path(path).init(&device))
    };
    println!(
        "{}",
        json!({ "shape": name, "path": format!("{path:?}"), "peak_growth_mib": mib })
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("peak") {
        return peak(&args[2], &args[3]);
    }
    let repeats: usize = args.get(1).map_or(10, |a| a.parse().expect("repeats"));
    let device = Device::flex();
    let mut all = Vec::new();
    for shape in &RANK_SHAPES {
        let dilations = shape.dilations.to_vec();
        if let [k] = *shape.kernel {
            let layer = MultiDilationConv1dConfig::new(shape.channels, k)
                .with_dilations(dilations)
                .init(&device);
            all.extend(rows(shape, layer, repeats));
        } else {
            let kernel = shape.kernel.try_into().expect("a 3-D kernel");
            let layer = MultiDilationConv3dConfig::new(shape.channels, kernel)
                .with_dilations(dilations)
                .init(&device);
            all.extend(rows(shape, layer, repeats));
        }
    }
    let shapes: Vec<Value> = RANK_SHAPES.iter().map(RankShape::json).collect();
    println!(
        "{}",
        json!({ "device": format!("{device:?}"), "shapes": shapes, "rows": all })
    );
}
