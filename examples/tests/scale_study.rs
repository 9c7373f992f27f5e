//! The scale study end to end in a tiny configuration: the table and both plots are written
//! and parse.

use burn::tensor::Device;
use multi_dilation_examples::study::{self, StudyConfig, StudyDigits};

#[test]
fn tiny_study_writes_table_and_plots() {
    let out = tempfile::tempdir().unwrap();
    let digits = StudyDigits::builtin(1_400);
    let results = study::run(&StudyConfig::tiny(), &digits, out.path(), &Device::flex()).unwrap();

    // Seven models, then the twin of the best shared one.
    assert_eq!(results.len(), 8);
    for result in &results {
        assert_eq!(result.test_errors.len(), 2, "two realisations");
        assert!(result.test_errors.iter().all(|e| (0.0..=100.0).contains(e)));
        assert_eq!(result.generalisation.len(), 9, "factors 1 to 3 by quarters");
    }
    assert!(results[7].model.starts_with("independent twin of: shared"));
    // One skeleton: the shared models hold the CNN's trainable parameters (one BN for all
    // branches) or that plus nothing (per-branch BN shares its affine map); the twin holds
    // three times the conv parameters of the shared models.
    let conv: Vec<usize> = results.iter().map(|r| r.conv_parameters).collect();
    let cnn = conv[0];
    assert_eq!(conv[1..6], [cnn; 5]);
    assert_eq!(conv[7], 3 * cnn);
    let params: Vec<usize> = results.iter().map(|r| r.parameters).collect();
    assert_eq!(params[2..6], [params[0]; 4], "{params:?}");

    let table = std::fs::read_to_string(out.path().join("results.md")).unwrap();
    assert_eq!(
        table
            .lines()
            .filter(|l| l.starts_with("| ") && !l.starts_with("| model"))
            .count(),
        8,
        "{table}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("results.json")).unwrap())
            .unwrap();
    assert_eq!(json.as_array().unwrap().len(), 8);
    for stem in ["errors", "scale"] {
        let png = std::fs::read(out.path().join(format!("{stem}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{stem}.png header");
        let decoded = image::load_from_memory(&png).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (1000, 640));
        let svg = std::fs::read_to_string(out.path().join(format!("{stem}.svg"))).unwrap();
        let root = svg.find("<svg").expect("an <svg> root element");
        assert!(
            svg[root..].trim_end().ends_with("</svg>"),
            "{stem}.svg is closed"
        );
        assert!(svg.contains("<text"), "{stem}.svg has labels");
    }
}
