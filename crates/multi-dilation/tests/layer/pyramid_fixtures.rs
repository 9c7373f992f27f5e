//! `AtrousPyramid` (KSAC and its ASPP twin) equals the same block written in PyTorch with
//! copied weights, in eval mode (running statistics) and in train mode (batch statistics), on
//! every execution path: fixtures in `tests/fixtures/pytorch_pyramid`, made by
//! `tests/fixtures/make_pyramid_fixtures.py` with a float64 reference, committed.

use burn::module::{Flag, Module, ModuleMapper, Param, RunningState};
use burn::nn::BatchNorm;
use burn::tensor::{Device, Tensor};
use multi_dilation::{
    AtrousNorm, AtrousPyramid, AtrousPyramidConfig, ConvBnRelu, ExecutionPath, Kernels, Merge,
};
use serde_json::Value;

use crate::common::*;
use crate::fixtures::fixture_files;

const TOL: f32 = 1e-4;

// A missing key must fail, not read as null ("no pooling").
fn field<'a>(fx: &'a Value, key: &str) -> &'a Value {
    fx.get(key).unwrap_or_else(|| panic!("fixture lacks {key}"))
}

fn floats(v: &Value) -> Vec<f32> {
    let items = v.as_array().expect("a list of numbers");
    items.iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

fn sizes(v: &Value) -> Vec<usize> {
    let items = v.as_array().expect("a list of sizes");
    items.iter().map(|x| x.as_u64().unwrap() as usize).collect()
}

fn merge_named(name: &str) -> Merge {
    match name {
        "Sum" => Merge::Sum,
        "Concat" => Merge::Concat,
        other => panic!("unexpected merge {other}"),
    }
}

/// Eval mode on an autodiff device: every training flag off, gradients still tracked.
struct Eval;

impl ModuleMapper for Eval {
    fn map_flag(&mut self, flag: Param<Flag>) -> Param<Flag> {
        flag.with_value(false)
    }
}

fn set_batch_norm(norm: &mut BatchNorm, fx: &Value, device: &Device) {
    let c = norm.gamma.dims()[0];
    let vector = |key: &str| from_vec(floats(field(fx, key)), [c], device);
    norm.gamma = Param::from_tensor(vector("gamma"));
    norm.beta = Param::from_tensor(vector("beta"));
    norm.running_mean = RunningState::new(vector("running_mean"));
    norm.running_var = RunningState::new(vector("running_var"));
}

fn set_conv_bn(block: &mut ConvBnRelu, fx: &Value, device: &Device) {
    let shape = block.conv.weight.dims();
    let weight = from_vec(floats(field(fx, "weight")), shape, device);
    block.conv.weight = Param::from_tensor(weight);
    set_batch_norm(&mut block.norm, field(fx, "norm"), device);
}

/// The block the fixture describes, with its weights and statistics, on `device`.
fn build(fx: &Value, path: ExecutionPath, device: &Device) -> AtrousPyramid {
    let channels: [usize; 2] = sizes(field(fx, "channels")).try_into().unwrap();
    let kernels = match field(fx, "kernels").as_str().unwrap() {
        "Shared" => Kernels::Shared,
        "Independent" => Kernels::Independent,
        other => panic!("unexpected kernels {other}"),
    };
    let config = AtrousPyramidConfig::new(channels)
        .with_rates(sizes(field(fx, "rates")))
        .with_kernel_size(sizes(field(fx, "kernel_size")).try_into().unwrap())
        .with_kernels(kernels)
        .with_merge(field(fx, "merge").as_str().map(merge_named))
        .with_image_pooling(field(fx, "image_pooling").as_bool().unwrap())
        .with_path(path);
    let mut block = config.init(device);
    let merged_as = merge_named(field(fx, "merged_as").as_str().unwrap());
    assert_eq!(block.merge(), merged_as, "the default merge of {kernels:?}");

    set_conv_bn(&mut block.pointwise, field(fx, "pointwise"), device);
    let weights = field(fx, "kernels_weights").as_array().unwrap();
    assert_eq!(weights.len(), block.atrous.len(), "one kernel per conv");
    for (conv, weight) in block.atrous.iter_mut().zip(weights) {
        let shape = conv.weight.dims();
        conv.weight = Param::from_tensor(from_vec(floats(weight), shape, device));
    }
    let norms = field(fx, "atrous_norm").as_array().unwrap();
    match &mut block.atrous_norm {
        AtrousNorm::PerRate(norm) => {
            assert_eq!(norms.len(), 1);
            let [c] = norm.gamma.dims();
            let shape = [norm.branches(), c];
            let fx = &norms[0];
            norm.gamma = Param::from_tensor(from_vec(floats(field(fx, "gamma")), [c], device));
            norm.beta = Param::from_tensor(from_vec(floats(field(fx, "beta")), [c], device));
            let stats = |key: &str| from_vec(floats(field(fx, key)), shape, device);
            norm.running_mean = RunningState::new(stats("running_mean"));
            norm.running_var = RunningState::new(stats("running_var"));
        }
        AtrousNorm::Separate(separate) => {
            assert_eq!(norms.len(), separate.len());
            for (norm, fx) in separate.iter_mut().zip(norms) {
                set_batch_norm(norm, fx, device);
            }
        }
    }
    match (&mut block.image_pool, field(fx, "image_pool")) {
        (Some(pool), fx) if !fx.is_null() => set_conv_bn(pool, fx, device),
        (None, fx) if fx.is_null() => {}
        _ => panic!("the image pooling of the block and of the fixture differ"),
    }
    set_conv_bn(&mut block.projection, field(fx, "projection"), device);
    match field(fx, "mode").as_str().unwrap() {
        "eval" => block.map(&mut Eval),
        "train" => block,
        other => panic!("unexpected mode {other}"),
    }
}

/// Runs the block on the fixture's input; compares the output and the gradients of the input
/// and of every convolution kernel.
fn check(fx: &Value, block: &AtrousPyramid, name: &str, device: &Device) {
    let input: [usize; 4] = sizes(field(fx, "input_shape")).try_into().unwrap();
    let output: [usize; 4] = sizes(field(fx, "output_shape")).try_into().unwrap();
    let x = from_vec(floats(field(fx, "x")), input, device).require_grad();
    let y = block.forward(x.clone());
    assert_eq!(y.dims(), output, "{name}: output shape");
    assert_close(
        &host(y.clone()),
        &floats(field(fx, "y")),
        TOL,
        &format!("{name}: y"),
    );

    let r = from_vec(floats(field(fx, "r")), output, device);
    let grads = (y * r).sum().backward();
    let grad = |weight: &Param<Tensor<4>>, what: &str| {
        let g = weight.val().grad(&grads);
        host(g.unwrap_or_else(|| panic!("{name}: no gradient of {what}")))
    };
    let gx = x.grad(&grads).expect("input gradient");
    assert_close(
        &host(gx),
        &floats(field(fx, "grad_x")),
        TOL,
        &format!("{name}: grad x"),
    );
    let want = floats(field(fx, "grad_pointwise"));
    let what = format!("{name}: grad 1x1");
    assert_close(
        &grad(&block.pointwise.conv.weight, "1x1"),
        &want,
        TOL,
        &what,
    );
    let kernels = field(fx, "grad_kernels").as_array().unwrap();
    assert_eq!(kernels.len(), block.atrous.len());
    for (i, (conv, want)) in block.atrous.iter().zip(kernels).enumerate() {
        let what = format!("{name}: grad atrous kernel {i}");
        assert_close(&grad(&conv.weight, "a kernel"), &floats(want), TOL, &what);
    }
    if let Some(pool) = &block.image_pool {
        let want = floats(field(fx, "grad_image_pool"));
        let what = format!("{name}: grad image pooling");
        assert_close(&grad(&pool.conv.weight, "image pooling"), &want, TOL, &what);
    }
    let want = floats(field(fx, "grad_projection"));
    let what = format!("{name}: grad projection");
    assert_close(
        &grad(&block.projection.conv.weight, "projection"),
        &want,
        TOL,
        &what,
    );
}

#[test]
fn pyramid_outputs_and_gradients_equal_pytorch_in_eval_and_train_mode() {
    let files = fixture_files("pytorch_pyramid");
    assert!(
        files.len() >= 5,
        "expected the committed fixtures, found {files:?}"
    );
    let device = device().autodiff();
    let mut modes = Vec::new();
    for file in files {
        let fx: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        modes.push(field(&fx, "mode").as_str().unwrap().to_owned());
        // burn's conv2d and, where it runs (flex, wgpu), the fused kernel.
        for path in paths_for(&device, 1) {
            let block = build(&fx, path, &device);
            check(&fx, &block, &format!("{name} ({path:?} path)"), &device);
        }
    }
    assert!(modes.iter().any(|m| m == "eval") && modes.iter().any(|m| m == "train"));
}
