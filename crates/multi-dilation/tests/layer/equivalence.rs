//! The layer equals N separate burn `Conv2d` with explicit padding and the
//! weight copied, merged on the host; and each branch equals a direct loop.

use burn::module::Param;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2dConfig;
use multi_dilation::Merge;

use crate::common::*;

pub const MERGES: [Merge; 4] = [Merge::Concat, Merge::Sum, Merge::Mean, Merge::Max];

pub fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    // k = 3, square, bias, dilations 1,2,3.
    cases.push(Case::new([2, 3], [3, 3], [2, 2, 9, 9]));
    // k = 5, rectangular input, dilations 1,3,5, no bias.
    let mut c = Case::new([3, 2], [5, 5], [1, 3, 11, 8]);
    c.dilations = vec![1, 3, 5];
    c.bias = false;
    cases.push(c);
    // k = 2 (even): asymmetric padding.
    cases.push(Case::new([2, 4], [2, 2], [2, 2, 7, 10]));
    // Rectangular kernel and input, stride 2 on both axes, even input.
    let mut c = Case::new([2, 3], [3, 5], [2, 2, 10, 12]);
    c.stride = [2, 2];
    cases.push(c);
    // Stride 2 with an even kernel and odd input, dilations 1,3,5.
    let mut c = Case::new([1, 2], [2, 4], [2, 1, 9, 11]);
    c.stride = [2, 2];
    c.dilations = vec![1, 3, 5];
    cases.push(c);
    // Groups 2, mixed stride, no bias.
    let mut c = Case::new([4, 6], [3, 3], [2, 4, 8, 9]);
    c.groups = 2;
    c.stride = [1, 2];
    c.bias = false;
    cases.push(c);
    // Groups 2 with k = 5 and bias.
    let mut c = Case::new([4, 2], [5, 3], [1, 4, 7, 7]);
    c.groups = 2;
    c.dilations = vec![1, 3, 5];
    cases.push(c);
    cases
}

/// The reference: one burn `Conv2d` per dilation, built independently with explicit padding.
fn reference_branches(case: &Case, seed: u64) -> (Vec<Vec<f32>>, [usize; 4]) {
    let device = device();
    let layer = case.layer(seed, &device);
    let x = case.x(seed + 7, &device);
    let [_, _, h, w] = case.input;
    let mut shape = [0; 4];
    let branches = case
        .dilations
        .iter()
        .map(|&d| {
            let (top, bottom) = searched_same_padding(h, case.kernel[0], case.stride[0], d);
            let (left, right) = searched_same_padding(w, case.kernel[1], case.stride[1], d);
            let mut conv = Conv2dConfig::new(case.channels, case.kernel)
                .with_stride(case.stride)
                .with_dilation([d, d])
                .with_groups(case.groups)
                .with_bias(case.bias)
                .with_padding(PaddingConfig2d::Explicit(top, left, bottom, right))
                .init(&device);
            conv.weight = Param::from_tensor(layer.weight.val());
            conv.bias = layer.bias.as_ref().map(|b| Param::from_tensor(b.val()));
            let y = conv.forward(x.clone());
            shape = y.dims();
            host(y)
        })
        .collect();
    (branches, shape)
}

/// Merges on the host, written without the crate's `Merge::apply`.
fn host_merge(branches: &[Vec<f32>], shape: [usize; 4], merge: Merge) -> Vec<f32> {
    let n = branches.len();
    match merge {
        Merge::Concat => {
            let [b, c, h, w] = shape;
            let plane = c * h * w;
            let mut out = Vec::with_capacity(n * branches[0].len());
            for batch in 0..b {
                for branch in branches {
                    out.extend_from_slice(&branch[batch * plane..(batch + 1) * plane]);
                }
            }
            out
        }
        Merge::Sum | Merge::Mean | Merge::Max => (0..branches[0].len())
            .map(|i| {
                let vals = branches.iter().map(|b| b[i]);
                match merge {
                    Merge::Sum => vals.sum(),
                    Merge::Mean => vals.sum::<f32>() / n as f32,
                    _ => vals.fold(f32::NEG_INFINITY, f32::max),
                }
            })
            .collect(),
    }
}

#[test]
fn equals_separate_conv2d_for_every_case_and_merge() {
    let device = device();
    for (i, base) in cases().into_iter().enumerate() {
        let seed = 100 + i as u64 * 10;
        let (branches, shape) = reference_branches(&base, seed);
        for merge in MERGES {
            let case = Case {
                merge,
                ..base.clone()
            };
            let layer = case.layer(seed, &device);
            let y = layer.forward(case.x(seed + 7, &device));
            let expected = host_merge(&branches, shape, merge);
            let [b, c, h, w] = shape;
            let want_shape = [b, merge.output_channels(c, case.dilations.len()), h, w];
            assert_eq!(y.dims(), want_shape, "{case:?}");
            assert_eq!(layer.output_shape(case.input), want_shape, "{case:?}");
            assert_close(&host(y), &expected, 1e-5, &format!("{case:?}"));
        }
    }
}

#[test]
fn each_branch_equals_a_direct_loop() {
    let device = device();
    for (i, case) in cases().into_iter().enumerate() {
        let seed = 300 + i as u64 * 10;
        let layer = case.layer(seed, &device);
        let x = case.x(seed + 3, &device);
        let xv = host(x.clone());
        let wv = host(layer.weight.val());
        let bv = layer.bias.as_ref().map(|b| host(b.val()));
        let [_, _, h, w] = case.input;
        for (branch, &d) in layer.forward_branches(x).into_iter().zip(&case.dilations) {
            let pad = [
                searched_same_padding(h, case.kernel[0], case.stride[0], d),
                searched_same_padding(w, case.kernel[1], case.stride[1], d),
            ];
            let (expected, shape) = direct_conv2d(
                &xv,
                case.input,
                &wv,
                case.weight_shape(),
                bv.as_deref(),
                case.stride,
                pad,
                d,
                case.groups,
            );
            assert_eq!(branch.dims(), shape, "{case:?} d={d}");
            assert_close(&host(branch), &expected, 1e-5, &format!("{case:?} d={d}"));
        }
    }
}

#[test]
fn concat_is_dilation_major() {
    // Channels [k*out, (k+1)*out) of the concatenation are branch k, computed alone by
    // one conv2d (the fused path, where it runs, must lay its output out the same way).
    let device = device();
    let case = Case::new([1, 2], [3, 3], [1, 1, 6, 6]);
    let layer = case.layer(5, &device);
    let x = case.x(6, &device);
    let merged = layer.forward(x.clone());
    let plain = layer.with_path(multi_dilation::ExecutionPath::PerDilation);
    for (k, &d) in case.dilations.iter().enumerate() {
        let slice = merged.clone().narrow(1, 2 * k, 2);
        let branch = plain.forward_dilation(x.clone(), d);
        assert_close(&host(slice), &host(branch), 1e-5, &format!("branch {k}"));
    }
}
