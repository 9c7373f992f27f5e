//! Signals whose class is the shape of a wave: a burst of a few cycles of a sine, a triangle,
//! a square or a sawtooth wave, at a random position, amplitude and phase, over uniform noise.
//! The size of a sample is the period of its wave. Locally (a few samples) the smooth waves
//! look alike at long periods: telling a sine from a triangle there takes a view as wide as a
//! good part of a cycle.

use multi_dilation_mnist::rng::SplitMix64;

use super::task::{Draws, Sample, Task};

/// The four classes, in label order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wave {
    /// `sin(2 pi u)`.
    Sine,
    /// A triangle from -1 (at phase 0) to 1 (at phase 1/2) and back.
    Triangle,
    /// 1 for the first half of a cycle, -1 for the second.
    Square,
    /// A ramp from -1 to 1 over each cycle.
    Sawtooth,
}

impl Wave {
    /// Every class, in label order.
    pub const ALL: [Wave; 4] = [Wave::Sine, Wave::Triangle, Wave::Square, Wave::Sawtooth];

    /// The wave's value at phase `u` (in cycles; any real number).
    pub fn at(self, u: f64) -> f64 {
        let u = u.rem_euclid(1.0);
        match self {
            Wave::Sine => (std::f64::consts::TAU * u).sin(),
            Wave::Triangle => 1.0 - 4.0 * (u - 0.5).abs(),
            Wave::Square => {
                if u < 0.5 {
                    1.0
                } else {
                    -1.0
                }
            }
            Wave::Sawtooth => 2.0 * u - 1.0,
        }
    }
}

/// One burst: `cycles` periods of `wave` from sample `start`, zero elsewhere.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Burst {
    /// The shape.
    pub wave: Wave,
    /// Samples per cycle.
    pub period: f64,
    /// Where the burst begins (in samples).
    pub start: f64,
    /// How many cycles it lasts.
    pub cycles: f64,
    /// Its peak value.
    pub amplitude: f64,
    /// The phase (in cycles) at `start`.
    pub phase: f64,
}

impl Burst {
    /// The burst sampled at `0..length`, without noise.
    pub fn render(&self, length: usize) -> Vec<f32> {
        let end = self.start + self.cycles * self.period;
        (0..length)
            .map(|t| {
                let t = t as f64;
                if t < self.start || t >= end {
                    return 0.0;
                }
                let u = (t - self.start) / self.period + self.phase;
                (self.amplitude * self.wave.at(u)) as f32
            })
            .collect()
    }
}

/// The sizes of the signal task.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalSizes {
    /// Samples per signal.
    pub length: usize,
    /// The period at size factor 1.
    pub base_period: f64,
    /// Cycles per burst.
    pub cycles: f64,
    /// The sets' sizes and size factors.
    pub draws: Draws,
    /// The noise is uniform in `[-noise, noise]`.
    pub noise: f64,
}

impl SignalSizes {
    /// The example's default: 256 samples, a period of 6 samples at factor 1, trained at
    /// factors 1 to 1.5, tested at 1 to 3 by halves.
    pub fn standard() -> Self {
        Self {
            length: 256,
            base_period: 6.0,
            cycles: 3.0,
            draws: Draws {
                train_band: (1.0, 1.5),
                test_factors: vec![1.0, 1.5, 2.0, 2.5, 3.0],
                train: 4_000,
                valid: 1_000,
                test: 1_000,
            },
            noise: 0.1,
        }
    }
}

/// One signal of class `label` at size factor `factor`, drawn from `rng`.
pub fn signal(sizes: &SignalSizes, label: usize, factor: f64, rng: &mut SplitMix64) -> Sample {
    let period = sizes.base_period * factor;
    let span = sizes.cycles * period;
    let burst = Burst {
        wave: Wave::ALL[label],
        period,
        start: rng
            .uniform(0.0, (sizes.length as f64 - span).max(0.0))
            .floor(),
        cycles: sizes.cycles,
        amplitude: rng.uniform(0.6, 1.2),
        phase: rng.uniform(0.0, 1.0),
    };
    let mut values = burst.render(sizes.length);
    for v in &mut values {
        *v += rng.uniform(-sizes.noise, sizes.noise) as f32;
    }
    Sample { values, label }
}

/// The signal task: classes balanced, every set from its own stream of `seed`.
///
/// # Example
/// ```
/// use multi_dilation_examples::ranks::signals::{SignalSizes, task};
///
/// let mut sizes = SignalSizes::standard();
/// (sizes.draws.train, sizes.draws.valid, sizes.draws.test) = (8, 4, 4);
/// let task = task(&sizes, 0);
/// assert_eq!(task.extent, vec![256]);
/// assert_eq!(task.tests.len(), 5);
/// ```
pub fn task(sizes: &SignalSizes, seed: u64) -> Task {
    Task::generate(
        vec![sizes.length],
        Wave::ALL.len(),
        &sizes.draws,
        seed,
        &|label, factor, rng| signal(sizes, label, factor, rng),
    )
}
