//! The study's targets, checked on its records: the validation-selected shared model against
//! the plain CNN of equal parameters and the same head, and against its independent twin.

use super::models::ModelSpec;
use super::report::{Group, mean_std, paired};
use super::select::Selections;
use super::store::{Experiment, RunRecord};

/// One target: what it asks, the numbers, and whether they meet it.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// What the target asks.
    pub name: &'static str,
    /// The numbers it was judged on.
    pub numbers: String,
    /// Whether they meet it.
    pub met: bool,
}

fn groups<'a>(
    records: &'a [RunRecord],
    experiment: Experiment,
    specs: [Option<ModelSpec>; 2],
) -> Option<[Group<'a>; 2]> {
    let [a, b] = specs;
    let (a, b) = (
        Group::of(records, experiment, &a?),
        Group::of(records, experiment, &b?),
    );
    (!a.runs.is_empty() && !b.runs.is_empty()).then_some([a, b])
}

/// The targets whose models have been run.
pub fn evaluate(records: &[RunRecord], selections: &Selections) -> Vec<Target> {
    let mut targets = Vec::new();
    let mnist = Experiment::MnistScale;
    if let Some([model, cnn]) = groups(
        records,
        mnist,
        [selections.selected(), selections.baseline()],
    ) {
        let (m, _) = mean_std(&model.test_errors());
        let (c, c_sd) = mean_std(&cnn.test_errors());
        let (_, wins) = paired(&cnn.test_errors(), &model.test_errors());
        let (w, n) = wins.unwrap_or((0, 0));
        // One realisation has no spread: the gap in standard deviations is then undefined.
        let gap = (c_sd > 0.0).then(|| (c - m) / c_sd);
        targets.push(Target {
            name: "MNIST-scale: beats the equal-parameter CNN with the same head by at least 2 of the CNN's standard deviations, in every realisation",
            numbers: format!(
                "{m:.2}% against {c:.2} ± {c_sd:.2}%: {:.2} points, {}; better in {w} of {n}",
                c - m,
                gap.map_or("no spread to compare with".into(), |g| format!(
                    "{g:.1} CNN standard deviations"
                ))
            ),
            met: gap.is_some_and(|g| g >= 2.0) && w == n && n > 0,
        });
    }
    if let Some([model, twin]) = groups(records, mnist, [selections.selected(), selections.twin()])
    {
        let (m, _) = mean_std(&model.test_errors());
        let (t, t_sd) = mean_std(&twin.test_errors());
        let conv = |g: &Group<'_>| g.runs[0].conv_parameters;
        targets.push(Target {
            name: "MNIST-scale: within one standard deviation of its independent twin (or better), with a third of its conv parameters",
            numbers: format!(
                "{m:.2}% against the twin's {t:.2} ± {t_sd:.2}%; conv parameters {} against {}",
                conv(&model),
                conv(&twin)
            ),
            met: m <= t + t_sd && 3 * conv(&model) == conv(&twin),
        });
    }
    let general = Experiment::Generalisation;
    if let Some([model, cnn]) = groups(
        records,
        general,
        [selections.selected(), selections.baseline()],
    ) {
        let (m3, m3_sd) = mean_std(&model.accuracy_at(3.0));
        let (c3, c3_sd) = mean_std(&cnn.accuracy_at(3.0));
        targets.push(Target {
            name: "Scale generalisation: mean accuracy at 3x at least twice the equal-parameter CNN's",
            numbers: format!(
                "{m3:.1} ± {m3_sd:.1}% against {c3:.1} ± {c3_sd:.1}% ({:.2}x)",
                m3 / c3.max(f64::MIN_POSITIVE)
            ),
            met: m3 >= 2.0 * c3,
        });
        let overlapping: Vec<String> = multi_dilation_mnist::scale::generalisation_factors()
            .into_iter()
            .filter(|&f| f >= 2.0)
            .filter(|&f| {
                let (m, ms) = mean_std(&model.accuracy_at(f));
                let (c, cs) = mean_std(&cnn.accuracy_at(f));
                m - ms <= c + cs
            })
            .map(|f| format!("{f}x"))
            .collect();
        targets.push(Target {
            name: "Scale generalisation: mean ± sd bands apart from the CNN's at every factor from 2x on",
            numbers: if overlapping.is_empty() {
                "apart at 2x to 3x".into()
            } else {
                format!("overlapping or below at {}", overlapping.join(", "))
            },
            met: overlapping.is_empty(),
        });
    }
    targets
}

/// The targets as a Markdown table, with the models they compare.
pub fn markdown(records: &[RunRecord], selections: &Selections) -> String {
    let targets = evaluate(records, selections);
    if targets.is_empty() {
        return String::new();
    }
    let mut md = format!(
        "\n## Targets\n\nSelected on validation: **{}**; baseline: {}; twin: {}.\n\n| target | numbers | |\n|---|---|---|\n",
        selections.selected().map_or(String::new(), |s| s.label()),
        selections.baseline().map_or(String::new(), |s| s.label()),
        selections.twin().map_or(String::new(), |s| s.label()),
    );
    for t in targets {
        md.push_str(&format!(
            "| {} | {} | {} |\n",
            t.name,
            t.numbers,
            if t.met { "met" } else { "missed" }
        ));
    }
    md
}
