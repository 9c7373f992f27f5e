//! The quickstart layer (one 3x3 kernel, 1 -> 4 channels, dilations 1, 2, 3), the accessors,
//! the display and inference on a subset of the dilations.

use burn::module::Module;
use burn::nn::conv::Conv2dConfig;
use multi_dilation::{Merge, MultiDilationConv2dConfig};

use crate::common::*;

#[test]
fn quickstart_layer_has_12_channels_and_40_parameters() {
    let device = device();
    let layer = MultiDilationConv2dConfig::new([1, 4], [3, 3])
        .with_dilations(vec![1, 2, 3])
        .init(&device);
    let y = layer.forward(tensor([5, 1, 10, 10], 1, &device));
    assert_eq!(y.dims(), [5, 12, 10, 10]);
    assert_eq!(layer.output_channels(), 12);
    assert_eq!(layer.num_params(), 40);
    // Three independent convolutions with the same output hold three times as many.
    let independent: usize = (0..3)
        .map(|_| Conv2dConfig::new([1, 4], [3, 3]).init(&device).num_params())
        .sum();
    assert_eq!(independent, 120);
}

#[test]
fn defaults_match_the_documented_ones_and_burn_conv2d() {
    let config = MultiDilationConv2dConfig::new([1, 4], [3, 3]);
    assert_eq!(config.dilations, vec![1, 2, 3]);
    assert_eq!(config.stride, [1, 1]);
    assert_eq!(config.groups, 1);
    assert!(config.bias);
    assert_eq!(config.merge, Merge::Concat);
    assert_eq!(
        config.initializer,
        Conv2dConfig::new([1, 4], [3, 3]).initializer
    );
}

#[test]
fn default_init_is_bounded_like_burn_conv2d() {
    // Kaiming uniform with gain 1/sqrt(3): |w| <= 1/sqrt(fan_in), fan_in = in/groups*kh*kw.
    let device = device();
    let layer = MultiDilationConv2dConfig::new([8, 16], [3, 3])
        .with_groups(2)
        .init(&device);
    let bound = 1.0 / ((8 / 2 * 9) as f32).sqrt();
    let w = host(layer.weight.val());
    assert!(w.iter().all(|v| v.abs() <= bound));
    assert!(
        w.iter().any(|v| v.abs() > bound / 2.0),
        "suspiciously small init"
    );
    assert_eq!(layer.weight.dims(), [16, 4, 3, 3]);
}

#[test]
fn display_shows_dilations_and_merge() {
    let layer = MultiDilationConv2dConfig::new([1, 4], [3, 3])
        .with_merge(Merge::Max)
        .init(&device());
    let text = layer.to_string();
    assert!(text.contains("MultiDilationConv2d"), "{text}");
    assert!(text.contains("dilations: [1, 2, 3]"), "{text}");
    assert!(text.contains("merge: Max"), "{text}");
    assert!(text.contains("params: 40"), "{text}");
}

#[test]
fn accessors_report_the_config() {
    let layer = MultiDilationConv2dConfig::new([4, 6], [5, 3])
        .with_dilations(vec![2, 4])
        .with_stride([2, 1])
        .with_groups(2)
        .with_merge(Merge::Sum)
        .init(&device());
    assert_eq!(layer.dilations(), &[2, 4]);
    assert_eq!(layer.merge(), Merge::Sum);
    assert_eq!(layer.stride(), [2, 1]);
    assert_eq!(layer.groups(), 2);
    assert_eq!(layer.kernel_size(), [5, 3]);
    assert_eq!(layer.in_channels(), 4);
    assert_eq!(layer.branch_channels(), 6);
    assert_eq!(layer.output_channels(), 6);
    assert_eq!(layer.output_shape([3, 4, 9, 8]), [3, 6, 5, 8]);
}

#[test]
fn single_branch_inference_equals_that_branch_of_the_full_layer() {
    let device = device();
    let case = Case::new([2, 3], [3, 3], [2, 2, 9, 8]);
    let layer = case.layer(40, &device);
    let x = case.x(41, &device);
    let branches = layer.forward_branches(x.clone());
    for (k, &d) in case.dilations.iter().enumerate() {
        assert_eq!(
            host(layer.forward_dilation(x.clone(), d)),
            host(branches[k].clone()),
            "dilation {d}"
        );
    }
}

#[test]
fn with_dilations_shares_the_parameters_and_keeps_mean_shapes() {
    let device = device();
    let mut case = Case::new([2, 3], [3, 3], [1, 2, 7, 7]);
    case.merge = Merge::Mean;
    let layer = case.layer(50, &device);
    let x = case.x(51, &device);
    let fast = layer.clone().with_dilations(vec![2]).unwrap();
    assert_eq!(
        fast.weight.id, layer.weight.id,
        "parameters must be shared, not copied"
    );
    assert_eq!(fast.num_params(), layer.num_params());
    let y_fast = fast.forward(x.clone());
    assert_eq!(y_fast.dims(), layer.forward(x.clone()).dims());
    assert_close(
        &host(y_fast),
        &host(layer.forward_branches(x.clone())[1].clone()),
        1e-5,
        "the one branch of `fast` vs branch 1 of the layer",
    );

    // A dilation never configured still works: the kernel is shared.
    let wide = layer.clone().with_dilations(vec![1, 2, 3, 6]).unwrap();
    let [b, _, h, w] = case.input;
    assert_eq!(wide.forward(x.clone()).dims(), [b, 3, h, w]);
    let concat = Case {
        merge: Merge::Concat,
        ..case.clone()
    }
    .layer(50, &device)
    .with_dilations(vec![1, 6])
    .unwrap();
    assert_eq!(concat.forward(x).dims(), [b, 6, h, w]);
}
