//! Which ONNX file to load: the one named, or the only `*.onnx` under the model folder.

use std::path::{Path, PathBuf};

use super::{invalid, ConfigError};

pub(super) fn resolve_model_path(dir: &Path, file: Option<&Path>) -> Result<PathBuf, ConfigError> {
    const SETTING: &str = "--model-file (AML_SCORER_MODEL_FILE)";
    if let Some(file) = file {
        let path = if file.is_absolute() {
            file.to_path_buf()
        } else {
            dir.join(file)
        };
        return if path.is_file() {
            Ok(path)
        } else {
            Err(invalid(SETTING, format!("{} is not a file", path.display())))
        };
    }
    find_model_file(dir).map_err(|reason| invalid("--model-dir (AZUREML_MODEL_DIR)", reason))
}

/// Finds the one `*.onnx` file under `dir` (searched recursively, as Azure ML mounts models
/// under `<dir>/<name>/<version>/...`). Zero or several is an error naming what was found.
fn find_model_file(dir: &Path) -> Result<PathBuf, String> {
    if !dir.is_dir() {
        return Err(format!("{} is not a folder", dir.display()));
    }
    let mut found = Vec::new();
    collect_onnx_files(dir, &mut found).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    found.sort();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(format!("no *.onnx file under {}", dir.display())),
        _ => {
            let names: Vec<String> = found.iter().map(|p| p.display().to_string()).collect();
            Err(format!(
                "several *.onnx files under {} ({}); choose one with --model-file",
                dir.display(),
                names.join(", ")
            ))
        }
    }
}

fn collect_onnx_files(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_onnx_files(&path, found)?;
        } else if path
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("onnx"))
        {
            found.push(path);
        }
    }
    Ok(())
}
