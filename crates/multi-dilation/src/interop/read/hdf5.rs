//! HDF5 (Keras 3's `.weights.h5`): every dataset read with a pure-Rust reader, floats of any
//! width converted to `f32`.

use std::collections::BTreeMap;

use burn::tensor::f16;
use hdf5_reader::{ByteOrder, Datatype, H5Type, Hdf5File};

use super::stored::{MAX_EXPANSION, Stored, claimed_elements};

/// The most groups one file may lead the reader through; a Keras weights file has a few
/// dozen.
const MAX_GROUPS: usize = 100_000;

/// Every dataset of the HDF5 file `bytes`, by path without the leading slash: floats of 2, 4
/// or 8 bytes as `f32`, other types by name.
pub(in crate::interop) fn read(bytes: Vec<u8>) -> Result<BTreeMap<String, Stored>, String> {
    let file_len = bytes.len();
    let file = Hdf5File::from_vec(bytes).map_err(|err| err.to_string())?;
    let mut tensors = BTreeMap::new();
    // Groups still to read, with the addresses of their ancestors: HDF5 links may point back
    // up the tree (a cycle), or many times at one group (a graph whose paths multiply).
    let root = file.root_group().map_err(|e| e.to_string())?;
    let mut pending = vec![(String::new(), vec![root.address()], root)];
    let mut visited = 0usize;
    let mut read_bytes = 0usize;
    while let Some((prefix, ancestors, group)) = pending.pop() {
        visited += 1;
        if visited > MAX_GROUPS {
            return Err(format!(
                "more than {MAX_GROUPS} groups along the file's links (links that reach the \
                 same groups many times)"
            ));
        }
        let (groups, datasets) = group.members().map_err(|err| err.to_string())?;
        for dataset in datasets {
            let name = format!("{prefix}{}", dataset.name());
            let shape: Vec<usize> = dataset
                .shape()
                .iter()
                .map(|&d| usize::try_from(d).unwrap_or(usize::MAX))
                .collect();
            // The reader allocates the whole dataset (fill values for chunks never written),
            // so its claimed size is checked against the file first: each dataset alone, and
            // all of them together (links can reach one dataset under many names).
            if let Datatype::FloatingPoint { size, .. } = dataset.dtype() {
                let size = usize::from(*size);
                let elements = claimed_elements(&shape, size, file_len)
                    .map_err(|err| format!("{name}: {err}"))?;
                read_bytes = read_bytes.saturating_add(elements * size);
                if read_bytes > file_len.saturating_mul(MAX_EXPANSION) {
                    return Err(format!(
                        "{name}: the datasets read so far hold more than the file can"
                    ));
                }
            }
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
            let path = format!("{prefix}{}", child.name());
            if ancestors.contains(&child.address()) {
                return Err(format!(
                    "{path}: the group links back to itself or to a group above it"
                ));
            }
            let mut chain = ancestors.clone();
            chain.push(child.address());
            pending.push((format!("{path}/"), chain, child));
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
