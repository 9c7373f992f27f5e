//! The references the kernel's tests compare against: deterministic inputs, the convolution
//! and its gradients as direct loops over every output, channel and tap (the gradients exact in
//! `f64`, with the rounding bound of an `f32` sum of their terms).

use super::super::Plan;
use crate::shape::BranchLayout;

/// Deterministic values in [-1, 1).
pub(in super::super) fn values(n: usize, seed: u64) -> Vec<f32> {
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

/// Every product of the convolution as a direct loop with explicit bounds, in the order image,
/// branch, output channel, row, column, then input channel and tap: `visit(output, o, None)`
/// for each output entry (its index and output channel), then `visit(output, o, Some((input,
/// weight)))` for each of its taps that lands inside the input (the indices of the input and
/// kernel entries it multiplies). Taps in the padding are skipped.
fn for_each_term(plan: &Plan, mut visit: impl FnMut(usize, usize, Option<(usize, usize)>)) {
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
                        visit(at, o, None);
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
                                    visit(at, o, Some((x_at, w_at)));
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The convolution as a direct loop over output, channel and tap ([`for_each_term`]).
pub(super) fn direct(plan: &Plan, input: &[f32], kernel: &[f32], bias: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0; plan.output_len()];
    for_each_term(plan, |at, o, term| match term {
        None => out[at] = bias[o],
        Some((x_at, w_at)) => out[at] += input[x_at] * kernel[w_at],
    });
    out
}

/// The convolution in `f64`: each output's exact value and the sum of its terms' sizes
/// (`|bias| + sum |x * w|`), the scale of any `f32` rounding error in computing it.
pub(super) fn exact(plan: &Plan, input: &[f32], kernel: &[f32], bias: &[f32]) -> Vec<[f64; 2]> {
    let mut out = vec![[0.0; 2]; plan.output_len()];
    for_each_term(plan, |at, o, term| {
        let value = match term {
            None => f64::from(bias[o]),
            Some((x_at, w_at)) => f64::from(input[x_at]) * f64::from(kernel[w_at]),
        };
        out[at][0] += value;
        out[at][1] += value.abs();
    });
    out
}

/// Which input image branch `n` of image `b` reads: image `b` of the one input, or, for
/// per-branch inputs stacked branch-major on the batch axis, image `n * batch + b`.
fn input_image(plan: &Plan, b: usize, n: usize) -> usize {
    if plan.layout == BranchLayout::Stacked {
        n * plan.batch + b
    } else {
        b
    }
}

/// Which output map branch `n` of image `b` is: `[batch, branches]` order, or `[branches,
/// batch]` for per-branch inputs.
fn output_map(plan: &Plan, b: usize, n: usize) -> usize {
    if plan.layout == BranchLayout::Stacked {
        n * plan.batch + b
    } else {
        b * plan.branches.len() + n
    }
}

/// Elements of the whole input of `plan`.
pub(super) fn input_len(plan: &Plan) -> usize {
    let stacks = if plan.layout == BranchLayout::Stacked {
        plan.branches.len()
    } else {
        1
    };
    plan.batch * stacks * plan.channels_in * plan.height * plan.width
}

/// `sum(weights * conv(input))`, the scalar whose gradients [`backward`] computes when
/// `weights` is the output gradient.
pub(super) fn loss(
    plan: &Plan,
    input: &[f32],
    kernel: &[f32],
    bias: &[f32],
    weights: &[f32],
) -> f64 {
    direct(plan, input, kernel, bias)
        .iter()
        .zip(weights)
        .map(|(y, w)| f64::from(*y) * f64::from(*w))
        .sum()
}

/// One entry of a gradient by a direct loop: the exact sum of its terms (products of two `f32`,
/// exact in `f64`), the sum of their absolute values and their count.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Exact {
    pub value: f64,
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
    pub fn rounding_bound(&self) -> f64 {
        let nu = (self.terms + 1) as f64 * f64::from(f32::EPSILON) / 2.0;
        nu / (1.0 - nu) * self.magnitude
    }
}

/// The input, kernel and bias gradients of [`loss`] by direct loops over every output, input
/// channel and tap ([`for_each_term`], the same terms as [`direct`]).
pub(super) fn reference_grads(
    plan: &Plan,
    input: &[f32],
    kernel: &[f32],
    grad: &[f32],
) -> [Vec<Exact>; 3] {
    let mut gx = vec![Exact::default(); input.len()];
    let mut gw = vec![Exact::default(); kernel.len()];
    let mut gb = vec![Exact::default(); plan.channels_out];
    for_each_term(plan, |at, o, term| {
        let g = f64::from(grad[at]);
        match term {
            None => gb[o].add(g),
            Some((x_at, w_at)) => {
                gx[x_at].add(g * f64::from(kernel[w_at]));
                gw[w_at].add(g * f64::from(input[x_at]));
            }
        }
    });
    [gx, gw, gb]
}
