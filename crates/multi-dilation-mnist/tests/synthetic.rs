//! The built-in procedural digits: deterministic, balanced, digit-like, varied in scale.

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::tensor::Device;
use multi_dilation_mnist::files::sha256_hex;
use multi_dilation_mnist::{MnistBatch, MnistBatcher, SyntheticDigits};

fn bytes(digits: &SyntheticDigits, n: usize) -> Vec<u8> {
    (0..n)
        .flat_map(|i| {
            let item = digits.get(i).unwrap();
            let mut v = item.image;
            v.push(item.label);
            v
        })
        .collect()
}

#[test]
fn deterministic_by_seed_and_order_free() {
    let a = SyntheticDigits::new(50, 3);
    assert_eq!(bytes(&a, 50), bytes(&SyntheticDigits::new(50, 3), 50));
    assert_ne!(bytes(&a, 50), bytes(&SyntheticDigits::new(50, 4), 50));
    // Item 37 alone equals item 37 after reading the others.
    assert_eq!(
        a.get(37).unwrap(),
        SyntheticDigits::new(50, 3).get(37).unwrap()
    );
    // Pinned: the same bytes on every machine.
    assert_eq!(
        &sha256_hex(&bytes(&SyntheticDigits::new(20, 0), 20))[..16],
        PINNED_PREFIX,
        "the procedural digits changed; update PINNED_PREFIX only on purpose"
    );
}

const PINNED_PREFIX: &str = "9a0fd2d08f9445da";

#[test]
fn classes_are_balanced() {
    let digits = SyntheticDigits::new(1000, 1);
    let mut counts = [0usize; 10];
    for i in 0..1000 {
        counts[digits.get(i).unwrap().label as usize] += 1;
    }
    assert_eq!(counts, [100; 10]);
}

/// Rows from the first to the last holding a pixel of at least `threshold`.
fn ink_height(image: &[u8], threshold: u8) -> usize {
    let rows: Vec<usize> = (0..28)
        .filter(|y| image[y * 28..(y + 1) * 28].iter().any(|&p| p >= threshold))
        .collect();
    rows.last().map_or(0, |last| last - rows[0] + 1)
}

#[test]
fn digits_have_ink_near_the_centre() {
    let digits = SyntheticDigits::new(200, 2);
    for i in 0..200 {
        let image = digits.get(i).unwrap().image;
        let ink: f64 = image.iter().map(|&p| f64::from(p)).sum::<f64>() / 255.0;
        assert!((5.0..300.0).contains(&ink), "item {i}: ink {ink}");
        let (mut cx, mut cy) = (0.0, 0.0);
        for (k, &p) in image.iter().enumerate() {
            cx += (k % 28) as f64 * f64::from(p) / 255.0;
            cy += (k / 28) as f64 * f64::from(p) / 255.0;
        }
        let (cx, cy) = (cx / ink, cy / ink);
        assert!(
            (7.0..21.0).contains(&cx) && (7.0..21.0).contains(&cy),
            "item {i}: centre {cx},{cy}"
        );
    }
}

#[test]
fn digits_vary_in_scale() {
    let digits = SyntheticDigits::new(200, 6);
    let heights: Vec<usize> = (0..200)
        .map(|i| ink_height(&digits.get(i).unwrap().image, 120))
        .collect();
    let (min, max) = (heights.iter().min().unwrap(), heights.iter().max().unwrap());
    assert!(*min <= 12 && *max >= 20, "ink heights {min}..{max}");
}

#[test]
fn batcher_normalizes_like_mnist() {
    let digits = SyntheticDigits::new(4, 5);
    let items: Vec<_> = (0..4).map(|i| digits.get(i).unwrap()).collect();
    let raw: Vec<f32> = items
        .iter()
        .flat_map(|it| it.image.iter().map(|&p| f32::from(p)))
        .collect();
    let labels: Vec<i64> = items.iter().map(|it| i64::from(it.label)).collect();
    let batch: MnistBatch = MnistBatcher.batch(items, &Device::flex());
    assert_eq!(batch.images.dims(), [4, 1, 28, 28]);
    let got = batch
        .images
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap();
    for (g, r) in got.iter().zip(&raw) {
        assert!((g - (r / 255.0 - 0.1307) / 0.3081).abs() < 1e-5);
    }
    let targets = batch
        .targets
        .into_data()
        .convert::<i64>()
        .try_into_vec::<i64>()
        .unwrap();
    assert_eq!(targets, labels);
}
