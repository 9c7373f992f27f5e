//! Modules built from imported tensors, after the checks every import shares.

use burn::module::Param;
use burn::tensor::{Device, Tensor};

use super::{InteropError, WeightFile};
use crate::config::LayerConfig;
use crate::conv::MultiDilationConv;
use crate::net::{MultiDilationNet, MultiDilationNetConfig};
use crate::ranks::MultiDilationConv2d;

/// The bias named `name` in `file` when `config` has one; an error when the file holds a bias
/// the config does not.
pub(crate) fn conv_bias<const D: usize>(
    file: &WeightFile,
    name: &str,
    config: &impl LayerConfig<D>,
    device: &Device,
) -> Result<Option<Tensor<1>>, InteropError> {
    match (config.has_bias(), file.contains(name)) {
        (true, _) => Ok(Some(file.tensor(
            name,
            [config.kernel_shape()[0]],
            "[out]",
            device,
        )?)),
        (false, true) => Err(InteropError::Bias {
            path: file.path().to_path_buf(),
            message: format!(
                "the file holds the bias '{name}' but the configuration has bias = false; \
                 set bias to true to import it"
            ),
        }),
        (false, false) => Ok(None),
    }
}

/// The layer `config` describes, holding `weight` and `bias`.
pub(crate) fn conv<const D: usize>(
    config: &impl LayerConfig<D>,
    weight: Tensor<D>,
    bias: Option<Tensor<1>>,
    device: &Device,
) -> Result<MultiDilationConv<D>, InteropError> {
    let mut layer = config.build(device)?;
    layer.weight = Param::from_tensor(weight);
    layer.bias = bias.map(Param::from_tensor);
    Ok(layer)
}

/// A net of `config` holding `conv` and a head of `weight` (`[in, out]`, rows in our
/// channels-first order) and `bias`.
pub(crate) fn net(
    config: &MultiDilationNetConfig,
    conv: MultiDilationConv2d,
    weight: Tensor<2>,
    bias: Tensor<1>,
    device: &Device,
) -> Result<MultiDilationNet, InteropError> {
    let mut net = config.try_init(device)?;
    net.conv = conv;
    net.head.weight = Param::from_tensor(weight);
    net.head.bias = Some(Param::from_tensor(bias));
    Ok(net)
}
