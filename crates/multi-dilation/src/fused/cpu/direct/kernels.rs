//! The direct forward's two hand-vectorised loops, the crate's only ones: the tile loop
//! ([`tile`], AVX2 and AVX-512) and the transposed write-out of a row of tiles
//! ([`write_out`], AVX2), each behind the bounds checks of a safe function.

use std::mem::MaybeUninit;
use std::ops::Range;

use super::layout::Shape;
use crate::fused::cpu::isa::{Isa, Level};

/// How a tile's steps walk the padded image: channel `c`'s plane `plane` apart, tap `(i, j)`
/// at `i * row_step + j * col_step` in it, for the taps `rows x columns` of the kernel's
/// `kh x kw` (the others read only padding for every output of the tile, and are skipped).
pub struct Step {
    pub channels: usize,
    pub kh: usize,
    pub kw: usize,
    pub rows: Range<usize>,
    pub columns: Range<usize>,
    pub plane: usize,
    pub row_step: usize,
    pub col_step: usize,
}

/// One tile of `shape`'s channels by `n` outputs (at most [`Shape::pixels`]) at horizontal
/// stride `sx` (1 or 2): adds to `acc[p * V * L + o]` the sum over every channel `c` and tap
/// `(i, j)` in `rows x columns` of `weights[k * V * L + o]`, `k = (c * kh + i) * kw + j`,
/// times the pixel that step reads for output `p`, `input[c * plane + i * row_step + j *
/// col_step + p * sx]`. With `bias`, the sums start at `bias[o]` for every output instead of
/// at `acc`'s values (the first chunk of channels: no pass filling the sums first).
///
/// # Panics
/// Panics if `weights`, `input`, `acc` or `bias` is shorter than that reads, the taps lie
/// outside the kernel, or `isa` has no tiles of `shape`.
#[allow(clippy::too_many_arguments)]
pub fn tile(
    isa: Isa,
    shape: Shape,
    [n, sx]: [usize; 2],
    step: &Step,
    weights: &[f32],
    input: &[f32],
    acc: &mut [f32],
    bias: Option<&[f32]>,
) {
    let channels = shape.vectors * shape.lanes;
    assert!(
        bias.is_none_or(|bias| bias.len() >= channels),
        "direct forward: a bias shorter than {channels}"
    );
    assert!(
        step.rows.end <= step.kh && step.columns.end <= step.kw,
        "direct forward: taps {:?} x {:?} outside a {}x{} kernel",
        step.rows,
        step.columns,
        step.kh,
        step.kw
    );
    assert!(
        weights.len() >= step.channels * step.kh * step.kw * channels,
        "direct forward: weights too short"
    );
    assert!(
        n <= shape.pixels && n * channels <= acc.len(),
        "direct forward: {n} outputs in a tile of {}, or sums too short",
        shape.pixels
    );
    if step.channels == 0 || step.rows.is_empty() || step.columns.is_empty() || n == 0 {
        // Nothing to add: every tap reads padding.
        if let Some(bias) = bias {
            for sums in acc[..n * channels].chunks_exact_mut(channels) {
                sums.copy_from_slice(&bias[..channels]);
            }
        }
        return;
    }
    // The farthest element a tile reads: the last channel's last tap at the last output.
    let farthest = (step.channels - 1) * step.plane
        + (step.rows.end - 1) * step.row_step
        + (step.columns.end - 1) * step.col_step
        + (n - 1) * sx;
    assert!(
        farthest < input.len(),
        "direct forward: a tile reads {farthest} of {}",
        input.len()
    );
    // Where the sums start: `acc`, one `[channels]` per output, or the bias for every output.
    let from = match bias {
        Some(bias) => (bias.as_ptr(), 0),
        None => (acc.as_ptr(), channels),
    };
    let (weights, input, acc) = (weights.as_ptr(), input.as_ptr(), acc.as_mut_ptr());
    macro_rules! dispatch {
        ($kernel:ident, $lanes:literal, [$($v:literal: [$($p:literal),*]),*]) => {
            match (shape.vectors, n, sx) {
                $($(
                    // SAFETY: the `Isa` was detected, so this CPU runs the kernel's
                    // instructions, and the asserts above bound every pointer it reads or
                    // writes (its `# Safety`). Tested against a direct loop at every level.
                    #[allow(unsafe_code)]
                    ($v, $p, 1) => unsafe { $kernel::<$v, $p, 1>(step, weights, input, from, acc) },
                    #[allow(unsafe_code)]
                    ($v, $p, 2) => unsafe { $kernel::<$v, $p, 2>(step, weights, input, from, acc) },
                )*)*
                other => unreachable!("direct forward: no tile {other:?} at {} lanes", $lanes),
            }
        };
    }
    match isa.level() {
        #[cfg(target_arch = "x86_64")]
        Level::Avx2 => dispatch!(avx2, 8, [
            1: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
            2: [1, 2, 3, 4, 5, 6]
        ]),
        #[cfg(all(target_arch = "x86_64", feature = "x86-v4"))]
        Level::Avx512 => dispatch!(avx512, 16, [
            1: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
            2: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
        ]),
        level => unreachable!("direct forward: no tiles at {level:?}"),
    }
}

