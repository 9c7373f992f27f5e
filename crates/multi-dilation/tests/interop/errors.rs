//! Bad files and mismatched configurations: one clear error naming the tensor, the expected
//! and the actual shape; never a panic.

use std::collections::HashMap;
use std::path::Path;

use multi_dilation::MultiDilationConv2dConfig;
use multi_dilation::interop::keras::{self, KerasLayerNames};
use multi_dilation::interop::{InteropError, WeightFile, pytorch};
use safetensors::tensor::{Dtype, TensorView};

use crate::common::device;
use crate::fixture_dir;

fn layer_config() -> MultiDilationConv2dConfig {
    // The configuration of the *_layer_* fixtures.
    MultiDilationConv2dConfig::new([2, 3], [3, 3])
}

fn write_safetensors(path: &Path, tensors: &[(&str, Dtype, Vec<usize>, Vec<u8>)]) {
    let views: HashMap<String, TensorView<'_>> = tensors
        .iter()
        .map(|(name, dtype, shape, bytes)| {
            let view = TensorView::new(*dtype, shape.clone(), bytes).unwrap();
            (name.to_string(), view)
        })
        .collect();
    safetensors::serialize_to_file(views, None, path).unwrap();
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

#[test]
fn wrong_shape_names_tensor_expected_and_actual() {
    let file = WeightFile::open(fixture_dir().join("pt_layer_concat_s1.pt")).unwrap();
    let config = MultiDilationConv2dConfig::new([2, 4], [3, 3]);
    let err = pytorch::load_conv(&config, &file, "", &device()).unwrap_err();
    assert!(matches!(err, InteropError::Shape { .. }), "{err:?}");
    let message = err.to_string();
    for part in [
        "'weight'",
        "[3, 2, 3, 3]",
        "expected [4, 2, 3, 3]",
        "pt_layer_concat_s1.pt",
    ] {
        assert!(message.contains(part), "{message:?} lacks {part:?}");
    }

    // A Keras kernel given to the PyTorch importer is caught by its shape too.
    let file = WeightFile::open(fixture_dir().join("keras_layer_sum_s1.weights.h5")).unwrap();
    let names = [KerasLayerNames::h5("shared_dilated_conv2d")];
    let config = MultiDilationConv2dConfig::new([2, 3], [5, 5]);
    let message = keras::load_conv(&config, &file, &names, &device())
        .unwrap_err()
        .to_string();
    assert!(
        message.contains(
            "'layers/shared_dilated_conv2d/vars/0' has shape [3, 3, 2, 3], expected [5, 5, 2, 3]"
        ),
        "{message}"
    );
}

#[test]
fn missing_tensor_lists_what_the_file_holds() {
    let file = WeightFile::open(fixture_dir().join("pt_layer_sum_s1.safetensors")).unwrap();
    let err = pytorch::load_conv(&layer_config(), &file, "conv", &device()).unwrap_err();
    assert!(matches!(err, InteropError::Missing { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("tensor 'conv.weight' is missing; the file holds: bias, weight"),
        "{err}"
    );
}

#[test]
fn integer_tensor_is_a_dtype_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ints.safetensors");
    let weight: Vec<u8> = (0..54i64).flat_map(|v| v.to_le_bytes()).collect();
    let bias = f32_bytes(&[0.0; 3]);
    write_safetensors(
        &path,
        &[
            ("weight", Dtype::I64, vec![3, 2, 3, 3], weight),
            ("bias", Dtype::F32, vec![3], bias),
        ],
    );
    let file = WeightFile::open(&path).unwrap();
    let err = pytorch::load_conv(&layer_config(), &file, "", &device()).unwrap_err();
    assert!(matches!(err, InteropError::DType { .. }), "{err:?}");
    assert!(
        err.to_string().contains("tensor 'weight' has dtype I64"),
        "{err}"
    );
}

#[test]
fn double_precision_weights_are_converted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f64.safetensors");
    let weight: Vec<u8> = (0..54)
        .flat_map(|v| (f64::from(v) / 8.0).to_le_bytes())
        .collect();
    let bias: Vec<u8> = [0.5f64, -1.0, 2.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    write_safetensors(
        &path,
        &[
            ("weight", Dtype::F64, vec![3, 2, 3, 3], weight),
            ("bias", Dtype::F64, vec![3], bias),
        ],
    );
    let file = WeightFile::open(&path).unwrap();
    let layer = pytorch::load_conv(&layer_config(), &file, "", &device()).unwrap();
    let bias = crate::common::host(layer.bias.unwrap().val());
    assert_eq!(bias, [0.5, -1.0, 2.0]);
    assert_eq!(crate::common::host(layer.weight.val())[53], 53.0 / 8.0);
}

#[test]
fn bias_in_file_but_not_in_config_is_an_error() {
    let file = WeightFile::open(fixture_dir().join("pt_layer_sum_s1.pt")).unwrap();
    let config = layer_config().with_bias(false);
    let err = pytorch::load_conv(&config, &file, "", &device()).unwrap_err();
    assert!(
        err.to_string()
            .contains("holds the bias 'bias' but the configuration has bias = false"),
        "{err}"
    );
}

#[test]
fn keras_copies_that_differ_are_not_one_kernel() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("copies.safetensors");
    let kernel: Vec<f32> = (0..54).map(|v| v as f32).collect();
    let mut changed = kernel.clone();
    changed[10] += 0.25;
    let bias = f32_bytes(&[0.0; 3]);
    write_safetensors(
        &path,
        &[
            ("a/kernel", Dtype::F32, vec![3, 3, 2, 3], f32_bytes(&kernel)),
            ("a/bias", Dtype::F32, vec![3], bias.clone()),
            (
                "b/kernel",
                Dtype::F32,
                vec![3, 3, 2, 3],
                f32_bytes(&changed),
            ),
            ("b/bias", Dtype::F32, vec![3], bias),
        ],
    );
    let file = WeightFile::open(&path).unwrap();
    let names = [
        KerasLayerNames::variables("a"),
        KerasLayerNames::variables("b"),
    ];
    let err = keras::load_conv(&layer_config(), &file, &names, &device()).unwrap_err();
    assert!(
        err.to_string().contains("'a/kernel' and 'b/kernel' must hold the same values to be one shared kernel, but differ by up to 0.25"),
        "{err}"
    );
}

/// Truncations and random bytes of every format give an error, never a panic or a file that
/// silently opens.
#[test]
fn truncated_and_random_files_give_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad");
    for name in [
        "pt_net_sum_s1.pt",
        "pt_net_sum_s1.safetensors",
        "keras_net_sum_s1.weights.h5",
    ] {
        let bytes = std::fs::read(fixture_dir().join(name)).unwrap();
        let n = bytes.len();
        let mut cuts: Vec<usize> = vec![
            0,
            1,
            4,
            8,
            9,
            16,
            64,
            100,
            n / 4,
            n / 2,
            3 * n / 4,
            n - 100,
            n - 8,
            n - 1,
        ];
        cuts.extend((1..40).map(|i| i * n / 40));
        for cut in cuts {
            std::fs::write(&path, &bytes[..cut]).unwrap();
            match WeightFile::open(&path) {
                Err(err) => {
                    let message = err.to_string();
                    assert!(!message.contains('\n'), "one line: {message}");
                }
                Ok(file) => panic!(
                    "{name} cut to {cut} of {n} bytes opened: {:?}",
                    file.names().collect::<Vec<_>>()
                ),
            }
        }
    }
    let mut state = 0x1234_5678_u64;
    for len in [0usize, 3, 8, 17, 100, 4096] {
        let random: Vec<u8> = (0..len)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (state >> 56) as u8
            })
            .collect();
        std::fs::write(&path, &random).unwrap();
        assert!(WeightFile::open(&path).is_err(), "{len} random bytes");
    }
    let err = WeightFile::open(dir.path()).unwrap_err();
    assert!(
        matches!(err, InteropError::Io { .. }),
        "a directory: {err:?}"
    );
}
