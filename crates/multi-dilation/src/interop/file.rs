//! [`WeightFile`]: the named tensors of a PyTorch, safetensors or HDF5 (Keras) file, read into
//! memory as `f32` by the reader of its [`WeightFormat`] (in [`read`]).

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor, TensorData};

use super::error::InteropError;
use super::read::{self, Stored};

/// The container formats [`WeightFile::open`] reads, recognized from the first bytes (never
/// from the file name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightFormat {
    /// `torch.save` output: a ZIP archive (PyTorch >= 1.6) or a legacy pickle. Read by
    /// burn-store's PyTorch reader.
    Pytorch,
    /// A safetensors file (PyTorch's `safetensors.torch.save_file`, or NumPy arrays through
    /// `safetensors.numpy.save_file`).
    Safetensors,
    /// An HDF5 file, such as Keras 3's `model.save_weights("x.weights.h5")`.
    Hdf5,
}

impl WeightFormat {
    /// The format's name in messages.
    pub fn name(self) -> &'static str {
        match self {
            WeightFormat::Pytorch => "PyTorch",
            WeightFormat::Safetensors => "safetensors",
            WeightFormat::Hdf5 => "HDF5",
        }
    }

    /// The format of a file starting with `head`, or why none matches.
    fn detect(head: &[u8]) -> Result<Self, String> {
        const HDF5: &[u8] = b"\x89HDF\r\n\x1a\n";
        if head.is_empty() {
            return Err("the file is empty".into());
        }
        if head.starts_with(b"PK\x03\x04") {
            return Ok(WeightFormat::Pytorch);
        }
        if head.starts_with(HDF5) {
            return Ok(WeightFormat::Hdf5);
        }
        // safetensors: a little-endian u64 header length, then the JSON header.
        if head.len() > 8 && head[8] == b'{' {
            return Ok(WeightFormat::Safetensors);
        }
        // A legacy `torch.save` file is a pickle: PROTO opcode, protocol 2 to 5.
        if head.len() > 1 && head[0] == 0x80 && (2..=5).contains(&head[1]) {
            return Ok(WeightFormat::Pytorch);
        }
        let shown: Vec<String> = head.iter().take(8).map(|b| format!("{b:02x}")).collect();
        Err(format!("it starts with bytes {}", shown.join(" ")))
    }
}

/// All tensors of a weight file, by name.
///
/// Names are the file's own: PyTorch state-dict keys (`conv.weight`), safetensors keys, or
/// HDF5 dataset paths without the leading slash (`layers/dense/vars/0` in a Keras
/// `.weights.h5`). Floating-point tensors of any width are converted to `f32`; integer and
/// boolean tensors are kept by name so that using one as a weight gives
/// [`InteropError::DType`].
///
/// # Example
/// ```no_run
/// use multi_dilation::interop::WeightFile;
///
/// let file = WeightFile::open("model.pt")?;
/// for name in file.names() {
///     println!("{name}: {:?}", file.shape(name).unwrap());
/// }
/// # Ok::<(), multi_dilation::interop::InteropError>(())
/// ```
#[derive(Debug, Clone)]
pub struct WeightFile {
    path: PathBuf,
    format: WeightFormat,
    tensors: BTreeMap<String, Stored>,
}

impl WeightFile {
    /// Reads every tensor of the file at `path`.
    ///
    /// # Errors
    /// [`InteropError::Io`] if it cannot be read, [`InteropError::UnknownFormat`] if its first
    /// bytes match no format, [`InteropError::Corrupt`] if it is truncated or damaged.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, InteropError> {
        let path = path.as_ref().to_path_buf();
        let bytes = std::fs::read(&path).map_err(|source| InteropError::Io {
            path: path.clone(),
            source,
        })?;
        let format = WeightFormat::detect(&bytes[..bytes.len().min(16)]).map_err(|reason| {
            InteropError::UnknownFormat {
                path: path.clone(),
                reason,
            }
        })?;
        // The readers are third-party parsers of untrusted bytes: a panic in one of them
        // becomes a `Corrupt` error instead of taking the program down.
        let outcome = catch_unwind(AssertUnwindSafe(|| match format {
            WeightFormat::Pytorch => read::torch::read(&path, &bytes),
            WeightFormat::Safetensors => read::safetensors::read(&bytes),
            WeightFormat::Hdf5 => read::hdf5::read(bytes),
        }));
        let corrupt = |message: String| InteropError::Corrupt {
            path: path.clone(),
            format: format.name(),
            message,
        };
        let tensors = match outcome {
            Ok(Ok(tensors)) => tensors,
            Ok(Err(message)) => return Err(corrupt(message)),
            Err(_) => return Err(corrupt("the reader could not parse it".into())),
        };
        Ok(Self {
            path,
            format,
            tensors,
        })
    }

    /// The file this was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The container format.
    pub fn format(&self) -> WeightFormat {
        self.format
    }

    /// The tensor names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    /// Whether a tensor of that name is in the file.
    pub fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    /// The shape of tensor `name`, if present.
    pub fn shape(&self, name: &str) -> Option<&[usize]> {
        self.tensors.get(name).map(|stored| stored.shape.as_slice())
    }

    /// The values of the float tensor `name` (row-major) with its shape.
    ///
    /// # Errors
    /// [`InteropError::Missing`] or [`InteropError::DType`].
    pub fn values(&self, name: &str) -> Result<(&[usize], &[f32]), InteropError> {
        let stored = self
            .tensors
            .get(name)
            .ok_or_else(|| InteropError::Missing {
                path: self.path.clone(),
                name: name.to_string(),
                available: self.names().collect::<Vec<_>>().join(", "),
            })?;
        match &stored.values {
            Ok(values) => Ok((&stored.shape, values)),
            Err(dtype) => Err(InteropError::DType {
                path: self.path.clone(),
                name: name.to_string(),
                dtype: dtype.clone(),
            }),
        }
    }

    /// Tensor `name` on `device`, after checking that its shape is `expected` (`layout` says
    /// what the axes are, for the error message).
    pub(crate) fn tensor<const D: usize>(
        &self,
        name: &str,
        expected: [usize; D],
        layout: &'static str,
        device: &Device,
    ) -> Result<Tensor<D>, InteropError> {
        let (shape, values) = self.values(name)?;
        if shape != expected {
            return Err(InteropError::Shape {
                path: self.path.clone(),
                name: name.to_string(),
                expected: expected.to_vec(),
                actual: shape.to_vec(),
                layout,
            });
        }
        Ok(Tensor::from_data(
            TensorData::new(values.to_vec(), expected),
            device,
        ))
    }
}
