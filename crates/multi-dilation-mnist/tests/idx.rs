//! The IDX reader: every typed error, and no byte sequence makes it panic.

use std::io::Write;

use multi_dilation_mnist::MnistError;
use multi_dilation_mnist::files::{self, TRAIN_IMAGES, TRAIN_LABELS};
use multi_dilation_mnist::idx::{maybe_gunzip, parse_images, parse_labels};

fn images_file(count: u32, rows: u32, cols: u32, fill: u8) -> Vec<u8> {
    let mut bytes = vec![0, 0, 8, 3];
    for v in [count, rows, cols] {
        bytes.extend(v.to_be_bytes());
    }
    bytes.extend(std::iter::repeat_n(fill, (count * rows * cols) as usize));
    bytes
}

fn labels_file(labels: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0, 0, 8, 1];
    bytes.extend((labels.len() as u32).to_be_bytes());
    bytes.extend(labels);
    bytes
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[test]
fn reads_images_and_labels() {
    let images = parse_images(&images_file(2, 28, 28, 9), "t").unwrap();
    assert_eq!(images.count, 2);
    assert_eq!(images.image(1), &[9u8; 784][..]);
    assert_eq!(
        parse_labels(&labels_file(&[3, 9]), "t").unwrap(),
        vec![3, 9]
    );
}

#[test]
fn gzip_is_detected_from_the_bytes_not_the_name() {
    let dir = tempfile::tempdir().unwrap();
    // Raw content under the .gz name, gzip content under the raw name: both read.
    std::fs::write(
        dir.path().join("train-images-idx3-ubyte.gz"),
        images_file(3, 28, 28, 1),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("train-labels-idx1-ubyte"),
        gzip(&labels_file(&[1, 2, 3])),
    )
    .unwrap();
    let (images, labels) = files::read_pair(dir.path(), TRAIN_IMAGES, TRAIN_LABELS).unwrap();
    assert_eq!(images.count, 3);
    assert_eq!(labels, vec![1, 2, 3]);
}

#[test]
fn bad_magic() {
    let mut bytes = images_file(1, 28, 28, 0);
    bytes[3] = 1;
    assert!(matches!(
        parse_images(&bytes, "t"),
        Err(MnistError::BadMagic {
            expected: 0x803,
            found: 0x801,
            ..
        })
    ));
    assert!(matches!(
        parse_labels(&images_file(1, 28, 28, 0), "t"),
        Err(MnistError::BadMagic {
            expected: 0x801,
            ..
        })
    ));
}

#[test]
fn truncated() {
    let bytes = images_file(2, 28, 28, 0);
    let err = parse_images(&bytes[..bytes.len() - 1], "t").unwrap_err();
    assert!(
        matches!(
            err,
            MnistError::Truncated {
                expected: 1584,
                found: 1583,
                ..
            }
        ),
        "{err}"
    );
    assert!(matches!(
        parse_labels(&[0, 0, 8], "t"),
        Err(MnistError::Truncated { .. })
    ));
}

#[test]
fn unexpected_dimensions() {
    let err = parse_images(&images_file(1, 32, 28, 0), "t").unwrap_err();
    assert!(
        matches!(
            err,
            MnistError::UnexpectedDimensions {
                rows: 32,
                cols: 28,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn label_out_of_range() {
    let err = parse_labels(&labels_file(&[1, 2, 10]), "t").unwrap_err();
    assert!(
        matches!(
            err,
            MnistError::LabelOutOfRange {
                index: 2,
                label: 10,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn count_mismatch_and_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("train-images-idx3-ubyte"),
        images_file(3, 28, 28, 1),
    )
    .unwrap();
    let err = files::read_pair(dir.path(), TRAIN_IMAGES, TRAIN_LABELS).unwrap_err();
    assert!(matches!(err, MnistError::MissingFile { .. }), "{err}");
    std::fs::write(
        dir.path().join("train-labels-idx1-ubyte"),
        labels_file(&[1, 2]),
    )
    .unwrap();
    let err = files::read_pair(dir.path(), TRAIN_IMAGES, TRAIN_LABELS).unwrap_err();
    assert!(
        matches!(
            err,
            MnistError::CountMismatch {
                images: 3,
                labels: 2
            }
        ),
        "{err}"
    );
}

#[test]
fn corrupt_gzip_is_an_error() {
    let mut bytes = gzip(&labels_file(&[1, 2, 3]));
    let n = bytes.len();
    bytes.truncate(n - 6);
    assert!(matches!(
        maybe_gunzip(&bytes, "t"),
        Err(MnistError::Gzip { .. })
    ));
}

#[test]
fn no_byte_sequence_panics() {
    // Every truncation of valid files, raw and gzip, and pseudo-random bytes after each magic.
    let valid = [images_file(2, 28, 28, 5), labels_file(&[0, 9, 4])];
    for file in &valid {
        for data in [file.clone(), gzip(file)] {
            for cut in 0..data.len().min(200) {
                let bytes = maybe_gunzip(&data[..cut], "t").unwrap_or_default();
                let _ = parse_images(&bytes, "t");
                let _ = parse_labels(&bytes, "t");
            }
        }
    }
    let mut state = 0x1234_5678_9abc_def0u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for i in 0..2000 {
        let len = (next() % 64) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        match i % 4 {
            0 => bytes.splice(0..0, [0, 0, 8, 3]).for_each(drop),
            1 => bytes.splice(0..0, [0, 0, 8, 1]).for_each(drop),
            2 => bytes.splice(0..0, [0x1f, 0x8b]).for_each(drop),
            _ => {}
        }
        let _ = parse_images(&bytes, "t");
        let _ = parse_labels(&bytes, "t");
        let _ = maybe_gunzip(&bytes, "t");
    }
    // Huge announced sizes must not allocate or overflow.
    let mut huge = vec![0, 0, 8, 3];
    huge.extend([0xff; 12]);
    assert!(parse_images(&huge, "t").is_err());
}
