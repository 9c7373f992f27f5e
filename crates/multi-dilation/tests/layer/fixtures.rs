//! Outputs and gradients equal PyTorch's (fixtures made by
//! `tests/fixtures/make_fixtures.py`, committed).

use burn::module::Param;
use burn::tensor::Tensor;
use multi_dilation::{Merge, MultiDilationConv2dConfig};
use serde_json::Value;

use crate::common::*;

const TOL: f32 = 1e-4;

/// The JSON fixtures in `tests/fixtures/<folder>`, sorted.
pub fn fixture_files(folder: &str) -> Vec<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(folder);
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
}

fn floats(v: &Value, key: &str) -> Vec<f32> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("fixture lacks {key}"))
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

/// The list of unsigned integers at `key`.
pub fn usizes<const N: usize>(v: &Value, key: &str) -> [usize; N] {
    let items: Vec<usize> = v[key]
        .as_array()
        .unwrap_or_else(|| panic!("fixture lacks {key}"))
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect();
    items.try_into().expect("wrong length")
}

#[test]
fn outputs_and_gradients_equal_pytorch() {
    let paths = fixture_files("pytorch");
    assert!(
        paths.len() >= 5,
        "expected the committed fixtures, found {paths:?}"
    );
    let device = device().autodiff();
    for path in paths {
        let fx: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let channels: [usize; 2] = usizes(&fx, "channels");
        let kernel: [usize; 2] = usizes(&fx, "kernel_size");
        let input: [usize; 4] = usizes(&fx, "input_shape");
        let y_shape: [usize; 4] = usizes(&fx, "y_shape");
        let groups = fx["groups"].as_u64().unwrap() as usize;
        let has_bias = fx["bias"].as_bool().unwrap();
        let merge = match fx["merge"].as_str().unwrap() {
            "Concat" => Merge::Concat,
            "Sum" => Merge::Sum,
            "Mean" => Merge::Mean,
            "Max" => Merge::Max,
            other => panic!("unknown merge {other}"),
        };
        let dilations: Vec<usize> = fx["dilations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();

        let mut layer = MultiDilationConv2dConfig::new(channels, kernel)
            .with_dilations(dilations)
            .with_stride(usizes(&fx, "stride"))
            .with_groups(groups)
            .with_bias(has_bias)
            .with_merge(merge)
            .init(&device);
        let wshape = [channels[1], channels[0] / groups, kernel[0], kernel[1]];
        layer.weight = Param::from_tensor(from_vec(floats(&fx, "weight"), wshape, &device));
        if has_bias {
            layer.bias = Some(Param::from_tensor(from_vec(
                floats(&fx, "bias_values"),
                [channels[1]],
                &device,
            )));
        }

        let x: Tensor<4> = from_vec(floats(&fx, "x"), input, &device).require_grad();
        let r = from_vec(floats(&fx, "r"), y_shape, &device);
        let y = layer.forward(x.clone());
        assert_eq!(y.dims(), y_shape, "{name}: output shape");
        assert_close(
            &host(y.clone()),
            &floats(&fx, "y"),
            TOL,
            &format!("{name}: y"),
        );

        let grads = (y * r).sum().backward();
        let gx = x.grad(&grads).expect("input gradient");
        assert_close(
            &host(gx),
            &floats(&fx, "grad_x"),
            TOL,
            &format!("{name}: grad x"),
        );
        let gw = layer.weight.val().grad(&grads).expect("weight gradient");
        assert_close(
            &host(gw),
            &floats(&fx, "grad_weight"),
            TOL,
            &format!("{name}: grad weight"),
        );
        if has_bias {
            let gb = layer.bias.as_ref().unwrap().val().grad(&grads).unwrap();
            assert_close(
                &host(gb),
                &floats(&fx, "grad_bias"),
                TOL,
                &format!("{name}: grad bias"),
            );
        }
    }
}
