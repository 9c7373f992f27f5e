//! One 1-D kernel at several dilations on signals whose class is a wave's shape, trained on
//! short periods and tested on longer ones, against the plain model of equal parameters.
//!
//! ```text
//! cargo run --release --example signal_scales            # 3 seeds, a few minutes on 2 cores
//! cargo run --release --example signal_scales -- --quick # 2 seeds, smaller sets
//! ```
//!
//! The task (`multi_dilation_examples::ranks::signals`): a burst of three cycles of a sine,
//! triangle, square or sawtooth wave in 256 noisy samples; the period is 6 samples times the
//! size factor. Training and validation at factors 1 to 1.5; test at 1, 1.5, 2, 2.5 and 3.
//! Both models: three convolutions of 5 taps (1 -> 12 -> 12 -> 12 channels) with ReLU, a
//! global max over time, a linear head; the shared model runs the stack at dilations 1, 2 and 3
//! with the same kernels and keeps the largest pooled response. Results: `docs/ranks.md`.

use burn::tensor::Device;
use clap::Parser;
use multi_dilation::{MultiDilationConv1d, MultiDilationConv1dConfig};
use multi_dilation_examples::ranks::cli::RankArgs;
use multi_dilation_examples::ranks::signals::{SignalSizes, task};
use multi_dilation_examples::ranks::{compare_shared_and_plain, table};
use multi_dilation_examples::select_device;
use multi_dilation_examples::study::fit::Budget;

fn main() {
    let args = RankArgs::parse();
    let budget = Budget {
        epochs: if args.quick { 10 } else { 30 },
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
    let mut sizes = SignalSizes::standard();
    if args.quick {
        (sizes.draws.train, sizes.draws.valid, sizes.draws.test) = (1_000, 300, 300);
    }
    let device = select_device();
    let task = task(&sizes, 0);
    let layer =
        |channels: [usize; 2], dilations: &[usize], device: &Device| -> MultiDilationConv1d {
            MultiDilationConv1dConfig::new(channels, 5)
                .with_dilations(dilations.to_vec())
                .init(device)
        };
    println!(
        "signals: {} training, {} validation, {} test per period factor; {} epochs",
        sizes.draws.train, sizes.draws.valid, sizes.draws.test, budget.epochs
    );
    let outcomes = compare_shared_and_plain(
        &task,
        &[1, 12, 12, 12],
        &layer,
        &args.seeds(),
        budget,
        &device,
    );
    println!("\ntest accuracy % by period factor (mean ± sd over seeds)\n");
    println!("{}", table(&outcomes));
}
