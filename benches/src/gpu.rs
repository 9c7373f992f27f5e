//! What `gpu_bench` runs on a GPU: the exactness of the fused CubeCL kernels against the
//! per-dilation path (forward and the gradients of input, kernel and bias, on the geometries the
//! fused tests cover), and the timings of both paths on S3, S4 and two GPU-sized shapes.

use burn::tensor::{DType, Device, Distribution, Tensor, TensorData};
use multi_dilation::{ExecutionPath, Merge, MultiDilationConv2d, MultiDilationConv2dConfig};

use crate::{Path, Shape, Workload, input, median_ms, parallel_workload, run, run_parallel};

/// The shapes `gpu_bench` times: S3 and S4 of the CPU benches, a wide layer at a GPU's batch
/// (64 images, 256 -> 256 at 56x56, dilations 1, 2, 3) and a segmentation head (16 images,
/// 512 -> 256 at 64x64, DeepLab's rates 6, 12, 18).
pub const GPU_SHAPES: [Shape; 4] = [
    crate::SHAPES[2],
    crate::SHAPES[3],
    Shape::plain("G256", 64, [256, 256], 56),
    Shape {
        dilations: &[6, 12, 18],
        ..Shape::plain("GSEG", 16, [512, 256], 64)
    },
];

/// `shape` made small enough for a software GPU (lavapipe): batch 1 and a quarter of the
/// channels, so the whole flow runs end to end in minutes on a CPU.
///
/// # Example
/// ```
/// use multi_dilation_benches::gpu::{GPU_SHAPES, quick};
///
/// let q = quick(&GPU_SHAPES[2]);
/// assert_eq!((q.batch, q.input, q.output), (1, 64, 64));
/// ```
pub fn quick(shape: &Shape) -> Shape {
    Shape {
        batch: 1,
        input: shape.input.div_ceil(4),
        output: shape.output.div_ceil(4),
        ..*shape
    }
}

/// One geometry of the exactness check.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    /// Name in the report.
    pub name: &'static str,
    /// `[batch, channels in, height, width]`.
    pub input: [usize; 4],
    /// Output channels per dilation.
    pub output: usize,
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Stride on each axis.
    pub stride: [usize; 2],
    /// The dilation rates.
    pub dilations: &'static [usize],
    /// Whether the layer has a bias.
    pub bias: bool,
}

impl Case {
    const fn new(name: &'static str, input: [usize; 4], output: usize, kernel: [usize; 2]) -> Self {
        Self {
            name,
            input,
            output,
            kernel,
            stride: [1, 1],
            dilations: &[1, 2, 3],
            bias: true,
        }
    }
}

/// The geometries of the fused tests (`tests/layer/paths.rs`, groups 1): odd, even and
/// rectangular kernels, strides 1 and 2, maps of several 16x16 tiles, dilations large against
/// the tile (and one beyond the tiled kernel's region, which keeps the direct kernel), and a
/// batch of 37 for the kernel gradient's sum over slices.
pub const CASES: [Case; 9] = [
    Case::new("k3", [2, 2, 9, 9], 3, [3, 3]),
    Case {
        dilations: &[1, 3, 5],
        bias: false,
        ..Case::new("k5-no-bias", [1, 3, 11, 8], 2, [5, 5])
    },
    Case::new("k2-even", [2, 2, 7, 10], 4, [2, 2]),
    Case {
        stride: [2, 2],
        ..Case::new("k3x5-stride2", [2, 2, 10, 12], 3, [3, 5])
    },
    Case {
        stride: [2, 2],
        dilations: &[1, 3, 5],
        ..Case::new("k2x4-stride2-odd", [2, 1, 9, 11], 2, [2, 4])
    },
    Case::new("tiles-21x37", [2, 5, 21, 37], 6, [3, 3]),
    Case {
        stride: [2, 2],
        ..Case::new("tiles-35x18-stride2", [2, 3, 35, 18], 5, [3, 5])
    },
    Case {
        dilations: &[6, 12, 18],
        ..Case::new("tiles-40x33-d6-12-18", [1, 4, 40, 33], 3, [3, 3])
    },
    Case::new("batch-37", [37, 3, 9, 7], 4, [3, 3]),
];

/// The layer of `case` on `device`, computed by `path`.
fn case_layer(case: &Case, merge: Merge, device: &Device) -> MultiDilationConv2d {
    MultiDilationConv2dConfig::new([case.input[1], case.output], case.kernel)
        .with_dilations(case.dilations.to_vec())
        .with_stride(case.stride)
        .with_bias(case.bias)
        .with_merge(merge)
        .with_path(ExecutionPath::Fused)
        .init(device)
}

