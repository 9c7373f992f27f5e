//! The direct forward ([`ForwardStrategy::Direct`](super::strategy::ForwardStrategy)): no
//! im2col matrix and no GEMM call.
//!
//! A tile of the output, `V` vectors of output channels (`L` lanes each: 8 with AVX2, 16 with
//! AVX-512) by `P` consecutive outputs of one row, stays in `V * P` vector registers for the
//! whole sum over (input channel, tap). Each step of the sum loads the `V` vectors of weights of
//! one (channel, tap), which [`Packed`] lays out contiguously, and broadcasts each of the `P`
//! input pixels that step meets, one multiply-add per register; the tile is written out once,
//! with the bias it started from and the ReLU. The input is read in place from a zero-padded
//! copy of the image ([`Frame`], one per image, wide enough for every branch), so a dilation or
//! a stride is only the distance between the pixels a step reads. This is the register
//! blocking of a direct convolution (oneDNN's kernels do the same), where im2col writes
//! `kh * kw` copies of the image and gemm then packs them again.
//!
//! Where the layer has few output channels per pixel of work (small kernels, thin layers),
//! writing the tiles out is a share of the time: each row of a band's tiles is transposed into
//! the output's rows eight channels by eight outputs at a time. The tile loop and that
//! write-out ([`kernels`]) are the crate's only hand-written intrinsics, in `#[target_feature]`
//! functions behind safe ones that check every bound first; the layout they read is in
//! [`layout`].

mod kernels;
mod layout;

use std::mem::MaybeUninit;
use std::ops::Range;

use rayon::prelude::*;

use super::isa::Isa;
use super::plan::{Plan, Taps};
use super::threads::groups;
use layout::{Frame, Packed, Shape};

/// Everything a tile reads, for one plan: the shape, the packed kernel and the frame.
pub(super) struct Tiles {
    shape: Shape,
    packed: Packed,
    frame: Frame,
    /// Where each output of a row has its sums in the row's tiles (`[P, channels]` each).
    at: Vec<usize>,
    /// Per branch, each tile of a row ([`RowTile`]), the same on every row.
    row_tiles: Vec<Vec<RowTile>>,
    isa: Isa,
}

/// One tile of a row: its first output `x0`, its width `n`, and the kernel's columns that
/// read the image for at least one of its outputs (the others read padding only). Computed
/// once per call: the bounds take divisions by the dilation, which per tile and chunk cost
/// about 2% of a forward with small maps.
struct RowTile {
    x0: usize,
    n: usize,
    columns: Range<usize>,
}

impl RowTile {
    /// The tiles of a row of a branch at dilation `d` and left padding `l`.
    fn row(plan: &Plan, shape: Shape, d: usize, l: usize) -> Vec<Self> {
        let ([_, kw], sx) = (plan.kernel, plan.stride[1]);
        (0..shape.per_row)
            .map(|index| {
                let (x0, n) = shape.tile(index, plan.out_width);
                // A tap `j` reads `position + j * d`: the targets of `Taps::valid_range` at
                // stride `d`, from the tile's last output and from its first.
                let first = (x0 * sx) as isize - l as isize;
                let last = ((x0 + n.max(1) - 1) * sx) as isize - l as isize;
                Self {
                    x0,
                    n,
                    columns: Taps::valid_range(last, d, plan.width, kw).0
                        ..Taps::valid_range(first, d, plan.width, kw).1,
                }
            })
            .collect()
    }
}

impl Tiles {
    /// The tiles of `plan`, or `None` where the direct forward does not run
    /// ([`Shape::new`]).
    pub fn new(plan: &Plan, kernel: &[f32], bias: &[f32]) -> Option<Self> {
        let shape = Shape::new(plan)?;
        let (wo, channels) = (plan.out_width, shape.channels());
        let at = (0..shape.per_row)
            .flat_map(|index| {
                let (_, n) = shape.tile(index, wo);
                (0..n).map(move |p| (index * shape.pixels + p) * channels)
            })
            .collect();
        let row_tiles = plan
            .branches
            .iter()
            .map(|&(d, _, l)| RowTile::row(plan, shape, d, l))
            .collect();
        Some(Self {
            shape,
            packed: Packed::new(plan, kernel, bias, channels),
            frame: Frame::new(plan),
            at,
            row_tiles,
            isa: plan.isa,
        })
    }

    /// The kernel's rows that read the image for output row `y` of branch `branch` (a tap `i`
    /// reads row `position + i * d`); the others read padding only.
    fn rows(&self, plan: &Plan, branch: usize, y: usize) -> Range<usize> {
        let (d, t, _) = plan.branches[branch];
        let rows = Taps::valid_range(
            (y * plan.stride[0]) as isize - t as isize,
            d,
            plan.height,
            plan.kernel[0],
        );
        rows.0..rows.1
    }

    /// Input channels summed per pass over a band ([`for_each_band`]): as many as keep the
    /// weights a pass reads within [`CHUNK_BYTES`], so that they stay in L1 while the pass
    /// walks every tile of the band.
    fn chunk(&self, plan: &Plan) -> usize {
        let per_channel = plan.kernel[0] * plan.kernel[1] * self.shape.channels() * 4;
        (CHUNK_BYTES / per_channel.max(1)).clamp(1, plan.channels_in.max(1))
    }

