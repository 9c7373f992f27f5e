//! PyTorch: import from a state dict (`.pt`/`.pth` or safetensors), export to safetensors.
//!
//! A PyTorch module that holds one conv weight and uses it at several dilations stores it as
//! `<prefix>.weight` `[out, in/groups, kh, kw]` (our layout) and `<prefix>.bias`. A classifier
//! stores its linear head as `[classes, features]`, transposed here to burn's
//! `[features, classes]`; PyTorch flattens `[batch, channels, height, width]` as this crate
//! does, so the rows need no reordering.

use std::path::Path;

use burn::store::{BurnToPyTorchAdapter, ModuleSnapshot, SafetensorsStore};
use burn::tensor::Device;

use super::layout::transpose_linear;
use super::{InteropError, WeightFile, assemble};
use crate::config::LayerConfig;
use crate::conv::MultiDilationConv;
use crate::net::{MultiDilationNet, MultiDilationNetConfig};

/// `prefix.leaf`, or `leaf` for an empty prefix.
fn key(prefix: &str, leaf: &str) -> String {
    if prefix.is_empty() {
        leaf.to_string()
    } else {
        format!("{prefix}.{leaf}")
    }
}

/// Where the classifier's tensors are in a PyTorch state dict: `<conv>.weight`,
/// `<conv>.bias`, `<head>.weight`, `<head>.bias`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PytorchNetNames {
    /// Prefix of the shared conv's weight and bias (default `conv`).
    pub conv: String,
    /// Prefix of the `nn.Linear` head (default `head`).
    pub head: String,
}

impl Default for PytorchNetNames {
    fn default() -> Self {
        Self {
            conv: "conv".into(),
            head: "head".into(),
        }
    }
}

/// The layer of `config` (any rank: a [`MultiDilationConv2dConfig`](crate::MultiDilationConv2dConfig), or the 1-D or 3-D config
/// for `nn.Conv1d`/`nn.Conv3d` weights) holding the kernel `<prefix>.weight` and, if
/// `config.bias`, the bias `<prefix>.bias` of a PyTorch state dict (`prefix` may be empty).
///
/// # Errors
/// [`InteropError`] naming the tensor for a missing tensor, a non-float dtype, a shape other
/// than `[out, in / groups, ..kernel]`, or a bias the configuration does not have.
///
/// # Example
/// ```no_run
/// use burn::tensor::Device;
/// use multi_dilation::MultiDilationConv2dConfig;
/// use multi_dilation::interop::{WeightFile, pytorch};
///
/// let file = WeightFile::open("shared_conv.pt")?;
/// let config = MultiDilationConv2dConfig::new([1, 32], [3, 3]);
/// let layer = pytorch::load_conv(&config, &file, "conv", &Device::default())?;
/// # Ok::<(), multi_dilation::interop::InteropError>(())
/// ```
pub fn load_conv<const D: usize>(
    config: &impl LayerConfig<D>,
    file: &WeightFile,
    prefix: &str,
    device: &Device,
) -> Result<MultiDilationConv<D>, InteropError> {
    config.check()?;
    let weight = file.tensor(
        &key(prefix, "weight"),
        config.kernel_shape(),
        "PyTorch conv layout [out, in / groups, ..kernel]",
        device,
    )?;
    let bias = assemble::conv_bias(file, &key(prefix, "bias"), config, device)?;
    assemble::conv(config, weight, bias, device)
}

/// A [`MultiDilationNet`] of `config` holding a PyTorch classifier's shared conv and linear
/// head (see [`PytorchNetNames`]).
///
/// # Errors
/// As [`load_conv`], and for a head whose shape is not `[num_classes, head_features]`.
///
/// # Example
/// ```no_run
/// use burn::tensor::Device;
/// use multi_dilation::MultiDilationNetConfig;
/// use multi_dilation::interop::{WeightFile, pytorch};
///
/// let file = WeightFile::open("classifier.safetensors")?;
/// let names = pytorch::PytorchNetNames::default();
/// let net = pytorch::load_net(&MultiDilationNetConfig::new(), &file, &names, &Device::default())?;
/// # Ok::<(), multi_dilation::interop::InteropError>(())
/// ```
pub fn load_net(
    config: &MultiDilationNetConfig,
    file: &WeightFile,
    names: &PytorchNetNames,
    device: &Device,
) -> Result<MultiDilationNet, InteropError> {
    config.validate()?;
    let conv = load_conv(&config.conv, file, &names.conv, device)?;
    let weight = file.tensor(
        &key(&names.head, "weight"),
        [config.num_classes, config.head_features()],
        "PyTorch Linear layout [classes, features]",
        device,
    )?;
    let bias = file.tensor(
        &key(&names.head, "bias"),
        [config.num_classes],
        "[classes]",
        device,
    )?;
    assemble::net(config, conv, transpose_linear(weight), bias, device)
}

/// Writes `module`'s parameters to a safetensors file at `path` in PyTorch's layout (linear
/// weights transposed to `[out, in]`), named by their paths in the module: `weight` and
/// `bias` for a [`MultiDilationConv2d`](crate::MultiDilationConv2d); `conv.weight`, `conv.bias`, `head.weight` and
/// `head.bias` for a [`MultiDilationNet`]. `torch.load_state_dict` takes them as they are;
/// the write is atomic and replaces an existing file.
///
/// # Errors
/// [`InteropError::Write`] if the file cannot be written.
///
/// # Example
/// ```
/// use burn::tensor::Device;
/// use multi_dilation::MultiDilationNetConfig;
/// use multi_dilation::interop::{WeightFile, pytorch};
///
/// let device = Device::default();
/// let net = MultiDilationNetConfig::new().init(&device);
/// let path = std::env::temp_dir().join("multi-dilation-doc-export.safetensors");
/// pytorch::save(&net, &path)?;
/// let file = WeightFile::open(&path)?;
/// assert_eq!(file.shape("head.weight"), Some(&[10, 192 * 7 * 7][..]));
/// # Ok::<(), multi_dilation::interop::InteropError>(())
/// ```
pub fn save<M: ModuleSnapshot>(module: &M, path: impl AsRef<Path>) -> Result<(), InteropError> {
    let path = path.as_ref();
    let mut store = SafetensorsStore::from_file(path)
        .with_to_adapter(BurnToPyTorchAdapter)
        .overwrite(true);
    module
        .save_into(&mut store)
        .map_err(|err| InteropError::Write {
            path: path.to_path_buf(),
            message: err.to_string(),
        })
}
