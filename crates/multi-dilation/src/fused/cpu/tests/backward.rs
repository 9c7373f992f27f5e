//! Backward against finite differences and the direct-loop gradients: every strategy, every
//! choice of gradients asked for, and GEMMs split across threads.

use super::super::backward::{backward_using, lane_sum};
use super::super::gemm::Threads;
use super::super::strategy::BackwardStrategy;
use super::super::threads::gemm_threads;
use super::super::{Plan, backward, forward};
use super::plans;
use super::reference::{direct, input_len, loss, reference_grads, values};
use crate::shape::BranchLayout;

#[test]
fn backward_equals_finite_differences() {
    for (p, plan) in plans().into_iter().enumerate() {
        let input = values(input_len(&plan), 40 + p as u64);
        let kernel = values(plan.channels_out * plan.patch(), 50 + p as u64);
        let bias = values(plan.channels_out, 60 + p as u64);
        let weights = values(plan.output_len(), 70 + p as u64);
        let grads = backward(&plan, &input, &kernel, &weights, [true, true, true]);
        let eps = 1e-2f32;
        let check = |name: &str, analytic: &[f32], which: usize| {
            for (i, &g) in analytic.iter().enumerate() {
                let (mut x, mut k, mut b) = (input.clone(), kernel.clone(), bias.clone());
                let target = match which {
                    0 => &mut x,
                    1 => &mut k,
                    _ => &mut b,
                };
                target[i] += eps;
                let up = loss(&plan, &x, &k, &b, &weights);
                let target = match which {
                    0 => &mut x,
                    1 => &mut k,
                    _ => &mut b,
                };
                target[i] -= 2.0 * eps;
                let down = loss(&plan, &x, &k, &b, &weights);
                let numeric = ((up - down) / (2.0 * f64::from(eps))) as f32;
                assert!(
                    (numeric - g).abs() < 2e-3 * (1.0 + g.abs()),
                    "plan {p} d{name}[{i}]: analytic {g} numeric {numeric}"
                );
            }
        };
        check("input", grads.input.as_ref().unwrap(), 0);
        check("kernel", grads.kernel.as_ref().unwrap(), 1);
        check("bias", grads.bias.as_ref().unwrap(), 2);
        // Asking for less gives the same values for what is asked. At stride 1 the two calls
        // take different strategies (the kernel gradient from the output gradient's im2col, or
        // from the input's), which sum the same products in another order: each is within
        // `rounding_bound` of the exact sum, so they are within twice that of each other.
        let only_kernel = backward(&plan, &input, &kernel, &weights, [false, true, false]);
        assert!(only_kernel.input.is_none() && only_kernel.bias.is_none());
        let exact = &reference_grads(&plan, &input, &kernel, &weights)[1];
        let (a, b) = (only_kernel.kernel.unwrap(), grads.kernel.unwrap());
        assert_eq!((a.len(), b.len()), (exact.len(), exact.len()), "plan {p}");
        for (i, ((a, b), exact)) in a.iter().zip(&b).zip(exact).enumerate() {
            let bound = 2.0 * exact.rounding_bound();
            assert!(
                (f64::from(*a) - f64::from(*b)).abs() <= bound,
                "plan {p} dkernel[{i}]: {a} alone vs {b} with the others (bound {bound:e})"
            );
        }
    }
}

/// The strategies that apply to `plan`: the transposed GEMM needs stride 1, Winograd a 3x3
/// kernel at stride 1.
fn strategies(plan: &Plan) -> Vec<BackwardStrategy> {
    match (plan.stride, plan.kernel) {
        ([1, 1], [3, 3]) => vec![
            BackwardStrategy::TransposedGemm,
            BackwardStrategy::Col2im,
            BackwardStrategy::Winograd,
        ],
        ([1, 1], _) => vec![BackwardStrategy::TransposedGemm, BackwardStrategy::Col2im],
        _ => vec![BackwardStrategy::Col2im],
    }
}

