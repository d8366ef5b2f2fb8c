//! Model data collection's settings, read as `azureml-ai-monitoring` reads them: the sidecar's
//! host and port always; then the JSON file `AZUREML_MDC_CONFIG_PATH` names (what Azure ML writes
//! from the deployment's `data_collector` block), or else the `AZUREML_MDC_*` variables.

use std::{fmt, io::Read, num::NonZeroUsize, path::Path};

use serde_json::Value;

/// The library's defaults.
const DEFAULT_HOST: &str = "127.0.0.1";
const DEFAULT_PORT: u16 = 50011;
const DEFAULT_QUEUE_CAPACITY: usize = 1500;
/// A configuration file is a few hundred bytes; anything past this is not one.
const MAX_CONFIG_FILE_BYTES: u64 = 64 * 1024;

/// The two collections the server fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Collection {
    Inputs,
    Outputs,
}

impl Collection {
    pub const ALL: [Collection; 2] = [Collection::Inputs, Collection::Outputs];

    /// The collection's name in the deployment YAML and on the wire (`ce-type`).
    pub fn name(self) -> &'static str {
        match self {
            Collection::Inputs => "model_inputs",
            Collection::Outputs => "model_outputs",
        }
    }
}

/// A sample rate in percent, 0 to 100.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Percent(f64);

impl Percent {
    pub const ALL: Percent = Percent(100.0);

    pub fn new(value: f64) -> Option<Percent> {
        (0.0..=100.0).contains(&value).then_some(Percent(value))
    }

    /// Whether a draw `u` in [0, 1) is in the sample (the library skips when `rate <= u * 100`).
    pub fn takes(self, u: f64) -> bool {
        u * 100.0 < self.0
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.0)
    }
}

/// Model data collection, as `config` builds it.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectSettings {
    /// The collector sidecar: `AZUREML_MDC_HOST`, `AZUREML_MDC_PORT`.
    pub host: String,
    pub port: u16,
    /// The sample rate of `model_inputs` (`None`: not collected).
    pub inputs: Option<Percent>,
    /// The sample rate of `model_outputs` (`None`: not collected).
    pub outputs: Option<Percent>,
    /// Payloads waiting to be sent, at most; past it they are dropped.
    pub queue_capacity: NonZeroUsize,
    /// Payloads become log lines instead of being sent (`runMode: local`,
    /// `AZUREML_MDC_LOCAL_CAPTURE`).
    pub local_capture: bool,
    /// Sent as `ce-model-version` (from the model's Azure ML path, when it has one).
    pub model_version: Option<String>,
}

impl CollectSettings {
    /// Collection off, with the library's defaults for the rest.
    pub fn off() -> Self {
        CollectSettings {
            host: DEFAULT_HOST.to_owned(),
            port: DEFAULT_PORT,
            inputs: None,
            outputs: None,
            queue_capacity: NonZeroUsize::new(DEFAULT_QUEUE_CAPACITY).expect("1500 is not zero"),
            local_capture: false,
            model_version: None,
        }
    }

    /// Whether any collection is on.
    pub fn enabled(&self) -> bool {
        self.inputs.is_some() || self.outputs.is_some()
    }

    /// Where payloads are posted: `http://{host}:{port}/modeldata/log` (an IPv6 host in
    /// brackets).
    pub fn log_url(&self) -> String {
        format!("http://{}/modeldata/log", self.authority())
    }

    /// The sidecar's `host:port` (an IPv6 host in brackets), as connected to and sent as `Host`.
    pub fn authority(&self) -> String {
        match self.host.parse::<std::net::Ipv6Addr>() {
            Ok(_) => format!("[{}]:{}", self.host, self.port),
            Err(_) => format!("{}:{}", self.host, self.port),
        }
    }

    /// The rate of `collection`.
    pub fn rate(&self, collection: Collection) -> Option<Percent> {
        match collection {
            Collection::Inputs => self.inputs,
            Collection::Outputs => self.outputs,
        }
    }
}

/// What the configuration file says.
#[derive(Debug, Clone, PartialEq)]
pub struct FileSettings {
    pub inputs: Option<Percent>,
    pub outputs: Option<Percent>,
    pub local: bool,
}

/// Why a configuration file cannot be used: the message names the file and the field.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {reason}")]
pub struct ConfigFileError {
    pub file: String,
    pub reason: String,
}

