//! Branch-parallel layers (`forward_parallel`) and anti-aliased dilation against independent
//! references: direct loops with padding found by search, burn's conv2d on each branch alone,
//! a direct 2-D convolution with the Gaussian, and finite differences.

use burn::tensor::{Device, Tensor};
use multi_dilation::blur::{branch_sigma, gaussian_blur, gaussian_taps};
use multi_dilation::{ExecutionPath, MultiDilationConv2d};

use crate::common::*;

fn cases() -> Vec<Case> {
    let plain = Case::new([2, 3], [3, 3], [2, 2, 9, 8]);
    let mut strided = Case::new([3, 4], [2, 3], [1, 3, 10, 9]);
    strided.stride = [2, 1];
    strided.dilations = vec![1, 3];
    strided.bias = false;
    let mut grouped = Case::new([4, 2], [3, 3], [2, 4, 8, 8]);
    grouped.groups = 2;
    grouped.dilations = vec![2, 1, 4];
    vec![plain, strided, grouped]
}

/// Branch `i` by a direct loop with 'same' padding found by search.
fn direct_branch(
    case: &Case,
    x: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    d: usize,
) -> Vec<f32> {
    let [_, _, h, w] = case.input;
    let [kh, kw] = case.kernel;
    let pad = [
        searched_same_padding(h, kh, case.stride[0], d),
        searched_same_padding(w, kw, case.stride[1], d),
    ];
    let ws = case.weight_shape();
    direct_conv2d(
        x,
        case.input,
        weight,
        ws,
        bias,
        case.stride,
        pad,
        d,
        case.groups,
    )
    .0
}

#[test]
fn forward_parallel_equals_direct_loops_per_branch() {
    let device = device();
    for (c, case) in cases().into_iter().enumerate() {
        for path in paths_for(&device, case.groups) {
            let layer = case.layer(10 + c as u64, &device).with_path(path);
            let inputs: Vec<Tensor<4>> = (0..case.dilations.len())
                .map(|i| case.x(20 + i as u64, &device))
                .collect();
            let outputs = layer.forward_parallel(inputs.clone());
            assert_eq!(outputs.len(), case.dilations.len());
            let weight = host(layer.weight.val());
            let bias = layer.bias.as_ref().map(|b| host(b.val()));
            for (i, (x, y)) in inputs.into_iter().zip(outputs).enumerate() {
                let want =
                    direct_branch(&case, &host(x), &weight, bias.as_deref(), case.dilations[i]);
                assert_close(
                    &host(y),
                    &want,
                    1e-4,
                    &format!("case {c} {path:?} branch {i}"),
                );
            }
        }
    }
}

/// Output and gradients (inputs, weight, bias) of `sum_i sum(y_i * r_i)`.
pub fn parallel_grads(layer: &MultiDilationConv2d, inputs: &[Tensor<4>]) -> Vec<Vec<f32>> {
    let inputs: Vec<Tensor<4>> = inputs.iter().map(|x| x.clone().require_grad()).collect();
    let outputs = layer.forward_parallel(inputs.clone());
    let loss = outputs
        .iter()
        .enumerate()
        .map(|(i, y)| (y.clone() * tensor(y.dims(), 70 + i as u64, &y.device())).sum())
        .reduce(|a, b| a + b)
        .unwrap();
    let grads = loss.backward();
    let mut all: Vec<Vec<f32>> = outputs.into_iter().map(host).collect();
    all.extend(inputs.iter().map(|x| host(x.grad(&grads).unwrap())));
    all.push(host(layer.weight.val().grad(&grads).unwrap()));
    if let Some(bias) = &layer.bias {
        all.push(host(bias.val().grad(&grads).unwrap()));
    }
    all
}

