//! The study's plots, as PNG and SVG: MNIST-scale test error per model, accuracy against the
//! scale of the test digits (mean ± sd bands over seeds), and the validation curves of the
//! first realisation. Each has its legend beside the chart, where it hides nothing.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::models::ModelSpec;
use super::report::{Group, mean_std};
use super::select::Selections;
use super::store::{Experiment, RunRecord};

const SIZE: (u32, u32) = (1200, 640);
/// Width of the chart; the legend takes the rest.
const CHART_WIDTH: u32 = 760;
const FONT_PATHS: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/Library/Fonts/Arial Unicode.ttf",
];

type PlotResult = Result<(), Box<dyn std::error::Error>>;

/// Registers a system font as plotters' "sans-serif" (plotters is built without font
/// discovery, which needs fontconfig at build time). `MULTI_DILATION_FONT` overrides the path.
fn register_font() -> PlotResult {
    static DONE: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    let result = DONE.get_or_init(|| {
        let candidates: Vec<String> = std::env::var("MULTI_DILATION_FONT")
            .into_iter()
            .chain(FONT_PATHS.iter().map(|p| p.to_string()))
            .collect();
        let bytes = candidates
            .iter()
            .find_map(|path| std::fs::read(path).ok())
            .ok_or_else(|| {
                format!(
                    "no font for the plots: tried {} (install fonts-dejavu-core or set MULTI_DILATION_FONT)",
                    candidates.join(", ")
                )
            })?;
        plotters::style::register_font("sans-serif", FontStyle::Normal, Box::leak(bytes.into_boxed_slice()))
            .map_err(|_| "the font file could not be parsed".to_string())
    });
    result.clone().map_err(Into::into)
}

/// Draws with `$draw` (a function of a drawing area) into `{stem}.png` and `{stem}.svg` in
/// `$dir`: once per backend, so the drawing code is written once, generic over the backend.
macro_rules! both {
    ($dir:expr, $stem:expr, $draw:expr) => {{
        let mut pixels = vec![0u8; (SIZE.0 * SIZE.1 * 3) as usize];
        {
            let area = BitMapBackend::with_buffer(&mut pixels, SIZE).into_drawing_area();
            $draw(&area)?;
            area.present()?;
        }
        let image = image::RgbImage::from_raw(SIZE.0, SIZE.1, pixels).ok_or("bitmap size")?;
        image.save($dir.join(format!("{}.png", $stem)))?;
        let path = $dir.join(format!("{}.svg", $stem));
        let area = SVGBackend::new(&path, SIZE).into_drawing_area();
        $draw(&area)?;
        area.present()?;
    }};
}

fn color(index: usize) -> RGBColor {
    [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
        RGBColor(188, 189, 34),
        RGBColor(23, 190, 207),
        RGBColor(0, 0, 0),
    ][index % 11]
}

/// The legend: a colour mark and a label per entry (wrapped to fit), in `area`.
fn legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(String, RGBColor)],
) -> PlotResult
where
    DB::ErrorType: 'static,
{
    let mut y = 60;
    for (label, color) in entries {
        area.draw(&Rectangle::new([(10, y - 6), (28, y + 6)], color.filled()))?;
        for line in wrap(label, 52) {
            area.draw(&Text::new(line, (36, y - 8), ("sans-serif", 14)))?;
            y += 18;
        }
        y += 8;
    }
    Ok(())
}

/// `text` cut into lines of at most `width` characters at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split(' ') {
        match lines.last_mut() {
            Some(line) if line.len() + 1 + word.len() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

/// The models to draw, with their runs in `experiment`, those without runs left out.
fn series<'a>(
    records: &'a [RunRecord],
    specs: &[ModelSpec],
    experiment: Experiment,
) -> Vec<(Group<'a>, RGBColor)> {
    specs
        .iter()
        .enumerate()
        .map(|(i, spec)| (Group::of(records, experiment, spec), color(i)))
        .filter(|(group, _)| !group.runs.is_empty())
        .collect()
}

fn errors<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    groups: &[(Group<'_>, RGBColor)],
) -> PlotResult
where
    DB::ErrorType: 'static,
{
    area.fill(&WHITE)?;
    let (left, right) = area.split_horizontally(CHART_WIDTH);
    let stats: Vec<(f64, f64)> = groups
        .iter()
        .map(|(g, _)| mean_std(&g.test_errors()))
        .collect();
    let top = stats.iter().map(|(m, s)| m + s).fold(0.0, f64::max) * 1.2 + 0.1;
    let mut chart = ChartBuilder::on(&left)
        .caption(
            "MNIST-scale test error, mean ± sd over realisations",
            ("sans-serif", 22),
        )
        .margin(15)
        .x_label_area_size(20)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..groups.len() as f64, 0f64..top)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc("test error (%)")
        .draw()?;
    for (i, ((mean, std), (_, color))) in stats.iter().zip(groups).enumerate() {
        let x = i as f64;
        chart.draw_series([Rectangle::new(
            [(x + 0.15, 0.0), (x + 0.85, *mean)],
            color.filled(),
        )])?;
        chart.draw_series([PathElement::new(
            vec![(x + 0.5, mean - std), (x + 0.5, mean + std)],
            BLACK.stroke_width(2),
        )])?;
        chart.draw_series([Text::new(
            format!("{mean:.2}"),
            (x + 0.2, mean + std + top * 0.02),
            ("sans-serif", 13),
        )])?;
    }
    let entries: Vec<(String, RGBColor)> =
        groups.iter().map(|(g, c)| (g.label.clone(), *c)).collect();
    legend(&right, &entries)
}

