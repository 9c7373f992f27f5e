//! HDF5 (Keras 3's `.weights.h5`): every dataset read with a pure-Rust reader, floats of any
//! width converted to `f32`.

use std::collections::BTreeMap;

use burn::tensor::f16;
use hdf5_reader::{ByteOrder, Datatype, H5Type, Hdf5File};

use super::file::Stored;

/// Every dataset of the HDF5 file `bytes`, by path without the leading slash: floats of 2, 4
/// or 8 bytes as `f32`, other types by name.
pub(super) fn read(bytes: Vec<u8>) -> Result<BTreeMap<String, Stored>, String> {
    let file = Hdf5File::from_vec(bytes).map_err(|err| err.to_string())?;
    let mut tensors = BTreeMap::new();
    let mut pending = vec![(String::new(), file.root_group().map_err(|e| e.to_string())?)];
    while let Some((prefix, group)) = pending.pop() {
        let (groups, datasets) = group.members().map_err(|err| err.to_string())?;
        for dataset in datasets {
            let name = format!("{prefix}{}", dataset.name());
            let shape = dataset.shape().iter().map(|&d| d as usize).collect();
            let values = match dataset.dtype() {
                Datatype::FloatingPoint { size: 2, .. } => {
                    Ok(floats(&dataset, &name, |h: Half| h.0)?)
                }
                Datatype::FloatingPoint { size: 4, .. } => Ok(floats(&dataset, &name, |v: f32| v)?),
                Datatype::FloatingPoint { size: 8, .. } => {
                    Ok(floats(&dataset, &name, |v: f64| v as f32)?)
                }
                other => Err(format!("{other:?}")),
            };
            tensors.insert(name, Stored { shape, values });
        }
        for child in groups {
            pending.push((format!("{prefix}{}/", child.name()), child));
        }
    }
    Ok(tensors)
}

/// The values of `dataset` (named `name` in errors) read as `T`, each widened by `to_f32`.
fn floats<T: H5Type + Copy>(
    dataset: &hdf5_reader::Dataset,
    name: &str,
    to_f32: impl Fn(T) -> f32,
) -> Result<Vec<f32>, String> {
    let array = dataset
        .read_array::<T>()
        .map_err(|err| format!("{name}: {err}"))?;
    Ok(array.iter().map(|&v| to_f32(v)).collect())
}

/// An IEEE half-precision value, widened to `f32` as it is read (the reader has no `f16`).
#[derive(Debug, Clone, Copy)]
struct Half(f32);

impl H5Type for Half {
    fn hdf5_type() -> Datatype {
        Datatype::FloatingPoint {
            size: 2,
            byte_order: ByteOrder::LittleEndian,
        }
    }

    fn from_bytes(bytes: &[u8], dtype: &Datatype) -> hdf5_reader::error::Result<Self> {
        let Datatype::FloatingPoint {
            size: 2,
            byte_order,
        } = dtype
        else {
            return Err(hdf5_reader::error::Error::TypeMismatch {
                expected: "f16".into(),
                actual: format!("{dtype:?}"),
            });
        };
        let pair: [u8; 2] = bytes
            .get(..2)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                hdf5_reader::error::Error::InvalidData(format!(
                    "expected 2 bytes, got {}",
                    bytes.len()
                ))
            })?;
        let bits = match byte_order {
            ByteOrder::BigEndian => u16::from_be_bytes(pair),
            ByteOrder::LittleEndian => u16::from_le_bytes(pair),
        };
        Ok(Half(f16::from_bits(bits).to_f32()))
    }

    fn element_size(_dtype: &Datatype) -> usize {
        2
    }
}
