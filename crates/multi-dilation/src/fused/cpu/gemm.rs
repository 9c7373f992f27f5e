//! The one GEMM every product of the CPU kernel goes through: [`sgemm`] and [`sgemm_rows`] over
//! [`Mat`] views (strided, so a transpose is a view, not a copy), single-threaded since the
//! callers already split the work across threads. It wraps the `gemm` crate's raw-pointer API
//! behind bounds checks: one of the crate's three kinds of `unsafe` block (the others are the
//! call of an instruction set's copy of a loop, [`isa`](super::isa), and the direct forward's
//! intrinsics, [`direct`](super::direct)).

/// A read-only matrix view: `rows x cols` elements of `data` at `r * row_stride + c * col_stride`.
#[derive(Clone, Copy)]
pub(crate) struct Mat<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a> Mat<'a> {
    /// A row-major `rows x cols` matrix.
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The transpose of a row-major `cols x rows` matrix (no copy).
    pub fn transposed(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            row_stride: 1,
            col_stride: rows,
        }
    }

    /// One past the largest index the view reads (0 when empty).
    fn extent(&self) -> usize {
        if self.rows == 0 || self.cols == 0 {
            0
        } else {
            (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride + 1
        }
    }
}

/// How many threads one GEMM runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Threads {
    /// The calling thread only: the caller already splits its work across the threads.
    One,
    /// Every thread of rayon's pool, for callers with fewer units of work than threads (a
    /// batch of one image, say), which would otherwise leave cores idle.
    All,
}

/// `dst = lhs * rhs` (or `dst += lhs * rhs` with `accumulate`), `dst` row-major
/// `lhs.rows x rhs.cols`, on `threads`.
///
/// # Panics
/// Panics if the inner dimensions differ or a view reaches past its slice.
pub(crate) fn sgemm(
    dst: &mut [f32],
    accumulate: bool,
    lhs: Mat<'_>,
    rhs: Mat<'_>,
    threads: Threads,
) {
    sgemm_rows(dst, rhs.cols, accumulate, lhs, rhs, threads);
}

