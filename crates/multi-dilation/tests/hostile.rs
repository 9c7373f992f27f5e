//! Weight files whose headers claim far more data than they hold (2^40 elements, 4 TiB as
//! f32; 4 GiB in `hostile_4gib.pt`) are refused with an error, without allocating the claimed size: the process's peak
//! resident memory grows by less than a few MiB while they are read.
//!
//! Its own test binary, with one test, so that nothing else moves the peak while it runs.
//! Fixtures: `tests/fixtures/interop/make_hostile.py`.
#![cfg(all(feature = "interop", target_os = "linux"))]

use std::path::{Path, PathBuf};

use multi_dilation::interop::{InteropError, WeightFile};

/// The most the peak resident memory may grow while the hostile files are read. The files
/// are under 2 KiB and the readers' working memory is a few pages; a reader that believed a
/// header would need 4 TiB (and abort), so the margin only has to absorb allocator noise.
const GROWTH_LIMIT_KIB: u64 = 8 * 1024;

/// The process's peak resident set (`VmHWM`), in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|line| line.starts_with("VmHWM:"))
        .expect("Linux reports VmHWM");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/interop")
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
    let growth = peak_rss_kib() - before;
    assert!(
        growth < GROWTH_LIMIT_KIB,
        "the peak resident memory grew by {growth} KiB"
    );
}
