//! MNIST-scale and the scale-generalisation set: sizes, class balance, scale factors measured
//! on the digits, determinism by checksum.

use burn::data::dataset::Dataset;
use multi_dilation_mnist::scale::{
    self, ScaledDigit, checksum, mnist_scale, mnist_scale_sized, rescale, scale_generalisation,
};
use multi_dilation_mnist::{MnistDataset, MnistItem, SyntheticDigits};

/// Height of the rows holding ink (any pixel above `threshold`), or 0.
fn ink_height(image: &[u8], side: usize, threshold: u8) -> usize {
    let rows: Vec<usize> = (0..side)
        .filter(|y| {
            image[y * side..(y + 1) * side]
                .iter()
                .any(|&p| p > threshold)
        })
        .collect();
    rows.last().map_or(0, |last| last - rows[0] + 1)
}

fn class_shares(digits: &[ScaledDigit]) -> [f64; 10] {
    let mut counts = [0usize; 10];
    for d in digits {
        counts[usize::from(d.label)] += 1;
    }
    counts.map(|c| c as f64 / digits.len() as f64)
}

fn check_splits(source: &[MnistItem], splits: &scale::ScaleSplits, sizes: [usize; 3]) {
    assert_eq!(
        [splits.train.len(), splits.valid.len(), splits.test.len()],
        sizes
    );
    let mut overall = [0usize; 10];
    for d in source {
        overall[usize::from(d.label)] += 1;
    }
    let overall = overall.map(|c| c as f64 / source.len() as f64);
    for split in [&splits.train, &splits.valid, &splits.test] {
        for (share, expected) in class_shares(split).iter().zip(overall) {
            assert!(
                (share - expected).abs() < 0.01,
                "class share {share} vs {expected}"
            );
        }
    }
    let all = splits.train.iter().chain(&splits.valid).chain(&splits.test);
    assert!(
        all.clone()
            .all(|d| (scale::MIN_SCALE..=scale::MAX_SCALE).contains(&d.scale))
    );
    let mean = all.map(|d| d.scale).sum::<f64>() / sizes.iter().sum::<usize>() as f64;
    assert!((mean - 0.65).abs() < 0.02, "mean factor {mean}");
}

/// The ink height of rescaled digits is the original's times the factor.
#[test]
fn rescaled_ink_height_follows_the_factor() {
    let digits = SyntheticDigits::clean(200, 3);
    let mut ratios = Vec::new();
    for (i, digit) in digits.iter().map(Result::unwrap).enumerate() {
        let factor = 0.3 + 0.7 * (i as f64 / 199.0);
        let scaled = rescale(&digit.image, 28, factor, 28);
        // A low threshold: thin strokes fade when shrunk (bicubic, no antialiasing, as in
        // the protocol's PIL resampling).
        let before = ink_height(&digit.image, 28, 20) as f64;
        let after = ink_height(&scaled, 28, 20) as f64;
        assert!(
            (after - factor * before).abs() <= 3.0,
            "digit {i}: height {before} x {factor:.2} gave {after}"
        );
        ratios.push(after / before);
    }
    let min = ratios.iter().copied().fold(f64::MAX, f64::min);
    let max = ratios.iter().copied().fold(0.0, f64::max);
    assert!(
        min < 0.45 && max > 0.9,
        "measured ratios {min:.2}..{max:.2} span the range"
    );
}

#[test]
fn builtin_digits_split_balanced_and_deterministic() {
    let source: Vec<MnistItem> = SyntheticDigits::clean(3_000, 11)
        .iter()
        .collect::<Result<_, _>>()
        .unwrap();
    let sizes = [1_000, 200, 1_500];
    let splits = mnist_scale_sized(&source, 0, sizes);
    check_splits(&source, &splits, sizes);
    // Measured on the generated digits: every digit's ink is at most 1.0x the canvas would
    // allow and shrinks with its factor.
    for digit in &splits.test {
        let height = ink_height(&digit.image, 28, 100);
        assert!(
            height as f64 <= 28.0 * digit.scale + 2.5,
            "{height} at {}",
            digit.scale
        );
    }
    let again = mnist_scale_sized(&source, 0, sizes);
    assert_eq!(checksum(&again.test), checksum(&splits.test));
    assert_ne!(
        checksum(&mnist_scale_sized(&source, 1, sizes).test),
        checksum(&splits.test)
    );
    // Pinned: the same bytes on every machine.
    assert_eq!(&checksum(&splits.train)[..16], "bf35f2ba717f6137");
}

#[test]
fn generalisation_set_places_digits_on_the_canvas() {
    let digits: Vec<MnistItem> = SyntheticDigits::clean(20, 4)
        .iter()
        .collect::<Result<_, _>>()
        .unwrap();
    // Trained at scale 1/2, tested up to 3x larger: the enlarged digit is 1.5x the original.
    let set = scale_generalisation(
        &digits[..10],
        &digits[10..],
        56,
        0.5,
        &scale::generalisation_factors(),
    );
    assert_eq!(set.test.len(), 9, "factors 1 to 3 by quarters");
    assert!(
        set.train
            .iter()
            .all(|d| d.side == 56 && d.image.len() == 56 * 56 && d.scale == 0.5)
    );
    for (digit, original) in set.train.iter().zip(&digits) {
        let expected = 0.5 * ink_height(&original.image, 28, 100) as f64;
        assert!(
            (ink_height(&digit.image, 56, 100) as f64 - expected).abs() <= 2.0,
            "the training digits are halved"
        );
    }
    let (factor, enlarged) = set.test.last().unwrap();
    assert_eq!(*factor, 3.0);
    for (digit, original) in enlarged.iter().zip(&digits[10..]) {
        let expected = 1.5 * ink_height(&original.image, 28, 100) as f64;
        assert!((ink_height(&digit.image, 56, 100) as f64 - expected).abs() <= 3.0);
    }
}

#[test]
fn mnist_scale_on_real_mnist() {
    let Some(dir) = std::env::var_os("MNIST_DIR") else {
        eprintln!("skipped: MNIST_DIR is not set (.ci/run sets it to ../shared/data/mnist)");
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let mut source: Vec<MnistItem> = MnistDataset::train(&dir)
        .unwrap()
        .iter()
        .collect::<Result<_, _>>()
        .unwrap();
    source.extend(MnistDataset::test(&dir).unwrap().iter().map(Result::unwrap));
    assert_eq!(source.len(), 70_000);
    let splits = mnist_scale(&source, 0);
    check_splits(&source, &splits, scale::SPLIT_SIZES);
    // The factors, measured on the digits: ink height against the original's.
    for digit in &splits.train[..2_000] {
        let before = ink_height(&source[digit.source].image, 28, 60) as f64;
        let after = ink_height(&digit.image, 28, 60) as f64;
        assert!(
            (after - digit.scale * before).abs() <= 3.0,
            "digit {}: height {before} x {:.2} gave {after}",
            digit.source,
            digit.scale
        );
        assert_eq!(digit.label, source[digit.source].label);
    }
    assert_eq!(&checksum(&splits.test)[..16], "a6b2d13040a0bd9e");
}