/// One row of a band's sums into its channels' rows: output `x`'s sums of the `channels`
/// channels at `sums[at[x]..]` (as the tile loop stores them) into `parts[o][offset + x]`
/// for every `x` of `at` and every row `o` of `parts` (each of those elements is written, so
/// the rows may start uninitialised), rectified when `relu`; channels past `parts.len()`
/// (past the layer's last) are dropped. The sums are transposed eight channels by eight
/// outputs at a time in AVX registers.
///
/// # Panics
/// Panics if `channels` is not a multiple of 8, a channel's sums lie past `sums`, `parts`
/// has more than `channels` rows or one is shorter than `offset + at.len()`, or `isa` is
/// below AVX2.
pub fn write_out(
    isa: Isa,
    sums: &[f32],
    at: &[usize],
    channels: usize,
    relu: bool,
    parts: &mut [&mut [MaybeUninit<f32>]],
    offset: usize,
) {
    assert!(
        channels.is_multiple_of(8) && parts.len() <= channels,
        "direct forward: {} rows of {channels} channels",
        parts.len()
    );
    assert!(
        at.iter().all(|&start| start + channels <= sums.len()),
        "direct forward: sums past the row's {}",
        sums.len()
    );
    assert!(
        parts.iter().all(|part| part.len() >= offset + at.len()),
        "direct forward: a row shorter than {}",
        offset + at.len()
    );
    assert!(
        isa.level() >= Level::Avx2,
        "direct forward: no tiles at {isa:?}"
    );
    #[cfg(target_arch = "x86_64")]
    // SAFETY: an `Isa` of AVX2 or more was detected, so this CPU runs AVX2 and FMA; the
    // function's loads and stores go through slices of the lengths checked above (its
    // `# Safety`). Tested with every tile shape against a direct loop at each level.
    #[allow(unsafe_code)]
    unsafe {
        write_out_avx2(sums, at, relu, parts, offset);
    }
}

/// [`write_out`] with AVX2.
///
/// # Safety
/// The CPU must run AVX2 and FMA; `sums` must hold `at[x] + parts.len()` values, rounded up
/// to a multiple of 8, for every `x`, and every row of `parts` hold `offset + at.len()`
/// outputs.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(unsafe_code)]
unsafe fn write_out_avx2(
    sums: &[f32],
    at: &[usize],
    relu: bool,
    parts: &mut [&mut [MaybeUninit<f32>]],
    offset: usize,
) {
    use std::arch::x86_64::*;
    let zero = _mm256_setzero_ps();
    for o0 in (0..parts.len()).step_by(8) {
        for (x0, group) in at.chunks(8).enumerate().map(|(g, group)| (8 * g, group)) {
            let mut rows = [zero; 8];
            for (row, &start) in rows.iter_mut().zip(group) {
                let from = &sums[start + o0..][..8];
                // SAFETY: `from` holds 8 values.
                *row = unsafe { _mm256_loadu_ps(from.as_ptr()) };
            }
            // The 8x8 transpose: pairs, then quadruples, then the two halves.
            let t = [
                _mm256_unpacklo_ps(rows[0], rows[1]),
                _mm256_unpackhi_ps(rows[0], rows[1]),
                _mm256_unpacklo_ps(rows[2], rows[3]),
                _mm256_unpackhi_ps(rows[2], rows[3]),
                _mm256_unpacklo_ps(rows[4], rows[5]),
                _mm256_unpackhi_ps(rows[4], rows[5]),
                _mm256_unpacklo_ps(rows[6], rows[7]),
                _mm256_unpackhi_ps(rows[6], rows[7]),
            ];
            let q = [
                _mm256_shuffle_ps::<0x44>(t[0], t[2]),
                _mm256_shuffle_ps::<0xEE>(t[0], t[2]),
                _mm256_shuffle_ps::<0x44>(t[1], t[3]),
                _mm256_shuffle_ps::<0xEE>(t[1], t[3]),
                _mm256_shuffle_ps::<0x44>(t[4], t[6]),
                _mm256_shuffle_ps::<0xEE>(t[4], t[6]),
                _mm256_shuffle_ps::<0x44>(t[5], t[7]),
                _mm256_shuffle_ps::<0xEE>(t[5], t[7]),
            ];
            let columns = [
                _mm256_permute2f128_ps::<0x20>(q[0], q[4]),
                _mm256_permute2f128_ps::<0x20>(q[1], q[5]),
                _mm256_permute2f128_ps::<0x20>(q[2], q[6]),
                _mm256_permute2f128_ps::<0x20>(q[3], q[7]),
                _mm256_permute2f128_ps::<0x31>(q[0], q[4]),
                _mm256_permute2f128_ps::<0x31>(q[1], q[5]),
                _mm256_permute2f128_ps::<0x31>(q[2], q[6]),
                _mm256_permute2f128_ps::<0x31>(q[3], q[7]),
            ];
            for (column, part) in columns.into_iter().zip(parts[o0..].iter_mut()) {
                let column = if relu {
                    _mm256_max_ps(column, zero)
                } else {
                    column
                };
                let target = &mut part[offset + x0..][..group.len()];
                if target.len() == 8 {
                    // SAFETY: `target` holds 8 values (uninitialised ones may be written).
                    unsafe { _mm256_storeu_ps(target.as_mut_ptr().cast::<f32>(), column) };
                } else {
                    // The row's last, narrower group (a row's end, once per row).
                    let mut spill = [0.0f32; 8];
                    // SAFETY: `spill` holds 8 values.
                    unsafe { _mm256_storeu_ps(spill.as_mut_ptr(), column) };
                    for (value, sum) in target.iter_mut().zip(spill) {
                        value.write(sum);
                    }
                }
            }
        }
    }
}

