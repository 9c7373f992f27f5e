//! [`MultiDilationBackend`] for burn's CubeCL backend (wgpu, and every other cubecl runtime):
//! direct kernels over NCHW tensors, one thread per element of what each computes.
//!
//! - Forward: a thread owns one `(image, out channel, row, column)` and writes it in every
//!   branch, so each weight it loads serves all dilations.
//! - Input gradient: a thread owns one input element and gathers, over every branch, the output
//!   positions whose window covers it (no atomics).
//! - Kernel gradient: a thread owns one `(image, weight element)` and sums over every branch
//!   and position; the per-image partial sums are then reduced by burn's `sum_dim`.
//!
//! 'Same' padding comes from [`same_padding`], the one rule every path shares. Indices go
//! through each tensor's strides, so any row-major layout works.

use burn::backend::TensorMetadata;
use burn::backend::cubecl::dtype_to_storage_type;
use burn::backend::ops::FloatTensorOps;
use burn::tensor::Shape;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::ops::numeric::{empty_device_contiguous_dtype, empty_device_dtype};
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::{CubeBackend, cubecl};
use cubecl::{calculate_cube_count_elemwise, prelude::*};

use super::{FusedGeometry, MultiDilationBackend, output_shape};
use crate::padding::same_padding;

/// `true` when `coordinate - pad` (a padded position) lies in `0..len`.
#[cube]
fn inside(coordinate: usize, pad: usize, len: usize) -> bool {
    let mut hit = false;
    if coordinate >= pad {
        hit = coordinate - pad < len;
    }
    hit
}

#[cube(launch)]
#[allow(clippy::too_many_arguments)]
fn forward_kernel<F: Float>(
    x: &Tensor<F>,
    weight: &Tensor<F>,
    bias: &Tensor<F>,
    output: &mut Tensor<F>,
    dilations: Sequence<usize>,
    pad_top: Sequence<usize>,
    pad_left: Sequence<usize>,
    stride_h: usize,
    stride_w: usize,
    #[comptime] relu: bool,
    #[define(F)] _dtype: ElemType,
) {
    let out_c = weight.shape(0);
    let (out_h, out_w) = (output.shape(2), output.shape(3));
    if ABSOLUTE_POS >= x.shape(0) * out_c * out_h * out_w {
        terminate!();
    }
    let ox = ABSOLUTE_POS % out_w;
    let oy = (ABSOLUTE_POS / out_w) % out_h;
    let o = (ABSOLUTE_POS / (out_w * out_h)) % out_c;
    let b = ABSOLUTE_POS / (out_w * out_h * out_c);
    let (in_c, h, w) = (x.shape(1), x.shape(2), x.shape(3));
    let (kh, kw) = (weight.shape(2), weight.shape(3));
    let branches = comptime![dilations.len()];

    #[unroll]
    for branch in 0..branches {
        let d = dilations[branch];
        let (top, left) = (pad_top[branch], pad_left[branch]);
        let mut sum = bias[o * bias.stride(0)];
        for c in 0..in_c {
            let x_plane = b * x.stride(0) + c * x.stride(1);
            let w_plane = o * weight.stride(0) + c * weight.stride(1);
            for ky in 0..kh {
                let yy = oy * stride_h + ky * d;
                if inside(yy, top, h) {
                    let x_row = x_plane + (yy - top) * x.stride(2);
                    let w_row = w_plane + ky * weight.stride(2);
                    for kx in 0..kw {
                        let xx = ox * stride_w + kx * d;
                        if inside(xx, left, w) {
                            sum += x[x_row + (xx - left) * x.stride(3)]
                                * weight[w_row + kx * weight.stride(3)];
                        }
                    }
                }
            }
        }
        if relu && sum < F::from_int(0) {
            sum = F::from_int(0);
        }
        let at = b * output.stride(0)
            + (branch * out_c + o) * output.stride(1)
            + oy * output.stride(2)
            + ox * output.stride(3);
        output[at] = sum;
    }
}

/// The output position along one axis whose tap `k` reads input position `i`, if any:
/// `o * stride + k * dilation - pad == i` with `0 <= o < out_len`. Returns `out_len` for none.
#[cube]
fn source(i: usize, pad: usize, k: usize, dilation: usize, stride: usize, out_len: usize) -> usize {
    let mut found = out_len;
    let padded = i + pad;
    let shift = k * dilation;
    if padded >= shift {
        let steps = padded - shift;
        if steps.is_multiple_of(stride) && steps / stride < out_len {
            found = steps / stride;
        }
    }
    found
}

