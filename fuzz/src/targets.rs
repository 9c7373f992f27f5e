//! The parsers under test, their seed files, and how an input is built for each.

use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};

use multi_dilation::interop::WeightFile;
use multi_dilation_mnist::idx::{maybe_gunzip, parse_images, parse_labels};

use crate::mutate::Mutator;

/// One parser of outside bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The IDX reader on raw bytes: `parse_images` and `parse_labels`.
    Idx,
    /// The IDX reader behind gzip: `maybe_gunzip`, then both parsers.
    IdxGzip,
    /// `WeightFile::open` on `torch.save` ZIP archives.
    PytorchZip,
    /// `WeightFile::open` on legacy (pre-1.6) `torch.save` pickles.
    PytorchLegacy,
    /// `WeightFile::open` on safetensors files.
    Safetensors,
    /// `WeightFile::open` on HDF5 files (Keras `.weights.h5`).
    Hdf5,
}

impl Target {
    /// Every target.
    pub const ALL: [Target; 6] = [
        Target::Idx,
        Target::IdxGzip,
        Target::PytorchZip,
        Target::PytorchLegacy,
        Target::Safetensors,
        Target::Hdf5,
    ];

    /// The target's name: in reports, and the folder of its regression inputs.
    pub fn name(self) -> &'static str {
        match self {
            Target::Idx => "idx",
            Target::IdxGzip => "idx-gzip",
            Target::PytorchZip => "pytorch-zip",
            Target::PytorchLegacy => "pytorch-legacy",
            Target::Safetensors => "safetensors",
            Target::Hdf5 => "hdf5",
        }
    }

    /// The target named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Parses `input` as this target's users would, and says whether it was accepted: every
    /// error is an acceptable outcome; a panic, an abort or a hang is not. `scratch` is a
    /// file holding `input`, which the weight readers open (burn-store's PyTorch reader
    /// opens paths only).
    pub fn parse(self, input: &[u8], scratch: &Path) -> bool {
        match self {
            Target::Idx => parse_idx(input),
            Target::IdxGzip => maybe_gunzip(input, "fuzz").is_ok_and(|raw| parse_idx(&raw)),
            Target::PytorchZip | Target::PytorchLegacy | Target::Safetensors | Target::Hdf5 => {
                let Ok(file) = WeightFile::open(scratch) else {
                    return false;
                };
                let names: Vec<String> = file.names().map(str::to_string).collect();
                for name in names {
                    let _ = file.values(&name);
                }
                true
            }
        }
    }
}

/// Whether `bytes` parse as an IDX image file or an IDX label file (both are tried).
fn parse_idx(bytes: &[u8]) -> bool {
    let images = parse_images(bytes, "fuzz").is_ok();
    let labels = parse_labels(bytes, "fuzz").is_ok();
    images || labels
}

/// The committed weight files of the interop tests.
fn interop_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/multi-dilation/tests/fixtures/interop")
}

/// The files in `dir` whose names end with `suffix`, sorted by name, except the `hostile.*`
/// fixtures (valid files that must be refused: they are no seeds of valid input).
fn files(dir: &Path, suffix: &str) -> Vec<Vec<u8>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|path| {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            name.ends_with(suffix) && !name.starts_with("hostile")
        })
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|path| std::fs::read(path).unwrap_or_else(|err| panic!("{}: {err}", path.display())))
        .collect()
}

/// A small valid IDX image file (`count` images of 28x28) and label file.
fn idx_seeds() -> Vec<Vec<u8>> {
    let count = 3u32;
    let mut images = vec![0, 0, 8, 3];
    for dim in [count, 28, 28] {
        images.extend(dim.to_be_bytes());
    }
    images.extend((0..count as usize * 784).map(|i| (i * 37 % 256) as u8));
    let mut labels = vec![0, 0, 8, 1];
    labels.extend(count.to_be_bytes());
    labels.extend([3, 1, 4]);
    vec![images, labels]
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}

