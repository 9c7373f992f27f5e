//! The weight gradient is the sum of the per-branch gradients, and matches finite
//! differences.

use burn::module::Param;
use burn::tensor::Tensor;
use multi_dilation::Merge;

use crate::common::*;

#[test]
fn weight_gradient_is_the_sum_of_branch_gradients() {
    let device = device().autodiff();
    let mut case = Case::new([2, 3], [3, 3], [2, 2, 8, 7]);
    case.dilations = vec![1, 3, 5];
    let layer = case.layer(11, &device);
    let x = case.x(12, &device);
    let y = layer.forward(x.clone());
    let r = tensor(y.dims(), 13, &device);
    let grads = (y * r.clone()).sum().backward();
    let total_w = host(layer.weight.val().grad(&grads).unwrap());
    let total_b = host(layer.bias.as_ref().unwrap().val().grad(&grads).unwrap());

    // Each branch alone, on a fresh copy of the same weights, with its slice of r.
    let out = case.channels[1];
    let mut sum_w = vec![0.0; total_w.len()];
    let mut sum_b = vec![0.0; total_b.len()];
    for (k, &d) in case.dilations.iter().enumerate() {
        let single = case.layer(11, &device).with_dilations(vec![d]).unwrap();
        let yk = single.forward(x.clone());
        let rk = r.clone().narrow(1, k * out, out);
        let gk = (yk * rk).sum().backward();
        for (s, g) in sum_w
            .iter_mut()
            .zip(host(single.weight.val().grad(&gk).unwrap()))
        {
            *s += g;
        }
        for (s, g) in sum_b
            .iter_mut()
            .zip(host(single.bias.as_ref().unwrap().val().grad(&gk).unwrap()))
        {
            *s += g;
        }
    }
    assert_close(&total_w, &sum_w, 1e-4, "weight gradient vs sum of branches");
    assert_close(&total_b, &sum_b, 1e-4, "bias gradient vs sum of branches");
    // Not trivially equal: the branches disagree.
    assert!(max_abs_diff(&total_w, &sum_w.iter().map(|v| v / 3.0).collect::<Vec<_>>()) > 1e-3);
}

/// loss(w) = sum(layer_w(x) * r) on the plain device, for finite differences.
fn loss_at(case: &Case, weight: &[f32], x: &Tensor<4>, r: &Tensor<4>) -> f64 {
    let device = device();
    let mut layer = case.layer(21, &device);
    layer.weight = Param::from_tensor(from_vec(weight.to_vec(), case.weight_shape(), &device));
    let y = layer.forward(x.clone());
    host(y)
        .iter()
        .zip(host(r.clone()))
        .map(|(a, b)| f64::from(*a) * f64::from(b))
        .sum()
}

/// (loss(v + eps e_i) - loss(v - eps e_i)) / (2 eps).
fn central_difference(values: &[f32], i: usize, eps: f32, loss: &dyn Fn(&[f32]) -> f64) -> f64 {
    let (mut up, mut down) = (values.to_vec(), values.to_vec());
    up[i] += eps;
    down[i] -= eps;
    (loss(&up) - loss(&down)) / (2.0 * f64::from(eps))
}

#[test]
fn weight_and_input_gradients_match_finite_differences() {
    for merge in [Merge::Concat, Merge::Mean] {
        let mut case = Case::new([2, 2], [3, 2], [1, 2, 6, 5]);
        case.stride = [2, 1];
        case.merge = merge;
        let plain = device();
        let x = case.x(22, &plain);
        let r = tensor(
            case.config().init(&plain).output_shape(case.input),
            23,
            &plain,
        );

        let ad = plain.clone().autodiff();
        let layer = case.layer(21, &ad);
        let xa: Tensor<4> = from_vec(host(x.clone()), case.input, &ad).require_grad();
        let ra = from_vec(host(r.clone()), r.dims(), &ad);
        let grads = (layer.forward(xa.clone()) * ra).sum().backward();
        let gw = host(layer.weight.val().grad(&grads).unwrap());
        let gx = host(xa.grad(&grads).unwrap());

        // The loss is linear in w and in x, so a large step is exact up to rounding.
        let w0 = host(layer.weight.val());
        let x0 = host(x.clone());
        let by_weight = |w: &[f32]| loss_at(&case, w, &x, &r);
        let by_input =
            |xs: &[f32]| loss_at(&case, &w0, &from_vec(xs.to_vec(), case.input, &plain), &r);
        for (what, values, autodiff, loss, step) in [
            ("w", &w0, &gw, &by_weight as &dyn Fn(&[f32]) -> f64, 1),
            ("x", &x0, &gx, &by_input, 7),
        ] {
            for i in (0..values.len()).step_by(step) {
                let fd = central_difference(values, i, 0.5, loss);
                assert!(
                    (fd as f32 - autodiff[i]).abs() < 1e-3,
                    "{merge:?}: d loss / d {what}[{i}]: autodiff {} vs finite differences {fd}",
                    autodiff[i]
                );
            }
        }
    }
}
