//! Image files for `predict`: PNG, JPEG or PGM/PNM, any size, gray or color, turned into a
//! 28x28 MNIST-style digit (bright ink on a dark background).

use std::path::Path;

use image::imageops::FilterType;

/// A digit ready for the classifier, and what was done to get it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedImage {
    /// 784 gray values, bright ink on black.
    pub pixels: Vec<u8>,
    /// Notes on the conversion (resized, inverted), empty if none was needed.
    pub notes: Vec<String>,
}

/// Reads `path` and converts it: to gray, resized to 28x28 (noted), and inverted when the
/// background is light (noted), since MNIST digits are light on dark.
///
/// Errors are one line naming the file.
pub fn prepare(path: &Path) -> Result<PreparedImage, String> {
    let name = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("{name}: {e}"))?;
    if meta.is_dir() {
        return Err(format!("{name}: is a directory, not an image file"));
    }
    if meta.len() == 0 {
        return Err(format!("{name}: empty file, not an image"));
    }
    let reader = image::ImageReader::open(path)
        .and_then(|r| r.with_guessed_format())
        .map_err(|e| format!("{name}: {e}"))?;
    if reader.format().is_none() {
        return Err(format!("{name}: not a PNG, JPEG or PGM image"));
    }
    let decoded = reader
        .decode()
        .map_err(|e| format!("{name}: cannot decode image: {e}"))?;
    let mut gray = decoded.to_luma8();
    let mut notes = Vec::new();
    let (w, h) = gray.dimensions();
    if (w, h) != (28, 28) {
        gray = image::imageops::resize(&gray, 28, 28, FilterType::Triangle);
        notes.push(format!("resized from {w}x{h} to 28x28"));
    }
    let mut pixels = gray.into_raw();
    let border: Vec<u8> = (0..28)
        .flat_map(|i| [i, 27 * 28 + i, i * 28, i * 28 + 27])
        .map(|idx| pixels[idx])
        .collect();
    let border_mean = border.iter().map(|&v| f64::from(v)).sum::<f64>() / border.len() as f64;
    if border_mean > 127.0 {
        pixels.iter_mut().for_each(|p| *p = 255 - *p);
        notes.push("inverted (dark digit on a light background)".to_string());
    }
    Ok(PreparedImage { pixels, notes })
}

/// The three most probable classes of a prepared digit, most probable first.
pub fn top3(
    model: &crate::classifier::Classifier,
    image: &PreparedImage,
    device: &burn::tensor::Device,
) -> Vec<(usize, f32)> {
    use burn::data::dataloader::batcher::Batcher;
    let item = multi_dilation_mnist::MnistItem {
        image: image.pixels.clone(),
        label: 0,
    };
    let batch: multi_dilation_mnist::MnistBatch =
        multi_dilation_mnist::MnistBatcher.batch(vec![item], device);
    let probs = model
        .predict(batch.images)
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap_or_default();
    let mut ranked: Vec<(usize, f32)> = probs.into_iter().enumerate().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranked.truncate(3);
    ranked
}
