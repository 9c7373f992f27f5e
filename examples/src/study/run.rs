//! The study's order of work: the sigma0 sweep, MNIST-scale with the choices made on its
//! validation split, the convergence check, then scale generalisation. Every trained model is
//! a record in the [`Store`]; what is stored already is read back, not trained again.

use std::path::Path;
use std::time::Instant;

use burn::tensor::Device;
use multi_dilation::HeadPool;
use multi_dilation_mnist::scale::generalisation_factors;

use super::StudyConfig;
use super::fit::{self, Budget, accuracy};
use super::models::{Arch, ModelSpec, SharedVariant, anti_aliased, first_models, shared};
use super::report;
use super::select::{self, Selections, ValidationScores};
use super::sets::{GeneralisationSets, MnistScaleSets, StudySets};
use super::store::{Experiment, RunRecord, Store};

type StudyResult<T> = Result<T, Box<dyn std::error::Error>>;

struct Runner<'a> {
    config: &'a StudyConfig,
    data: &'a dyn StudySets,
    device: &'a Device,
    store: Store,
    out: &'a Path,
    records: Vec<RunRecord>,
    selections: Selections,
    generalisation: Option<GeneralisationSets>,
    started: Instant,
}

/// Runs (or resumes) the study into `out`: one record per trained model under `out/runs`,
/// then `results.md`, `results.json` and the plots. Returns every record.
///
/// # Errors
/// On an invalid budget, a record in `out` made with other settings, or a failed write.
pub fn run(
    config: &StudyConfig,
    data: &dyn StudySets,
    out: &Path,
    device: &Device,
) -> StudyResult<(Vec<RunRecord>, Selections)> {
    config.validate()?;
    std::fs::create_dir_all(out)?;
    let mut runner = Runner {
        config,
        data,
        device,
        store: Store::new(out),
        out,
        records: Vec::new(),
        selections: Selections::default(),
        generalisation: None,
        started: Instant::now(),
    };
    runner.sweep()?;
    runner.mnist_scale()?;
    runner.long_budget()?;
    runner.generalisation()?;
    runner.long_generalisation_budget()?;
    runner.write(true)?;
    Ok((runner.records, runner.selections))
}

