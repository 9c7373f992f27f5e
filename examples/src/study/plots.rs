//! The study's two plots, as PNG and SVG: test error per model, and accuracy against the
//! scale of the test digits.

use std::path::Path;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::report::{ModelResult, mean_std};

const SIZE: (u32, u32) = (1000, 640);
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

/// Draws with `draw` into a PNG file at `path`.
fn png<F>(path: &Path, draw: F) -> PlotResult
where
    F: FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> PlotResult,
{
    let mut pixels = vec![0u8; (SIZE.0 * SIZE.1 * 3) as usize];
    {
        let area = BitMapBackend::with_buffer(&mut pixels, SIZE).into_drawing_area();
        draw(&area)?;
        area.present()?;
    }
    let image = image::RgbImage::from_raw(SIZE.0, SIZE.1, pixels).ok_or("bitmap size")?;
    image.save(path)?;
    Ok(())
}

/// Draws with `draw` into an SVG file at `path`.
fn svg<F>(path: &Path, draw: F) -> PlotResult
where
    F: FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> PlotResult,
{
    let area = SVGBackend::new(path, SIZE).into_drawing_area();
    draw(&area)?;
    area.present()?;
    Ok(())
}

/// The series legend at `position`, the same in both plots.
fn legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    position: SeriesLabelPosition,
) -> PlotResult
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 15))
        .draw()?;
    Ok(())
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
    ][index % 8]
}

/// Test error per model: bars at the mean, whiskers at ± one standard deviation.
fn draw_errors<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    results: &[ModelResult],
) -> PlotResult
where
    DB::ErrorType: 'static,
{
    area.fill(&WHITE)?;
    let stats: Vec<(f64, f64)> = results.iter().map(|r| mean_std(&r.test_errors)).collect();
    let top = stats.iter().map(|(m, s)| m + s).fold(0.0, f64::max) * 1.25 + 0.1;
    let mut chart = ChartBuilder::on(area)
        .caption(
            "MNIST-scale test error (lower is better)",
            ("sans-serif", 24),
        )
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..results.len() as f64, 0f64..top)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc("test error (%)")
        .draw()?;
    for (i, ((mean, std), result)) in stats.iter().zip(results).enumerate() {
        let x = i as f64;
        chart
            .draw_series([Rectangle::new(
                [(x + 0.15, 0.0), (x + 0.85, *mean)],
                color(i).filled(),
            )])?
            .label(result.model.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color(i).filled()));
        chart.draw_series([PathElement::new(
            vec![(x + 0.5, mean - std), (x + 0.5, mean + std)],
            BLACK.stroke_width(2),
        )])?;
        chart.draw_series([Text::new(
            format!("{mean:.2}"),
            (x + 0.4, mean + std + top * 0.02),
            ("sans-serif", 16),
        )])?;
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)
}

/// Accuracy against the scale factor of the test digits, one line per model.
fn draw_generalisation<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    results: &[ModelResult],
    caption: &str,
) -> PlotResult
where
    DB::ErrorType: 'static,
{
    area.fill(&WHITE)?;
    let factors: Vec<f64> = results
        .first()
        .map(|r| r.generalisation.iter().map(|(f, _)| *f).collect())
        .unwrap_or_default();
    let low = factors.first().copied().unwrap_or(1.0);
    let high = factors.last().copied().unwrap_or(3.0);
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 24))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(low..high, 0f64..100f64)?;
    chart
        .configure_mesh()
        .x_desc("size of the test digits / size of the training digits")
        .y_desc("test accuracy (%)")
        .draw()?;
    for (i, result) in results.iter().enumerate() {
        chart
            .draw_series(LineSeries::new(
                result.generalisation.iter().copied(),
                color(i).stroke_width(3),
            ))?
            .label(result.model.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], color(i).stroke_width(3))
            });
        chart.draw_series(
            result
                .generalisation
                .iter()
                .map(|&p| Circle::new(p, 3, color(i).filled())),
        )?;
    }
    legend(&mut chart, SeriesLabelPosition::LowerMiddle)
}

/// Writes `errors.{png,svg}` and `scale.{png,svg}` into `dir`; `caption` titles the
/// scale-generalisation plot.
pub fn write(dir: &Path, results: &[ModelResult], caption: &str) -> PlotResult {
    register_font()?;
    png(&dir.join("errors.png"), |area| draw_errors(area, results))?;
    svg(&dir.join("errors.svg"), |area| draw_errors(area, results))?;
    png(&dir.join("scale.png"), |area| {
        draw_generalisation(area, results, caption)
    })?;
    svg(&dir.join("scale.svg"), |area| {
        draw_generalisation(area, results, caption)
    })?;
    Ok(())
}
