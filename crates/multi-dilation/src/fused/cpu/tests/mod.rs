//! Tests of the CPU kernel against direct loops: the im2col matrices against their definition,
//! forward against the convolution as a loop ([`reference`]), and in [`backward`] every
//! backward [`Strategy`](super::backward::Strategy), forced, against gradients by direct loops
//! and by finite differences. Every plan is tested twice, with the default im2col blocks and cut
//! into one-row blocks. The GEMM wrapper's tests are in [`gemm`](super::gemm).

mod backward;
mod reference;

use std::ops::Range;

use super::plan::Taps;
use super::{Plan, forward};
pub(super) use reference::values;
use reference::{direct, input_len};

/// Every geometry twice: with the default im2col blocks (one block on these sizes) and
/// with one target row per block.
fn plans() -> Vec<Plan> {
    let plans = [
        Plan::new([2, 3, 7, 6], [4, 3, 3, 3], [1, 1], &[1, 2, 3], false),
        Plan::new([1, 2, 9, 8], [3, 2, 3, 2], [2, 1], &[1, 3], false),
        Plan::new([2, 1, 5, 5], [2, 1, 5, 5], [1, 2], &[2, 4], false),
        Plan::new([1, 2, 6, 7], [2, 2, 1, 3], [3, 3], &[1], false),
        // Stride 1 takes the transposed-convolution input gradient: even and rectangular
        // kernels (asymmetric padding), and dilations wider than the image.
        Plan::new([2, 2, 6, 9], [3, 2, 2, 4], [1, 1], &[1, 3], false),
        Plan::new([1, 3, 5, 4], [2, 3, 5, 3], [1, 1], &[2, 5], false),
        // Branch-parallel: each branch convolves images of its own, stacked on the batch axis.
        Plan::new([6, 2, 7, 6], [4, 2, 3, 3], [1, 1], &[1, 2, 3], true),
        Plan::new([2, 2, 9, 8], [3, 2, 3, 2], [2, 1], &[1, 3], true),
        Plan::new([4, 1, 6, 9], [3, 1, 2, 4], [1, 1], &[3, 1], true),
    ];
    let one_row = plans.clone().map(|plan| Plan {
        block_bytes: 1,
        block_columns: 0,
        ..plan
    });
    plans.into_iter().chain(one_row).collect()
}

/// Every im2col (the shifted fast path at stride 1 and the per-row runs otherwise) against
/// its definition, entry by entry, for the input and output-gradient taps of every plan.
#[test]
fn im2col_equals_its_definition() {
    for plan in plans() {
        for branch in 0..plan.branches.len() {
            let mut all = vec![plan.input_taps(branch)];
            if plan.stride == [1, 1] {
                all.push(plan.grad_taps(branch));
            }
            for taps in all {
                let [height, width] = taps.source;
                let source = values(taps.channels * height * width, 3);
                let mut scratch = vec![f32::NAN; taps.block_len()];
                let mut seen = 0;
                taps.blocks(&source, &mut scratch, |columns, block| {
                    assert_eq!(columns.start, seen, "{taps:?}: blocks in order");
                    seen = columns.end;
                    check_block(&taps, &source, columns, block);
                });
                assert_eq!(seen, taps.columns(), "{taps:?}: every column");
            }
        }
    }
}

/// `block` holds columns `columns` of the im2col matrix of `taps` over `source`.
fn check_block(taps: &Taps, source: &[f32], columns: Range<usize>, block: &[f32]) {
    let [height, width] = taps.source;
    assert_eq!(block.len(), taps.rows() * columns.len());
    for (index, got) in block.iter().enumerate() {
        let (row, column) = (index / columns.len(), columns.start + index % columns.len());
        let (c, tap) = (
            row / (taps.kernel[0] * taps.kernel[1]),
            row % (taps.kernel[0] * taps.kernel[1]),
        );
        let (i, j) = (tap / taps.kernel[1], tap % taps.kernel[1]);
        let (ty, tx) = (column / taps.target[1], column % taps.target[1]);
        let y = (ty * taps.stride[0]) as isize + taps.start[0] + i as isize * taps.step[0];
        let x = (tx * taps.stride[1]) as isize + taps.start[1] + j as isize * taps.step[1];
        let want = if (0..height as isize).contains(&y) && (0..width as isize).contains(&x) {
            source[(c * height + y as usize) * width + x as usize]
        } else {
            0.0
        };
        assert_eq!(*got, want, "{taps:?}: row {row} column {column}");
    }
}

#[test]
fn forward_equals_a_direct_loop() {
    for (p, plan) in plans().into_iter().enumerate() {
        let input = values(input_len(&plan), 10 + p as u64);
        let kernel = values(plan.channels_out * plan.patch(), 20 + p as u64);
        let bias = values(plan.channels_out, 30 + p as u64);
        let fused = forward(&plan, &input, &kernel, &bias, false);
        let reference = direct(&plan, &input, &kernel, &bias);
        assert_eq!(fused.len(), reference.len());
        for (i, (a, b)) in fused.iter().zip(&reference).enumerate() {
            assert!((a - b).abs() < 1e-5, "plan {p} index {i}: {a} vs {b}");
        }
        let rectified = forward(&plan, &input, &kernel, &bias, true);
        assert!(rectified.contains(&0.0) && rectified.iter().any(|v| *v > 0.0));
        // The same GEMMs on the same values, then the ReLU: bit-identical.
        for (a, b) in rectified.iter().zip(&fused) {
            assert_eq!(*a, b.max(0.0), "plan {p}: ReLU epilogue");
        }
    }
}