    /// Adds input channels `channels` of one tile to `acc` (`[n, channels]`, as the tile
    /// holds them): block `block`'s output channels at the outputs `tile` of row `y` of branch
    /// `branch`, whose kernel rows `rows` read the image ([`rows`](Self::rows)), from the
    /// padded image `padded`.
    ///
    /// # Panics
    /// Panics if a pixel the tile reads lies past `padded` ([`kernels::tile`]).
    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        plan: &Plan,
        (branch, block, channels): (usize, usize, Range<usize>),
        (y, rows): (usize, Range<usize>),
        tile: &RowTile,
        padded: &[f32],
        acc: &mut [f32],
        bias: Option<&[f32]>,
    ) {
        let (d, t, l) = plan.branches[branch];
        let [kh, kw] = plan.kernel;
        let [sy, sx] = plan.stride;
        let weights = self.packed.block(block);
        let per_channel = kh * kw * self.shape.channels();
        let plane = self.frame.plane();
        let start = channels.start * plane
            + (y * sy + self.frame.top - t) * self.frame.width
            + tile.x0 * sx
            + self.frame.left
            - l;
        let step = kernels::Step {
            channels: channels.len(),
            kh,
            kw,
            rows,
            columns: tile.columns.clone(),
            plane,
            row_step: d * self.frame.width,
            col_step: d,
        };
        kernels::tile(
            self.isa,
            self.shape,
            [tile.n, sx],
            &step,
            &weights[channels.start * per_channel..channels.end * per_channel],
            padded.get(start..).unwrap_or_default(),
            acc,
            bias,
        );
    }
}

/// The bytes of weights one pass of [`for_each_band`] reads for a block: half of a 32 KiB L1
/// data cache, the other half for the pixels. Measured against 8, 32 KiB and no chunks
/// (`docs/cpu_inference.md`): 8 and 16 within noise of each other, 32 up to 20% slower on
/// thin and widely dilated layers, no chunks up to 80% slower.
const CHUNK_BYTES: usize = 16 * 1024;

/// The bytes of one band's sums ([`for_each_band`]), which stay in L2 beside the weights and
/// the padded image while every chunk adds to them. Measured against 32 and 64 KiB: within
/// noise on most classes, 5-12% faster on the batch-1 wide layers.
const BAND_BYTES: usize = 128 * 1024;

/// [`ForwardStrategy::Direct`](super::strategy::ForwardStrategy): the output, ReLU applied
/// when `relu`.
///
/// The output is not zeroed first: every element is written once by the write-out of its
/// band, and zeroing first (on every thread) took 2-3% of a forward with small maps.
///
/// # Panics
/// Panics if [`Shape::new`] gives no tiles for `plan` (below AVX2, or a horizontal stride
/// above 2).
pub(super) fn forward(
    plan: &Plan,
    input: &[f32],
    kernel: &[f32],
    bias: &[f32],
    relu: bool,
) -> Vec<f32> {
    let tiles = Tiles::new(plan, kernel, bias).unwrap_or_else(|| {
        panic!(
            "fused multi-dilation conv2d: the direct forward needs AVX2 and a horizontal \
             stride of at most 2, got {:?} and stride {:?}",
            plan.isa.level(),
            plan.stride
        )
    });
    let len = plan.output_len();
    let mut output = Vec::with_capacity(len);
    let written = fill(
        plan,
        &tiles,
        input,
        relu,
        &mut output.spare_capacity_mut()[..len],
    );
    assert_eq!(
        written, len,
        "direct forward: {written} of {len} outputs written"
    );
    // SAFETY: `fill` cuts the first `len` elements of the spare capacity into disjoint slices
    // (`chunks_mut`, moved into one band each) and returns the summed lengths of the slices
    // whose every element it wrote (`for_each_band`). Disjoint slices of `len` elements in
    // all cover the whole of it, so every element up to `len` is initialised.
    #[allow(unsafe_code)]
    unsafe {
        output.set_len(len)
    };
    output
}

