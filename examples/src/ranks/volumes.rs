//! Volumes whose class is a solid: a ball, a cube or a cross of three bars, at a random position
//! near the centre, with soft (partial-volume) surfaces, over uniform noise. The size of a
//! sample is the solid's radius.

use multi_dilation_mnist::rng::SplitMix64;

use super::task::{Draws, Sample, Task};

/// The three classes, in label order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Solid {
    /// The points within `radius` of the centre (Euclidean): volume `4/3 pi r^3`.
    Ball,
    /// An axis-aligned cube of half side `0.8 radius`: volume `4.096 r^3`.
    Cube,
    /// Three axis-aligned bars through the centre, each of half length `radius` and half
    /// thickness `radius / 3`: volume `56/27 r^3`.
    Cross,
}

impl Solid {
    /// Every class, in label order.
    pub const ALL: [Solid; 3] = [Solid::Ball, Solid::Cube, Solid::Cross];

    /// The solid's gauge at offset `p` from its centre: the solid of radius `r` is
    /// `{p : gauge(p) <= r}`, and the gauge grows by `t` when `p` is scaled by `t`.
    pub fn gauge(self, p: [f64; 3]) -> f64 {
        let [x, y, z] = p.map(f64::abs);
        match self {
            Solid::Ball => (x * x + y * y + z * z).sqrt(),
            Solid::Cube => x.max(y).max(z) / 0.8,
            Solid::Cross => {
                let bar = |along: f64, a: f64, b: f64| along.max(3.0 * a).max(3.0 * b);
                bar(x, y, z).min(bar(y, x, z)).min(bar(z, x, y))
            }
        }
    }
}

/// One solid placed in a volume.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placed {
    /// The shape.
    pub solid: Solid,
    /// Its size (see [`Solid`]).
    pub radius: f64,
    /// Its centre, in voxel coordinates `[depth, height, width]`.
    pub centre: [f64; 3],
}

impl Placed {
    /// The volume `side`^3 (depth-major) without noise: 1 inside, 0 outside, and a linear
    /// ramp over one voxel across the surface.
    pub fn render(&self, side: usize) -> Vec<f32> {
        let mut values = Vec::with_capacity(side * side * side);
        for d in 0..side {
            for h in 0..side {
                for w in 0..side {
                    let p = [
                        d as f64 - self.centre[0],
                        h as f64 - self.centre[1],
                        w as f64 - self.centre[2],
                    ];
                    let inside = self.radius - self.solid.gauge(p) + 0.5;
                    values.push(inside.clamp(0.0, 1.0) as f32);
                }
            }
        }
        values
    }
}

/// The sizes of the volume task.
#[derive(Debug, Clone, PartialEq)]
pub struct VolumeSizes {
    /// Voxels per side.
    pub side: usize,
    /// The radius at size factor 1.
    pub base_radius: f64,
    /// The sets' sizes and size factors.
    pub draws: Draws,
    /// The noise is uniform in `[-noise, noise]`.
    pub noise: f64,
}

impl VolumeSizes {
    /// The example's default: 12^3 voxels, a radius of 2 voxels at factor 1, trained at
    /// factors 1 to 1.25, tested at 1 to 2 by quarters.
    pub fn standard() -> Self {
        Self {
            side: 12,
            base_radius: 2.0,
            draws: Draws {
                train_band: (1.0, 1.25),
                test_factors: vec![1.0, 1.25, 1.5, 1.75, 2.0],
                train: 600,
                valid: 200,
                test: 200,
            },
            noise: 0.1,
        }
    }
}

/// One volume of class `label` at size factor `factor`, drawn from `rng`.
pub fn volume(sizes: &VolumeSizes, label: usize, factor: f64, rng: &mut SplitMix64) -> Sample {
    let middle = (sizes.side as f64 - 1.0) / 2.0;
    let placed = Placed {
        solid: Solid::ALL[label],
        radius: sizes.base_radius * factor,
        centre: [(); 3].map(|_| middle + rng.uniform(-1.0, 1.0)),
    };
    let mut values = placed.render(sizes.side);
    for v in &mut values {
        *v += rng.uniform(-sizes.noise, sizes.noise) as f32;
    }
    Sample { values, label }
}

/// The volume task: classes balanced, every set from its own stream of `seed`.
///
/// # Example
/// ```
/// use multi_dilation_examples::ranks::volumes::{VolumeSizes, task};
///
/// let mut sizes = VolumeSizes::standard();
/// (sizes.draws.train, sizes.draws.valid, sizes.draws.test) = (6, 3, 3);
/// let task = task(&sizes, 0);
/// assert_eq!(task.extent, vec![12, 12, 12]);
/// assert_eq!(task.train[0].values.len(), 12 * 12 * 12);
/// ```
pub fn task(sizes: &VolumeSizes, seed: u64) -> Task {
    Task::generate(
        vec![sizes.side; 3],
        Solid::ALL.len(),
        &sizes.draws,
        seed,
        &|label, factor, rng| volume(sizes, label, factor, rng),
    )
}
