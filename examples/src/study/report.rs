//! The study's report: `results.md` (tables, the choices and what they were made on, the
//! targets met or missed), `results.json` (every record, every seed's curve) and the plots,
//! from whatever records exist so far.

use std::path::Path;

use serde::Serialize;

use super::StudyConfig;
use super::models::{ModelSpec, anti_aliased};
use super::plots;
use super::select::{Selections, enlarged_accuracy};
use super::store::{Experiment, RunRecord, write_atomic};

/// What the report says about the run besides its records.
pub struct Context<'a> {
    /// The configuration.
    pub config: &'a StudyConfig,
    /// Where the digits come from.
    pub source: String,
    /// Minutes since this invocation started (a resumed study's earlier invocations not counted).
    pub minutes: f64,
    /// The device, as `Debug` prints it.
    pub device: String,
}

/// Mean and sample standard deviation (0 for fewer than two values).
///
/// # Example
/// ```
/// use multi_dilation_examples::study::report::mean_std;
/// assert_eq!(mean_std(&[1.0, 3.0]), (2.0, 2f64.sqrt()));
/// ```
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n.max(1.0);
    if values.len() < 2 {
        return (mean, 0.0);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

/// The runs of one model in one experiment, in seed order.
pub struct Group<'a> {
    /// The model's label.
    pub label: String,
    /// Its runs.
    pub runs: Vec<&'a RunRecord>,
}

impl Group<'_> {
    /// The stored runs of `spec` in `experiment`.
    pub fn of<'a>(records: &'a [RunRecord], experiment: Experiment, spec: &ModelSpec) -> Group<'a> {
        let key = spec.key();
        let mut runs: Vec<&RunRecord> = records
            .iter()
            .filter(|r| r.experiment == experiment && r.model == key)
            .collect();
        runs.sort_by_key(|r| r.seed);
        Group {
            label: spec.label(),
            runs,
        }
    }

    /// MNIST-scale test errors, one per realisation.
    pub fn test_errors(&self) -> Vec<f64> {
        self.runs.iter().filter_map(|r| r.test_error).collect()
    }

    /// Accuracy (%) at `factor`, one per seed.
    pub fn accuracy_at(&self, factor: f64) -> Vec<f64> {
        self.runs
            .iter()
            .filter_map(|r| at(&r.test_by_factor, factor))
            .collect()
    }

    fn params(&self) -> (usize, usize) {
        self.runs
            .first()
            .map_or((0, 0), |r| (r.conv_parameters, r.parameters))
    }
}

fn at(points: &[(f64, f64)], factor: f64) -> Option<f64> {
    points
        .iter()
        .find(|(f, _)| (f - factor).abs() < 1e-9)
        .map(|(_, v)| *v)
}

fn pm(values: &[f64]) -> String {
    let (m, s) = mean_std(values);
    format!("{m:.2} ± {s:.2}")
}

/// The test result of one record in a few words, for progress lines.
pub fn test_summary(record: &RunRecord) -> String {
    match record.test_error {
        Some(error) => format!("test error {error:5.2}%"),
        None => {
            let acc = |f: f64| at(&record.test_by_factor, f).unwrap_or(f64::NAN);
            format!(
                "test accuracy 1x/2x/3x {:.1}/{:.1}/{:.1}%",
                acc(1.0),
                acc(2.0),
                acc(3.0)
            )
        }
    }
}

#[derive(Serialize)]
struct Json<'a> {
    settings: Vec<String>,
    sigma0: Option<f64>,
    selected_model: Option<String>,
    baseline: Option<String>,
    twin: Option<String>,
    records: &'a [RunRecord],
}

/// Writes `results.md`, `results.json` and the plots into `out`.
///
/// # Errors
/// On a failed write or plot.
pub fn write(
    out: &Path,
    records: &[RunRecord],
    selections: &Selections,
    context: &Context<'_>,
    finished: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let json = Json {
        settings: records
            .iter()
            .map(|r| r.settings.clone())
            .fold(Vec::new(), |mut v, s| {
                if !v.contains(&s) {
                    v.push(s);
                }
                v
            }),
        sigma0: selections.sigma0,
        selected_model: selections.selected().map(|s| s.label()),
        baseline: selections.baseline().map(|s| s.label()),
        twin: selections.twin().map(|s| s.label()),
        records,
    };
    write_atomic(
        &out.join("results.json"),
        serde_json::to_string_pretty(&json)?.as_bytes(),
    )?;
    let text = markdown(records, selections, context, finished);
    write_atomic(&out.join("results.md"), text.as_bytes())?;
    if finished {
        plots::write(out, records, selections)?;
    }
    Ok(())
}

