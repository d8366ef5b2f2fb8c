//! `AML_SCORER_MODEL_URL`: a blob URL as Azure writes it (`https://<account>.blob.core.windows.net/
//! <container>/<path>`) or path-style as Azurite and other IP-addressed endpoints write it
//! (`https://<ip:port>/<account>/<container>/<path>`), read into the account, container and blob.

use url::{Host, Url};

use super::{invalid, ConfigError};
use crate::azure::{BlobTarget, ModelBlob};

const SETTING: &str = "--model-url (AML_SCORER_MODEL_URL)";
const DIGEST_SETTING: &str = "--model-sha256 (AML_SCORER_MODEL_SHA256)";

pub(super) fn model_blob(url: &str, sha256: Option<&str>, max_bytes: u64) -> Result<ModelBlob, ConfigError> {
    Ok(ModelBlob {
        target: blob_url(url)?,
        sha256: sha256.map(digest).transpose()?,
        max_bytes,
    })
}

fn blob_url(text: &str) -> Result<BlobTarget, ConfigError> {
    let url = Url::parse(text).map_err(|e| invalid(SETTING, format!("{text:?} is not a URL ({e})")))?;
    if url.scheme() != "https" {
        return Err(invalid(
            SETTING,
            format!("{text} must use https: bearer tokens are only sent over TLS"),
        ));
    }
    if url.query().is_some() {
        return Err(invalid(
            SETTING,
            "drop the query string: the model is read with the managed identity, not a SAS token",
        ));
    }
    let host = url
        .host()
        .ok_or_else(|| invalid(SETTING, format!("{text} has no host")))?;
    let segments: Vec<String> = url
        .path_segments()
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .map(percent_decoded)
        .collect();
    // Path-style for IP addresses and localhost (Azurite, Azure Stack), as the SDKs read them.
    let path_style = matches!(host, Host::Ipv4(_) | Host::Ipv6(_)) || url.host_str() == Some("localhost");
    let (account, rest) = if path_style {
        let (account, rest) = segments
            .split_first()
            .ok_or_else(|| invalid(SETTING, format!("{text} names no account, container and blob")))?;
        (account.clone(), rest)
    } else {
        let host = url.host_str().unwrap_or_default();
        let account = host.split('.').next().unwrap_or_default().to_owned();
        (account, segments.as_slice())
    };
    let [container, blob @ ..] = rest else {
        return Err(invalid(SETTING, format!("{text} names no container and blob")));
    };
    if blob.is_empty() {
        return Err(invalid(
            SETTING,
            format!("{text} names a container but no blob in it"),
        ));
    }
    let mut endpoint = url.clone();
    endpoint.set_path(if path_style { &account } else { "" });
    endpoint.set_fragment(None);
    let endpoint = super::checks::trim_trailing_slash(endpoint);
    Ok(BlobTarget {
        account,
        container: container.clone(),
        blob: blob.join("/"),
        endpoint,
    })
}

fn percent_decoded(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

fn digest(hex: &str) -> Result<[u8; 32], ConfigError> {
    let hex = hex.trim();
    let bad = || {
        invalid(
            DIGEST_SETTING,
            format!("{hex:?} is not a SHA-256 in hex (64 hex digits)"),
        )
    };
    if hex.len() != 64 {
        return Err(bad());
    }
    let mut digest = [0u8; 32];
    for (byte, pair) in digest.iter_mut().zip(hex.as_bytes().chunks(2)) {
        let text = std::str::from_utf8(pair).map_err(|_| bad())?;
        *byte = u8::from_str_radix(text, 16).map_err(|_| bad())?;
    }
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_azure_and_path_style_blob_urls() {
        let azure = blob_url("https://acct.blob.core.windows.net/models/v1/model.onnx").unwrap();
        assert_eq!(
            (azure.account.as_str(), azure.container.as_str()),
            ("acct", "models")
        );
        assert_eq!(azure.blob, "v1/model.onnx");
        assert_eq!(azure.endpoint.as_str(), "https://acct.blob.core.windows.net/");
        let azurite = blob_url("https://127.0.0.1:10000/devstoreaccount1/models/a%20b.onnx").unwrap();
        assert_eq!(azurite.account, "devstoreaccount1");
        assert_eq!(azurite.blob, "a b.onnx");
        assert_eq!(
            azurite.endpoint.as_str(),
            "https://127.0.0.1:10000/devstoreaccount1"
        );
        // The blob's own URL, as the blob client is given it, is the one written.
        assert_eq!(
            azure.url().unwrap().as_str(),
            "https://acct.blob.core.windows.net/models/v1/model.onnx"
        );
        assert_eq!(
            azurite.url().unwrap().as_str(),
            "https://127.0.0.1:10000/devstoreaccount1/models/a%20b.onnx"
        );
    }

    #[test]
    fn refuses_what_cannot_be_a_model_blob() {
        for (url, says) in [
            ("http://acct.blob.core.windows.net/c/m.onnx", "https"),
            ("https://acct.blob.core.windows.net/c", "no blob"),
            ("https://acct.blob.core.windows.net/", "no container"),
            ("https://acct.blob.core.windows.net/c/m.onnx?sv=2024&sig=x", "SAS"),
            ("not a url", "not a URL"),
        ] {
            let error = blob_url(url).unwrap_err().to_string();
            assert!(
                error.contains("AML_SCORER_MODEL_URL") && error.contains(says),
                "{url}: {error}"
            );
        }
        assert!(digest(&"ab".repeat(32)).is_ok());
        assert!(digest("abc")
            .unwrap_err()
            .to_string()
            .contains("AML_SCORER_MODEL_SHA256"));
    }
}
