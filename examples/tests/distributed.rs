//! Data-parallel training through burn-train's `multi` strategy, with two replicas on this
//! machine's one CPU device, takes the steps of one device with the combined batch; and every
//! request the backend cannot serve is one error naming the option, before anything launches.
//!
//! What burn 0.22.1 does under `multi` (burn-train src/learner/supervised/strategies/multi/
//! epoch.rs, burn-core src/data/dataloader/split.rs): replica r gets the r-th contiguous half
//! of the items, batched in order; at step k both run their k-th batch and the two gradients
//! (each of a mean loss over its batch) are summed, then one optimizer step is taken. One
//! device with batch 2b over the items reordered as [replica 0's batch k, replica 1's batch k]
//! for each k sees the same images per step, and its gradient, the mean over 2b, is half that
//! sum: SGD takes the same step when the multi run's learning rate is halved
//! (`Plan::gradient_scale`), and Adam at the same learning rate once its epsilon is doubled
//! (`Plan::adam`).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataset::{Dataset, InMemDataset};
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{AdamConfig, ModuleOptimizer, SgdConfig};
use burn::tensor::{Device, Tensor};
use burn::train::{ExecutionStrategy, Learner, SupervisedTraining};
use multi_dilation::{
    ClassificationBatch, ExecutionPath, MultiDilationNet, MultiDilationNetConfig,
};
use multi_dilation_examples::distributed::{DeviceSelection, Plan, Strategy};
use multi_dilation_examples::renderer::EpochLines;
use multi_dilation_mnist::{MnistBatcher, MnistItem, SyntheticDigits};

/// Items per replica per step, and the replicas.
const REPLICA_BATCH: usize = 16;
const REPLICAS: usize = 2;
/// Four steps of the combined batch.
const ITEMS: usize = 4 * REPLICAS * REPLICA_BATCH;

/// Every float parameter of `model`, flattened in visiting order.
fn parameters(model: &MultiDilationNet) -> Vec<f32> {
    struct Collect(Vec<f32>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let values = param.val().into_data().try_to_vec::<f32>().unwrap();
            self.0.extend(values);
        }
    }
    let mut collect = Collect(Vec::new());
    model.visit(&mut collect);
    collect.0
}

/// A small one-layer classifier on the fused kernel: 4 channels of 3x3 at dilations 1, 2, 3.
fn model(device: &Device) -> MultiDilationNet {
    let mut config = MultiDilationNetConfig::new();
    config.conv.channels = [1, 4];
    config.conv.kernel_size = [3, 3];
    config.conv.path = ExecutionPath::Fused;
    // The seed is the device's, shared by the tests running beside this one.
    static SEEDING: Mutex<()> = Mutex::new(());
    let _seeding = SEEDING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    device.seed(7);
    config.init(device)
}

fn digits() -> Vec<MnistItem> {
    let digits = SyntheticDigits::new(ITEMS, 11);
    (0..ITEMS).map(|i| digits.get(i).unwrap()).collect()
}

/// The items in the order one device must see them to get, at each step, the images the two
/// replicas get together: replica r's batch k is items `r * ITEMS / 2 + k * b ..`.
fn interleaved(items: &[MnistItem]) -> Vec<MnistItem> {
    let half = ITEMS / REPLICAS;
    (0..half / REPLICA_BATCH)
        .flat_map(|k| {
            (0..REPLICAS).flat_map(move |r| {
                let start = r * half + k * REPLICA_BATCH;
                start..start + REPLICA_BATCH
            })
        })
        .map(|i| items[i].clone())
        .collect()
}

/// One epoch through burn's `SupervisedTraining` on `strategy`, unshuffled, at `batch` per
/// loader batch, starting from `start`; returns the trained parameters and the seconds taken.
fn train(
    start: &MultiDilationNet,
    items: Vec<MnistItem>,
    batch: usize,
    strategy: ExecutionStrategy,
    optimizer: ModuleOptimizer,
    learning_rate: f64,
    dir: &Path,
) -> (Vec<f32>, f64) {
    let device = Device::flex();
    let train = DataLoaderBuilder::<_, ClassificationBatch>::new(MnistBatcher)
        .batch_size(batch)
        .set_device(device.clone().autodiff())
        .build(Arc::new(InMemDataset::new(items)));
    let valid = DataLoaderBuilder::<_, ClassificationBatch>::new(MnistBatcher)
        .batch_size(64)
        .set_device(device)
        .build(Arc::new(InMemDataset::new(digits()[..16].to_vec())));
    let began = Instant::now();
    let result = SupervisedTraining::new(dir, train, valid)
        .renderer(Box::new(EpochLines::new()))
        .num_epochs(1)
        .with_training_strategy(strategy.into())
        .launch(Learner::new(start.clone(), optimizer, learning_rate));
    let seconds = began.elapsed().as_secs_f64();
    assert!(result.error.is_none() && result.interrupted.is_none());
    (parameters(&result.model), seconds)
}

