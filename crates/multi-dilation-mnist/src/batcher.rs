//! Batches of MNIST items as tensors.

use burn::data::dataloader::batcher::Batcher;
use burn::tensor::{Device, Int, Tensor, TensorData};
use multi_dilation::ClassificationBatch;

use crate::MnistItem;
use crate::idx::{PIXELS, SIDE};

/// Mean of MNIST's training pixels, scaled to [0, 1].
pub const MEAN: f32 = 0.1307;
/// Standard deviation of MNIST's training pixels, scaled to [0, 1].
pub const STD: f32 = 0.3081;

/// Normalizes 28x28 bytes to `(x / 255 - MEAN) / STD`.
///
/// # Example
/// ```
/// use multi_dilation_mnist::batcher::normalize;
/// let v = normalize(&[0, 255]);
/// assert!((v[0] + 0.1307 / 0.3081).abs() < 1e-6);
/// ```
pub fn normalize(pixels: &[u8]) -> Vec<f32> {
    pixels
        .iter()
        .map(|&p| (f32::from(p) / 255.0 - MEAN) / STD)
        .collect()
}

/// Turns items into a [`ClassificationBatch`]: images `[batch, 1, 28, 28]`, normalized, and
/// class targets `[batch]`.
#[derive(Debug, Clone, Copy, Default)]
pub struct MnistBatcher;

impl Batcher<MnistItem, ClassificationBatch> for MnistBatcher {
    fn batch(&self, items: Vec<MnistItem>, device: &Device) -> ClassificationBatch {
        let n = items.len();
        let mut pixels = Vec::with_capacity(n * PIXELS);
        let mut labels = Vec::with_capacity(n);
        for item in &items {
            pixels.extend(normalize(&item.image));
            labels.push(i64::from(item.label));
        }
        ClassificationBatch {
            images: Tensor::from_data(TensorData::new(pixels, [n, 1, SIDE, SIDE]), device),
            targets: Tensor::<1, Int>::from_data(TensorData::new(labels, [n]), device),
        }
    }
}