#[cube(launch)]
#[allow(clippy::too_many_arguments)]
fn input_grad_kernel<F: Float>(
    weight: &Tensor<F>,
    grad: &Tensor<F>,
    grad_x: &mut Tensor<F>,
    dilations: Sequence<usize>,
    pad_top: Sequence<usize>,
    pad_left: Sequence<usize>,
    stride_h: usize,
    stride_w: usize,
    #[define(F)] _dtype: ElemType,
) {
    let (in_c, h, w) = (grad_x.shape(1), grad_x.shape(2), grad_x.shape(3));
    if ABSOLUTE_POS >= grad_x.shape(0) * in_c * h * w {
        terminate!();
    }
    let ix = ABSOLUTE_POS % w;
    let iy = (ABSOLUTE_POS / w) % h;
    let c = (ABSOLUTE_POS / (w * h)) % in_c;
    let b = ABSOLUTE_POS / (w * h * in_c);
    let (out_c, kh, kw) = (weight.shape(0), weight.shape(2), weight.shape(3));
    let (out_h, out_w) = (grad.shape(2), grad.shape(3));
    let branches = comptime![dilations.len()];
    let mut sum = F::from_int(0);

    #[unroll]
    for branch in 0..branches {
        let d = dilations[branch];
        let (top, left) = (pad_top[branch], pad_left[branch]);
        for ky in 0..kh {
            let oy = source(iy, top, ky, d, stride_h, out_h);
            if oy < out_h {
                for kx in 0..kw {
                    let ox = source(ix, left, kx, d, stride_w, out_w);
                    if ox < out_w {
                        let g_at = b * grad.stride(0) + oy * grad.stride(2) + ox * grad.stride(3);
                        let w_at =
                            c * weight.stride(1) + ky * weight.stride(2) + kx * weight.stride(3);
                        for o in 0..out_c {
                            sum += grad[g_at + (branch * out_c + o) * grad.stride(1)]
                                * weight[w_at + o * weight.stride(0)];
                        }
                    }
                }
            }
        }
    }
    let at =
        b * grad_x.stride(0) + c * grad_x.stride(1) + iy * grad_x.stride(2) + ix * grad_x.stride(3);
    grad_x[at] = sum;
}

/// Per-image partial kernel gradients, `[batch, out, in, kh, kw]` (contiguous).
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
fn weight_grad_kernel<F: Float>(
    x: &Tensor<F>,
    grad: &Tensor<F>,
    partial: &mut Tensor<F>,
    dilations: Sequence<usize>,
    pad_top: Sequence<usize>,
    pad_left: Sequence<usize>,
    stride_h: usize,
    stride_w: usize,
    #[define(F)] _dtype: ElemType,
) {
    let (out_c, in_c, kh, kw) = (
        partial.shape(1),
        partial.shape(2),
        partial.shape(3),
        partial.shape(4),
    );
    if ABSOLUTE_POS >= partial.shape(0) * out_c * in_c * kh * kw {
        terminate!();
    }
    let kx = ABSOLUTE_POS % kw;
    let ky = (ABSOLUTE_POS / kw) % kh;
    let c = (ABSOLUTE_POS / (kw * kh)) % in_c;
    let o = (ABSOLUTE_POS / (kw * kh * in_c)) % out_c;
    let b = ABSOLUTE_POS / (kw * kh * in_c * out_c);
    let (h, w) = (x.shape(2), x.shape(3));
    let (out_h, out_w) = (grad.shape(2), grad.shape(3));
    let x_plane = b * x.stride(0) + c * x.stride(1);
    let branches = comptime![dilations.len()];
    let mut sum = F::from_int(0);

    #[unroll]
    for branch in 0..branches {
        let d = dilations[branch];
        let (top, left) = (pad_top[branch], pad_left[branch]);
        let g_plane = b * grad.stride(0) + (branch * out_c + o) * grad.stride(1);
        for oy in 0..out_h {
            let yy = oy * stride_h + ky * d;
            if inside(yy, top, h) {
                let x_row = x_plane + (yy - top) * x.stride(2);
                let g_row = g_plane + oy * grad.stride(2);
                for ox in 0..out_w {
                    let xx = ox * stride_w + kx * d;
                    if inside(xx, left, w) {
                        sum += grad[g_row + ox * grad.stride(3)]
                            * x[x_row + (xx - left) * x.stride(3)];
                    }
                }
            }
        }
    }
    partial[ABSOLUTE_POS] = sum;
}

/// The per-branch sequences every kernel takes: the dilations, and the 'same' padding before
/// the rows and before the columns of each branch.
fn branch_sequences(
    x: &Shape,
    weight: &Shape,
    geometry: &FusedGeometry,
) -> [SequenceArg<usize>; 3] {
    let before = |axis: usize| {
        move |d: &usize| same_padding(x[axis], weight[axis], geometry.stride[axis - 2], *d).0
    };
    let dilations = &geometry.dilations;
    [
        dilations.iter().copied().collect(),
        dilations.iter().map(before(2)).collect(),
        dilations.iter().map(before(3)).collect(),
    ]
}

