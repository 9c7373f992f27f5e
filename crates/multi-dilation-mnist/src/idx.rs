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

/// The most bytes deflate can expand one compressed byte into (RFC 1951: a 258-byte match
/// costs at least two bits, so 1032 bytes per byte). No gzip stream of `n` bytes holds more
/// than `n * MAX_INFLATION`.
pub const MAX_INFLATION: u64 = 1032;

/// Bytes a gzip stream may yield beyond what its IDX header declares, and the most a stream
/// whose first bytes are no IDX header may yield: room for trailing padding, never for a
/// dataset.
const SLACK: u64 = 64 << 10;

/// Decompresses `bytes` if they are gzip (magic `1f 8b`); returns them unchanged otherwise.
///
/// Decompression is bounded by the IDX header inside the stream: it stops with
/// [`MnistError::Oversized`] as soon as the stream yields more than the header declares (plus
/// 64 KiB), and a header that declares more than `bytes.len() * MAX_INFLATION` is refused
/// before anything is allocated. A gzip bomb therefore costs at most the size its own header
/// admits to, never the memory it expands to.
///
/// # Example
/// ```
/// use multi_dilation_mnist::idx::maybe_gunzip;
/// assert_eq!(maybe_gunzip(b"raw", "x").unwrap(), b"raw");
/// ```
pub fn maybe_gunzip(bytes: &[u8], what: &str) -> Result<Vec<u8>, MnistError> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(bytes.to_vec());
    }
    let gzip_error = |source| MnistError::Gzip {
        what: what.to_string(),
        source,
    };
    let mut decoder = flate2::read::MultiGzDecoder::new(bytes);
    // The magic and the dimensions: at most 4 + 4 * 255 bytes.
    let mut out = Vec::new();
    (&mut decoder)
        .take(4)
        .read_to_end(&mut out)
        .map_err(gzip_error)?;
    let dims = match out.as_slice() {
        [0, 0, 0x08, dims] if *dims > 0 => usize::from(*dims),
        _ => 0,
    };
    (&mut decoder)
        .take(4 * dims as u64)
        .read_to_end(&mut out)
        .map_err(gzip_error)?;
    let oversized = |limit, reason: String| MnistError::Oversized {
        what: what.to_string(),
        limit,
        reason,
    };
    let limit = if dims > 0 && out.len() == 4 + 4 * dims {
        let declared = declared_len(&out, dims);
        let possible = (bytes.len() as u64).saturating_mul(MAX_INFLATION);
        if declared > possible {
            return Err(oversized(
                possible,
                format!(
                    "its IDX header declares {declared} bytes, more than a gzip stream of {} \
                     bytes can hold",
                    bytes.len()
                ),
            ));
        }
        declared.saturating_add(SLACK)
    } else {
        SLACK
    };
    (&mut decoder)
        .take(limit + 1 - out.len() as u64)
        .read_to_end(&mut out)
        .map_err(gzip_error)?;
    if out.len() as u64 > limit {
        let reason = if dims > 0 {
            "the size its IDX header declares, plus 64 KiB".to_string()
        } else {
            "its first bytes are no IDX header".to_string()
        };
        return Err(oversized(limit, reason));
    }
    Ok(out)
}

/// The length of the IDX file whose magic and `dims` dimensions start `header`: the header
/// plus one byte per element, saturating at `u64::MAX`.
fn declared_len(header: &[u8], dims: usize) -> u64 {
    let elements = (0..dims)
        .map(|d| {
            let at = 4 + 4 * d;
            u64::from(u32::from_be_bytes([
                header[at],
                header[at + 1],
                header[at + 2],
                header[at + 3],
            ]))
        })
        .fold(1u64, u64::saturating_mul);
    elements.saturating_add(header.len() as u64)
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
