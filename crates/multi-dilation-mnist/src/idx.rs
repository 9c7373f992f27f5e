//! The IDX format of the MNIST files: a big-endian header, then unsigned bytes.
//!
//! Raw and gzip-compressed files are both accepted; gzip is recognised by its magic bytes
//! (`1f 8b`), not by the file name.

use std::io::Read;
use std::path::Path;

use crate::MnistError;

/// IDX magic of an image file: unsigned bytes, three dimensions.
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// IDX magic of a label file: unsigned bytes, one dimension.
pub const LABELS_MAGIC: u32 = 0x0000_0801;
/// Side of an MNIST image.
pub const SIDE: usize = 28;
/// Pixels of an MNIST image.
pub const PIXELS: usize = SIDE * SIDE;

/// Images of an IDX file: `count` images of 28x28 bytes, row-major, one after the other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Images {
    /// Number of images.
    pub count: usize,
    /// `count * 784` gray values, 0 (background) to 255 (ink).
    pub pixels: Vec<u8>,
}

impl Images {
    /// The pixels of image `index`.
    ///
    /// # Panics
    /// Panics if `index >= count`.
    pub fn image(&self, index: usize) -> &[u8] {
        &self.pixels[index * PIXELS..(index + 1) * PIXELS]
    }
}

/// Decompresses `bytes` if they are gzip (magic `1f 8b`); returns them unchanged otherwise.
///
/// # Example
/// ```
/// use multi_dilation_mnist::idx::maybe_gunzip;
/// assert_eq!(maybe_gunzip(b"raw", "x").unwrap(), b"raw");
/// ```
pub fn maybe_gunzip(bytes: &[u8], what: &str) -> Result<Vec<u8>, MnistError> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes)
            .read_to_end(&mut out)
            .map_err(|source| MnistError::Gzip {
                what: what.to_string(),
                source,
            })?;
        Ok(out)
    } else {
        Ok(bytes.to_vec())
    }
}

/// Reads a whole file, decompressing it if it is gzip.
pub fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>, MnistError> {
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => MnistError::MissingFile {
            path: path.to_path_buf(),
        },
        _ => MnistError::io(path, e),
    })?;
    maybe_gunzip(&bytes, &path.display().to_string())
}

fn header(bytes: &[u8], what: &str, magic: u32, dims: usize) -> Result<Vec<usize>, MnistError> {
    let need = 4 + 4 * dims;
    if bytes.len() < need {
        return Err(MnistError::Truncated {
            what: what.to_string(),
            expected: need,
            found: bytes.len(),
        });
    }
    let word = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let found = word(0);
    if found != magic {
        return Err(MnistError::BadMagic {
            what: what.to_string(),
            expected: magic,
            found,
        });
    }
    Ok((0..dims).map(|d| word(4 + 4 * d) as usize).collect())
}

fn body<'a>(
    bytes: &'a [u8],
    what: &str,
    offset: usize,
    dims: &[usize],
) -> Result<&'a [u8], MnistError> {
    let truncated = |expected| MnistError::Truncated {
        what: what.to_string(),
        expected,
        found: bytes.len(),
    };
    let len = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .and_then(|n| n.checked_add(offset))
        .ok_or_else(|| truncated(usize::MAX))?;
    if bytes.len() < len {
        return Err(truncated(len));
    }
    Ok(&bytes[offset..len])
}

/// Parses an (uncompressed) IDX image file of 28x28 images.
///
/// # Example
/// ```
/// use multi_dilation_mnist::idx::parse_images;
/// let mut bytes = vec![0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 28, 0, 0, 0, 28];
/// bytes.extend(vec![7u8; 784]);
/// let images = parse_images(&bytes, "example").unwrap();
/// assert_eq!(images.count, 1);
/// assert!(parse_images(&bytes[..100], "example").is_err());
/// ```
pub fn parse_images(bytes: &[u8], what: &str) -> Result<Images, MnistError> {
    let dims = header(bytes, what, IMAGES_MAGIC, 3)?;
    let (count, rows, cols) = (dims[0], dims[1], dims[2]);
    if rows != SIDE || cols != SIDE {
        return Err(MnistError::UnexpectedDimensions {
            what: what.to_string(),
            rows,
            cols,
        });
    }
    let pixels = body(bytes, what, 16, &dims)?.to_vec();
    Ok(Images { count, pixels })
}

/// Parses an (uncompressed) IDX label file; every label must be in 0..=9.
///
/// # Example
/// ```
/// use multi_dilation_mnist::idx::parse_labels;
/// let bytes = [0, 0, 8, 1, 0, 0, 0, 3, 5, 0, 4];
/// assert_eq!(parse_labels(&bytes, "example").unwrap(), vec![5, 0, 4]);
/// ```
pub fn parse_labels(bytes: &[u8], what: &str) -> Result<Vec<u8>, MnistError> {
    let dims = header(bytes, what, LABELS_MAGIC, 1)?;
    let labels = body(bytes, what, 8, &dims)?;
    if let Some((index, &label)) = labels.iter().enumerate().find(|(_, l)| **l > 9) {
        return Err(MnistError::LabelOutOfRange {
            what: what.to_string(),
            index,
            label,
        });
    }
    Ok(labels.to_vec())
}
