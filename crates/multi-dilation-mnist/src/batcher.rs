//! Batches of MNIST items as tensors.

use burn::data::dataloader::batcher::Batcher;
use burn::tensor::{Device, Int, Tensor, TensorData};

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

/// A batch of images `[batch, 1, 28, 28]` and class indices `[batch]`.
///
/// The batchers build any batch type that converts from the pair `(images, targets)`, so a
/// model crate's own batch type works without this crate depending on it (for example
/// `multi_dilation::ClassificationBatch`); this one serves when there is none.
#[derive(Debug, Clone)]
pub struct MnistBatch {
    /// Normalized images `[batch, 1, 28, 28]`.
    pub images: Tensor<4>,
    /// Class indices `[batch]`.
    pub targets: Tensor<1, Int>,
}

impl From<(Tensor<4>, Tensor<1, Int>)> for MnistBatch {
    fn from((images, targets): (Tensor<4>, Tensor<1, Int>)) -> Self {
        Self { images, targets }
    }
}

/// Turns items into a batch: images `[batch, 1, 28, 28]`, normalized, and class targets
/// `[batch]`, as any type `O` that converts from `(images, targets)`, such as [`MnistBatch`].
///
/// # Example
/// ```
/// use burn::data::dataloader::batcher::Batcher;
/// use burn::tensor::Device;
/// use multi_dilation_mnist::{MnistBatch, MnistBatcher, MnistItem};
///
/// let item = MnistItem { image: vec![0; 28 * 28], label: 7 };
/// let batch: MnistBatch = MnistBatcher.batch(vec![item], &Device::default());
/// assert_eq!(batch.images.dims(), [1, 1, 28, 28]);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct MnistBatcher;

impl<O: From<(Tensor<4>, Tensor<1, Int>)>> Batcher<MnistItem, O> for MnistBatcher {
    fn batch(&self, items: Vec<MnistItem>, device: &Device) -> O {
        let n = items.len();
        let mut pixels = Vec::with_capacity(n * PIXELS);
        let mut labels = Vec::with_capacity(n);
        for item in &items {
            pixels.extend(normalize(&item.image));
            labels.push(i64::from(item.label));
        }
        O::from((
            Tensor::from_data(TensorData::new(pixels, [n, 1, SIDE, SIDE]), device),
            Tensor::<1, Int>::from_data(TensorData::new(labels, [n]), device),
        ))
    }
}
