//! The transforms of Winograd's minimal filtering F(2x2, 3x3) (Lavin and Gray, "Fast
//! Algorithms for Convolutional Neural Networks", 2016) for a 3x3 kernel at stride 1: 16
//! multiplications per 2x2 block of outputs and (input, output) channel pair instead of 36.
//! The forward chains them per map; the backward's input gradient is that same forward.
//!
//! A dilated convolution is an undilated one on each phase of the image: the outputs at
//! `(py + d * r, px + d * s)` read only the pixels at `(py + d * r', px + d * s')`, so branch
//! `d` is `d * d` ordinary 3x3 convolutions with padding 1, one per phase `(py, px)` (a
//! 'same' 3x3 kernel at dilation `d` and stride 1 pads `d` on each side, one phase step). Each
//! phase is cut into 2x2 output tiles; every tile reads a 4x4 patch of its phase, transformed
//! as `V = B^T d B`; the kernel is transformed once as `U = G g G^T`; the 16 entries of the
//! transforms multiply as 16 GEMMs, `M[k] = U[k] V[k]` over channels; each tile's outputs are
//! `A^T M A`.

use super::gemm::{Mat, Threads, sgemm_rows};
use super::isa::multiversion;
use super::plan::Plan;

/// Entries of a transformed tile or kernel: 4x4.
pub(super) const POINTS: usize = 16;

/// The kernel `[out, in, 3, 3]` transformed to `[16, out, in]`: `U = G g G^T` for each
/// (out, in) pair, with `G = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]]`.
pub(super) fn kernel_transform(plan: &Plan, kernel: &[f32]) -> Vec<f32> {
    let pairs = plan.channels_out * plan.channels_in;
    let mut u = vec![0.0; POINTS * pairs];
    for (pair, g) in kernel.chunks_exact(9).enumerate() {
        // `G g`: 4 rows of 3.
        let mut rows = [[0.0f32; 3]; 4];
        for j in 0..3 {
            let (g0, g1, g2) = (g[j], g[3 + j], g[6 + j]);
            rows[0][j] = g0;
            rows[1][j] = 0.5 * (g0 + g1 + g2);
            rows[2][j] = 0.5 * (g0 - g1 + g2);
            rows[3][j] = g2;
        }
        // `(G g) G^T`: 4 x 4.
        for (a, row) in rows.iter().enumerate() {
            let [r0, r1, r2] = *row;
            let point = [r0, 0.5 * (r0 + r1 + r2), 0.5 * (r0 - r1 + r2), r2];
            for (b, value) in point.into_iter().enumerate() {
                u[(a * 4 + b) * pairs + pair] = value;
            }
        }
    }
    u
}

/// The tiles of one branch's map: per phase `(py, px)`, the phase's size and its first tile.
pub(super) struct Tiles {
    dilation: usize,
    /// `(py, px, rows, cols, first tile)` per phase, `rows x cols` the phase's size.
    phases: Vec<(usize, usize, usize, usize, usize)>,
    /// Tiles of every phase together.
    pub count: usize,
}

impl Tiles {
    /// The tiles of the map of a branch at dilation `dilation` on `plan`'s images.
    pub fn new(plan: &Plan, dilation: usize) -> Self {
        let mut phases = Vec::with_capacity(dilation * dilation);
        let mut count = 0;
        for py in 0..dilation.min(plan.height) {
            for px in 0..dilation.min(plan.width) {
                let rows = (plan.height - py).div_ceil(dilation);
                let cols = (plan.width - px).div_ceil(dilation);
                phases.push((py, px, rows, cols, count));
                count += rows.div_ceil(2) * cols.div_ceil(2);
            }
        }
        Self {
            dilation,
            phases,
            count,
        }
    }

    /// Every tile: `f(tile, y, x, dy, dx)` for the tile's top-left output `(y, x)` and how
    /// many of its 2x2 outputs lie in the map (`dy`, `dx`: 1 or 2), whose pixels are `d`
    /// apart. Inlined into each instruction set's copy of its caller.
    #[inline(always)]
    fn for_each(&self, mut f: impl FnMut(usize, usize, usize, usize, usize)) {
        let d = self.dilation;
        for &(py, px, rows, cols, first) in &self.phases {
            let tile_cols = cols.div_ceil(2);
            for ty in 0..rows.div_ceil(2) {
                for tx in 0..tile_cols {
                    let (r, s) = (2 * ty, 2 * tx);
                    let tile = first + ty * tile_cols + tx;
                    f(
                        tile,
                        py + d * r,
                        px + d * s,
                        (rows - r).min(2),
                        (cols - s).min(2),
                    );
                }
            }
        }
    }
}

