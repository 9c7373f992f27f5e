//! PyTorch (`torch.save`: a ZIP archive, or a legacy pickle), read by burn-store's PyTorch
//! reader.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::store::pytorch_reader::PytorchReader;

use super::stored::{Stored, float_dtype, stored};
use super::zip_repair;

/// Every tensor of the file at `path` holding `bytes`, or of its repaired copy when the `zip`
/// crate would misread it (see [`zip_repair`]). burn-store's reader opens files by path only,
/// so the copy goes through a temporary file, removed afterwards.
pub(in crate::interop) fn read(
    path: &Path,
    bytes: &[u8],
) -> Result<BTreeMap<String, Stored>, String> {
    let Some(repaired) = zip_repair::repaired(bytes) else {
        return read_path(path, bytes.len());
    };
    let copy = TempFile::write(&repaired).map_err(|err| {
        format!("cannot write the repaired copy of the archive to the temporary folder: {err}")
    })?;
    read_path(&copy.0, repaired.len())
}

/// Every tensor of the file at `path`, `file_len` bytes long.
fn read_path(path: &Path, file_len: usize) -> Result<BTreeMap<String, Stored>, String> {
    let reader = PytorchReader::new(path).map_err(|err| err.to_string())?;
    let mut tensors = BTreeMap::new();
    for (name, tensor) in reader.tensors() {
        let read = || tensor.read().map_err(|err| err.to_string());
        let shape = tensor.shape().to_vec();
        let dtype = float_dtype(tensor.dtype());
        tensors.insert(name.clone(), stored(shape, dtype, file_len, read)?);
    }
    Ok(tensors)
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
