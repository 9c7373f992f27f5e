//! The shapes every benchmark times: S1-S4 ([`SHAPES`]) and the shape classes beyond them
//! ([`CLASSES`]), each a [`Shape`] that builds its layer and says its FLOPs and geometry.

use burn::tensor::Device;
use multi_dilation::{ExecutionPath, MultiDilationConv2d, MultiDilationConv2dConfig};

/// The dilations of every benchmark.
pub const DILATIONS: [usize; 3] = [1, 2, 3];

/// A benchmark shape: batch, channels in -> out, square size, square kernel, stride and
/// dilations.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Name used in reports (S1..S4).
    pub name: &'static str,
    /// Batch size.
    pub batch: usize,
    /// Input channels.
    pub input: usize,
    /// Output channels per dilation.
    pub output: usize,
    /// Height and width.
    pub size: usize,
    /// Kernel height and width.
    pub kernel: usize,
    /// Stride on both axes.
    pub stride: usize,
    /// The dilation rates.
    pub dilations: &'static [usize],
}

impl Shape {
    /// A shape with a 3x3 kernel, stride 1 and dilations 1, 2, 3.
    pub(crate) const fn plain(
        name: &'static str,
        batch: usize,
        channels: [usize; 2],
        size: usize,
    ) -> Self {
        Self {
            name,
            batch,
            input: channels[0],
            output: channels[1],
            size,
            kernel: 3,
            stride: 1,
            dilations: &DILATIONS,
        }
    }

    /// The same shape at batch 1: inference on one image.
    ///
    /// # Example
    /// ```
    /// let seg = multi_dilation_benches::CLASSES[2];
    /// assert_eq!((seg.batch, seg.single().batch), (2, 1));
    /// ```
    pub const fn single(&self) -> Self {
        Self { batch: 1, ..*self }
    }

    /// Height and width of the output ('same' padding).
    pub fn output_size(&self) -> usize {
        self.size.div_ceil(self.stride)
    }

    /// Multiply-adds times 2 of the forward pass over all dilations.
    ///
    /// # Example
    /// ```
    /// let s1 = multi_dilation_benches::SHAPES[0];
    /// assert_eq!(s1.forward_flops(), 2.0 * (32 * 4 * 10 * 10 * 9 * 3) as f64);
    /// ```
    pub fn forward_flops(&self) -> f64 {
        let outputs = self.batch * self.output * self.output_size().pow(2);
        let taps = self.input * self.kernel * self.kernel * self.dilations.len();
        2.0 * (outputs * taps) as f64
    }

    /// What the PyTorch side needs to build the same layer, as JSON.
    ///
    /// # Example
    /// ```
    /// let s3 = multi_dilation_benches::SHAPES[2];
    /// assert_eq!(s3.geometry()["dilations"], serde_json::json!([1, 2, 3]));
    /// ```
    pub fn geometry(&self) -> serde_json::Value {
        serde_json::json!({
            "batch": self.batch,
            "input": self.input,
            "output": self.output,
            "size": self.size,
            "kernel": self.kernel,
            "stride": self.stride,
            "dilations": self.dilations,
        })
    }

    /// The layer of this shape, computed by `path`.
    pub fn layer(&self, path: ExecutionPath, device: &Device) -> MultiDilationConv2d {
        MultiDilationConv2dConfig::new([self.input, self.output], [self.kernel, self.kernel])
            .with_dilations(self.dilations.to_vec())
            .with_stride([self.stride, self.stride])
            .with_path(path)
            .init(device)
    }
}

/// S1 to S4, the shapes every benchmark and `compare.sh` time (see `docs/performance.md`).
pub const SHAPES: [Shape; 4] = [
    Shape::plain("S1", 32, [1, 4], 10),
    Shape::plain("S2", 64, [1, 32], 28),
    Shape::plain("S3", 32, [32, 32], 28),
    Shape::plain("S4", 8, [64, 64], 56),
];

/// Shape classes beyond S1-S4 that users run (`compare.sh`'s third table): wide channels,
/// batch-1 inference, a segmentation head (KSAC's and DeepLab's rates), large dilations against
/// the map (most taps in the padding), 5x5 and 7x7 kernels, stride 2 on RGB input, many thin
/// branches. Each is also timed as inference at batch 1 ([`Shape::single`]).
pub const CLASSES: [Shape; 8] = [
    // Wide: 256 -> 256 channels on a 28x28 map.
    Shape::plain("W256", 4, [256, 256], 28),
    // Batch-1 inference, 512 -> 512 at 14x14.
    Shape::plain("B1x512", 1, [512, 512], 14),
    // A segmentation head: 512 -> 256 at 33x33 with DeepLab's atrous rates 6, 12, 18.
    Shape {
        dilations: &[6, 12, 18],
        ..Shape::plain("SEG", 2, [512, 256], 33)
    },
    // Dilations near the map's size: at 4 and 8 on an 8x8 map most taps fall in the padding.
    Shape {
        dilations: &[1, 4, 8],
        ..Shape::plain("PAD", 16, [64, 64], 8)
    },
    // A 5x5 kernel.
    Shape {
        kernel: 5,
        ..Shape::plain("K5", 8, [32, 32], 32)
    },
    // A 7x7 kernel at stride 2 on RGB input.
    Shape {
        kernel: 7,
        stride: 2,
        ..Shape::plain("K7S2", 8, [3, 32], 64)
    },
    // A 7x7 kernel at stride 1 and two dilations: a mid-width layer on large maps.
    Shape {
        kernel: 7,
        dilations: &[1, 2],
        ..Shape::plain("K7", 2, [64, 64], 56)
    },
    // Four thin branches (64 -> 16 channels each) at dilations up to 7.
    Shape {
        dilations: &[1, 3, 5, 7],
        ..Shape::plain("THIN4", 8, [64, 16], 56)
    },
];
