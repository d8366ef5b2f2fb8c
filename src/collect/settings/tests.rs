use super::*;

#[test]
fn enabled_may_be_a_boolean_or_the_string_true_in_any_case() {
    let text = br#"{"runMode": "cloud", "collections": {"model_inputs": {"enabled": "True"},
        "Model_Outputs": {"enabled": true, "sampleRatePercentage": 50}}}"#;
    let settings = parse_config(text).unwrap();
    assert_eq!(settings.inputs, Some(Percent::ALL));
    assert_eq!(settings.outputs, Percent::new(50.0));
    assert!(!settings.local);
}

#[test]
fn platform_collections_and_disabled_ones_are_not_collected() {
    let text = br#"{"collections": {"request": {"enabled": "True"}, "response": {"enabled": true},
        "model_inputs": {"enabled": "False", "sampleRatePercentage": 10}}}"#;
    let settings = parse_config(text).unwrap();
    assert_eq!((settings.inputs, settings.outputs), (None, None));
}

#[test]
fn run_mode_local_captures_locally() {
    let settings = parse_config(br#"{"runMode": "local", "collections": {}}"#).unwrap();
    assert!(settings.local);
}

#[test]
fn a_bad_field_is_named() {
    let cases: [(&[u8], &str); 5] = [
        (
            br#"{"collections": {"model_inputs": {"enabled": "yes"}}}"#,
            "collections.model_inputs.enabled",
        ),
        (
            br#"{"collections": {"model_outputs": {"enabled": true, "sampleRatePercentage": 150}}}"#,
            "collections.model_outputs.sampleRatePercentage",
        ),
        (br#"{"runMode": "edge"}"#, "runMode"),
        (br#"{"collections": []}"#, "collections"),
        (b"{", "not valid JSON"),
    ];
    for (text, named) in cases {
        let error = parse_config(text).unwrap_err();
        assert!(error.contains(named), "{error} should name {named}");
    }
}

#[test]
fn a_file_over_the_bound_is_refused_without_reading_it_all() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mdc.json");
    std::fs::write(&path, vec![b' '; MAX_CONFIG_FILE_BYTES as usize + 10]).unwrap();
    let error = read_config_file(&path).unwrap_err().to_string();
    assert!(
        error.contains("mdc.json") && error.contains("larger than"),
        "{error}"
    );
}

#[test]
fn sampling_follows_the_librarys_comparison() {
    assert!(!Percent::new(0.0).unwrap().takes(0.0));
    assert!(Percent::ALL.takes(0.999_999));
    assert!(Percent::new(50.0).unwrap().takes(0.49));
    assert!(!Percent::new(50.0).unwrap().takes(0.5));
}

#[test]
fn the_model_version_is_read_from_azure_mls_mount() {
    let path = Path::new("/var/azureml-app/azureml-models/diabetes/3/model/model.onnx");
    assert_eq!(model_version(path).as_deref(), Some("3"));
    assert_eq!(model_version(Path::new("model/model.onnx")), None);
    assert_eq!(
        model_version(Path::new("/x/azureml-models/diabetes/model.onnx")),
        None
    );
}
