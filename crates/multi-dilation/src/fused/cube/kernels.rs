//! The `#[cube]` kernels: forward, input gradient and the kernel gradient over slices of the
//! batch, each over every branch in one thread (the branch loop is unrolled: the dilations and
//! paddings are sequences fixed at compile time of the kernel). [`launch`](super::launch)
//! launches them.

use burn_cubecl::cubecl;
use cubecl::prelude::*;

/// How far apart the branches' output channels are: `out_c` when the branches are concatenated
/// on the channel axis (`branch_images == 0`), 0 when they are stacked on the batch axis.
#[cube]
pub(super) fn stacked_channels(branch_images: usize, out_c: usize) -> usize {
    let mut step = out_c;
    if branch_images > 0 {
        step = 0;
    }
    step
}

/// `true` when `coordinate - pad` (a padded position) lies in `0..len`.
#[cube]
pub(super) fn inside(coordinate: usize, pad: usize, len: usize) -> bool {
    let mut hit = false;
    if coordinate >= pad {
        hit = coordinate - pad < len;
    }
    hit
}

/// The output `[batch, dilations * out, ho, wo]` (`[dilations * batch, out, ho, wo]` for
/// per-branch inputs, `branch_images` images per branch): one thread per `(image, out channel,
/// row, column)`, writing that position in every branch (with the ReLU when `relu`).
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub(super) fn forward_kernel<F: Float>(
    x: &Tensor<F>,
    weight: &Tensor<F>,
    bias: &Tensor<F>,
    output: &mut Tensor<F>,
    dilations: Sequence<usize>,
    pad_top: Sequence<usize>,
    pad_left: Sequence<usize>,
    stride_h: usize,
    stride_w: usize,
    branch_images: usize,
    #[comptime] relu: bool,
    #[define(F)] _dtype: ElemType,
) {
    let out_c = weight.shape(0);
    let (out_h, out_w) = (output.shape(2), output.shape(3));
    let branches = comptime![dilations.len()];
    // Every branch's maps are one thread's work, in either layout.
    if ABSOLUTE_POS * branches >= output.shape(0) * output.shape(1) * out_h * out_w {
        terminate!();
    }
    let ox = ABSOLUTE_POS % out_w;
    let oy = (ABSOLUTE_POS / out_w) % out_h;
    let o = (ABSOLUTE_POS / (out_w * out_h)) % out_c;
    let b = ABSOLUTE_POS / (out_w * out_h * out_c);
    let (in_c, h, w) = (weight.shape(1), x.shape(2), x.shape(3));
    let (kh, kw) = (weight.shape(2), weight.shape(3));
    let branch_outs = stacked_channels(branch_images, out_c);

    #[unroll]
    for branch in 0..branches {
        let d = dilations[branch];
        let (top, left) = (pad_top[branch], pad_left[branch]);
        let image = b + branch * branch_images;
        let mut sum = bias[o * bias.stride(0)];
        for c in 0..in_c {
            let x_plane = image * x.stride(0) + c * x.stride(1);
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
        let at = image * output.stride(0)
            + (branch * branch_outs + o) * output.stride(1)
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

/// The input gradient `[batch, in, h, w]` (`[dilations * batch, in, h, w]` for per-branch
/// inputs): one thread per input element, gathering over every branch that reads it the output
/// positions whose window covers it (no atomics).
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub(super) fn input_grad_kernel<F: Float>(
    weight: &Tensor<F>,
    grad: &Tensor<F>,
    grad_x: &mut Tensor<F>,
    dilations: Sequence<usize>,
    pad_top: Sequence<usize>,
    pad_left: Sequence<usize>,
    stride_h: usize,
    stride_w: usize,
    branch_images: usize,
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
    // For per-branch inputs, the one branch that reads image `b`.
    let mut per_branch = branch_images;
    if per_branch == 0 {
        per_branch = 1;
    }
    let own_branch = b / per_branch;
    let (out_c, kh, kw) = (weight.shape(0), weight.shape(2), weight.shape(3));
    let branch_outs = stacked_channels(branch_images, out_c);
    let (out_h, out_w) = (grad.shape(2), grad.shape(3));
    let branches = comptime![dilations.len()];
    let mut sum = F::from_int(0);

    #[unroll]
    for branch in 0..branches {
        let d = dilations[branch];
        let (top, left) = (pad_top[branch], pad_left[branch]);
        let reads = branch_images == 0 || own_branch == branch;
        for ky in 0..kh {
            let oy = source(iy, top, ky, d, stride_h, out_h);
            if reads && oy < out_h {
                for kx in 0..kw {
                    let ox = source(ix, left, kx, d, stride_w, out_w);
                    if ox < out_w {
                        let g_at = b * grad.stride(0) + oy * grad.stride(2) + ox * grad.stride(3);
                        let w_at =
                            c * weight.stride(1) + ky * weight.stride(2) + kx * weight.stride(3);
                        for o in 0..out_c {
                            sum += grad[g_at + (branch * branch_outs + o) * grad.stride(1)]
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

/// Partial kernel gradients over slices of the batch, `[slices, out, in, kh, kw]` (contiguous):
/// one thread per `(slice, weight element)`, summing over the images `b` of its slice (`b %
/// slices == slice`, of `batch` images per branch), every branch and every output position.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub(super) fn weight_grad_kernel<F: Float>(
    x: &Tensor<F>,
    grad: &Tensor<F>,
    partial: &mut Tensor<F>,
    batch: usize,
    dilations: Sequence<usize>,
    pad_top: Sequence<usize>,
    pad_left: Sequence<usize>,
    stride_h: usize,
    stride_w: usize,
    branch_images: usize,
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
    let slice = ABSOLUTE_POS / (kw * kh * in_c * out_c);
    let slices = partial.shape(0);
    let (h, w) = (x.shape(2), x.shape(3));
    let (out_h, out_w) = (grad.shape(2), grad.shape(3));
    let branches = comptime![dilations.len()];
    let branch_outs = stacked_channels(branch_images, out_c);
    let mut sum = F::from_int(0);

    let mut b = slice;
    while b < batch {
        #[unroll]
        for branch in 0..branches {
            let image = b + branch * branch_images;
            let x_plane = image * x.stride(0) + c * x.stride(1);
            let d = dilations[branch];
            let (top, left) = (pad_top[branch], pad_left[branch]);
            let g_plane = image * grad.stride(0) + (branch * branch_outs + o) * grad.stride(1);
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
        b += slices;
    }
    partial[ABSOLUTE_POS] = sum;
}
