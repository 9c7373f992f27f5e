//! Half-precision floats in HDF5 load as `f32` (fixture `half.h5`, made by
//! `tests/fixtures/interop/make_half.py`): both byte orders, and f16's extremes.

use multi_dilation::interop::WeightFile;

use crate::fixture_dir;

#[test]
fn half_precision_datasets_load_as_f32_in_either_byte_order() {
    let file = WeightFile::open(fixture_dir().join("half.h5")).unwrap();
    let expected: Vec<f32> = (0..6).map(|i| 0.5 * i as f32 - 1.25).collect();
    for name in ["half", "half_be", "single"] {
        let (shape, values) = file.values(name).unwrap();
        assert_eq!(shape, [2, 3], "{name}");
        assert_eq!(values, expected, "{name}");
    }
    let (_, extremes) = file.values("extremes").unwrap();
    assert_eq!(extremes, [65504.0, 2f32.powi(-24)]);
}
