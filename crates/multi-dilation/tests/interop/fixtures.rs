//! Imported weights give the framework's own outputs (1e-4), for the layer alone and the
//! classifier, concat and sum, stride 1 and 2.

use burn::tensor::Device;
use multi_dilation::interop::keras::{self, KerasLayerNames, KerasNetNames};
use multi_dilation::interop::{WeightFile, pytorch};
use multi_dilation::{
    Merge, MultiDilationConv2d, MultiDilationConv2dConfig, MultiDilationNet,
    MultiDilationNetConfig, Pooling,
};
use serde_json::Value;

use crate::common::{assert_close, device, from_vec, host};
use crate::fixture_dir;

/// One fixture case: its configuration, input and expected output.
pub struct Case {
    pub name: String,
    json: Value,
}

impl Case {
    pub fn load(name: &str) -> Self {
        let text = std::fs::read_to_string(fixture_dir().join(format!("{name}.json"))).unwrap();
        Self {
            name: name.to_string(),
            json: serde_json::from_str(&text).unwrap(),
        }
    }

    fn usizes<const N: usize>(&self, key: &str) -> [usize; N] {
        let v: Vec<usize> = serde_json::from_value(self.json[key].clone()).unwrap();
        v.try_into().unwrap()
    }

    fn floats(&self, key: &str) -> Vec<f32> {
        serde_json::from_value(self.json[key].clone()).unwrap()
    }

    pub fn is_net(&self) -> bool {
        self.json["kind"] == "net"
    }

    pub fn conv_config(&self) -> MultiDilationConv2dConfig {
        let merge = match self.json["merge"].as_str().unwrap() {
            "Concat" => Merge::Concat,
            "Sum" => Merge::Sum,
            other => panic!("merge {other}"),
        };
        MultiDilationConv2dConfig::new(self.usizes("channels"), self.usizes("kernel_size"))
            .with_dilations(serde_json::from_value(self.json["dilations"].clone()).unwrap())
            .with_stride(self.usizes("stride"))
            .with_merge(merge)
    }

    pub fn net_config(&self) -> MultiDilationNetConfig {
        assert_eq!(self.json["pooling"], "Max2x2");
        MultiDilationNetConfig::new()
            .with_input_shape(self.usizes("image_shape"))
            .with_num_classes(self.json["num_classes"].as_u64().unwrap() as usize)
            .with_conv(self.conv_config())
            .with_pooling(Pooling::Max2x2)
    }

    pub fn input(&self, device: &Device) -> burn::tensor::Tensor<4> {
        from_vec(self.floats("input"), self.usizes("input_shape"), device)
    }

    pub fn expected(&self) -> Vec<f32> {
        self.floats("output")
    }

    pub fn check_conv(&self, layer: &MultiDilationConv2d, what: &str) {
        let output = layer.forward(self.input(&device()));
        assert_eq!(
            output.dims().to_vec(),
            self.json["output_shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as usize)
                .collect::<Vec<_>>()
        );
        assert_close(&host(output), &self.expected(), 1e-4, what);
    }

    pub fn check_net(&self, net: &MultiDilationNet, what: &str) {
        let output = net.forward(self.input(&device()));
        assert_close(&host(output), &self.expected(), 1e-4, what);
    }
}

const CASES: [&str; 8] = [
    "layer_concat_s1",
    "layer_concat_s2",
    "layer_sum_s1",
    "layer_sum_s2",
    "net_concat_s1",
    "net_concat_s2",
    "net_sum_s1",
    "net_sum_s2",
];

#[test]
fn pytorch_pt_and_safetensors_give_pytorch_outputs() {
    let device = device();
    for name in CASES {
        let case = Case::load(&format!("pt_{name}"));
        for ext in ["pt", "safetensors"] {
            let file =
                WeightFile::open(fixture_dir().join(format!("{}.{ext}", case.name))).unwrap();
            let what = format!("{}.{ext}", case.name);
            if case.is_net() {
                let names = pytorch::PytorchNetNames::default();
                let net = pytorch::load_net(&case.net_config(), &file, &names, &device).unwrap();
                case.check_net(&net, &what);
            } else {
                let layer = pytorch::load_conv(&case.conv_config(), &file, "", &device).unwrap();
                case.check_conv(&layer, &what);
            }
        }
    }
}

/// The names of the Keras fixtures' layers in a `.weights.h5` (Keras's class-derived names)
/// and in safetensors (the variable paths).
fn keras_names(case: &Case, h5: bool) -> (Vec<KerasLayerNames>, KerasLayerNames) {
    if case.name.contains("request") {
        assert!(h5);
        let convs = ["conv2d", "conv2d_1", "conv2d_2"]
            .map(KerasLayerNames::h5)
            .to_vec();
        return (convs, KerasLayerNames::h5("dense"));
    }
    if h5 {
        (
            vec![KerasLayerNames::h5("shared_dilated_conv2d")],
            KerasLayerNames::h5("dense"),
        )
    } else {
        (
            vec![KerasLayerNames::variables("shared_conv")],
            KerasLayerNames::variables("head"),
        )
    }
}

#[test]
fn keras_weights_h5_and_safetensors_give_keras_outputs() {
    let device = device();
    let mut checked = 0;
    for name in CASES.iter().copied().chain(["net_request_concat_s1"]) {
        let case = Case::load(&format!("keras_{name}"));
        for ext in ["weights.h5", "safetensors"] {
            let path = fixture_dir().join(format!("{}.{ext}", case.name));
            if !path.exists() {
                continue;
            }
            let file = WeightFile::open(&path).unwrap();
            let (convs, dense) = keras_names(&case, ext == "weights.h5");
            let what = format!("{}.{ext}", case.name);
            if case.is_net() {
                let names = KerasNetNames { convs, dense };
                let net = keras::load_net(&case.net_config(), &file, &names, &device).unwrap();
                case.check_net(&net, &what);
            } else {
                let layer = keras::load_conv(&case.conv_config(), &file, &convs, &device).unwrap();
                case.check_conv(&layer, &what);
            }
            checked += 1;
        }
    }
    assert_eq!(
        checked,
        9 + 2,
        "every .weights.h5 and the two safetensors files"
    );
}