/// The whole Markdown report.
pub fn markdown(
    records: &[RunRecord],
    selections: &Selections,
    context: &Context<'_>,
    finished: bool,
) -> String {
    let config = context.config;
    let mut md = String::new();
    if !finished {
        md.push_str("**Partial: the run is still going.**\n\n");
    }
    md.push_str(&sweep_table(records, config));
    md.push_str(&mnist_scale_tables(records, selections));
    md.push_str(&long_budget_table(records, selections));
    md.push_str(&long_generalisation_table(records, selections));
    md.push_str(&generalisation_table(records, selections));
    md.push_str(&super::targets::markdown(records, selections));
    md.push_str(&format!(
        "\nData: {}. MNIST-scale: realisations {:?}, splits {:?}, {} epochs (convergence check: {}), batch {}, Adam at {} on a cosine to 0, the checkpoint with the lowest validation error tested. Scale generalisation: {:?} digits (train, validation and test per factor) at scale {} on {}x{}, {} epochs, training seeds {:?}; sigma0 swept over {:?} with seeds {:?}. Training time of the {} records: {:.1} min in all (each run's own time: a resumed study adds the runs of earlier invocations); this invocation: {:.1} min on {}.\n",
        context.source,
        config.realisations,
        config.sizes.mnist_scale,
        config.budget.epochs,
        config
            .long_budget
            .map_or("none".into(), |b| format!("{} epochs", b.epochs)),
        config.budget.batch_size,
        config.budget.learning_rate,
        config.sizes.generalisation,
        config.sizes.train_scale,
        config.sizes.canvas,
        config.sizes.canvas,
        config.generalisation_budget.epochs,
        config.seeds,
        config.sweep,
        config.sweep_seeds,
        records.len(),
        records.iter().map(|r| r.train_seconds).sum::<f64>() / 60.0,
        context.minutes,
        context.device
    ));
    md
}

fn sweep_table(records: &[RunRecord], config: &StudyConfig) -> String {
    let mut md = String::from(
        "## sigma0 of the anti-aliased models (chosen on validation)\n\n| sigma0 | seeds | validation accuracy % on enlarged digits (1.25x to 3x, mean over factors) | at 3x |\n|---|---|---|---|\n",
    );
    for &sigma0 in &config.sweep {
        let group = Group::of(records, Experiment::Generalisation, &anti_aliased(sigma0));
        let runs: Vec<&RunRecord> = group
            .runs
            .into_iter()
            .filter(|r| config.sweep_seeds.contains(&r.seed))
            .collect();
        let enlarged: Vec<f64> = runs
            .iter()
            .map(|r| enlarged_accuracy(&(*r).into()))
            .collect();
        let at3: Vec<f64> = runs
            .iter()
            .filter_map(|r| at(&r.validation_by_factor, 3.0))
            .collect();
        md.push_str(&format!(
            "| {sigma0} | {} | {} | {} |\n",
            runs.len(),
            pm(&enlarged),
            pm(&at3)
        ));
    }
    md
}

fn mnist_scale_tables(records: &[RunRecord], selections: &Selections) -> String {
    let mut md = String::from(
        "\n## MNIST-scale\n\n| model | conv params | params | test error % | validation error % | best epoch | train time |\n|---|---|---|---|---|---|---|\n",
    );
    let mut per_seed = String::from(
        "\n| model | test error % per realisation | CNN (same head) minus model | better than that CNN in |\n|---|---|---|---|\n",
    );
    for spec in selections.all_models() {
        let group = Group::of(records, Experiment::MnistScale, &spec);
        if group.runs.is_empty() {
            continue;
        }
        let (conv, params) = group.params();
        let valid: Vec<f64> = group.runs.iter().map(|r| r.validation_error).collect();
        let epochs: Vec<String> = group
            .runs
            .iter()
            .map(|r| format!("{}", r.best_epoch))
            .collect();
        let seconds: Vec<f64> = group.runs.iter().map(|r| r.train_seconds).collect();
        md.push_str(&format!(
            "| {} | {conv} | {params} | {} | {} | {} of {} | {:.0} s |\n",
            group.label,
            pm(&group.test_errors()),
            pm(&valid),
            epochs.join(", "),
            group.runs[0].validation_curve.len(),
            mean_std(&seconds).0
        ));
        let errors = group.test_errors();
        let listed: Vec<String> = errors.iter().map(|e| format!("{e:.2}")).collect();
        let baseline = Group::of(
            records,
            Experiment::MnistScale,
            &ModelSpec::new(super::models::Arch::Cnn, spec.head),
        );
        let (diff, wins) = paired(&baseline.test_errors(), &errors);
        per_seed.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            group.label,
            listed.join(" "),
            diff.map_or(String::new(), |d| pm(&d)),
            wins.map_or(String::new(), |(w, n)| format!("{w} of {n}"))
        ));
    }
    md + &per_seed
}

