//! One 3-D kernel at several dilations on volumes whose class is a solid's shape, trained on
//! small solids and tested on larger ones, against the plain model of equal parameters.
//!
//! ```text
//! cargo run --release --example volume_scales            # 3 seeds, a few minutes on 2 cores
//! cargo run --release --example volume_scales -- --quick # 2 seeds, smaller sets
//! ```
//!
//! The task (`multi_dilation_examples::ranks::volumes`): a ball, a cube or a cross of three
//! bars in 12^3 noisy voxels; the radius is 2 voxels times the size factor. Training and validation at factors 1 to 1.25; test at 1 to 2 by quarters.
//! Both models: three convolutions of 3x3x3 (1 -> 6 -> 6 -> 6 channels) with ReLU, a global
//! max over the volume, a linear head; the shared model runs the stack at dilations 1, 2 and 3
//! with the same kernels and keeps the largest pooled response. Results: `docs/ranks.md`.

use burn::tensor::Device;
use clap::Parser;
use multi_dilation::{MultiDilationConv3d, MultiDilationConv3dConfig};
use multi_dilation_examples::ranks::cli::RankArgs;
use multi_dilation_examples::ranks::volumes::{VolumeSizes, task};
use multi_dilation_examples::ranks::{compare_shared_and_plain, table};
use multi_dilation_examples::select_device;
use multi_dilation_examples::study::fit::Budget;

fn main() {
    let args = RankArgs::parse();
    let budget = Budget {
        epochs: if args.quick { 4 } else { 10 },
        batch_size: 32,
        learning_rate: 3e-3,
    };
    let budget = match args.budget(budget) {
        Ok(budget) => budget,
        Err(err) => {
            eprintln!("error: {err}");
            std::process::exit(2);
        }
    };
    let mut sizes = VolumeSizes::standard();
    if args.quick {
        (sizes.draws.train, sizes.draws.valid, sizes.draws.test) = (150, 90, 90);
    }
    let device = select_device();
    let task = task(&sizes, 0);
    let layer =
        |channels: [usize; 2], dilations: &[usize], device: &Device| -> MultiDilationConv3d {
            MultiDilationConv3dConfig::new(channels, [3, 3, 3])
                .with_dilations(dilations.to_vec())
                .init(device)
        };
    println!(
        "volumes: {} training, {} validation, {} test per size factor; {} epochs",
        sizes.draws.train, sizes.draws.valid, sizes.draws.test, budget.epochs
    );
    let outcomes =
        compare_shared_and_plain(&task, &[1, 6, 6, 6], &layer, &args.seeds(), budget, &device);
    println!("\ntest accuracy % by size factor (mean ± sd over seeds)\n");
    println!("{}", table(&outcomes));
}
