//! A download-free, MNIST-style dataset that is not trivially easy: digits 0-9 drawn
//! procedurally from stroke templates at widely varied scales, with affine and elastic jitter,
//! variable strokes, clutter, occlusion and noise. Deterministic by seed: item `i` of seed `s`
//! is the same image on every machine, whatever the order of access (integer SplitMix64
//! randomness, and only IEEE basic arithmetic in the drawing: no `sin`/`cos` of the platform's
//! math library).
//!
//! # Distribution
//!
//! Each image is 28x28, ink bright on black, drawn independently from its own random stream:
//!
//! - **Shape**: the strokes of the digit in the unit square; 1, 3, 4, 7 and 9 have a second
//!   style each (a plain 1, a flat-topped 3, an open 4, a crossed 7, a curved-tail 9), drawn
//!   half the time. A smooth elastic bend (one sine wave per axis, amplitude up to 0.06 of the
//!   digit) warps the strokes.
//! - **Scale**: the digit's height is `s * 22` pixels with `s` uniform in `[0.4, 1.0]`
//!   (about 9 to 22 pixels; MNIST's digits are about 20).
//! - **Affine jitter**: aspect (width / height) uniform in `[0.7, 1.2]`, rotation uniform in
//!   ±0.4 rad (±23°), shear uniform in ±0.4; the centre is moved from the frame's centre by up
//!   to `1 + 0.25 * (22 - height)` pixels per axis (the smaller, the farther it may go).
//! - **Strokes**: width uniform in `[0.8, 1.2 + 1.6 s]` pixels, peak ink uniform in
//!   `[0.55, 1.0]`, anti-aliased over one pixel.
//! - **Clutter and occlusion**: 0, 1 or 2 (equally likely) short stray strokes, 2-6 pixels
//!   long, ink 0.25-0.65, anywhere in the frame; with probability 0.3 an eraser band, 1-2
//!   pixels wide and 5-12 long, cuts through the digit near its centre.
//! - **Noise**: every pixel gets uniform noise of amplitude `a`, `a` uniform in `[0, 0.3]` per
//!   image; values are clamped to `[0, 1]` and rounded to bytes.
//!
//! [`SyntheticDigits::clean`] draws the same templates (first style only) at a fixed height of
//! about 20 pixels, centred within a pixel, with aspect in `[0.8, 1.1]`, rotation and shear
//! within ±0.15, a bend of at most 0.02, full ink, and no clutter, occlusion or noise: clean
//! digits for uses that vary them by other means (MNIST-scale's rescaling).
//!
//! Labels are balanced: every block of 10 consecutive items holds each digit once, in an order
//! shuffled per block.

use burn::data::dataset::{Dataset, DatasetError};

use crate::MnistItem;
use crate::idx::{PIXELS, SIDE};
use crate::rng::SplitMix64;

type Point = (f32, f32);
type Stroke = Vec<Point>;

/// Height in pixels of a digit at scale 1.
const FULL_HEIGHT: f32 = 22.0;

/// `(sin a, cos a)` from a Taylor series in `f64`: only basic arithmetic, so the same bits on
/// every platform (the math library's `sin` and `cos` may differ in the last bit). Accurate to
/// about 1e-9 for any `a` this module uses.
fn sin_cos(a: f32) -> (f32, f32) {
    use std::f64::consts::PI;
    let mut x = f64::from(a);
    while x > PI {
        x -= 2.0 * PI;
    }
    while x < -PI {
        x += 2.0 * PI;
    }
    let x2 = x * x;
    let (mut sin, mut cos) = (0.0, 0.0);
    let (mut term_sin, mut term_cos) = (x, 1.0);
    for k in 0..12 {
        sin += term_sin;
        cos += term_cos;
        let k = f64::from(k);
        term_sin *= -x2 / ((2.0 * k + 2.0) * (2.0 * k + 3.0));
        term_cos *= -x2 / ((2.0 * k + 1.0) * (2.0 * k + 2.0));
    }
    (sin as f32, cos as f32)
}