/// The reference for a branch-parallel layer of `case` (weights from `seed`) on `inputs`: each
/// branch a one-dilation layer of its own (burn's conv2d and its backward), the weight and bias
/// gradients summed over the branches by hand. The results of `sum_i sum(y_i * r_i)` in the
/// order of [`parallel_grads`]: outputs, input gradients, weight gradient, bias gradient.
fn branches_alone(case: &Case, seed: u64, inputs: &[Tensor<4>], device: &Device) -> Vec<Vec<f32>> {
    let n = case.dilations.len();
    let mut want: Vec<Vec<f32>> = vec![Vec::new(); 2 * n];
    let mut shared_grads: Vec<Vec<f32>> = Vec::new();
    for (i, &d) in case.dilations.iter().enumerate() {
        let single = case
            .layer(seed, device)
            .with_dilations(vec![d])
            .unwrap()
            .with_path(ExecutionPath::PerDilation);
        let x = inputs[i].clone().require_grad();
        let y = single.forward(x.clone());
        let grads = (y.clone() * tensor(y.dims(), 70 + i as u64, device))
            .sum()
            .backward();
        want[i] = host(y);
        want[n + i] = host(x.grad(&grads).unwrap());
        let mut own = vec![host(single.weight.val().grad(&grads).unwrap())];
        if let Some(bias) = &single.bias {
            own.push(host(bias.val().grad(&grads).unwrap()));
        }
        if shared_grads.is_empty() {
            shared_grads = own;
        } else {
            for (sum, g) in shared_grads.iter_mut().zip(own) {
                sum.iter_mut().zip(g).for_each(|(s, g)| *s += g);
            }
        }
    }
    want.extend(shared_grads);
    want
}

/// For every case and every path the device offers, `results` of the layer (the order of
/// [`parallel_grads`]) equal [`branches_alone`]; inputs from `input_seed` on, weights from
/// `weight_seed` on.
pub fn assert_equals_branches_alone(
    input_seed: u64,
    weight_seed: u64,
    results: impl Fn(&MultiDilationConv2d, &[Tensor<4>]) -> Vec<Vec<f32>>,
) {
    let device = device().autodiff();
    for (c, case) in cases().into_iter().enumerate() {
        let inputs: Vec<Tensor<4>> = (0..case.dilations.len())
            .map(|i| case.x(input_seed + i as u64, &device))
            .collect();
        let want = branches_alone(&case, weight_seed + c as u64, &inputs, &device);
        for path in paths_for(&device, case.groups) {
            let layer = case.layer(weight_seed + c as u64, &device).with_path(path);
            let got = results(&layer, &inputs);
            assert_eq!(got.len(), want.len());
            for (k, (g, w)) in got.iter().zip(&want).enumerate() {
                assert_close(g, w, 1e-4, &format!("case {c} {path:?} result {k}"));
            }
        }
    }
}

#[test]
fn forward_parallel_gradients_equal_each_branch_alone_summed() {
    assert_equals_branches_alone(30, 40, parallel_grads);
}

#[test]
#[should_panic(expected = "expected 3 branch inputs (one per dilation), got 2")]
fn forward_parallel_rejects_a_list_of_the_wrong_length() {
    let device = device();
    let case = Case::new([2, 3], [3, 3], [1, 2, 6, 6]);
    case.layer(1, &device)
        .forward_parallel(vec![case.x(2, &device), case.x(3, &device)]);
}

#[test]
#[should_panic(expected = "branch 1 has [1, 2, 6, 5]")]
fn forward_parallel_rejects_branches_of_other_shapes() {
    let device = device();
    let case = Case::new([2, 3], [3, 3], [1, 2, 6, 6]);
    let odd = tensor([1, 2, 6, 5], 4, &device);
    case.layer(1, &device)
        .forward_parallel(vec![case.x(2, &device), odd, case.x(3, &device)]);
}

/// A direct 2-D convolution of every channel with the outer product of `taps`, zero padding.
fn direct_blur(x: &[f32], shape: [usize; 4], taps: &[f32]) -> Vec<f32> {
    let [n, c, h, w] = shape;
    let r = (taps.len() / 2) as isize;
    let mut out = vec![0.0; x.len()];
    for plane in 0..n * c {
        for y in 0..h as isize {
            for xx in 0..w as isize {
                let mut sum = 0.0f64;
                for dy in -r..=r {
                    for dx in -r..=r {
                        let (sy, sx) = (y + dy, xx + dx);
                        if sy < 0 || sx < 0 || sy >= h as isize || sx >= w as isize {
                            continue;
                        }
                        let k =
                            f64::from(taps[(dy + r) as usize]) * f64::from(taps[(dx + r) as usize]);
                        sum += k * f64::from(x[(plane * h + sy as usize) * w + sx as usize]);
                    }
                }
                out[(plane * h + y as usize) * w + xx as usize] = sum as f32;
            }
        }
    }
    out
}

