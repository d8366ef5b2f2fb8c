//! `init` failures: each exits 3 with one line naming the step and what to fix, and the
//! retries stop where the protocol says they must.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_400_fails_at_once_without_retrying() {
    let setup = Setup::new(Mode::AzureMl, &[]).await;
    setup.identity.script([Answer::Status(400)]);
    let started = Instant::now();
    let logs = setup.expect_exit_3("identity");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(logs.contains("HTTP 400"), "{logs}");
    assert_eq!(setup.identity.seen().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_fails_with_exit_3() {
    let mut setup = Setup::new(Mode::AzureMl, &[]).await;
    setup.set("MSI_SECRET", "not-the-secret");
    let logs = setup.expect_exit_3("identity");
    assert!(
        logs.contains("HTTP 401") && !logs.contains("not-the-secret"),
        "{logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_json_answer_fails_with_exit_3() {
    let setup = Setup::new(Mode::AzureMl, &[]).await;
    setup.identity.script([Answer::NotJson]);
    assert!(setup.expect_exit_3("identity").contains("not JSON"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_without_access_token_fails_with_exit_3() {
    let setup = Setup::new(Mode::AzureMl, &[]).await;
    setup.identity.script([Answer::NoAccessToken]);
    assert!(setup.expect_exit_3("identity").contains("no access_token"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identity_endpoint_down_past_the_budget_fails_after_the_budget() {
    let mut setup = Setup::new(Mode::AzureMl, &[]).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    setup.set("MSI_ENDPOINT", &format!("http://{closed}/msi/token"));
    setup.set("AML_SCORER_IDENTITY_RETRY_BUDGET_MS", "2500");
    let started = Instant::now();
    let logs = setup.expect_exit_3("identity");
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(2000) && elapsed < Duration::from_secs(15),
        "{elapsed:?}"
    );
    assert!(logs.contains("gave no token after"), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_refused_by_storage_with_exit_3() {
    let setup = Setup::new(Mode::AzureMl, &[]).await;
    setup.identity.script([Answer::Expired]);
    let logs = setup.expect_exit_3("blob");
    assert!(logs.contains("HTTP 401") || logs.contains("HTTP 403"), "{logs}");
    assert!(logs.contains("rejected the managed-identity token"), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_for_another_audience_is_refused_with_exit_3() {
    let setup = Setup::new(Mode::AzureMl, &[]).await;
    setup.identity.script([Answer::WrongAudience]);
    let logs = setup.expect_exit_3("blob");
    assert!(logs.contains("rejected the managed-identity token"), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_blob_is_named() {
    let mut setup = Setup::new(Mode::AzureMl, &[]).await;
    setup.set("FILE_NAME", "nope.txt");
    let logs = setup.expect_exit_3("blob");
    assert!(
        logs.contains("BlobNotFound") && logs.contains("blob nope.txt does not exist"),
        "{logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_container_is_named() {
    let mut setup = Setup::new(Mode::AzureMl, &[]).await;
    setup.set("STORAGE_CONTAINER_NAME", "missing-container");
    let logs = setup.expect_exit_3("blob");
    assert!(
        logs.contains("ContainerNotFound") && logs.contains("container missing-container does not exist"),
        "{logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_storage_account_fails_with_exit_3() {
    let mut setup = Setup::new(Mode::AzureMl, &[]).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    setup.set(
        "STORAGE_BLOB_ENDPOINT",
        &format!("https://{closed}/devstoreaccount1"),
    );
    let logs = setup.expect_exit_3("blob");
    assert!(logs.contains("cannot reach Blob Storage"), "{logs}");
}
