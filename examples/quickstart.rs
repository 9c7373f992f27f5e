//! The smallest use: one 3x3 kernel from 1 to 4 channels, seen at dilations 1, 2 and 3.
//!
//! Run with `cargo run --release --example quickstart` (add `--features wgpu` for a GPU).

use burn::module::Module;
use burn::tensor::{Distribution, Tensor};
use multi_dilation::MultiDilationConv2dConfig;
use multi_dilation_examples::select_device;

fn main() {
    let device = select_device();
    println!("device: {device:?}");

    let config = MultiDilationConv2dConfig::new([1, 4], [3, 3]).with_dilations(vec![1, 2, 3]);
    let layer = config.init(&device);
    println!("{layer}");

    let x = Tensor::<4>::random([32, 1, 10, 10], Distribution::Normal(0.0, 1.0), &device);
    let y = layer.forward(x.clone());
    println!("input  {:?} -> output {:?}", x.dims(), y.dims());

    let shared = layer.num_params();
    let branches = config.dilations.len();
    println!();
    println!("| layer | parameters |");
    println!("|---|---|");
    println!("| MultiDilationConv2d (one kernel, {branches} dilations) | {shared} |");
    println!(
        "| {branches} independent Conv2d (same output) | {} |",
        shared * branches
    );
}
