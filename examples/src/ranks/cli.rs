//! The command line the two scale examples share.

use clap::Parser;

use crate::study::fit::Budget;

/// Options of `signal_scales` and `volume_scales`.
#[derive(Parser, Debug, Clone)]
pub struct RankArgs {
    /// A run of about a minute with smaller sets, fewer epochs and two seeds.
    #[arg(long)]
    pub quick: bool,
    /// Training seeds 0, 1, ... (defaults: 5, or 2 with --quick).
    #[arg(long)]
    pub seeds: Option<u64>,
    /// Passes over the training set (defaults to the example's budget).
    #[arg(long)]
    pub epochs: Option<usize>,
}

impl RankArgs {
    /// The seeds to train with.
    pub fn seeds(&self) -> Vec<u64> {
        let n = self.seeds.unwrap_or(if self.quick { 2 } else { 5 });
        (0..n).collect()
    }

    /// `budget` with the epochs asked for, checked: an invalid value is an error naming the
    /// field, printed by the example before anything trains.
    ///
    /// # Errors
    /// When [`Budget::validate`] rejects the result.
    pub fn budget(&self, budget: Budget) -> Result<Budget, multi_dilation::ConfigError> {
        let budget = Budget {
            epochs: self.epochs.unwrap_or(budget.epochs),
            ..budget
        };
        budget.validate()?;
        Ok(budget)
    }
}
