//! Verified download of MNIST: mirrors tried in order, SHA-256 of the decompressed content
//! checked, files written atomically.

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use crate::MnistError;
use crate::files::{self, FILES, MnistFile};
use crate::idx::maybe_gunzip;

/// The public mirrors, tried in order; each serves `<name>.gz`.
pub const MIRRORS: [&str; 2] = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
];

/// Makes sure `dir` holds the four files with their published content, downloading what is
/// missing or wrong from `mirrors` (base URLs ending in `/`, tried in order).
///
/// A download is decompressed and its SHA-256 checked before anything is written; it is then
/// written to a temporary file in `dir` and renamed into place, so a killed run or a corrupt
/// download never leaves a partial or wrong file behind.
pub fn ensure(dir: &Path, mirrors: &[&str]) -> Result<(), MnistError> {
    for file in FILES {
        if files::is_verified(dir, file) {
            continue;
        }
        std::fs::create_dir_all(dir).map_err(|e| MnistError::io(dir, e))?;
        let mut attempts = Vec::new();
        let mut done = false;
        for mirror in mirrors {
            match fetch_verified(mirror, file) {
                Ok(bytes) => {
                    write_atomic(&dir.join(file.name), &bytes)?;
                    // A stale .gz beside the fresh raw file would be ignored by `locate`, but
                    // it is wrong content: drop it.
                    let gz = dir.join(format!("{}.gz", file.name));
                    if gz.exists() {
                        std::fs::remove_file(&gz).map_err(|e| MnistError::io(&gz, e))?;
                    }
                    done = true;
                    break;
                }
                Err(err) => attempts.push(format!("{mirror}{}.gz: {err}", file.name)),
            }
        }
        if !done {
            return Err(MnistError::Unavailable {
                dir: dir.to_path_buf(),
                attempts: attempts.join("; "),
            });
        }
    }
    Ok(())
}

/// Downloads `<mirror><name>.gz`, decompresses it, and checks its SHA-256.
fn fetch_verified(mirror: &str, file: MnistFile) -> Result<Vec<u8>, String> {
    let url = format!("{mirror}{}.gz", file.name);
    let response = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(5))
        .timeout(Duration::from_secs(300))
        .build()
        .get(&url)
        .call()
        .map_err(|e| e.to_string())?;
    let mut body = Vec::new();
    response
        .into_reader()
        .take(64 << 20)
        .read_to_end(&mut body)
        .map_err(|e| e.to_string())?;
    let bytes = maybe_gunzip(&body, &url).map_err(|e| e.to_string())?;
    let found = files::sha256_hex(&bytes);
    if found != file.sha256 {
        return Err(MnistError::Checksum {
            name: file.name.to_string(),
            expected: file.sha256.to_string(),
            found,
        }
        .to_string());
    }
    Ok(bytes)
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, flushed to disk,
/// then renamed over `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), MnistError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| MnistError::io(dir, e))?;
    tmp.write_all(bytes)
        .map_err(|e| MnistError::io(tmp.path(), e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| MnistError::io(tmp.path(), e))?;
    tmp.persist(path)
        .map_err(|e| MnistError::io(path, e.error))?;
    Ok(())
}