/// Lanes each transform step works on at once: channels for the input transform, output
/// channels for the output transform, as `[f32; LANES]` arrays that the compiler turns into
/// vector instructions.
const LANES: usize = 8;

type Lanes = [f32; LANES];

multiversion! {
/// The input transform of one image for `tiles`: `v` is `[tiles, 16, in]`, `V = B^T d B` for
/// each tile's 4x4 patch `d` (zeros outside the image), with
/// `B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]`. Each phase is first
/// gathered channel-last with a border of zeros (`phase`, scratch), so that the transform of a
/// tile runs over the channels as contiguous lanes. Compiled for each instruction set
/// ([`multiversion!`]): callers pass the plan's `isa` first.
pub(super) fn input_transform(
    plan: &Plan,
    tiles: &Tiles,
    pixels: &[f32],
    phase: &mut Vec<f32>,
    v: &mut [f32],
) {
    let (cin, width, d) = (plan.channels_in, plan.width, tiles.dilation);
    let plane = plan.height * width;
    for &(py, px, rows, cols, first) in &tiles.phases {
        let (tile_rows, tile_cols) = (rows.div_ceil(2), cols.div_ceil(2));
        // Phase pixel `(r, s)` at `(r + 1, s + 1)`; the patch of tile `(ty, tx)` is rows
        // `2 ty .. 2 ty + 4` and columns `2 tx .. 2 tx + 4`.
        let across = 2 * tile_cols + 2;
        let height = 2 * tile_rows + 2;
        phase.resize(height * across * cin, 0.0);
        // The border of zeros (the gather below writes every other entry): the rows above and
        // below the phase, and the columns left and right of it.
        phase[..across * cin].fill(0.0);
        phase[(rows + 1) * across * cin..].fill(0.0);
        for r in 1..=rows {
            let row = &mut phase[r * across * cin..][..across * cin];
            row[..cin].fill(0.0);
            row[(cols + 1) * cin..].fill(0.0);
        }
        for (c, channel) in pixels.chunks_exact(plane).enumerate() {
            for r in 0..rows {
                let source = &channel[(py + d * r) * width + px..];
                let target = &mut phase[((r + 1) * across + 1) * cin + c..];
                for s in 0..cols {
                    target[s * cin] = source[s * d];
                }
            }
        }
        for ty in 0..tile_rows {
            for tx in 0..tile_cols {
                let tile = first + ty * tile_cols + tx;
                let dst = &mut v[tile * POINTS * cin..][..POINTS * cin];
                let mut c = 0;
                while c < cin {
                    let n = LANES.min(cin - c);
                    let patch: [Lanes; POINTS] = std::array::from_fn(|k| {
                        let (a, b) = (k / 4, k % 4);
                        load(&phase[((2 * ty + a) * across + 2 * tx + b) * cin + c..], n)
                    });
                    for (k, lanes) in input_points(&patch).iter().enumerate() {
                        store(&mut dst[k * cin + c..], lanes, n);
                    }
                    c += n;
                }
            }
        }
    }
}
}

/// `B^T d B` for 4x4 patches `d` (row-major), lane by lane.
#[inline(always)]
fn input_points(d: &[Lanes; POINTS]) -> [Lanes; POINTS] {
    let row = |a: usize| [d[4 * a], d[4 * a + 1], d[4 * a + 2], d[4 * a + 3]];
    let t = [
        map4(row(0), row(2), sub),
        map4(row(1), row(2), add),
        map4(row(2), row(1), sub),
        map4(row(1), row(3), sub),
    ];
    let mut v = [[0.0; LANES]; POINTS];
    for (a, [t0, t1, t2, t3]) in t.into_iter().enumerate() {
        v[4 * a] = sub(t0, t2);
        v[4 * a + 1] = add(t1, t2);
        v[4 * a + 2] = sub(t2, t1);
        v[4 * a + 3] = sub(t1, t3);
    }
    v
}

