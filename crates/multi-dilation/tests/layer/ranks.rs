//! The 1-D and 3-D layers equal PyTorch's `F.conv1d` and `F.conv3d` at each dilation, forward
//! and every gradient, on every path that runs them (fixtures in `tests/fixtures/pytorch_ranks`,
//! made by `tests/fixtures/make_fixtures.py` with a float64 reference); and they keep the 2-D
//! layer's errors.

use burn::module::Param;
use burn::tensor::{Device, Tensor};
use multi_dilation::{
    BranchBatchNormConfig, BranchWeightingConfig, ExecutionPath, MultiDilationConv,
    MultiDilationConv1dConfig, MultiDilationConv3dConfig,
};
use serde_json::Value;

use crate::common::*;
use crate::fixtures::{fixture_files, usizes};
use crate::parallel_fixtures::{check, field, floats, merge};

fn dilations(fx: &Value) -> Vec<usize> {
    let items = field(fx, "dilations").as_array().unwrap();
    items.iter().map(|d| d.as_u64().unwrap() as usize).collect()
}

/// The fixture's weight and bias set on `layer`, whose kernel shape they must have.
fn with_weights<const D: usize>(
    mut layer: MultiDilationConv<D>,
    fx: &Value,
    device: &Device,
) -> MultiDilationConv<D> {
    let shape: [usize; D] = layer.weight.dims();
    layer.weight = Param::from_tensor(from_vec(floats(field(fx, "weight")), shape, device));
    let bias = field(fx, "bias");
    if !bias.is_null() {
        let values = floats(bias);
        let len = values.len();
        layer.bias = Some(Param::from_tensor(from_vec(values, [len], device)));
    }
    layer
}

/// Every path that runs a layer of tensor rank `D` with `groups` on `device`: the fused kernel
/// also serves 1-D layers (as images of height 1), not 3-D ones.
fn paths<const D: usize>(device: &Device, groups: usize) -> Vec<ExecutionPath> {
    let mut paths = paths_for(device, groups);
    if D == 5 {
        paths.retain(|p| *p != ExecutionPath::Fused);
    }
    paths
}

fn check_on_every_path<const D: usize>(
    fx: &Value,
    base: MultiDilationConv<D>,
    file: &str,
    device: &Device,
) {
    for path in paths::<D>(device, base.groups()) {
        let layer = base.clone().with_path(path);
        check(fx, &layer, &format!("{file} ({path:?} path)"), device);
    }
}

#[test]
fn one_and_three_dimensional_layers_equal_pytorch() {
    let files = fixture_files("pytorch_ranks");
    assert!(
        files.len() >= 8,
        "expected the committed fixtures, found {files:?}"
    );
    let device = device().autodiff();
    for path in files {
        let fx: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let channels: [usize; 2] = usizes(&fx, "channels");
        let groups = field(&fx, "groups").as_u64().unwrap() as usize;
        let bias = field(&fx, "has_bias").as_bool().unwrap();
        let anti_alias = field(&fx, "anti_alias").as_f64();
        match field(&fx, "kernel_size").as_array().unwrap().len() {
            1 => {
                let [kernel]: [usize; 1] = usizes(&fx, "kernel_size");
                let [stride]: [usize; 1] = usizes(&fx, "stride");
                let layer = MultiDilationConv1dConfig::new(channels, kernel)
                    .with_dilations(dilations(&fx))
                    .with_stride(stride)
                    .with_groups(groups)
                    .with_bias(bias)
                    .with_merge(merge(&fx))
                    .with_anti_alias(anti_alias)
                    .init(&device);
                check_on_every_path(&fx, with_weights(layer, &fx, &device), &file, &device);
            }
            3 => {
                let layer = MultiDilationConv3dConfig::new(channels, usizes(&fx, "kernel_size"))
                    .with_dilations(dilations(&fx))
                    .with_stride(usizes(&fx, "stride"))
                    .with_groups(groups)
                    .with_bias(bias)
                    .with_merge(merge(&fx))
                    .with_anti_alias(anti_alias)
                    .init(&device);
                check_on_every_path(&fx, with_weights(layer, &fx, &device), &file, &device);
            }
            other => panic!("{file}: a kernel of {other} axes"),
        }
    }
}

