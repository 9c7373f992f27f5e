//! Anti-aliased dilation: the Gaussian blur that turns a dilated kernel into a kernel on a
//! coarser level of a scale space.
//!
//! A kernel at dilation `d` samples its input every `d` pixels. On an input that holds detail
//! finer than `d` pixels this aliases: which detail the kernel sees depends on where it falls
//! between the samples. Worrall and Welling's Deep Scale-Spaces (DSS, NeurIPS 2019) remove it
//! by blurring the input before the dilated convolution, so that dilation `d` acts on a
//! Gaussian scale space: if the input is taken to be blurred at a base scale `sigma0` already,
//! the same content seen `d` times larger has scale `d * sigma0`, and reaching it takes a
//! further Gaussian of variance `sigma0^2 * (d^2 - 1)` (variances of Gaussians add). So the
//! branch at dilation `d` is blurred with standard deviation
//!
//! ```text
//! sigma(d) = sigma0 * sqrt(d^2 - 1)        (0 at d = 1: no blur)
//! ```
//!
//! DSS uses Lindeberg's discrete Gaussian (modified Bessel functions); this crate samples the
//! continuous Gaussian at the integer taps `-r..=r`, `r = ceil(3 * sigma)`, and normalises the
//! taps to sum 1. The two agree closely for `sigma` above about 1 and differ for small ones,
//! where the sampled kernel is close to the identity. The blur is separable (one pass down
//! the columns, one along the rows) with zero padding outside the image, like the convolution
//! that follows it.

use burn::tensor::{Tensor, TensorData};

use crate::functional::conv;

/// The blur's standard deviation for the branch at `dilation` with base scale `sigma0`:
/// `sigma0 * sqrt(dilation^2 - 1)`.
///
/// # Example
/// ```
/// use multi_dilation::blur::branch_sigma;
/// assert_eq!(branch_sigma(0.5, 1), 0.0);
/// assert!((branch_sigma(0.5, 2) - 0.5 * 3f64.sqrt()).abs() < 1e-12);
/// ```
pub fn branch_sigma(sigma0: f64, dilation: usize) -> f64 {
    let d = dilation as f64;
    sigma0 * (d * d - 1.0).max(0.0).sqrt()
}

/// The sampled Gaussian of standard deviation `sigma` at taps `-r..=r`, `r = ceil(3 sigma)`,
/// normalised to sum 1 (`[1.0]` for `sigma` 0).
///
/// # Panics
/// Panics if `sigma` is negative or not finite.
///
/// # Example
/// ```
/// use multi_dilation::blur::gaussian_taps;
/// let taps = gaussian_taps(1.0);
/// assert_eq!(taps.len(), 7);
/// assert!((taps.iter().sum::<f32>() - 1.0).abs() < 1e-6);
/// assert_eq!(gaussian_taps(0.0), vec![1.0]);
/// ```
pub fn gaussian_taps(sigma: f64) -> Vec<f32> {
    assert!(
        sigma.is_finite() && sigma >= 0.0,
        "gaussian_taps: sigma must be finite and at least 0, got {sigma}"
    );
    if sigma == 0.0 {
        return vec![1.0];
    }
    let radius = (3.0 * sigma).ceil() as i64;
    let raw: Vec<f64> = (-radius..=radius)
        .map(|t| (-((t * t) as f64) / (2.0 * sigma * sigma)).exp())
        .collect();
    let total: f64 = raw.iter().sum();
    raw.iter().map(|v| (v / total) as f32).collect()
}

/// `x` `[batch, channels, h, w]` (any rank from 3: every spatial axis) blurred, channel by
/// channel, with the separable Gaussian of standard
/// deviation `sigma` ([`gaussian_taps`]), same size, zero padding; `x` itself for `sigma` 0.
/// Differentiable like any burn operation.
///
/// # Panics
/// Panics if `sigma` is negative or not finite.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use multi_dilation::blur::gaussian_blur;
///
/// let device = Device::default();
/// let mut pixels = vec![0.0f32; 49];
/// pixels[24] = 1.0; // a point in the middle of a 7x7 image
/// let x = Tensor::<1>::from_floats(pixels.as_slice(), &device).reshape([1, 1, 7, 7]);
/// let y = gaussian_blur(x, 1.0);
/// // The point spreads, keeps its mass, and stays centred.
/// let total = y.clone().sum().into_scalar::<f32>();
/// assert!((total - 1.0).abs() < 1e-2);
/// assert_eq!(y.reshape([49]).argmax(0).into_scalar::<i64>(), 24);
/// ```
pub fn gaussian_blur<const D: usize>(x: Tensor<D>, sigma: f64) -> Tensor<D> {
    let taps = gaussian_taps(sigma);
    if taps.len() == 1 {
        return x;
    }
    let dims = x.dims();
    let (len, radius) = (taps.len(), taps.len() / 2);
    let (device, dtype) = (x.device(), x.dtype());
    // Every channel as an image of its own: one single-channel convolution per spatial axis.
    let mut planes_shape = dims;
    planes_shape[0] = dims[0] * dims[1];
    planes_shape[1] = 1;
    let stride = vec![1; D - 2];
    let mut planes = x.reshape(planes_shape);
    for axis in 2..D {
        let mut kernel_shape = [1; D];
        kernel_shape[axis] = len;
        let kernel = Tensor::<D>::from_data(TensorData::new(taps.clone(), kernel_shape), &device)
            .cast(dtype);
        let padding: Vec<(usize, usize)> = (2..D)
            .map(|a| if a == axis { (radius, radius) } else { (0, 0) })
            .collect();
        planes = conv(planes, kernel, None, &stride, &padding, 1, 1);
    }
    planes.reshape(dims)
}
