//! `init` against real parts: Azurite over HTTPS with `--oauth basic`, and the local identity
//! endpoint in each protocol, with faults injected. Every failure must exit 3 with a line a user
//! can act on, and no log may contain the secret or a token.

use std::time::{Duration, Instant};

use crate::common::{azurite::Azurite, *};
use local_identity::{Answer, ExpiresOnForm, IdentityEndpoint, Mode, Options};

const HELLO: &[u8] = b"Hello world!";

struct Setup {
    identity: IdentityEndpoint,
    secret: String,
    env: Vec<(String, String)>,
}

impl Setup {
    async fn new(mode: Mode, client_ids: &[&str]) -> Setup {
        let azurite = Azurite::shared();
        let container = format!("c{}", uuid::Uuid::new_v4().simple());
        azurite.upload(&container, "hello.txt", HELLO).await;
        let secret = format!("secret-{}", uuid::Uuid::new_v4().simple());
        let options = Options {
            mode,
            secret: secret.clone(),
            client_ids: client_ids.iter().map(|s| s.to_string()).collect(),
            ..Options::default()
        };
        let identity = IdentityEndpoint::start("127.0.0.1:0".parse().unwrap(), options)
            .await
            .unwrap();
        let mut env = vec![
            ("STORAGE_ACCOUNT_NAME".to_owned(), azurite::ACCOUNT.to_owned()),
            ("STORAGE_CONTAINER_NAME".to_owned(), container.clone()),
            ("FILE_NAME".to_owned(), "hello.txt".to_owned()),
            ("STORAGE_BLOB_ENDPOINT".to_owned(), azurite.endpoint()),
            (
                "AML_SCORER_CA_FILE".to_owned(),
                azurite.ca_file.display().to_string(),
            ),
            (
                "AML_SCORER_IDENTITY_RETRY_BUDGET_MS".to_owned(),
                "10000".to_owned(),
            ),
        ];
        let source: Vec<(&str, String)> = match mode {
            Mode::AzureMl => vec![("MSI_ENDPOINT", identity.url()), ("MSI_SECRET", secret.clone())],
            Mode::AppService => vec![
                ("IDENTITY_ENDPOINT", identity.url()),
                ("IDENTITY_HEADER", secret.clone()),
            ],
            Mode::Imds => vec![("AZURE_POD_IDENTITY_AUTHORITY_HOST", identity.url())],
        };
        env.extend(source.into_iter().map(|(k, v)| (k.to_owned(), v)));
        Setup {
            identity,
            secret,
            env,
        }
    }

    fn set(&mut self, name: &str, value: &str) {
        self.env.retain(|(k, _)| k != name);
        self.env.push((name.to_owned(), value.to_owned()));
    }

    fn start(&self) -> Server {
        let env: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Server::start(&[], &env)
    }

    /// Starts the server, expects `init` to fail: exit 3 with one line naming the step, and no
    /// secret or token in the log. Returns the log.
    fn expect_exit_3(&self, step: &str) -> String {
        let mut server = self.start();
        let status = server
            .wait_exit(Duration::from_secs(60))
            .expect("init fails and the process exits");
        let logs = server.logs();
        assert_eq!(status.code(), Some(3), "{logs}");
        assert!(logs.contains(&format!("init failed at step {step}")), "{logs}");
        self.assert_no_secrets(&logs);
        logs
    }

    fn assert_no_secrets(&self, logs: &str) {
        assert!(!logs.contains(&self.secret), "the secret leaked:\n{logs}");
        // Every JWT starts with the base64 of `{"`.
        assert!(!logs.contains("eyJ"), "a token leaked:\n{logs}");
    }
}