/// [`sgemm`] into `lhs.rows x rhs.cols` entries of `dst` whose rows are `dst_row_stride`
/// apart (a block of columns of a wider matrix).
///
/// # Panics
/// Panics if the inner dimensions differ, `dst_row_stride < rhs.cols`, or a view (`dst`
/// included) reaches past its slice.
pub(crate) fn sgemm_rows(
    dst: &mut [f32],
    dst_row_stride: usize,
    accumulate: bool,
    lhs: Mat<'_>,
    rhs: Mat<'_>,
    threads: Threads,
) {
    assert_eq!(lhs.cols, rhs.rows, "sgemm: inner dimensions differ");
    let (m, n, k) = (lhs.rows, rhs.cols, lhs.cols);
    assert!(
        dst_row_stride >= n,
        "sgemm: destination rows overlap ({dst_row_stride} < {n})"
    );
    assert!(
        m == 0 || n == 0 || (m - 1) * dst_row_stride + n <= dst.len(),
        "sgemm: destination too small"
    );
    assert!(
        lhs.extent() <= lhs.data.len(),
        "sgemm: lhs view out of bounds"
    );
    assert!(
        rhs.extent() <= rhs.data.len(),
        "sgemm: rhs view out of bounds"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for row in dst.chunks_mut(dst_row_stride).take(m) {
                row[..n].fill(0.0);
            }
        }
        return;
    }
    // SAFETY: `gemm` reads `lhs` at `r * rs + c * cs` for r < m, c < k, `rhs` likewise for
    // r < k, c < n, and reads (with `accumulate`) and writes `dst` at
    // `r * dst_row_stride + c` for r < m, c < n. The asserts above bound every such index by
    // the length of its slice, all strides are non-negative, `dst_row_stride >= n` so no two
    // (r, c) share an index, `dst` is a unique borrow so it aliases neither input, and with
    // `read_dst == false` gemm never reads `dst` before writing it. With `Threads::All`, gemm's
    // threads write disjoint blocks of `dst` and only read the inputs, and this call returns
    // after all of them finish, so the borrows outlive every access. Covered by the tests below
    // (direct-loop references with transposed views, accumulation and a block of columns, and
    // the bounds checks) and by the layer's fused-vs-per-dilation tests.
    #[allow(unsafe_code)]
    unsafe {
        ::gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_row_stride as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.data.as_ptr(),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            match threads {
                Threads::One => ::gemm::Parallelism::None,
                Threads::All => ::gemm::Parallelism::Rayon(0),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::values;
    use super::*;

    /// Both thread counts, on a tiny product and on one large enough for gemm to split it
    /// across threads.
    const CASES: [(Threads, [usize; 3]); 4] = [
        (Threads::One, [5, 7, 3]),
        (Threads::All, [5, 7, 3]),
        (Threads::One, [190, 150, 170]),
        (Threads::All, [190, 150, 170]),
    ];

    /// The dot product of `k` pairs in f64, and a bound on an f32 summation's error in any
    /// order (plus one rounding of an accumulated start value): `(k + 1) * eps * sum |terms|`
    /// (Higham, Accuracy and Stability of Numerical Algorithms, 3.1), with the start's size
    /// (below 1) added to the sum.
    fn exact(k: usize, pair: impl Fn(usize) -> (f32, f32)) -> (f64, f64) {
        let (mut sum, mut size) = (0.0, 1.0);
        for i in 0..k {
            let (x, y) = pair(i);
            let term = f64::from(x) * f64::from(y);
            sum += term;
            size += term.abs();
        }
        (sum, (k + 2) as f64 * f64::from(f32::EPSILON) * size)
    }

    #[test]
    fn gemm_wrapper_matches_a_direct_product_with_transposed_views_and_accumulation() {
        for (threads, [m, k, n]) in CASES {
            let a = values(m * k, 1);
            let bt = values(n * k, 2); // stored as [n, k]: the rhs is its transpose
            let mut dst = values(m * n, 3);
            let start = dst.clone();
            let (lhs, rhs) = (Mat::row_major(&a, m, k), Mat::transposed(&bt, k, n));
            sgemm(&mut dst, true, lhs, rhs, threads);
            let mut fresh = vec![f32::NAN; m * n];
            sgemm(&mut fresh, false, lhs, rhs, threads);
            for r in 0..m {
                for c in 0..n {
                    let (product, bound) = exact(k, |i| (a[r * k + i], bt[c * k + i]));
                    let at = r * n + c;
                    let expected = f64::from(start[at]) + product;
                    let got = f64::from(dst[at]);
                    assert!((got - expected).abs() <= bound, "{threads:?} ({r},{c})");
                    let got = f64::from(fresh[at]);
                    assert!((got - product).abs() <= bound, "{threads:?} ({r},{c})");
                }
            }
        }
    }

    #[test]
    fn gemm_wrapper_writes_a_block_of_columns_and_nothing_else() {
        for (threads, accumulate, [m, k, n]) in CASES
            .into_iter()
            .flat_map(|(threads, mkn)| [false, true].map(|accumulate| (threads, accumulate, mkn)))
        {
            let (stride, offset) = (n + 5, 2);
            let (a, b) = (values(m * k, 4), values(k * n, 5));
            let start = values(offset + (m - 1) * stride + n + 1, 6);
            let mut dst = start.clone();
            sgemm_rows(
                &mut dst[offset..],
                stride,
                accumulate,
                Mat::row_major(&a, m, k),
                Mat::row_major(&b, k, n),
                threads,
            );
            for (index, got) in dst.iter().enumerate() {
                let (r, c) = (
                    (index.wrapping_sub(offset)) / stride,
                    (index.wrapping_sub(offset)) % stride,
                );
                if index < offset || r >= m || c >= n {
                    assert_eq!(*got, start[index], "{index} is outside the block");
                    continue;
                }
                let (product, bound) = exact(k, |i| (a[r * k + i], b[i * n + c]));
                let expected = product
                    + if accumulate {
                        f64::from(start[index])
                    } else {
                        0.0
                    };
                assert!(
                    (f64::from(*got) - expected).abs() <= bound,
                    "{threads:?} ({r},{c}): {got} vs {expected}"
                );
            }
        }
    }

    #[test]
    #[should_panic(expected = "destination too small")]
    fn gemm_wrapper_rejects_a_destination_block_past_its_slice() {
        let a = vec![1.0; 4];
        let mut dst = vec![0.0; 5];
        sgemm_rows(
            &mut dst,
            4,
            false,
            Mat::row_major(&a, 2, 2),
            Mat::row_major(&a, 2, 2),
            Threads::One,
        );
    }

    #[test]
    #[should_panic(expected = "rhs view out of bounds")]
    fn gemm_wrapper_rejects_a_view_past_its_slice() {
        let a = vec![1.0; 4];
        let b = vec![1.0; 3];
        let mut dst = vec![0.0; 4];
        sgemm(
            &mut dst,
            false,
            Mat::row_major(&a, 2, 2),
            Mat::row_major(&b, 2, 2),
            Threads::One,
        );
    }
}
