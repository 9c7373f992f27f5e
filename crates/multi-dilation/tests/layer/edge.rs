//! Valid but unusual inputs on every path: 1x1 and 1xN images, dilations many times the
//! image, strides and kernels larger than the image, repeated dilations, ten branches, a batch
//! of zero, NaN and infinities. Each agrees with direct loops (forward, padding found by
//! search) and with the per-dilation path (gradients of the input, kernel and bias).

use burn::tensor::Tensor;
use multi_dilation::{ExecutionPath, MultiDilationConv2d};

use crate::common::*;
use crate::equivalence::MERGES;

/// The edge cases, each with a name for the messages.
fn cases() -> Vec<(&'static str, Case)> {
    let mut cases = vec![
        ("1x1 image", Case::new([2, 3], [3, 3], [2, 2, 1, 1])),
        ("1xN image", Case::new([2, 3], [3, 3], [2, 2, 1, 9])),
        ("Nx1 image", Case::new([2, 3], [3, 2], [1, 2, 7, 1])),
    ];
    let mut far = Case::new([2, 2], [3, 3], [2, 2, 5, 6]);
    far.dilations = vec![1, 40, 100];
    cases.push(("dilations 20x the image", far));
    let mut stride = Case::new([2, 3], [3, 3], [2, 2, 3, 5]);
    stride.stride = [8, 6];
    cases.push(("stride larger than the image", stride));
    cases.push((
        "kernel larger than the image",
        Case::new([2, 3], [7, 9], [2, 2, 3, 4]),
    ));
    let mut repeated = Case::new([2, 3], [3, 3], [2, 2, 6, 7]);
    repeated.dilations = vec![2, 2, 1, 2];
    cases.push(("repeated dilations", repeated));
    let mut many = Case::new([2, 2], [3, 3], [1, 2, 12, 11]);
    many.dilations = (1..=10).collect();
    cases.push(("ten dilations", many));
    cases.push(("batch of zero", Case::new([2, 3], [3, 3], [0, 2, 6, 6])));
    cases.push((
        "image of zero rows",
        Case::new([2, 3], [3, 3], [1, 2, 0, 6]),
    ));
    cases
}

/// The merged (concatenated) output by direct loops, one branch after the other.
fn direct(case: &Case, x: &[f32], weight: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    let [n, _, h, w] = case.input;
    if x.is_empty() {
        return Vec::new();
    }
    let branches: Vec<Vec<f32>> = case
        .dilations
        .iter()
        .map(|&d| {
            let pad = [
                searched_same_padding(h, case.kernel[0], case.stride[0], d),
                searched_same_padding(w, case.kernel[1], case.stride[1], d),
            ];
            direct_conv2d(
                x,
                case.input,
                weight,
                case.weight_shape(),
                bias,
                case.stride,
                pad,
                d,
                case.groups,
            )
            .0
        })
        .collect();
    // Concat is dilation-major on the channel axis: per image, branch after branch.
    let per_image = branches[0].len() / n.max(1);
    (0..n)
        .flat_map(|b| {
            branches
                .iter()
                .flat_map(move |branch| branch[b * per_image..(b + 1) * per_image].to_vec())
        })
        .collect()
}

/// The output, then the gradients of the input, kernel and bias, of `sum(y * r)`.
fn output_and_grads(layer: &MultiDilationConv2d, x: Tensor<4>) -> Vec<Vec<f32>> {
    let x = x.require_grad();
    let y = layer.forward(x.clone());
    let r = tensor(y.dims(), 99, &y.device());
    let grads = (y.clone() * r).sum().backward();
    vec![
        host(y),
        host(x.grad(&grads).unwrap()),
        host(layer.weight.val().grad(&grads).unwrap()),
        host(layer.bias.as_ref().unwrap().val().grad(&grads).unwrap()),
    ]
}

