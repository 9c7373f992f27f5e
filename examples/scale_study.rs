//! Does sharing one kernel across dilations make a classifier robust to the size of digits?
//! The third edition of the study: a plain CNN (global-max and flatten heads, and trained with
//! scale augmentation as a reference) and deep multi-dilation networks on one skeleton (three
//! blocks of 3x3 convolution, 16/32/48 channels) and one budget; the best shared model chosen
//! on validation data, with its head and its independent-kernel twin; the first edition's
//! one-layer model. Trained and tested on MNIST-scale (Sosnovik et al., ICLR 2020), and
//! trained on small digits then tested on digits up to three times larger, over several seeds.
//!
//! `cargo run --release --example scale_study -- --quick` (under 10 minutes on 2 cores);
//! without `--quick`, the full study (see `docs/scale_study/README.md` for its command and
//! time). Writes one record per trained model under `--output`/runs (a rerun resumes: what is
//! there is read back, not trained again), then `results.md`, `results.json` and the plots
//! `errors`, `scale` and `convergence` (`.png` and `.svg`). Any backend feature of the examples
//! crate runs it (`--features wgpu`, `cuda`).

use std::path::PathBuf;

use clap::Parser;
use multi_dilation_examples::select_device;
use multi_dilation_examples::study::{self, StudyConfig, StudyDigits};
use multi_dilation_mnist::{download, files};

#[derive(Parser)]
#[command(about = "The scale-robustness study: shared and independent kernels on MNIST-scale")]
struct Args {
    /// One realisation, small sets, 2 epochs, two seeds.
    #[arg(long)]
    quick: bool,
    /// MNIST-scale realisations to run (seeds from 0); default 3 (1 with --quick).
    #[arg(long)]
    realisations: Option<u64>,
    /// Training seeds of scale generalisation (from 0); default 5 (2 with --quick).
    #[arg(long)]
    seeds: Option<u64>,
    /// Epochs on MNIST-scale (default 15; 2 with --quick); the convergence check runs twice as
    /// many.
    #[arg(long)]
    epochs: Option<usize>,
    /// Epochs on the scale-generalisation set (default 5; 2 with --quick); its convergence check
    /// runs three times as many.
    #[arg(long)]
    generalisation_epochs: Option<usize>,
    /// Folder for the records, the tables and the plots.
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
    if let Some(n) = args.seeds {
        config.seeds = (0..n).collect();
        config.sweep_seeds.retain(|s| *s < n);
    }
    if let Some(epochs) = args.epochs {
        config.budget.epochs = epochs;
        if let Some(long) = config.long_budget.as_mut() {
            long.epochs = 2 * epochs;
        }
    }
    if let Some(epochs) = args.generalisation_epochs {
        config.generalisation_budget.epochs = epochs;
        if let Some(long) = config.long_generalisation_budget.as_mut() {
            long.epochs = 3 * epochs;
        }
    }
    // Before any data is read: `--epochs 0` would train nothing and report the untrained
    // models' errors as the study's results, `--realisations 0` would have nothing to report.
    if let Err(err) = config.validate() {
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
    match study::run(&config, &digits, &args.output, &device) {
        Ok(_) => println!(
            "\n{}",
            std::fs::read_to_string(args.output.join("results.md")).unwrap_or_default()
        ),
        Err(err) => {
            eprintln!("error: {err}");
            std::process::exit(1);
        }
    }
}
