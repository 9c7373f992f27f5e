//! Does sharing one kernel across dilations make a classifier robust to the size of digits?
//! The second edition of the study: a plain CNN and deep multi-dilation networks on one
//! skeleton (three blocks of 3x3 convolution, 16/32/48 channels) and one budget: scale
//! pooling per block or before the head, one or per-branch batch norm, anti-aliased dilation,
//! the independent-kernel twin of the best shared model, and the first edition's one-layer
//! model. Trained and tested on MNIST-scale (Sosnovik et al., ICLR 2020), and trained on small
//! digits then tested on digits up to three times larger.
//!
//! `cargo run --release --example scale_study -- --quick` (one realisation, small splits:
//! under 10 minutes on 2 cores); without `--quick`, the full study (three realisations).
//! Writes `results.md`, `results.json`, `errors.{png,svg}` and `scale.{png,svg}` to
//! `--output`. Any backend feature of the examples crate runs it (`--features wgpu`, `cuda`).

use std::path::PathBuf;

use clap::Parser;
use multi_dilation::HeadPool;
use multi_dilation_examples::select_device;
use multi_dilation_examples::study::{self, StudyConfig, StudyDigits};
use multi_dilation_mnist::{download, files};

#[derive(Parser)]
#[command(about = "The scale-robustness study: shared and independent kernels on MNIST-scale")]
struct Args {
    /// One realisation, small splits, 2 epochs.
    #[arg(long)]
    quick: bool,
    /// MNIST-scale realisations to run (seeds from 0); default 3 (1 with --quick).
    #[arg(long)]
    realisations: Option<u64>,
    /// Epochs on both sets (default 5; 2 with --quick).
    #[arg(long)]
    epochs: Option<usize>,
    /// Folder for the table and the plots.
    #[arg(long, default_value = "artifacts/scale_study")]
    output: PathBuf,
    /// Folder of the MNIST files (default: $MNIST_DIR, else the user cache folder).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Head pooling of the skeleton: global-max (default), global-average or flatten.
    #[arg(long, default_value = "global-max", value_parser = ["global-max", "global-average", "flatten"])]
    head: String,
    /// Use the built-in digits even when MNIST is available.
    #[arg(long)]
    builtin: bool,
}

fn main() {
    let args = Args::parse();
    let mut config = if args.quick {
        StudyConfig::quick()
    } else {
        StudyConfig::full()
    };
    if let Some(n) = args.realisations {
        config.realisations = (0..n).collect();
    }
    config.head = match args.head.as_str() {
        "flatten" => HeadPool::Flatten,
        "global-average" => HeadPool::GlobalAverage,
        _ => HeadPool::GlobalMax,
    };
    if let Some(epochs) = args.epochs {
        config.budget.epochs = epochs;
        config.generalisation_budget.epochs = epochs;
    }
    // Before any data is read: `--epochs 0` would train nothing and report the untrained
    // models' errors as the study's results, `--realisations 0` would have nothing to report.
    let checked = if config.realisations.is_empty() {
        Err("invalid `realisations` = 0: must be at least 1".to_string())
    } else {
        config
            .budget
            .validate()
            .and_then(|()| config.generalisation_budget.validate())
            .map_err(|e| e.to_string())
    };
    if let Err(err) = checked {
        eprintln!("error: {err}");
        std::process::exit(1);
    }
    let device = select_device();
    println!("device: {device:?}");
    let dir = files::resolve_data_dir(args.data_dir.as_deref());
    let digits = if args.builtin {
        StudyDigits::builtin(70_000)
    } else {
        let loaded = download::ensure(&dir, &download::MIRRORS)
            .map_err(Into::into)
            .and_then(|()| StudyDigits::mnist(&dir));
        match loaded {
            Ok(digits) => digits,
            Err(err) => {
                eprintln!("note: using the built-in procedural digits: {err}");
                StudyDigits::builtin(70_000)
            }
        }
    };
    if let Err(err) = study::run(&config, &digits, &args.output, &device) {
        eprintln!("error: {err}");
        std::process::exit(1);
    }
}
