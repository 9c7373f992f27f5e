//! Helpers shared by the layer tests: the device, deterministic data, references, comparisons.

use burn::module::Param;
use burn::tensor::DType;
use burn::tensor::{Device, Tensor, TensorData};
use multi_dilation::{ExecutionPath, Merge, MultiDilationConv2d, MultiDilationConv2dConfig};

/// The device under test: flex, or whatever burn's `BURN_DEVICE` selects.
pub fn device() -> Device {
    match std::env::var("BURN_DEVICE") {
        Ok(_) => Device::default(),
        Err(_) => Device::flex(),
    }
}

/// Every execution path that runs a layer with `groups` on `device`: per-dilation, `Auto`,
/// and the fused kernel forced where it runs (on wgpu `Auto` keeps burn's convolutions, so
/// only the forced path tests the CubeCL kernels there).
pub fn paths_for(device: &Device, groups: usize) -> Vec<ExecutionPath> {
    let mut paths = vec![ExecutionPath::PerDilation, ExecutionPath::Auto];
    if ExecutionPath::Fused.uses_fused(device, DType::F32, groups) {
        paths.push(ExecutionPath::Fused);
    }
    paths
}

/// Deterministic values in `[-1, 1)` (xorshift64*), the same on every backend and machine.
pub fn values(len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let bits = state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40;
            bits as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

/// A tensor of [`values`] with `shape` on `device`.
pub fn tensor<const D: usize>(shape: [usize; D], seed: u64, device: &Device) -> Tensor<D> {
    let len = shape.iter().product();
    Tensor::from_data(TensorData::new(values(len, seed), shape), device)
}

/// A tensor from host values.
pub fn from_vec<const D: usize>(data: Vec<f32>, shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(data, shape), device)
}

/// The values of a tensor, on the host.
pub fn host<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

/// Largest absolute difference; panics on a length mismatch.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Asserts that `actual` is within `tol` of `expected` everywhere.
#[track_caller]
pub fn assert_close(actual: &[f32], expected: &[f32], tol: f32, what: &str) {
    let err = max_abs_diff(actual, expected);
    assert!(
        err <= tol,
        "{what}: max abs error {err:e} exceeds {tol:e} (n = {})",
        actual.len()
    );
}

/// Test configuration of one layer, with deterministic weights.
#[derive(Clone, Debug)]
pub struct Case {
    pub channels: [usize; 2],
    pub kernel: [usize; 2],
    pub dilations: Vec<usize>,
    pub stride: [usize; 2],
    pub groups: usize,
    pub bias: bool,
    pub merge: Merge,
    pub input: [usize; 4],
}

impl Case {
    pub fn new(channels: [usize; 2], kernel: [usize; 2], input: [usize; 4]) -> Self {
        Self {
            channels,
            kernel,
            dilations: vec![1, 2, 3],
            stride: [1, 1],
            groups: 1,
            bias: true,
            merge: Merge::Concat,
            input,
        }
    }

    pub fn config(&self) -> MultiDilationConv2dConfig {
        MultiDilationConv2dConfig::new(self.channels, self.kernel)
            .with_dilations(self.dilations.clone())
            .with_stride(self.stride)
            .with_groups(self.groups)
            .with_bias(self.bias)
            .with_merge(self.merge)
    }

    pub fn weight_shape(&self) -> [usize; 4] {
        [
            self.channels[1],
            self.channels[0] / self.groups,
            self.kernel[0],
            self.kernel[1],
        ]
    }

    /// The layer with weights from `seed` (bias from `seed + 1`), on `device`.
    pub fn layer(&self, seed: u64, device: &Device) -> MultiDilationConv2d {
        let mut layer = self.config().init(device);
        layer.weight = Param::from_tensor(tensor(self.weight_shape(), seed, device));
        if self.bias {
            layer.bias = Some(Param::from_tensor(tensor(
                [self.channels[1]],
                seed + 1,
                device,
            )));
        }
        layer
    }

    pub fn x(&self, seed: u64, device: &Device) -> Tensor<4> {
        tensor(self.input, seed, device)
    }
}

/// 'same' padding found by search, independently of the crate's formula: the smallest total
/// padding whose output length is `ceil(input / stride)`, the smaller half before.
pub fn searched_same_padding(input: usize, k: usize, s: usize, d: usize) -> (usize, usize) {
    let span = d * (k - 1) + 1;
    let want = input.div_ceil(s);
    let total = (0..)
        .find(|&p| input + p >= span && (input + p - span) / s + 1 >= want)
        .unwrap();
    (total / 2, total - total / 2)
}

/// A direct loop convolution on host values: zero padding `pad = [(top, bottom), (left,
/// right)]`, NCHW input, OIHW weight.
#[allow(clippy::too_many_arguments)]
pub fn direct_conv2d(
    x: &[f32],
    xs: [usize; 4],
    w: &[f32],
    ws: [usize; 4],
    bias: Option<&[f32]>,
    stride: [usize; 2],
    pad: [(usize, usize); 2],
    dilation: usize,
    groups: usize,
) -> (Vec<f32>, [usize; 4]) {
    let [n, cin, h, wd] = xs;
    let [cout, cg, kh, kw] = ws;
    assert_eq!(cg * groups, cin);
    let ho = (h + pad[0].0 + pad[0].1 - dilation * (kh - 1) - 1) / stride[0] + 1;
    let wo = (wd + pad[1].0 + pad[1].1 - dilation * (kw - 1) - 1) / stride[1] + 1;
    let out_per_group = cout / groups;
    let mut y = vec![0.0f32; n * cout * ho * wo];
    for b in 0..n {
        for o in 0..cout {
            let g = o / out_per_group;
            for i in 0..ho {
                for j in 0..wo {
                    let mut acc = bias.map_or(0.0, |bias| bias[o]);
                    for c in 0..cg {
                        let ci = g * cg + c;
                        for p in 0..kh {
                            for q in 0..kw {
                                let r = (i * stride[0] + p * dilation) as isize - pad[0].0 as isize;
                                let s = (j * stride[1] + q * dilation) as isize - pad[1].0 as isize;
                                if r < 0 || s < 0 || r >= h as isize || s >= wd as isize {
                                    continue;
                                }
                                let xv = x[((b * cin + ci) * h + r as usize) * wd + s as usize];
                                let wv = w[((o * cg + c) * kh + p) * kw + q];
                                acc += xv * wv;
                            }
                        }
                    }
                    y[((b * cout + o) * ho + i) * wo + j] = acc;
                }
            }
        }
    }
    (y, [n, cout, ho, wo])
}
