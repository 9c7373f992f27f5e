//! The shifting batcher: shifts are exact pixel moves, bounded, varied and reproducible.

use burn::data::dataloader::batcher::Batcher;
use burn::tensor::Device;
use multi_dilation_mnist::augment::shift_image;
use multi_dilation_mnist::batcher::{MEAN, STD};
use multi_dilation_mnist::{MnistBatch, MnistItem, ShiftingBatcher};

/// An image whose every pixel is distinct (mod 251, and never 0), to locate it after a shift.
fn marked() -> Vec<u8> {
    (0..28 * 28).map(|i| (i % 251 + 1) as u8).collect()
}

/// The shift (dy, dx) that turns `original` into `moved`, found by trying all of them.
fn find_shift(original: &[u8], moved: &[u8], max: isize) -> Option<(isize, isize)> {
    let mut found = None;
    for dy in -max..=max {
        for dx in -max..=max {
            if shift_image(original, dy, dx) == moved {
                assert!(found.is_none(), "two shifts match");
                found = Some((dy, dx));
            }
        }
    }
    found
}

#[test]
fn shift_moves_pixels_and_fills_zeros() {
    let image = marked();
    let moved = shift_image(&image, -1, 2);
    for y in 0..28usize {
        for x in 0..28usize {
            let expected = match (y.checked_add(1), x.checked_sub(2)) {
                (Some(sy), Some(sx)) if sy < 28 => image[sy * 28 + sx],
                _ => 0,
            };
            assert_eq!(moved[y * 28 + x], expected, "({y}, {x})");
        }
    }
    assert_eq!(shift_image(&image, 0, 0), image);
}

#[test]
fn batcher_shifts_are_bounded_varied_and_reproducible() {
    let device = Device::flex();
    let image = marked();
    let items: Vec<MnistItem> = (0..200)
        .map(|i| MnistItem {
            image: image.clone(),
            label: (i % 10) as u8,
        })
        .collect();
    let run = |seed| {
        let batcher = ShiftingBatcher::new(2, seed);
        let batch: MnistBatch = batcher.batch(items.clone(), &device);
        let pixels: Vec<f32> = batch.images.into_data().try_into_vec().unwrap();
        let labels: Vec<i64> = batch.targets.into_data().try_into_vec_as().unwrap();
        assert_eq!(
            labels,
            items.iter().map(|i| i64::from(i.label)).collect::<Vec<_>>()
        );
        pixels
            .chunks(28 * 28)
            .map(|chunk| {
                let bytes: Vec<u8> = chunk
                    .iter()
                    .map(|v| ((v * STD + MEAN) * 255.0).round() as u8)
                    .collect();
                find_shift(&image, &bytes, 2).expect("a shift within 2 pixels")
            })
            .collect::<Vec<_>>()
    };
    let shifts = run(7);
    let distinct: std::collections::HashSet<_> = shifts.iter().collect();
    assert_eq!(distinct.len(), 25, "all 25 shifts occur in 200 draws");
    assert_eq!(run(7), shifts, "same seed, same shifts");
    assert_ne!(run(8), shifts, "another seed, other shifts");
}
