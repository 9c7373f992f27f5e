//! Verified download against local HTTP servers on 127.0.0.1 that serve the shared MNIST files,
//! one of them corrupted. Skipped with a note when `MNIST_DIR` is not set.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use multi_dilation_mnist::MnistError;
use multi_dilation_mnist::download;
use multi_dilation_mnist::files::{self, FILES, TRAIN_LABELS};

/// Serves `files` (URL path -> body) on 127.0.0.1 until the test process ends; returns the base
/// URL. Requests for other paths get 404.
fn serve(files: HashMap<String, Vec<u8>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    let files = Arc::new(files);
    std::thread::spawn(move || {
        // Bounded: a test makes a handful of requests.
        for stream in listener.incoming().take(64) {
            let Ok(mut stream) = stream else { continue };
            let mut request = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).map_or(true, |n| n == 0) || line == "\r\n" {
                    break;
                }
            }
            let path = request.split_whitespace().nth(1).unwrap_or("/");
            let _ = match files.get(path.trim_start_matches('/')) {
                Some(body) => stream
                    .write_all(
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        )
                        .as_bytes(),
                    )
                    .and_then(|_| stream.write_all(body)),
                None => stream.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                ),
            };
        }
    });
    base
}

fn shared() -> Option<PathBuf> {
    match std::env::var_os("MNIST_DIR") {
        Some(dir) => Some(dir.into()),
        None => {
            eprintln!("skipped: MNIST_DIR is not set (.ci/run sets it to ../shared/data/mnist)");
            None
        }
    }
}

/// The shared files as a mirror serves them: `<name>.gz`.
fn mirror_files(dir: &Path) -> HashMap<String, Vec<u8>> {
    FILES
        .iter()
        .map(|f| {
            let path = files::locate(dir, *f).unwrap();
            (format!("{}.gz", f.name), std::fs::read(path).unwrap())
        })
        .collect()
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn corrupt_mirror_is_rejected_and_the_next_one_serves() {
    let Some(shared) = shared() else { return };
    let good = mirror_files(&shared);
    // The first mirror serves a corrupted training label file (one label changed, still a
    // valid gzip of a valid IDX file: only the checksum can tell) and lacks the test images.
    let mut bad = good.clone();
    let labels = files::read(&shared, TRAIN_LABELS).unwrap();
    let mut corrupted = labels.clone();
    corrupted[8] = (corrupted[8] + 1) % 10;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&corrupted).unwrap();
    bad.insert("train-labels-idx1-ubyte.gz".into(), enc.finish().unwrap());
    bad.remove("t10k-images-idx3-ubyte.gz");
    let (bad, good) = (serve(bad), serve(good));

    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path().join("mnist");
    download::ensure(&dir, &[bad.as_str(), good.as_str()]).unwrap();
    for file in FILES {
        assert!(files::is_verified(&dir, file), "{}", file.name);
    }
    assert_eq!(files::read(&dir, TRAIN_LABELS).unwrap(), labels);
    // Only the four verified files: no temporary files, nothing corrupt left behind.
    let mut expected: Vec<String> = FILES.iter().map(|f| f.name.to_string()).collect();
    expected.sort();
    assert_eq!(names_in(&dir), expected);

    // Already there and verified: no request needed (the mirrors are gone).
    download::ensure(&dir, &["http://127.0.0.1:9/"]).unwrap();
}

#[test]
fn no_good_mirror_gives_one_clear_error_and_leaves_nothing() {
    let Some(shared) = shared() else { return };
    let mut only_corrupt = mirror_files(&shared);
    let labels = only_corrupt.get_mut("train-labels-idx1-ubyte.gz").unwrap();
    let n = labels.len();
    labels[n / 2] ^= 0xff;
    let corrupt = serve(only_corrupt);
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path().join("mnist");
    // Port 9 (discard) on loopback refuses: an unreachable mirror.
    let err = download::ensure(&dir, &[corrupt.as_str(), "http://127.0.0.1:9/"]).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, MnistError::Unavailable { .. }), "{text}");
    assert!(text.contains(&dir.display().to_string()), "{text}");
    assert!(
        text.contains("MNIST_DIR") && text.contains("--data-dir"),
        "{text}"
    );
    assert!(!dir.join("train-labels-idx1-ubyte").exists());
    assert!(
        names_in(&dir).iter().all(|n| !n.starts_with(".tmp")),
        "{:?}",
        names_in(&dir)
    );
}

#[test]
fn data_dir_resolution_order() {
    let explicit = Path::new("/explicit");
    assert_eq!(files::resolve_data_dir(Some(explicit)), explicit);
    // MNIST_DIR is read by the process; here only its precedence below --data-dir is checked,
    // and the fallback is the user cache folder.
    assert!(files::default_cache_dir().ends_with("multi-dilation/mnist"));
}
