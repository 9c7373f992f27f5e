//! The branch-parallel layer in the benches: one input per dilation, as a list
//! (`forward_parallel`) or stacked on the batch axis (`forward_parallel_stacked`).

use burn::tensor::{Device, Distribution, Tensor};
use multi_dilation::{ExecutionPath, MultiDilationConv2d};

use crate::{Shape, input};

/// One forward (and, if `backward`, backward) pass of the branch-parallel layer
/// (`forward_parallel`, one input per dilation), waited for.
pub fn run_parallel(layer: &MultiDilationConv2d, inputs: &[Tensor<4>], backward: bool) {
    let total = layer
        .forward_parallel(inputs.to_vec())
        .into_iter()
        .map(|y| y.sum())
        .reduce(|a, b| a + b)
        .expect("at least one branch");
    if backward {
        drop(total.backward());
    } else {
        let _ = total.into_scalar::<f32>();
    }
}

/// The branch-parallel layer of `shape` on `device` by `path`, and one input per dilation.
pub fn parallel_workload(
    shape: &Shape,
    path: ExecutionPath,
    device: &Device,
    grad: bool,
) -> (MultiDilationConv2d, Vec<Tensor<4>>) {
    let layer = shape.layer(path, device);
    let inputs = shape
        .dilations
        .iter()
        .map(|_| input(shape, device, grad))
        .collect();
    (layer, inputs)
}

/// A random input for the stacked form of `shape`'s branch-parallel layer,
/// `[dilations * batch, in, size, size]`; with `grad`, tracked (one leaf, as each input of the
/// list form is one).
pub fn stacked_input(shape: &Shape, device: &Device, grad: bool) -> Tensor<4> {
    let x = Tensor::random(
        [
            shape.dilations.len() * shape.batch,
            shape.input,
            shape.size,
            shape.size,
        ],
        Distribution::Normal(0.0, 1.0),
        device,
    );
    if grad { x.require_grad() } else { x }
}

/// One forward (and, if `backward`, backward) pass of the branch-parallel layer on stacked
/// branches (`forward_parallel_stacked`), waited for.
///
/// # Example
/// ```
/// use burn::tensor::Device;
/// use multi_dilation::ExecutionPath;
/// use multi_dilation_benches::{SHAPES, run_parallel_stacked, stacked_input};
///
/// let device = Device::flex().autodiff();
/// let s1 = &SHAPES[0];
/// let x = stacked_input(s1, &device, true);
/// assert_eq!(x.dims()[0], 3 * s1.batch); // three dilations, branch-major
/// run_parallel_stacked(&s1.layer(ExecutionPath::Auto, &device), &x, true);
/// ```
pub fn run_parallel_stacked(layer: &MultiDilationConv2d, x: &Tensor<4>, backward: bool) {
    let total = layer.forward_parallel_stacked(x.clone()).sum();
    if backward {
        drop(total.backward());
    } else {
        let _ = total.into_scalar::<f32>();
    }
}