/// The grid for one thread per element of `len`.
fn grid(tensor: &CubeTensor, len: usize) -> (CubeCount, CubeDim) {
    let dim = CubeDim::new(&tensor.client, len);
    (calculate_cube_count_elemwise(&tensor.client, len, dim), dim)
}

fn empty_like(reference: &CubeTensor, shape: Shape) -> CubeTensor {
    empty_device_dtype(
        reference.client.clone(),
        reference.device.clone(),
        shape,
        reference.dtype,
    )
}

impl MultiDilationBackend for CubeBackend {
    fn multi_dilation_conv2d(
        x: CubeTensor,
        weight: CubeTensor,
        bias: CubeTensor,
        geometry: FusedGeometry,
    ) -> CubeTensor {
        let (x, weight, bias) = (
            into_contiguous(x),
            into_contiguous(weight),
            into_contiguous(bias),
        );
        let (x_shape, w_shape) = (x.shape(), weight.shape());
        assert_eq!(
            bias.shape().num_elements(),
            w_shape[0],
            "fused multi-dilation conv2d: bias must be [{}], got {:?}",
            w_shape[0],
            bias.shape()
        );
        let shape = output_shape(&x_shape, &w_shape, &geometry);
        let output = empty_like(&x, shape.clone());
        // One thread per position of one branch.
        let threads = shape.num_elements() / geometry.dilations.len().max(1);
        if threads == 0 {
            return output;
        }
        let [dilations, pad_top, pad_left] = branch_sequences(&x_shape, &w_shape, &geometry);
        let (count, dim) = grid(&x, threads);
        let dtype = dtype_to_storage_type(x.dtype);
        forward_kernel::launch(
            &x.client.clone(),
            count,
            dim,
            x.into_tensor_arg(),
            weight.into_tensor_arg(),
            bias.into_tensor_arg(),
            output.clone().into_tensor_arg(),
            dilations,
            pad_top,
            pad_left,
            geometry.stride[0],
            geometry.stride[1],
            geometry.relu,
            dtype,
        );
        output
    }

    fn multi_dilation_conv2d_input_grad(
        x: CubeTensor,
        weight: CubeTensor,
        grad: CubeTensor,
        geometry: FusedGeometry,
    ) -> CubeTensor {
        let (weight, grad) = (into_contiguous(weight), into_contiguous(grad));
        let (x_shape, w_shape) = (x.shape(), weight.shape());
        let grad_x = empty_like(&grad, x_shape.clone());
        if x_shape.num_elements() == 0 {
            return grad_x;
        }
        let [dilations, pad_top, pad_left] = branch_sequences(&x_shape, &w_shape, &geometry);
        let (count, dim) = grid(&grad, x_shape.num_elements());
        let dtype = dtype_to_storage_type(grad.dtype);
        input_grad_kernel::launch(
            &grad.client.clone(),
            count,
            dim,
            weight.into_tensor_arg(),
            grad.into_tensor_arg(),
            grad_x.clone().into_tensor_arg(),
            dilations,
            pad_top,
            pad_left,
            geometry.stride[0],
            geometry.stride[1],
            dtype,
        );
        grad_x
    }

    fn multi_dilation_conv2d_weight_grad(
        x: CubeTensor,
        weight: CubeTensor,
        grad: CubeTensor,
        geometry: FusedGeometry,
    ) -> CubeTensor {
        let (x, grad) = (into_contiguous(x), into_contiguous(grad));
        let (x_shape, w_shape) = (x.shape(), weight.shape());
        let [out, cin, kh, kw] = w_shape.dims();
        let batch = x_shape[0];
        // Indexed by the thread's position: contiguous, never pitched.
        let partial = empty_device_contiguous_dtype(
            x.client.clone(),
            x.device.clone(),
            Shape::new([batch, out, cin, kh, kw]),
            x.dtype,
        );
        if partial.shape().num_elements() == 0 {
            return Self::float_zeros(w_shape, &x.device, x.dtype.into());
        }
        let [dilations, pad_top, pad_left] = branch_sequences(&x_shape, &w_shape, &geometry);
        let (count, dim) = grid(&x, partial.shape().num_elements());
        let dtype = dtype_to_storage_type(x.dtype);
        weight_grad_kernel::launch(
            &x.client.clone(),
            count,
            dim,
            x.into_tensor_arg(),
            grad.into_tensor_arg(),
            partial.clone().into_tensor_arg(),
            dilations,
            pad_top,
            pad_left,
            geometry.stride[0],
            geometry.stride[1],
            dtype,
        );
        Self::float_reshape(Self::float_sum_dim(partial, 0), w_shape)
    }
}