impl Runner<'_> {
    fn settings(&self, experiment: Experiment) -> String {
        let budget = |b: Budget| {
            format!(
                "{} epochs, batch {}, Adam at {} (cosine)",
                b.epochs, b.batch_size, b.learning_rate
            )
        };
        let sizes = &self.config.sizes;
        let data = self.data.fingerprint();
        match experiment {
            Experiment::MnistScale => format!(
                "{data}; MNIST-scale {:?}; {}",
                sizes.mnist_scale,
                budget(self.budget(experiment))
            ),
            Experiment::MnistScaleLong => format!(
                "{data}; MNIST-scale {:?}; {}",
                sizes.mnist_scale,
                budget(self.budget(experiment))
            ),
            Experiment::Generalisation | Experiment::GeneralisationLong => format!(
                "{data}; generalisation {:?} at scale {} on {}x{}, factors {:?}; {}",
                sizes.generalisation,
                sizes.train_scale,
                sizes.canvas,
                sizes.canvas,
                generalisation_factors(),
                budget(self.budget(experiment))
            ),
        }
    }

    fn budget(&self, experiment: Experiment) -> Budget {
        match experiment {
            Experiment::MnistScale => self.config.budget,
            Experiment::MnistScaleLong => self
                .config
                .long_budget
                .expect("the long-budget runs are made only with a long budget"),
            Experiment::Generalisation => self.config.generalisation_budget,
            Experiment::GeneralisationLong => self
                .config
                .long_generalisation_budget
                .expect("the long-budget runs are made only with a long budget"),
        }
    }

    /// The validation scores of `spec`'s stored runs in `experiment`.
    fn scores(&self, experiment: Experiment, spec: &ModelSpec) -> Vec<ValidationScores> {
        let key = spec.key();
        self.records
            .iter()
            .filter(|r| r.experiment == experiment && r.model == key)
            .map(ValidationScores::from)
            .collect()
    }

    /// The record of `spec` at `seed`: read back if stored, else trained, tested and stored.
    fn unit(
        &mut self,
        experiment: Experiment,
        spec: ModelSpec,
        seed: u64,
        mnist_scale: &mut Option<MnistScaleSets>,
    ) -> StudyResult<()> {
        let settings = self.settings(experiment);
        let key = spec.key();
        let done = |r: &RunRecord| r.experiment == experiment && r.model == key && r.seed == seed;
        if self.records.iter().any(done) {
            return Ok(());
        }
        if let Some(record) = self.store.load(experiment, &key, seed, &settings)? {
            println!("  {:<60} seed {seed}: stored", spec.label());
            self.records.push(record);
            return Ok(());
        }
        let record = match experiment {
            Experiment::MnistScale | Experiment::MnistScaleLong => {
                let budget = self.budget(experiment);
                let sets = mnist_scale
                    .get_or_insert_with(|| self.data.mnist_scale(seed, &self.config.sizes));
                let fitted = fit::train(&spec, &sets.train, &sets.valid, budget, seed, self.device);
                let test_error = 100.0 * (1.0 - accuracy(&fitted.model, &sets.test, self.device));
                let mut record = RunRecord::of(experiment, &spec, seed, settings, fitted);
                record.test_error = Some(test_error);
                record
            }
            Experiment::Generalisation | Experiment::GeneralisationLong => {
                let budget = self.budget(experiment);
                let (data, sizes) = (self.data, &self.config.sizes);
                let sets = self
                    .generalisation
                    .get_or_insert_with(|| data.generalisation(sizes, &generalisation_factors()));
                let at_training_scale = &sets.valid[0].1;
                let fitted = fit::train(
                    &spec,
                    &sets.train,
                    at_training_scale,
                    budget,
                    seed,
                    self.device,
                );
                let by_factor = |digits: &[(f64, Vec<_>)]| -> Vec<(f64, f64)> {
                    digits
                        .iter()
                        .map(|(f, d)| (*f, 100.0 * accuracy(&fitted.model, d, self.device)))
                        .collect()
                };
                let (validation_by_factor, test_by_factor) =
                    (by_factor(&sets.valid), by_factor(&sets.test));
                let mut record = RunRecord::of(experiment, &spec, seed, settings, fitted);
                record.validation_by_factor = validation_by_factor;
                record.test_by_factor = test_by_factor;
                record
            }
        };
        println!(
            "  {:<60} seed {seed}: {:>6} params, best epoch {:>2}/{}, validation error {:5.2}%, {} (trained in {:.0} s; {:.0} min so far)",
            record.label,
            record.parameters,
            record.best_epoch,
            record.validation_curve.len(),
            record.validation_error,
            report::test_summary(&record),
            record.train_seconds,
            self.started.elapsed().as_secs_f64() / 60.0
        );
        self.store.save(&record)?;
        self.records.push(record);
        self.write(false)?;
        Ok(())
    }

    /// The same models at every seed of `seeds` (MNIST-scale: realisation-major, so each
    /// realisation's digits are made once).
    fn units(
        &mut self,
        experiment: Experiment,
        specs: &[ModelSpec],
        seeds: &[u64],
    ) -> StudyResult<()> {
        for &seed in seeds {
            let mut sets = None;
            for &spec in specs {
                self.unit(experiment, spec, seed, &mut sets)?;
            }
        }
        Ok(())
    }

    /// sigma0 of the anti-aliased models, chosen on enlarged validation digits.
    fn sweep(&mut self) -> StudyResult<()> {
        println!(
            "== sigma0 of anti-aliasing: sweep {:?} on the scale-generalisation validation digits",
            self.config.sweep
        );
        let specs: Vec<ModelSpec> = self.config.sweep.iter().map(|&s| anti_aliased(s)).collect();
        self.units(
            Experiment::Generalisation,
            &specs,
            &self.config.sweep_seeds.clone(),
        )?;
        let candidates: Vec<(f64, Vec<ValidationScores>)> = specs
            .iter()
            .zip(&self.config.sweep)
            .map(|(spec, &s)| (s, self.scores(Experiment::Generalisation, spec)))
            .collect();
        let chosen = select::sigma0(&candidates);
        println!("sigma0 chosen on validation: {chosen}");
        self.selections.sigma0 = Some(chosen);
        Ok(())
    }

    fn mnist_scale(&mut self) -> StudyResult<()> {
        let sigma0 = self.selections.sigma0.expect("the sweep runs first");
        println!(
            "== MNIST-scale, realisations {:?}",
            self.config.realisations
        );
        let realisations = self.config.realisations.clone();
        self.units(Experiment::MnistScale, &first_models(sigma0), &realisations)?;
        let variants: Vec<(SharedVariant, Vec<ValidationScores>)> = SharedVariant::all(sigma0)
            .into_iter()
            .map(|v| {
                (
                    v,
                    self.scores(Experiment::MnistScale, &shared(v, HeadPool::GlobalMax)),
                )
            })
            .collect();
        let best = select::lowest_mean_error(&variants);
        println!(
            "best shared variant on validation: {}; the same with a flatten head",
            shared(best, HeadPool::GlobalMax).label()
        );
        self.units(
            Experiment::MnistScale,
            &[shared(best, HeadPool::Flatten)],
            &realisations,
        )?;
        let heads: Vec<(HeadPool, Vec<ValidationScores>)> =
            [HeadPool::GlobalMax, HeadPool::Flatten]
                .into_iter()
                .map(|h| (h, self.scores(Experiment::MnistScale, &shared(best, h))))
                .collect();
        let head = select::lowest_mean_error(&heads);
        self.selections.shared = Some(best);
        self.selections.head = Some(head);
        let twin = ModelSpec::new(Arch::Twin(best), head);
        println!(
            "selected on validation: {}; its independent twin",
            shared(best, head).label()
        );
        self.units(Experiment::MnistScale, &[twin], &realisations)
    }

    /// The CNN and the selected model again with the long budget on the first realisation.
    fn long_budget(&mut self) -> StudyResult<()> {
        let specs = self.selections.compared();
        let first = self.config.realisations.first().copied();
        let budget = self.config.long_budget;
        self.convergence_check(Experiment::MnistScaleLong, budget, first, &specs)
    }

    /// `specs` trained again in `experiment` on seed `first`, when there is a `budget` for it.
    fn convergence_check(
        &mut self,
        experiment: Experiment,
        budget: Option<Budget>,
        first: Option<u64>,
        specs: &[ModelSpec],
    ) -> StudyResult<()> {
        let (Some(_), Some(first)) = (budget, first) else {
            return Ok(());
        };
        println!("== convergence check of {}: seed {first}", experiment.key());
        self.units(experiment, specs, &[first])
    }

    fn generalisation(&mut self) -> StudyResult<()> {
        println!(
            "== scale generalisation, training seeds {:?}",
            self.config.seeds
        );
        let specs = self.selections.generalisation_models();
        let seeds = self.config.seeds.clone();
        self.units(Experiment::Generalisation, &specs, &seeds)
    }

    /// The CNN, the anti-aliased model, the selected model and its twin again with the long
    /// generalisation budget on the first seed.
    fn long_generalisation_budget(&mut self) -> StudyResult<()> {
        let specs = self.selections.generalisation_compared();
        let first = self.config.seeds.first().copied();
        let budget = self.config.long_generalisation_budget;
        self.convergence_check(Experiment::GeneralisationLong, budget, first, &specs)
    }

    fn write(&self, finished: bool) -> StudyResult<()> {
        let context = report::Context {
            config: self.config,
            source: self.data.source(),
            minutes: self.started.elapsed().as_secs_f64() / 60.0,
            device: format!("{:?}", self.device),
        };
        report::write(
            self.out,
            &self.records,
            &self.selections,
            &context,
            finished,
        )
    }
}
