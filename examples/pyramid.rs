//! KSAC's kernel-sharing atrous pyramid beside DeepLabv3's ASPP at MobileNetV2's size (320
//! channels in, 256 out, rates 6, 12, 18): their parameters, the saving, and one forward each.
//!
//! Run with `cargo run --release --example pyramid` (add `--features wgpu` for a GPU).

use burn::module::Module;
use burn::tensor::{Distribution, Tensor};
use multi_dilation::{AtrousPyramid, AtrousPyramidConfig, Kernels, Merge};
use multi_dilation_examples::select_device;

fn main() {
    let device = select_device();
    println!("device: {device:?}");

    // MobileNetV2's last features (320 channels) to DeepLab's 256, as in KSAC's and
    // DeepLabv3+'s MobileNetV2 heads.
    let config = AtrousPyramidConfig::new([320, 256]);
    let blocks = [
        ("KSAC (one kernel, rates summed)", config.clone()),
        (
            "one kernel, rates concatenated",
            config.clone().with_merge(Some(Merge::Concat)),
        ),
        (
            "ASPP (a kernel per rate, concatenated)",
            config.clone().with_kernels(Kernels::Independent),
        ),
    ]
    .map(|(name, config)| (name, config.init(&device)));
    let aspp = &blocks[2].1;
    let saving = |block: &AtrousPyramid| match block.kernels() {
        Kernels::Independent => "-".to_owned(),
        Kernels::Shared => {
            let kept = block.trainable_params() as f64 / aspp.trainable_params() as f64;
            format!("{:.1}%", 100.0 * (1.0 - kept))
        }
    };

    println!();
    println!(
        "| block, 320 -> 256, rates 6, 12, 18 | conv parameters | trainable | saving vs ASPP |"
    );
    println!("|---|---|---|---|");
    for (name, block) in &blocks {
        println!(
            "| {name} | {} | {} | {} |",
            block.conv_parameters(),
            block.trainable_params(),
            saving(block)
        );
    }
    println!(
        "(trainable: convolutions and batch-norm scales and shifts; burn's num_params also \
         counts the running statistics: KSAC {}, ASPP {})",
        blocks[0].1.num_params(),
        aspp.num_params()
    );

    // A 257x257 crop at output stride 16: a 17x17 map.
    let x = Tensor::<4>::random([1, 320, 17, 17], Distribution::Normal(0.0, 1.0), &device);
    println!();
    for (name, block) in &blocks {
        let y = block.forward(x.clone());
        let mean = y.clone().mean().into_scalar::<f32>();
        println!("{name}: {:?} -> {:?} (mean {mean:.4})", x.dims(), y.dims());
    }
}
