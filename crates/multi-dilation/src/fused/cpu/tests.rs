//! Tests of the CPU kernel against direct loops: the im2col matrices against their definition,
//! forward against the convolution as a loop, backward (every [`Strategy`], forced) against
//! gradients by direct loops and by finite differences. Every plan is tested twice, with the
//! default im2col blocks and cut into one-row blocks. The GEMM wrapper's tests are in
//! [`gemm`](super::gemm).

use std::ops::Range;

use super::backward::{Strategy, backward_with};
use super::plan::Taps;
use super::{Plan, backward, forward};

/// Deterministic values in [-1, 1).
pub(super) fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

/// The convolution as a direct loop over output, channel and tap, with explicit bounds.
fn direct(plan: &Plan, input: &[f32], kernel: &[f32], bias: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0; plan.output_len()];
    let [kh, kw] = plan.kernel;
    let (h, w) = (plan.height as isize, plan.width as isize);
    for b in 0..plan.batch {
        for (n, &(d, top, left)) in plan.branches.iter().enumerate() {
            for o in 0..plan.channels_out {
                for oy in 0..plan.out_height {
                    for ox in 0..plan.out_width {
                        let mut sum = bias[o];
                        for c in 0..plan.channels_in {
                            for i in 0..kh {
                                for j in 0..kw {
                                    let iy = (oy * plan.stride[0] + i * d) as isize - top as isize;
                                    let ix = (ox * plan.stride[1] + j * d) as isize - left as isize;
                                    if iy < 0 || ix < 0 || iy >= h || ix >= w {
                                        continue;
                                    }
                                    let x = input[((input_image(plan, b, n) * plan.channels_in
                                        + c)
                                        * plan.height
                                        + iy as usize)
                                        * plan.width
                                        + ix as usize];
                                    sum +=
                                        x * kernel[((o * plan.channels_in + c) * kh + i) * kw + j];
                                }
                            }
                        }
                        let index = ((output_map(plan, b, n) * plan.channels_out + o)
                            * plan.out_height
                            + oy)
                            * plan.out_width
                            + ox;
                        out[index] = sum;
                    }
                }
            }
        }
    }
    out
}

/// Which input image branch `n` of image `b` reads: image `b` of the one input, or, for
/// per-branch inputs stacked branch-major on the batch axis, image `n * batch + b`.
fn input_image(plan: &Plan, b: usize, n: usize) -> usize {
    if plan.per_branch_input {
        n * plan.batch + b
    } else {
        b
    }
}

/// Which output map branch `n` of image `b` is: `[batch, branches]` order, or `[branches,
/// batch]` for per-branch inputs.
fn output_map(plan: &Plan, b: usize, n: usize) -> usize {
    if plan.per_branch_input {
        n * plan.batch + b
    } else {
        b * plan.branches.len() + n
    }
}

/// Elements of the whole input of `plan`.
fn input_len(plan: &Plan) -> usize {
    let stacks = if plan.per_branch_input {
        plan.branches.len()
    } else {
        1
    };
    plan.batch * stacks * plan.channels_in * plan.height * plan.width
}

/// `sum(weights * conv(input))`, the scalar whose gradients [`backward`] computes when
/// `weights` is the output gradient.
fn loss(plan: &Plan, input: &[f32], kernel: &[f32], bias: &[f32], weights: &[f32]) -> f64 {
    direct(plan, input, kernel, bias)
        .iter()
        .zip(weights)
        .map(|(y, w)| f64::from(*y) * f64::from(*w))
        .sum()
}

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

/// One entry of a gradient by a direct loop: the exact sum of its terms (products of two `f32`,
/// exact in `f64`), the sum of their absolute values and their count.
#[derive(Clone, Copy, Debug, Default)]
struct Exact {
    value: f64,
    magnitude: f64,
    terms: usize,
}

impl Exact {
    /// Adds one term.
    fn add(&mut self, term: f64) {
        self.value += term;
        self.magnitude += term.abs();
        self.terms += 1;
    }

    /// How far an `f32` evaluation of this sum, in any order and grouping, may lie from the
    /// exact value: `gamma_n * sum |term|` with `gamma_n = n u / (1 - n u)` and `u = 2^-24`, the
    /// standard bound for a sum of `n` products (Higham, Accuracy and Stability of Numerical
    /// Algorithms, 3.1). The kernels' extra terms (the zeros of the padding) add exactly. The
    /// `f64` reference's own error is 2^29 times smaller and is covered by rounding `n` up.
    fn rounding_bound(&self) -> f64 {
        let nu = (self.terms + 1) as f64 * f64::from(f32::EPSILON) / 2.0;
        nu / (1.0 - nu) * self.magnitude
    }
}

