//! The building blocks of deep multi-dilation networks against references computed on the
//! host, and `DeepMultiDilationNet` against its independent-kernel twin given the same kernels.

use burn::module::{Module, Param};
use burn::tensor::Tensor;
use multi_dilation::{
    BranchBatchNormConfig, BranchNorm, BranchWeightingConfig, DeepMultiDilationNetConfig, Kernels,
    PoolAt, ScalePool,
};

use crate::common::*;

/// Mean and biased variance of channel `c` of a `[n, channels, h, w]` tensor on the host.
fn channel_stats(x: &[f32], shape: [usize; 4], c: usize) -> (f64, f64) {
    let [n, channels, h, w] = shape;
    let plane = h * w;
    let values: Vec<f64> = (0..n)
        .flat_map(|b| {
            x[(b * channels + c) * plane..][..plane]
                .iter()
                .map(|v| f64::from(*v))
        })
        .collect();
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64;
    (mean, var)
}

#[test]
fn branch_batch_norm_uses_each_branchs_statistics_and_one_affine_map() {
    let device = device().autodiff();
    let shape = [3, 2, 4, 5];
    let mut norm = BranchBatchNormConfig::new(2, 2).init(&device);
    norm.gamma = Param::from_tensor(from_vec(vec![1.5, -0.5], [2], &device));
    norm.beta = Param::from_tensor(from_vec(vec![0.25, 2.0], [2], &device));
    // The second branch has another mean and spread.
    let a = tensor(shape, 1, &device);
    let b = tensor(shape, 2, &device).mul_scalar(4.0).add_scalar(3.0);
    let inputs = [host(a.clone()), host(b.clone())];
    let out = norm.forward(vec![a, b]);
    let plane = shape[2] * shape[3];
    let mut running_mean = vec![0.0f32; 4];
    let mut running_var = vec![1.0f32; 4];
    for (branch, (x, y)) in inputs.iter().zip(out).enumerate() {
        let y = host(y);
        let mut want = vec![0.0f32; x.len()];
        for c in 0..2 {
            let (mean, var) = channel_stats(x, shape, c);
            running_mean[branch * 2 + c] = (0.1 * mean) as f32;
            running_var[branch * 2 + c] = (0.9 + 0.1 * var) as f32;
            let (gamma, beta) = ([1.5, -0.5][c], [0.25, 2.0][c]);
            for n in 0..shape[0] {
                for p in 0..plane {
                    let i = (n * 2 + c) * plane + p;
                    want[i] =
                        ((f64::from(x[i]) - mean) / (var + 1e-5).sqrt() * gamma + beta) as f32;
                }
            }
        }
        assert_close(&y, &want, 1e-4, &format!("branch {branch}"));
    }
    // Running statistics per branch, updated with momentum 0.1 from zeros and ones.
    assert_close(
        &host(norm.running_mean.value_sync()),
        &running_mean,
        1e-5,
        "running mean",
    );
    assert_close(
        &host(norm.running_var.value_sync()),
        &running_var,
        1e-5,
        "running variance",
    );

    // At inference (no autodiff) each branch is normalized by its own running statistics.
    let inference = norm.valid();
    let x = tensor(shape, 3, &inference.gamma.device());
    let out = inference.forward(vec![x.clone(), x.clone()]);
    let (x, mean, var) = (host(x), &running_mean, &running_var);
    for (branch, y) in out.into_iter().enumerate() {
        let y = host(y);
        for (i, value) in y.iter().enumerate() {
            let c = i / plane % 2;
            let k = branch * 2 + c;
            let want = (x[i] - mean[k]) / (var[k] + 1e-5).sqrt() * [1.5, -0.5][c] + [0.25, 2.0][c];
            assert!(
                (value - want).abs() < 1e-4,
                "inference branch {branch} index {i}"
            );
        }
    }
}

#[test]
#[should_panic(expected = "expected 3 branch inputs (one per dilation), got 2")]
fn branch_batch_norm_rejects_a_list_of_the_wrong_length() {
    let device = device();
    let norm = BranchBatchNormConfig::new(2, 3).init(&device);
    norm.forward(vec![
        tensor([1, 2, 3, 3], 1, &device),
        tensor([1, 2, 3, 3], 2, &device),
    ]);
}

