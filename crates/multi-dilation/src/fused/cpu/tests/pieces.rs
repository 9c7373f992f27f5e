//! The forward when whole maps cannot keep the threads busy: one image of three branches on
//! two threads, where each map is cut into pieces of output channels, one per thread.

use super::super::forward::forward_using;
use super::super::gemm::Threads;
use super::super::isa::Isa;
use super::super::strategy::ForwardStrategy;
use super::super::threads::gemm_threads;
use super::Plan;
use super::reference::{direct, input_len, values};
use crate::shape::BranchLayout;

/// On two threads, three maps of 45 output channels (pieces of 23 and 22 channels, the second
/// starting inside the kernel's rows) by im2col and by the shifted GEMMs, each at every
/// instruction-set level, against the direct loop, with and without the ReLU.
#[test]
fn forward_cut_into_pieces_of_output_channels_equals_a_direct_loop() {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("a pool of two threads");
    pool.install(|| {
        let plan = Plan::new(
            [1, 64, 32, 32],
            [45, 64, 3, 3],
            [1, 1],
            &[1, 2, 5],
            BranchLayout::Shared,
        );
        // The case this test is about: whole maps would leave a thread idle.
        let flops = 2.0 * (plan.map() * (plan.patch() + 1)) as f64;
        assert_eq!(gemm_threads(3, flops), Threads::All);
        let input = values(input_len(&plan), 40);
        let kernel = values(plan.channels_out * plan.patch(), 41);
        let bias = values(plan.channels_out, 42);
        let reference = direct(&plan, &input, &kernel, &bias);
        for isa in [Isa::available()[0], Isa::detect()] {
            let plan = Plan {
                isa,
                ..plan.clone()
            };
            for strategy in [ForwardStrategy::Im2col, ForwardStrategy::Shifted] {
                for relu in [false, true] {
                    let got = forward_using(&plan, &input, &kernel, &bias, relu, strategy);
                    assert_eq!(got.len(), reference.len());
                    for (i, (a, b)) in got.iter().zip(&reference).enumerate() {
                        let b = if relu { b.max(0.0) } else { *b };
                        // Sums of 576 products of values below 1: well within 1e-4.
                        assert!(
                            (a - b).abs() < 1e-4,
                            "{isa:?} {strategy:?} relu {relu} index {i}: {a} vs {b}"
                        );
                    }
                }
            }
        }
    });
}