/// The 16 GEMMs: `m[t, k, o] = sum_c v[t, k, c] u[k, o, c]`, with `v` `[tiles, 16, in]` and
/// `m` `[tiles, 16, out]`.
pub(super) fn multiply(
    plan: &Plan,
    tiles: &Tiles,
    u: &[f32],
    v: &[f32],
    m: &mut [f32],
    threads: Threads,
) {
    let (out, cin, count) = (plan.channels_out, plan.channels_in, tiles.count);
    for (k, u) in u.chunks_exact(out * cin).enumerate() {
        sgemm_rows(
            &mut m[k * out..],
            POINTS * out,
            false,
            Mat {
                data: &v[k * cin..],
                rows: count,
                cols: cin,
                row_stride: POINTS * cin,
                col_stride: 1,
            },
            Mat::transposed(u, cin, out),
            threads,
        );
    }
}

multiversion! {
/// The output transform into `map` (`[out, h, w]`): `A^T M A` per tile and output channel,
/// with `A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]`, plus the bias, rectified when `relu`. Compiled
/// for each instruction set ([`multiversion!`]): callers pass the plan's `isa` first.
pub(super) fn output_transform(
    plan: &Plan,
    tiles: &Tiles,
    m: &[f32],
    bias: &[f32],
    relu: bool,
    map: &mut [f32],
) {
    let (out, d) = (plan.channels_out, tiles.dilation);
    let (width, positions) = (plan.width, plan.positions());
    tiles.for_each(|tile, y, x, dy, dx| {
        let points = &m[tile * POINTS * out..][..POINTS * out];
        let mut o = 0;
        while o < out {
            let n = LANES.min(out - o);
            let lanes_of: [Lanes; POINTS] =
                std::array::from_fn(|k| load(&points[k * out + o..], n));
            let shift = load(&bias[o..], n);
            let outputs = output_points(&lanes_of);
            for (r, row) in outputs.iter().enumerate().take(dy) {
                for (q, lanes) in row.iter().enumerate().take(dx) {
                    let at = (y + r * d) * width + x + q * d;
                    for (l, (value, shift)) in lanes.iter().zip(shift).take(n).enumerate() {
                        let biased = value + shift;
                        map[(o + l) * positions + at] = if relu { biased.max(0.0) } else { biased };
                    }
                }
            }
            o += n;
        }
    });
}
}

/// `A^T M A` for 4x4 `M` (row-major), lane by lane: 2x2 outputs.
#[inline(always)]
fn output_points(m: &[Lanes; POINTS]) -> [[Lanes; 2]; 2] {
    let column = |b: usize| {
        let (m0, m1, m2, m3) = (m[b], m[4 + b], m[8 + b], m[12 + b]);
        [add(add(m0, m1), m2), sub(sub(m1, m2), m3)]
    };
    let s = [column(0), column(1), column(2), column(3)];
    let mut y = [[[0.0; LANES]; 2]; 2];
    for (r, row) in y.iter_mut().enumerate() {
        let (s0, s1, s2, s3) = (s[0][r], s[1][r], s[2][r], s[3][r]);
        row[0] = add(add(s0, s1), s2);
        row[1] = sub(sub(s1, s2), s3);
    }
    y
}

/// The first `n` (at most [`LANES`]) values of `values` as lanes, the rest zeros. A whole
/// set of lanes is one copy of constant size, which compiles to vector loads instead of a call
/// to `memcpy`.
#[inline(always)]
fn load(values: &[f32], n: usize) -> Lanes {
    if n == LANES {
        values[..LANES].try_into().expect("LANES values")
    } else {
        let mut lanes = [0.0; LANES];
        lanes[..n].copy_from_slice(&values[..n]);
        lanes
    }
}

/// The first `n` lanes into `values` (see [`load`]).
#[inline(always)]
fn store(values: &mut [f32], lanes: &Lanes, n: usize) {
    if n == LANES {
        values[..LANES].copy_from_slice(lanes);
    } else {
        values[..n].copy_from_slice(&lanes[..n]);
    }
}

/// `f` on each of four pairs of lanes.
#[inline(always)]
fn map4(a: [Lanes; 4], b: [Lanes; 4], f: impl Fn(Lanes, Lanes) -> Lanes) -> [Lanes; 4] {
    [f(a[0], b[0]), f(a[1], b[1]), f(a[2], b[2]), f(a[3], b[3])]
}

#[inline(always)]
fn add(a: Lanes, b: Lanes) -> Lanes {
    std::array::from_fn(|l| a[l] + b[l])
}

#[inline(always)]
fn sub(a: Lanes, b: Lanes) -> Lanes {
    std::array::from_fn(|l| a[l] - b[l])
}
