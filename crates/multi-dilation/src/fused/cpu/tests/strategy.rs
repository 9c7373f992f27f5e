//! The rule that picks the forward strategy ([`ForwardStrategy::select`]), at each
//! instruction-set level.

use super::super::isa::{Isa, Level};
use super::super::strategy::{ForwardStrategy, inside};
use super::Plan;
use crate::shape::BranchLayout;

/// From AVX2 on, the direct forward for kernels of 3x3 or more at horizontal strides 1 and 2,
/// except on wide layers with two maps per thread whose taps read padding less than a third of
/// the time; Winograd for wide 3x3 layers at stride 1 with at least two maps per thread, and
/// below AVX2 at batch 1 on maps of 28x28 and more; below AVX2, the shifted GEMMs for 7x7
/// kernels at stride 1 with 64 input channels or more; im2col otherwise. On two threads, at
/// every level this machine runs; and the share of taps inside the image against a count.
#[test]
fn forward_strategy_follows_the_measured_rule() {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("a pool of two threads");
    pool.install(|| {
        use ForwardStrategy::{Direct, Im2col, Shifted, Winograd};
        let wide = [256, 256, 3, 3];
        // Input, kernel, stride, dilations, and the strategy at the baseline, with AVX2 and
        // with AVX-512.
        type Case = (
            [usize; 4],
            [usize; 4],
            [usize; 2],
            &'static [usize],
            [ForwardStrategy; 3],
        );
        let cases: [Case; 15] = [
            ([4, 256, 28, 28], wide, [1, 1], &[1, 2, 3], [Winograd; 3]),
            // A KSAC head: more than a third of the taps read padding (`inside` 0.58).
            (
                [2, 512, 33, 33],
                [256, 512, 3, 3],
                [1, 1],
                &[6, 12, 18],
                [Winograd, Direct, Direct],
            ),
            // Batch 1, wide: the direct forward from AVX2 on; below it, Winograd on maps of
            // 28x28 or more and im2col on smaller maps.
            (
                [1, 256, 28, 28],
                wide,
                [1, 1],
                &[1],
                [Winograd, Direct, Direct],
            ),
            (
                [1, 256, 28, 28],
                wide,
                [1, 1],
                &[1, 2, 3],
                [Winograd, Direct, Direct],
            ),
            (
                [1, 256, 14, 14],
                wide,
                [1, 1],
                &[1, 2, 3],
                [Im2col, Direct, Direct],
            ),
            // Wide, two maps per thread, but dilations of 4 and 8 on 14x14 maps.
            (
                [4, 256, 14, 14],
                wide,
                [1, 1],
                &[4, 8],
                [Winograd, Direct, Direct],
            ),
            // Not wide: the direct forward from AVX2 on, at strides 1 and 2.
            (
                [8, 64, 56, 56],
                [64, 64, 3, 3],
                [1, 1],
                &[1, 2, 3],
                [Im2col, Direct, Direct],
            ),
            (
                [4, 256, 28, 28],
                [128, 256, 3, 3],
                [1, 1],
                &[1, 2, 3],
                [Im2col, Direct, Direct],
            ),
            (
                [8, 3, 64, 64],
                [32, 3, 7, 7],
                [2, 2],
                &[1, 2, 3],
                [Im2col, Direct, Direct],
            ),
            // Wide, and not a 3x3 kernel at stride 1; stride 3; a 1x1 kernel.
            (
                [4, 256, 28, 28],
                [256, 256, 5, 5],
                [1, 1],
                &[1, 2],
                [Im2col; 3],
            ),
            ([4, 256, 28, 28], wide, [2, 2], &[1, 2, 3], [Im2col; 3]),
            ([2, 8, 30, 30], [16, 8, 3, 3], [3, 3], &[1, 2], [Im2col; 3]),
            (
                [2, 32, 16, 16],
                [32, 32, 1, 1],
                [1, 1],
                &[1, 2],
                [Im2col; 3],
            ),
            // 7x7 at stride 1: below AVX2, the shifted GEMMs from 64 input channels.
            (
                [2, 64, 56, 56],
                [64, 64, 7, 7],
                [1, 1],
                &[1, 2],
                [Shifted, Direct, Direct],
            ),
            (
                [2, 32, 56, 56],
                [64, 32, 7, 7],
                [1, 1],
                &[1, 2],
                [Im2col, Direct, Direct],
            ),
        ];
        let plan = |input, kernel, stride, dilations: &[usize]| {
            Plan::new(input, kernel, stride, dilations, BranchLayout::Shared)
        };
        // 3x3 at dilation 6 on 33: along each axis, taps -6, 0, +6 read inside for 27, 33
        // and 27 of the 33 outputs.
        let share = inside(&plan([1, 8, 33, 33], [8, 8, 3, 3], [1, 1], &[6]));
        assert!((share - (87.0f64 / 99.0).powi(2)).abs() < 1e-12, "{share}");
        // Two branches average; a 1x1 kernel reads inside everywhere.
        let share = inside(&plan([1, 8, 5, 5], [8, 8, 3, 3], [1, 1], &[1, 9]));
        assert!(
            (share - ((13.0f64 / 15.0).powi(2) + 1.0 / 9.0) / 2.0).abs() < 1e-12,
            "{share}"
        );
        assert_eq!(inside(&plan([1, 8, 5, 5], [8, 8, 1, 1], [2, 2], &[3])), 1.0);
        for isa in Isa::available() {
            for (input, kernel, stride, dilations, expected) in cases {
                let plan = Plan {
                    isa,
                    ..Plan::new(input, kernel, stride, dilations, BranchLayout::Shared)
                };
                let expected = match isa.level() {
                    Level::Baseline => expected[0],
                    Level::Avx2 => expected[1],
                    Level::Avx512 => expected[2],
                };
                assert_eq!(ForwardStrategy::select(&plan), expected, "{plan:?}");
            }
        }
    });
}
