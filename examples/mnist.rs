//! Train, evaluate and use a multi-dilation classifier on MNIST: the one-layer
//! `MultiDilationNet` (the default), or with `--model deep` the deep `DeepMultiDilationNet`
//! (`--model deep-twin`: its independent-kernel twin).
//!
//! ```sh
//! cargo run --release --example mnist                     # train (the default), then test
//! cargo run --release --example mnist -- --model deep     # the deep model
//! cargo run --release --example mnist -- eval             # evaluate the saved model
//! cargo run --release --example mnist -- predict digit.png
//! cargo run --release --example mnist --features wgpu     # on a GPU
//! cargo run --release --example mnist -- --help           # every option
//! ```
//!
//! MNIST is read from `--data-dir`, else `MNIST_DIR`, else the user cache folder, and
//! downloaded (verified) when missing. Without it, the built-in procedural digits are used
//! (harder than MNIST: scale-varied, jittered, cluttered and noisy; `--data builtin` asks for
//! them) unless `--data mnist` insists.
//!
//! Every training option defaults to `TrainingConfig::new()`, every model option to
//! `MultiDilationNetConfig::new()` or `DeepMultiDilationNetConfig::new()`; `--help` shows the
//! values.

use std::fmt;
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::LazyLock;

use burn::tensor::Device;
use clap::{Args, Parser, Subcommand, ValueEnum};
use multi_dilation::{
    ConfigError, DeepMultiDilationNetConfig, Kernels, Merge, MultiDilationNetConfig, Pooling,
};
use multi_dilation_examples::classifier::ModelConfig;
use multi_dilation_examples::data::{self, DataChoice, DataOptions};
use multi_dilation_examples::distributed::{DeviceSelection, Plan, Strategy};
use multi_dilation_examples::evaluate::{evaluate, validate_batch_size};
use multi_dilation_examples::training::{self, TrainingConfig};
use multi_dilation_examples::{images, select_device};

/// Where every default of a training option comes from: [`TrainingConfig::new`]. `--help`
/// shows these values.
static DEFAULTS: LazyLock<TrainingConfig> = LazyLock::new(TrainingConfig::new);
/// Where every default of the one-layer model comes from (the default model).
static SINGLE: LazyLock<MultiDilationNetConfig> = LazyLock::new(MultiDilationNetConfig::new);

#[derive(Parser)]
#[command(
    about = "Train, evaluate and use a multi-dilation classifier on MNIST",
    version
)]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    train: TrainArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model, save it with its config, and report the test accuracy (the default).
    Train(TrainArgs),
    /// Evaluate a saved model: accuracy, loss, per-class accuracy, confusion matrix.
    Eval(EvalArgs),
    /// Classify image files (PNG, JPEG or PGM; any size, gray or color): top-3 classes.
    Predict(PredictArgs),
}

#[derive(Args, Clone)]
struct DataArgs {
    /// Which digits: MNIST if available else built-in (auto), MNIST only, or built-in only.
    #[arg(long, value_enum, default_value = "auto")]
    data: DataChoice,
    /// Folder of the MNIST files (default: $MNIST_DIR, else the user cache folder).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Use only the first N test images.
    #[arg(long)]
    test_limit: Option<usize>,
}

#[derive(Args, Clone)]
struct TrainArgs {
    /// Epochs over the training set.
    #[arg(long, default_value_t = DEFAULTS.epochs)]
    epochs: usize,
    /// Images per step.
    #[arg(long, default_value_t = DEFAULTS.batch_size)]
    batch_size: usize,
    /// Adam's initial learning rate (annealed to zero along a cosine).
    #[arg(long, default_value_t = DEFAULTS.learning_rate)]
    learning_rate: f64,
    /// Seed of initialization, shuffling and the built-in digits.
    #[arg(long, default_value_t = DEFAULTS.seed)]
    seed: u64,
    /// The classifier: one multi-dilation layer (single), three blocks of shared-kernel
    /// multi-dilation convolution with scale pooling (deep), or the deep model's
    /// independent-kernel twin (deep-twin).
    #[arg(long, value_enum, default_value = "single")]
    model: ModelArg,
    /// Dilation rates of the shared kernel, comma-separated.
    #[arg(long, default_value_t = Dilations(SINGLE.conv.dilations.clone()))]
    dilations: Dilations,
    /// Anti-aliased dilation: blur each branch's input with a Gaussian of standard deviation
    /// SIGMA0 * sqrt(d^2 - 1) before its convolution at dilation d (default: no blur).
    #[arg(long, value_name = "SIGMA0")]
    anti_alias: Option<f64>,
    /// Output channels per dilation (single model).
    #[arg(long, default_value_t = SINGLE.conv.channels[1])]
    channels: usize,
    /// Kernel size, square (single model).
    #[arg(long, default_value_t = SINGLE.conv.kernel_size[0])]
    kernel: usize,
    /// How the branches merge (single model).
    #[arg(long, value_enum, default_value_t = MergeArg::from(SINGLE.conv.merge))]
    merge: MergeArg,
    /// Stride of the convolution, both axes (single model).
    #[arg(long, default_value_t = SINGLE.conv.stride[0])]
    stride: usize,
    /// Pooling before the linear head (single model).
    #[arg(long, value_enum, default_value_t = PoolingArg::from(SINGLE.pooling))]
    pooling: PoolingArg,
    /// Augmentation: shift training digits by up to this many pixels per axis (0: none).
    #[arg(long, default_value_t = DEFAULTS.max_shift)]
    max_shift: usize,
    /// Validation images held out from the end of the training set.
    #[arg(long, default_value_t = data::DEFAULT_VALIDATION)]
    validation: usize,
    /// Use only the first N training images.
    #[arg(long)]
    train_limit: Option<usize>,
    /// Folder for checkpoints, the model and its config.
    #[arg(long, default_value = "artifacts/mnist")]
    output: PathBuf,
    /// Continue from the newest checkpoint in the output folder.
    #[arg(long)]
    resume: bool,
    /// Devices to train on: a count of the backend's devices (2) or their indices (0,1; an
    /// index may repeat: 0,0 trains two replicas on one device). --batch-size is shared out.
    #[arg(long, default_value_t = DeviceSelection::Count(1))]
    devices: DeviceSelection,
    /// burn's strategy for several devices: multi (gradients summed on the first device) or
    /// ddp (all-reduce; CUDA only). Default: single on one device, multi on several.
    #[arg(long, value_enum)]
    strategy: Option<Strategy>,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Args)]