/// Writes every band of `output` (see [`forward`]): the number of elements written.
fn fill(
    plan: &Plan,
    tiles: &Tiles,
    input: &[f32],
    relu: bool,
    output: &mut [MaybeUninit<f32>],
) -> usize {
    let images = plan.input_images();
    let per_image = plan.image_branches(0).len() * plan.map();
    if per_image == 0 {
        return output.len();
    }
    let threads = rayon::current_num_threads().max(1);
    let shape = tiles.shape;
    let band_bytes = shape.per_row * shape.pixels * shape.channels() * 4;
    let band_rows = (BAND_BYTES / band_bytes.max(1)).clamp(1, plan.out_height.max(1));
    if images >= 2 * threads {
        // Whole images per task, in groups with one padded image each.
        let per_group = images.div_ceil(groups());
        return output
            .par_chunks_mut(per_image * per_group)
            .enumerate()
            .map(|(group, maps)| {
                let (mut padded, mut sums, mut written) = (Vec::new(), Vec::new(), 0);
                for (k, maps) in maps.chunks_mut(per_image).enumerate() {
                    let image = group * per_group + k;
                    tiles
                        .frame
                        .pad(plan, plan.pixels(input, image), &mut padded);
                    for unit in units(plan, tiles, image, maps, band_rows) {
                        written += for_each_band(plan, tiles, &padded, unit, relu, &mut sums);
                    }
                }
                written
            })
            .sum();
    }
    // Few images: each image's bands of rows shared out, enough for every thread.
    let per_band = plan.image_branches(0).len() * tiles.packed.blocks();
    let bands = (4 * threads).div_ceil(per_band.max(1));
    let band_rows = band_rows.min(plan.out_height.div_ceil(bands).max(1));
    let mut padded = Vec::new();
    let mut written = 0;
    for (image, maps) in output.chunks_mut(per_image).enumerate() {
        tiles
            .frame
            .pad(plan, plan.pixels(input, image), &mut padded);
        let units = units(plan, tiles, image, maps, band_rows);
        written += units
            .into_par_iter()
            .map_init(Vec::new, |sums, unit| {
                for_each_band(plan, tiles, &padded, unit, relu, sums)
            })
            .sum::<usize>();
    }
    written
}

/// One band of work: branch, block of output channels, first output row, and the block's
/// channels' rows of the band (`[rows * wo]` each).
type Unit<'a> = (usize, usize, usize, Vec<&'a mut [MaybeUninit<f32>]>);

/// Image `image`'s maps `maps` cut into [`Unit`]s of `band_rows` rows.
fn units<'a>(
    plan: &Plan,
    tiles: &Tiles,
    image: usize,
    maps: &'a mut [MaybeUninit<f32>],
    band_rows: usize,
) -> Vec<Unit<'a>> {
    let (positions, wo) = (plan.positions(), plan.out_width);
    let channels = tiles.shape.channels();
    let mut units = Vec::new();
    for (branch, map) in plan.image_branches(image).zip(maps.chunks_mut(plan.map())) {
        for (block, rows) in map.chunks_mut(channels * positions).enumerate() {
            let mut per_band: Vec<Vec<&mut [MaybeUninit<f32>]>> = Vec::new();
            for channel in rows.chunks_mut(positions) {
                for (band, part) in channel.chunks_mut(band_rows * wo).enumerate() {
                    if per_band.len() <= band {
                        per_band.push(Vec::new());
                    }
                    per_band[band].push(part);
                }
            }
            for (band, parts) in per_band.into_iter().enumerate() {
                units.push((branch, block, band * band_rows, parts));
            }
        }
    }
    units
}

/// One [`Unit`], with its tiles' sums in `sums` (resized here): they start at the bias (in
/// the first chunk's tile loop), take the input channels in chunks of [`Tiles::chunk`] (every
/// tile of the band per chunk, so the chunk's weights are read from L1 by each tile), and are
/// written out once, row by row, rectified when `relu`. Every element of every part is
/// written; the return value is their number.
///
/// # Panics
/// Panics if the parts are not all `rows * wo` long.
fn for_each_band(
    plan: &Plan,
    tiles: &Tiles,
    padded: &[f32],
    (branch, block, first, mut parts): Unit<'_>,
    relu: bool,
    sums: &mut Vec<f32>,
) -> usize {
    let wo = plan.out_width.max(1);
    let shape = tiles.shape;
    let (channels, pixels) = (shape.channels(), shape.pixels);
    let tile_len = pixels * channels;
    let rows = parts.first().map_or(0, |part| part.len() / wo);
    // The write-out below writes `offset..offset + at.len()` of each part for the offsets
    // `y * wo` of every row: all of each part when `at` has one entry per output of a row.
    assert!(
        tiles.at.len() == wo && parts.iter().all(|part| part.len() == rows * wo),
        "direct forward: parts of {rows} rows of {wo} outputs, written {} per row",
        tiles.at.len()
    );
    // Every sum is written by the first chunk's tiles, which start from the bias.
    sums.resize(rows * shape.per_row * tile_len, 0.0);
    let chunk = tiles.chunk(plan);
    let row_len = shape.per_row * tile_len;
    // At least one chunk, empty without input channels, so that the bias is written.
    for start in (0..plan.channels_in.max(1)).step_by(chunk) {
        let range = start..(start + chunk).min(plan.channels_in);
        for (y, row) in sums.chunks_exact_mut(row_len).enumerate() {
            let y = first + y;
            let rows = tiles.rows(plan, branch, y);
            for (tile, acc) in tiles.row_tiles[branch]
                .iter()
                .zip(row.chunks_exact_mut(tile_len))
            {
                let channels = (branch, block, range.clone());
                let bias = (start == 0).then(|| tiles.packed.bias(block));
                tiles.run(plan, channels, (y, rows.clone()), tile, padded, acc, bias);
            }
        }
    }
    for (y, row) in sums.chunks_exact(row_len).enumerate() {
        kernels::write_out(
            tiles.isa,
            row,
            &tiles.at,
            channels,
            relu,
            &mut parts,
            y * wo,
        );
    }
    parts.len() * rows * wo
}
