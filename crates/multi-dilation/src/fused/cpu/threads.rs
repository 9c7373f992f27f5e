//! How a call spreads its work over rayon's threads: into [`groups`] of whole units (maps in
//! forward, images in backward), and, when there are too few units, each GEMM across every
//! thread ([`gemm_threads`]).

use super::gemm::Threads;

/// How many groups of work a call splits into: four per thread, each with its own scratch
/// blocks and partial sums, so that rayon can hand the groups of a thread that runs slow (a
/// busy core on a shared machine) to the others.
pub(super) fn groups() -> usize {
    4 * rayon::current_num_threads().max(1)
}

/// The threads each GEMM of a call runs on, for `units` independent units of work (maps in
/// forward, images in backward) of `flops` each. Units are spread over the threads whole, so
/// the slowest thread gets `ceil(units / threads)` of them: when that is more than 20% above
/// an even share (one image on two threads, or three maps), the GEMMs themselves are split
/// across every thread instead, if each unit is large enough (50 MFLOP) for the split to cost
/// little next to its work.
pub(super) fn gemm_threads(units: usize, flops: f64) -> Threads {
    let threads = rayon::current_num_threads().max(1);
    let uneven = 5 * units.div_ceil(threads) * threads > 6 * units;
    if threads > 1 && uneven && flops >= 50e6 {
        Threads::All
    } else {
        Threads::One
    }
}
