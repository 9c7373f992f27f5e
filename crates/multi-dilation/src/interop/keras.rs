//! Keras 3: import from `.weights.h5` (read directly, no Python needed) or from the arrays
//! exported to safetensors.
//!
//! Keras keeps a `Conv2D` kernel as `[kh, kw, in/groups, out]` and works channels-last, so a
//! `Dense` layer after `Flatten` sees features in `(y, x, channel)` order; both are mapped to
//! this crate's layout by [`layout`](super::layout).

use burn::tensor::{Device, Tensor};

use super::layout::{
    channels_last_rows_to_first, kernel_to_channels_first, kernel_to_channels_last_shape,
};
use super::{InteropError, WeightFile, assemble};
use crate::config::LayerConfig;
use crate::conv::MultiDilationConv;
use crate::net::{MultiDilationNet, MultiDilationNetConfig};

/// The names of one Keras layer's kernel and bias in a weight file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KerasLayerNames {
    /// The kernel.
    pub kernel: String,
    /// The bias (read only when the configuration has one).
    pub bias: String,
}

impl KerasLayerNames {
    /// In a `.weights.h5` written by Keras 3's `save_weights`: `layers/<layer>/vars/0` and
    /// `vars/1`. There `<layer>` is the name Keras derives from the class in snake case, made
    /// unique by a suffix (`conv2d`, `conv2d_1`, `dense`), not the name given to the layer;
    /// [`WeightFile::names`] lists them.
    pub fn h5(layer: &str) -> Self {
        Self {
            kernel: format!("layers/{layer}/vars/0"),
            bias: format!("layers/{layer}/vars/1"),
        }
    }

    /// In a safetensors file keyed by Keras variable paths, `<layer>/kernel` and
    /// `<layer>/bias`, as written by
    /// `safetensors.numpy.save_file({v.path: keras.ops.convert_to_numpy(v) for v in model.weights}, path)`.
    pub fn variables(layer: &str) -> Self {
        Self {
            kernel: format!("{layer}/kernel"),
            bias: format!("{layer}/bias"),
        }
    }
}

/// Where a Keras classifier's tensors are: the shared conv, and the `Dense` head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KerasNetNames {
    /// The layers holding the shared kernel: one (a custom layer applying it at every
    /// dilation), or several `Conv2D` layers holding copies of it, as in the Keras model of
    /// the Keras use case of one Conv2D copy per dilation rate; copies must be equal.
    pub convs: Vec<KerasLayerNames>,
    /// The `Dense` head, which follows `Flatten` of the channels-last pooled map.
    pub dense: KerasLayerNames,
}

/// The kernel (as ours) and bias shared by `layers`, checked to be copies of one another.
fn shared_kernel<const D: usize>(
    config: &impl LayerConfig<D>,
    file: &WeightFile,
    layers: &[KerasLayerNames],
    device: &Device,
) -> Result<(Tensor<D>, Option<Tensor<1>>), InteropError> {
    let keras_shape = kernel_to_channels_last_shape(config.kernel_shape());
    let out = keras_shape[D - 1];
    let Some(first) = layers.first() else {
        return Err(InteropError::Missing {
            path: file.path().to_path_buf(),
            name: "(no conv layer named)".into(),
            available: file.names().collect::<Vec<_>>().join(", "),
        });
    };
    let layout = "Keras Conv layout [..kernel, in / groups, out]";
    let kernel = file.tensor(&first.kernel, keras_shape, layout, device)?;
    let bias = assemble::conv_bias(file, &first.bias, config, device)?;
    for other in &layers[1..] {
        let copy = file.tensor(&other.kernel, keras_shape, layout, device)?;
        let mut pairs = vec![(
            &first.kernel,
            &other.kernel,
            kernel.clone().sub(copy).abs().max(),
        )];
        if let Some(bias) = &bias {
            let copy = file.tensor(&other.bias, [out], "[out]", device)?;
            pairs.push((&first.bias, &other.bias, bias.clone().sub(copy).abs().max()));
        }
        for (first, other, difference) in pairs {
            let max_difference = difference.into_scalar::<f32>();
            if max_difference != 0.0 {
                return Err(InteropError::NotShared {
                    path: file.path().to_path_buf(),
                    first: first.clone(),
                    other: other.clone(),
                    max_difference,
                });
            }
        }
    }
    Ok((kernel_to_channels_first(kernel), bias))
}