/// The input, kernel and bias gradients of [`loss`] by direct loops over every output, input
/// channel and tap (the same bounds as [`direct`]).
// Indices spell out the formula, which is the point of a reference.
#[allow(clippy::needless_range_loop)]
fn reference_grads(plan: &Plan, input: &[f32], kernel: &[f32], grad: &[f32]) -> [Vec<Exact>; 3] {
    let mut gx = vec![Exact::default(); input.len()];
    let mut gw = vec![Exact::default(); kernel.len()];
    let mut gb = vec![Exact::default(); plan.channels_out];
    let [kh, kw] = plan.kernel;
    let (cin, h, w) = (plan.channels_in, plan.height as isize, plan.width as isize);
    for b in 0..plan.batch {
        for (n, &(d, top, left)) in plan.branches.iter().enumerate() {
            for o in 0..plan.channels_out {
                for oy in 0..plan.out_height {
                    for ox in 0..plan.out_width {
                        let at = ((output_map(plan, b, n) * plan.channels_out + o)
                            * plan.out_height
                            + oy)
                            * plan.out_width
                            + ox;
                        let g = f64::from(grad[at]);
                        gb[o].add(g);
                        for c in 0..cin {
                            for i in 0..kh {
                                for j in 0..kw {
                                    let iy = (oy * plan.stride[0] + i * d) as isize - top as isize;
                                    let ix = (ox * plan.stride[1] + j * d) as isize - left as isize;
                                    if iy < 0 || ix < 0 || iy >= h || ix >= w {
                                        continue;
                                    }
                                    let x_at = ((input_image(plan, b, n) * cin + c) * plan.height
                                        + iy as usize)
                                        * plan.width
                                        + ix as usize;
                                    let w_at = ((o * cin + c) * kh + i) * kw + j;
                                    gx[x_at].add(g * f64::from(kernel[w_at]));
                                    gw[w_at].add(g * f64::from(input[x_at]));
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    [gx, gw, gb]
}

/// The strategies that apply to `plan`: the transposed GEMM needs stride 1.
fn strategies(plan: &Plan) -> Vec<Strategy> {
    if plan.stride == [1, 1] {
        vec![Strategy::TransposedGemm, Strategy::Col2im]
    } else {
        vec![Strategy::Col2im]
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
                let grads = backward_with(&plan, &input, &kernel, &grad, want, strategy);
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

/// [`Strategy::select`] takes the transposed GEMM only at stride 1, for the input gradient,
/// when the input has at least half as many channels as the output.
#[test]
fn backward_strategy_follows_the_channel_rule() {
    let plan =
        |cin, cout, stride| Plan::new([1, cin, 8, 8], [cout, cin, 3, 3], stride, &[1, 2], false);
    let select = Strategy::select;
    let all = [true, true, true];
    assert_eq!(select(&plan(16, 32, [1, 1]), all), Strategy::TransposedGemm);
    assert_eq!(select(&plan(32, 16, [1, 1]), all), Strategy::TransposedGemm);
    assert_eq!(select(&plan(15, 32, [1, 1]), all), Strategy::Col2im);
    assert_eq!(select(&plan(1, 32, [1, 1]), all), Strategy::Col2im);
    assert_eq!(select(&plan(16, 16, [2, 1]), all), Strategy::Col2im);
    let no_input = [false, true, true];
    assert_eq!(select(&plan(16, 16, [1, 1]), no_input), Strategy::Col2im);
}

#[test]
#[should_panic(expected = "needs stride 1")]
fn transposed_gemm_backward_rejects_a_stride() {
    let plan = Plan::new([1, 2, 6, 6], [2, 2, 3, 3], [2, 2], &[1], false);
    let (input, kernel) = (
        values(plan.image(), 1),
        values(plan.channels_out * plan.patch(), 2),
    );
    let grad = values(plan.output_len(), 3);
    backward_with(
        &plan,
        &input,
        &kernel,
        &grad,
        [true; 3],
        Strategy::TransposedGemm,
    );
}

/// With fewer maps and images than threads (one image; three branch inputs), every GEMM is
/// split across the threads ([`gemm_threads`](super::gemm_threads)): forward and every backward
/// strategy still equal the direct loops. Run in a pool of two threads, as on the benchmark
/// machine, so that the split happens whatever this machine's core count.
#[test]
fn gemms_split_across_threads_equal_the_direct_loop() {
    let plans = [
        Plan::new([1, 64, 24, 24], [128, 64, 3, 3], [1, 1], &[1, 2, 3], false),
        Plan::new([3, 64, 24, 24], [128, 64, 3, 3], [1, 1], &[1, 2, 3], true),
    ];
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("a pool of two threads");
    pool.install(|| {
        for (p, plan) in plans.iter().enumerate() {
            let flops = 2.0 * (plan.map() * plan.patch()) as f64;
            let units = plan.input_images().min(plan.batch * plan.branches.len());
            assert_eq!(super::gemm_threads(units, flops), super::Threads::All);
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
                let grads = backward_with(plan, &input, &kernel, &grad, [true; 3], strategy);
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
