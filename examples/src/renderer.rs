//! Plain progress for logs and pipes: one line per split of each epoch, instead of burn's TUI
//! (used when stdout is a terminal) or its per-batch CLI lines.

use std::collections::HashMap;
use std::time::Instant;

use burn::train::logger::{EvaluationProgressLogger, TrainingProgressLogger};
use burn::train::metric::{MetricDefinition, MetricId, NumericEntry};
use burn::train::renderer::{
    EvaluationName, MetricState, MetricsRenderer, MetricsRendererEvaluation,
    MetricsRendererTraining,
};

/// Prints `epoch 2/5 train: Accuracy 97.81, Loss 0.0712 (55000 items, 812 img/s)` at the end
/// of every split.
#[derive(Default)]
pub struct EpochLines {
    names: HashMap<MetricId, String>,
    sums: Vec<(String, f64, f64)>,
    epoch: usize,
    epochs: usize,
    split: String,
    items: usize,
    started: Option<Instant>,
}

impl EpochLines {
    /// A renderer with nothing recorded yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn record(&mut self, state: MetricState) {
        let MetricState::Numeric(entry, Some(value)) = state else {
            return;
        };
        let name = self
            .names
            .get(&entry.metric_id)
            .cloned()
            .unwrap_or_else(|| format!("{:?}", entry.metric_id));
        let (value, weight, is_final) = match value {
            NumericEntry::Value(v) => (v, 1.0, false),
            NumericEntry::Aggregated {
                aggregated_value,
                count,
            } => (aggregated_value, count as f64, false),
            NumericEntry::Final(v) => (v, 1.0, true),
        };
        match self.sums.iter_mut().find(|(n, _, _)| *n == name) {
            Some(slot) if is_final => *slot = (name, value, 1.0),
            Some(slot) => {
                slot.1 += value * weight;
                slot.2 += weight;
            }
            None => self.sums.push((name, value * weight, weight)),
        }
    }
}

impl MetricsRendererTraining for EpochLines {
    fn update_train(&mut self, state: MetricState) {
        self.record(state);
    }

    fn update_valid(&mut self, state: MetricState) {
        self.record(state);
    }
}

impl MetricsRendererEvaluation for EpochLines {
    fn update_test(&mut self, _name: EvaluationName, state: MetricState) {
        self.record(state);
    }
}

impl TrainingProgressLogger for EpochLines {
    fn start(
        &mut self,
        total_epochs: usize,
        starting_epoch: usize,
        _total_items: Option<usize>,
        _label: Option<&str>,
    ) {
        // burn 0.22.1 passes the 1-based epoch training starts at: 1 for a fresh run,
        // checkpoint + 1 when resuming. Not a user's value: the `max` only keeps a caller
        // that counts from 0 from printing an epoch 0.
        self.epochs = total_epochs;
        self.epoch = starting_epoch.max(1);
        if starting_epoch > 1 {
            println!("resuming at epoch {}/{total_epochs}", self.epoch);
        }
    }

    fn update_epoch(&mut self, epoch: usize) {
        // burn passes the number of epochs completed, as its own CLI renderer reads it.
        self.epoch = epoch + 1;
    }

    fn start_split(&mut self, split: &str, total_items: usize) {
        self.split = split.to_string();
        self.items = total_items;
        self.sums.clear();
        self.started = Some(Instant::now());
    }

    fn update_split(&mut self, _items_processed: usize) {}

    fn end_split(&mut self) {
        let seconds = self.started.map_or(0.0, |t| t.elapsed().as_secs_f64());
        let metrics: Vec<String> = self
            .sums
            .iter()
            .map(|(name, sum, weight)| format!("{name} {:.4}", sum / weight.max(f64::MIN_POSITIVE)))
            .collect();
        println!(
            "epoch {}/{} {}: {} ({} items, {:.0} img/s, {:.1} s)",
            self.epoch,
            self.epochs,
            self.split,
            metrics.join(", "),
            self.items,
            self.items as f64 / seconds.max(1e-9),
            seconds
        );
    }

    fn end(&mut self) {}

    fn log_event_training(&mut self, _event: String) {
        // burn reports every iteration here; the epoch lines say enough.
    }
}

impl EvaluationProgressLogger for EpochLines {
    fn start_global_progress(&mut self, _total_tests: usize) {}

    fn start_test(&mut self, name: &str, total_items: usize) {
        self.start_split(name, total_items);
    }

    fn update_test_progress(&mut self, _items_processed: usize) {}

    fn end_test(&mut self) {
        self.end_split();
    }

    fn end_global_progress(&mut self) {}

    fn log_event_evaluation(&mut self, _event: String) {}
}

impl MetricsRenderer for EpochLines {
    fn manual_close(&mut self) {}

    fn register_metric(&mut self, definition: MetricDefinition) {
        self.names
            .insert(definition.metric_id, definition.name.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_are_numbered_from_one_and_from_the_checkpoint_on_resume() {
        let mut lines = EpochLines::new();
        lines.start(6, 1, None, None);
        assert_eq!(lines.epoch, 1, "a fresh run starts at epoch 1");
        lines.update_epoch(1);
        assert_eq!(lines.epoch, 2, "after epoch 1 ends");
        let mut resumed = EpochLines::new();
        resumed.start(6, 3, None, None);
        assert_eq!(resumed.epoch, 3, "resuming from the epoch-2 checkpoint");
    }
}
