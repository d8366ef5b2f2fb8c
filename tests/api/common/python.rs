//! The Python clients users run (tritonclient, the kserve SDK) as test drivers: each script in
//! `tests/clients/` exits non-zero with its reason on stderr when the server answers wrongly.

use std::process::Command;

use super::repo_path;

/// Runs `tests/clients/<script>` with the test venv's Python (`scripts/test.sh` installs it from
/// `tests/yaml/requirements.txt`) and `args`; panics with the script's output unless it exits 0.
/// Returns its stdout.
pub fn run_client(script: &str, args: &[&str]) -> String {
    run_python(&repo_path(&format!("tests/clients/{script}")), args)
}

/// Runs the Python file at `path` as `run_client` runs a client script.
pub fn run_python(path: &std::path::Path, args: &[&str]) -> String {
    let python = repo_path("target/yaml-venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/test.sh, which installs the Python clients the tests drive",
        python.display()
    );
    let output = Command::new(&python)
        .arg(path)
        .args(args)
        .output()
        .expect("the Python client runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{} {args:?} failed ({}):\nstdout:\n{stdout}\nstderr:\n{}",
        path.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}
