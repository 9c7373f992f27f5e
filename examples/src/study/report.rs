//! The study's results: a Markdown table and a JSON file.

use serde::Serialize;

use super::models::ModelKind;

/// What one model gave.
#[derive(Debug, Clone, Serialize)]
pub struct ModelResult {
    /// The model's label.
    pub model: String,
    /// Parameters of the convolution(s).
    pub conv_parameters: usize,
    /// Parameters of the whole model.
    pub parameters: usize,
    /// MNIST-scale test error (%), one per realisation.
    pub test_errors: Vec<f64>,
    /// MNIST-scale validation error (%), one per realisation.
    pub validation_errors: Vec<f64>,
    /// Training seconds, one per realisation.
    pub train_seconds: Vec<f64>,
    /// Scale-generalisation accuracy (%) per test factor.
    pub generalisation: Vec<(f64, f64)>,
}

impl ModelResult {
    /// An empty result for `kind`.
    pub fn new(kind: ModelKind) -> Self {
        Self {
            model: kind.label(),
            conv_parameters: 0,
            parameters: 0,
            test_errors: Vec::new(),
            validation_errors: Vec::new(),
            train_seconds: Vec::new(),
            generalisation: Vec::new(),
        }
    }
}

/// Mean and sample standard deviation (0 for fewer than two values).
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n.max(1.0);
    if values.len() < 2 {
        return (mean, 0.0);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

/// The Markdown table of `results`: test error mean ± std over realisations, parameters,
/// training time, and scale-generalisation accuracy at 1x, 2x and 3x the training scale.
pub fn markdown(results: &[ModelResult]) -> String {
    let realisations = results.first().map_or(0, |r| r.test_errors.len());
    let mut out = format!(
        "| model | conv params | params | MNIST-scale test error % (mean ± std, {realisations} realisation{}) | train time / realisation | scale-gen. acc. % at 1x / 2x / 3x |\n|---|---|---|---|---|---|\n",
        if realisations == 1 { "" } else { "s" }
    );
    for r in results {
        let (mean, std) = mean_std(&r.test_errors);
        let (seconds, _) = mean_std(&r.train_seconds);
        let at = |factor: f64| {
            r.generalisation
                .iter()
                .find(|(f, _)| (f - factor).abs() < 1e-9)
                .map_or("-".to_string(), |(_, acc)| format!("{acc:.1}"))
        };
        out.push_str(&format!(
            "| {} | {} | {} | {mean:.2} ± {std:.2} | {seconds:.0} s | {} / {} / {} |\n",
            r.model,
            r.conv_parameters,
            r.parameters,
            at(1.0),
            at(2.0),
            at(3.0)
        ));
    }
    out
}
