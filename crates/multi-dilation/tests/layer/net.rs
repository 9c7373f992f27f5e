//! `MultiDilationNet`: the classifier equals its parts composed by hand, and learns.

use burn::module::{Module, Param};
use burn::nn::activation::ActivationConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Int, Tensor, TensorData};
use multi_dilation::{Merge, MultiDilationConv2dConfig, MultiDilationNetConfig, Pooling};

use crate::common::*;

#[test]
fn default_is_the_mnist_classifier() {
    let config = MultiDilationNetConfig::new();
    assert_eq!(config.input_shape, [1, 28, 28]);
    assert_eq!(config.num_classes, 10);
    assert_eq!(config.pooling, Pooling::Max4x4);
    assert_eq!(config.conv.kernel_size, [5, 5]);
    let net = config.init(&device());
    assert_eq!(net.conv.output_channels(), 192);
    // conv: 64*25 + 64; head: 192*7*7*10 + 10.
    assert_eq!(net.num_params(), 1664 + 192 * 7 * 7 * 10 + 10);
}

/// Per-branch activation, then merge, pooling on the host, then the head by hand.
fn by_hand(
    branches: Vec<Vec<f32>>,
    shape: [usize; 4],
    merge: Merge,
    w: &[f32],
    b: &[f32],
) -> Vec<f32> {
    let [n, c, h, wd] = shape;
    let relu: Vec<Vec<f32>> = branches
        .into_iter()
        .map(|v| v.into_iter().map(|x| x.max(0.0)).collect())
        .collect();
    // Merged map as [n][channel][h][w] with channel-major concat.
    let channels = merge.output_channels(c, relu.len());
    let at = |bi: usize, ch: usize, i: usize, j: usize| -> f32 {
        let idx = |ch: usize| ((bi * c + ch) * h + i) * wd + j;
        match merge {
            Merge::Concat => relu[ch / c][idx(ch % c)],
            Merge::Sum => relu.iter().map(|r| r[idx(ch)]).sum(),
            Merge::Mean => relu.iter().map(|r| r[idx(ch)]).sum::<f32>() / relu.len() as f32,
            Merge::Max => relu.iter().map(|r| r[idx(ch)]).fold(f32::MIN, f32::max),
        }
    };
    let (ph, pw) = (h / 2, wd / 2);
    let features = channels * ph * pw;
    let classes = b.len();
    let mut logits = vec![0.0; n * classes];
    for bi in 0..n {
        let mut feat = Vec::with_capacity(features);
        for ch in 0..channels {
            for i in 0..ph {
                for j in 0..pw {
                    let m = [(0, 0), (0, 1), (1, 0), (1, 1)]
                        .iter()
                        .map(|(di, dj)| at(bi, ch, 2 * i + di, 2 * j + dj))
                        .fold(f32::MIN, f32::max);
                    feat.push(m);
                }
            }
        }
        for k in 0..classes {
            // burn's Linear stores [in, out].
            let dot: f32 = feat
                .iter()
                .enumerate()
                .map(|(f, v)| v * w[f * classes + k])
                .sum();
            logits[bi * classes + k] = dot + b[k];
        }
    }
    logits
}

#[test]
fn forward_equals_the_parts_composed_by_hand() {
    let device = device();
    for merge in [Merge::Concat, Merge::Max, Merge::Mean] {
        let config = MultiDilationNetConfig::new()
            .with_input_shape([2, 9, 8])
            .with_num_classes(3)
            .with_conv(MultiDilationConv2dConfig::new([2, 3], [3, 3]).with_merge(merge))
            .with_pooling(Pooling::Max2x2); // what `by_hand` computes
        let mut net = config.init(&device);
        net.conv.weight = Param::from_tensor(tensor([3, 2, 3, 3], 80, &device));
        let x = tensor([2, 2, 9, 8], 81, &device);
        let branches = net
            .conv
            .forward_branches(x.clone())
            .into_iter()
            .map(host)
            .collect();
        let expected = by_hand(
            branches,
            [2, 3, 9, 8],
            merge,
            &host(net.head.weight.val()),
            &host(net.head.bias.as_ref().unwrap().val()),
        );
        let logits = net.forward(x.clone());
        assert_eq!(logits.dims(), [2, 3]);
        assert_close(
            &host(logits.clone()),
            &expected,
            1e-4,
            &format!("{merge:?}"),
        );

        // predict is the softmax of the logits.
        let probs = host(net.predict(x));
        for (row, p) in expected.chunks(3).zip(probs.chunks(3)) {
            let max = row.iter().cloned().fold(f32::MIN, f32::max);
            let z: f32 = row.iter().map(|v| (v - max).exp()).sum();
            let want: Vec<f32> = row.iter().map(|v| (v - max).exp() / z).collect();
            assert_close(p, &want, 1e-5, "softmax");
        }
    }
}

#[test]
fn pooling_modes_give_the_documented_head_sizes() {
    let device = device();
    let conv = MultiDilationConv2dConfig::new([1, 4], [3, 3]).with_stride([2, 2]);
    for (pooling, features) in [
        (Pooling::None, 12 * 5 * 4),
        (Pooling::Max2x2, 12 * 2 * 2),
        (Pooling::GlobalAverage, 12),
    ] {
        let config = MultiDilationNetConfig::new()
            .with_input_shape([1, 9, 7])
            .with_conv(conv.clone())
            .with_pooling(pooling)
            .with_activation(ActivationConfig::Tanh);
        assert_eq!(config.head_features(), features, "{pooling:?}");
        let net = config.init(&device);
        assert_eq!(net.head.weight.dims(), [features, 10]);
        assert_eq!(
            net.forward(tensor([2, 1, 9, 7], 3, &device)).dims(),
            [2, 10]
        );
    }
}

#[test]
fn a_few_adam_steps_reduce_the_loss() {
    let device = device().autodiff();
    device.seed(3);
    let config = MultiDilationNetConfig::new()
        .with_input_shape([1, 8, 8])
        .with_num_classes(2)
        .with_conv(MultiDilationConv2dConfig::new([1, 4], [3, 3]));
    let mut net = config.init(&device);
    // Class 1: a bright centre; class 0: a bright border.
    let mut images = Vec::new();
    let mut labels = Vec::new();
    for k in 0..16 {
        let class = k % 2;
        for i in 0..8 {
            for j in 0..8 {
                let centre = (2..6).contains(&i) && (2..6).contains(&j);
                images.push(if centre == (class == 1) { 1.0 } else { 0.0 });
            }
        }
        labels.push(class as i64);
    }
    let x = Tensor::<4>::from_data(TensorData::new(images, [16, 1, 8, 8]), &device);
    let y = Tensor::<1, Int>::from_data(TensorData::new(labels, [16]), &device);
    let mut optim = AdamConfig::new().init();
    let loss_fn = burn::nn::loss::CrossEntropyLossConfig::new().init(&device);
    let mut losses = Vec::new();
    // 30 steps, not 10: the device seed is shared with tests running in parallel, so the
    // initialization can vary from run to run. After 10 steps the loss had fallen only to 0.50x
    // in one run (missing the bar by 0.001); after 30 it measures 0.003x its start, far under
    // the 0.5x asserted.
    for _ in 0..30 {
        let loss = loss_fn.forward(net.forward(x.clone()), y.clone());
        losses.push(loss.clone().into_scalar::<f32>());
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        net = optim.step(1e-2, net, grads);
    }
    assert!(
        losses[29] < losses[0] * 0.5,
        "loss did not fall: {losses:?}"
    );
}