/// The entries of a ZIP archive, in order (empty if it is no archive).
fn zip_entries(archive: &[u8]) -> Vec<(String, Vec<u8>)> {
    let Ok(mut zip) = zip::ZipArchive::new(Cursor::new(archive)) else {
        return Vec::new();
    };
    (0..zip.len())
        .filter_map(|i| {
            let mut entry = zip.by_index(i).ok()?;
            let mut data = Vec::new();
            entry.read_to_end(&mut data).ok()?;
            Some((entry.name().ok()?.to_string(), data))
        })
        .collect()
}

/// A stored (uncompressed) ZIP archive of `entries`, with correct CRCs, as `torch.save`
/// writes them.
fn zip_archive(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, data) in entries {
        writer.start_file(name, options).expect("writing to memory");
        writer.write_all(data).expect("writing to memory");
    }
    writer.finish().expect("writing to memory").into_inner()
}

/// A target's seeds and the inputs built from them.
#[derive(Debug)]
pub struct Corpus {
    target: Target,
    seeds: Vec<Vec<u8>>,
    /// For `IdxGzip`: the raw seeds, mutated before compression half of the time.
    raw: Vec<Vec<u8>>,
    /// For `PytorchZip`: each seed's entries, one of which is mutated before the archive is
    /// rebuilt half of the time (so the mutation reaches the pickle and tensor readers
    /// instead of stopping at a CRC check).
    entries: Vec<Vec<(String, Vec<u8>)>>,
}

impl Corpus {
    /// The seeds of `target`: the committed fixtures of the interop tests, `fuzz/seeds/`, and
    /// small IDX files made here.
    pub fn new(target: Target) -> Self {
        let fixtures = interop_fixtures();
        let seeds_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
        let raw = idx_seeds();
        let seeds = match target {
            Target::Idx => raw.clone(),
            Target::IdxGzip => raw.iter().map(|file| gzip(file)).collect(),
            Target::PytorchZip => {
                let mut seeds = files(&fixtures, ".pt");
                seeds.extend(files(&fixtures.join("stems"), "_21.pt"));
                seeds
            }
            Target::PytorchLegacy => files(&seeds_dir, ".legacy.pt"),
            Target::Safetensors => files(&fixtures, ".safetensors"),
            Target::Hdf5 => files(&fixtures, ".h5"),
        };
        assert!(!seeds.is_empty(), "no seeds for {}", target.name());
        let entries = match target {
            Target::PytorchZip => seeds.iter().map(|seed| zip_entries(seed)).collect(),
            _ => Vec::new(),
        };
        Self {
            target,
            seeds,
            raw,
            entries,
        }
    }

    /// The seeds, unmutated.
    pub fn seeds(&self) -> &[Vec<u8>] {
        &self.seeds
    }

    /// The next input: a seed with one to four mutations.
    pub fn input(&self, mutator: &mut Mutator) -> Vec<u8> {
        let pick = mutator.below(self.seeds.len());
        let structured = mutator.below(2) == 0;
        match self.target {
            Target::IdxGzip if structured => {
                let mut raw = self.raw[mutator.below(self.raw.len())].clone();
                mutator.mutate(&mut raw, &self.raw);
                gzip(&raw)
            }
            Target::PytorchZip if structured && !self.entries[pick].is_empty() => {
                let mut entries = self.entries[pick].clone();
                // data.pkl most of the time: the pickle is where the shapes and sizes live.
                let pickle = entries
                    .iter()
                    .position(|(name, _)| name.ends_with("data.pkl"));
                let which = match pickle {
                    Some(at) if mutator.below(3) > 0 => at,
                    _ => mutator.below(entries.len()),
                };
                mutator.mutate(&mut entries[which].1, &[]);
                zip_archive(&entries)
            }
            _ => {
                let mut input = self.seeds[pick].clone();
                mutator.mutate(&mut input, &self.seeds);
                input
            }
        }
    }
}
