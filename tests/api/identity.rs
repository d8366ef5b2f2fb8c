//! The managed-identity credential on its own, against the local identity endpoint: caching,
//! refresh before expiry, and the `TokenCredential` contract the Blob client relies on.

use std::time::Duration;

use aml_scorer::azure::{http_client, IdentitySource, ManagedIdentityCredential, RetryPolicy};
use azure_core::credentials::{Secret, TokenCredential};
use local_identity::{Answer, IdentityEndpoint, Mode, Options};

async fn credential() -> (IdentityEndpoint, ManagedIdentityCredential) {
    let options = Options {
        mode: Mode::AzureMl,
        ..Options::default()
    };
    let endpoint = IdentityEndpoint::start("127.0.0.1:0".parse().unwrap(), options.clone())
        .await
        .unwrap();
    let source = IdentitySource::AzureMl {
        endpoint: endpoint.url().parse().unwrap(),
        secret: Secret::new(options.secret),
    };
    let http = http_client(None, false).unwrap();
    let credential = ManagedIdentityCredential::new(
        source,
        None,
        http,
        RetryPolicy::with_budget(Duration::from_secs(5)),
    );
    (endpoint, credential)
}

const SCOPE: &str = "https://storage.azure.com/.default";

#[tokio::test]
async fn a_long_lived_token_is_cached() {
    let (endpoint, credential) = credential().await;

    let first = credential.get_token(&[SCOPE], None).await.unwrap();
    let second = credential.get_token(&[SCOPE], None).await.unwrap();

    assert_eq!(endpoint.seen().len(), 1);
    assert_eq!(first.token.secret(), second.token.secret());
    assert_eq!(
        endpoint.seen()[0].param("resource"),
        Some("https://storage.azure.com/")
    );
}

#[tokio::test]
async fn a_token_within_five_minutes_of_expiry_is_refreshed() {
    let (endpoint, credential) = credential().await;
    endpoint.script([Answer::ShortLived(240)]);

    let near_expiry = credential.get_token(&[SCOPE], None).await.unwrap();
    let refreshed = credential.get_token(&[SCOPE], None).await.unwrap();
    let cached = credential.get_token(&[SCOPE], None).await.unwrap();

    assert_eq!(endpoint.seen().len(), 2);
    assert!(refreshed.expires_on > near_expiry.expires_on);
    assert_eq!(refreshed.token.secret(), cached.token.secret());
}

#[tokio::test]
async fn the_credential_debug_output_has_no_secret() {
    let (_endpoint, credential) = credential().await;
    credential.get_token(&[SCOPE], None).await.unwrap();
    let debug = format!("{credential:?}");
    assert!(
        !debug.contains("local-msi-secret") && !debug.contains("eyJ"),
        "{debug}"
    );
}
