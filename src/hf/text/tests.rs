//! Reading an item's characters from the side truncation keeps.

use super::*;

#[test]
fn a_prefix_is_cut_on_a_character_boundary() {
    assert_eq!(prefix("crème", 3), "crè");
    assert_eq!(prefix("ab", 5), "ab");
}

/// With `truncation_side: left`, an item longer than the characters read keeps its end:
/// its ids are those of its last words, not of its first.
#[test]
fn left_truncation_of_a_long_item_reads_its_end() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hf_text/classifier");
    let folder = std::env::temp_dir().join(format!("hf-left-{}-{}", std::process::id(), fastrand::u64(..)));
    std::fs::create_dir_all(&folder).unwrap();
    for file in ["tokenizer.json", "config.json", "model.onnx"] {
        std::fs::copy(fixture.join(file), folder.join(file)).unwrap();
    }
    let config = std::fs::read_to_string(fixture.join("tokenizer_config.json")).unwrap();
    let config = config.replacen('{', r#"{"truncation_side": "left","#, 1);
    std::fs::write(folder.join("tokenizer_config.json"), config).unwrap();
    let inner = crate::model::OnnxModel::load(&folder.join("model.onnx")).unwrap();
    let Ok(Ok(model)) = TextModel::load(&folder, inner) else {
        panic!("the classifier loads as a text model")
    };
    std::fs::remove_dir_all(&folder).unwrap();
    let tail = "the service was quick and the staff were friendly ".repeat(3);
    let long = format!("{}{tail}", "zz ".repeat(MIN_CHARS));
    let ids = |text: &str| model.tokenize(&[text.to_owned()], None).unwrap().inputs[0].clone();
    assert_eq!(ids(&long), ids(&tail));
}

#[test]
fn a_suffix_is_cut_on_a_character_boundary() {
    assert_eq!(suffix("crème", 3), "ème");
    assert_eq!(suffix("ab", 5), "ab");
    assert_eq!(suffix("ab", 0), "");
}