struct EvalArgs {
    /// Folder holding model.bpk and config.json.
    #[arg(long, default_value = "artifacts/mnist")]
    model_dir: PathBuf,
    /// Images per batch.
    #[arg(long, default_value_t = 500)]
    batch_size: usize,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Args)]
struct PredictArgs {
    /// Folder holding model.bpk and config.json.
    #[arg(long, default_value = "artifacts/mnist")]
    model_dir: PathBuf,
    /// Image files to classify.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// Dilation rates as the command line writes them: comma-separated, `1,2,3`.
#[derive(Clone, Debug)]
struct Dilations(Vec<usize>);

impl fmt::Display for Dilations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rates: Vec<String> = self.0.iter().map(usize::to_string).collect();
        f.write_str(&rates.join(","))
    }
}

impl FromStr for Dilations {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        text.split(',')
            .map(|rate| {
                let rate = rate.trim();
                rate.parse()
                    .map_err(|err| format!("{rate:?} is not a dilation rate: {err}"))
            })
            .collect::<Result<_, _>>()
            .map(Dilations)
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ModelArg {
    Single,
    Deep,
    DeepTwin,
}

#[derive(Clone, Copy, ValueEnum)]
enum PoolingArg {
    None,
    Max2x2,
    Max4x4,
    GlobalAverage,
}

impl From<PoolingArg> for Pooling {
    fn from(pooling: PoolingArg) -> Self {
        match pooling {
            PoolingArg::None => Pooling::None,
            PoolingArg::Max2x2 => Pooling::Max2x2,
            PoolingArg::Max4x4 => Pooling::Max4x4,
            PoolingArg::GlobalAverage => Pooling::GlobalAverage,
        }
    }
}

impl From<Pooling> for PoolingArg {
    fn from(pooling: Pooling) -> Self {
        match pooling {
            Pooling::None => PoolingArg::None,
            Pooling::Max2x2 => PoolingArg::Max2x2,
            Pooling::Max4x4 => PoolingArg::Max4x4,
            Pooling::GlobalAverage => PoolingArg::GlobalAverage,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum MergeArg {
    Concat,
    Sum,
    Mean,
    Max,
}

impl From<MergeArg> for Merge {
    fn from(merge: MergeArg) -> Self {
        match merge {
            MergeArg::Concat => Merge::Concat,
            MergeArg::Sum => Merge::Sum,
            MergeArg::Mean => Merge::Mean,
            MergeArg::Max => Merge::Max,
        }
    }
}

impl From<Merge> for MergeArg {
    fn from(merge: Merge) -> Self {
        match merge {
            Merge::Concat => MergeArg::Concat,
            Merge::Sum => MergeArg::Sum,
            Merge::Mean => MergeArg::Mean,
            Merge::Max => MergeArg::Max,
        }
    }
}

/// The data options of the command line; a limit of 0 is an error naming it (it would leave
/// nothing to train on or to test).
fn data_options(
    data: &DataArgs,
    validation: usize,
    train_limit: Option<usize>,
    seed: u64,
) -> Result<DataOptions, String> {
    for (field, limit) in [
        ("train_limit", train_limit),
        ("test_limit", data.test_limit),
    ] {
        if limit == Some(0) {
            return Err(ConfigError::new(field, &0usize, "must be at least 1").to_string());
        }
    }
    Ok(DataOptions {
        choice: data.data,
        data_dir: data.data_dir.clone(),
        validation,
        train_limit,
        test_limit: data.test_limit,
        seed,
    })
}

/// The training config of `args`: [`TrainingConfig::new`] with the options of the command
/// line set, and the model `--model` names (`MultiDilationNetConfig::new()` or
/// `DeepMultiDilationNetConfig::new()`, with the model options set).
fn training_config(args: &TrainArgs) -> TrainingConfig {
    let mut config = TrainingConfig::new();
    let dilations = args.dilations.0.clone();
    config.model = match args.model {
        ModelArg::Single => {
            let mut single = MultiDilationNetConfig::new();
            let conv = &mut single.conv;
            conv.channels[1] = args.channels;
            conv.kernel_size = [args.kernel, args.kernel];
            conv.dilations = dilations;
            conv.merge = args.merge.into();
            conv.stride = [args.stride, args.stride];
            conv.anti_alias = args.anti_alias;
            single.pooling = args.pooling.into();
            ModelConfig::Single(single)
        }
        ModelArg::Deep | ModelArg::DeepTwin => {
            let kernels = if args.model == ModelArg::Deep {
                Kernels::Shared
            } else {
                Kernels::Independent
            };
            ModelConfig::Deep(
                DeepMultiDilationNetConfig::new()
                    .with_dilations(dilations)
                    .with_anti_alias(args.anti_alias)
                    .with_kernels(kernels),
            )
        }
    };
    config.epochs = args.epochs;
    config.batch_size = args.batch_size;
    config.learning_rate = args.learning_rate;
    config.seed = args.seed;
    config.max_shift = args.max_shift;
    config.data = args.data.data;
    config
}

fn run_train(args: TrainArgs, device: &Device) -> Result<(), String> {
    let config = training_config(&args);
    // Before any data is loaded: `--batch-size 0` or `--epochs 0` fails at once.
    config.validate().map_err(|e| e.to_string())?;
    let plan =
        Plan::new(args.strategy, &args.devices, config.batch_size).map_err(|e| e.to_string())?;
    let options = data_options(&args.data, args.validation, args.train_limit, args.seed)?;
    let splits = data::load(&options).map_err(|e| e.to_string())?;
    println!(
        "data: {} ({} train, {} validation, {} test)",
        splits.source,
        splits.train.len(),
        splits.valid.len(),
        splits.test.len()
    );
    let steps = plan
        .steps_per_epoch(splits.train.len())
        .map_err(|e| e.to_string())?;
    println!(
        "{}",
        plan.describe(config.learning_rate, config.epochs, steps)
    );
    let trained = training::train_on(&config, &splits, &args.output, &plan, args.resume)
        .map_err(|e| e.to_string())?;
    println!(
        "trained in {:.1} s ({:.0} images/s); model and config in {}",
        trained.seconds,
        trained.images_per_second,
        args.output.display()
    );
    let report = evaluate(&trained.model, &splits.test, 500, device).map_err(|e| e.to_string())?;
    println!("test loss: {:.4}", report.loss);
    println!("{}", report.accuracy_line());
    Ok(())
}

fn run_eval(args: EvalArgs, device: &Device) -> Result<(), String> {
    validate_batch_size(args.batch_size).map_err(|e| e.to_string())?;
    let (model, config) = training::load(&args.model_dir, device)?;
    let data_args = DataArgs {
        data: if args.data.data == DataChoice::Auto {
            config.data
        } else {
            args.data.data
        },
        ..args.data
    };
    let options = data_options(&data_args, 0, None, config.seed)?;
    let splits = data::load(&options).map_err(|e| e.to_string())?;
    println!(
        "data: {} ({} test images)",
        splits.source,
        splits.test.len()
    );
    let report =
        evaluate(&model, &splits.test, args.batch_size, device).map_err(|e| e.to_string())?;
    print!("{}", report.table());
    println!("{}", report.accuracy_line());
    Ok(())
}

fn run_predict(args: PredictArgs, device: &Device) -> Result<(), String> {
    let (model, _) = training::load(&args.model_dir, device)?;
    let mut failed = false;
    for path in &args.files {
        let prepared = match images::prepare(path) {
            Ok(prepared) => prepared,
            Err(err) => {
                eprintln!("error: {err}");
                failed = true;
                continue;
            }
        };
        for note in &prepared.notes {
            println!("note: {}: {note}", path.display());
        }
        let ranked = images::top3(&model, &prepared, device);
        let top: Vec<String> = ranked
            .iter()
            .take(3)
            .map(|(class, p)| format!("{class} ({:.1}%)", 100.0 * p))
            .collect();
        println!("{}: {}", path.display(), top.join(", "));
    }
    if failed {
        Err("some files could not be read".to_string())
    } else {
        Ok(())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let device = select_device();
    println!("device: {device:?}");
    let result = match cli.command {
        None => run_train(cli.train, &device),
        Some(Command::Train(args)) => run_train(args, &device),
        Some(Command::Eval(args)) => run_eval(args, &device),
        Some(Command::Predict(args)) => run_predict(args, &device),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
