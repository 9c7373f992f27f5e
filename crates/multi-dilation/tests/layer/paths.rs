//! The fused kernel equals the per-dilation path: forward and the gradients of input, kernel
//! and bias, in every configuration of the equivalence tests and every merge, on Flex (the CPU
//! kernel) and on wgpu (the CubeCL kernels, forced: `Auto` keeps burn's convolutions there). On
//! a backend without the fused kernel (ndarray) `Auto` must fall back and still agree.

use burn::tensor::activation::relu;
use burn::tensor::{DType, Tensor};
use multi_dilation::{Epilogue, ExecutionPath, MultiDilationConv2d, MultiDilationConv2dConfig};

use crate::common::*;
use crate::equivalence::{MERGES, cases};

/// `|a - b| <= tol * max(1, |b|)` everywhere.
#[track_caller]
fn assert_rel_close(actual: &[f32], expected: &[f32], tol: f32, what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: lengths differ");
    for (i, (a, b)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - b).abs() <= tol * b.abs().max(1.0),
            "{what}: index {i}: {a} vs {b}"
        );
    }
}

/// [`assert_rel_close`] within 1e-5 for each of the four results of [`run`].
#[track_caller]
fn assert_runs_close(got: &[Vec<f32>; 4], want: &[Vec<f32>; 4], what: &str) {
    for (k, name) in ["output", "grad x", "grad weight", "grad bias"]
        .iter()
        .enumerate()
    {
        assert_rel_close(&got[k], &want[k], 1e-5, &format!("{what} {name}"));
    }
}

/// Output, and gradients of x, weight and bias (empty when no bias) for a weighted sum.
fn run(layer: &MultiDilationConv2d, x: &Tensor<4>, seed: u64) -> [Vec<f32>; 4] {
    run_with(layer, x, seed, |layer, x| layer.forward(x))
}

/// [`run`] for any function of the layer and the input.
fn run_with(
    layer: &MultiDilationConv2d,
    x: &Tensor<4>,
    seed: u64,
    forward: impl Fn(&MultiDilationConv2d, Tensor<4>) -> Tensor<4>,
) -> [Vec<f32>; 4] {
    let x = x.clone().require_grad();
    let y = forward(layer, x.clone());
    let r = tensor(y.dims(), seed, &y.device());
    let grads = (y.clone() * r).sum().backward();
    [
        host(y),
        host(x.grad(&grads).unwrap()),
        host(layer.weight.val().grad(&grads).unwrap()),
        layer
            .bias
            .as_ref()
            .map(|b| host(b.val().grad(&grads).unwrap()))
            .unwrap_or_default(),
    ]
}

/// Whether `Auto` takes the fused kernel: on Flex only.
fn fused_expected(groups: usize) -> bool {
    cfg!(feature = "flex")
        && groups == 1
        && matches!(
            device().as_dispatch(),
            burn::backend::DispatchDevice::Flex(_)
        )
}

/// Whether the fused kernel runs at all: on Flex, and on wgpu with the feature `wgpu`.
fn fused_supported(groups: usize) -> bool {
    fused_expected(groups) || (cfg!(feature = "wgpu") && groups == 1 && on_wgpu())
}

#[cfg(feature = "wgpu")]
fn on_wgpu() -> bool {
    matches!(
        device().as_dispatch(),
        burn::backend::DispatchDevice::Cube(_)
    )
}

#[cfg(not(feature = "wgpu"))]
fn on_wgpu() -> bool {
    false
}

/// The path under test: the fused kernel forced wherever it runs, `Auto` (the fallback)
/// elsewhere.
fn path_under_test(groups: usize) -> ExecutionPath {
    if fused_supported(groups) {
        ExecutionPath::Fused
    } else {
        ExecutionPath::Auto
    }
}