/// Paired differences `baseline - model` per seed and how many are positive, when both have
/// the same number of runs.
pub fn paired(baseline: &[f64], model: &[f64]) -> (Option<Vec<f64>>, Option<(usize, usize)>) {
    if baseline.len() != model.len() || model.is_empty() || baseline == model {
        return (None, None);
    }
    let diff: Vec<f64> = baseline.iter().zip(model).map(|(b, m)| b - m).collect();
    let wins = diff.iter().filter(|d| **d > 0.0).count();
    let n = diff.len();
    (Some(diff), Some((wins, n)))
}

/// A convergence check as a table: for each of `specs` with a run in `check`, its run at the
/// same seed in `study` and the `check` one, one row each; `head` is the title, what the seed is
/// called and the columns after the model, epochs, best epoch and validation error; `cells`
/// the values of those.
fn check_table(
    records: &[RunRecord],
    [study, check]: [Experiment; 2],
    specs: Vec<ModelSpec>,
    head: [&str; 3],
    cells: impl Fn(&RunRecord) -> String,
) -> String {
    let mut md = String::new();
    for spec in specs {
        let long = Group::of(records, check, &spec);
        let Some(l) = long.runs.first() else { continue };
        let short = Group::of(records, study, &spec);
        let Some(s) = short.runs.iter().find(|r| r.seed == l.seed) else {
            continue;
        };
        if md.is_empty() {
            let [title, seed, columns] = head;
            let rule = "---|".repeat(5 + columns.matches('|').count());
            md.push_str(&format!(
                "\n## {title} ({seed} {})\n\n| model | epochs | best epoch | validation error % | {columns} |\n|{rule}\n",
                l.seed
            ));
        }
        for r in [s, l] {
            md.push_str(&format!(
                "| {} | {} | {} | {:.2} | {} |\n",
                long.label,
                r.validation_curve.len(),
                r.best_epoch,
                r.validation_error,
                cells(r)
            ));
        }
    }
    md
}

/// The CNN and the selected model on the first realisation with the study's budget and twice
/// it: the tested checkpoint and its test error.
fn long_budget_table(records: &[RunRecord], selections: &Selections) -> String {
    check_table(
        records,
        [Experiment::MnistScale, Experiment::MnistScaleLong],
        selections.compared(),
        ["Convergence check", "realisation", "test error %"],
        |r| format!("{:.2}", r.test_error.unwrap_or(f64::NAN)),
    )
}

/// The models of the scale-generalisation convergence check on the first seed with the study's
/// budget and three times it: the tested checkpoint (validation at the training size) and its
/// test accuracy at 1x, 2x and 3x.
fn long_generalisation_table(records: &[RunRecord], selections: &Selections) -> String {
    let at = |r: &RunRecord, factor: f64| at(&r.test_by_factor, factor).unwrap_or(f64::NAN);
    check_table(
        records,
        [Experiment::Generalisation, Experiment::GeneralisationLong],
        selections.generalisation_compared(),
        [
            "Convergence check of scale generalisation",
            "seed",
            "1x | 2x | 3x",
        ],
        |r| format!("{:.1} | {:.1} | {:.1}", at(r, 1.0), at(r, 2.0), at(r, 3.0)),
    )
}

fn generalisation_table(records: &[RunRecord], selections: &Selections) -> String {
    let factors = multi_dilation_mnist::scale::generalisation_factors();
    let mut md = String::from(
        "\n## Scale generalisation: test accuracy % (mean ± sd over seeds)\n\n| model | params | seeds |",
    );
    for f in &factors {
        md.push_str(&format!(" {f}x |"));
    }
    md.push_str(&format!(
        "\n|---|---|---|{}\n",
        "---|".repeat(factors.len())
    ));
    for spec in selections.all_models() {
        let group = Group::of(records, Experiment::Generalisation, &spec);
        if group.runs.is_empty() {
            continue;
        }
        md.push_str(&format!(
            "| {} | {} | {} |",
            group.label,
            group.params().1,
            group.runs.len()
        ));
        for &f in &factors {
            let (m, s) = mean_std(&group.accuracy_at(f));
            md.push_str(&format!(" {m:.1} ± {s:.1} |"));
        }
        md.push('\n');
    }
    md
}