async fn assert_ready_and_read_the_blob(setup: &Setup) -> Server {
    let server = setup.start();
    server.wait_ready(Duration::from_secs(60)).await;
    let logs = server.logs();
    assert!(logs.contains("Blob contains: Hello world!"), "{logs}");
    assert!(logs.contains("\"size\":12"), "{logs}");
    setup.assert_no_secrets(&logs);
    assert_sample_predictions(&post(&server, sample_request()).await);
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_assigned_identity_reads_the_blob_and_becomes_ready() {
    let setup = Setup::new(Mode::AzureMl, &[]).await;
    assert_ready_and_read_the_blob(&setup).await;
    let seen = setup.identity.seen();
    let first = seen.first().expect("the identity endpoint was called");
    assert_eq!(first.header("secret"), Some(setup.secret.as_str()));
    assert_eq!(first.header("metadata"), Some("true"));
    assert_eq!(first.param("resource"), Some("https://storage.azure.com/"));
    assert_eq!(first.param("api-version"), Some("2017-09-01"));
    assert_eq!(first.param("clientid"), None);
    assert_eq!(first.param("client_id"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_assigned_identity_sends_its_client_id_as_clientid() {
    let client_id = "1b2c3d4e-0000-4000-8000-00000000cafe";
    let mut setup = Setup::new(Mode::AzureMl, &[client_id]).await;
    setup.set("UAI_CLIENT_ID", client_id);
    assert_ready_and_read_the_blob(&setup).await;
    assert_eq!(setup.identity.seen()[0].param("clientid"), Some(client_id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_client_id_is_reported_as_such() {
    let mut setup = Setup::new(Mode::AzureMl, &[]).await;
    setup.set("UAI_CLIENT_ID", "00000000-dead-beef-0000-000000000000");
    let logs = setup.expect_exit_3("identity");
    assert!(
        logs.contains("client id 00000000-dead-beef-0000-000000000000"),
        "{logs}"
    );
    assert!(logs.contains("Identity not found"), "{logs}");
    assert_eq!(setup.identity.seen().len(), 1, "a 400 is not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_service_identity_endpoint_is_used_with_its_header() {
    let client_id = "app-service-client";
    let mut setup = Setup::new(Mode::AppService, &[client_id]).await;
    setup.set("AZURE_CLIENT_ID", client_id);
    assert_ready_and_read_the_blob(&setup).await;
    let seen = &setup.identity.seen()[0];
    assert_eq!(seen.header("x-identity-header"), Some(setup.secret.as_str()));
    assert_eq!(seen.param("api-version"), Some("2019-08-01"));
    assert_eq!(seen.param("client_id"), Some(client_id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imds_is_used_when_no_endpoint_variables_are_set() {
    let setup = Setup::new(Mode::Imds, &[]).await;
    assert_ready_and_read_the_blob(&setup).await;
    let seen = &setup.identity.seen()[0];
    assert_eq!(seen.header("metadata"), Some("true"));
    assert_eq!(seen.param("api-version"), Some("2018-02-01"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_expires_on_form_is_understood() {
    for form in [
        ExpiresOnForm::Number,
        ExpiresOnForm::NumericString,
        ExpiresOnForm::Date,
        ExpiresOnForm::Absent,
    ] {
        let setup = Setup::new(Mode::AzureMl, &[]).await;
        setup.identity.script([Answer::TokenWith(form)]);
        assert_ready_and_read_the_blob(&setup).await;
        assert_eq!(
            setup.identity.seen().len(),
            1,
            "{form:?}: the token was cached and reused for the blob read"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_then_a_token_becomes_ready() {
    let setup = Setup::new(Mode::AzureMl, &[]).await;
    setup.identity.script([Answer::Status(500), Answer::Status(503)]);
    assert_ready_and_read_the_blob(&setup).await;
    assert_eq!(setup.identity.seen().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_with_retry_after_is_waited_out_then_ready() {
    let setup = Setup::new(Mode::AzureMl, &[]).await;
    setup.identity.script([Answer::RetryAfter(429, 1)]);
    let started = Instant::now();
    let server = setup.start();
    // Readiness is 503 while `init` waits.
    let ready = client()
        .get(server.url("/health/ready"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(ready, 503);
    server.wait_ready(Duration::from_secs(60)).await;
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 was honoured"
    );
    assert_eq!(setup.identity.seen().len(), 2);
    assert!(server.logs().contains("Blob contains: Hello world!"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imds_410_for_a_while_then_a_token_becomes_ready() {
    let setup = Setup::new(Mode::Imds, &[]).await;
    setup.identity.script([Answer::StatusFor {
        status: 410,
        duration: Duration::from_secs(2),
    }]);
    assert_ready_and_read_the_blob(&setup).await;
    assert!(setup.identity.seen().len() >= 3);
}

mod faults;
mod model_url;