#[test]
fn auto_and_fused_equal_per_dilation_forward_and_gradients() {
    let device = device().autodiff();
    let mut fused_cases = 0;
    for (c, case) in cases().into_iter().enumerate() {
        for merge in MERGES {
            let mut case = case.clone();
            case.merge = merge;
            let auto = case.layer(100 + c as u64, &device);
            assert_eq!(
                ExecutionPath::Auto.uses_fused(&device, DType::F32, case.groups),
                fused_expected(case.groups),
                "case {c}: Auto's choice"
            );
            assert_eq!(
                ExecutionPath::Fused.uses_fused(&device, DType::F32, case.groups),
                fused_supported(case.groups),
                "case {c}: where Fused runs"
            );
            fused_cases += usize::from(fused_supported(case.groups));
            let plain = auto.clone().with_path(ExecutionPath::PerDilation);
            let tested = auto.with_path(path_under_test(case.groups));
            let x = case.x(200 + c as u64, &device);
            let got = run(&tested, &x, 300 + c as u64);
            let want = run(&plain, &x, 300 + c as u64);
            assert_runs_close(&got, &want, &format!("case {c} {merge:?}"));
        }
    }
    if fused_supported(1) {
        // 5 of the 7 cases have groups 1, times 4 merges.
        assert_eq!(fused_cases, 20);
    }
}

#[test]
fn the_relu_epilogue_equals_relu_of_each_branch_then_the_merge() {
    // The reference is written differently: per-dilation branches, burn's ReLU on each, then
    // the merge. The epilogue runs inside the fused kernel (with its gradient mask) where it
    // runs, and on the branch tensors elsewhere; outputs and gradients must agree.
    let device = device().autodiff();
    for (c, case) in cases().into_iter().enumerate() {
        for merge in MERGES {
            let mut case = case.clone();
            case.merge = merge;
            let layer = case.layer(400 + c as u64, &device);
            let plain = layer.clone().with_path(ExecutionPath::PerDilation);
            let x = case.x(500 + c as u64, &device);
            let want = run_with(&plain, &x, 600 + c as u64, |layer, x| {
                let branches = layer.forward_branches(x).into_iter().map(relu).collect();
                layer.merge().apply(branches)
            });
            // The fused kernel where it runs; on a backend without it (ndarray) the per-dilation
            // path's epilogue, which is what `Auto` takes there.
            let path = path_under_test(case.groups);
            let tested = layer.with_path(path);
            let got = run_with(&tested, &x, 600 + c as u64, |layer, x| {
                layer.forward_with(x, Epilogue::Relu)
            });
            assert_runs_close(&got, &want, &format!("case {c} {merge:?} {path:?}"));
        }
    }
}

#[test]
fn forcing_the_fused_path_where_it_cannot_run_is_a_config_error() {
    let device = device();
    let grouped = MultiDilationConv2dConfig::new([4, 4], [3, 3])
        .with_groups(2)
        .with_path(ExecutionPath::Fused);
    let err = grouped.try_init(&device).unwrap_err();
    assert_eq!(err.field, "path");
    assert!(err.to_string().contains("groups 2"), "{err}");
    let single = MultiDilationConv2dConfig::new([1, 2], [3, 3]).with_path(ExecutionPath::Fused);
    assert_eq!(single.try_init(&device).is_ok(), fused_supported(1));
}

#[test]
fn a_net_gives_the_same_logits_and_gradients_on_both_paths() {
    // ReLU after a concatenation runs inside the fused kernel (with its gradient mask): the
    // logits and every gradient must equal the per-dilation net's.
    use burn::module::Module;
    use multi_dilation::MultiDilationNetConfig;
    let device = device().autodiff();
    // No pooling: the head sees every position, negative pre-activations included, so a
    // missing ReLU mask in backward would change the gradients (4x4 max pooling hides it).
    let config = MultiDilationNetConfig::new()
        .with_input_shape([1, 12, 12])
        .with_conv(MultiDilationConv2dConfig::new([1, 4], [3, 3]))
        .with_pooling(multi_dilation::Pooling::None);
    let mut net = config.init(&device);
    net.conv = net.conv.with_path(path_under_test(1));
    let mut plain = net.clone();
    plain.conv = plain.conv.with_path(ExecutionPath::PerDilation);
    let r = tensor([4, 10], 6, &device);
    let run = |net: &multi_dilation::MultiDilationNet| {
        let x = tensor([4, 1, 12, 12], 5, &device).require_grad();
        let logits = net.forward(x.clone());
        let grads = (logits.clone() * r.clone()).sum().backward();
        [
            host(logits),
            host(x.grad(&grads).unwrap()),
            host(net.conv.weight.val().grad(&grads).unwrap()),
            host(net.conv.bias.as_ref().unwrap().val().grad(&grads).unwrap()),
            host(net.head.weight.val().grad(&grads).unwrap()),
        ]
    };
    let (got, want) = (run(&net), run(&plain));
    for (k, what) in [
        "logits",
        "grad x",
        "grad conv weight",
        "grad conv bias",
        "grad head",
    ]
    .iter()
    .enumerate()
    {
        assert_rel_close(&got[k], &want[k], 1e-5, what);
    }
    // The ReLU is active: some pre-activations are negative, so masking matters.
    assert!(got[1].iter().any(|g| *g != 0.0));
    assert_eq!(net.num_params(), plain.num_params());
}

