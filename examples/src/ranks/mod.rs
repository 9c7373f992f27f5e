//! The 1-D and 3-D scale examples (`signal_scales`, `volume_scales`): a synthetic task whose
//! class is a shape, drawn at random sizes; models trained on a narrow band of sizes and tested
//! at larger ones, as the 2-D scale study does with digits.
//!
//! Two models of equal parameters share one skeleton ([`ScaleNet`]): convolutions with ReLU,
//! a global max over positions, a linear head. The shared model runs the stack three times,
//! every convolution at dilation 1, then 2, then 3, with the same kernels (TridentNet's
//! construction; a signal stretched by an integer factor `d` gives the stack at dilation `d`
//! what the original gives it at dilation 1), and keeps the largest pooled response of the
//! three; the plain model runs it once at dilation 1. The budget is the same for both; the
//! checkpoint with the best validation accuracy (sizes of the training band) is tested.

pub mod cli;
pub mod signals;
pub mod task;
pub mod volumes;

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use multi_dilation::MultiDilationConv;

pub use task::{Outcome, Sample, Task, compare, table};

/// The dilations of the shared model's convolutions.
pub const SHARED_DILATIONS: [usize; 3] = [1, 2, 3];

/// Convolutions (each followed by ReLU), a global max over every position, a linear head.
/// `D` is the rank of the input: 3 for signals `[batch, channels, length]`, 5 for volumes.
#[derive(Module, Debug)]
pub struct ScaleNet<const D: usize> {
    convs: Vec<MultiDilationConv<D>>,
    head: Linear,
}

impl<const D: usize> ScaleNet<D> {
    /// The network from its convolutions (in order) and a head to `classes` outputs.
    ///
    /// # Panics
    /// If `convs` is empty.
    ///
    /// # Example
    /// ```
    /// use burn::tensor::{Device, Tensor};
    /// use multi_dilation::MultiDilationConv1dConfig;
    /// use multi_dilation_examples::ranks::ScaleNet;
    ///
    /// let device = Device::default();
    /// let convs = vec![MultiDilationConv1dConfig::new([1, 4], 5)
    ///     .with_dilations(vec![1, 2])
    ///     .init(&device)];
    /// let net = ScaleNet::new(convs, 3, &device);
    /// assert_eq!(net.forward(Tensor::<3>::zeros([2, 1, 32], &device)).dims(), [2, 3]);
    /// ```
    pub fn new(convs: Vec<MultiDilationConv<D>>, classes: usize, device: &Device) -> Self {
        let last = convs.last().expect("at least one convolution");
        let channels = last.branch_channels();
        Self {
            convs,
            head: LinearConfig::new(channels, classes).init(device),
        }
    }

    /// Class scores `[batch, classes]` of `x` (`[batch, channels, ..positions]`). The whole
    /// stack runs once per dilation of the convolutions, branch `i` at the `i`-th dilation of
    /// every layer with the layers' one kernel each (the layer's branch-parallel form); each
    /// branch is max-pooled over every position, and the head sees the largest response over
    /// branches. With one dilation this is the plain network.
    pub fn forward(&self, x: Tensor<D>) -> Tensor<2> {
        let branches = self.convs[0].dilations().len();
        let batch = x.dims()[0];
        let mut x = Tensor::cat(vec![x; branches], 0);
        for conv in &self.convs {
            x = relu(conv.forward_parallel_stacked(x));
        }
        let channels = x.dims()[1];
        let pooled = x
            .flatten::<3>(2, D - 1)
            .max_dim(2)
            .reshape([branches, batch, channels]);
        self.head
            .forward(pooled.max_dim(0).reshape([batch, channels]))
    }
}

/// Builds one convolution of a [`ScaleNet`]: `[in, out]` channels at `dilations`, on a device.
pub type LayerBuilder<'a, const D: usize> =
    &'a dyn Fn([usize; 2], &[usize], &Device) -> MultiDilationConv<D>;

/// The shared model (every convolution at [`SHARED_DILATIONS`], branches kept) and the plain
/// model (dilation 1) on the channels `channels` (`[input, first, second, ...]`), trained with
/// every seed of `seeds` on `task`: the outcomes, shared model first at each seed.
///
/// # Panics
/// If `channels` has fewer than two entries, or as [`task::fit`] does.
pub fn compare_shared_and_plain<const D: usize>(
    task: &Task,
    channels: &[usize],
    layer: LayerBuilder<'_, D>,
    seeds: &[u64],
    budget: crate::study::fit::Budget,
    device: &Device,
) -> Vec<Outcome> {
    assert!(
        channels.len() >= 2,
        "channels: the input and at least one layer"
    );
    let net = |dilations: &[usize], device: &Device| {
        let convs = channels
            .windows(2)
            .map(|pair| layer([pair[0], pair[1]], dilations, device))
            .collect();
        ScaleNet::new(convs, task.classes, device)
    };
    let shared = |device: &Device| net(&SHARED_DILATIONS, device);
    let plain = |device: &Device| net(&[1], device);
    compare(
        task,
        &[
            ("shared kernel, dilations 1, 2, 3", &shared),
            ("plain (dilation 1)", &plain),
        ],
        seeds,
        budget,
        device,
    )
}
