//! The 1-D and 3-D scale examples: their data against direct formulas, their two models'
//! parameter counts against a count by hand, and a test-sized run of each comparison.

use burn::tensor::Device;
use multi_dilation::{
    MultiDilationConv1d, MultiDilationConv1dConfig, MultiDilationConv3d, MultiDilationConv3dConfig,
};
use multi_dilation_examples::ranks::signals::{self, Burst, SignalSizes, Wave};
use multi_dilation_examples::ranks::volumes::{self, Placed, Solid, VolumeSizes};
use multi_dilation_examples::ranks::{Task, compare_shared_and_plain, table};
use multi_dilation_examples::study::fit::Budget;

#[test]
fn waves_take_their_textbook_values() {
    let cases = [
        (Wave::Sine, 0.25, 1.0),
        (Wave::Sine, 0.75, -1.0),
        (Wave::Triangle, 0.0, -1.0),
        (Wave::Triangle, 0.25, 0.0),
        (Wave::Triangle, 0.5, 1.0),
        (Wave::Square, 0.1, 1.0),
        (Wave::Square, 0.6, -1.0),
        (Wave::Sawtooth, 0.75, 0.5),
        (Wave::Sawtooth, 1.25, -0.5),
    ];
    for (wave, u, expected) in cases {
        assert!((wave.at(u) - expected).abs() < 1e-12, "{wave:?} at {u}");
    }
}

#[test]
fn a_burst_at_twice_the_period_is_the_same_burst_stretched() {
    for wave in Wave::ALL {
        let short = Burst {
            wave,
            period: 6.0,
            start: 10.0,
            cycles: 3.0,
            amplitude: 0.8,
            phase: 0.3,
        };
        let long = Burst {
            period: 12.0,
            ..short
        };
        let (a, b) = (short.render(128), long.render(128));
        for t in 0..18 {
            assert!((b[10 + 2 * t] - a[10 + t]).abs() < 1e-6, "{wave:?} at {t}");
        }
        // Zero outside the burst: 3 cycles of 6 samples from sample 10.
        assert!(a[..10].iter().chain(&a[28..]).all(|&v| v == 0.0));
        assert!(b[..10].iter().chain(&b[46..]).all(|&v| v == 0.0));
    }
}

#[test]
fn solids_have_their_textbook_volumes() {
    // Radii of 9 voxels and more: the soft surface is a linear ramp of the gauge, which for the
    // cross's bars (a third of the radius thick) overstates the corners' partial volumes; at
    // 4.5 voxels that is 14% of the cross; at 9 and 13.5 every solid is within 2.5%.
    let side = 32;
    let centre = [15.5; 3];
    let unit_volume = |solid| match solid {
        Solid::Ball => 4.0 / 3.0 * std::f64::consts::PI,
        Solid::Cube => 1.6f64.powi(3),
        // Three bars of 2 x 2/3 x 2/3, less the twice-counted centre cube of (2/3)^3.
        Solid::Cross => 3.0 * 2.0 * (2.0f64 / 3.0).powi(2) - 2.0 * (2.0f64 / 3.0).powi(3),
    };
    for solid in Solid::ALL {
        for radius in [9.0, 13.5] {
            let placed = Placed {
                solid,
                radius,
                centre,
            };
            let got: f64 = placed.render(side).iter().map(|&v| f64::from(v)).sum();
            let expected = unit_volume(solid) * radius.powi(3);
            assert!(
                (got / expected - 1.0).abs() < 0.05,
                "{solid:?} r={radius}: {got} vs {expected}"
            );
        }
    }
}

fn balanced(task: &Task) {
    let mut counts = vec![0usize; task.classes];
    for sample in &task.train {
        counts[sample.label] += 1;
    }
    let (min, max) = (counts.iter().min(), counts.iter().max());
    assert!(max.unwrap() - min.unwrap() <= 1, "{counts:?}");
}

