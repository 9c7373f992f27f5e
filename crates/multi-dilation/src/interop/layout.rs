//! The layout mapping between frameworks: the one place where axes are moved.
//!
//! | tensor | this crate (burn) | PyTorch | Keras 3 |
//! |---|---|---|---|
//! | conv kernel | `[out, in/groups, kh, kw]` (1-D: `[out, in/groups, k]`, 3-D: `[out, in/groups, kd, kh, kw]`) | same | `[kh, kw, in/groups, out]` (1-D: `[k, in/groups, out]`, 3-D: `[kd, kh, kw, in/groups, out]`) |
//! | conv bias | `[out]` | same | same |
//! | linear weight | `[in, out]` | `[out, in]` | `[in, out]` |
//! | rows of the head after flatten | `(channel, y, x)` | same | `(y, x, channel)` |

use burn::tensor::Tensor;

/// A Keras kernel `[kh, kw, in, out]` as ours, `[out, in, kh, kw]`.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Int, Tensor};
/// use multi_dilation::interop::layout::{hwio_to_oihw, oihw_to_hwio};
/// let device = Device::default();
/// let keras = Tensor::<1, Int>::arange(0..24, &device).float().reshape([1, 2, 3, 4]);
/// let ours = hwio_to_oihw(keras.clone());
/// assert_eq!(ours.dims(), [4, 3, 1, 2]);
/// oihw_to_hwio(ours).into_data().assert_eq(&keras.into_data(), true);
/// ```
pub fn hwio_to_oihw(kernel: Tensor<4>) -> Tensor<4> {
    kernel.permute([3, 2, 0, 1])
}

/// Our kernel `[out, in, kh, kw]` in Keras's layout, `[kh, kw, in, out]`.
pub fn oihw_to_hwio(kernel: Tensor<4>) -> Tensor<4> {
    kernel.permute([2, 3, 1, 0])
}

/// A linear weight between PyTorch's `[out, in]` and burn's `[in, out]` (either way).
pub fn transpose_linear(weight: Tensor<2>) -> Tensor<2> {
    weight.transpose()
}

/// The weight `[features, out]` of a dense layer that follows a channels-last flatten of a
/// `[channels, height, width]` map (rows in `(y, x, channel)` order) with its rows put in the
/// channels-first order of a `[batch, channels, height, width]` flatten, `(channel, y, x)`.
///
/// # Panics
/// If `weight` does not have `channels * height * width` rows.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use multi_dilation::interop::layout::channels_last_rows_to_first;
/// let device = Device::default();
/// // A 2-channel 1x2 map: channels-last rows are (x0,c0) (x0,c1) (x1,c0) (x1,c1).
/// let rows = Tensor::<2>::from_floats([[0.0], [1.0], [2.0], [3.0]], &device);
/// let first = channels_last_rows_to_first(rows, [2, 1, 2]);
/// first.into_data().assert_eq(&Tensor::<2>::from_floats([[0.0], [2.0], [1.0], [3.0]], &device).into_data(), true);
/// ```
pub fn channels_last_rows_to_first(weight: Tensor<2>, map: [usize; 3]) -> Tensor<2> {
    let [channels, height, width] = map;
    let [rows, out] = weight.dims();
    assert_eq!(
        rows,
        channels * height * width,
        "expected {} rows for a {map:?} map, got {rows}",
        channels * height * width
    );
    weight
        .reshape([height, width, channels, out])
        .permute([2, 0, 1, 3])
        .reshape([rows, out])
}

/// A Keras kernel of any rank, `[..kernel, in/groups, out]`, in this crate's layout
/// `[out, in/groups, ..kernel]` ([`hwio_to_oihw`] at rank 4).
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use multi_dilation::interop::layout::kernel_to_channels_first;
///
/// // A Conv1D kernel of 5 taps, 2 -> 4 channels.
/// let keras = Tensor::<3>::zeros([5, 2, 4], &Device::default());
/// assert_eq!(kernel_to_channels_first(keras).dims(), [4, 2, 5]);
/// ```
pub fn kernel_to_channels_first<const D: usize>(kernel: Tensor<D>) -> Tensor<D> {
    let mut axes = [0; D];
    axes[0] = D - 1;
    axes[1] = D - 2;
    for (i, axis) in axes[2..].iter_mut().enumerate() {
        *axis = i;
    }
    kernel.permute(axes)
}

/// The Keras shape `[..kernel, in/groups, out]` of a kernel of this crate's shape
/// `[out, in/groups, ..kernel]`.
///
/// # Example
/// ```
/// use multi_dilation::interop::layout::kernel_to_channels_last_shape;
/// assert_eq!(kernel_to_channels_last_shape([4, 2, 3, 5, 7]), [3, 5, 7, 2, 4]);
/// ```
pub fn kernel_to_channels_last_shape<const D: usize>(shape: [usize; D]) -> [usize; D] {
    let mut keras = [0; D];
    keras[..D - 2].copy_from_slice(&shape[2..]);
    keras[D - 2] = shape[1];
    keras[D - 1] = shape[0];
    keras
}
