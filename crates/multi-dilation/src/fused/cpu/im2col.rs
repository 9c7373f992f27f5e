//! Building the im2col matrices that [`Taps`] describes: block by block into a scratch buffer
//! for a GEMM to consume ([`Taps::blocks`]), with a fast path when the matrix's columns are the
//! source's own positions ([`Taps::im2col_shifted`]), and the adjoint scatter
//! ([`Taps::col2im_add`]) for the input gradient.

use std::ops::Range;

use super::isa::multiversion;
use super::plan::Taps;

impl Taps {
    /// Visits every target row of every matrix row: `f(row, ty, lo, hi, src)` where columns
    /// `lo..hi` of target row `ty` of matrix row `row` read the source at `src, src + sx, ...`
    /// and the other columns lie outside the source (`lo == hi` and `src == None` when the
    /// whole target row does). Inlined into each instruction set's copy of its callers.
    #[inline(always)]
    fn for_each_run(
        &self,
        target_rows: Range<usize>,
        mut f: impl FnMut(usize, usize, usize, usize, Option<usize>),
    ) {
        let [kh, kw] = self.kernel;
        let [sy, sx] = self.stride;
        let [height, width] = self.source;
        let [target_h, target_w] = self.target;
        for c in 0..self.channels {
            for i in 0..kh {
                let offset_y = self.start[0] + i as isize * self.step[0];
                let (ty_lo, ty_hi) = Self::valid_range(offset_y, sy, height, target_h);
                for j in 0..kw {
                    let row = (c * kh + i) * kw + j;
                    let offset_x = self.start[1] + j as isize * self.step[1];
                    let (lo, hi) = Self::valid_range(offset_x, sx, width, target_w);
                    for ty in target_rows.clone() {
                        if lo == hi || ty < ty_lo || ty >= ty_hi {
                            f(row, ty, 0, 0, None);
                            continue;
                        }
                        let y = (ty * sy) as isize + offset_y;
                        let x = (lo * sx) as isize + offset_x;
                        f(
                            row,
                            ty,
                            lo,
                            hi,
                            Some((c * height + y as usize) * width + x as usize),
                        );
                    }
                }
            }
        }
    }

    /// The matrix block by block of [`block_rows`](Self::block_rows) target rows, built in
    /// `scratch` (at least [`block_len`](Self::block_len) long): `f(columns, block)` with
    /// `block` the `[block_matrix_rows, columns.len()]` matrix of the matrix's columns
    /// `columns` (and a last row of ones with [`ones_row`](Self::ones_row)).
    pub fn blocks(
        &self,
        source: &[f32],
        scratch: &mut [f32],
        mut f: impl FnMut(Range<usize>, &[f32]),
    ) {
        self.blocks_mut(source, scratch, |columns, block| f(columns, block));
    }

    /// [`blocks`](Self::blocks), each block handed over writable (for
    /// [`summed_blocks`](Self::summed_blocks) to add onto).
    fn blocks_mut(
        &self,
        source: &[f32],
        scratch: &mut [f32],
        mut f: impl FnMut(Range<usize>, &mut [f32]),
    ) {
        let (step, [target_h, target_w]) = (self.block_rows(), self.target);
        // At a horizontal stride above 1 the source's rows are split into their stride phases
        // once, so that each run of the matrix is one contiguous copy instead of a gather.
        let phased = (self.stride[1] > 1).then(|| self.phases(source));
        let source = phased.as_deref().unwrap_or(source);
        for first in (0..target_h).step_by(step) {
            let rows = first..(first + step).min(target_h);
            let columns = rows.start * target_w..rows.end * target_w;
            let block = &mut scratch[..self.block_matrix_rows() * columns.len()];
            let (matrix, ones) = block.split_at_mut(self.rows() * columns.len());
            self.im2col_rows(source, matrix, rows);
            ones.fill(1.0);
            f(columns, block);
        }
    }

