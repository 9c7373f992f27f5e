//! Export to PyTorch layout: bit-exact against PyTorch's own file, and on re-import.

use multi_dilation::interop::{WeightFile, pytorch};

use crate::common::{device, host};
use crate::fixture_dir;
use crate::fixtures::Case;

/// Every tensor of two files, bit for bit.
fn assert_same_tensors(a: &WeightFile, b: &WeightFile) {
    let names: Vec<&str> = a.names().collect();
    assert_eq!(names, b.names().collect::<Vec<_>>());
    for name in names {
        let (shape_a, values_a) = a.values(name).unwrap();
        let (shape_b, values_b) = b.values(name).unwrap();
        assert_eq!(shape_a, shape_b, "{name}");
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(values_a), bits(values_b), "{name}");
    }
}

#[test]
fn export_equals_pytorchs_own_state_dict_and_reimports_bit_exactly() {
    let device = device();
    let dir = tempfile::tempdir().unwrap();
    for name in ["pt_net_concat_s1", "pt_net_sum_s2", "pt_layer_sum_s2"] {
        let case = Case::load(name);
        let original = WeightFile::open(fixture_dir().join(format!("{name}.pt"))).unwrap();
        // What PyTorch itself wrote with safetensors.torch.save_file.
        let pytorch_own =
            WeightFile::open(fixture_dir().join(format!("{name}.safetensors"))).unwrap();
        let exported_path = dir.path().join(format!("{name}.safetensors"));

        let exported = if case.is_net() {
            let names = pytorch::PytorchNetNames::default();
            let net = pytorch::load_net(&case.net_config(), &original, &names, &device).unwrap();
            pytorch::save(&net, &exported_path).unwrap();
            let exported = WeightFile::open(&exported_path).unwrap();
            let again = pytorch::load_net(&case.net_config(), &exported, &names, &device).unwrap();
            let input = case.input(&device);
            assert_eq!(host(net.forward(input.clone())), host(again.forward(input)));
            exported
        } else {
            let layer = pytorch::load_conv(&case.conv_config(), &original, "", &device).unwrap();
            pytorch::save(&layer, &exported_path).unwrap();
            let exported = WeightFile::open(&exported_path).unwrap();
            let again = pytorch::load_conv(&case.conv_config(), &exported, "", &device).unwrap();
            assert_eq!(host(layer.weight.val()), host(again.weight.val()));
            exported
        };
        assert_same_tensors(&exported, &pytorch_own);
        assert_same_tensors(&exported, &original);
    }
}

#[test]
fn export_replaces_an_existing_file_whole() {
    let device = device();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    std::fs::write(&path, vec![7u8; 1 << 20]).unwrap();
    let case = Case::load("pt_layer_concat_s1");
    let layer = case.conv_config().init(&device);
    pytorch::save(&layer, &path).unwrap();
    let file = WeightFile::open(&path).unwrap();
    assert_eq!(file.names().collect::<Vec<_>>(), ["bias", "weight"]);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left behind");
}
