//! Tests of the CPU kernel against direct loops: the im2col matrices against their definition,
//! forward against the convolution as a loop ([`reference`]), and in [`backward`] every
//! [`BackwardStrategy`](super::strategy::BackwardStrategy), forced, against gradients by
//! direct loops and by finite differences. Every plan is tested twice, with the default im2col
//! blocks and cut into one-row blocks, and each at every instruction-set level this machine runs
//! ([`Isa::available`]). The GEMM wrapper's tests are in [`gemm`](super::gemm).

mod backward;
mod direct;
mod pieces;
mod reference;
mod strategy;

use std::ops::Range;

use super::Plan;
use super::forward::forward_using;
use super::isa::{Isa, Level};
use super::plan::Taps;
use super::strategy::ForwardStrategy;
use crate::shape::BranchLayout;
pub(super) use reference::values;
use reference::{direct, exact, input_len};

/// Every geometry twice, with the default im2col blocks (one block on these sizes) and with
/// one target row per block, each at every instruction-set level ([`at_every_isa`]).
fn plans() -> Vec<Plan> {
    let plans = [
        Plan::new(
            [2, 3, 7, 6],
            [4, 3, 3, 3],
            [1, 1],
            &[1, 2, 3],
            BranchLayout::Shared,
        ),
        Plan::new(
            [1, 2, 9, 8],
            [3, 2, 3, 2],
            [2, 1],
            &[1, 3],
            BranchLayout::Shared,
        ),
        Plan::new(
            [2, 1, 5, 5],
            [2, 1, 5, 5],
            [1, 2],
            &[2, 4],
            BranchLayout::Shared,
        ),
        Plan::new(
            [1, 2, 6, 7],
            [2, 2, 1, 3],
            [3, 3],
            &[1],
            BranchLayout::Shared,
        ),
        // Stride 1 takes the transposed-convolution input gradient: even and rectangular
        // kernels (asymmetric padding), and dilations wider than the image.
        Plan::new(
            [2, 2, 6, 9],
            [3, 2, 2, 4],
            [1, 1],
            &[1, 3],
            BranchLayout::Shared,
        ),
        Plan::new(
            [1, 3, 5, 4],
            [2, 3, 5, 3],
            [1, 1],
            &[2, 5],
            BranchLayout::Shared,
        ),
        // Branch-parallel: each branch convolves images of its own, stacked on the batch axis.
        Plan::new(
            [6, 2, 7, 6],
            [4, 2, 3, 3],
            [1, 1],
            &[1, 2, 3],
            BranchLayout::Stacked,
        ),
        Plan::new(
            [2, 2, 9, 8],
            [3, 2, 3, 2],
            [2, 1],
            &[1, 3],
            BranchLayout::Stacked,
        ),
        Plan::new(
            [4, 1, 6, 9],
            [3, 1, 2, 4],
            [1, 1],
            &[3, 1],
            BranchLayout::Stacked,
        ),
    ];
    let one_row = plans.clone().map(|plan| Plan {
        block_bytes: 1,
        block_columns: 0,
        ..plan
    });
    at_every_isa(plans.into_iter().chain(one_row))
}

