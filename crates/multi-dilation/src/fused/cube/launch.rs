//! [`MultiDilationBackend`] for [`CubeBackend`]: checks the arguments, makes the tensors the
//! kernels index contiguous, computes the per-branch sequences (dilation, and the 'same'
//! padding before the rows and the columns) and launches one [`kernels`](super::kernels) kernel
//! per operation, one thread per element it computes.

use burn::backend::TensorMetadata;
use burn::backend::cubecl::dtype_to_storage_type;
use burn::backend::ops::FloatTensorOps;
use burn::tensor::Shape;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::ops::numeric::{empty_device_contiguous_dtype, empty_device_dtype};
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::{CubeBackend, cubecl};
use cubecl::{calculate_cube_count_elemwise, prelude::*};

use super::kernels::{forward_kernel, input_grad_kernel, weight_grad_kernel};
use super::tiled::{CHANNELS, TILE, TiledForward, forward_tiled_kernel};
use crate::epilogue::Epilogue;
use crate::fused::{FusedGeometry, MultiDilationBackend, output_shape};
use crate::padding::same_padding;
use crate::shape::BranchLayout;

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

/// The images each branch convolves: the batch, which per-branch inputs stack once per branch.
fn images(x: &Shape, geometry: &FusedGeometry) -> usize {
    match geometry.layout {
        BranchLayout::Stacked => x[0] / geometry.dilations.len().max(1),
        BranchLayout::Shared => x[0],
    }
}

/// How far apart the branch inputs are on the batch axis: the images per branch for per-branch
/// inputs (stacked branch-major), 0 when every branch reads the same images.
fn branch_images(x: &Shape, geometry: &FusedGeometry) -> usize {
    match geometry.layout {
        BranchLayout::Stacked => images(x, geometry),
        BranchLayout::Shared => 0,
    }
}

/// The most partial kernel gradients the kernel-gradient kernel writes before their sum.
const WEIGHT_GRAD_SLICES: usize = 32;

/// The grid for one thread per element of `len`.
fn grid(tensor: &CubeTensor, len: usize) -> (CubeCount, CubeDim) {
    let dim = CubeDim::new(&tensor.client, len);
    (calculate_cube_count_elemwise(&tensor.client, len, dim), dim)
}

/// An uninitialised tensor shaped `shape` on `reference`'s device, with its dtype.
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
        let dtype = dtype_to_storage_type(x.dtype);
        if let Some(tiled) = TiledForward::plan(&x_shape, &w_shape, &geometry) {
            let tiles = |len: usize| len.div_ceil(TILE) as u32;
            // One layer of cubes per image (of one branch, for per-branch inputs).
            let count = CubeCount::Static(
                tiles(shape[3]),
                tiles(shape[2]),
                (images(&x_shape, &geometry) * w_shape[0].div_ceil(CHANNELS)) as u32,
            );
            forward_tiled_kernel::launch(
                &x.client.clone(),
                count,
                CubeDim::new_2d(TILE as u32, TILE as u32),
                x.into_tensor_arg(),
                weight.into_tensor_arg(),
                bias.into_tensor_arg(),
                output.clone().into_tensor_arg(),
                dilations,
                pad_top,
                pad_left,
                tiled.halo[0],
                tiled.halo[1],
                geometry.stride[0],
                geometry.stride[1],
                branch_images(&x_shape, &geometry),
                geometry.layout == BranchLayout::Stacked,
                TILE,
                tiled.region[0],
                tiled.region[1],
                CHANNELS,
                geometry.epilogue == Epilogue::Relu,
                dtype,
            );
            return output;
        }
        let (count, dim) = grid(&x, threads);
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
            branch_images(&x_shape, &geometry),
            geometry.epilogue == Epilogue::Relu,
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
            branch_images(&x_shape, &geometry),
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
        let batch = images(&x_shape, &geometry);
        // Partial sums over a bounded number of slices of the batch (image `b` goes to slice
        // `b % slices`), reduced after: the scratch is at most `WEIGHT_GRAD_SLICES` kernels,
        // whatever the batch, and there are still enough threads to fill a GPU.
        let slices = batch.min(WEIGHT_GRAD_SLICES);
        // Indexed by the thread's position: contiguous, never pitched.
        let partial = empty_device_contiguous_dtype(
            x.client.clone(),
            x.device.clone(),
            Shape::new([slices, out, cin, kh, kw]),
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
            batch,
            dilations,
            pad_top,
            pad_left,
            geometry.stride[0],
            geometry.stride[1],
            branch_images(&x_shape, &geometry),
            dtype,
        );
        Self::float_reshape(Self::float_sum_dim(partial, 0), w_shape)
    }
}
