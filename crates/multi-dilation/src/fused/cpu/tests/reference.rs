//! The references the kernel's tests compare against: deterministic inputs, the convolution
//! and its gradients as direct loops over every output, channel and tap (the gradients exact in
//! `f64`, with the rounding bound of an `f32` sum of their terms).

use super::super::Plan;

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

/// The convolution as a direct loop over output, channel and tap, with explicit bounds.
pub(super) fn direct(plan: &Plan, input: &[f32], kernel: &[f32], bias: &[f32]) -> Vec<f32> {
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
pub(super) fn input_len(plan: &Plan) -> usize {
    let stacks = if plan.per_branch_input {
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
/// channel and tap (the same bounds as [`direct`]).
// Indices spell out the formula, which is the point of a reference.
#[allow(clippy::needless_range_loop)]
pub(super) fn reference_grads(
    plan: &Plan,
    input: &[f32],
    kernel: &[f32],
    grad: &[f32],
) -> [Vec<Exact>; 3] {
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
