//! Every choice the study makes, in one place, and what each is made from: validation data
//! only. The functions here take [`ValidationScores`], which carry no test number, so no
//! choice can read the test sets.
//!
//! | choice | made on | rule |
//! |---|---|---|
//! | the checkpoint of every run | the validation error after each epoch | lowest, earliest on ties ([`BestCheckpoint`]) |
//! | sigma0 of the anti-aliased models | scale generalisation: validation digits enlarged 1.25x to 3x | highest mean accuracy over those factors and the sweep's seeds ([`sigma0`]) |
//! | the best shared variant (global-max head) | MNIST-scale validation split | lowest mean error over realisations ([`lowest_mean_error`]) |
//! | its head: global max or flatten | MNIST-scale validation split | lowest mean error over realisations ([`lowest_mean_error`]) |
//! | the twin | nothing: the independent-kernel twin of the selected model | |
//! | the models of the scale-generalisation test | nothing: fixed by [`Selections::generalisation_models`] | |

use multi_dilation::HeadPool;
use serde::Serialize;

use super::models::{Arch, ModelSpec, SharedVariant, anti_aliased, first_models, shared};
use super::store::RunRecord;

/// The choices, as they are made (`None` until then).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Selections {
    /// sigma0 of the anti-aliased models.
    pub sigma0: Option<f64>,
    /// The best shared variant.
    #[serde(skip)]
    pub shared: Option<SharedVariant>,
    /// Its head.
    #[serde(skip)]
    pub head: Option<HeadPool>,
}

impl Selections {
    /// The selected shared model.
    pub fn selected(&self) -> Option<ModelSpec> {
        Some(shared(self.shared?, self.head?))
    }

    /// The plain CNN with the selected model's head: the equal-parameter baseline.
    pub fn baseline(&self) -> Option<ModelSpec> {
        Some(ModelSpec::new(Arch::Cnn, self.head?))
    }

    /// The independent-kernel twin of the selected model.
    pub fn twin(&self) -> Option<ModelSpec> {
        Some(ModelSpec::new(Arch::Twin(self.shared?), self.head?))
    }

    /// Every model of the study once the choices are made: the first models, the best shared
    /// variant with a flatten head, and the twin of the selected model.
    pub fn all_models(&self) -> Vec<ModelSpec> {
        let mut models = self.sigma0.map(first_models).unwrap_or_default();
        if let (Some(best), Some(twin)) = (self.shared, self.twin()) {
            models.push(shared(best, HeadPool::Flatten));
            models.push(twin);
        }
        models
    }

    /// The models of the scale-generalisation test: the plain CNN with both heads, the CNN
    /// trained with scale augmentation, the anti-aliased shared model (the variant built for
    /// scale change), the selected shared model and its twin. The other shared variants and the
    /// one-layer model are compared on MNIST-scale only: five seeds of every model would not fit
    /// the study's three hours on 2 cores.
    pub fn generalisation_models(&self) -> Vec<ModelSpec> {
        let Some(sigma0) = self.sigma0 else {
            return Vec::new();
        };
        let models = [
            ModelSpec::new(Arch::Cnn, HeadPool::GlobalMax),
            ModelSpec::new(Arch::Cnn, HeadPool::Flatten),
            ModelSpec::new(Arch::CnnAugmented, HeadPool::GlobalMax),
            anti_aliased(sigma0),
        ];
        distinct(models.into_iter().chain(self.selected()).chain(self.twin()))
    }

    /// What the convergence check of scale generalisation trains again: the CNN of the selected
    /// model's head, the anti-aliased model, the selected model and its twin.
    pub fn generalisation_compared(&self) -> Vec<ModelSpec> {
        let models = self.baseline().into_iter();
        let models = models.chain(self.sigma0.map(anti_aliased));
        distinct(models.chain(self.selected()).chain(self.twin()))
    }

    /// The selected shared model and its baseline, which the convergence check trains again.
    pub fn compared(&self) -> Vec<ModelSpec> {
        self.baseline().into_iter().chain(self.selected()).collect()
    }
}

/// `specs` in order, each once (the selected model may also be one of a list's fixed models).
fn distinct(specs: impl Iterator<Item = ModelSpec>) -> Vec<ModelSpec> {
    let mut models = Vec::new();
    for spec in specs {
        if !models.contains(&spec) {
            models.push(spec);
        }
    }
    models
}

/// The validation numbers of one run: what a choice may see.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationScores {
    /// The realisation or training seed.
    pub seed: u64,
    /// Validation error (%) of the run's checkpoint.
    pub error: f64,
    /// Scale generalisation: validation accuracy (%) per factor.
    pub accuracy_by_factor: Vec<(f64, f64)>,
}

