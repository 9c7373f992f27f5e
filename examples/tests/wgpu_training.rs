//! A few training steps of the MNIST example's model on wgpu (lavapipe in CI): the loss falls.
//! Runs with `cargo test -p multi-dilation-examples --features wgpu --test wgpu_training`.
#![cfg(feature = "wgpu")]

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, DeviceKind};
use multi_dilation_examples::training::TrainingConfig;
use multi_dilation_mnist::{MnistBatcher, SyntheticDigits};

#[test]
fn loss_decreases_on_wgpu() {
    let device = Device::wgpu(DeviceKind::DefaultDevice).autodiff();
    device.seed(1);
    let config = TrainingConfig::new();
    let mut model = config.model.init(&device);
    let digits = SyntheticDigits::new(32, 9);
    let items: Vec<_> = (0..32).map(|i| digits.get(i).unwrap()).collect();
    let batch = MnistBatcher.batch(items, &device);
    let mut optim = AdamConfig::new().init();
    let mut losses = Vec::new();
    for _ in 0..8 {
        let (_, loss) = model.forward_loss(batch.clone());
        losses.push(loss.clone().into_scalar::<f32>());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(config.learning_rate, model, grads);
    }
    println!("losses on wgpu: {losses:?}");
    assert!(losses.iter().all(|l| l.is_finite()), "{losses:?}");
    assert!(losses[7] < 0.5 * losses[0], "loss did not fall: {losses:?}");
}
