//! IDX files whose headers claim far more than they hold, raw or gzip, and gzip bombs, are
//! refused with an error without allocating the claimed size: the process's peak resident
//! memory grows by less than a few MiB while they are read.
//!
//! Its own test binary, with one test, so that nothing else moves the peak while it runs.
#![cfg(target_os = "linux")]

use std::io::Write;

use multi_dilation_mnist::MnistError;
use multi_dilation_mnist::idx::{maybe_gunzip, parse_images};

/// The most the peak resident memory may grow while the hostile inputs are read: a reader
/// that believed them would need 3.4 TB, or 100 MiB for the bomb.
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
fn claimed_sizes_beyond_the_input_are_refused_without_allocating_them() {
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
    let growth = peak_rss_kib() - before;
    assert!(
        growth < GROWTH_LIMIT_KIB,
        "the peak resident memory grew by {growth} KiB"
    );
}
