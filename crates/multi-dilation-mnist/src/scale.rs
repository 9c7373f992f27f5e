//! Scaled digits for the scale-robustness study.
//!
//! - [`mnist_scale`]: the MNIST-scale protocol of Sosnovik et al., "Scale-Equivariant
//!   Steerable Networks" (ICLR 2020), also used by DISCO: MNIST's 70k images merged, a
//!   stratified split into 10k train, 2k validation and 50k test, each image rescaled once
//!   about its centre by a factor drawn uniformly from `[0.3, 1.0]` (bicubic) and zero-padded
//!   back to 28x28. A seed gives the same bytes on every machine (the realisations are seeds
//!   0 to 5).
//! - [`scale_generalisation`]: digits at one small scale for training, the test digits
//!   enlarged from it by each of a list of factors, all on one canvas.

use sha2::{Digest, Sha256};

use crate::MnistItem;
use crate::idx::SIDE;
use crate::rng::SplitMix64;

/// The smallest scale factor of MNIST-scale.
pub const MIN_SCALE: f64 = 0.3;
/// The largest scale factor of MNIST-scale.
pub const MAX_SCALE: f64 = 1.0;
/// MNIST-scale's split sizes: train, validation, test.
pub const SPLIT_SIZES: [usize; 3] = [10_000, 2_000, 50_000];

/// A digit on a square canvas, with the factor it was rescaled by.
#[derive(Debug, Clone, PartialEq)]
pub struct ScaledDigit {
    /// Gray bytes, row-major, `side * side`.
    pub image: Vec<u8>,
    /// Side of the canvas in pixels.
    pub side: usize,
    /// The class, 0 to 9.
    pub label: u8,
    /// The factor the original 28x28 digit was rescaled by.
    pub scale: f64,
    /// Index of the original digit in the input it was made from.
    pub source: usize,
}

/// The three splits of one realisation.
#[derive(Debug, Clone)]
pub struct ScaleSplits {
    /// Training digits.
    pub train: Vec<ScaledDigit>,
    /// Validation digits.
    pub valid: Vec<ScaledDigit>,
    /// Test digits.
    pub test: Vec<ScaledDigit>,
}

/// The Keys cubic convolution kernel with `a = -0.5` (what PIL's and OpenCV's bicubic use).
fn cubic(x: f64) -> f64 {
    let x = x.abs();
    if x < 1.0 {
        (1.5 * x - 2.5) * x * x + 1.0
    } else if x < 2.0 {
        ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0
    } else {
        0.0
    }
}

/// `image` (`side` x `side`) rescaled by `factor` about its centre onto a `canvas` x `canvas`
/// image with the same centre, by bicubic interpolation; outside the source is 0.
///
/// # Example
/// ```
/// use multi_dilation_mnist::scale::rescale;
/// let mut image = vec![0u8; 28 * 28];
/// for y in 10..18 { for x in 10..18 { image[y * 28 + x] = 255; } }
/// let half = rescale(&image, 28, 0.5, 28);
/// let lit = half.iter().filter(|&&p| p > 127).count();
/// assert_eq!(lit, 16); // an 8x8 square becomes 4x4
/// assert_eq!(rescale(&image, 28, 1.0, 28), image); // the identity
/// ```
pub fn rescale(image: &[u8], side: usize, factor: f64, canvas: usize) -> Vec<u8> {
    let source_centre = side as f64 / 2.0;
    let target_centre = canvas as f64 / 2.0;
    let pixel = |x: isize, y: isize| -> f64 {
        if x < 0 || y < 0 || x >= side as isize || y >= side as isize {
            0.0
        } else {
            f64::from(image[y as usize * side + x as usize])
        }
    };
    let mut out = vec![0u8; canvas * canvas];
    for ty in 0..canvas {
        // Pixel centres map to pixel centres: (t + 0.5 - c_t) / f = s + 0.5 - c_s.
        let sy = (ty as f64 + 0.5 - target_centre) / factor + source_centre - 0.5;
        let y0 = sy.floor();
        for tx in 0..canvas {
            let sx = (tx as f64 + 0.5 - target_centre) / factor + source_centre - 0.5;
            let x0 = sx.floor();
            let mut value = 0.0;
            for j in -1..=2 {
                let wy = cubic(sy - (y0 + j as f64));
                if wy == 0.0 {
                    continue;
                }
                for i in -1..=2 {
                    let wx = cubic(sx - (x0 + i as f64));
                    value += wy * wx * pixel(x0 as isize + i, y0 as isize + j);
                }
            }
            out[ty * canvas + tx] = value.round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

/// How many of `count` items of each class go to a split of `size` out of `total`, the
/// rounding left over given to the classes with the largest remainders (ties: lower class).
fn stratified_counts(per_class: &[usize; 10], total: usize, size: usize) -> [usize; 10] {
    let mut counts = [0; 10];
    let mut remainders = Vec::with_capacity(10);
    for class in 0..10 {
        let exact = per_class[class] * size;
        counts[class] = exact / total;
        remainders.push((exact % total, class));
    }
    let missing = size - counts.iter().sum::<usize>();
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, class) in remainders.iter().take(missing) {
        counts[class] += 1;
    }
    counts
}

/// One realisation of MNIST-scale from `digits` (MNIST's 60k training then 10k test images;
/// any 28x28 digits work) with the protocol's split sizes [`SPLIT_SIZES`].
///
/// # Panics
/// If `digits` holds fewer images than the splits need.
pub fn mnist_scale(digits: &[MnistItem], seed: u64) -> ScaleSplits {
    mnist_scale_sized(digits, seed, SPLIT_SIZES)
}

/// [`mnist_scale`] with other split sizes (train, validation, test), for quick runs.
///
/// # Panics
/// If `digits` holds fewer than `sizes.iter().sum()` images, or a class has too few.
///
/// # Example
/// ```
/// use multi_dilation_mnist::SyntheticDigits;
/// use multi_dilation_mnist::scale::mnist_scale_sized;
/// use burn::data::dataset::Dataset;
///
/// let digits: Vec<_> = SyntheticDigits::clean(300, 1).iter().map(Result::unwrap).collect();
/// let splits = mnist_scale_sized(&digits, 0, [100, 20, 150]);
/// assert_eq!(splits.test.len(), 150);
/// assert!(splits.train.iter().all(|d| (0.3..=1.0).contains(&d.scale) && d.side == 28));
/// ```
pub fn mnist_scale_sized(digits: &[MnistItem], seed: u64, sizes: [usize; 3]) -> ScaleSplits {
    let total: usize = sizes.iter().sum();
    assert!(
        digits.len() >= total,
        "MNIST-scale needs {total} digits, got {}",
        digits.len()
    );
    let mut rng = SplitMix64::new(seed);
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); 10];
    for (index, digit) in digits.iter().enumerate() {
        by_class[usize::from(digit.label)].push(index);
    }
    for indices in &mut by_class {
        rng.shuffle(indices);
    }
    let per_class: [usize; 10] = std::array::from_fn(|class| by_class[class].len());
    let mut taken = [0usize; 10];
    let mut splits: Vec<Vec<ScaledDigit>> = Vec::new();
    for size in sizes {
        let counts = stratified_counts(&per_class, digits.len(), size);
        let mut indices = Vec::with_capacity(size);
        for class in 0..10 {
            let end = taken[class] + counts[class];
            assert!(end <= per_class[class], "class {class} has too few digits");
            indices.extend_from_slice(&by_class[class][taken[class]..end]);
            taken[class] = end;
        }
        rng.shuffle(&mut indices);
        let split = indices
            .into_iter()
            .map(|index| {
                let scale = rng.uniform(MIN_SCALE, MAX_SCALE);
                let digit = &digits[index];
                ScaledDigit {
                    image: rescale(&digit.image, SIDE, scale, SIDE),
                    side: SIDE,
                    label: digit.label,
                    scale,
                    source: index,
                }
            })
            .collect();
        splits.push(split);
    }
    let test = splits.pop().unwrap_or_default();
    let valid = splits.pop().unwrap_or_default();
    let train = splits.pop().unwrap_or_default();
    ScaleSplits { train, valid, test }
}

