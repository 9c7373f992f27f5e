//! [`MultiDilationBackend`] for Flex: the slices of contiguous `f32` tensors go to [`cpu`].

use burn::backend::TensorMetadata;
use burn::backend::flex::{Flex, FlexTensor};
use burn::tensor::{Shape, TensorData};

use super::cpu::{self, Plan};
use super::{FusedGeometry, MultiDilationBackend, output_shape};
use crate::epilogue::Epilogue;

/// The contiguous `f32` values of `tensor`, and its shape.
fn values(tensor: &FlexTensor) -> (FlexTensor, Vec<usize>) {
    let contiguous = tensor.to_contiguous();
    let dims = tensor.shape().to_vec();
    (contiguous, dims)
}

fn slice(tensor: &FlexTensor) -> &[f32] {
    tensor
        .as_slice::<f32>()
        .expect("fused multi-dilation conv2d: Flex tensors must be contiguous f32")
}

fn dims4(dims: &[usize], what: &str) -> [usize; 4] {
    dims.try_into().unwrap_or_else(|_| {
        panic!("fused multi-dilation conv2d: {what} must be [batch, channels, height, width], got {dims:?}")
    })
}

fn tensor(values: Vec<f32>, shape: impl Into<Shape>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape.into()))
}

fn plan(x: &[usize], weight: &[usize], geometry: &FusedGeometry) -> Plan {
    Plan::new(
        dims4(x, "x"),
        dims4(weight, "weight"),
        geometry.stride,
        &geometry.dilations,
        geometry.layout,
    )
}

impl MultiDilationBackend for Flex {
    fn multi_dilation_conv2d(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        geometry: FusedGeometry,
    ) -> FlexTensor {
        let (x, x_dims) = values(&x);
        let (weight, w_dims) = values(&weight);
        let plan = plan(&x_dims, &w_dims, &geometry);
        let bias = values(&bias).0;
        let bias = slice(&bias);
        assert_eq!(
            bias.len(),
            plan.channels_out,
            "fused multi-dilation conv2d: bias must be [{}], got [{}]",
            plan.channels_out,
            bias.len()
        );
        let relu = geometry.epilogue == Epilogue::Relu;
        let output = cpu::forward(&plan, slice(&x), slice(&weight), bias, relu);
        let shape = output_shape(&Shape::from(x_dims), &Shape::from(w_dims), &geometry);
        tensor(output, shape)
    }

    fn multi_dilation_conv2d_input_grad(
        x: FlexTensor,
        weight: FlexTensor,
        grad: FlexTensor,
        geometry: FusedGeometry,
    ) -> FlexTensor {
        let (gx, _, _) =
            Self::multi_dilation_conv2d_backward(x, weight, grad, geometry, [true, false, false]);
        gx.expect("asked for the input gradient")
    }

    fn multi_dilation_conv2d_weight_grad(
        x: FlexTensor,
        weight: FlexTensor,
        grad: FlexTensor,
        geometry: FusedGeometry,
    ) -> FlexTensor {
        let (_, gw, _) =
            Self::multi_dilation_conv2d_backward(x, weight, grad, geometry, [false, true, false]);
        gw.expect("asked for the kernel gradient")
    }

    /// One pass for every gradient asked for: the kernel and bias gradients are summed in the
    /// same loop over the output gradient.
    fn multi_dilation_conv2d_backward(
        x: FlexTensor,
        weight: FlexTensor,
        grad: FlexTensor,
        geometry: FusedGeometry,
        want: [bool; 3],
    ) -> (Option<FlexTensor>, Option<FlexTensor>, Option<FlexTensor>) {
        let (x, x_dims) = values(&x);
        let (weight, w_dims) = values(&weight);
        let (grad, _) = values(&grad);
        let plan = plan(&x_dims, &w_dims, &geometry);
        let grads = cpu::backward(&plan, slice(&x), slice(&weight), slice(&grad), want);
        (
            grads.input.map(|g| tensor(g, x_dims)),
            grads.kernel.map(|g| tensor(g, w_dims)),
            grads.bias.map(|g| tensor(g, [plan.channels_out])),
        )
    }
}
