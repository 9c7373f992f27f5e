//! Mutation fuzzing of every parser in multi-dilation that reads outside bytes.
//!
//! Each [`Target`] starts from real files (the interop fixtures made by PyTorch, Keras and
//! h5py, a legacy `torch.save` pickle, small IDX files) and feeds its parser seeded
//! mutations of them ([`Mutator`]): bit flips, edge values written over length and shape
//! fields, truncations, deletions, duplications, splices. For ZIP archives and gzip streams
//! half of the mutations are made inside the container, which is then rebuilt with valid
//! checksums, so they reach the pickle and IDX readers instead of stopping at a CRC.
//!
//! A crash is a panic that escapes the parser's public function, an abort (the run stops),
//! or an input that takes longer than [`HANG`]. Panics that a reader catches itself (`WeightFile`
//! turns a panic in a third-party reader into `InteropError::Corrupt`) are counted apart.
//!
//! Why not a coverage-guided fuzzer: `cargo afl` runs on stable Rust, but it instruments
//! every crate of the build, burn included, which is another full build of burn (about
//! 18 minutes here, and again in every CI run). This harness reuses the workspace's build.
//!
//! Run: `FUZZ_INPUTS=1000000 cargo test --workspace --test fuzz -- --nocapture` (see
//! `fuzz/README.md`).

mod mutate;
mod targets;

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::{Duration, Instant};

pub use mutate::Mutator;
pub use targets::{Corpus, Target};

/// An input slower than this counts as a hang.
pub const HANG: Duration = Duration::from_secs(1);

/// What one run of a target found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Inputs parsed (seeds and regression inputs included).
    pub inputs: u64,
    /// Inputs the parser accepted (the rest it refused with an error): a harness whose
    /// mutations never get past the first check would show almost none.
    pub accepted: u64,
    /// Seeds the parser accepted, of [`Report::seeds`]: every seed is a valid file.
    pub seeds_accepted: u64,
    /// Seeds parsed before the mutations.
    pub seeds: u64,
    /// Panics that escaped the parser, with the file each input was saved to.
    pub panics: Vec<PathBuf>,
    /// Inputs slower than [`HANG`], saved likewise.
    pub hangs: Vec<PathBuf>,
    /// Panics caught inside the parser and turned into an error by it.
    pub contained_panics: u64,
    /// The inputs of the first contained panics (up to ten), saved likewise, with where each
    /// panic was raised: bugs of a third-party reader that `WeightFile` keeps from the caller.
    pub contained: Vec<(PathBuf, String)>,
    /// The slowest input.
    pub slowest: Duration,
    /// Wall time of the run.
    pub elapsed: Duration,
}

impl Report {
    /// Crashes found: escaped panics and hangs (an abort ends the run instead).
    pub fn crashes(&self) -> usize {
        self.panics.len() + self.hangs.len()
    }
}

thread_local! {
    /// Panics raised on this thread since it started; read before and after each input.
    static PANICS: Cell<u64> = const { Cell::new(0) };
    /// Where the last panic on this thread was raised, and its message.
    static LAST_PANIC: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Replaces the panic hook by a counter: a million fuzz inputs would otherwise print a
/// million messages from the panics that readers catch.
fn count_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            PANICS.with(|n| n.set(n.get() + 1));
            let place = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()))
                .unwrap_or_default();
            LAST_PANIC.with(|last| *last.borrow_mut() = format!("{place}: {info}"));
        }));
    });
}

/// The committed inputs that once crashed `target` (`fuzz/regressions/<target>/`).
pub fn regressions(target: Target) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("regressions")
        .join(target.name());
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| Some(entry.ok()?.path()))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (path, bytes)
        })
        .collect()
}

/// Parses the seeds, the committed regressions, then `mutations` mutated inputs of `target`
/// drawn from `seed`. Crashing inputs are written to `crash_dir` (named by target, seed and
/// input number) so that they can be committed as regressions; the input being parsed is
/// `crash_dir/<target>-current-input`, left there if the process dies.
pub fn run(target: Target, mutations: u64, seed: u64, crash_dir: &Path) -> Report {
    count_panics();
    let corpus = Corpus::new(target);
    // Every input is written here before it is parsed (the weight readers read it from this
    // file): when an abort or the OOM killer ends the run, the input that did it remains.
    std::fs::create_dir_all(crash_dir).expect("the crash folder can be made");
    let scratch = crash_dir.join(format!("{}-current-input", target.name()));
    let mut mutator = Mutator::new(seed ^ target as u64);
    let mut report = Report::default();
    let start = Instant::now();

    let fixed: Vec<Vec<u8>> = corpus
        .seeds()
        .iter()
        .cloned()
        .chain(regressions(target).into_iter().map(|(_, bytes)| bytes))
        .collect();
    let total = fixed.len() as u64 + mutations;
    for number in 0..total {
        let input = match fixed.get(number as usize) {
            Some(bytes) => bytes.clone(),
            None => corpus.input(&mut mutator),
        };
        std::fs::write(&scratch, &input).expect("the input can be written");
        let panics_before = PANICS.with(Cell::get);
        let began = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| target.parse(&input, &scratch)));
        let took = began.elapsed();
        let panics = PANICS.with(Cell::get) - panics_before;
        report.inputs += 1;
        let accepted = matches!(outcome, Ok(true));
        report.accepted += u64::from(accepted);
        if (number as usize) < corpus.seeds().len() {
            report.seeds += 1;
            report.seeds_accepted += u64::from(accepted);
        }
        report.slowest = report.slowest.max(took);
        let save = |kind: &str| {
            let path = crash_dir.join(format!("{}-{kind}-{seed}-{number}", target.name()));
            std::fs::write(&path, &input).expect("the crash input can be written");
            path
        };
        if outcome.is_err() {
            report.panics.push(save("panic"));
        } else if panics > 0 {
            report.contained_panics += panics;
            if report.contained.len() < 10 {
                let message = LAST_PANIC.with(|last| last.borrow().clone());
                report.contained.push((save("contained"), message));
            }
        }
        if took > HANG {
            report.hangs.push(save("hang"));
        }
    }
    report.elapsed = start.elapsed();
    let _ = std::fs::remove_file(&scratch);
    report
}

/// The process's peak resident set (`VmHWM` in `/proc/self/status`), in KiB: what the
/// hostile-size tests watch while they read files that claim terabytes.
///
/// # Panics
/// Panics where `/proc/self/status` has no `VmHWM` line (anything but Linux).
///
/// # Example
/// ```
/// # #[cfg(target_os = "linux")]
/// assert!(multi_dilation_fuzz::peak_rss_kib() > 0);
/// ```
pub fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|line| line.starts_with("VmHWM:"))
        .expect("Linux reports VmHWM");
    let kib = line
        .split_whitespace()
        .nth(1)
        .expect("a number after VmHWM:");
    kib.parse().expect("VmHWM in kB")
}