#[test]
fn edge_inputs_equal_direct_loops_on_every_path() {
    let device = device();
    for (name, case) in cases() {
        for path in paths_for(&device, case.groups) {
            for merge in MERGES {
                let mut case = case.clone();
                case.merge = merge;
                let layer = case.layer(3, &device).with_path(path);
                let y = layer.forward(case.x(4, &device));
                let shape = layer.output_shape(case.input);
                assert_eq!(y.dims(), shape, "{name} {path:?} {merge:?}");
            }
            let layer = case.layer(3, &device).with_path(path);
            let x = case.x(4, &device);
            let y = layer.forward(x.clone());
            assert_eq!(y.dims(), layer.output_shape(case.input), "{name} {path:?}");
            let weight = host(layer.weight.val());
            let bias = host(layer.bias.as_ref().unwrap().val());
            let want = direct(&case, &host(x), &weight, Some(&bias));
            assert_close(&host(y), &want, 1e-4, &format!("{name} {path:?}"));
        }
    }
}

#[test]
fn edge_input_gradients_equal_the_per_dilation_path() {
    let device = device().autodiff();
    // Empty inputs are left out: burn gives empty tensors no autodiff graph (its slice and
    // cat return fresh ones), so a loss on an empty output has nothing to run backward on.
    for (name, case) in cases().into_iter().filter(|(_, c)| !c.input.contains(&0)) {
        let reference = case.layer(5, &device).with_path(ExecutionPath::PerDilation);
        let want = output_and_grads(&reference, case.x(6, &device));
        for path in paths_for(&device, case.groups) {
            let layer = case.layer(5, &device).with_path(path);
            let got = output_and_grads(&layer, case.x(6, &device));
            for (what, (g, w)) in ["output", "dx", "dweight", "dbias"]
                .iter()
                .zip(got.iter().zip(&want))
            {
                assert_close(g, w, 1e-4, &format!("{name} {path:?} {what}"));
            }
        }
    }
}

/// NaN, +inf or -inf (`class` 0, 1, 2) or finite (3).
fn class(v: f32) -> u8 {
    match v {
        v if v.is_nan() => 0,
        v if v == f32::INFINITY => 1,
        v if v == f32::NEG_INFINITY => 2,
        _ => 3,
    }
}

#[test]
fn nan_and_infinities_propagate_as_direct_loops_do() {
    // One NaN, one +inf and one -inf pixel, in different images and channels: the outputs
    // whose taps reach one of them are NaN or infinite exactly where IEEE arithmetic in a
    // direct loop puts them (a sum holding +inf and -inf is NaN whatever the order, so the
    // pattern does not depend on how a path orders its sums), and finite elsewhere.
    let device = device();
    let mut case = Case::new([2, 3], [3, 3], [2, 2, 9, 9]);
    case.dilations = vec![1, 2, 4];
    let mut data = values(2 * 2 * 9 * 9, 8);
    data[4 * 9 + 4] = f32::NAN; // image 0, channel 0, centre
    data[81 + 2 * 9 + 7] = f32::INFINITY; // image 0, channel 1
    data[2 * 81 + 8 * 9] = f32::NEG_INFINITY; // image 1, channel 0, a corner
    for path in paths_for(&device, case.groups) {
        let layer = case.layer(9, &device).with_path(path);
        let y = host(layer.forward(from_vec(data.clone(), case.input, &device)));
        let weight = host(layer.weight.val());
        let bias = host(layer.bias.as_ref().unwrap().val());
        let want = direct(&case, &data, &weight, Some(&bias));
        let classes = |v: &[f32]| v.iter().map(|&v| class(v)).collect::<Vec<_>>();
        assert_eq!(classes(&y), classes(&want), "{path:?}: NaN and inf pattern");
        assert!(
            want.iter().any(|v| v.is_nan()) && want.iter().any(|v| v.is_infinite()),
            "the case reaches both NaN and infinite outputs"
        );
        let finite = |v: &[f32]| {
            v.iter()
                .map(|&v| if v.is_finite() { v } else { 0.0 })
                .collect::<Vec<_>>()
        };
        assert_close(&finite(&y), &finite(&want), 1e-4, &format!("{path:?}"));
    }
}