fn generalisation<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    groups: &[(Group<'_>, RGBColor)],
) -> PlotResult
where
    DB::ErrorType: 'static,
{
    area.fill(&WHITE)?;
    let (left, right) = area.split_horizontally(CHART_WIDTH);
    let factors = multi_dilation_mnist::scale::generalisation_factors();
    let mut chart = ChartBuilder::on(&left)
        .caption(
            "Trained small, tested enlarged: accuracy, mean ± sd over seeds",
            ("sans-serif", 22),
        )
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(1f64..3f64, 0f64..100f64)?;
    chart
        .configure_mesh()
        .x_desc("size of the test digits / size of the training digits")
        .y_desc("test accuracy (%)")
        .draw()?;
    for (group, color) in groups {
        let stats: Vec<(f64, f64, f64)> = factors
            .iter()
            .map(|&f| {
                let (m, s) = mean_std(&group.accuracy_at(f));
                (f, m, s)
            })
            .collect();
        let band: Vec<(f64, f64)> = stats
            .iter()
            .map(|&(f, m, s)| (f, m + s))
            .chain(stats.iter().rev().map(|&(f, m, s)| (f, m - s)))
            .collect();
        chart.draw_series([Polygon::new(band, color.mix(0.18).filled())])?;
        chart.draw_series(LineSeries::new(
            stats.iter().map(|&(f, m, _)| (f, m)),
            color.stroke_width(3),
        ))?;
    }
    let entries: Vec<(String, RGBColor)> =
        groups.iter().map(|(g, c)| (g.label.clone(), *c)).collect();
    legend(&right, &entries)
}

fn convergence<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    curves: &[(String, RGBColor, Vec<f64>)],
) -> PlotResult
where
    DB::ErrorType: 'static,
{
    area.fill(&WHITE)?;
    let (left, right) = area.split_horizontally(CHART_WIDTH);
    let epochs = curves
        .iter()
        .map(|(_, _, c)| c.len())
        .max()
        .unwrap_or(1)
        .max(2);
    let top = curves
        .iter()
        .flat_map(|(_, _, c)| c.iter().skip(1))
        .fold(1.0f64, |a, &b| a.max(b))
        .min(30.0)
        * 1.15;
    let mut chart = ChartBuilder::on(&left)
        .caption(
            "MNIST-scale validation error after each epoch (first realisation)",
            ("sans-serif", 20),
        )
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(1f64..epochs as f64, 0f64..top)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc("validation error (%)")
        .draw()?;
    for (_, color, curve) in curves {
        let points = curve.iter().enumerate().map(|(i, e)| ((i + 1) as f64, *e));
        chart.draw_series(LineSeries::new(points, color.stroke_width(2)))?;
    }
    let entries: Vec<(String, RGBColor)> = curves.iter().map(|(l, c, _)| (l.clone(), *c)).collect();
    legend(&right, &entries)
}

/// Writes `errors`, `scale` and `convergence` (`.png` and `.svg`) into `dir`.
///
/// # Errors
/// When no font is found or a file cannot be written.
pub fn write(dir: &Path, records: &[RunRecord], selections: &Selections) -> PlotResult {
    register_font()?;
    let specs = selections.all_models();
    let mnist = series(records, &specs, Experiment::MnistScale);
    both!(dir, "errors", |area| errors(area, &mnist));
    let general = series(records, &specs, Experiment::Generalisation);
    both!(dir, "scale", |area| generalisation(area, &general));
    let mut curves: Vec<(String, RGBColor, Vec<f64>)> = Vec::new();
    for (group, color) in &mnist {
        if let Some(first) = group.runs.first() {
            curves.push((group.label.clone(), *color, first.validation_curve.clone()));
        }
    }
    for (i, spec) in selections.compared().iter().enumerate() {
        let long = Group::of(records, Experiment::MnistScaleLong, spec);
        if let Some(run) = long.runs.first() {
            let label = format!("{}, twice the budget", long.label);
            curves.push((label, color(specs.len() + i), run.validation_curve.clone()));
        }
    }
    both!(dir, "convergence", |area| convergence(area, &curves));
    Ok(())
}