/// Each plan once per instruction-set level this machine runs: the kernel's loops are compiled
/// once per level ([`isa`](super::isa)), and each copy is tested.
fn at_every_isa(plans: impl IntoIterator<Item = Plan>) -> Vec<Plan> {
    let levels = Isa::available();
    plans
        .into_iter()
        .flat_map(|plan| {
            levels.iter().map(move |&isa| Plan {
                isa,
                ..plan.clone()
            })
        })
        .collect()
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

/// The branches' output-gradient matrices of every plan at stride 1, summed block by block
/// ([`Taps::summed_blocks`]), against the sum of their definitions entry by entry, added in
/// branch order as the blocks add them (so equal bit for bit).
#[test]
fn summed_blocks_equal_the_sum_of_definitions() {
    for plan in plans().into_iter().filter(|plan| plan.stride == [1, 1]) {
        let sources: Vec<Vec<f32>> = (0..plan.branches.len())
            .map(|branch| values(plan.map(), 40 + branch as u64))
            .collect();
        let parts: Vec<(Taps, &[f32])> = sources
            .iter()
            .enumerate()
            .map(|(branch, source)| (plan.grad_taps(branch), source.as_slice()))
            .collect();
        let mut scratch = vec![f32::NAN; parts[0].0.block_len()];
        let mut seen = 0;
        Taps::summed_blocks(&parts, &mut scratch, |columns, block| {
            assert_eq!(columns.start, seen, "{plan:?}: blocks in order");
            seen = columns.end;
            assert_eq!(block.len(), parts[0].0.rows() * columns.len());
            for (index, got) in block.iter().enumerate() {
                let (row, column) = (index / columns.len(), columns.start + index % columns.len());
                let want = parts.iter().fold(0.0f32, |sum, (taps, source)| {
                    sum + definition(taps, source, row, column)
                });
                assert_eq!(*got, want, "{plan:?}: row {row} column {column}");
            }
        });
        assert_eq!(seen, parts[0].0.columns(), "{plan:?}: every column");
    }
}

/// `block` holds columns `columns` of the im2col matrix of `taps` over `source`.
fn check_block(taps: &Taps, source: &[f32], columns: Range<usize>, block: &[f32]) {
    assert_eq!(block.len(), taps.rows() * columns.len());
    for (index, got) in block.iter().enumerate() {
        let (row, column) = (index / columns.len(), columns.start + index % columns.len());
        let want = definition(taps, source, row, column);
        assert_eq!(*got, want, "{taps:?}: row {row} column {column}");
    }
}

/// Entry `(row, column)` of the im2col matrix of `taps` over `source`, from its definition.
fn definition(taps: &Taps, source: &[f32], row: usize, column: usize) -> f32 {
    let [height, width] = taps.source;
    let (c, tap) = (
        row / (taps.kernel[0] * taps.kernel[1]),
        row % (taps.kernel[0] * taps.kernel[1]),
    );
    let (i, j) = (tap / taps.kernel[1], tap % taps.kernel[1]);
    let (ty, tx) = (column / taps.target[1], column % taps.target[1]);
    let y = (ty * taps.stride[0]) as isize + taps.start[0] + i as isize * taps.step[0];
    let x = (tx * taps.stride[1]) as isize + taps.start[1] + j as isize * taps.step[1];
    if (0..height as isize).contains(&y) && (0..width as isize).contains(&x) {
        source[(c * height + y as usize) * width + x as usize]
    } else {
        0.0
    }
}

/// The im2col forward, at stride 1 the shifted-GEMM forward, and from AVX2 on the direct
/// forward, each forced, against the direct loop; the ReLU epilogue against the ReLU of the plain output.
#[test]
fn forward_equals_a_direct_loop() {
    for (p, plan) in plans().into_iter().enumerate() {
        let input = values(input_len(&plan), 10 + p as u64);
        let kernel = values(plan.channels_out * plan.patch(), 20 + p as u64);
        let bias = values(plan.channels_out, 30 + p as u64);
        let reference = direct(&plan, &input, &kernel, &bias);
        let mut strategies = vec![ForwardStrategy::Im2col];
        if plan.stride == [1, 1] {
            strategies.push(ForwardStrategy::Shifted);
        }
        if plan.isa.level() >= Level::Avx2 && plan.stride[1] <= 2 {
            strategies.push(ForwardStrategy::Direct);
        }
        for strategy in strategies {
            let run = |relu| forward_using(&plan, &input, &kernel, &bias, relu, strategy);
            let fused = run(false);
            assert_eq!(fused.len(), reference.len());
            for (i, (a, b)) in fused.iter().zip(&reference).enumerate() {
                assert!(
                    (a - b).abs() < 1e-5,
                    "plan {p} ({:?}, {strategy:?}) index {i}: {a} vs {b}",
                    plan.isa
                );
            }
            let rectified = run(true);
            assert!(rectified.contains(&0.0) && rectified.iter().any(|v| *v > 0.0));
            // The same GEMMs on the same values, then the ReLU: bit-identical.
            for (a, b) in rectified.iter().zip(&fused) {
                assert_eq!(*a, b.max(0.0), "plan {p} ({strategy:?}): ReLU epilogue");
            }
        }
    }
}

/// The Winograd forward, forced, against the direct loop on 3x3 kernels at stride 1: maps of
/// odd and even sizes (phases of unequal sizes, tiles cut at the map's edge), dilations up to
/// and past the map's size (phases of one row or column, and phases that do not exist), and
/// per-branch inputs. Each output is a sum of 9 * in products of values below 1, which the
/// transforms compute by adding and subtracting up to 16 of them in other orders: within 1e-5
/// (the inputs' transforms are sums of four values; the kernel's, halves of sums of three).
#[test]
fn winograd_forward_equals_a_direct_loop() {
    let plans = [
        Plan::new(
            [2, 3, 7, 6],
            [4, 3, 3, 3],
            [1, 1],
            &[1, 2, 3],
            BranchLayout::Shared,
        ),
        Plan::new(
            [1, 5, 9, 8],
            [3, 5, 3, 3],
            [1, 1],
            &[1, 4, 8, 9],
            BranchLayout::Shared,
        ),
        Plan::new(
            [2, 2, 5, 11],
            [2, 2, 3, 3],
            [1, 1],
            &[3, 6, 12],
            BranchLayout::Shared,
        ),
        Plan::new(
            [1, 1, 1, 1],
            [2, 1, 3, 3],
            [1, 1],
            &[1, 2],
            BranchLayout::Shared,
        ),
        Plan::new(
            [6, 2, 7, 6],
            [4, 2, 3, 3],
            [1, 1],
            &[1, 2, 3],
            BranchLayout::Stacked,
        ),
    ];
    for (p, plan) in at_every_isa(plans).into_iter().enumerate() {
        let input = values(input_len(&plan), 200 + p as u64);
        let kernel = values(plan.channels_out * plan.patch(), 210 + p as u64);
        let bias = values(plan.channels_out, 220 + p as u64);
        let reference = direct(&plan, &input, &kernel, &bias);
        for relu in [false, true] {
            let got = forward_using(
                &plan,
                &input,
                &kernel,
                &bias,
                relu,
                ForwardStrategy::Winograd,
            );
            assert_eq!(got.len(), reference.len());
            for (i, (a, b)) in got.iter().zip(&reference).enumerate() {
                let b = if relu { b.max(0.0) } else { *b };
                assert!(
                    (a - b).abs() < 1e-5,
                    "plan {p} ({:?}) relu {relu} index {i}: {a} vs {b}",
                    plan.isa
                );
            }
        }
    }
}

/// The Winograd forward with many channels, against the convolution in `f64`: each output
/// within the bound of a direct `f32` sum of its terms, `(9 * in + 1) * eps` times their
/// sizes (Higham 3.1). Winograd sums transformed values instead (the GEMM over the channels,
/// the transforms over a tile), so this is not a theorem for it but a requirement: F(2x2, 3x3)
/// is measured far inside it (about 0.3 eps times the terms' size here, against 1441 allowed),
/// while an error in the algorithm (a tap, a phase, a tile at the edge) is of the size of the
/// outputs.
#[test]
fn winograd_forward_with_many_channels_is_within_its_rounding_bound() {
    let plan = Plan::new(
        [2, 160, 7, 9],
        [12, 160, 3, 3],
        [1, 1],
        &[1, 2, 4],
        BranchLayout::Shared,
    );
    let input = values(input_len(&plan), 300);
    let kernel = values(plan.channels_out * plan.patch(), 301);
    let bias = values(plan.channels_out, 302);
    let got = forward_using(
        &plan,
        &input,
        &kernel,
        &bias,
        false,
        ForwardStrategy::Winograd,
    );
    let reference = exact(&plan, &input, &kernel, &bias);
    let eps = f64::from(f32::EPSILON);
    let mut worst: f64 = 0.0;
    for (i, (got, [value, size])) in got.iter().zip(&reference).enumerate() {
        let error = (f64::from(*got) - value).abs();
        let bound = 36.0 * (plan.channels_in + 16) as f64 * eps * size;
        assert!(
            error <= bound,
            "output {i}: {got} vs {value} (bound {bound})"
        );
        worst = worst.max(error / (eps * size));
    }
    eprintln!("worst error / (eps * size): {worst}");
}

#[test]
#[should_panic(expected = "the Winograd forward needs a 3x3 kernel at stride 1")]
fn winograd_forward_rejects_other_kernels() {
    let plan = Plan::new(
        [1, 2, 6, 6],
        [2, 2, 5, 5],
        [1, 1],
        &[1],
        BranchLayout::Shared,
    );
    let input = values(input_len(&plan), 1);
    let kernel = values(plan.channels_out * plan.patch(), 2);
    forward_using(
        &plan,
        &input,
        &kernel,
        &[0.0; 2],
        false,
        ForwardStrategy::Winograd,
    );
}
