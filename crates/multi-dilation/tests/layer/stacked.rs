//! The branch-parallel layer on stacked branches (`forward_parallel_stacked`): against each
//! branch computed by a one-dilation layer of its own (burn's conv2d), forward and gradients,
//! on every path the device offers; with anti-aliasing against the list form; and its errors.

use burn::tensor::{Device, Tensor};
use multi_dilation::{ExecutionPath, MultiDilationConv2d};

use crate::common::*;
use crate::parallel::{assert_equals_branches_alone, parallel_grads};

/// [`branches_alone`]'s results for the stacked form: `x` is the inputs stacked branch-major,
/// the loss weights `r_i` are stacked the same way, and the output and input gradient are split
/// back into branches.
fn stacked_grads(layer: &MultiDilationConv2d, inputs: &[Tensor<4>]) -> Vec<Vec<f32>> {
    let n = inputs.len();
    let x = Tensor::cat(inputs.to_vec(), 0).require_grad();
    let y = layer.forward_parallel_stacked(x.clone());
    let branch_dims = y.clone().chunk(n, 0)[0].dims();
    let r = Tensor::cat(
        (0..n)
            .map(|i| tensor(branch_dims, 70 + i as u64, &y.device()))
            .collect(),
        0,
    );
    let grads = (y.clone() * r).sum().backward();
    let mut all: Vec<Vec<f32>> = y.chunk(n, 0).into_iter().map(host).collect();
    all.extend(x.grad(&grads).unwrap().chunk(n, 0).into_iter().map(host));
    all.push(host(layer.weight.val().grad(&grads).unwrap()));
    if let Some(bias) = &layer.bias {
        all.push(host(bias.val().grad(&grads).unwrap()));
    }
    all
}

#[test]
fn forward_parallel_stacked_equals_each_branch_alone() {
    assert_equals_branches_alone(50, 60, stacked_grads);
}

#[test]
fn anti_aliased_stacked_branches_equal_the_list_form() {
    let device = device().autodiff();
    let mut case = Case::new([2, 3], [3, 3], [2, 2, 11, 9]);
    case.dilations = vec![1, 2, 4];
    let inputs: Vec<Tensor<4>> = (0..3).map(|i| case.x(80 + i, &device)).collect();
    // The list form with one conv2d per dilation: its blur is tested against a direct 2-D
    // convolution with the Gaussian (`parallel.rs`).
    let reference = anti_aliased(&case, ExecutionPath::PerDilation, &device);
    let want = parallel_grads(&reference, &inputs);
    for path in paths_for(&device, 1) {
        let layer = anti_aliased(&case, path, &device);
        let got = stacked_grads(&layer, &inputs);
        for (k, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_close(g, w, 1e-4, &format!("{path:?} result {k}"));
        }
    }
}

/// The layer of `case` (weights from seed 90) with anti-aliasing at `sigma0 = 0.5`, by `path`.
fn anti_aliased(case: &Case, path: ExecutionPath, device: &Device) -> MultiDilationConv2d {
    let mut layer = case
        .config()
        .with_anti_alias(Some(0.5))
        .with_path(path)
        .init(device);
    let plain = case.layer(90, device);
    layer.weight = plain.weight;
    layer.bias = plain.bias;
    layer
}

#[test]
fn an_empty_batch_of_stacked_branches_gives_an_empty_output() {
    let device = device();
    let case = Case::new([2, 3], [3, 3], [1, 2, 6, 6]);
    let y = case
        .layer(1, &device)
        .forward_parallel_stacked(Tensor::zeros([0, 2, 6, 6], &device));
    assert_eq!(y.dims(), [0, 3, 6, 6]);
}

#[test]
#[should_panic(
    expected = "forward_parallel_stacked: expected the 3 branches stacked on the batch axis, \
                [3 * batch, channels, height, width], got [4, 2, 6, 6]"
)]
fn forward_parallel_stacked_rejects_a_batch_not_a_multiple_of_the_branches() {
    let device = device();
    let case = Case::new([2, 3], [3, 3], [1, 2, 6, 6]);
    case.layer(1, &device)
        .forward_parallel_stacked(tensor([4, 2, 6, 6], 4, &device));
}