#[test]
fn the_stacked_form_equals_the_list_form_at_ranks_one_and_three() {
    let device = device();
    let signal = MultiDilationConv1dConfig::new([2, 3], 3).init(&device);
    let x = tensor([3 * 2, 2, 11], 5, &device);
    let listed = Tensor::cat(signal.forward_parallel(x.clone().chunk(3, 0)), 0);
    assert_close(
        &host(signal.forward_parallel_stacked(x)),
        &host(listed),
        1e-5,
        "1-D",
    );
    let volume = MultiDilationConv3dConfig::new([1, 2], [3, 3, 3])
        .with_dilations(vec![1, 2])
        .init(&device);
    let x = tensor([2 * 2, 1, 5, 6, 4], 6, &device);
    let listed = Tensor::cat(volume.forward_parallel(x.clone().chunk(2, 0)), 0);
    assert_close(
        &host(volume.forward_parallel_stacked(x)),
        &host(listed),
        1e-5,
        "3-D",
    );
}

#[test]
fn bad_input_gets_the_2d_layer_errors() {
    let device = device();
    let err = MultiDilationConv1dConfig::new([2, 3], 3)
        .with_dilations(vec![])
        .try_init(&device)
        .unwrap_err();
    assert_eq!(err.field, "dilations");
    let err = MultiDilationConv3dConfig::new([2, 3], [3, 0, 3])
        .try_init(&device)
        .unwrap_err();
    assert_eq!(
        (err.field.as_str(), err.value.as_str()),
        ("kernel_size", "[3, 0, 3]")
    );
    let err = MultiDilationConv1dConfig::new([2, 3], 3)
        .with_stride(0)
        .try_init(&device)
        .unwrap_err();
    assert_eq!((err.field.as_str(), err.value.as_str()), ("stride", "0"));
    // No fused 3-D kernel: forcing it is a config error, not a panic at the first call.
    let err = MultiDilationConv3dConfig::new([1, 1], [3, 3, 3])
        .with_path(ExecutionPath::Fused)
        .try_init(&device)
        .unwrap_err();
    assert_eq!(err.field, "path");
    assert!(err.reason.contains("3-D layer"), "{err}");
}

#[test]
#[should_panic(
    expected = "MultiDilationConv1d: expected an input of shape [batch, 2, length], got [1, 3, 9]"
)]
fn a_1d_input_of_other_channels_panics_with_both_shapes() {
    let layer = MultiDilationConv1dConfig::new([2, 3], 3).init(&device());
    layer.forward(tensor([1, 3, 9], 1, &device()));
}

#[test]
#[should_panic(
    expected = "MultiDilationConv3d: expected an input of shape [batch, 1, depth, height, width], got [1, 2, 4, 4, 4]"
)]
fn a_3d_input_of_other_channels_panics_with_both_shapes() {
    let layer = MultiDilationConv3dConfig::new([1, 3], [3, 3, 3]).init(&device());
    layer.forward(tensor([1, 2, 4, 4, 4], 1, &device()));
}

#[test]
fn branch_norm_and_weighting_work_on_1d_and_3d_branch_lists() {
    let device = device().autodiff();
    // Training mode: each branch of a 1-D layer normalized by its own statistics (gamma 1,
    // beta 0 at init), checked on the host: per channel, mean 0 and variance 1 over batch and
    // length.
    let norm = BranchBatchNormConfig::new(3, 2).init(&device);
    let small = tensor([4, 3, 20], 7, &device);
    let large = small.clone().mul_scalar(5.0).add_scalar(2.0);
    for branch in norm.forward(vec![small, large]) {
        let values = host(branch);
        for c in 0..3 {
            let xs: Vec<f32> = (0..4)
                .flat_map(|b| values[(b * 3 + c) * 20..][..20].to_vec())
                .collect();
            let mean = xs.iter().sum::<f32>() / xs.len() as f32;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / xs.len() as f32;
            assert!(
                mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-3,
                "channel {c}: {mean} {var}"
            );
        }
    }
    // At init the weighting is the mean of the branches, at rank 5 too.
    let weighting = BranchWeightingConfig::new(2)
        .with_channels(Some(2))
        .init(&device);
    let a = tensor([1, 2, 3, 4, 5], 8, &device);
    let b = tensor([1, 2, 3, 4, 5], 9, &device);
    let mean = (a.clone() + b.clone()).div_scalar(2.0);
    assert_close(
        &host(weighting.forward(vec![a, b])),
        &host(mean),
        1e-6,
        "3-D weighting",
    );
}
