//! [`WeightFile`]: the named tensors of a PyTorch, safetensors or HDF5 (Keras) file, read into
//! memory as `f32`.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use burn::tensor::{DType, Device, Tensor, TensorData};

use super::InteropError;

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

/// One stored tensor: its shape, and its values as `f32`, or the name of a non-float dtype.
#[derive(Debug, Clone)]
pub(super) struct Stored {
    pub(super) shape: Vec<usize>,
    pub(super) values: Result<Vec<f32>, String>,
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
        let read = catch_unwind(AssertUnwindSafe(|| match format {
            WeightFormat::Pytorch => read_pytorch_file(&path, &bytes),
            WeightFormat::Safetensors => read_safetensors(&bytes),
            WeightFormat::Hdf5 => super::hdf5::read(bytes),
        }));
        let corrupt = |message: String| InteropError::Corrupt {
            path: path.clone(),
            format: format.name(),
            message,
        };
        let tensors = match read {
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

/// A tensor of `shape` stored as `dtype`: a float dtype's bytes (little-endian, row-major,
/// produced by `read`) converted to `f32`, or the name of a non-float dtype, kept unread.
/// `file_len` bounds the size the shape may claim ([`claimed_elements`]).
fn stored(
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

/// [`read_pytorch`] of the file at `path` holding `bytes`, or of its repaired copy when the
/// `zip` crate would misread it (see [`zip_repair`](super::zip_repair)). burn-store's reader
/// opens files by path only, so the copy goes through a temporary file, removed afterwards.
fn read_pytorch_file(path: &Path, bytes: &[u8]) -> Result<BTreeMap<String, Stored>, String> {
    let Some(repaired) = super::zip_repair::repaired(bytes) else {
        return read_pytorch(path, bytes.len());
    };
    let copy = TempFile::write(&repaired).map_err(|err| {
        format!("cannot write the repaired copy of the archive to the temporary folder: {err}")
    })?;
    read_pytorch(&copy.0, repaired.len())
}

/// A file in the temporary folder, created new (never an existing one), removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn write(bytes: &[u8]) -> std::io::Result<Self> {
        use std::io::Write;
        use std::sync::atomic::{AtomicUsize, Ordering};
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        loop {
            let n = COUNT.fetch_add(1, Ordering::Relaxed);
            let name = format!("multi-dilation-{}-{n}.pt", std::process::id());
            let path = std::env::temp_dir().join(name);
            match std::fs::File::create_new(&path) {
                Ok(mut handle) => {
                    // Removed on drop, also when the write fails.
                    let file = TempFile(path);
                    handle.write_all(bytes)?;
                    return Ok(file);
                }
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(err) => return Err(err),
            }
        }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        // Best effort: a leftover file in the temporary folder harms nothing.
        let _ = std::fs::remove_file(&self.0);
    }
}

fn read_pytorch(path: &Path, file_len: usize) -> Result<BTreeMap<String, Stored>, String> {
    use burn::store::pytorch_reader::{DType as Pt, PytorchReader};
    let reader = PytorchReader::new(path).map_err(|err| err.to_string())?;
    let mut tensors = BTreeMap::new();
    for (name, tensor) in reader.tensors() {
        let dtype = match tensor.dtype() {
            Pt::F64 => Ok(DType::F64),
            Pt::F32 => Ok(DType::F32),
            Pt::F16 => Ok(DType::F16),
            Pt::BF16 => Ok(DType::BF16),
            other => Err(format!("{other:?}")),
        };
        let read = || tensor.read().map_err(|err| err.to_string());
        let shape = tensor.shape().to_vec();
        tensors.insert(name.clone(), stored(shape, dtype, file_len, read)?);
    }
    Ok(tensors)
}

fn read_safetensors(bytes: &[u8]) -> Result<BTreeMap<String, Stored>, String> {
    use safetensors::{Dtype as St, SafeTensors};
    let file = SafeTensors::deserialize(bytes).map_err(|err| err.to_string())?;
    let mut tensors = BTreeMap::new();
    for (name, view) in file.iter() {
        let dtype = match view.dtype() {
            St::F64 => Ok(DType::F64),
            St::F32 => Ok(DType::F32),
            St::F16 => Ok(DType::F16),
            St::BF16 => Ok(DType::BF16),
            other => Err(format!("{other:?}")),
        };
        let read = || Ok(view.data().to_vec());
        tensors.insert(
            name.to_string(),
            stored(view.shape().to_vec(), dtype, bytes.len(), read)?,
        );
    }
    Ok(tensors)
}
