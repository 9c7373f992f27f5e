//! What the benchmarks run: the shapes S1-S4 (see `docs/performance.md`), the execution paths
//! compared (the layer, N independent `Conv2d` with the same FLOPs, one `Conv2d` with 1/N of them),
//! forward or forward+backward, the branch-parallel layer, the MNIST model's training step, and
//! what the GPU binary runs ([`gpu`]).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::time::Instant;

pub mod gpu;
mod parallel;
mod shapes;

pub use parallel::{parallel_workload, run_parallel, run_parallel_stacked, stacked_input};
pub use shapes::{CLASSES, DILATIONS, SHAPES, Shape};

use burn::module::Module;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{DType, Device, Distribution, Int, Tensor};
use multi_dilation::padding::same_padding;
use multi_dilation::{ExecutionPath, MultiDilationConv2d, MultiDilationNetConfig};

/// glibc's malloc returns large tensors' memory to the OS and faults it back in on every step;
/// mimalloc keeps it, like PyTorch's CPU allocator does (measured: see `docs/performance.md`). Every bench
/// binary links this library, so all of them allocate through mimalloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The median of `repeats` timed calls of `f`, in milliseconds, after one untimed warm-up call.
///
/// # Panics
/// Panics if `repeats` is zero.
///
/// # Example
/// ```
/// let ms = multi_dilation_benches::median_ms(3, || {});
/// assert!(ms >= 0.0);
/// ```
pub fn median_ms(repeats: usize, mut f: impl FnMut()) -> f64 {
    assert!(repeats > 0, "median_ms: repeats must be at least 1, got 0");
    f();
    let mut times: Vec<f64> = (0..repeats)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[repeats / 2]
}

/// An execution path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// `MultiDilationConv2d` with its default path (`ExecutionPath::Auto`: the fused kernel on
    /// flex, one conv2d per dilation elsewhere).
    Layer,
    /// `MultiDilationConv2d` forced to one backend conv2d per dilation.
    LayerPerDilation,
    /// `MultiDilationConv2d` forced to the fused kernel (`ExecutionPath::Fused`): on flex the
    /// same as `Layer`; on wgpu the CubeCL kernels, which `Auto` does not take there.
    LayerFused,
    /// N independent burn `Conv2d`, concatenated: the same FLOPs, N kernels.
    Independent,
    /// One burn `Conv2d` at dilation 1: 1/N of the FLOPs.
    Single,
}

impl Path {
    /// All paths.
    pub const ALL: [Path; 5] = [
        Path::Layer,
        Path::LayerPerDilation,
        Path::LayerFused,
        Path::Independent,
        Path::Single,
    ];

    /// Name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Path::Layer => "layer",
            Path::LayerPerDilation => "layer_per_dilation",
            Path::LayerFused => "layer_fused",
            Path::Independent => "independent",
            Path::Single => "single",
        }
    }

    /// Whether this path runs on `device`: the forced fused kernel needs Flex or wgpu.
    ///
    /// # Example
    /// ```
    /// use burn::tensor::Device;
    /// use multi_dilation_benches::Path;
    ///
    /// assert!(Path::LayerFused.runs_on(&Device::flex()));
    /// # #[allow(deprecated)]
    /// # let ndarray = Device::ndarray();
    /// assert!(!Path::LayerFused.runs_on(&ndarray));
    /// ```
    pub fn runs_on(self, device: &Device) -> bool {
        self != Path::LayerFused || ExecutionPath::Fused.uses_fused(device, DType::F32, 1)
    }

    fn execution_path(self) -> ExecutionPath {
        match self {
            Path::LayerPerDilation => ExecutionPath::PerDilation,
            Path::LayerFused => ExecutionPath::Fused,
            _ => ExecutionPath::Auto,
        }
    }
}

/// The modules of one path for `shape`.
// A few exist per benchmark; boxing the layer would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Workload {
    /// The layer.
    Layer(MultiDilationConv2d),
    /// Convolutions (N, or one).
    Convs(Vec<Conv2d>),
}

fn conv(shape: &Shape, dilation: usize, device: &Device) -> Conv2d {
    let (top, bottom) = same_padding(shape.size, shape.kernel, shape.stride, dilation);
    Conv2dConfig::new([shape.input, shape.output], [shape.kernel, shape.kernel])
        .with_dilation([dilation, dilation])
        .with_stride([shape.stride, shape.stride])
        .with_padding(PaddingConfig2d::Explicit(top, top, bottom, bottom))
        .init(device)
}

impl Workload {
    /// Builds `path` for `shape` on `device`.
    pub fn new(path: Path, shape: &Shape, device: &Device) -> Self {
        match path {
            Path::Layer | Path::LayerPerDilation | Path::LayerFused => {
                Workload::Layer(shape.layer(path.execution_path(), device))
            }
            Path::Independent => Workload::Convs(
                shape
                    .dilations
                    .iter()
                    .map(|&d| conv(shape, d, device))
                    .collect(),
            ),
            Path::Single => Workload::Convs(vec![conv(shape, 1, device)]),
        }
    }