/// Points on an ellipse centred at `(cx, cy)` with radii `(rx, ry)`, from angle `a0` to `a1`
/// (radians, y down), as a polyline of `n` segments.
fn arc(cx: f32, cy: f32, rx: f32, ry: f32, a0: f32, a1: f32, n: usize) -> Stroke {
    (0..=n)
        .map(|i| {
            let (sin, cos) = sin_cos(a0 + (a1 - a0) * i as f32 / n as f32);
            (cx + rx * cos, cy + ry * sin)
        })
        .collect()
}

/// The strokes of `digit` in the unit square (x right, y down); `alt` picks the second style
/// of the digits that have one.
fn template(digit: u8, alt: bool) -> Vec<Stroke> {
    use std::f32::consts::PI;
    match (digit, alt) {
        (0, _) => vec![arc(0.5, 0.5, 0.3, 0.45, 0.0, 2.0 * PI, 20)],
        (1, false) => vec![vec![(0.35, 0.2), (0.55, 0.03), (0.55, 0.97)]],
        (1, true) => vec![vec![(0.52, 0.03), (0.48, 0.97)]],
        (2, _) => vec![{
            let mut s = arc(0.5, 0.28, 0.3, 0.24, PI, 2.1 * PI, 10);
            s.extend([(0.2, 0.95), (0.85, 0.95)]);
            s
        }],
        (3, false) => vec![
            arc(0.48, 0.27, 0.28, 0.23, -0.9 * PI, 0.5 * PI, 12),
            arc(0.48, 0.72, 0.32, 0.25, -0.5 * PI, 0.9 * PI, 12),
        ],
        (3, true) => vec![{
            let mut s = vec![(0.2, 0.05), (0.8, 0.05), (0.45, 0.42)];
            s.extend(arc(0.48, 0.68, 0.32, 0.28, -0.6 * PI, 0.9 * PI, 14));
            s
        }],
        (4, false) => vec![vec![(0.62, 0.97), (0.62, 0.03), (0.12, 0.66), (0.88, 0.66)]],
        (4, true) => vec![
            vec![(0.22, 0.03), (0.15, 0.6), (0.88, 0.6)],
            vec![(0.66, 0.25), (0.66, 0.97)],
        ],
        (5, _) => vec![{
            let mut s = vec![(0.8, 0.04), (0.28, 0.04), (0.24, 0.45)];
            s.extend(arc(0.5, 0.68, 0.3, 0.28, -0.75 * PI, 0.85 * PI, 12));
            s
        }],
        (6, _) => vec![
            vec![(0.72, 0.05), (0.45, 0.2), (0.27, 0.45), (0.21, 0.7)],
            arc(0.5, 0.7, 0.29, 0.26, PI, 3.0 * PI, 16),
        ],
        (7, false) => vec![vec![(0.14, 0.05), (0.86, 0.05), (0.42, 0.97)]],
        (7, true) => vec![
            vec![(0.14, 0.05), (0.86, 0.05), (0.42, 0.97)],
            vec![(0.38, 0.5), (0.82, 0.5)],
        ],
        (8, _) => vec![
            arc(0.5, 0.26, 0.24, 0.22, 0.0, 2.0 * PI, 16),
            arc(0.5, 0.72, 0.3, 0.25, 0.0, 2.0 * PI, 16),
        ],
        (_, false) => vec![
            arc(0.5, 0.3, 0.27, 0.25, 0.0, 2.0 * PI, 16),
            vec![(0.77, 0.3), (0.72, 0.97)],
        ],
        (_, true) => vec![
            arc(0.5, 0.3, 0.27, 0.25, 0.0, 2.0 * PI, 16),
            vec![(0.77, 0.3), (0.75, 0.68), (0.62, 0.9), (0.38, 0.97)],
        ],
    }
}