impl From<&RunRecord> for ValidationScores {
    fn from(record: &RunRecord) -> Self {
        Self {
            seed: record.seed,
            error: record.validation_error,
            accuracy_by_factor: record.validation_by_factor.clone(),
        }
    }
}

/// The checkpoint rule: the epoch with the lowest validation error, the earliest on ties.
///
/// # Example
/// ```
/// use multi_dilation_examples::study::select::BestCheckpoint;
///
/// let mut best = BestCheckpoint::new();
/// for (error, model) in [(5.0, "a"), (3.0, "b"), (3.0, "c"), (4.0, "d")] {
///     best.offer(error, model);
/// }
/// assert_eq!(best.take(), Some((2, "b")));
/// ```
pub struct BestCheckpoint<M> {
    best: Option<(usize, f64, M)>,
    epoch: usize,
}

impl<M> BestCheckpoint<M> {
    /// No checkpoint yet.
    pub fn new() -> Self {
        Self {
            best: None,
            epoch: 0,
        }
    }

    /// The next epoch's validation error and model; kept if the error is the lowest so far.
    pub fn offer(&mut self, error: f64, model: M) {
        self.epoch += 1;
        if self.best.as_ref().is_none_or(|(_, e, _)| error < *e) {
            self.best = Some((self.epoch, error, model));
        }
    }

    /// The kept epoch (from 1) and model.
    pub fn take(self) -> Option<(usize, M)> {
        self.best.map(|(epoch, _, model)| (epoch, model))
    }
}

impl<M> Default for BestCheckpoint<M> {
    fn default() -> Self {
        Self::new()
    }
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    sum / n.max(1) as f64
}

/// The mean over a run's validation accuracies at factors above 1 (the enlarged digits).
pub fn enlarged_accuracy(scores: &ValidationScores) -> f64 {
    mean(
        scores
            .accuracy_by_factor
            .iter()
            .filter(|(factor, _)| *factor > 1.0)
            .map(|(_, accuracy)| *accuracy),
    )
}

/// The sigma0 whose anti-aliased model has the highest mean validation accuracy on enlarged
/// digits ([`enlarged_accuracy`]) over its seeds; the smaller sigma0 on ties.
///
/// # Panics
/// With no candidate.
///
/// # Example
/// ```
/// use multi_dilation_examples::study::select::{ValidationScores, sigma0};
///
/// let run = |acc: f64| ValidationScores {
///     seed: 0,
///     error: 4.0,
///     accuracy_by_factor: vec![(1.0, 96.0), (2.0, acc), (3.0, acc)],
/// };
/// let sweep = vec![(0.25, vec![run(50.0)]), (0.5, vec![run(70.0)]), (1.0, vec![run(60.0)])];
/// assert_eq!(sigma0(&sweep), 0.5);
/// ```
pub fn sigma0(sweep: &[(f64, Vec<ValidationScores>)]) -> f64 {
    let score = |runs: &Vec<ValidationScores>| mean(runs.iter().map(enlarged_accuracy));
    sweep
        .iter()
        .fold(None::<(f64, f64)>, |best, (sigma0, runs)| {
            let s = score(runs);
            match best {
                Some((_, b)) if s <= b => best,
                _ => Some((*sigma0, s)),
            }
        })
        .expect("a sweep of at least one sigma0")
        .0
}

/// The candidate with the lowest mean validation error over its runs; the first on ties.
///
/// # Panics
/// With no candidate.
///
/// # Example
/// ```
/// use multi_dilation_examples::study::select::{ValidationScores, lowest_mean_error};
///
/// let run = |seed: u64, error: f64| ValidationScores { seed, error, accuracy_by_factor: vec![] };
/// let candidates = vec![
///     ("kept", vec![run(0, 3.5), run(1, 3.7)]),
///     ("one BN", vec![run(0, 3.4), run(1, 3.6)]),
/// ];
/// assert_eq!(lowest_mean_error(&candidates), "one BN");
/// ```
pub fn lowest_mean_error<T: Copy>(candidates: &[(T, Vec<ValidationScores>)]) -> T {
    candidates
        .iter()
        .fold(None::<(T, f64)>, |best, (candidate, runs)| {
            let e = mean(runs.iter().map(|r| r.error));
            match best {
                Some((_, b)) if e >= b => best,
                _ => Some((*candidate, e)),
            }
        })
        .expect("at least one candidate")
        .0
}