/// Defines the tile loop for one instruction set: `V` vectors of `$lanes` channels by `P`
/// outputs at horizontal stride `S`.
macro_rules! tile_loop {
    ($name:ident, $features:literal, $lanes:literal, $vector:ty,
     $zero:ident, $load:ident, $store:ident, $splat:ident, $fma:ident) => {
        /// The tile loop (see [`tile`]).
        ///
        /// # Safety
        /// The CPU must run the instructions of `$features` (the caller holds an [`Isa`]
        /// of this level, which only detection builds); `weights` and `input` must be
        /// readable and `sums` writable as far as [`tile`] asserts, and `from.0` readable at
        /// `p * from.1 + o` for every output `p` and channel `o` of the tile (the sums the
        /// tile starts from).
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $features)]
        #[allow(unsafe_code)]
        unsafe fn $name<const V: usize, const P: usize, const S: usize>(
            step: &Step,
            weights: *const f32,
            input: *const f32,
            (from, from_step): (*const f32, usize),
            sums: *mut f32,
        ) {
            use std::arch::x86_64::*;
            let mut acc: [[$vector; V]; P] = [[$zero(); V]; P];
            for p in 0..P {
                for v in 0..V {
                    // SAFETY: `from` holds the sums at `p * from_step` for each of the `P`
                    // outputs, `V * L` values each.
                    acc[p][v] = unsafe { $load(from.add(p * from_step + v * $lanes)) };
                }
            }
            let (rows, columns) = (step.rows.clone(), step.columns.clone());
            // The weights are read in order, skipping the taps outside `rows x columns`.
            let skip_row = (step.kw - columns.len()) * V * $lanes;
            let skip_channel = (step.kh - rows.len()) * step.kw * V * $lanes;
            let first = (rows.start * step.kw + columns.start) * V * $lanes;
            // SAFETY (every read below): offsets at most the farthest pixel and the last
            // weight, which the caller bounds. The running pointers `w` and `at` advance with
            // `wrapping_add`: past the last step they may point beyond their slices, where
            // they are never read.
            let mut w = weights.wrapping_add(first);
            for c in 0..step.channels {
                let plane = unsafe { input.add(c * step.plane) };
                for i in rows.clone() {
                    let mut at =
                        unsafe { plane.add(i * step.row_step + columns.start * step.col_step) };
                    for _ in columns.clone() {
                        let mut weight = [$zero(); V];
                        for v in 0..V {
                            weight[v] = unsafe { $load(w.add(v * $lanes)) };
                        }
                        for p in 0..P {
                            let pixel = $splat(unsafe { *at.add(p * S) });
                            for v in 0..V {
                                acc[p][v] = $fma(weight[v], pixel, acc[p][v]);
                            }
                        }
                        w = w.wrapping_add(V * $lanes);
                        at = at.wrapping_add(step.col_step);
                    }
                    w = w.wrapping_add(skip_row);
                }
                w = w.wrapping_add(skip_channel);
            }
            for p in 0..P {
                for v in 0..V {
                    // SAFETY: as for the loads above.
                    unsafe { $store(sums.add((p * V + v) * $lanes), acc[p][v]) };
                }
            }
        }
    };
}

tile_loop!(
    avx2,
    "avx2,fma",
    8,
    __m256,
    _mm256_setzero_ps,
    _mm256_loadu_ps,
    _mm256_storeu_ps,
    _mm256_set1_ps,
    _mm256_fmadd_ps
);
#[cfg(feature = "x86-v4")]
tile_loop!(
    avx512,
    "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma",
    16,
    __m512,
    _mm512_setzero_ps,
    _mm512_loadu_ps,
    _mm512_storeu_ps,
    _mm512_set1_ps,
    _mm512_fmadd_ps
);
