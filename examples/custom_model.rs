//! Use `MultiDilationConv2d` in your own model: two multi-dilation layers (one concatenating,
//! one summing) between ordinary burn layers, trained a few steps on the built-in digits,
//! saved, and loaded back.
//!
//! Run with `cargo run --release --example custom_model`.

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::module::Module;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, Relu};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor};
use multi_dilation::{ClassificationBatch, Merge, MultiDilationConv2d, MultiDilationConv2dConfig};
use multi_dilation_examples::select_device;
use multi_dilation_mnist::{MnistBatcher, SyntheticDigits};

/// A small CNN whose two convolutions each see three scales with one kernel.
#[derive(Module, Debug)]
struct ScaleNet {
    /// 1 -> 8 channels per dilation, concatenated: 24 channels.
    wide: MultiDilationConv2d,
    norm: BatchNorm,
    pool: MaxPool2d,
    /// 24 -> 16 channels, the three dilations summed: 16 channels.
    deep: MultiDilationConv2d,
    head: Linear,
    relu: Relu,
}

impl ScaleNet {
    fn new(device: &Device) -> Self {
        let wide = MultiDilationConv2dConfig::new([1, 8], [3, 3]).init(device);
        let deep = MultiDilationConv2dConfig::new([wide.output_channels(), 16], [3, 3])
            .with_dilations(vec![1, 2, 4])
            .with_merge(Merge::Sum)
            .init(device);
        Self {
            norm: BatchNormConfig::new(wide.output_channels()).init(device),
            pool: MaxPool2dConfig::new([2, 2]).init(),
            head: LinearConfig::new(deep.output_channels(), 10).init(device),
            relu: Relu::new(),
            wide,
            deep,
        }
    }

    fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let x = self
            .relu
            .forward(self.norm.forward(self.wide.forward(images)));
        let x = self.relu.forward(self.deep.forward(self.pool.forward(x)));
        // Global average pooling, then the classifier.
        let x = x.mean_dim(3).mean_dim(2).flatten::<2>(1, 3);
        self.head.forward(x)
    }

    fn loss(&self, batch: ClassificationBatch) -> Tensor<1> {
        let logits = self.forward(batch.images);
        burn::nn::loss::CrossEntropyLossConfig::new()
            .init(&logits.device())
            .forward(logits, batch.targets)
    }
}

fn main() {
    let device = select_device();
    println!("device: {device:?}");
    let autodiff = device.clone().autodiff();
    autodiff.seed(0);
    let mut model = ScaleNet::new(&autodiff);
    println!("{model}");

    let digits = SyntheticDigits::new(64 * 20, 1);
    let mut optim = AdamConfig::new().init();
    for step in 0..20 {
        let items = (step * 64..(step + 1) * 64)
            .map(|i| digits.get(i).unwrap())
            .collect();
        let loss = model.loss(MnistBatcher.batch(items, &autodiff));
        if step % 5 == 0 || step == 19 {
            println!(
                "step {step:2}: loss {:.4}",
                loss.clone().into_scalar::<f32>()
            );
        }
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(3e-3, model, grads);
    }

    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("scale_net.bpk");
    let model = model.valid();
    model.clone().save_file(&path).expect("saved");
    let loaded = ScaleNet::new(&device).load_file(&path);

    let items = (0..16).map(|i| digits.get(i).unwrap()).collect();
    let batch: ClassificationBatch = MnistBatcher.batch(items, &device);
    let before = model.forward(batch.images.clone()).into_data();
    let after = loaded.forward(batch.images).into_data();
    assert_eq!(before, after, "the loaded model gives the same logits");
    println!(
        "saved to and loaded from {}: identical logits",
        path.display()
    );
}
