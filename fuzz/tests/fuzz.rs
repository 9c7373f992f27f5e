//! A short fuzz run of every parser (part of `cargo test`); a long run is the same test with
//! `FUZZ_INPUTS` set (see `fuzz/README.md`).

use multi_dilation_fuzz::{Report, Target, run};

/// Mutated inputs per parser: `FUZZ_INPUTS`, or a short run that keeps `cargo test` quick.
fn inputs() -> u64 {
    std::env::var("FUZZ_INPUTS")
        .ok()
        .map(|n| n.parse().expect("FUZZ_INPUTS is a number"))
        .unwrap_or(2_000)
}

fn seed() -> u64 {
    std::env::var("FUZZ_SEED")
        .ok()
        .map(|n| n.parse().expect("FUZZ_SEED is a number"))
        .unwrap_or(1)
}

fn fuzz(target: Target) {
    let crash_dir = std::env::temp_dir().join("multi-dilation-fuzz");
    let report: Report = run(target, inputs(), seed(), &crash_dir);
    // One row of the table in fuzz/README.md.
    println!(
        "| {} | {} | {} | {} | {} | {} | {:.1} ms | {:.1} s |",
        target.name(),
        report.inputs,
        report.accepted,
        report.panics.len(),
        report.hangs.len(),
        report.contained_panics,
        report.slowest.as_secs_f64() * 1e3,
        report.elapsed.as_secs_f64(),
    );
    for (path, message) in &report.contained {
        println!("contained panic: {} ({message})", path.display());
    }
    assert_eq!(
        report.seeds_accepted,
        report.seeds,
        "{}: every seed is a valid file and must be accepted",
        target.name()
    );
    assert_eq!(
        report.crashes(),
        0,
        "{}: panics {:?}, hangs {:?}: commit each input under fuzz/regressions/{}/",
        target.name(),
        report.panics,
        report.hangs,
        target.name()
    );
}

#[test]
fn idx() {
    fuzz(Target::Idx);
}

#[test]
fn idx_gzip() {
    fuzz(Target::IdxGzip);
}

#[test]
fn pytorch_zip() {
    fuzz(Target::PytorchZip);
}

#[test]
fn pytorch_legacy() {
    fuzz(Target::PytorchLegacy);
}

#[test]
fn safetensors() {
    fuzz(Target::Safetensors);
}

#[test]
fn hdf5() {
    fuzz(Target::Hdf5);
}