#[test]
fn branch_weighting_is_a_softmax_weighted_sum_and_learns_its_logits() {
    let device = device().autodiff();
    let shape = [2, 3, 2, 2];
    let mut weighting = BranchWeightingConfig::new(2)
        .with_channels(Some(3))
        .init(&device);
    let logits = vec![0.3, -1.0, 2.0, -0.7, 0.5, 0.0];
    weighting.logits = Param::from_tensor(from_vec(logits.clone(), [2, 3], &device));
    let branches = [tensor(shape, 4, &device), tensor(shape, 5, &device)];
    let y = weighting.forward(branches.to_vec());
    let r = tensor(shape, 6, &device);
    let grads = (y.clone() * r.clone()).sum().backward();
    let grad_logits = host(weighting.logits.val().grad(&grads).unwrap());

    let (a, b, r) = (
        host(branches[0].clone()),
        host(branches[1].clone()),
        host(r),
    );
    let weight = |l: &[f32], branch: usize, c: usize| {
        let (x0, x1) = (f64::from(l[c]).exp(), f64::from(l[3 + c]).exp());
        [x0, x1][branch] / (x0 + x1)
    };
    let loss = |l: &[f32]| -> f64 {
        (0..a.len())
            .map(|i| {
                let c = i / 4 % 3;
                (weight(l, 0, c) * f64::from(a[i]) + weight(l, 1, c) * f64::from(b[i]))
                    * f64::from(r[i])
            })
            .sum()
    };
    let want: Vec<f32> = (0..a.len())
        .map(|i| {
            let c = i / 4 % 3;
            (weight(&logits, 0, c) * f64::from(a[i]) + weight(&logits, 1, c) * f64::from(b[i]))
                as f32
        })
        .collect();
    assert_close(&host(y), &want, 1e-5, "weighted sum");
    let columns = host(weighting.weights());
    for c in 0..3 {
        assert!(
            (columns[c] + columns[3 + c] - 1.0).abs() < 1e-6,
            "column {c} sums to 1"
        );
    }
    for k in 0..6 {
        let eps = 1e-3;
        let (mut up, mut down) = (logits.clone(), logits.clone());
        up[k] += eps;
        down[k] -= eps;
        let numeric = (loss(&up) - loss(&down)) / (2.0 * f64::from(eps));
        assert!(
            (f64::from(grad_logits[k]) - numeric).abs() < 1e-3,
            "logit {k}: autodiff {} vs finite difference {numeric}",
            grad_logits[k]
        );
    }
}

/// The twin of `config` with every branch's kernel set to the shared one: the same function.
fn assert_twin_with_shared_kernels_is_the_same_network(config: DeepMultiDilationNetConfig) {
    let device = device();
    let shared = config.init(&device);
    let mut twin = config
        .clone()
        .with_kernels(Kernels::Independent)
        .init(&device);
    assert_eq!(twin.conv_parameters(), 3 * shared.conv_parameters());
    for (block, source) in twin.blocks.iter_mut().zip(&shared.blocks) {
        for conv in &mut block.convs {
            conv.weight = source.convs[0].weight.clone();
            conv.bias = source.convs[0].bias.clone();
        }
        block.norm = source.norm.clone();
        block.weighting = source.weighting.clone();
    }
    twin.weighting = shared.weighting.clone();
    twin.head = shared.head.clone();
    let x = tensor([2, 1, 16, 16], 7, &device);
    let (a, b) = (host(shared.forward(x.clone())), host(twin.forward(x)));
    assert_close(&a, &b, 1e-4, &format!("{config:?}"));
    assert!(a.iter().any(|v| v.abs() > 1e-3), "a non-trivial output");
}

#[test]
fn the_twin_with_the_shared_kernels_is_the_shared_network() {
    let base = DeepMultiDilationNetConfig::new()
        .with_input_shape([1, 16, 16])
        .with_channels(vec![4, 6]);
    assert_twin_with_shared_kernels_is_the_same_network(base.clone());
    assert_twin_with_shared_kernels_is_the_same_network(
        base.clone()
            .with_pool_at(PoolAt::EveryBlock)
            .with_norm(BranchNorm::Shared),
    );
    assert_twin_with_shared_kernels_is_the_same_network(
        base.with_anti_alias(Some(0.5))
            .with_scale_pool(ScalePool::Weighted)
            .with_norm(BranchNorm::None),
    );
}

#[test]
fn the_config_rebuilds_the_network_and_rejects_bad_fields() {
    let config = DeepMultiDilationNetConfig::new().with_scale_pool(ScalePool::Mean);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep.json");
    burn::config::Config::save(&config, &path).unwrap();
    let loaded: DeepMultiDilationNetConfig = burn::config::Config::load(&path).unwrap();
    assert_eq!(loaded, config);
    assert_eq!(
        loaded.init(&device()).num_params(),
        config.init(&device()).num_params()
    );

    let field = |config: DeepMultiDilationNetConfig| config.validate().unwrap_err().field;
    assert_eq!(
        field(DeepMultiDilationNetConfig::new().with_channels(vec![])),
        "channels"
    );
    assert_eq!(
        field(DeepMultiDilationNetConfig::new().with_input_shape([1, 7, 28])),
        "input_shape"
    );
    assert_eq!(
        field(DeepMultiDilationNetConfig::new().with_anti_alias(Some(-1.0))),
        "conv.anti_alias"
    );
    assert_eq!(
        field(DeepMultiDilationNetConfig::new().with_dilations(vec![])),
        "conv.dilations"
    );
}

#[test]
fn scale_weights_are_read_back_where_branches_are_pooled() {
    let device = device();
    let every = DeepMultiDilationNetConfig::new()
        .with_pool_at(PoolAt::EveryBlock)
        .with_scale_pool(ScalePool::Weighted)
        .init(&device);
    let dims: Vec<[usize; 2]> = every.scale_weights().iter().map(Tensor::dims).collect();
    assert_eq!(dims, [[3, 16], [3, 32], [3, 48]]);
    let head = DeepMultiDilationNetConfig::new()
        .with_scale_pool(ScalePool::Weighted)
        .init(&device);
    assert_eq!(head.scale_weights().len(), 1);
    assert!(
        DeepMultiDilationNetConfig::new()
            .init(&device)
            .scale_weights()
            .is_empty()
    );
}