/// Output and the gradients of input, kernel and bias of a random weighted sum of the outputs.
fn outputs_and_gradients(
    layer: &MultiDilationConv2d,
    inputs: &[Tensor<4>],
    parallel: bool,
) -> [Vec<f32>; 4] {
    let inputs: Vec<_> = inputs.iter().map(|x| x.clone().require_grad()).collect();
    let outputs = if parallel {
        layer.forward_parallel(inputs.clone())
    } else {
        vec![layer.forward(inputs[0].clone())]
    };
    let output = Tensor::cat(outputs, 0);
    let weights = pattern(output.dims(), &output.device());
    let grads = (output.clone() * weights).sum().backward();
    let grad_x = Tensor::cat(
        inputs
            .iter()
            .map(|x| x.grad(&grads).expect("input gradient"))
            .collect(),
        0,
    );
    [
        host(output),
        host(grad_x),
        host(layer.weight.val().grad(&grads).expect("kernel gradient")),
        layer
            .bias
            .as_ref()
            .map(|b| b.val().grad(&grads).expect("bias gradient"))
            .map(host)
            .unwrap_or_default(),
    ]
}

/// Weights for the loss that depend on the shape alone (not on a device's random generator),
/// so that both paths are differentiated against the same ones: a fixed pattern in `[-1, 1)`.
fn pattern(shape: [usize; 4], device: &Device) -> Tensor<4> {
    let values: Vec<f32> = (0..shape.iter().product::<usize>())
        .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
        .collect();
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// The values of `t` on the host.
fn host<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 data")
}

/// The largest `|fused - per_dilation| / max(1, |per_dilation|)` over the output and the three
/// gradients of `case` (one shared input, or with `parallel` one input per dilation), merged by
/// `merge`, on `device` (an autodiff device).
///
/// # Example
/// ```
/// use burn::tensor::Device;
/// use multi_dilation::Merge;
/// use multi_dilation_benches::gpu::{CASES, relative_error};
///
/// // Flex has a fused kernel too (the CPU one), so the check runs there as well.
/// let device = Device::flex().autodiff();
/// assert!(relative_error(&CASES[0], Merge::Concat, true, &device) <= 1e-4);
/// ```
pub fn relative_error(case: &Case, merge: Merge, parallel: bool, device: &Device) -> f64 {
    let fused = case_layer(case, merge, device);
    let per_dilation = fused.clone().with_path(ExecutionPath::PerDilation);
    let count = if parallel { case.dilations.len() } else { 1 };
    let inputs: Vec<_> = (0..count)
        .map(|_| Tensor::random(case.input, Distribution::Normal(0.0, 1.0), device))
        .collect();
    let got = outputs_and_gradients(&fused, &inputs, parallel);
    let want = outputs_and_gradients(&per_dilation, &inputs, parallel);
    got.iter()
        .zip(&want)
        .flat_map(|(g, w)| {
            assert_eq!(g.len(), w.len(), "{}: result lengths differ", case.name);
            g.iter()
                .zip(w)
                .map(|(&g, &w)| f64::from((g - w).abs() / w.abs().max(1.0)))
        })
        .fold(0.0, f64::max)
}

/// The median time in milliseconds of `shape`'s layer by `path` (the fused kernel or the
/// per-dilation path), forward or with `backward` forward+backward, with one shared input or
/// with `parallel` one input per dilation, each call waited for on the device.
///
/// # Example
/// ```
/// use burn::tensor::Device;
/// use multi_dilation::ExecutionPath;
/// use multi_dilation_benches::gpu::{GPU_SHAPES, quick, time_ms};
///
/// let s3 = quick(&GPU_SHAPES[0]);
/// let ms = time_ms(&s3, ExecutionPath::Fused, true, true, &Device::flex(), 1);
/// assert!(ms > 0.0);
/// ```
pub fn time_ms(
    shape: &Shape,
    path: ExecutionPath,
    parallel: bool,
    backward: bool,
    device: &Device,
    repeats: usize,
) -> f64 {
    let device = if backward {
        device.clone().autodiff()
    } else {
        device.clone()
    };
    let sync = || device.sync().expect("the device ran the pass");
    if parallel {
        let (layer, inputs) = parallel_workload(shape, path, &device, backward);
        median_ms(repeats, || {
            run_parallel(&layer, &inputs, backward);
            sync();
        })
    } else {
        let bench_path = match path {
            ExecutionPath::Fused => Path::LayerFused,
            ExecutionPath::PerDilation => Path::LayerPerDilation,
            ExecutionPath::Auto => Path::Layer,
        };
        let workload = Workload::new(bench_path, shape, &device);
        let x = input(shape, &device, backward);
        median_ms(repeats, || {
            run(&workload, &x, backward);
            sync();
        })
    }
}

/// Whether `Auto` takes the fused kernel on `device` for an `f32` layer without groups.
///
/// # Example
/// ```
/// use burn::tensor::Device;
///
/// assert!(multi_dilation_benches::gpu::auto_takes_fused(&Device::flex()));
/// ```
pub fn auto_takes_fused(device: &Device) -> bool {
    ExecutionPath::Auto.uses_fused(device, DType::F32, 1)
}