#[test]
fn gaussian_blur_equals_a_direct_2d_convolution() {
    let device = device();
    let shape = [2, 3, 11, 9];
    for sigma in [0.4, 0.87, 1.41, 2.5] {
        let x = tensor(shape, 5, &device);
        let got = host(gaussian_blur(x.clone(), sigma));
        let want = direct_blur(&host(x), shape, &gaussian_taps(sigma));
        assert_close(&got, &want, 1e-5, &format!("sigma {sigma}"));
    }
    // The taps are the normalised Gaussian: symmetric, peaked, summing to 1.
    let taps = gaussian_taps(1.0);
    let raw: Vec<f64> = (-3i32..=3)
        .map(|t| (-f64::from(t * t) / 2.0).exp())
        .collect();
    let total: f64 = raw.iter().sum();
    for (t, r) in taps.iter().zip(&raw) {
        assert!((f64::from(*t) - r / total).abs() < 1e-7);
    }
}

#[test]
fn gaussian_blur_gradient_matches_finite_differences() {
    let device = device().autodiff();
    let shape = [1, 2, 7, 6];
    let sigma = 0.9;
    let x0 = host(tensor(shape, 8, &device));
    let r = tensor(shape, 9, &device);
    let x = from_vec(x0.clone(), shape, &device).require_grad();
    let grads = (gaussian_blur(x.clone(), sigma) * r.clone())
        .sum()
        .backward();
    let analytic = host(x.grad(&grads).unwrap());
    let r_host = host(r);
    let loss = |values: &[f32]| -> f64 {
        direct_blur(values, shape, &gaussian_taps(sigma))
            .iter()
            .zip(&r_host)
            .map(|(a, b)| f64::from(*a) * f64::from(*b))
            .sum()
    };
    for i in [0, 5, 17, 40, 83] {
        let eps = 1e-2;
        let (mut up, mut down) = (x0.clone(), x0.clone());
        up[i] += eps;
        down[i] -= eps;
        // The blur is linear: the central difference is exact up to rounding.
        let numeric = (loss(&up) - loss(&down)) / (2.0 * f64::from(eps));
        assert!(
            (f64::from(analytic[i]) - numeric).abs() < 1e-3,
            "x[{i}]: autodiff {} vs finite difference {numeric}",
            analytic[i]
        );
    }
}

#[test]
fn anti_aliased_branches_convolve_the_blurred_input() {
    let device = device();
    let mut case = Case::new([2, 3], [3, 3], [2, 2, 12, 11]);
    case.dilations = vec![1, 2, 3];
    let sigma0 = 0.5;
    for path in paths_for(&device, 1) {
        let mut layer = case
            .config()
            .with_anti_alias(Some(sigma0))
            .with_path(path)
            .init(&device);
        let plain = case.layer(50, &device);
        layer.weight = plain.weight.clone();
        layer.bias = plain.bias.clone();
        let x = case.x(51, &device);
        let branches = layer.forward_branches(x.clone());
        let weight = host(layer.weight.val());
        let bias = layer.bias.as_ref().map(|b| host(b.val()));
        for (i, (&d, y)) in case.dilations.iter().zip(branches).enumerate() {
            let blurred = direct_blur(
                &host(x.clone()),
                case.input,
                &gaussian_taps(branch_sigma(sigma0, d)),
            );
            let want = direct_branch(&case, &blurred, &weight, bias.as_deref(), d);
            assert_close(
                &host(y),
                &want,
                1e-4,
                &format!("{path:?} branch {i} (d = {d})"),
            );
        }
    }
}

#[test]
fn anti_alias_must_be_positive() {
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let err = Case::new([1, 2], [3, 3], [1, 1, 5, 5])
            .config()
            .with_anti_alias(Some(bad))
            .validate()
            .unwrap_err();
        assert_eq!(err.field, "anti_alias");
        assert!(err.to_string().contains("positive"), "{err}");
    }
}