/// Every strategy, forced, on every plan (default and one-row blocks) and every choice of
/// gradients asked for, against the direct-loop gradients within the rounding bound of `f32`.
#[test]
fn every_backward_strategy_equals_the_direct_loop() {
    for (p, plan) in plans().into_iter().enumerate() {
        let input = values(input_len(&plan), 80 + p as u64);
        let kernel = values(plan.channels_out * plan.patch(), 90 + p as u64);
        let grad = values(plan.output_len(), 100 + p as u64);
        let reference = reference_grads(&plan, &input, &kernel, &grad);
        for strategy in strategies(&plan) {
            for asked in 0..8 {
                let want = [asked & 1 != 0, asked & 2 != 0, asked & 4 != 0];
                let grads = backward_using(&plan, &input, &kernel, &grad, want, strategy);
                let got = [grads.input, grads.kernel, grads.bias];
                for (which, (got, exact)) in got.iter().zip(&reference).enumerate() {
                    let name = ["input", "kernel", "bias"][which];
                    let Some(got) = got else {
                        assert!(!want[which], "plan {p} {strategy:?}: d{name} missing");
                        continue;
                    };
                    assert!(want[which], "plan {p} {strategy:?}: d{name} not asked for");
                    assert_eq!(got.len(), exact.len(), "plan {p} {strategy:?}: d{name}");
                    for (i, (got, exact)) in got.iter().zip(exact).enumerate() {
                        let error = (f64::from(*got) - exact.value).abs();
                        assert!(
                            error <= exact.rounding_bound(),
                            "plan {p} {strategy:?} {want:?} d{name}[{i}]: {got} vs exact {} \
                             (bound {:e})",
                            exact.value,
                            exact.rounding_bound()
                        );
                    }
                }
            }
        }
    }
}

/// [`BackwardStrategy::select`] takes the transposed GEMM only at stride 1, for the input
/// gradient, when the input has at least half as many channels as the output, and Winograd for
/// the input gradient of wide 3x3 layers whose images have one branch each.
#[test]
fn backward_strategy_follows_the_channel_rule() {
    let plan = |cin, cout, stride| {
        Plan::new(
            [1, cin, 8, 8],
            [cout, cin, 3, 3],
            stride,
            &[1, 2],
            BranchLayout::Shared,
        )
    };
    let select = BackwardStrategy::select;
    let all = [true, true, true];
    assert_eq!(
        select(&plan(16, 32, [1, 1]), all),
        BackwardStrategy::TransposedGemm
    );
    assert_eq!(
        select(&plan(32, 16, [1, 1]), all),
        BackwardStrategy::TransposedGemm
    );
    assert_eq!(select(&plan(15, 32, [1, 1]), all), BackwardStrategy::Col2im);
    assert_eq!(select(&plan(1, 32, [1, 1]), all), BackwardStrategy::Col2im);
    assert_eq!(select(&plan(16, 16, [2, 1]), all), BackwardStrategy::Col2im);
    let no_input = [false, true, true];
    assert_eq!(
        select(&plan(16, 16, [1, 1]), no_input),
        BackwardStrategy::Col2im
    );
    // Where the forward takes Winograd (wide, and two maps per thread) and each image has one
    // branch (per-branch inputs), so does the input gradient; without an input gradient there
    // is nothing for it to do. Branches that share an image take the transposed GEMM on
    // their summed blocks instead.
    let wide = |rows, layout| {
        Plan::new(
            [rows, 256, 28, 28],
            [256, 256, 3, 3],
            [1, 1],
            &[1, 2, 3],
            layout,
        )
    };
    let (stacked, shared) = (
        wide(12, BranchLayout::Stacked),
        wide(4, BranchLayout::Shared),
    );
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("a pool of two threads");
    pool.install(|| {
        assert_eq!(select(&stacked, all), BackwardStrategy::Winograd);
        assert_eq!(select(&stacked, no_input), BackwardStrategy::Col2im);
        assert_eq!(select(&shared, all), BackwardStrategy::TransposedGemm);
        assert_eq!(select(&shared, no_input), BackwardStrategy::Col2im);
    });
}

#[test]
#[should_panic(expected = "needs stride 1")]
fn transposed_gemm_backward_rejects_a_stride() {
    let plan = Plan::new(
        [1, 2, 6, 6],
        [2, 2, 3, 3],
        [2, 2],
        &[1],
        BranchLayout::Shared,
    );
    let (input, kernel) = (
        values(plan.image(), 1),
        values(plan.channels_out * plan.patch(), 2),
    );
    let grad = values(plan.output_len(), 3);
    backward_using(
        &plan,
        &input,
        &kernel,
        &grad,
        [true; 3],
        BackwardStrategy::TransposedGemm,
    );
}

