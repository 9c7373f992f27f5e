//! The direct forward ([`ForwardStrategy::Direct`]), forced, on plans that reach every kind of
//! tile: one and two vectors of output channels with a last block of channels past the
//! layer's last, rows cut into several tiles with outputs past the row's end, strides 1 and 2,
//! dilations wider than the image, whole images per task and bands of rows of one image, and
//! per-branch inputs; at AVX2 and AVX-512 where this machine runs them.

use super::super::forward::forward_using;
use super::super::isa::{Isa, Level};
use super::super::strategy::ForwardStrategy;
use super::{Plan, at_every_isa, exact, input_len, values};
use crate::shape::BranchLayout;

/// Each output within the bound of a direct `f32` sum of its `in * kh * kw + 1` terms in any
/// order, `(in * kh * kw + 2) * eps` times their sizes (Higham, Accuracy and Stability of
/// Numerical Algorithms, 3.1): the tile sums them in one order with fused multiply-adds, so a
/// wrong tap, pixel or channel gives an error of the outputs' own size. The ReLU epilogue is
/// the ReLU of the same sums, bit for bit. Each output starts from memory just freed full of
/// NaN, so every output must be written.
#[test]
fn direct_forward_is_within_the_rounding_bound_of_the_convolution() {
    let plans = [
        // Two vectors of channels (AVX-512: one block of 32 and one of 8 with 24 past the
        // end), 29 outputs a row (tiles of 10, 10 and 9 with AVX-512, of 6 and 5 with AVX2),
        // horizontal stride 2, a dilation past the map.
        Plan::new(
            [1, 5, 13, 57],
            [40, 5, 3, 3],
            [1, 2],
            &[1, 3, 15],
            BranchLayout::Shared,
        ),
        // Enough images for whole images per task; a 2x3 kernel (asymmetric padding) at
        // vertical stride 2.
        Plan::new(
            [5, 3, 9, 30],
            [17, 3, 2, 3],
            [2, 1],
            &[2, 1],
            BranchLayout::Shared,
        ),
        // One vector of channels (at most 8), 7x7 kernel, input channels in several chunks
        // (`Tiles::chunk`: 5 or 10 of the 12 per pass).
        Plan::new(
            [2, 12, 11, 14],
            [6, 12, 7, 7],
            [1, 1],
            &[1, 2],
            BranchLayout::Shared,
        ),
        // Per-branch inputs.
        Plan::new(
            [6, 2, 8, 8],
            [9, 2, 3, 3],
            [1, 1],
            &[1, 2, 4],
            BranchLayout::Stacked,
        ),
    ];
    let eps = f64::from(f32::EPSILON);
    let mut tested = 0;
    for (p, plan) in at_every_isa(plans).into_iter().enumerate() {
        if plan.isa.level() < Level::Avx2 {
            continue;
        }
        let input = values(input_len(&plan), 400 + p as u64);
        let kernel = values(plan.channels_out * plan.patch(), 500 + p as u64);
        let bias = values(plan.channels_out, 600 + p as u64);
        let reference = exact(&plan, &input, &kernel, &bias);
        // The output is not zeroed before it is written: a block of its size full of NaN is
        // freed first, so that the allocator likely hands it back and an output the forward
        // did not write fails the bound.
        let run = |relu| {
            drop(std::hint::black_box(vec![f32::NAN; reference.len()]));
            forward_using(&plan, &input, &kernel, &bias, relu, ForwardStrategy::Direct)
        };
        let got = run(false);
        assert_eq!(got.len(), reference.len());
        for (i, (got, [value, size])) in got.iter().zip(&reference).enumerate() {
            let bound = (plan.patch() + 2) as f64 * eps * size;
            assert!(
                (f64::from(*got) - value).abs() <= bound,
                "plan {p} ({:?}) output {i}: {got} vs {value} (bound {bound})",
                plan.isa
            );
        }
        let rectified = run(true);
        for (a, b) in rectified.iter().zip(&got) {
            assert_eq!(*a, b.max(0.0), "plan {p}: ReLU epilogue");
        }
        tested += 1;
    }
    let vector_levels = Isa::available()
        .into_iter()
        .filter(|isa| isa.level() >= Level::Avx2)
        .count();
    assert_eq!(tested, 4 * vector_levels);
}

#[test]
#[should_panic(expected = "the direct forward needs AVX2")]
fn direct_forward_rejects_the_baseline_level() {
    let plan = Plan {
        isa: Isa::available()[0],
        ..Plan::new(
            [1, 2, 6, 6],
            [2, 2, 3, 3],
            [1, 1],
            &[1],
            BranchLayout::Shared,
        )
    };
    let input = values(input_len(&plan), 1);
    forward_using(
        &plan,
        &input,
        &[0.0; 36],
        &[0.0; 2],
        false,
        ForwardStrategy::Direct,
    );
}
