//! The four MNIST files, their published hashes, and where they are looked for.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::MnistError;
use crate::idx::{self, Images};

/// One MNIST file: its name (without `.gz`) and the SHA-256 of its decompressed content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MnistFile {
    /// File name of the raw IDX file, for example `train-images-idx3-ubyte`.
    pub name: &'static str,
    /// Lower-case hex SHA-256 of the decompressed content.
    pub sha256: &'static str,
}

/// Training images (60,000).
pub const TRAIN_IMAGES: MnistFile = MnistFile {
    name: "train-images-idx3-ubyte",
    sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
};
/// Training labels.
pub const TRAIN_LABELS: MnistFile = MnistFile {
    name: "train-labels-idx1-ubyte",
    sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
};
/// Test images (10,000).
pub const TEST_IMAGES: MnistFile = MnistFile {
    name: "t10k-images-idx3-ubyte",
    sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
};
/// Test labels.
pub const TEST_LABELS: MnistFile = MnistFile {
    name: "t10k-labels-idx1-ubyte",
    sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
};
/// All four files.
pub const FILES: [MnistFile; 4] = [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS];

/// Environment variable naming the MNIST folder.
pub const MNIST_DIR_ENV: &str = "MNIST_DIR";

/// The folder to use: `explicit` (a `--data-dir` option) if given, else `$MNIST_DIR`, else
/// [`default_cache_dir`].
///
/// # Example
/// ```
/// use std::path::Path;
/// use multi_dilation_mnist::files::resolve_data_dir;
/// assert_eq!(resolve_data_dir(Some(Path::new("/data/mnist"))), Path::new("/data/mnist"));
/// ```
pub fn resolve_data_dir(explicit: Option<&Path>) -> PathBuf {
    if let Some(dir) = explicit {
        return dir.to_path_buf();
    }
    match std::env::var_os(MNIST_DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => default_cache_dir(),
    }
}

/// The per-user cache folder: `<cache dir>/multi-dilation/mnist` (`~/.cache/...` on Linux).
pub fn default_cache_dir() -> PathBuf {
    dirs::cache_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("multi-dilation")
        .join("mnist")
}

/// The path of `file` in `dir`: the raw name if present, else `name.gz` if present.
pub fn locate(dir: &Path, file: MnistFile) -> Option<PathBuf> {
    [file.name.to_string(), format!("{}.gz", file.name)]
        .into_iter()
        .map(|name| dir.join(name))
        .find(|path| path.is_file())
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// `bytes` in lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads `file` from `dir` (raw or gzip), decompressed.
pub fn read(dir: &Path, file: MnistFile) -> Result<Vec<u8>, MnistError> {
    let path = locate(dir, file).ok_or_else(|| MnistError::MissingFile {
        path: dir.join(file.name),
    })?;
    idx::read_maybe_gzip(&path)
}

/// Whether `file` is in `dir` with the published content.
pub fn is_verified(dir: &Path, file: MnistFile) -> bool {
    read(dir, file).is_ok_and(|bytes| sha256_hex(&bytes) == file.sha256)
}

/// Reads and parses an image file and its label file, checking they agree.
pub fn read_pair(
    dir: &Path,
    images: MnistFile,
    labels: MnistFile,
) -> Result<(Images, Vec<u8>), MnistError> {
    let images = idx::parse_images(&read(dir, images)?, images.name)?;
    let labels = idx::parse_labels(&read(dir, labels)?, labels.name)?;
    if images.count != labels.len() {
        return Err(MnistError::CountMismatch {
            images: images.count,
            labels: labels.len(),
        });
    }
    Ok((images, labels))
}