/// A batch larger than the 32 slices the CubeCL kernel gradient sums it in (so that slices
/// hold two images), one shared input and one input per branch: the kernel gradient of the
/// path under test against a direct loop in f64, within the rounding bound of an `f32` sum of
/// its terms in any order, `n * eps * sum |term|` (Higham 3.1). A fixed tolerance does not
/// fit here: each entry sums 37 * 25 * 3 terms that largely cancel.
#[test]
fn the_kernel_gradient_of_a_batch_of_37_equals_a_direct_loop() {
    let device = device().autodiff();
    let case = Case::new([2, 3], [3, 3], [37, 2, 5, 5]);
    let layer = case.layer(7, &device).with_path(path_under_test(1));
    let [batch, cin, h, w] = case.input;
    let (out, taps) = (case.channels[1], case.kernel[0] * case.kernel[1]);
    for per_branch in [false, true] {
        let inputs: Vec<Tensor<4>> = if per_branch {
            (0..case.dilations.len())
                .map(|n| case.x(8 + n as u64, &device))
                .collect()
        } else {
            vec![case.x(8, &device)]
        };
        let branches = if per_branch {
            layer.forward_parallel(inputs.clone())
        } else {
            layer.forward_branches(inputs[0].clone())
        };
        let weights: Vec<Tensor<4>> = (0..branches.len())
            .map(|n| tensor([batch, out, h, w], 20 + n as u64, &device))
            .collect();
        let loss = branches
            .into_iter()
            .zip(&weights)
            .map(|(y, r)| (y * r.clone()).sum())
            .reduce(|a, b| a + b)
            .expect("three branches");
        let grads = loss.backward();
        let got = host(layer.weight.val().grad(&grads).expect("a kernel gradient"));
        let xs: Vec<Vec<f32>> = inputs.into_iter().map(host).collect();
        let rs: Vec<Vec<f32>> = weights.into_iter().map(host).collect();
        let mut exact = vec![(0.0f64, 0.0f64, 0usize); got.len()];
        for (n, &d) in case.dilations.iter().enumerate() {
            let (top, _) = searched_same_padding(h, 3, 1, d);
            let (left, _) = searched_same_padding(w, 3, 1, d);
            let x = &xs[if per_branch { n } else { 0 }];
            for (b, o, oy, ox) in grid_positions(batch, out, h, w) {
                let g = f64::from(rs[n][((b * out + o) * h + oy) * w + ox]);
                for c in 0..cin {
                    for t in 0..taps {
                        let (i, j) = (t / 3, t % 3);
                        let (iy, ix) = (oy + i * d, ox + j * d);
                        if iy < top || ix < left || iy - top >= h || ix - left >= w {
                            continue;
                        }
                        let v = f64::from(x[((b * cin + c) * h + iy - top) * w + ix - left]);
                        let entry = &mut exact[(o * cin + c) * taps + t];
                        entry.0 += g * v;
                        entry.1 += (g * v).abs();
                        entry.2 += 1;
                    }
                }
            }
        }
        for (k, (got, (value, magnitude, terms))) in got.iter().zip(&exact).enumerate() {
            let bound = (*terms + 1) as f64 * f64::from(f32::EPSILON) * magnitude;
            assert!(
                (f64::from(*got) - value).abs() <= bound,
                "per-branch {per_branch}: grad weight [{k}]: {got} vs {value} (bound {bound:e})"
            );
        }
    }
}

