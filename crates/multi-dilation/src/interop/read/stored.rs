//! What every reader produces and checks: [`Stored`] tensors, the bound on the size a header
//! may claim ([`claimed_elements`]), and the one table of float dtypes ([`float_dtype`]).

use std::fmt::Debug;

use burn::tensor::{DType, TensorData};

/// One stored tensor: its shape, and its values as `f32`, or the name of a non-float dtype.
#[derive(Debug, Clone)]
pub(in crate::interop) struct Stored {
    pub(in crate::interop) shape: Vec<usize>,
    pub(in crate::interop) values: Result<Vec<f32>, String>,
}

/// The most bytes of tensor data one byte of a weight file can stand for: deflate's largest
/// expansion (RFC 1951: 258 bytes per two bits), the densest encoding these formats allow
/// (zip entries and HDF5 chunks may be deflated).
pub(super) const MAX_EXPANSION: usize = 1032;

/// The number of elements of a tensor of `shape` with `element_bytes` bytes each, or why a
/// file of `file_len` bytes cannot hold it. Checked before the tensor's bytes are read, so a
/// header that claims terabytes is an error instead of an allocation.
pub(super) fn claimed_elements(
    shape: &[usize],
    element_bytes: usize,
    file_len: usize,
) -> Result<usize, String> {
    let elements = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    let bytes = elements.and_then(|n| n.checked_mul(element_bytes));
    match (elements, bytes) {
        (Some(elements), Some(bytes)) if bytes <= file_len.saturating_mul(MAX_EXPANSION) => {
            Ok(elements)
        }
        _ => Err(format!(
            "a tensor of shape {shape:?} with {element_bytes}-byte elements is larger than a \
             file of {file_len} bytes can hold"
        )),
    }
}

/// The float dtypes read as `f32`, by the name their variant has in both PyTorch's
/// (burn-store) and safetensors' dtype enums.
const FLOATS: [(&str, DType); 4] = [
    ("F64", DType::F64),
    ("F32", DType::F32),
    ("F16", DType::F16),
    ("BF16", DType::BF16),
];

/// The float dtype of a file's dtype `dtype` (named by its `Debug` form, see [`FLOATS`]), or
/// that name for any other dtype, which is kept unread.
pub(super) fn float_dtype(dtype: impl Debug) -> Result<DType, String> {
    let name = format!("{dtype:?}");
    FLOATS
        .iter()
        .find(|(float, _)| *float == name)
        .map(|&(_, dtype)| dtype)
        .ok_or(name)
}

/// A tensor of `shape` stored as `dtype`: a float dtype's bytes (little-endian, row-major,
/// produced by `read`) converted to `f32`, or the name of a non-float dtype, kept unread.
/// `file_len` bounds the size the shape may claim ([`claimed_elements`]).
pub(super) fn stored(
    shape: Vec<usize>,
    dtype: Result<DType, String>,
    file_len: usize,
    read: impl FnOnce() -> Result<Vec<u8>, String>,
) -> Result<Stored, String> {
    let values = match dtype {
        Ok(dtype) => {
            let count = claimed_elements(&shape, dtype.size(), file_len)?;
            Ok(TensorData::try_from_bytes_vec(read()?, [count], dtype)
                .and_then(|data| data.try_into_vec_as::<f32>())
                .map_err(|err| err.to_string())?)
        }
        Err(name) => Err(name),
    };
    Ok(Stored { shape, values })
}

#[cfg(test)]
mod tests {
    use burn::store::pytorch_reader::DType as Pt;
    use burn::tensor::DType;
    use safetensors::Dtype as St;

    use super::float_dtype;

    /// Both readers' dtype enums name their floats as the table does, and other dtypes keep
    /// their names (which `InteropError::DType` shows).
    #[test]
    fn both_formats_share_the_float_table() {
        let floats = [DType::F64, DType::F32, DType::F16, DType::BF16];
        let pytorch = [Pt::F64, Pt::F32, Pt::F16, Pt::BF16];
        let safetensors = [St::F64, St::F32, St::F16, St::BF16];
        for ((float, pt), st) in floats.into_iter().zip(pytorch).zip(safetensors) {
            assert_eq!(float_dtype(pt), Ok(float));
            assert_eq!(float_dtype(st), Ok(float));
        }
        assert_eq!(float_dtype(Pt::I64), Err("I64".to_string()));
        assert_eq!(float_dtype(Pt::Bool), Err("Bool".to_string()));
        assert_eq!(float_dtype(St::I32), Err("I32".to_string()));
        assert_eq!(float_dtype(St::BOOL), Err("BOOL".to_string()));
    }
}