/// The largest difference between the two runs' parameters, as a fraction of the largest
/// distance a parameter moved from `start` in the single-device run; and that distance.
fn relative_difference(start: &[f32], single: &[f32], multi: &[f32]) -> (f32, f32) {
    let largest = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    };
    let moved = largest(start, single);
    (largest(single, multi) / moved, moved)
}

/// The optimizers compared.
#[derive(Clone, Copy, Debug)]
enum Optim {
    /// SGD without momentum at 0.05; the multi run at 0.05 / `Plan::gradient_scale`.
    Sgd,
    /// Adam at 1e-3, as `Plan::adam` builds it (the multi run's epsilon doubled).
    Adam,
    /// Adam at 1e-3 with burn's default epsilon on both runs.
    AdamUnscaled,
}

/// Both runs, from the same start, the multi run with the rule of `optim`; returns the
/// relative difference and the distance moved.
fn compare(optim: Optim) -> (f32, f32) {
    let dir = tempfile::tempdir().unwrap();
    let plan = Plan::new(None, &"0,0".parse().unwrap(), REPLICAS * REPLICA_BATCH).unwrap();
    assert_eq!(plan.strategy(), Strategy::Multi);
    assert_eq!(plan.replica_batch_size(), REPLICA_BATCH);
    assert_eq!(plan.steps_per_epoch(ITEMS), Ok(4));
    let single_plan = Plan::single(Device::flex(), plan.batch_size());
    let (learning_rate, multi_rate) = match optim {
        Optim::Sgd => (0.05, 0.05 / plan.gradient_scale()),
        Optim::Adam | Optim::AdamUnscaled => (1e-3, 1e-3),
    };
    let optimizer = |plan: &Plan| match optim {
        Optim::Sgd => SgdConfig::new().init(),
        Optim::Adam => plan.adam().init(),
        Optim::AdamUnscaled => AdamConfig::new().init(),
    };
    let start = model(&Device::flex().autodiff());
    let items = digits();
    let (multi, multi_s) = train(
        &start,
        items.clone(),
        plan.replica_batch_size(),
        plan.execution(),
        optimizer(&plan),
        multi_rate,
        &dir.path().join("multi"),
    );
    let (single, single_s) = train(
        &start,
        interleaved(&items),
        single_plan.replica_batch_size(),
        single_plan.execution(),
        optimizer(&single_plan),
        learning_rate,
        &dir.path().join("single"),
    );
    let (relative, moved) = relative_difference(&parameters(&start), &single, &multi);
    println!(
        "{optim:?}: parameters moved up to {moved:.3e}; multi differs from single by \
         {relative:.3e} of that; {:.0} images/s on one device, {:.0} on two replicas",
        ITEMS as f64 / single_s,
        ITEMS as f64 / multi_s
    );
    (relative, moved)
}

/// The tolerance of both optimizers under the plan's rule: 1e-4 of the largest distance a
/// parameter moved in 4 steps. The runs see the same images and take the same steps in exact
/// arithmetic; what is left is float rounding, because the batch reductions of the gradient
/// run over 16 + 16 images and one addition instead of 32 images in one order. In f32 that
/// moves each step's gradient by about 1e-7 to 1e-6 of itself (measured: 7e-7 of the distance
/// for SGD, 7e-6 for Adam, whose normalisation divides small gradients' rounding by their
/// size): 1e-4 holds with room and is far below what a wrong rule (a doubled step: a
/// difference of the whole distance) or other images per step would give.
const TOLERANCE: f32 = 1e-4;

/// SGD: the summed gradient at half the learning rate is the mean gradient at the whole of it.
/// The model runs the fused Flex kernel, forward and backward, in both replicas' threads.
#[test]
fn multi_on_two_replicas_matches_one_device_with_the_combined_batch() {
    let (relative, moved) = compare(Optim::Sgd);
    assert!(
        moved > 1e-3,
        "training barely moved the parameters: {moved}"
    );
    assert!(
        relative < TOLERANCE,
        "multi and single differ by {relative} of the update"
    );
}

/// Adam at the same learning rate: its step divides the gradient's first moment by the square
/// root of its second plus epsilon, so the sum's factor 2 cancels where epsilon is doubled too.
/// Left at burn's default, epsilon acts half as large on two replicas, and parameters whose
/// gradients are near it (a dead ReLU channel, a rarely lit pixel of the head) step up to a
/// third further: measured 4.3e-2 of the distance moved, which is why `Plan::adam` scales it.
#[test]
fn adam_takes_the_same_steps_at_the_same_learning_rate() {
    let (relative, moved) = compare(Optim::Adam);
    assert!(
        moved > 1e-4,
        "training barely moved the parameters: {moved}"
    );
    assert!(
        relative < TOLERANCE,
        "multi and single differ by {relative} of the update"
    );
    let (unscaled, _) = compare(Optim::AdamUnscaled);
    assert!(
        unscaled > 1e-3 && unscaled < 1e-1,
        "without the epsilon rule: {unscaled}"
    );
}