    /// The output for `x`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        match self {
            Workload::Layer(layer) => layer.forward(x),
            Workload::Convs(convs) if convs.len() == 1 => convs[0].forward(x),
            Workload::Convs(convs) => {
                Tensor::cat(convs.iter().map(|c| c.forward(x.clone())).collect(), 1)
            }
        }
    }
}

/// A random input for `shape`; with `grad`, tracked so backward computes its gradient too
/// (as the PyTorch reference does).
pub fn input(shape: &Shape, device: &Device, grad: bool) -> Tensor<4> {
    let x = Tensor::random(
        [shape.batch, shape.input, shape.size, shape.size],
        Distribution::Normal(0.0, 1.0),
        device,
    );
    if grad { x.require_grad() } else { x }
}

/// One forward (and, if `backward`, backward) pass, waited for.
pub fn run(workload: &Workload, x: &Tensor<4>, backward: bool) {
    let y = workload.forward(x.clone());
    if backward {
        let grads = y.sum().backward();
        drop(grads);
    } else {
        let _ = y.sum().into_scalar::<f32>();
    }
}

/// A 1-D or 3-D benchmark shape: batch, channels `[in, out]`, spatial size, kernel size (one
/// entry per spatial axis) and dilations; stride 1, branches concatenated.
#[derive(Debug, Clone, Copy)]
pub struct RankShape {
    /// The row's name.
    pub name: &'static str,
    /// Images (signals, volumes) per batch.
    pub batch: usize,
    /// `[in, out]` channels.
    pub channels: [usize; 2],
    /// The size of each spatial axis.
    pub spatial: &'static [usize],
    /// The kernel size of each spatial axis.
    pub kernel: &'static [usize],
    /// One branch per dilation.
    pub dilations: &'static [usize],
}

impl RankShape {
    /// The input shape `[batch, in, ..spatial]`.
    ///
    /// # Example
    /// ```
    /// let shape = &multi_dilation_benches::RANK_SHAPES[0];
    /// assert_eq!(shape.input().len(), shape.spatial.len() + 2);
    /// ```
    pub fn input(&self) -> Vec<usize> {
        let mut input = vec![self.batch, self.channels[0]];
        input.extend_from_slice(self.spatial);
        input
    }

    /// The geometry as JSON, for the PyTorch side.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name, "batch": self.batch, "channels": self.channels,
            "spatial": self.spatial, "kernel": self.kernel, "dilations": self.dilations,
        })
    }
}

/// The 1-D and 3-D shapes of `compare_ranks.sh`: a WaveNet-like stack layer on audio frames
/// (dilations 1, 2, 4, 8), a sensor-series layer with a 5-tap kernel, a small segmentation
/// volume at dilations 1, 2, 3, and an Autofocus-like volume layer (dilations 2 and 6).
pub const RANK_SHAPES: [RankShape; 4] = [
    RankShape {
        name: "A1D",
        batch: 8,
        channels: [64, 64],
        spatial: &[4096],
        kernel: &[3],
        dilations: &[1, 2, 4, 8],
    },
    RankShape {
        name: "S1D",
        batch: 32,
        channels: [16, 32],
        spatial: &[1024],
        kernel: &[5],
        dilations: &[1, 3, 9],
    },
    RankShape {
        name: "V3D",
        batch: 2,
        channels: [16, 16],
        spatial: &[32, 32, 32],
        kernel: &[3, 3, 3],
        dilations: &[1, 2, 3],
    },
    RankShape {
        name: "AF3D",
        batch: 1,
        channels: [8, 16],
        spatial: &[24, 48, 48],
        kernel: &[3, 3, 3],
        dilations: &[2, 6],
    },
];

/// The MNIST example's default model and Adam, for timing training steps.
pub struct MnistStep {
    model: Option<multi_dilation::MultiDilationNet>,
    optim: burn::optim::ModuleOptimizer,
    images: Tensor<4>,
    targets: Tensor<1, Int>,
}

impl MnistStep {
    /// The default `MultiDilationNet` on `device` (an autodiff device) with a random batch.
    pub fn new(batch: usize, device: &Device) -> Self {
        let images = Tensor::random([batch, 1, 28, 28], Distribution::Normal(0.0, 1.0), device);
        let targets = Tensor::<1, Int>::from_ints(
            (0..batch)
                .map(|i| (i % 10) as i32)
                .collect::<Vec<_>>()
                .as_slice(),
            device,
        );
        Self {
            model: Some(MultiDilationNetConfig::new().init(device)),
            optim: AdamConfig::new().init(),
            images,
            targets,
        }
    }

    /// One Adam step on the batch.
    pub fn step(&mut self) {
        let model = self.model.take().expect("model");
        let logits = model.forward(self.images.clone());
        let loss = CrossEntropyLossConfig::new()
            .init(&logits.device())
            .forward(logits, self.targets.clone());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let model = self.optim.step(1e-3, model, grads);
        let _ = model.num_params();
        self.model = Some(model);
    }
}
