//! Bring your kernel: a classifier trained in PyTorch and one trained in Keras, imported into
//! `MultiDilationNet`, checked against the frameworks' own outputs, and exported back to
//! PyTorch's layout.
//!
//! Run with `cargo run --release --example import_weights`. The default files are the test
//! fixtures made by `crates/multi-dilation/tests/fixtures/interop/make_{torch,keras}.py`: a
//! 12x12 input, one 3x3 kernel (1 -> 4 channels) at dilations 1, 2, 3, ReLU, concatenation,
//! 2x2 max pooling and a linear head to 10 classes. `--export DIR` writes
//! `DIR/exported.safetensors` and `DIR/exported.json` (input and logits), which
//! `check_export.py DIR` loads into PyTorch and compares.

use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor, TensorData};
use clap::Parser;
use multi_dilation::interop::keras::{self, KerasLayerNames, KerasNetNames};
use multi_dilation::interop::{WeightFile, pytorch};
use multi_dilation::{MultiDilationConv2dConfig, MultiDilationNet, MultiDilationNetConfig};
use multi_dilation_examples::select_device;

const FIXTURES: &str = "crates/multi-dilation/tests/fixtures/interop";

#[derive(Parser)]
#[command(about = "Import a PyTorch and a Keras classifier, check their logits, export back")]
struct Args {
    /// A PyTorch state dict (.pt or safetensors) with conv.weight, conv.bias, head.weight,
    /// head.bias.
    #[arg(
        long,
        default_value = "crates/multi-dilation/tests/fixtures/interop/pt_net_concat_s1.pt"
    )]
    pytorch: PathBuf,
    /// A Keras 3 .weights.h5 of the Keras use case (one Conv2D copy per dilation rate): Conv2D layers conv2d, conv2d_1,
    /// conv2d_2 holding copies of one kernel, then Dense.
    #[arg(
        long,
        default_value = "crates/multi-dilation/tests/fixtures/interop/keras_net_request_concat_s1.weights.h5"
    )]
    keras: PathBuf,
    /// Folder for the exported safetensors and the logits to check in PyTorch.
    #[arg(long, default_value = "artifacts/export")]
    export: PathBuf,
}

/// The classifier both fixture models are.
fn config() -> MultiDilationNetConfig {
    MultiDilationNetConfig::new()
        .with_input_shape([1, 12, 12])
        .with_conv(MultiDilationConv2dConfig::new([1, 4], [3, 3]))
}

/// The fixture's input and the framework's logits, next to a weight file `x.pt` as `x.json`.
fn reference(weights: &Path, device: &Device) -> Option<(Tensor<4>, Vec<f32>)> {
    let name = weights.file_name()?.to_str()?.split('.').next()?;
    let text = std::fs::read_to_string(weights.with_file_name(format!("{name}.json"))).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let floats = |key: &str| serde_json::from_value::<Vec<f32>>(json[key].clone()).ok();
    let shape: [usize; 4] = serde_json::from_value(json["input_shape"].clone()).ok()?;
    let input = Tensor::from_data(TensorData::new(floats("input")?, shape), device);
    Some((input, floats("output")?))
}

fn logits(net: &MultiDilationNet, input: Tensor<4>) -> Vec<f32> {
    net.forward(input)
        .into_data()
        .try_into_vec::<f32>()
        .unwrap()
}

/// Prints how far our logits are from the framework's, if its reference is next to the file.
fn compare(framework: &str, net: &MultiDilationNet, weights: &Path, device: &Device) {
    match reference(weights, device) {
        Some((input, expected)) => {
            let ours = logits(net, input);
            let error = ours
                .iter()
                .zip(&expected)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            println!(
                "  logits vs {framework}: max abs difference {error:.2e} over {} values",
                ours.len()
            );
        }
        None => println!("  (no {framework} reference next to {})", weights.display()),
    }
}

fn list(file: &WeightFile) {
    println!("{} ({}):", file.path().display(), file.format().name());
    for name in file.names() {
        println!("  {name}: {:?}", file.shape(name).unwrap_or_default());
    }
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let device = select_device();
    println!("device: {device:?}");
    let config = config();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let resolve = |p: &Path| {
        if p.exists() || p.is_absolute() {
            p.to_path_buf()
        } else {
            root.join(p)
        }
    };

    // PyTorch: keys conv.weight [out, in, kh, kw] and head.weight [classes, features].
    let file = WeightFile::open(resolve(&args.pytorch))?;
    list(&file);
    let from_torch = pytorch::load_net(
        &config,
        &file,
        &pytorch::PytorchNetNames::default(),
        &device,
    )?;
    compare("PyTorch", &from_torch, file.path(), &device);

    // Keras: three Conv2D copies of one HWIO kernel, and a Dense head after a channels-last
    // flatten; a .weights.h5 names layers by class (conv2d, conv2d_1, ..., dense).
    let file = WeightFile::open(resolve(&args.keras))?;
    list(&file);
    let names = KerasNetNames {
        convs: ["conv2d", "conv2d_1", "conv2d_2"]
            .map(KerasLayerNames::h5)
            .to_vec(),
        dense: KerasLayerNames::h5("dense"),
    };
    let from_keras = keras::load_net(&config, &file, &names, &device)?;
    compare("Keras", &from_keras, file.path(), &device);

    // Export the PyTorch-trained model back, with our logits for a PyTorch-side check.
    std::fs::create_dir_all(&args.export)?;
    let weights = args.export.join("exported.safetensors");
    pytorch::save(&from_torch, &weights)?;
    let input = Tensor::<4>::from_data(
        TensorData::new(
            (0..3 * 144)
                .map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0)
                .collect::<Vec<_>>(),
            [3, 1, 12, 12],
        ),
        &device,
    );
    let json = serde_json::json!({
        "input_shape": [3, 1, 12, 12],
        "input": input.clone().into_data().try_into_vec::<f32>()?,
        "output": logits(&from_torch, input),
        "channels": [1, 4], "stride": 1, "merge": "Concat",
    });
    std::fs::write(args.export.join("exported.json"), json.to_string())?;
    println!(
        "exported {} (check in PyTorch: python3 {FIXTURES}/check_export.py {})",
        weights.display(),
        args.export.display()
    );
    Ok(())
}

fn main() {
    if let Err(err) = run(Args::parse()) {
        eprintln!("error: {err}");
        std::process::exit(1);
    }
}
