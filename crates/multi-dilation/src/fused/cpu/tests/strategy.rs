//! The rule that picks the forward strategy ([`ForwardStrategy::select`]), at each
//! instruction-set level.

use super::super::isa::{Isa, Level};
use super::super::strategy::ForwardStrategy;
use super::Plan;
use crate::shape::BranchLayout;

/// Winograd for wide 3x3 layers at stride 1 with at least two maps per thread, and at batch 1
/// below AVX-512 on maps of 28x28 and more; the shifted GEMMs for 7x7 kernels at stride 1 with
/// 64 input channels or more; im2col otherwise. On two threads, at every level this machine
/// runs.
#[test]
fn forward_strategy_follows_the_measured_rule() {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("a pool of two threads");
    pool.install(|| {
        use ForwardStrategy::{Im2col, Shifted, Winograd};
        let wide = [256, 256, 3, 3];
        // Input, kernel, stride, dilations, and the strategy with AVX-512 and below it.
        type Case = (
            [usize; 4],
            [usize; 4],
            [usize; 2],
            &'static [usize],
            [ForwardStrategy; 2],
        );
        let cases: [Case; 11] = [
            ([4, 256, 28, 28], wide, [1, 1], &[1, 2, 3], [Winograd; 2]),
            (
                [2, 512, 33, 33],
                [256, 512, 3, 3],
                [1, 1],
                &[6, 12, 18],
                [Winograd; 2],
            ),
            // Batch 1: Winograd only below AVX-512, and only on maps of 28x28 or more.
            ([1, 256, 28, 28], wide, [1, 1], &[1], [Im2col, Winograd]),
            (
                [1, 256, 28, 28],
                wide,
                [1, 1],
                &[1, 2, 3],
                [Im2col, Winograd],
            ),
            ([1, 256, 14, 14], wide, [1, 1], &[1, 2, 3], [Im2col; 2]),
            // Too few channels, another kernel or stride.
            (
                [8, 64, 56, 56],
                [64, 64, 3, 3],
                [1, 1],
                &[1, 2, 3],
                [Im2col; 2],
            ),
            (
                [4, 256, 28, 28],
                [128, 256, 3, 3],
                [1, 1],
                &[1, 2, 3],
                [Im2col; 2],
            ),
            (
                [4, 256, 28, 28],
                [256, 256, 5, 5],
                [1, 1],
                &[1, 2],
                [Im2col; 2],
            ),
            ([4, 256, 28, 28], wide, [2, 2], &[1, 2, 3], [Im2col; 2]),
            // 7x7: the shifted GEMMs from 64 input channels, at stride 1.
            (
                [2, 64, 56, 56],
                [64, 64, 7, 7],
                [1, 1],
                &[1, 2],
                [Shifted; 2],
            ),
            (
                [2, 32, 56, 56],
                [64, 32, 7, 7],
                [1, 1],
                &[1, 2],
                [Im2col; 2],
            ),
        ];
        for isa in Isa::available() {
            for (input, kernel, stride, dilations, [with_avx512, below]) in cases {
                let plan = Plan {
                    isa,
                    ..Plan::new(input, kernel, stride, dilations, BranchLayout::Shared)
                };
                let expected = if isa.level() >= Level::Avx512 {
                    with_avx512
                } else {
                    below
                };
                assert_eq!(ForwardStrategy::select(&plan), expected, "{plan:?}");
            }
        }
        // Stride 2 never takes the shifted GEMMs.
        let plan = Plan::new(
            [8, 64, 64, 64],
            [32, 64, 7, 7],
            [2, 2],
            &[1],
            BranchLayout::Shared,
        );
        assert_eq!(ForwardStrategy::select(&plan), Im2col);
    });
}
