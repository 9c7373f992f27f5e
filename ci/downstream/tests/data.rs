//! The data crate feeds the layer crate without either depending on the other (on Flex, the
//! CPU lines).
#![cfg(feature = "flex")]

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::tensor::Device;
use multi_dilation::{ClassificationBatch, MultiDilationNetConfig};
use multi_dilation_mnist::{MnistBatcher, SyntheticDigits};

#[test]
fn mnist_batches_train_the_classifier() {
    let device = Device::flex();
    let digits = SyntheticDigits::new(4, 0);
    let items = (0..4).map(|i| digits.get(i).unwrap()).collect();
    let batch: ClassificationBatch = MnistBatcher.batch(items, &device);
    let net = MultiDilationNetConfig::new().init(&device);
    let (logits, loss) = net.forward_loss(batch);
    assert_eq!(logits.dims(), [4, 10]);
    assert!(loss.into_scalar::<f32>().is_finite());
}
