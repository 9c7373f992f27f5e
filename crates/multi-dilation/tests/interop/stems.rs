//! Every valid `torch.save` archive loads, whatever the file's stem was when it was saved
//! (archives made by `tests/fixtures/interop/make_stems.py`; the 21-character stem is the one
//! the `zip` crate misreads on its own, see `src/interop/read/zip_repair.rs`).

use multi_dilation::interop::WeightFile;

use crate::fixture_dir;

#[test]
fn archives_saved_under_stems_of_1_to_40_characters_all_load() {
    for length in 1..=40 {
        let path = fixture_dir().join(format!("stems/stem_{length:02}.pt"));
        let file = WeightFile::open(&path)
            .unwrap_or_else(|err| panic!("stem of {length} characters: {err}"));
        assert_eq!(
            file.names().collect::<Vec<_>>(),
            ["w"],
            "{}",
            path.display()
        );
        let (shape, values) = file.values("w").unwrap();
        assert_eq!(shape, [2, 3]);
        let expected: Vec<f32> = (0..6).map(|i| length as f32 + 0.5 * i as f32).collect();
        assert_eq!(values, expected, "stem of {length} characters");
    }
    // The repair goes through a temporary file and leaves none behind.
    let leftovers = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(|entry| entry.ok())
        .filter(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .starts_with(&format!("multi-dilation-{}-", std::process::id()))
        })
        .count();
    assert_eq!(leftovers, 0);
}