/// The scale-generalisation set: training digits at one scale and test digits enlarged (or
/// shrunk) from it by each of a list of factors, all centred on one canvas.
#[derive(Debug, Clone)]
pub struct ScaleGeneralisation {
    /// Training digits, at the training scale.
    pub train: Vec<ScaledDigit>,
    /// For each factor (relative to the training scale), the test digits rescaled by
    /// `training scale * factor`.
    pub test: Vec<(f64, Vec<ScaledDigit>)>,
}

/// The factors 1, 1.25, 1.5, ..., 3 of the scale-generalisation test, relative to the
/// training scale: train small, test up to three times larger.
pub fn generalisation_factors() -> Vec<f64> {
    (4..=12).map(|quarters| f64::from(quarters) / 4.0).collect()
}

/// Builds the [`ScaleGeneralisation`] set from `train` and `test` digits (28x28): training
/// digits rescaled by `train_scale`, test digits by `train_scale * factor` for each of
/// `factors`, on a `canvas` x `canvas` image.
///
/// # Example
/// ```
/// use multi_dilation_mnist::MnistItem;
/// use multi_dilation_mnist::scale::scale_generalisation;
/// let digit = MnistItem { image: vec![0; 28 * 28], label: 4 };
/// let set = scale_generalisation(&[digit.clone()], &[digit], 40, 0.45, &[1.0, 3.0]);
/// assert_eq!(set.train[0].side, 40);
/// assert_eq!(set.train[0].scale, 0.45);
/// assert_eq!(set.test[1].0, 3.0);
/// assert!((set.test[1].1[0].scale - 1.35).abs() < 1e-12);
/// ```
pub fn scale_generalisation(
    train: &[MnistItem],
    test: &[MnistItem],
    canvas: usize,
    train_scale: f64,
    factors: &[f64],
) -> ScaleGeneralisation {
    let place = |(source, digit): (usize, &MnistItem), scale: f64| ScaledDigit {
        image: rescale(&digit.image, SIDE, scale, canvas),
        side: canvas,
        label: digit.label,
        scale,
        source,
    };
    ScaleGeneralisation {
        train: train
            .iter()
            .enumerate()
            .map(|d| place(d, train_scale))
            .collect(),
        test: factors
            .iter()
            .map(|&factor| {
                let digits = test
                    .iter()
                    .enumerate()
                    .map(|d| place(d, train_scale * factor))
                    .collect();
                (factor, digits)
            })
            .collect(),
    }
}

/// SHA-256 (hex) of the labels, sizes and pixels of `digits`, in order: what a seed must
/// reproduce byte for byte.
pub fn checksum(digits: &[ScaledDigit]) -> String {
    let mut hasher = Sha256::new();
    for digit in digits {
        hasher.update([digit.label]);
        hasher.update((digit.side as u32).to_le_bytes());
        hasher.update(&digit.image);
    }
    crate::files::hex(&hasher.finalize())
}
