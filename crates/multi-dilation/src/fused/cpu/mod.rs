//! The fused multi-dilation convolution on plain `f32` slices: the im2col matrix of each
//! (image, dilation) from the one input, built in L2-sized blocks that a GEMM with the shared
//! kernel consumes at once, and a backward pass that sums the weight gradient over every
//! dilation inside the same loop.
//!
//! Layouts are row-major and contiguous: input `[batch, in, h, w]`, kernel `[out, in, kh, kw]`,
//! output `[batch, dilations, out, ho, wo]`, which is the channel concatenation of the branches.
//!
//! Data flow:
//! - [`plan`]: a [`Plan`] holds the sizes and the 'same' padding of each dilation, and describes
//!   each im2col matrix as [`Taps`](plan::Taps) (which source element each entry reads).
//! - [`im2col`]: builds those matrices block by block (and scatters columns back, col2im).
//! - [`gemm`]: the single-threaded GEMM every product goes through (the crate's one `unsafe`).
//! - [`forward`](mod@forward): per (image, dilation), im2col blocks of the input times the
//!   kernel (bias as its last column), ReLU as each map is finished; or, for wide 3x3 layers
//!   at stride 1, [`winograd`]'s F(2x2, 3x3) ([`forward::ForwardStrategy`]).
//! - [`backward`](mod@backward): per image and dilation, the input gradient and partial kernel
//!   and bias gradients, by one of three strategies ([`backward::Strategy`]).
//!
//! Threading: work is split with rayon over contiguous groups of (image, dilation) maps in
//! forward and of images in backward ([`groups`]); each GEMM runs single-threaded, unless there
//! are too few maps or images to keep every thread busy ([`gemm_threads`]).

mod backward;
mod forward;
mod gemm;
mod im2col;
mod plan;
mod strategy;
#[cfg(test)]
mod tests;
mod winograd;

use gemm::Threads;

pub(crate) use backward::backward;
pub(crate) use forward::forward;
pub(crate) use plan::Plan;

/// The size of one block of an im2col matrix: the GEMM consumes each block while it is still in
/// the core's L2 cache (2 MiB on the benchmark machine), instead of reading back a matrix of
/// several megabytes from memory. Of 256 KiB to 2 MiB, 512 KiB is fastest on S3 and S4.
const BLOCK_BYTES: usize = 512 * 1024;

/// The fewest columns (output positions) of one im2col block. Every GEMM packs its whole
/// left-hand side, the kernel, before multiplying it by the block's columns: packing costs
/// about as much per element as 16 multiply-adds, so a block of `n` columns spends about
/// `16 / n` of its time packing. On wide layers [`BLOCK_BYTES`] alone gives blocks of a few
/// dozen columns (28 on 512 channels with a 3x3 kernel, where a column takes 18 KiB), which
/// packed a 9 MiB kernel for every 28 columns; 256 columns keep packing near 6%.
const BLOCK_COLUMNS: usize = 256;

/// How many groups of work a call splits into: four per thread, each with its own scratch
/// blocks and partial sums, so that rayon can hand the groups of a thread that runs slow (a
/// busy core on a shared machine) to the others. On S3's forward under such load, four groups
/// per thread take 7.0-9.2 ms where one group per thread takes 9.6-11.2 ms.
fn groups() -> usize {
    4 * rayon::current_num_threads().max(1)
}

/// The threads each GEMM of a call runs on, for `units` independent units of work (maps in
/// forward, images in backward) of `flops` each. Units are spread over the threads whole, so
/// the slowest thread gets `ceil(units / threads)` of them: when that is more than 20% above
/// an even share (one image on two threads, or three maps), the GEMMs themselves are split
/// across every thread instead, if each unit is large enough (50 MFLOP) for the split to cost
/// little next to its work. On batch 1, 512 -> 512 channels at 14x14 (`benches/compare.sh`,
/// B1x512), forward+backward went from 146 to 118 ms with this split alone (one run each).
fn gemm_threads(units: usize, flops: f64) -> Threads {
    let threads = rayon::current_num_threads().max(1);
    let uneven = 5 * units.div_ceil(threads) * threads > 6 * units;
    if threads > 1 && uneven && flops >= 50e6 {
        Threads::All
    } else {
        Threads::One
    }
}