#[test]
fn tasks_are_balanced_reproducible_and_seeded() {
    let mut sizes = SignalSizes::standard();
    (sizes.draws.train, sizes.draws.valid, sizes.draws.test) = (40, 8, 8);
    let a = signals::task(&sizes, 3);
    balanced(&a);
    assert_eq!(a.train, signals::task(&sizes, 3).train);
    assert_ne!(a.train, signals::task(&sizes, 4).train);
    let factors: Vec<f64> = a.tests.iter().map(|(f, _)| *f).collect();
    assert_eq!(factors, sizes.draws.test_factors);

    let mut sizes = VolumeSizes::standard();
    (sizes.draws.train, sizes.draws.valid, sizes.draws.test) = (9, 3, 3);
    let v = volumes::task(&sizes, 0);
    balanced(&v);
    assert!(v.train.iter().all(|s| s.values.len() == 12 * 12 * 12));
}

fn tiny_budget() -> Budget {
    Budget {
        epochs: 3,
        batch_size: 16,
        learning_rate: 1e-2,
    }
}

#[test]
fn the_signal_comparison_trains_models_of_equal_parameters() {
    let mut sizes = SignalSizes::standard();
    sizes.length = 96;
    sizes.draws.train_band = (1.0, 1.0);
    sizes.draws.test_factors = vec![1.0, 2.0];
    (sizes.draws.train, sizes.draws.valid, sizes.draws.test) = (320, 80, 40);
    let task = signals::task(&sizes, 0);
    let layer = |c: [usize; 2], d: &[usize], device: &Device| -> MultiDilationConv1d {
        MultiDilationConv1dConfig::new(c, 5)
            .with_dilations(d.to_vec())
            .init(device)
    };
    let outcomes = compare_shared_and_plain(
        &task,
        &[1, 6, 6],
        &layer,
        &[0],
        tiny_budget(),
        &Device::flex(),
    );
    assert_eq!(outcomes.len(), 2);
    // Per convolution out * in * taps + out, then the head: 6 * 4 + 4.
    let by_hand = (6 * 5 + 6) + (6 * 6 * 5 + 6) + (6 * 4 + 4);
    for outcome in &outcomes {
        assert_eq!(outcome.parameters, by_hand, "{}", outcome.model);
        assert_eq!(outcome.test_accuracy.len(), 2);
        // Four classes: a model that learned nothing sits near 25%. Three epochs on noisy
        // but well-separated waves at the training size get far above it.
        assert!(outcome.valid_accuracy > 50.0, "{outcome:?}");
    }
    let md = table(&outcomes);
    assert!(md.contains("| plain (dilation 1) | 250 | 1 |"), "{md}");
}

#[test]
fn the_volume_comparison_runs_at_test_size() {
    let mut sizes = VolumeSizes::standard();
    sizes.side = 10;
    sizes.base_radius = 1.5;
    sizes.draws.test_factors = vec![1.0, 1.5];
    (sizes.draws.train, sizes.draws.valid, sizes.draws.test) = (48, 12, 12);
    let task = volumes::task(&sizes, 0);
    let layer = |c: [usize; 2], d: &[usize], device: &Device| -> MultiDilationConv3d {
        MultiDilationConv3dConfig::new(c, [3, 3, 3])
            .with_dilations(d.to_vec())
            .init(device)
    };
    let budget = Budget {
        epochs: 1,
        ..tiny_budget()
    };
    let outcomes =
        compare_shared_and_plain(&task, &[1, 4], &layer, &[0, 1], budget, &Device::flex());
    assert_eq!(outcomes.len(), 4);
    let by_hand = (4 * 27 + 4) + (4 * 3 + 3);
    assert!(outcomes.iter().all(|o| o.parameters == by_hand));
    assert!(
        outcomes
            .iter()
            .all(|o| (0.0..=100.0).contains(&o.valid_accuracy))
    );
    assert_eq!(outcomes[0].seed, 0);
    assert_eq!(outcomes[3].seed, 1);
}
