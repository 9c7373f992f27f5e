//! The scale-robustness study, third edition: does sharing one kernel across dilations help
//! with digits of other sizes? The models of [`models`] on one skeleton and one budget, trained
//! on MNIST-scale realisations and on the scale-generalisation sets (trained small, tested up
//! to three times larger), every choice made on validation data ([`select`]), the checkpoint
//! with the lowest validation error tested, every result kept per seed.
//!
//! Order of work ([`run()`]): the sweep of sigma0 (the blur of the anti-aliased models) on
//! enlarged validation digits; MNIST-scale (the best shared variant, then its head, chosen on
//! the validation split, then the twin of the selected model); the convergence check (the
//! selected model and its CNN with twice the budget); scale generalisation at every training
//! seed.

pub mod fit;
pub mod models;
pub mod plots;
pub mod report;
pub mod run;
pub mod select;
pub mod sets;
pub mod store;
pub mod targets;

pub use run::run;
pub use sets::{StudyDigits, StudySets};

use fit::Budget;
use multi_dilation::ConfigError;
use multi_dilation_mnist::scale;
use sets::SetSizes;

/// What to run.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyConfig {
    /// MNIST-scale realisations (each also the training seed).
    pub realisations: Vec<u64>,
    /// Training seeds of the scale-generalisation models.
    pub seeds: Vec<u64>,
    /// Set sizes and scales.
    pub sizes: SetSizes,
    /// Budget on MNIST-scale.
    pub budget: Budget,
    /// The convergence check's budget on the first realisation, if any.
    pub long_budget: Option<Budget>,
    /// Budget on the scale-generalisation set.
    pub generalisation_budget: Budget,
    /// The scale-generalisation convergence check's budget on the first seed, if any.
    pub long_generalisation_budget: Option<Budget>,
    /// The values of sigma0 swept.
    pub sweep: Vec<f64>,
    /// The training seeds of the sweep.
    pub sweep_seeds: Vec<u64>,
}

impl StudyConfig {
    /// The full study: three realisations of MNIST-scale (10k/2k/50k) for 15 epochs, the
    /// convergence check at 30; scale generalisation with 10k training digits at scale 0.45 on
    /// a 40x40 canvas, 2k validation and 2k test digits per factor, 5 epochs, five training
    /// seeds, the convergence check at 15 on the first; sigma0 swept over 0.125, 0.25, 0.5,
    /// 0.75 and 1 with two seeds.
    pub fn full() -> Self {
        let budget = Budget {
            epochs: 15,
            batch_size: 64,
            learning_rate: 3e-3,
        };
        Self {
            realisations: (0..3).collect(),
            seeds: (0..5).collect(),
            sizes: SetSizes {
                mnist_scale: scale::SPLIT_SIZES,
                generalisation: [10_000, 2_000, 2_000],
                canvas: 40,
                train_scale: 0.45,
            },
            budget,
            long_budget: Some(Budget {
                epochs: 2 * budget.epochs,
                ..budget
            }),
            generalisation_budget: Budget {
                epochs: 5,
                ..budget
            },
            long_generalisation_budget: Some(Budget {
                epochs: 15,
                ..budget
            }),
            sweep: vec![0.125, 0.25, 0.5, 0.75, 1.0],
            sweep_seeds: vec![0, 1],
        }
    }

    /// `--quick`: one realisation with 3k training and 5k test digits, 2 epochs; smaller
    /// scale-generalisation sets, two seeds, the sweep on one (under 10 minutes on 2 cores).
    pub fn quick() -> Self {
        let budget = Budget {
            epochs: 2,
            ..Self::full().budget
        };
        Self {
            realisations: vec![0],
            seeds: vec![0, 1],
            sizes: SetSizes {
                mnist_scale: [3_000, 500, 5_000],
                generalisation: [3_000, 300, 500],
                ..Self::full().sizes
            },
            budget,
            long_budget: None,
            generalisation_budget: budget,
            long_generalisation_budget: None,
            sweep: Self::full().sweep,
            sweep_seeds: vec![0],
        }
    }

    /// A run of seconds for tests: tiny splits, one epoch (two in the convergence checks).
    pub fn tiny() -> Self {
        let budget = Budget {
            epochs: 1,
            batch_size: 32,
            learning_rate: 3e-3,
        };
        Self {
            realisations: vec![0, 1],
            seeds: vec![0, 1],
            sizes: SetSizes {
                mnist_scale: [300, 50, 300],
                generalisation: [200, 30, 30],
                canvas: 40,
                train_scale: 0.45,
            },
            budget,
            long_budget: Some(Budget {
                epochs: 2,
                ..budget
            }),
            generalisation_budget: budget,
            long_generalisation_budget: Some(Budget {
                epochs: 2,
                ..budget
            }),
            sweep: vec![0.5, 1.0],
            sweep_seeds: vec![0],
        }
    }

    /// Checks the budgets and that there is something to run; the error names the field.
    ///
    /// # Example
    /// ```
    /// use multi_dilation_examples::study::StudyConfig;
    ///
    /// let config = StudyConfig { seeds: vec![], ..StudyConfig::quick() };
    /// assert_eq!(config.validate().unwrap_err().field, "seeds");
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.budget.validate().map_err(|e| e.nested("budget"))?;
        if let Some(long) = &self.long_budget {
            long.validate().map_err(|e| e.nested("long_budget"))?;
        }
        if let Some(long) = &self.long_generalisation_budget {
            long.validate()
                .map_err(|e| e.nested("long_generalisation_budget"))?;
        }
        self.generalisation_budget
            .validate()
            .map_err(|e| e.nested("generalisation_budget"))?;
        let non_empty = |field: &str, len: usize| {
            if len == 0 {
                Err(ConfigError::new(field, &0, "must hold at least one value"))
            } else {
                Ok(())
            }
        };
        non_empty("realisations", self.realisations.len())?;
        non_empty("seeds", self.seeds.len())?;
        non_empty("sweep", self.sweep.len())?;
        non_empty("sweep_seeds", self.sweep_seeds.len())?;
        if let Some(bad) = self.sweep.iter().find(|s| !(**s > 0.0 && s.is_finite())) {
            return Err(ConfigError::new(
                "sweep",
                bad,
                "every sigma0 must be positive",
            ));
        }
        let [train, valid, test] = self.sizes.mnist_scale;
        let [g_train, g_valid, g_test] = self.sizes.generalisation;
        for (field, value) in [
            ("sizes.mnist_scale[0]", train),
            ("sizes.mnist_scale[1]", valid),
            ("sizes.mnist_scale[2]", test),
            ("sizes.generalisation[0]", g_train),
            ("sizes.generalisation[1]", g_valid),
            ("sizes.generalisation[2]", g_test),
        ] {
            if value == 0 {
                return Err(ConfigError::new(field, &value, "must be at least 1"));
            }
        }
        Ok(())
    }
}
