//! Files whose headers claim far more data than they hold are refused with an error, without
//! allocating the claimed size: the process's peak resident memory grows by less than a few
//! MiB while they are read. Weight files claim 2^40 elements (4 TiB as f32; 4 GiB in
//! `hostile_4gib.pt`, fixtures made by `make_hostile.py` beside the interop fixtures); IDX files
//! claim 2^32 - 1 images, raw or behind gzip, and gzip bombs expand to 100 MiB.
//!
//! A test binary of its own, whose tests run one at a time, so that nothing else moves the
//! peak while one runs.
#![cfg(target_os = "linux")]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use multi_dilation::interop::{InteropError, WeightFile};
use multi_dilation_fuzz::peak_rss_kib;
use multi_dilation_mnist::MnistError;
use multi_dilation_mnist::idx::{maybe_gunzip, parse_images};

/// The most the peak resident memory may grow while hostile inputs are read. The files are
/// small and the readers' working memory a few pages; a reader that believed a header would
/// need terabytes (and abort) or 100 MiB for a bomb, so the margin only absorbs allocator
/// noise.
const GROWTH_LIMIT_KIB: u64 = 8 * 1024;

/// Held by each test for its whole run: the peak is the process's.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/multi-dilation/tests/fixtures/interop")
        .join(name)
}

/// A safetensors file whose one tensor claims `shape` with the given data offsets, followed by
/// 16 bytes of data.
fn safetensors(dir: &Path, name: &str, shape: &str, offsets: &str) -> PathBuf {
    let header = format!(r#"{{"w":{{"dtype":"F32","shape":{shape},"data_offsets":{offsets}}}}}"#);
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend(header.as_bytes());
    bytes.extend([0u8; 16]);
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn tensors_larger_than_their_file_are_refused_without_allocating_them() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let files = [
        fixture("hostile.pt"),
        fixture("hostile_4gib.pt"),
        fixture("hostile.h5"),
        // The claimed shape does not match the 16 bytes the offsets give.
        safetensors(
            dir.path(),
            "shape.safetensors",
            "[1048576,1048576]",
            "[0,16]",
        ),
        // The shape and the offsets agree, and both point far past the end of the file.
        safetensors(
            dir.path(),
            "offsets.safetensors",
            "[1048576,1048576]",
            "[0,4398046511104]",
        ),
    ];
    // Warm up the allocator and the readers on a valid file first, so their one-off costs are
    // not counted as growth.
    WeightFile::open(fixture("pt_layer_sum_s1.pt")).unwrap();
    WeightFile::open(fixture("half.h5")).unwrap();

    let before = peak_rss_kib();
    for path in &files {
        let err = WeightFile::open(path).expect_err("a 4 TiB tensor in a tiny file");
        assert!(
            matches!(err, InteropError::Corrupt { .. }),
            "{}: {err}",
            path.display()
        );
        println!("{}: {err}", path.display());
    }
    let growth = growth_since(before);
    assert!(
        growth < GROWTH_LIMIT_KIB,
        "the peak resident memory grew by {growth} KiB"
    );
}

/// How far the peak resident memory rose above `before` (KiB). VmHWM is max(recorded peak,
/// current RSS), and the kernel records the peak only on some unmapping paths: pages released
/// otherwise (reclaim, `madvise`) can make a later reading lower than an earlier one, which
/// means no growth, not a negative one.
fn growth_since(before: u64) -> u64 {
    peak_rss_kib().saturating_sub(before)
}

/// An IDX image header claiming `count` images of 28x28.
fn header(count: u32) -> Vec<u8> {
    let mut bytes = vec![0, 0, 8, 3];
    for dim in [count, 28, 28] {
        bytes.extend(dim.to_be_bytes());
    }
    bytes
}

/// `head` then `zeros` zero bytes, gzip-compressed, written in pieces so that the test itself
/// never holds the uncompressed stream.
fn gzip_with_zeros(head: &[u8], zeros: usize) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(head).unwrap();
    let chunk = vec![0u8; 1 << 16];
    for _ in 0..zeros / chunk.len() {
        encoder.write_all(&chunk).unwrap();
    }
    encoder.finish().unwrap()
}

#[test]
fn idx_sizes_beyond_the_input_are_refused_without_allocating_them() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // A header claiming 2^32 - 1 images in a raw file of 16 bytes.
    let raw = header(u32::MAX);
    // The same header behind gzip, with 1 MiB of zeros: no stream of this size can hold it.
    let claims_too_much = gzip_with_zeros(&header(u32::MAX), 1 << 20);
    // A bomb: an honest header of 3 images, then 100 MiB of zeros (about 100 KiB of gzip).
    let bomb = gzip_with_zeros(&header(3), 100 << 20);
    // A bomb with no IDX header at all.
    let headless_bomb = gzip_with_zeros(&[], 100 << 20);
    maybe_gunzip(&gzip_with_zeros(&header(1), 784), "warm-up").unwrap();

    let before = peak_rss_kib();
    let err = parse_images(&raw, "raw").unwrap_err();
    assert!(matches!(err, MnistError::Truncated { .. }), "{err}");
    for (what, bytes) in [
        ("claims too much", &claims_too_much),
        ("bomb", &bomb),
        ("headless bomb", &headless_bomb),
    ] {
        let err = maybe_gunzip(bytes, what).unwrap_err();
        assert!(matches!(err, MnistError::Oversized { .. }), "{what}: {err}");
        println!("{err}");
    }
    let growth = growth_since(before);
    assert!(
        growth < GROWTH_LIMIT_KIB,
        "the peak resident memory grew by {growth} KiB"
    );
}
