//! Modules built from imported tensors, after the checks every import shares.

use burn::module::Param;
use burn::tensor::{Device, Tensor};

use super::{InteropError, WeightFile};
use crate::config::MultiDilationConv2dConfig;
use crate::net::{MultiDilationNet, MultiDilationNetConfig};
use crate::ranks::MultiDilationConv2d;

/// The kernel shape `[out, in / groups, kh, kw]` that `config` implies.
pub(crate) fn oihw_shape(config: &MultiDilationConv2dConfig) -> [usize; 4] {
    let [input, out] = config.channels;
    let [kh, kw] = config.kernel_size;
    [out, input / config.groups.max(1), kh, kw]
}

/// The bias `name` if `config` has one; an error if the file and the configuration disagree
/// on whether there is a bias.
pub(crate) fn conv_bias(
    file: &WeightFile,
    name: &str,
    config: &MultiDilationConv2dConfig,
    device: &Device,
) -> Result<Option<Tensor<1>>, InteropError> {
    match (config.bias, file.contains(name)) {
        (true, _) => Ok(Some(file.tensor(
            name,
            [config.channels[1]],
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

/// A layer of `config` holding `weight` (our layout) and `bias`.
pub(crate) fn conv(
    config: &MultiDilationConv2dConfig,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    device: &Device,
) -> Result<MultiDilationConv2d, InteropError> {
    let mut layer = config.try_init(device)?;
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