    /// The sum of several matrices of one shape, block by block as [`blocks`](Self::blocks)
    /// cuts one: `parts` pairs each matrix's taps with its source, and `f(columns, block)`
    /// gets the block of columns `columns` of their sum. The first matrix is written as
    /// [`blocks`](Self::blocks) writes it, each later one is added onto it run by run.
    ///
    /// The backward uses it for the branches of one image: they share the image and the
    /// kernel, so the transposed convolution's GEMMs are linear in this matrix and one GEMM
    /// on the sum replaces one per branch.
    ///
    /// # Panics
    /// Panics if `parts` is empty, if the matrices differ in shape or block size, or if a
    /// horizontal stride is not 1.
    pub fn summed_blocks(
        parts: &[(Self, &[f32])],
        scratch: &mut [f32],
        mut f: impl FnMut(Range<usize>, &[f32]),
    ) {
        let ((first, source), rest) = parts
            .split_first()
            .expect("summed_blocks: at least one matrix");
        for (taps, _) in parts {
            assert!(
                taps.stride[1] == 1
                    && taps.rows() == first.rows()
                    && taps.target == first.target
                    && taps.block_rows() == first.block_rows()
                    && !taps.ones_row,
                "summed_blocks: matrices of one shape at horizontal stride 1, expected {first:?}, \
                 got {taps:?}"
            );
        }
        let target_w = first.target[1].max(1);
        first.blocks_mut(source, scratch, |columns, block| {
            let rows = columns.start / target_w..columns.end / target_w;
            for (taps, source) in rest {
                im2col_add_runs(taps.isa, taps, source, block, rows.clone());
            }
            f(columns, block);
        });
    }

    /// The source with each row split into its stride phases: row `r` (a channel's row `y`)
    /// becomes `sx` rows of `ceil(w / sx)` entries, phase `p` holding columns `p, p + sx, ...`
    /// (zeros past the row's end). Column `x` of row `r` is then at `(r * sx + x % sx) *
    /// ceil(w / sx) + x / sx`, and every `sx`-strided run of a row is contiguous. One pass over
    /// the image, against the `kh * kw / (sy * sx)` reads of each pixel that im2col makes.
    fn phases(&self, source: &[f32]) -> Vec<f32> {
        let (sx, width) = (self.stride[1], self.source[1].max(1));
        let phase_w = width.div_ceil(sx);
        let mut phased = vec![0.0; source.len() / width * sx * phase_w];
        for (row, split) in source
            .chunks_exact(width)
            .zip(phased.chunks_exact_mut(sx * phase_w))
        {
            for (x, value) in row.iter().enumerate() {
                split[(x % sx) * phase_w + x / sx] = *value;
            }
        }
        phased
    }

    /// The columns of target rows `target_rows` of the matrix, as a matrix
    /// `[rows, target_rows.len() * target_w]` in `cols` (every entry written once), from the
    /// source, split into stride phases ([`phases`](Self::phases)) when the horizontal stride
    /// is above 1.
    pub fn im2col_rows(&self, source: &[f32], cols: &mut [f32], target_rows: Range<usize>) {
        if self.stride == [1, 1] && self.target == self.source {
            return self.im2col_shifted(source, cols, target_rows);
        }
        im2col_runs(self.isa, self, source, cols, target_rows);
    }

    /// [`im2col_rows`](Self::im2col_rows) when the matrix's columns are the source's own positions
    /// (stride 1, target shaped like the source, as 'same' padding gives): each matrix row is
    /// then the source plane shifted by one offset, so it is one copy of the valid span, after
    /// which the few entries that wrapped around a row edge (and the rows above and below the
    /// source) are zeroed. On 28x28 maps this replaces 28 short copies per row by one.
    fn im2col_shifted(&self, source: &[f32], cols: &mut [f32], target_rows: Range<usize>) {
        let [kh, kw] = self.kernel;
        let [height, width] = self.source;
        let plane = height * width;
        // Positions are global (`ty * width + tx`); the block starts at `base`.
        let base = target_rows.start * width;
        let columns = target_rows.len() * width;
        for c in 0..self.channels {
            let channel = &source[c * plane..][..plane];
            for i in 0..kh {
                let offset_y = self.start[0] + i as isize * self.step[0];
                let (ty_lo, ty_hi) = Self::valid_range(offset_y, 1, height, height);
                let (ty_lo, ty_hi) = (ty_lo.max(target_rows.start), ty_hi.min(target_rows.end));
                for j in 0..kw {
                    let row = (c * kh + i) * kw + j;
                    let dst = &mut cols[row * columns..][..columns];
                    let offset_x = self.start[1] + j as isize * self.step[1];
                    let (lo, hi) = Self::valid_range(offset_x, 1, width, width);
                    if lo == hi || ty_lo >= ty_hi {
                        dst.fill(0.0);
                        continue;
                    }
                    // Positions `first..last` span every valid entry; position `p` reads
                    // `p + shift` of the plane (in bounds for every `p` in the span).
                    let (first, last) = (ty_lo * width + lo, (ty_hi - 1) * width + hi);
                    let shift = offset_y * width as isize + offset_x;
                    let from = (first as isize + shift) as usize;
                    dst[..first - base].fill(0.0);
                    dst[first - base..last - base]
                        .copy_from_slice(&channel[from..from + (last - first)]);
                    dst[last - base..].fill(0.0);
                    // Between two valid rows: the tail of one and the head of the next read
                    // across the row edge.
                    if lo > 0 || hi < width {
                        for ty in ty_lo..ty_hi - 1 {
                            dst[ty * width + hi - base..(ty + 1) * width + lo - base].fill(0.0);
                        }
                    }
                }
            }
        }
    }

