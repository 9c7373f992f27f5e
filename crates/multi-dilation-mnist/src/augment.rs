//! Training-time augmentation: every digit moved by a random whole-pixel shift.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use burn::data::dataloader::batcher::Batcher;
use burn::tensor::{Device, Int, Tensor};

use crate::MnistItem;
use crate::batcher::MnistBatcher;
use crate::idx::SIDE;
use crate::rng::SplitMix64;

/// A [`Batcher`] that shifts each image by up to `max_shift` pixels on each axis (uniform,
/// independent per image and per epoch; pixels moved in from outside are 0) and then batches
/// like [`MnistBatcher`].
///
/// Deterministic for a seed, whichever worker builds which batch and in whatever order: the
/// shift of a digit depends on the seed, the digit (its pixels and label) and how many times
/// this batcher (or a clone of it) has shifted that digit before, which is its epoch.
///
/// # Example
/// ```
/// use burn::data::dataloader::batcher::Batcher;
/// use burn::tensor::Device;
/// use multi_dilation_mnist::{MnistBatch, MnistItem, ShiftingBatcher};
///
/// let batcher = ShiftingBatcher::new(2, 7);
/// let item = MnistItem { image: vec![255; 28 * 28], label: 3 };
/// let batch: MnistBatch = batcher.batch(vec![item], &Device::default());
/// assert_eq!(batch.images.dims(), [1, 1, 28, 28]);
/// ```
#[derive(Debug, Clone)]
pub struct ShiftingBatcher {
    max_shift: usize,
    seed: u64,
    /// How many times each digit (by the hash of its pixels and label) has been shifted,
    /// shared by the clones the data loader's workers hold.
    seen: Arc<Mutex<HashMap<u64, u64>>>,
}

impl ShiftingBatcher {
    /// Shifts of up to `max_shift` pixels, drawn from a stream seeded by `seed`.
    pub fn new(max_shift: usize, seed: u64) -> Self {
        Self {
            max_shift,
            seed,
            seen: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The shift pair of `item` this time, each in `-max_shift..=max_shift`.
    fn draw(&self, item: &MnistItem) -> [isize; 2] {
        let key = item
            .image
            .iter()
            .fold(SplitMix64::mix(u64::from(item.label)), |hash, &pixel| {
                SplitMix64::mix(hash ^ u64::from(pixel))
            });
        let times = {
            // A worker that panicked while holding the lock left the counts consistent.
            let mut seen = self
                .seen
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let count = seen.entry(key).or_insert(0);
            *count += 1;
            *count - 1
        };
        let bits = SplitMix64::mix(self.seed ^ SplitMix64::mix(key ^ SplitMix64::mix(times)));
        let span = 2 * self.max_shift as u64 + 1;
        let max = self.max_shift as isize;
        [
            (bits % span) as isize - max,
            ((bits >> 32) % span) as isize - max,
        ]
    }
}

/// `image` (28x28, row-major) moved down by `dy` and right by `dx`, zeros filling in.
///
/// # Example
/// ```
/// use multi_dilation_mnist::augment::shift_image;
/// let mut image = vec![0u8; 28 * 28];
/// image[0] = 9;
/// let moved = shift_image(&image, 2, 1);
/// assert_eq!(moved[2 * 28 + 1], 9);
/// assert_eq!(moved.iter().map(|&p| p as u32).sum::<u32>(), 9);
/// ```
pub fn shift_image(image: &[u8], dy: isize, dx: isize) -> Vec<u8> {
    let side = SIDE as isize;
    let mut out = vec![0; image.len()];
    for y in 0..side {
        for x in 0..side {
            let (sy, sx) = (y - dy, x - dx);
            if (0..side).contains(&sy) && (0..side).contains(&sx) {
                out[(y * side + x) as usize] = image[(sy * side + sx) as usize];
            }
        }
    }
    out
}

impl<O: From<(Tensor<4>, Tensor<1, Int>)>> Batcher<MnistItem, O> for ShiftingBatcher {
    fn batch(&self, items: Vec<MnistItem>, device: &Device) -> O {
        let shifted = items
            .into_iter()
            .map(|item| {
                let [dy, dx] = self.draw(&item);
                MnistItem {
                    image: shift_image(&item.image, dy, dx),
                    label: item.label,
                }
            })
            .collect();
        MnistBatcher.batch(shifted, device)
    }
}
