//! A download-free, MNIST-style dataset: digits 0-9 drawn procedurally from stroke templates
//! with a random affine transform, stroke thickness and noise. Deterministic by seed: item `i`
//! of seed `s` is the same image on every machine, whatever the order of access.

use burn::data::dataset::{Dataset, DatasetError};

use crate::MnistItem;
use crate::idx::{PIXELS, SIDE};

type Stroke = Vec<(f32, f32)>;

/// Points on an ellipse centred at `(cx, cy)` with radii `(rx, ry)`, from angle `a0` to `a1`
/// (radians, y down), as a polyline of `n` segments.
fn arc(cx: f32, cy: f32, rx: f32, ry: f32, a0: f32, a1: f32, n: usize) -> Stroke {
    (0..=n)
        .map(|i| {
            let a = a0 + (a1 - a0) * i as f32 / n as f32;
            (cx + rx * a.cos(), cy + ry * a.sin())
        })
        .collect()
}

/// The strokes of `digit` in the unit square (x right, y down).
fn template(digit: u8) -> Vec<Stroke> {
    use std::f32::consts::PI;
    match digit {
        0 => vec![arc(0.5, 0.5, 0.3, 0.45, 0.0, 2.0 * PI, 20)],
        1 => vec![vec![(0.35, 0.2), (0.55, 0.03), (0.55, 0.97)]],
        2 => vec![{
            let mut s = arc(0.5, 0.28, 0.3, 0.24, PI, 2.1 * PI, 10);
            s.extend([(0.2, 0.95), (0.85, 0.95)]);
            s
        }],
        3 => vec![
            arc(0.48, 0.27, 0.28, 0.23, -0.9 * PI, 0.5 * PI, 12),
            arc(0.48, 0.72, 0.32, 0.25, -0.5 * PI, 0.9 * PI, 12),
        ],
        4 => vec![vec![(0.62, 0.97), (0.62, 0.03), (0.12, 0.66), (0.88, 0.66)]],
        5 => vec![{
            let mut s = vec![(0.8, 0.04), (0.28, 0.04), (0.24, 0.45)];
            s.extend(arc(0.5, 0.68, 0.3, 0.28, -0.75 * PI, 0.85 * PI, 12));
            s
        }],
        6 => vec![
            vec![(0.72, 0.05), (0.45, 0.2), (0.27, 0.45), (0.21, 0.7)],
            arc(0.5, 0.7, 0.29, 0.26, PI, 3.0 * PI, 16),
        ],
        7 => vec![vec![(0.14, 0.05), (0.86, 0.05), (0.42, 0.97)]],
        8 => vec![
            arc(0.5, 0.26, 0.24, 0.22, 0.0, 2.0 * PI, 16),
            arc(0.5, 0.72, 0.3, 0.25, 0.0, 2.0 * PI, 16),
        ],
        _ => vec![
            arc(0.5, 0.3, 0.27, 0.25, 0.0, 2.0 * PI, 16),
            vec![(0.77, 0.3), (0.72, 0.97)],
        ],
    }
}

/// SplitMix64: a small, portable generator, so a seed gives the same digits everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[lo, hi)`.
    fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * ((self.next() >> 40) as f32 / (1u64 << 24) as f32)
    }
}

fn segment_distance(p: (f32, f32), a: (f32, f32), b: (f32, f32)) -> f32 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (qx, qy) = (a.0 + t * dx - p.0, a.1 + t * dy - p.1);
    (qx * qx + qy * qy).sqrt()
}

/// Draws `digit` with the randomness of `rng`: 28x28 gray bytes, ink bright on black.
fn render(digit: u8, rng: &mut Rng) -> Vec<u8> {
    // Affine map from the unit square to pixels: MNIST digits sit in a ~20x20 box, centred.
    let size = rng.uniform(15.0, 21.0);
    let aspect = rng.uniform(0.75, 1.15);
    let angle = rng.uniform(-0.25, 0.25);
    let shear = rng.uniform(-0.3, 0.3);
    let (tx, ty) = (rng.uniform(-2.0, 2.0), rng.uniform(-1.5, 1.5));
    let thickness = rng.uniform(1.0, 2.4);
    let (sin, cos) = angle.sin_cos();
    let map = |(x, y): (f32, f32)| {
        let (u, v) = ((x - 0.5) * size * aspect, (y - 0.5) * size);
        let u = u + shear * v;
        (14.0 + tx + cos * u - sin * v, 14.0 + ty + sin * u + cos * v)
    };
    let segments: Vec<((f32, f32), (f32, f32))> = template(digit)
        .into_iter()
        .flat_map(|stroke| {
            let points: Vec<_> = stroke.into_iter().map(map).collect();
            points.windows(2).map(|w| (w[0], w[1])).collect::<Vec<_>>()
        })
        .collect();
    let noise = rng.uniform(0.0, 0.12);
    let mut image = vec![0u8; PIXELS];
    for (i, pixel) in image.iter_mut().enumerate() {
        let p = ((i % SIDE) as f32 + 0.5, (i / SIDE) as f32 + 0.5);
        let d = segments
            .iter()
            .map(|&(a, b)| segment_distance(p, a, b))
            .fold(f32::INFINITY, f32::min);
        let ink = (thickness / 2.0 + 0.5 - d).clamp(0.0, 1.0);
        let value = ink + noise * rng.uniform(-1.0, 1.0) * (0.3 + ink);
        *pixel = (value.clamp(0.0, 1.0) * 255.0).round() as u8;
    }
    image
}

/// Procedural digits: `len` items, classes balanced (item `i` is digit `i % 10` before the
/// per-seed shuffle of the class order), deterministic by `seed`.
///
/// # Example
/// ```
/// use burn::data::dataset::{Dataset, DatasetError};
/// use multi_dilation_mnist::SyntheticDigits;
///
/// let digits = SyntheticDigits::new(100, 7);
/// let item = digits.get(3).unwrap();
/// assert_eq!(item.image.len(), 28 * 28);
/// assert_eq!(item, SyntheticDigits::new(100, 7).get(3).unwrap());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntheticDigits {
    len: usize,
    seed: u64,
}

impl SyntheticDigits {
    /// `len` digits drawn with `seed`.
    pub fn new(len: usize, seed: u64) -> Self {
        Self { len, seed }
    }

    /// The default training set of the examples: 20,000 digits.
    pub fn train(seed: u64) -> Self {
        Self::new(20_000, seed)
    }

    /// The default test set: 2,000 digits drawn from another stream than [`train`](Self::train).
    pub fn test(seed: u64) -> Self {
        Self::new(2_000, seed ^ 0x7E57_7E57_7E57_7E57)
    }
}

impl Dataset<MnistItem> for SyntheticDigits {
    fn get(&self, index: usize) -> Result<MnistItem, DatasetError> {
        assert!(
            index < self.len,
            "Index out of bounds for dataset: {index} >= {}",
            self.len
        );
        let mut rng = Rng(self.seed ^ (index as u64).wrapping_mul(0xD1B5_4A32_D192_ED03));
        // Balanced classes in a per-block shuffled order.
        let block = index / 10;
        let mut order = [0u8, 1, 2, 3, 4, 5, 6, 7, 8, 9];
        let mut block_rng = Rng(self.seed.wrapping_add(block as u64).wrapping_mul(31));
        for i in (1..10).rev() {
            order.swap(i, (block_rng.next() % (i as u64 + 1)) as usize);
        }
        let label = order[index % 10];
        Ok(MnistItem {
            image: render(label, &mut rng),
            label,
        })
    }

    fn len(&self) -> usize {
        self.len
    }
}