/// Uniform in `[lo, hi)`, as `f32`.
fn uniform(rng: &mut SplitMix64, lo: f32, hi: f32) -> f32 {
    rng.uniform(f64::from(lo), f64::from(hi)) as f32
}

/// Squared distance from `p` to the segment `a`-`b`.
fn segment_distance2(p: Point, (a, b): (Point, Point)) -> f32 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (qx, qy) = (a.0 + t * dx - p.0, a.1 + t * dy - p.1);
    qx * qx + qy * qy
}

/// Coverage (0 to 1) of pixel centre `p` by strokes of `width` along `segments`.
fn coverage(p: Point, segments: &[(Point, Point)], width: f32) -> f32 {
    let d2 = segments
        .iter()
        .map(|&segment| segment_distance2(p, segment))
        .fold(f32::INFINITY, f32::min);
    (width / 2.0 + 0.5 - d2.sqrt()).clamp(0.0, 1.0)
}

/// A straight segment of `length` pixels through `centre` at a random angle.
fn random_segment(rng: &mut SplitMix64, centre: Point, length: f32) -> (Point, Point) {
    let (sin, cos) = sin_cos(uniform(rng, 0.0, std::f32::consts::PI));
    let (hx, hy) = (cos * length / 2.0, sin * length / 2.0);
    (
        (centre.0 - hx, centre.1 - hy),
        (centre.0 + hx, centre.1 + hy),
    )
}

/// How much the digits vary (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    /// Scale-varied digits with jitter, clutter, occlusion and noise.
    Varied,
    /// Full-size, centred digits with mild jitter and no clutter or noise.
    Clean,
}

/// Draws `digit` with the randomness of `rng`: 28x28 gray bytes, ink bright on black.
fn render(digit: u8, rng: &mut SplitMix64, style: Style) -> Vec<u8> {
    let varied = style == Style::Varied;
    // The half-widths of the jitter ranges: wide for varied digits, mild for clean ones.
    let jitter = if varied { 0.4 } else { 0.15 };
    let strokes = template(digit, varied && rng.below(2) == 1);
    // Elastic bend: one sine wave per axis, in units of the digit.
    let amplitude = if varied { 0.06 } else { 0.02 };
    let bend: [f32; 6] = [
        uniform(rng, -amplitude, amplitude),
        uniform(rng, 1.0, 3.0),
        uniform(rng, 0.0, 6.3),
        uniform(rng, -amplitude, amplitude),
        uniform(rng, 1.0, 3.0),
        uniform(rng, 0.0, 6.3),
    ];
    let scale = if varied { uniform(rng, 0.4, 1.0) } else { 0.9 };
    let height = scale * FULL_HEIGHT;
    let aspect = if varied {
        uniform(rng, 0.7, 1.2)
    } else {
        uniform(rng, 0.8, 1.1)
    };
    let (sin, cos) = sin_cos(uniform(rng, -jitter, jitter));
    let shear = uniform(rng, -jitter, jitter);
    let reach = if varied {
        1.0 + 0.25 * (FULL_HEIGHT - height)
    } else {
        1.0
    };
    let centre = (
        14.0 + uniform(rng, -reach, reach),
        14.0 + uniform(rng, -reach, reach),
    );
    let width = uniform(rng, 0.8, 1.2 + 1.6 * scale);
    let peak = if varied { uniform(rng, 0.55, 1.0) } else { 1.0 };
    let map = |(x, y): Point| {
        let x = x + bend[0] * sin_cos(bend[1] * y + bend[2]).0;
        let y = y + bend[3] * sin_cos(bend[4] * x + bend[5]).0;
        let (u, v) = ((x - 0.5) * height * aspect, (y - 0.5) * height);
        let u = u + shear * v;
        (centre.0 + cos * u - sin * v, centre.1 + sin * u + cos * v)
    };
    let segments: Vec<(Point, Point)> = strokes
        .into_iter()
        .flat_map(|stroke| {
            let points: Vec<Point> = stroke.into_iter().map(map).collect();
            points.windows(2).map(|w| (w[0], w[1])).collect::<Vec<_>>()
        })
        .collect();

    let clutter: Vec<(Point, Point)> = (0..if varied { rng.below(3) } else { 0 })
        .map(|_| {
            let at = (uniform(rng, 1.0, 27.0), uniform(rng, 1.0, 27.0));
            let length = uniform(rng, 2.0, 6.0);
            random_segment(rng, at, length)
        })
        .collect();
    let clutter_width = uniform(rng, 0.8, 1.6);
    let clutter_ink = uniform(rng, 0.25, 0.65);
    let eraser = (varied && rng.below(10) < 3).then(|| {
        let at = (
            centre.0 + uniform(rng, -0.25, 0.25) * height,
            centre.1 + uniform(rng, -0.25, 0.25) * height,
        );
        let length = uniform(rng, 5.0, 12.0);
        (random_segment(rng, at, length), uniform(rng, 1.0, 2.0))
    });
    let noise = if varied { uniform(rng, 0.0, 0.3) } else { 0.0 };

    let mut image = vec![0u8; PIXELS];
    for (i, pixel) in image.iter_mut().enumerate() {
        let p = ((i % SIDE) as f32 + 0.5, (i / SIDE) as f32 + 0.5);
        let mut ink = peak * coverage(p, &segments, width);
        if let Some((segment, eraser_width)) = eraser {
            ink *= 1.0 - coverage(p, &[segment], eraser_width);
        }
        if !clutter.is_empty() {
            ink = ink.max(clutter_ink * coverage(p, &clutter, clutter_width));
        }
        let value = if varied {
            ink + noise * uniform(rng, -1.0, 1.0)
        } else {
            ink
        };
        *pixel = (value.clamp(0.0, 1.0) * 255.0).round() as u8;
    }
    image
}