/// With fewer maps and images than threads (one image; three branch inputs), every GEMM is
/// split across the threads ([`gemm_threads`]): forward and every backward
/// strategy still equal the direct loops. Run in a pool of two threads, so that the split
/// happens whatever this machine's core count.
#[test]
fn gemms_split_across_threads_equal_the_direct_loop() {
    let plans = [
        Plan::new(
            [1, 64, 24, 24],
            [128, 64, 3, 3],
            [1, 1],
            &[1, 2, 3],
            BranchLayout::Shared,
        ),
        Plan::new(
            [3, 64, 24, 24],
            [128, 64, 3, 3],
            [1, 1],
            &[1, 2, 3],
            BranchLayout::Stacked,
        ),
    ];
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("a pool of two threads");
    pool.install(|| {
        for (p, plan) in plans.iter().enumerate() {
            let flops = 2.0 * (plan.map() * plan.patch()) as f64;
            let units = plan.input_images().min(plan.batch * plan.branches.len());
            assert_eq!(gemm_threads(units, flops), Threads::All);
            let input = values(input_len(plan), 110 + p as u64);
            let kernel = values(plan.channels_out * plan.patch(), 120 + p as u64);
            let bias = values(plan.channels_out, 130 + p as u64);
            // Every term is below 1 in size: an f32 sum of `patch + 1` of them, in any order,
            // lies within `(patch + 1) * eps * (patch + 1)` of the exact sum (Higham 3.1), and
            // so does the direct loop's.
            let terms = (plan.patch() + 1) as f32;
            let bound = 2.0 * terms * terms * f32::EPSILON;
            let fused = forward(plan, &input, &kernel, &bias, false);
            for (i, (a, b)) in fused
                .iter()
                .zip(direct(plan, &input, &kernel, &bias))
                .enumerate()
            {
                assert!((a - b).abs() <= bound, "plan {p} output {i}: {a} vs {b}");
            }
            let grad = values(plan.output_len(), 140 + p as u64);
            let reference = reference_grads(plan, &input, &kernel, &grad);
            for strategy in strategies(plan) {
                let grads = backward_using(plan, &input, &kernel, &grad, [true; 3], strategy);
                let got = [grads.input, grads.kernel, grads.bias];
                for (which, (got, exact)) in got.iter().zip(&reference).enumerate() {
                    let got = got.as_ref().expect("asked for every gradient");
                    for (i, (got, exact)) in got.iter().zip(exact).enumerate() {
                        assert!(
                            (f64::from(*got) - exact.value).abs() <= exact.rounding_bound(),
                            "plan {p} {strategy:?} gradient {which} [{i}]: {got} vs {}",
                            exact.value
                        );
                    }
                }
            }
        }
    });
}

/// The bias gradient's reduction against an f64 sum, on lengths that leave every remainder of
/// its 16 lanes (none, one, fifteen) and none at all, within the bound of an f32 sum in any
/// order (Higham 3.1); and on values where a dropped or repeated element would show: powers
/// of two, whose f32 sum is exact.
#[test]
fn lane_sum_equals_the_sum() {
    for (n, seed) in [
        (0, 1),
        (1, 2),
        (15, 3),
        (16, 4),
        (17, 5),
        (47, 6),
        (1000, 7),
    ] {
        let values = values(n, seed);
        let exact: f64 = values.iter().map(|v| f64::from(*v)).sum();
        let size: f64 = values.iter().map(|v| f64::from(v.abs())).sum();
        let bound = (n + 1) as f64 * f64::from(f32::EPSILON) * size;
        let got = f64::from(lane_sum(&values));
        assert!((got - exact).abs() <= bound, "{n} values: {got} vs {exact}");
        let powers: Vec<f32> = (0..n).map(|k| (k % 20) as f32 * 2f32.powi(-5)).collect();
        let exact: f32 = powers.iter().sum();
        assert_eq!(lane_sum(&powers), exact, "{n} powers of two");
    }
}
