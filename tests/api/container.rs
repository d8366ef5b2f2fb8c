//! The image `aml-scorer:local` (built by `scripts/build-image.sh`, which `scripts/test.sh` runs)
//! under podman: non-root, small, read-only, serving the sample, running the whole `init` against
//! Azurite and the local identity endpoint, and stopping cleanly on SIGTERM.

use std::{
    net::TcpListener,
    process::Command,
    time::{Duration, Instant},
};

use crate::common::{azurite::Azurite, *};
use local_identity::{IdentityEndpoint, Mode, Options};

const IMAGE: &str = "aml-scorer:local";
const USER: &str = "65532:65532";

fn podman() -> Command {
    let mut command = Command::new("podman");
    command.env("CONTAINERS_CONF", repo_path("scripts/containers.conf"));
    command
}

fn require_image() {
    let exists = podman()
        .args(["image", "exists", IMAGE])
        .status()
        .unwrap_or_else(|e| {
            panic!("podman is not installed ({e}): run scripts/test.sh, which installs it and builds {IMAGE}")
        });
    assert!(
        exists.success(),
        "image {IMAGE} is missing: run scripts/build-image.sh (scripts/test.sh does)"
    );
}

/// Removes the container when the test ends, however it ends.
struct Container(String);

impl Drop for Container {
    fn drop(&mut self) {
        let _ = podman().args(["rm", "-f", "-t", "0", &self.0]).output();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs the image read-only as its non-root user on the host network with 512 MB of memory,
/// with `env`.
fn run(env: &[(&str, String)], volumes: &[String]) -> (Server, Container) {
    require_image();
    let name = format!("aml-scorer-test-{}", uuid::Uuid::new_v4().simple());
    let mut command = podman();
    command.args([
        "run",
        "--rm",
        "--name",
        &name,
        "--read-only",
        "--user",
        USER,
        "--network",
        "host",
        // A memory limit, as every Azure ML instance type and Kubernetes pod has.
        "--memory",
        "512m",
    ]);
    command.args([
        "-e",
        &format!("AML_SCORER_PORT={}", free_port()),
        // Containers share the host network: gRPC's default port would be taken by the first.
        "-e",
        "AML_SCORER_GRPC_PORT=0",
        "-e",
        "AML_SCORER_LOG_FORMAT=json",
    ]);
    for (key, value) in env {
        command.args(["-e", &format!("{key}={value}")]);
    }
    for volume in volumes {
        command.args(["-v", volume]);
    }
    command.arg(IMAGE);
    let container = Container(name);
    let server = Server::spawn(command).unwrap_or_else(|(logs, status)| panic!("{status}: {logs}"));
    (server, container)
}

#[test]
fn the_image_is_small_and_runs_as_a_non_root_user() {
    require_image();
    let output = podman()
        .args([
            "image",
            "inspect",
            "--format",
            "{{.Config.User}} {{.Size}}",
            IMAGE,
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    let (user, size) = text.trim().split_once(' ').expect("user and size");
    let size: u64 = size.parse().unwrap();
    println!("image {IMAGE}: {:.1} MB, user {user}", size as f64 / 1e6);
    assert_eq!(user, USER);
    // 40 MB (30 MB until tensors of any rank): tract's multithread-mm for --intra-op-threads
    // (rayon and the kernels' pool-splitting variants) added about 4.8 MB to the binary, the text
    // operators and tensor types about 1.5 MB (34.3 MB measured with all of them).
    assert!(size < 40_000_000, "{size} bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_container_serves_the_sample_request() {
    let (server, _container) = run(&[], &[]);
    server.wait_ready(Duration::from_secs(60)).await;
    assert_sample_predictions(&post(&server, sample_request()).await);
    assert!(server
        .logs()
        .contains("/opt/aml-scorer/model/sklearn_regression_model.onnx"));
    // The in-flight budget follows the container's memory limit (cgroup v1 or v2).
    assert!(
        server
            .logs()
            .contains("half the container memory limit of 536870912 bytes"),
        "{}",
        server.logs()
    );
}

/// The local identity endpoint in Azure ML's protocol, with the secret the containers are given.
async fn identity_endpoint() -> IdentityEndpoint {
    let options = Options {
        mode: Mode::AzureMl,
        secret: "container-secret".into(),
        ..Options::default()
    };
    IdentityEndpoint::start("127.0.0.1:0".parse().unwrap(), options)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_container_runs_the_whole_init_against_azurite_and_the_identity_endpoint() {
    let azurite = Azurite::shared();
    azurite
        .upload("container-test", "hello.txt", b"Hello world!")
        .await;
    let identity = identity_endpoint().await;
    let certs = azurite.ca_file.parent().unwrap().display().to_string();
    let env = [
        ("MSI_ENDPOINT", identity.url()),
        ("MSI_SECRET", "container-secret".to_owned()),
        ("STORAGE_ACCOUNT_NAME", azurite::ACCOUNT.to_owned()),
        ("STORAGE_CONTAINER_NAME", "container-test".to_owned()),
        ("FILE_NAME", "hello.txt".to_owned()),
        ("STORAGE_BLOB_ENDPOINT", azurite.endpoint()),
        ("AML_SCORER_CA_FILE", "/certs/ca.pem".to_owned()),
    ];
    let (server, _container) = run(&env, &[format!("{certs}:/certs:ro")]);
    server.wait_ready(Duration::from_secs(60)).await;
    let logs = server.logs();
    assert!(logs.contains("Blob contains: Hello world!"), "{logs}");
    assert!(
        !logs.contains("container-secret") && !logs.contains("eyJ"),
        "{logs}"
    );
    assert_eq!(identity.seen().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_container_serves_a_model_downloaded_from_azurite_with_an_empty_model_folder() {
    let azurite = Azurite::shared();
    let model = std::fs::read(repo_path("model/sklearn_regression_model.onnx")).unwrap();
    azurite
        .upload("container-models", "v1/downloaded.onnx", &model)
        .await;
    let identity = identity_endpoint().await;
    let certs = azurite.ca_file.parent().unwrap().display().to_string();
    let env = [
        ("MSI_ENDPOINT", identity.url()),
        ("MSI_SECRET", "container-secret".to_owned()),
        (
            "AML_SCORER_MODEL_URL",
            format!("{}/container-models/v1/downloaded.onnx", azurite.endpoint()),
        ),
        // A folder of the read-only image with no model in it.
        ("AZUREML_MODEL_DIR", "/etc/ssl".to_owned()),
        ("AML_SCORER_CA_FILE", "/certs/ca.pem".to_owned()),
    ];
    let (server, _container) = run(&env, &[format!("{certs}:/certs:ro")]);
    server.wait_ready(Duration::from_secs(60)).await;
    assert_sample_predictions(&post(&server, sample_request()).await);
    let logs = server.logs();
    assert!(logs.contains("model downloaded"), "{logs}");
    let metadata = client()
        .get(server.url("/v2/models/downloaded"))
        .send()
        .await
        .unwrap();
    assert_eq!(metadata.status(), 200, "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_container_with_exit_0_without_dropping_a_request() {
    let (mut server, container) = run(&[], &[]);
    server.wait_ready(Duration::from_secs(60)).await;
    let request = HalfSentRequest::start(server.addr);
    std::thread::sleep(Duration::from_millis(200));

    let started = Instant::now();
    let killed = podman()
        .args(["kill", "--signal", "TERM", &container.0])
        .output()
        .unwrap();
    assert!(
        killed.status.success(),
        "{}",
        String::from_utf8_lossy(&killed.stderr)
    );
    assert!(
        server.wait_for_log("stopping", Duration::from_secs(5)),
        "{}",
        server.logs()
    );
    let answer = request.finish();

    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let status = server
        .wait_exit(Duration::from_secs(10))
        .expect("the container stops within 10 s");
    assert_eq!(status.code(), Some(0));
    assert!(started.elapsed() < Duration::from_secs(10));
}