/// Procedural digits: `len` items, classes balanced (each block of 10 items holds every digit
/// once, in a per-block shuffled order), deterministic by `seed`. See the
/// [module documentation](self) for the distribution of the images.
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
    style: Style,
}

impl SyntheticDigits {
    /// `len` scale-varied digits drawn with `seed`: the examples' stand-in for MNIST when it
    /// cannot be had, hard enough that the accuracy means something.
    pub fn new(len: usize, seed: u64) -> Self {
        Self {
            len,
            seed,
            style: Style::Varied,
        }
    }

    /// `len` clean digits drawn with `seed`: full size (about 20 pixels tall, like MNIST's),
    /// centred, mildly jittered, no clutter, occlusion or noise. A stand-in for MNIST where
    /// something else varies the digits, such as the rescaling of
    /// [`scale`](crate::scale).
    ///
    /// # Example
    /// ```
    /// use burn::data::dataset::Dataset;
    /// use multi_dilation_mnist::SyntheticDigits;
    ///
    /// let digit = SyntheticDigits::clean(10, 1).get(0).unwrap();
    /// let rows_with_ink = digit.image.chunks(28).filter(|row| row.iter().any(|&p| p > 100));
    /// assert!(rows_with_ink.count() >= 15);
    /// ```
    pub fn clean(len: usize, seed: u64) -> Self {
        Self {
            len,
            seed,
            style: Style::Clean,
        }
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
        let mut rng =
            SplitMix64::new(self.seed ^ (index as u64).wrapping_mul(0xD1B5_4A32_D192_ED03));
        // Balanced classes in a per-block shuffled order.
        let block = (index / 10) as u64;
        let mut order = [0u8, 1, 2, 3, 4, 5, 6, 7, 8, 9];
        SplitMix64::new(self.seed.wrapping_add(block).wrapping_mul(31)).shuffle(&mut order);
        let label = order[index % 10];
        Ok(MnistItem {
            image: render(label, &mut rng, self.style),
            label,
        })
    }

    fn len(&self) -> usize {
        self.len
    }
}
