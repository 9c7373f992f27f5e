//! TensorFlow/Keras `padding='same'` for dilated, strided convolutions.
//!
//! burn 0.22.1's `PaddingConfig2d::Same` ignores dilation (burn-nn `padding.rs`:
//! `calculate_same_padding(kernel_size, stride, size)` takes no dilation, so a 3x3 kernel at
//! dilation 2 gets the padding of dilation 1 and a smaller output), so this crate computes the
//! padding itself, here and nowhere else. To see it: build burn's `Conv2dConfig` with
//! `.with_dilation([2, 2]).with_padding(PaddingConfig2d::Same)` and compare its output size
//! with [`same_output_size`].

/// Output length of a 'same' convolution along one axis: `ceil(input / stride)`.
///
/// # Panics
/// Panics if `stride` is zero.
///
/// # Example
/// ```
/// use multi_dilation::padding::same_output_size;
/// assert_eq!(same_output_size(28, 1), 28);
/// assert_eq!(same_output_size(7, 2), 4);
/// ```
pub fn same_output_size(input: usize, stride: usize) -> usize {
    assert!(
        stride > 0,
        "same_output_size: stride must be at least 1, got 0"
    );
    input.div_ceil(stride)
}

/// Padding `(before, after)` that TensorFlow/Keras `padding='same'` applies along one axis.
///
/// With `out = ceil(input / stride)` the total padding is
/// `max((out - 1) * stride + dilation * (kernel - 1) + 1 - input, 0)`; the smaller half goes
/// before (top or left) and the larger half after (bottom or right). For stride 1 and an odd
/// kernel this is `dilation * (kernel - 1) / 2` on both sides, which is also PyTorch's
/// `padding='same'`.
///
/// # Panics
/// Panics if `kernel`, `stride` or `dilation` is zero.
///
/// # Example
/// ```
/// use multi_dilation::padding::same_padding;
/// // 3x3 kernel at dilation 2, stride 1: two on each side.
/// assert_eq!(same_padding(10, 3, 1, 2), (2, 2));
/// // An even kernel pads one more after than before.
/// assert_eq!(same_padding(10, 2, 1, 1), (0, 1));
/// ```
pub fn same_padding(input: usize, kernel: usize, stride: usize, dilation: usize) -> (usize, usize) {
    assert!(kernel > 0, "same_padding: kernel must be at least 1, got 0");
    assert!(
        dilation > 0,
        "same_padding: dilation must be at least 1, got 0"
    );
    let out = same_output_size(input, stride);
    let span = dilation * (kernel - 1) + 1;
    let needed = out.saturating_sub(1) * stride + span;
    let total = needed.saturating_sub(input);
    (total / 2, total - total / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_kernel_stride_one_is_symmetric_dilation_times_half_kernel() {
        for k in [1, 3, 5, 7] {
            for d in 1..=6 {
                let p = d * (k - 1) / 2;
                assert_eq!(same_padding(13, k, 1, d), (p, p), "k={k} d={d}");
            }
        }
    }

    #[test]
    fn even_kernel_puts_the_extra_pixel_after() {
        assert_eq!(same_padding(10, 2, 1, 1), (0, 1));
        assert_eq!(same_padding(10, 4, 1, 1), (1, 2));
        // dilation 3 makes a 2-tap kernel span 4 pixels: 3 pixels of padding.
        assert_eq!(same_padding(10, 2, 1, 3), (1, 2));
    }

    #[test]
    fn stride_two_matches_tensorflow_examples() {
        // in 8, k 3, s 2: out 4, needed 3*2+3 = 9, total 1 -> (0, 1), TF's classic asymmetric case.
        assert_eq!(same_padding(8, 3, 2, 1), (0, 1));
        // in 7, k 3, s 2: out 4, needed 9, total 2 -> (1, 1).
        assert_eq!(same_padding(7, 3, 2, 1), (1, 1));
        // in 8, k 2, s 2: out 4, needed 3*2+2 = 8, total 0.
        assert_eq!(same_padding(8, 2, 2, 1), (0, 0));
        // in 8, k 2, s 2, d 3: span 4, needed 10, total 2 -> (1, 1).
        assert_eq!(same_padding(8, 2, 2, 3), (1, 1));
        // in 9, k 5, s 2, d 2: out 5, span 9, needed 17, total 8 -> (4, 4).
        assert_eq!(same_padding(9, 5, 2, 2), (4, 4));
    }

    #[test]
    fn large_stride_can_need_no_padding() {
        // in 10, k 1, s 3: out 4, needed 10, total 0.
        assert_eq!(same_padding(10, 1, 3, 1), (0, 0));
        // in 10, k 3, s 5: out 2, needed 8 < 10: no padding (never negative).
        assert_eq!(same_padding(10, 3, 5, 1), (0, 0));
    }

    #[test]
    fn padded_output_is_ceil_of_input_over_stride() {
        for input in 1..20 {
            for k in 1..6 {
                for s in 1..4 {
                    for d in 1..4 {
                        let (b, a) = same_padding(input, k, s, d);
                        let span = d * (k - 1) + 1;
                        let out = (input + b + a - span) / s + 1;
                        assert_eq!(out, input.div_ceil(s), "in={input} k={k} s={s} d={d}");
                        assert!(a == b || a == b + 1);
                    }
                }
            }
        }
    }

    #[test]
    fn output_size_rounds_up() {
        assert_eq!(same_output_size(10, 3), 4);
        assert_eq!(same_output_size(9, 3), 3);
        assert_eq!(same_output_size(1, 4), 1);
    }

    #[test]
    #[should_panic(expected = "stride must be at least 1")]
    fn zero_stride_panics() {
        same_output_size(4, 0);
    }
}
