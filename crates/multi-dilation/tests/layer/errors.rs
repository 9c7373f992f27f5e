//! Invalid configs are errors naming the field and the value; wrong shapes panic
//! with the expected and actual shapes.

use multi_dilation::{ConfigError, MultiDilationConv2dConfig, MultiDilationNetConfig};

use crate::common::*;

fn err(config: MultiDilationConv2dConfig) -> ConfigError {
    config.try_init(&device()).unwrap_err()
}

fn base() -> MultiDilationConv2dConfig {
    MultiDilationConv2dConfig::new([4, 6], [3, 3])
}

#[track_caller]
fn assert_names(err: &ConfigError, field: &str, value: &str) {
    assert_eq!(err.field, field);
    assert_eq!(err.value, value);
    let text = err.to_string();
    assert!(text.contains(field) && text.contains(value), "{text}");
}

#[test]
fn empty_dilations() {
    let e = err(base().with_dilations(vec![]));
    assert_names(&e, "dilations", "[]");
    assert!(e.reason.contains("at least one"), "{e}");
}

#[test]
fn zero_in_dilations() {
    let e = err(base().with_dilations(vec![1, 0, 3]));
    assert_names(&e, "dilations", "[1, 0, 3]");
}

#[test]
fn zero_stride() {
    let e = err(base().with_stride([1, 0]));
    assert_names(&e, "stride", "[1, 0]");
}

#[test]
fn zero_kernel() {
    let e = err(MultiDilationConv2dConfig::new([4, 6], [0, 3]));
    assert_names(&e, "kernel_size", "[0, 3]");
}

#[test]
fn channels_not_divisible_by_groups() {
    let e = err(base().with_groups(4));
    assert_names(&e, "groups", "4");
    assert!(e.reason.contains("[4, 6]"), "{e}");
}

#[test]
fn zero_groups_and_zero_channels() {
    assert_names(&err(base().with_groups(0)), "groups", "0");
    assert_names(
        &err(MultiDilationConv2dConfig::new([0, 6], [3, 3])),
        "channels",
        "[0, 6]",
    );
}

#[test]
fn init_panics_with_the_same_message() {
    let config = base().with_dilations(vec![2, 0]);
    let expected = err(config.clone()).to_string();
    let panic = std::panic::catch_unwind(|| config.init(&device())).unwrap_err();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert_eq!(message, expected);
}

#[test]
fn net_config_errors_name_nested_fields() {
    let device = device();
    let e = MultiDilationNetConfig::new()
        .with_conv(MultiDilationConv2dConfig::new([1, 8], [3, 3]).with_dilations(vec![0]))
        .try_init(&device)
        .unwrap_err();
    assert_names(&e, "conv.dilations", "[0]");
    let e = MultiDilationNetConfig::new()
        .with_input_shape([3, 28, 28])
        .try_init(&device)
        .unwrap_err();
    assert_names(&e, "input_shape", "[3, 28, 28]");
    let e = MultiDilationNetConfig::new()
        .with_num_classes(0)
        .try_init(&device)
        .unwrap_err();
    assert_names(&e, "num_classes", "0");
    let e = MultiDilationNetConfig::new()
        .with_input_shape([1, 1, 1])
        .try_init(&device)
        .unwrap_err();
    assert_names(&e, "pooling", "Max4x4");
}

#[test]
#[should_panic(expected = "expected an input of shape [batch, 4, height, width], got [2, 3, 8, 8]")]
fn forward_with_wrong_channels_panics_with_both_shapes() {
    let device = device();
    let layer = base().init(&device);
    layer.forward(tensor([2, 3, 8, 8], 1, &device));
}

#[test]
#[should_panic(expected = "expected an input of shape [batch, 4, height, width], got [1, 5, 8, 8]")]
fn output_shape_with_wrong_channels_panics() {
    base().init(&device()).output_shape([1, 5, 8, 8]);
}

#[test]
#[should_panic(
    expected = "MultiDilationNet: expected an input of shape [batch, 1, 28, 28], got [2, 1, 28, 27]"
)]
fn net_forward_with_wrong_size_panics_with_both_shapes() {
    let device = device();
    let net = MultiDilationNetConfig::new().init(&device);
    net.forward(tensor([2, 1, 28, 27], 1, &device));
}

#[test]
#[should_panic(expected = "dilation must be at least 1, got 0")]
fn forward_dilation_zero_panics() {
    let device = device();
    base()
        .init(&device)
        .forward_dilation(tensor([1, 4, 5, 5], 1, &device), 0);
}
