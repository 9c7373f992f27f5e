//! burn's side of `benches/compare_ranks.sh`: the 1-D and 3-D layers (`MultiDilationConv1d`,
//! `MultiDilationConv3d`, branches concatenated) on the shapes of `RANK_SHAPES`, forward and
//! forward+backward, by each path that runs them on Flex: the default (`Auto`), one convolution
//! per dilation, and for 1-D the fused kernel. Prints one JSON object (medians in
//! milliseconds; `null` where a path does not run).
//!
//! Usage: `rank_timings [repeats]`.

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

fn main() {
    let repeats: usize = std::env::args()
        .nth(1)
        .map_or(10, |a| a.parse().expect("repeats"));
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