/// The layer of `config` (any rank: a [`MultiDilationConv2dConfig`](crate::MultiDilationConv2dConfig) for `Conv2D` kernels, or
/// the 1-D or 3-D config for `Conv1D`/`Conv3D`) holding the kernel and bias of the Keras
/// layer(s) `layers` (one, or several holding copies of one kernel).
///
/// # Errors
/// [`InteropError`] naming the tensor for a missing tensor, a non-float dtype, a kernel shape
/// other than `[..kernel, in / groups, out]`, copies that differ, or a bias the configuration
/// does not have.
///
/// # Example
/// ```no_run
/// use burn::tensor::Device;
/// use multi_dilation::MultiDilationConv2dConfig;
/// use multi_dilation::interop::keras::{self, KerasLayerNames};
/// use multi_dilation::interop::WeightFile;
///
/// let file = WeightFile::open("model.weights.h5")?;
/// let config = MultiDilationConv2dConfig::new([1, 32], [3, 3]);
/// let names = [KerasLayerNames::h5("shared_dilated_conv2d")];
/// let layer = keras::load_conv(&config, &file, &names, &Device::default())?;
/// # Ok::<(), multi_dilation::interop::InteropError>(())
/// ```
pub fn load_conv<const D: usize>(
    config: &impl LayerConfig<D>,
    file: &WeightFile,
    layers: &[KerasLayerNames],
    device: &Device,
) -> Result<MultiDilationConv<D>, InteropError> {
    config.check()?;
    let (weight, bias) = shared_kernel(config, file, layers, device)?;
    assemble::conv(config, weight, bias, device)
}

/// A [`MultiDilationNet`] of `config` holding a Keras classifier's shared kernel and `Dense`
/// head. The rows of the head are reordered from Keras's channels-last flatten to this
/// crate's channels-first one, so the logits match.
///
/// # Errors
/// As [`load_conv`], and for a head whose kernel is not `[head_features, num_classes]`.
///
/// # Example
/// ```no_run
/// use burn::tensor::Device;
/// use multi_dilation::MultiDilationNetConfig;
/// use multi_dilation::interop::keras::{self, KerasLayerNames, KerasNetNames};
/// use multi_dilation::interop::WeightFile;
///
/// let file = WeightFile::open("model.weights.h5")?;
/// let names = KerasNetNames {
///     convs: vec![KerasLayerNames::h5("conv2d"), KerasLayerNames::h5("conv2d_1")],
///     dense: KerasLayerNames::h5("dense"),
/// };
/// let net = keras::load_net(&MultiDilationNetConfig::new(), &file, &names, &Device::default())?;
/// # Ok::<(), multi_dilation::interop::InteropError>(())
/// ```
pub fn load_net(
    config: &MultiDilationNetConfig,
    file: &WeightFile,
    names: &KerasNetNames,
    device: &Device,
) -> Result<MultiDilationNet, InteropError> {
    config.validate()?;
    let (weight, bias) = shared_kernel(&config.conv, file, &names.convs, device)?;
    let conv = assemble::conv(&config.conv, weight, bias, device)?;
    let map = config.head_input_shape();
    let dense = file.tensor(
        &names.dense.kernel,
        [config.head_features(), config.num_classes],
        "Keras Dense layout [features in (y, x, channel) order, classes]",
        device,
    )?;
    let bias = file.tensor(&names.dense.bias, [config.num_classes], "[classes]", device)?;
    assemble::net(
        config,
        conv,
        channels_last_rows_to_first(dense, map),
        bias,
        device,
    )
}
