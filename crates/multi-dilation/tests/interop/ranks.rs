//! 1-D and 3-D layers from Keras `Conv1D`/`Conv3D` copies of one kernel and from a PyTorch
//! state dict give the framework's own outputs (1e-4), and export to PyTorch's layout
//! re-imports bit for bit. Fixtures are made by `tests/fixtures/interop/make_ranks.py`.

use burn::tensor::{Device, Tensor};
use multi_dilation::interop::keras::{self, KerasLayerNames};
use multi_dilation::interop::{WeightFile, pytorch};
use multi_dilation::{
    LayerConfig, MultiDilationConv, MultiDilationConv1dConfig, MultiDilationConv3dConfig,
};
use serde_json::Value;

use crate::common::{assert_close, device, from_vec, host};
use crate::fixture_dir;

fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(fixture_dir().join(format!("{name}.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn usizes(fx: &Value, key: &str) -> Vec<usize> {
    let items = fx[key]
        .as_array()
        .unwrap_or_else(|| panic!("fixture lacks {key}"));
    items.iter().map(|v| v.as_u64().unwrap() as usize).collect()
}

fn floats(fx: &Value, key: &str) -> Vec<f32> {
    let items = fx[key]
        .as_array()
        .unwrap_or_else(|| panic!("fixture lacks {key}"));
    items.iter().map(|v| v.as_f64().unwrap() as f32).collect()
}

fn channels(fx: &Value) -> [usize; 2] {
    usizes(fx, "channels").try_into().unwrap()
}

fn config_1d(fx: &Value) -> MultiDilationConv1dConfig {
    let kernel = usizes(fx, "kernel_size");
    let stride = usizes(fx, "stride");
    MultiDilationConv1dConfig::new(channels(fx), kernel[0])
        .with_dilations(usizes(fx, "dilations"))
        .with_stride(stride[0])
}

fn config_3d(fx: &Value) -> MultiDilationConv3dConfig {
    let arr = |key| -> [usize; 3] { usizes(fx, key).try_into().unwrap() };
    MultiDilationConv3dConfig::new(channels(fx), arr("kernel_size"))
        .with_dilations(usizes(fx, "dilations"))
        .with_stride(arr("stride"))
}

/// The layer's output on the fixture's input equals the framework's.
fn check<const D: usize>(layer: &MultiDilationConv<D>, fx: &Value, what: &str) {
    let shape: [usize; D] = usizes(fx, "input_shape").try_into().unwrap();
    let y = layer.forward(from_vec(floats(fx, "input"), shape, &device()));
    assert_eq!(y.dims().to_vec(), usizes(fx, "output_shape"), "{what}");
    assert_close(&host(y), &floats(fx, "output"), 1e-4, what);
}

fn from_keras<const D: usize>(config: &impl LayerConfig<D>, name: &str, fx: &Value) {
    let file = WeightFile::open(fixture_dir().join(format!("{name}.weights.h5"))).unwrap();
    let layers = fx["layers"].as_array().expect("fixture lacks layers");
    let names: Vec<KerasLayerNames> = layers
        .iter()
        .map(|layer| KerasLayerNames::h5(layer.as_str().unwrap()))
        .collect();
    let layer = keras::load_conv(config, &file, &names, &device()).unwrap();
    check(&layer, fx, name);
}

fn from_pytorch_and_back<const D: usize>(config: &impl LayerConfig<D>, name: &str, fx: &Value) {
    let file = WeightFile::open(fixture_dir().join(format!("{name}.pt"))).unwrap();
    let prefix = fx["prefix"].as_str().unwrap();
    let layer = pytorch::load_conv(config, &file, prefix, &device()).unwrap();
    check(&layer, fx, name);
    // Out in PyTorch's layout and in again: the same tensors, bit for bit.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("layer.safetensors");
    pytorch::save(&layer, &path).unwrap();
    let exported = WeightFile::open(&path).unwrap();
    let again: MultiDilationConv<D> = pytorch::load_conv(config, &exported, "", &device()).unwrap();
    let bits = |t: Tensor<D>| host(t).iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(
        bits(again.weight.val()),
        bits(layer.weight.val()),
        "{name} exported"
    );
}

#[test]
fn keras_conv1d_and_conv3d_copies_import_as_one_kernel() {
    let fx = load("ranks_keras_conv1d");
    from_keras(&config_1d(&fx), "ranks_keras_conv1d", &fx);
    let fx = load("ranks_keras_conv3d");
    from_keras(&config_3d(&fx), "ranks_keras_conv3d", &fx);
}

#[test]
fn pytorch_conv1d_and_conv3d_weights_import_and_export() {
    let fx = load("ranks_pt_conv1d");
    from_pytorch_and_back(&config_1d(&fx), "ranks_pt_conv1d", &fx);
    let fx = load("ranks_pt_conv3d");
    from_pytorch_and_back(&config_3d(&fx), "ranks_pt_conv3d", &fx);
}

#[test]
fn a_kernel_of_another_rank_is_a_shape_error_naming_the_tensor() {
    // The 1-D state dict read as a 3-D layer's: the kernel has 3 axes, not 5.
    let file = WeightFile::open(fixture_dir().join("ranks_pt_conv1d.pt")).unwrap();
    let config = MultiDilationConv3dConfig::new([2, 3], [4, 1, 1]);
    let err = pytorch::load_conv(&config, &file, "conv", &Device::flex()).unwrap_err();
    assert!(err.to_string().contains("conv.weight"), "{err}");
}
