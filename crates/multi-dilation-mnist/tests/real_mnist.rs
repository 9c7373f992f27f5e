//! The real MNIST from `MNIST_DIR` (skipped with a note when it is not set).

use burn::data::dataset::Dataset;
use multi_dilation_mnist::MnistDataset;
use multi_dilation_mnist::files::{self, FILES};

fn mnist_dir() -> Option<std::path::PathBuf> {
    match std::env::var_os("MNIST_DIR") {
        Some(dir) => Some(dir.into()),
        None => {
            eprintln!("skipped: MNIST_DIR is not set (.ci/run sets it to ../shared/data/mnist)");
            None
        }
    }
}

#[test]
fn counts_first_labels_and_checksums() {
    let Some(dir) = mnist_dir() else { return };
    for file in FILES {
        assert!(
            files::is_verified(&dir, file),
            "{} has the wrong content",
            file.name
        );
    }
    let train = MnistDataset::train(&dir).unwrap();
    let test = MnistDataset::test(&dir).unwrap();
    assert_eq!((train.len(), test.len()), (60_000, 10_000));
    let first =
        |d: &MnistDataset| -> Vec<u8> { (0..10).map(|i| d.get(i).unwrap().label).collect() };
    assert_eq!(first(&train), vec![5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    assert_eq!(first(&test), vec![7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    let (t, v) = train.split_validation(5_000);
    assert_eq!((t.len(), v.len()), (55_000, 5_000));
    assert_eq!(v.get(0).unwrap(), train.get(55_000).unwrap());
}
