//! Branch-parallel forward and anti-aliased dilation equal PyTorch's on both execution paths
//! (fixtures in `tests/fixtures/pytorch_parallel`, made by `tests/fixtures/make_fixtures.py`
//! with a float64 reference, committed).

use burn::module::Param;
use burn::tensor::{Device, Tensor};
use multi_dilation::{Merge, MultiDilationConv, MultiDilationConv2d, MultiDilationConv2dConfig};
use serde_json::Value;

use crate::common::*;
use crate::fixtures::{fixture_files, usizes};

const TOL: f32 = 1e-4;

// Indexing a missing key gives Null, which would read as "no bias" or "no blur": a fixture
// with a misspelt key must fail instead.
pub fn field<'a>(fx: &'a Value, key: &str) -> &'a Value {
    fx.get(key).unwrap_or_else(|| panic!("fixture lacks {key}"))
}

pub fn floats(v: &Value) -> Vec<f32> {
    let items = v.as_array().expect("a list of numbers");
    items.iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

pub fn lists(fx: &Value, key: &str) -> Vec<Vec<f32>> {
    let items = field(fx, key).as_array().expect("a list of lists");
    items.iter().map(floats).collect()
}

/// The fixture's merge (Concat where it names none).
pub fn merge(fx: &Value) -> Merge {
    match fx.get("merge").and_then(Value::as_str).unwrap_or("Concat") {
        "Concat" => Merge::Concat,
        "Sum" => Merge::Sum,
        "Mean" => Merge::Mean,
        "Max" => Merge::Max,
        other => panic!("unknown merge {other}"),
    }
}

/// The layer the fixture describes, with its weight and bias, on `device`.
fn build_layer(fx: &Value, device: &Device) -> MultiDilationConv2d {
    let channels: [usize; 2] = usizes(fx, "channels");
    let kernel: [usize; 2] = usizes(fx, "kernel_size");
    let groups = field(fx, "groups").as_u64().unwrap() as usize;
    let dilations: Vec<usize> = field(fx, "dilations")
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let bias = field(fx, "bias");
    let mut layer = MultiDilationConv2dConfig::new(channels, kernel)
        .with_dilations(dilations)
        .with_stride(usizes(fx, "stride"))
        .with_groups(groups)
        .with_bias(!bias.is_null())
        .with_anti_alias(field(fx, "anti_alias").as_f64())
        .with_merge(merge(fx))
        .init(device);
    let wshape = [channels[1], channels[0] / groups, kernel[0], kernel[1]];
    layer.weight = Param::from_tensor(from_vec(floats(field(fx, "weight")), wshape, device));
    if !bias.is_null() {
        let values = from_vec(floats(bias), [channels[1]], device);
        layer.bias = Some(Param::from_tensor(values));
    }
    layer
}

/// Runs `layer` on the fixture's inputs and compares outputs and every gradient; `name` says
/// which fixture and path a failure is about.
pub fn check<const D: usize>(
    fx: &Value,
    layer: &MultiDilationConv<D>,
    name: &str,
    device: &Device,
) {
    let input: [usize; D] = usizes(fx, "input_shape");
    let output: [usize; D] = usizes(fx, "output_shape");
    let xs: Vec<Tensor<D>> = lists(fx, "inputs")
        .into_iter()
        .map(|x| from_vec(x, input, device).require_grad())
        .collect();
    let ys = match field(fx, "mode").as_str().unwrap() {
        "parallel" => layer.forward_parallel(xs.clone()),
        "forward" => {
            assert_eq!(layer.merge(), merge(fx), "{name}: the layer's merge");
            assert_eq!(xs.len(), 1, "{name}: forward takes one input");
            vec![layer.forward(xs[0].clone())]
        }
        other => panic!("{name}: unknown mode {other}"),
    };
    let expected = lists(fx, "outputs");
    assert_eq!(ys.len(), expected.len(), "{name}: number of outputs");
    for (i, (y, want)) in ys.iter().zip(&expected).enumerate() {
        assert_eq!(y.dims(), output, "{name}: output {i} shape");
        assert_close(&host(y.clone()), want, TOL, &format!("{name}: output {i}"));
    }

    let loss = ys
        .into_iter()
        .zip(lists(fx, "r"))
        .map(|(y, r)| (y * from_vec(r, output, device)).sum())
        .reduce(|a, b| a + b)
        .unwrap();
    let grads = loss.backward();
    for (i, (x, want)) in xs.iter().zip(lists(fx, "grad_inputs")).enumerate() {
        let gx = x
            .grad(&grads)
            .unwrap_or_else(|| panic!("{name}: no gradient of input {i}"));
        assert_close(&host(gx), &want, TOL, &format!("{name}: grad input {i}"));
    }
    let gw = layer.weight.val().grad(&grads).expect("weight gradient");
    let want = floats(field(fx, "grad_weight"));
    assert_close(&host(gw), &want, TOL, &format!("{name}: grad weight"));
    let want_bias = field(fx, "grad_bias");
    match layer.bias.as_ref().map(|b| b.val().grad(&grads)) {
        Some(gb) => {
            let gb = gb.unwrap_or_else(|| panic!("{name}: no bias gradient"));
            let what = format!("{name}: grad bias");
            assert_close(&host(gb), &floats(want_bias), TOL, &what);
        }
        None => assert!(want_bias.is_null(), "{name}: the layer has no bias"),
    }
}

#[test]
fn parallel_and_anti_aliased_outputs_and_gradients_equal_pytorch() {
    let paths = fixture_files("pytorch_parallel");
    assert!(
        paths.len() >= 6,
        "expected the committed fixtures, found {paths:?}"
    );
    let device = device().autodiff();
    for path in paths {
        let fx: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let base = build_layer(&fx, &device);
        // burn's conv2d and, where it runs (flex, wgpu; groups 1), the fused kernel held to
        // the same reference.
        for path in paths_for(&device, base.groups()) {
            let layer = base.clone().with_path(path);
            let name = format!("{file} ({:?} path)", layer.path());
            check(&fx, &layer, &name, &device);
        }
    }
}
