//! `AtrousPyramid`: config errors, 'same' shapes, parameter counts, and KSAC against its ASPP
//! twin given the same kernel and statistics (the PyTorch comparison is `pyramid_fixtures.rs`).

use burn::module::{Module, Param};
use multi_dilation::{AtrousNorm, AtrousPyramid, AtrousPyramidConfig, Kernels, Merge};

use crate::common::*;

#[test]
fn invalid_configs_name_the_field() {
    let device = device();
    let cases = [
        (AtrousPyramidConfig::new([0, 4]), "channels"),
        (AtrousPyramidConfig::new([4, 0]), "channels"),
        (AtrousPyramidConfig::new([4, 4]).with_rates(vec![]), "rates"),
        (
            AtrousPyramidConfig::new([4, 4]).with_rates(vec![6, 0]),
            "rates",
        ),
        (
            AtrousPyramidConfig::new([4, 4]).with_kernel_size([3, 0]),
            "kernel_size",
        ),
    ];
    for (config, field) in cases {
        let err = config.try_init(&device).unwrap_err();
        assert_eq!(err.field, field, "{config:?}");
        let message = std::panic::catch_unwind(|| config.init(&device))
            .err()
            .and_then(|panic| panic.downcast_ref::<String>().cloned())
            .expect("init panics with a message");
        assert_eq!(
            message,
            err.to_string(),
            "init panics with try_init's error"
        );
    }
}

#[test]
#[should_panic(
    expected = "AtrousPyramid::forward: expected an input of shape [batch, 8, height, \
                           width], got [1, 7, 5, 5]"
)]
fn forward_rejects_wrong_channels() {
    let device = device();
    let block = AtrousPyramidConfig::new([8, 4]).init(&device);
    block.forward(tensor([1, 7, 5, 5], 1, &device));
}

#[test]
fn output_keeps_the_input_size_for_every_option() {
    let device = device();
    for kernels in [Kernels::Shared, Kernels::Independent] {
        for (merge, image_pooling) in [(None, true), (Some(Merge::Concat), false)] {
            let config = AtrousPyramidConfig::new([3, 4])
                .with_kernels(kernels)
                .with_merge(merge)
                .with_image_pooling(image_pooling);
            let block = config.init(&device);
            assert_eq!(block.rates(), vec![6, 12, 18]);
            assert_eq!(block.kernels(), kernels);
            assert_eq!(block.merge(), config.atrous_merge());
            // Larger than the rates, smaller than them, odd, and one pixel.
            for [h, w] in [[20, 23], [7, 5], [1, 1]] {
                let y = block.forward(tensor([2, 3, h, w], 5, &device));
                assert_eq!(y.dims(), [2, 4, h, w], "{kernels:?} {merge:?} {h}x{w}");
            }
        }
    }
}

#[test]
fn parameter_counts_at_mobilenet_v2_size() {
    let device = device();
    // MobileNetV2's last features (320 channels) to DeepLab's 256.
    let (cin, out, k) = (320, 256, 9);
    let ksac = AtrousPyramidConfig::new([cin, out]).init(&device);
    let aspp = AtrousPyramidConfig::new([cin, out])
        .with_kernels(Kernels::Independent)
        .init(&device);
    // 1x1 branch, atrous kernel(s), image pooling, projection from 3 or 5 branches.
    let ksac_conv = cin * out + k * cin * out + cin * out + 3 * out * out;
    let aspp_conv = cin * out + 3 * k * cin * out + cin * out + 5 * out * out;
    assert_eq!((ksac_conv, aspp_conv), (1_097_728, 2_703_360));
    assert_eq!(ksac.conv_parameters(), ksac_conv);
    assert_eq!(aspp.conv_parameters(), aspp_conv);
    // A scale and a shift per batch norm: 4 in KSAC (the rates share one), 6 in ASPP.
    assert_eq!(ksac.trainable_params(), ksac_conv + 4 * 2 * out);
    assert_eq!(aspp.trainable_params(), aspp_conv + 6 * 2 * out);
    // Running statistics: one mean and variance per rate in both.
    assert_eq!(ksac.num_params() - ksac.trainable_params(), 6 * 2 * out);
    assert_eq!(aspp.num_params() - aspp.trainable_params(), 6 * 2 * out);
}

/// ASPP with every rate's kernel set to KSAC's one kernel, its batch norms to KSAC's shared
/// scale and shift, merged by a sum: KSAC again.
fn twin_of(ksac: &AtrousPyramid, device: &burn::tensor::Device) -> AtrousPyramid {
    let mut aspp = AtrousPyramidConfig::new([ksac.in_channels(), ksac.out_channels()])
        .with_rates(ksac.rates())
        .with_kernels(Kernels::Independent)
        .with_merge(Some(Merge::Sum))
        .init(device);
    aspp.pointwise = ksac.pointwise.clone();
    aspp.image_pool = ksac.image_pool.clone();
    aspp.projection = ksac.projection.clone();
    let AtrousNorm::PerRate(shared) = &ksac.atrous_norm else {
        panic!("KSAC normalizes per rate")
    };
    let AtrousNorm::Separate(norms) = &mut aspp.atrous_norm else {
        panic!("ASPP has a batch norm per rate")
    };
    for norm in norms.iter_mut() {
        norm.gamma = Param::from_tensor(shared.gamma.val());
        norm.beta = Param::from_tensor(shared.beta.val());
    }
    for conv in &mut aspp.atrous {
        conv.weight = Param::from_tensor(ksac.atrous[0].weight.val());
    }
    aspp
}

#[test]
fn ksac_is_aspp_with_one_kernel_summed_in_training() {
    let device = device().autodiff();
    let mut ksac = AtrousPyramidConfig::new([3, 4])
        .with_rates(vec![1, 2, 5])
        .init(&device);
    let [c, ..] = ksac.atrous[0].weight.dims();
    let AtrousNorm::PerRate(norm) = &mut ksac.atrous_norm else {
        unreachable!()
    };
    norm.gamma = Param::from_tensor(tensor([c], 7, &device).add_scalar(1.5));
    norm.beta = Param::from_tensor(tensor([c], 8, &device));
    let aspp = twin_of(&ksac, &device);
    let x = tensor([3, 3, 9, 8], 9, &device);
    // Batch statistics per rate in both: the same numbers.
    let (a, b) = (host(ksac.forward(x.clone())), host(aspp.forward(x)));
    assert_close(&a, &b, 1e-5, "KSAC against ASPP given its kernel, summed");
}