/// Every `(b, o, y, x)` of a `[batch, out, h, w]` grid, in order.
fn grid_positions(
    batch: usize,
    out: usize,
    h: usize,
    w: usize,
) -> impl Iterator<Item = (usize, usize, usize, usize)> {
    (0..batch).flat_map(move |b| {
        (0..out).flat_map(move |o| (0..h).flat_map(move |y| (0..w).map(move |x| (b, o, y, x))))
    })
}

/// Maps of several 16 x 16 tiles, with edges that cut tiles, at strides 1 and 2: on wgpu the
/// fused forward runs the shared-memory tiled kernel there (the cases above fit in one tile),
/// and falls back to the direct kernel where a tile's input region would not fit in shared
/// memory (dilations 1 and 40); for one shared input and for one input per branch. Against the
/// per-dilation path: the output, and the input
/// gradient (a few dozen terms per entry). The kernel gradient sums thousands of terms per
/// entry here, past a fixed tolerance; it is checked against an exact reference in
/// [`the_kernel_gradient_of_a_batch_of_37_equals_a_direct_loop`].
#[test]
fn maps_of_several_tiles_equal_per_dilation() {
    let device = device().autodiff();
    let mut cases = Vec::new();
    let mut wide = Case::new([3, 6], [3, 3], [2, 3, 21, 37]);
    wide.dilations = vec![1, 2, 3];
    cases.push(wide);
    let mut strided = Case::new([2, 5], [3, 5], [1, 2, 35, 18]);
    strided.stride = [2, 1];
    strided.dilations = vec![1, 4];
    cases.push(strided);
    let mut segmentation = Case::new([2, 3], [3, 3], [1, 2, 40, 33]);
    segmentation.dilations = vec![6, 12, 18];
    cases.push(segmentation);
    let mut beyond_shared = Case::new([2, 3], [3, 3], [1, 2, 20, 45]);
    beyond_shared.dilations = vec![1, 40];
    cases.push(beyond_shared);
    for (c, case) in cases.into_iter().enumerate() {
        let fused = case
            .layer(400 + c as u64, &device)
            .with_path(path_under_test(1));
        let plain = fused.clone().with_path(ExecutionPath::PerDilation);
        let x = case.x(500 + c as u64, &device);
        let got = run(&fused, &x, 600 + c as u64);
        let want = run(&plain, &x, 600 + c as u64);
        assert_rel_close(&got[0], &want[0], 1e-5, &format!("tiled case {c} output"));
        assert_rel_close(&got[1], &want[1], 1e-5, &format!("tiled case {c} grad x"));
        // The same with one input per branch (each branch's region loaded apart).
        let inputs: Vec<Tensor<4>> = (0..case.dilations.len())
            .map(|n| case.x(700 + (10 * c + n) as u64, &device).require_grad())
            .collect();
        let parallel = |layer: &MultiDilationConv2d| {
            let branches = layer.forward_parallel(inputs.clone());
            let r = tensor(branches[0].dims(), 800 + c as u64, &device);
            let loss = branches
                .iter()
                .map(|y| (y.clone() * r.clone()).sum())
                .reduce(|a, b| a + b)
                .expect("branches");
            let grads = loss.backward();
            let outputs: Vec<f32> = branches.into_iter().flat_map(host).collect();
            let grad: Vec<f32> = inputs
                .iter()
                .flat_map(|x| host(x.grad(&grads).expect("grad")))
                .collect();
            (outputs, grad)
        };
        let (got, want) = (parallel(&fused), parallel(&plain));
        assert_rel_close(
            &got.0,
            &want.0,
            1e-5,
            &format!("tiled case {c} parallel output"),
        );
        assert_rel_close(
            &got.1,
            &want.1,
            1e-5,
            &format!("tiled case {c} parallel grad x"),
        );
    }
}