    /// The adjoint of the whole matrix's im2col: adds each entry of `cols` onto the source
    /// element it was gathered from.
    pub fn col2im_add(&self, cols: &[f32], source: &mut [f32]) {
        col2im_runs(self.isa, self, cols, source);
    }
}

multiversion! {
/// The general case of [`Taps::im2col_rows`], compiled for each instruction set: per target
/// row, one copy of the valid span between zeros. `source` is split into stride phases
/// ([`Taps::phases`]) when the horizontal stride is above 1, so the span is contiguous there
/// too.
fn im2col_runs(taps: &Taps, source: &[f32], cols: &mut [f32], target_rows: Range<usize>) {
    let target_w = taps.target[1];
    let (first, columns) = (target_rows.start, target_rows.len() * target_w);
    let (sx, width) = (taps.stride[1], taps.source[1].max(1));
    let phase_w = width.div_ceil(sx);
    taps.for_each_run(target_rows, |row, ty, lo, hi, src| {
        let dst = &mut cols[row * columns + (ty - first) * target_w..][..target_w];
        dst[..lo].fill(0.0);
        dst[hi..].fill(0.0);
        let Some(src) = src else { return };
        // `src` indexes the unsplit source: its row and column, then the phase's run.
        let (line, x) = (src / width, src % width);
        let at = (line * sx + x % sx) * phase_w + x / sx;
        dst[lo..hi].copy_from_slice(&source[at..at + (hi - lo)]);
    });
}
}

multiversion! {
/// Adds target rows `target_rows` of the matrix onto `cols` (laid out as
/// [`Taps::im2col_rows`] writes them), at horizontal stride 1, compiled for each instruction
/// set: per target row, one vector addition of the valid span (entries outside the source add
/// nothing).
fn im2col_add_runs(taps: &Taps, source: &[f32], cols: &mut [f32], target_rows: Range<usize>) {
    let target_w = taps.target[1];
    let (first, columns) = (target_rows.start, target_rows.len() * target_w);
    taps.for_each_run(target_rows, |row, ty, lo, hi, src| {
        let Some(src) = src else { return };
        let dst = &mut cols[row * columns + (ty - first) * target_w..][lo..hi];
        for (acc, value) in dst.iter_mut().zip(&source[src..src + (hi - lo)]) {
            *acc += value;
        }
    });
}
}

multiversion! {
/// [`Taps::col2im_add`], compiled for each instruction set.
fn col2im_runs(taps: &Taps, cols: &[f32], source: &mut [f32]) {
    let (columns, target_w, sx) = (taps.columns(), taps.target[1], taps.stride[1]);
    taps.for_each_run(0..taps.target[0], |row, ty, lo, hi, src| {
        let Some(src) = src else { return };
        let from = &cols[row * columns + ty * target_w..][lo..hi];
        if sx == 1 {
            for (acc, value) in source[src..src + (hi - lo)].iter_mut().zip(from) {
                *acc += value;
            }
        } else {
            for (k, value) in from.iter().enumerate() {
                source[src + k * sx] += value;
            }
        }
    });
}
}
