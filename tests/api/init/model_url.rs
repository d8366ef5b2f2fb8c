//! `AML_SCORER_MODEL_URL`: the model itself downloaded from Azurite over HTTPS with the managed
//! identity at `init`, checked (size, digest, ONNX) and served from memory, and every failure a
//! user can meet named with what to fix.

use sha2::{Digest, Sha256};

use super::*;

/// The bundled sample model with `padding` bytes of metadata appended: protobuf merges
/// concatenated messages, so this is the same model in a file of any size.
fn sample_model(padding: usize) -> Vec<u8> {
    let mut bytes = std::fs::read(repo_path("model/sklearn_regression_model.onnx")).unwrap();
    if padding > 0 {
        let mut entry = vec![0x0a, 3, b'p', b'a', b'd', 0x12];
        put_varint(&mut entry, padding as u64);
        entry.resize(entry.len() + padding, b'x');
        bytes.push(0x72); // ModelProto.metadata_props (14), length-delimited
        put_varint(&mut bytes, entry.len() as u64);
        bytes.extend_from_slice(&entry);
    }
    bytes
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The identity settings of `Setup`, without the start-up blob, and the model at `blob` of a
/// fresh container holding `model`. Returns the setup and the container.
async fn model_setup(blob: &str, model: &[u8]) -> (Setup, String) {
    let mut setup = Setup::new(Mode::AzureMl, &[]).await;
    setup.env.retain(|(k, _)| {
        ![
            "STORAGE_ACCOUNT_NAME",
            "STORAGE_CONTAINER_NAME",
            "FILE_NAME",
            "STORAGE_BLOB_ENDPOINT",
        ]
        .contains(&k.as_str())
    });
    let container = format!("m{}", uuid::Uuid::new_v4().simple());
    let azurite = Azurite::shared();
    azurite.upload(&container, blob, model).await;
    setup.set(
        "AML_SCORER_MODEL_URL",
        &format!("{}/{container}/{blob}", azurite.endpoint()),
    );
    // The model folder does not matter any more: an empty one is fine.
    let empty = tempfile::tempdir().unwrap().keep();
    setup.set("AZUREML_MODEL_DIR", &empty.display().to_string());
    (setup, container)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_of_several_megabytes_is_downloaded_checked_and_served() {
    let model = sample_model(6_000_000);
    let digest = hex(&Sha256::digest(&model));
    let (mut setup, _) = model_setup("models/v1/regressor.onnx", &model).await;
    setup.set("AML_SCORER_MODEL_SHA256", &digest.to_uppercase());
    let server = setup.start();
    server.wait_ready(Duration::from_secs(60)).await;
    assert_sample_predictions(&post(&server, sample_request()).await);
    let logs = server.logs();
    assert!(logs.contains("\"message\":\"model downloaded\""), "{logs}");
    assert!(logs.contains(&format!("\"bytes\":{}", model.len())), "{logs}");
    assert!(logs.contains(&digest), "{logs}");
    assert!(logs.contains("blob step skipped"), "{logs}");
    setup.assert_no_secrets(&logs);
    // Named after the blob, in the V2 routes too.
    let metadata = client()
        .get(server.url("/v2/models/regressor"))
        .send()
        .await
        .unwrap();
    assert_eq!(metadata.status(), 200);
    // The download is an init step of its own in the metrics.
    let metrics = get_text(&server, "/metrics").await;
    assert!(metrics.contains("step=\"download\""), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_mismatch_names_both_digests() {
    let model = sample_model(0);
    let (mut setup, _) = model_setup("model.onnx", &model).await;
    let wrong = "ab".repeat(32);
    setup.set("AML_SCORER_MODEL_SHA256", &wrong);
    let logs = setup.expect_exit_3("download");
    assert!(
        logs.contains(&wrong) && logs.contains(&hex(&Sha256::digest(&model))),
        "{logs}"
    );
    assert!(logs.contains("AML_SCORER_MODEL_SHA256"), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_over_the_size_limit_is_refused_before_it_is_read() {
    let (mut setup, _) = model_setup("model.onnx", &sample_model(0)).await;
    setup.set("AML_SCORER_MAX_MODEL_BYTES", "100");
    let logs = setup.expect_exit_3("download");
    assert!(
        logs.contains("over the limit of 100 bytes (AML_SCORER_MAX_MODEL_BYTES)"),
        "{logs}"
    );
    assert!(
        !logs.contains("downloading the model\",\"step\":\"download\",\"received"),
        "{logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_blob_or_container_is_named_with_the_setting() {
    let (mut setup, container) = model_setup("model.onnx", &sample_model(0)).await;
    let azurite = Azurite::shared();
    setup.set(
        "AML_SCORER_MODEL_URL",
        &format!("{}/{container}/nope.onnx", azurite.endpoint()),
    );
    let logs = setup.expect_exit_3("download");
    assert!(
        logs.contains("nope.onnx does not exist") && logs.contains("check AML_SCORER_MODEL_URL"),
        "{logs}"
    );

    setup.set(
        "AML_SCORER_MODEL_URL",
        &format!("{}/no-such-container/model.onnx", azurite.endpoint()),
    );
    let logs = setup.expect_exit_3("download");
    assert!(
        logs.contains("container no-such-container does not exist"),
        "{logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blob_that_is_not_onnx_says_so() {
    let (setup, _) = model_setup("model.onnx", b"Hello world! This is not a model.").await;
    let logs = setup.expect_exit_3("model");
    assert!(logs.contains("as ONNX"), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_storage_refuses_stops_the_download_with_exit_3() {
    let (setup, _) = model_setup("model.onnx", &sample_model(0)).await;
    setup.identity.script([Answer::WrongAudience]);
    let logs = setup.expect_exit_3("download");
    assert!(logs.contains("rejected the managed-identity token"), "{logs}");
}
