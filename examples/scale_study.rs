//! Does sharing one kernel across dilations make a classifier robust to the size of digits?
//! Four models, the same budget: (a) `MultiDilationNet` with one kernel at dilations 1, 2, 3;
//! (b) the same with an independent kernel per dilation; (c) a single-dilation CNN with the
//! conv parameters of (a); (d) a single-dilation CNN widened to those of (b). Trained and
//! tested on MNIST-scale (Sosnovik et al., ICLR 2020), and trained at scale 1 then tested at
//! scales 0.5 to 2.0.
//!
//! `cargo run --release --example scale_study -- --quick` (one realisation, fewer epochs:
//! under 10 minutes on 2 cores); without `--quick`, the full study (six realisations). Writes
//! `results.md`, `results.json`, `errors.{png,svg}` and `scale.{png,svg}` to `--output`.

use std::path::PathBuf;

use clap::Parser;
use multi_dilation_examples::select_device;
use multi_dilation_examples::study::{self, StudyConfig, StudyDigits};
use multi_dilation_mnist::{download, files};

#[derive(Parser)]
#[command(about = "The scale-robustness study: four models on MNIST-scale, tables and plots")]
struct Args {
    /// One realisation, 2 epochs, a smaller generalisation set.
    #[arg(long)]
    quick: bool,
    /// MNIST-scale realisations to run (seeds from 0); default 6 (1 with --quick).
    #[arg(long)]
    realisations: Option<u64>,
    /// Epochs on MNIST-scale (default 5; 2 with --quick).
    #[arg(long)]
    epochs: Option<usize>,
    /// Folder for the table and the plots.
    #[arg(long, default_value = "artifacts/scale_study")]
    output: PathBuf,
    /// Folder of the MNIST files (default: $MNIST_DIR, else the user cache folder).
    #[arg(long)]
    data_dir: Option<PathBuf>,
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
    if let Some(epochs) = args.epochs {
        config.budget.epochs = epochs;
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
