//! Burnpack save/load is bit-exact; the configs survive JSON.

use burn::config::Config;
use burn::module::Module;
use multi_dilation::{Merge, MultiDilationConv2dConfig, MultiDilationNetConfig, Pooling};

use crate::common::*;

#[test]
fn layer_save_then_load_is_bit_identical() {
    let device = device();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("layer.bpk");
    let config = MultiDilationConv2dConfig::new([2, 3], [3, 2]).with_merge(Merge::Sum);
    device.seed(1);
    let layer = config.init(&device);
    let x = tensor([2, 2, 7, 6], 70, &device);
    let before = layer.forward(x.clone()).into_data();
    layer.save_file(&path).unwrap();

    device.seed(2);
    let fresh = config.init(&device);
    assert_ne!(
        fresh.forward(x.clone()).into_data(),
        before,
        "seeds gave equal weights"
    );
    let loaded = fresh.load_file(&path);
    assert_eq!(loaded.forward(x).into_data(), before);
}

#[test]
fn net_save_then_load_is_bit_identical() {
    let device = device();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("net.bpk");
    let config = MultiDilationNetConfig::new()
        .with_input_shape([1, 12, 12])
        .with_conv(MultiDilationConv2dConfig::new([1, 4], [3, 3]));
    let net = config.init(&device);
    let x = tensor([3, 1, 12, 12], 71, &device);
    let before = net.forward(x.clone()).into_data();
    net.save_file(&path).unwrap();
    let loaded = config.init(&device).load_file(&path);
    assert_eq!(loaded.forward(x).into_data(), before);
}

#[test]
fn configs_survive_a_json_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let conv = MultiDilationConv2dConfig::new([4, 6], [5, 3])
        .with_dilations(vec![1, 3, 5])
        .with_stride([2, 1])
        .with_groups(2)
        .with_bias(false)
        .with_merge(Merge::Max);
    let path = dir.path().join("conv.json");
    conv.save(&path).unwrap();
    assert_eq!(MultiDilationConv2dConfig::load(&path).unwrap(), conv);

    let net = MultiDilationNetConfig::new()
        .with_input_shape([4, 20, 18])
        .with_num_classes(7)
        .with_conv(conv)
        .with_pooling(Pooling::GlobalAverage);
    let path = dir.path().join("net.json");
    net.save(&path).unwrap();
    let back = MultiDilationNetConfig::load(&path).unwrap();
    assert_eq!(back.to_string(), net.to_string());
    assert_eq!(back.conv, net.conv);
    assert_eq!(back.pooling, Pooling::GlobalAverage);
    assert_eq!(back.input_shape, [4, 20, 18]);
    assert_eq!(back.num_classes, 7);
}
