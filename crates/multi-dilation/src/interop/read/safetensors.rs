//! safetensors (PyTorch's `safetensors.torch.save_file`, or NumPy arrays through
//! `safetensors.numpy.save_file`), read by the `safetensors` crate.

use std::collections::BTreeMap;

use ::safetensors::SafeTensors;

use super::stored::{Stored, float_dtype, stored};

/// Every tensor of the safetensors file `bytes`.
pub(in crate::interop) fn read(bytes: &[u8]) -> Result<BTreeMap<String, Stored>, String> {
    let file = SafeTensors::deserialize(bytes).map_err(|err| err.to_string())?;
    let mut tensors = BTreeMap::new();
    for (name, view) in file.iter() {
        let dtype = float_dtype(view.dtype());
        let read = || Ok(view.data().to_vec());
        tensors.insert(
            name.to_string(),
            stored(view.shape().to_vec(), dtype, bytes.len(), read)?,
        );
    }
    Ok(tensors)
}
