//! The typed errors of reading, finding and downloading MNIST.

use std::path::PathBuf;

/// Everything that can go wrong with MNIST files. No input makes this crate panic: bad bytes
/// are one of these.
#[derive(Debug, thiserror::Error)]
pub enum MnistError {
    /// A file that should be there is not.
    #[error("missing MNIST file {}", path.display())]
    MissingFile {
        /// The path looked for.
        path: PathBuf,
    },
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A gzip stream would decompress to more than its IDX header declares (or, for a
    /// header no gzip stream of that size could satisfy, more than it could ever hold):
    /// refused before the bytes are allocated.
    #[error("{what}: decompresses to more than {limit} bytes ({reason})")]
    Oversized {
        /// What was being read (a path or a name).
        what: String,
        /// The most bytes the stream may yield.
        limit: u64,
        /// Where the limit comes from.
        reason: String,
    },
    /// The data is gzip but does not decompress.
    #[error("{what}: corrupt gzip data: {source}")]
    Gzip {
        /// What was being read (a path or a name).
        what: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The first four bytes are not the expected IDX magic number.
    #[error("{what}: bad IDX magic {found:#010x}, expected {expected:#010x}")]
    BadMagic {
        /// What was being read.
        what: String,
        /// The magic number expected (0x00000803 for images, 0x00000801 for labels).
        expected: u32,
        /// The one found.
        found: u32,
    },
    /// Fewer bytes than the header announces.
    #[error("{what}: truncated, expected {expected} bytes, found {found}")]
    Truncated {
        /// What was being read.
        what: String,
        /// Bytes the header requires.
        expected: usize,
        /// Bytes present.
        found: usize,
    },
    /// The image file and the label file disagree on the count.
    #[error("{images} images but {labels} labels")]
    CountMismatch {
        /// Images in the image file.
        images: usize,
        /// Labels in the label file.
        labels: usize,
    },
    /// Images are not 28x28.
    #[error("{what}: images are {rows}x{cols}, expected 28x28")]
    UnexpectedDimensions {
        /// What was being read.
        what: String,
        /// Rows per image.
        rows: usize,
        /// Columns per image.
        cols: usize,
    },
    /// A label outside 0..=9.
    #[error("{what}: label {label} at index {index} is outside 0..=9")]
    LabelOutOfRange {
        /// What was being read.
        what: String,
        /// Index of the label.
        index: usize,
        /// Its value.
        label: u8,
    },
    /// Downloaded or cached content whose SHA-256 is not the published one.
    #[error("{name}: SHA-256 of the decompressed content is {found}, expected {expected}")]
    Checksum {
        /// The file name.
        name: String,
        /// The published hash.
        expected: String,
        /// The hash of what arrived.
        found: String,
    },
    /// No mirror could deliver a file.
    #[error(
        "MNIST is not in {} and could not be downloaded ({attempts}). Put the four files \
         (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, \
         t10k-labels-idx1-ubyte, raw or .gz) there, or point --data-dir or MNIST_DIR at a \
         folder that has them.",
        dir.display()
    )]
    Unavailable {
        /// The folder the files were expected in.
        dir: PathBuf,
        /// What each mirror answered.
        attempts: String,
    },
}

impl MnistError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
