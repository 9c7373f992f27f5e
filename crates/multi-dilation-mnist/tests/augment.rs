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

#[test]
fn shifts_do_not_depend_on_which_batch_or_worker_shifts_a_digit() {
    let device = Device::flex();
    let digits: Vec<MnistItem> = (0..40u8)
        .map(|k| MnistItem {
            image: marked().iter().map(|p| p.wrapping_add(k)).collect(),
            label: k % 10,
        })
        .collect();
    // The shift each digit got, by digit, when `order` gives the batches (two epochs).
    let shifts = |order: &[std::ops::Range<usize>]| {
        let batcher = ShiftingBatcher::new(3, 11);
        let worker = batcher.clone(); // a data loader's second worker
        let mut by_digit = vec![Vec::new(); digits.len()];
        for (b, range) in order.iter().enumerate() {
            let who = if b % 2 == 0 { &batcher } else { &worker };
            let batch: MnistBatch = who.batch(digits[range.clone()].to_vec(), &device);
            let pixels: Vec<f32> = batch.images.into_data().try_into_vec().unwrap();
            for (i, chunk) in range.clone().zip(pixels.chunks(28 * 28)) {
                let bytes: Vec<u8> = chunk
                    .iter()
                    .map(|v| ((v * STD + MEAN) * 255.0).round() as u8)
                    .collect();
                let original = shift_image(&digits[i].image, 0, 0);
                by_digit[i].push(find_shift(&original, &bytes, 3));
            }
        }
        by_digit
    };
    let forward = shifts(&[0..10, 10..25, 25..40, 0..20, 20..40]);
    let shuffled = shifts(&[25..40, 0..10, 10..25, 20..40, 0..20]);
    assert_eq!(forward, shuffled);
    // The two epochs of a digit differ for most digits: the count of times seen matters.
    let differ = forward.iter().filter(|s| s[0] != s[1]).count();
    assert!(
        differ > 30,
        "{differ} of 40 digits got another shift in epoch 2"
    );
}