/// Reads the file `AZUREML_MDC_CONFIG_PATH` names: `{"runMode": "cloud"|"local", "collections":
/// {"<name>": {"enabled": true|"True", "sampleRatePercentage": 100}}}`; names are compared
/// lower-case, collections other than `model_inputs` and `model_outputs` (the platform's
/// `request`/`response` payload logging) are not the server's and are skipped.
pub fn read_config_file(path: &Path) -> Result<FileSettings, ConfigFileError> {
    let error = |reason: String| ConfigFileError {
        file: path.display().to_string(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|e| error(format!("cannot read it: {e}")))?;
    let mut text = Vec::new();
    file.take(MAX_CONFIG_FILE_BYTES + 1)
        .read_to_end(&mut text)
        .map_err(|e| error(format!("cannot read it: {e}")))?;
    if text.len() as u64 > MAX_CONFIG_FILE_BYTES {
        return Err(error(format!(
            "larger than {MAX_CONFIG_FILE_BYTES} bytes; not a data collector configuration"
        )));
    }
    parse_config(&text).map_err(error)
}

/// The file's JSON text, read; the error names the field.
pub fn parse_config(text: &[u8]) -> Result<FileSettings, String> {
    let root: Value = serde_json::from_slice(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let root = root
        .as_object()
        .ok_or("the top level must be a JSON object with \"collections\"")?;
    let local = match root.get("runMode") {
        None | Some(Value::Null) => false,
        Some(Value::String(mode)) if mode.eq_ignore_ascii_case("cloud") => false,
        Some(Value::String(mode)) if mode.eq_ignore_ascii_case("local") => true,
        Some(other) => return Err(format!("runMode must be \"cloud\" or \"local\", found {other}")),
    };
    let mut settings = FileSettings {
        inputs: None,
        outputs: None,
        local,
    };
    let collections = match root.get("collections") {
        None | Some(Value::Null) => return Ok(settings),
        Some(Value::Object(collections)) => collections,
        Some(other) => return Err(format!("collections must be an object, found {other}")),
    };
    for (name, collection) in collections {
        let slot = match name.to_lowercase().as_str() {
            "model_inputs" => &mut settings.inputs,
            "model_outputs" => &mut settings.outputs,
            _ => continue,
        };
        *slot = read_collection(name, collection)?;
    }
    Ok(settings)
}

/// One collection's `enabled` and `sampleRatePercentage`: its rate when enabled.
fn read_collection(name: &str, collection: &Value) -> Result<Option<Percent>, String> {
    let field = |key: &str| format!("collections.{name}.{key}");
    let collection = collection
        .as_object()
        .ok_or_else(|| format!("collections.{name} must be an object, found {collection}"))?;
    let enabled = match collection.get("enabled") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(enabled)) => *enabled,
        // The YAML writes `enabled: 'True'`, and Azure ML passes the string on.
        Some(Value::String(text)) => parse_bool(text)
            .ok_or_else(|| format!("{} must be true or false, found {text:?}", field("enabled")))?,
        Some(other) => {
            return Err(format!(
                "{} must be true or false, found {other}",
                field("enabled")
            ))
        }
    };
    let rate = match collection.get("sampleRatePercentage") {
        None | Some(Value::Null) => Percent::ALL,
        Some(value) => value
            .as_f64()
            .or_else(|| value.as_str().and_then(|text| text.trim().parse().ok()))
            .and_then(Percent::new)
            .ok_or_else(|| {
                format!(
                    "{} must be a number from 0 to 100, found {value}",
                    field("sampleRatePercentage")
                )
            })?,
    };
    Ok(enabled.then_some(rate))
}

/// `true`/`false` in any case, as the library's `.lower() == "true"` reads them (other text is
/// refused rather than read as false, so that a typo does not turn collection off silently).
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.trim() {
        t if t.eq_ignore_ascii_case("true") => Some(true),
        t if t.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// The model's version when it sits where Azure ML mounts registered models,
/// `.../azureml-models/<name>/<version>/...`.
pub fn model_version(path: &Path) -> Option<String> {
    let parts: Vec<&str> = path.iter().filter_map(|part| part.to_str()).collect();
    let root = parts.iter().position(|&part| part == "azureml-models")?;
    // The version is a folder: a file right under the name is not one.
    (parts.len() > root + 3).then(|| parts[root + 2].to_owned())
}

#[cfg(test)]
mod tests;