/// Each request the backend cannot serve is one error naming the option and its value, before
/// any device or data is touched; none of them panics.
#[test]
fn requests_the_backend_cannot_serve_are_one_clear_error_each() {
    let plan = |strategy, devices: &str, batch| {
        let selection: DeviceSelection = devices.parse().unwrap();
        Plan::new(strategy, &selection, batch)
            .map(|plan| plan.replicas())
            .map_err(|err| (err.field.clone(), err.to_string()))
    };
    let fails = |strategy, devices: &str, batch, field: &str, words: &[&str]| {
        let (got, message) = plan(strategy, devices, batch).unwrap_err();
        assert_eq!(got, field, "{message}");
        for word in words {
            assert!(message.contains(word), "{message:?} lacks {word:?}");
        }
    };
    // A strategy the backend cannot run: DDP on Flex, refused before burn's DistributedContext
    // (which would panic) is built.
    fails(
        Some(Strategy::Ddp),
        "2",
        64,
        "strategy",
        &["`strategy` = ddp", "Flex", "CUDA"],
    );
    fails(Some(Strategy::Ddp), "1", 64, "strategy", &["multi"]);
    // More devices than exist: Flex has the host alone.
    fails(
        None,
        "2",
        64,
        "devices",
        &["`devices` = 2", "1 device", "--devices 0,0"],
    );
    fails(None, "0,1", 64, "devices", &["no device 1"]);
    fails(None, "0", 64, "devices", &["at least 1"]);
    // A batch smaller than the device count, or not shared equally.
    fails(
        None,
        "0,0,0",
        2,
        "batch_size",
        &["`batch_size` = 2", "3 devices", "at least 3"],
    );
    fails(None, "0,0", 65, "batch_size", &["use 64 or 66"]);
    fails(
        Some(Strategy::Single),
        "0,0",
        64,
        "devices",
        &["multi or ddp"],
    );
    assert!(
        "two"
            .parse::<DeviceSelection>()
            .unwrap_err()
            .contains("\"two\"")
    );
    // What does run here.
    assert_eq!(plan(None, "1", 1), Ok(1));
    assert_eq!(plan(Some(Strategy::Multi), "0,0", 64), Ok(2));
    assert_eq!(plan(None, "0,0,0,0", 64), Ok(4));
}

/// The line a run prints, and the schedule it sizes, for the MNIST example's 55,000 images.
#[test]
fn the_plan_states_the_batch_and_the_learning_rate_rule() {
    let plan = Plan::new(None, &"0,0".parse().unwrap(), 64).unwrap();
    let steps = plan.steps_per_epoch(55_000).unwrap();
    assert_eq!(steps, 860); // one device: 55,000 / 64 rounded up, the same
    let line = plan.describe(3e-3, 6, steps);
    println!("{line}");
    for part in [
        "strategy multi on Flex devices 0,0",
        "effective batch 64 = 2 replicas x 32",
        "learning rate 0.003 unchanged",
        "6 epochs x 860 steps = 5160",
        "validation on device 0",
    ] {
        assert!(line.contains(part), "{line:?} lacks {part:?}");
    }
    // Under multi a replica may run out a step early (burn then sums fewer gradients); one
    // with no batch at all is an error.
    assert!(plan.steps_per_epoch(1).is_err());
}

/// Throughput of the MNIST example's default model (64 channels of 5x5 at dilations 1, 2, 3)
/// at an effective batch of 64, one epoch of 4,096 synthetic digits: one device against two
/// replicas under `multi`. Here both replicas share the same cores, so no speed-up is
/// expected; this measures what burn's `multi` costs on top. Run with
/// `cargo test --workspace --test distributed -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, about a minute on two cores"]
fn throughput_of_one_device_and_two_replicas() {
    const DIGITS: usize = 4_096;
    let dir = tempfile::tempdir().unwrap();
    let set = SyntheticDigits::new(DIGITS, 5);
    let items: Vec<MnistItem> = (0..DIGITS).map(|i| set.get(i).unwrap()).collect();
    let device = Device::flex().autodiff();
    device.seed(1);
    let start = MultiDilationNetConfig::new().init(&device);
    for devices in ["1", "0,0", "1", "0,0"] {
        let plan = Plan::new(None, &devices.parse().unwrap(), 64).unwrap();
        let (_, seconds) = train(
            &start,
            items.clone(),
            plan.replica_batch_size(),
            plan.execution(),
            plan.adam().init(),
            3e-3,
            &dir.path().join(devices),
        );
        println!(
            "--devices {devices}: {} images/s (training and 16 validation images, {seconds:.1} s)",
            (DIGITS as f64 / seconds).round()
        );
    }
}
