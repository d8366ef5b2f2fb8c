//! CORS through the real server: preflights and simple requests from allowed and refused
//! origins, `*`, on `/score`, KServe V2 and the health routes; patterns refused at start.

use std::time::Duration;

use reqwest::{header::HeaderMap, Method};

use crate::common::*;

const ALLOWED: &str = "https://app.contoso.com";
const OTHER_ALLOWED: &str = "http://localhost:3000";
const REFUSED: &str = "https://evil.example";

async fn server_with_origins(origins: &str) -> Server {
    let server = Server::start(&[], &[("AML_CORS_ORIGINS", origins)]);
    server.wait_ready(Duration::from_secs(20)).await;
    server
}

/// A browser's preflight for a POST with a JSON body and a client request id.
async fn preflight(server: &Server, path: &str, origin: &str) -> (u16, HeaderMap) {
    let response = client()
        .request(Method::OPTIONS, server.url(path))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,x-ms-client-request-id",
        )
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.headers().clone())
}

async fn simple(
    server: &Server,
    method: Method,
    path: &str,
    origin: &str,
    body: String,
) -> (u16, HeaderMap, String) {
    let response = client()
        .request(method, server.url(path))
        .header("origin", origin)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|value| value.to_str().unwrap())
}

fn listed(headers: &HeaderMap, name: &str) -> Vec<String> {
    header(headers, name)
        .unwrap_or_else(|| panic!("no {name} in {headers:?}"))
        .split(',')
        .map(|item| item.trim().to_ascii_lowercase())
        .collect()
}

#[tokio::test]
async fn preflights_from_an_allowed_origin_answer_get_post_and_the_requested_headers_on_every_route() {
    let server = server_with_origins(&format!("{ALLOWED}, {OTHER_ALLOWED}")).await;
    for path in [
        "/score",
        "/v2/models/sklearn_regression_model/infer",
        "/v2/health/ready",
        "/health/ready",
        "/",
    ] {
        for origin in [ALLOWED, OTHER_ALLOWED] {
            let (status, headers) = preflight(&server, path, origin).await;
            assert_eq!(status, 200, "{path}");
            assert_eq!(
                header(&headers, "access-control-allow-origin"),
                Some(origin),
                "{path}"
            );
            let methods = listed(&headers, "access-control-allow-methods");
            assert!(
                methods.contains(&"get".into()) && methods.contains(&"post".into()),
                "{methods:?}"
            );
            let allowed = listed(&headers, "access-control-allow-headers");
            assert!(allowed.contains(&"content-type".into()), "{allowed:?}");
            assert!(allowed.contains(&"x-ms-client-request-id".into()), "{allowed:?}");
            // Preflights go through the middleware like any request.
            assert!(header(&headers, "x-request-id").is_some(), "{path}: {headers:?}");
        }
    }
}

#[tokio::test]
async fn a_refused_origin_gets_no_cors_headers_but_its_answer_is_unchanged() {
    let server = server_with_origins(ALLOWED).await;
    let (_, headers) = preflight(&server, "/score", REFUSED).await;
    assert_eq!(header(&headers, "access-control-allow-origin"), None);
    let (status, headers, body) = simple(&server, Method::POST, "/score", REFUSED, sample_request()).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "access-control-allow-origin"), None);
    let predictions: Vec<f64> = serde_json::from_str(&body).unwrap();
    assert_eq!(predictions.len(), 2);
}

#[tokio::test]
async fn answers_to_an_allowed_origin_carry_it_and_expose_the_request_ids() {
    let server = server_with_origins(ALLOWED).await;
    let started = server.logs();
    let line = started
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|line| line["message"] == "CORS on")
        .unwrap_or_else(|| panic!("no `CORS on` line:\n{started}"));
    assert_eq!(line["origins"], ALLOWED, "the start line names the origins");
    let (status, headers, body) = simple(&server, Method::POST, "/score", ALLOWED, sample_request()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(header(&headers, "access-control-allow-origin"), Some(ALLOWED));
    let exposed = listed(&headers, "access-control-expose-headers");
    for id in ["x-ms-request-id", "x-request-id"] {
        assert!(exposed.contains(&id.to_owned()), "{exposed:?}");
        assert!(header(&headers, id).is_some());
    }
    for path in ["/health/live", "/v2/health/live", "/"] {
        let (status, headers, _) = simple(&server, Method::GET, path, ALLOWED, String::new()).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(
            header(&headers, "access-control-allow-origin"),
            Some(ALLOWED),
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_star_allows_any_origin_and_a_plain_options_on_score_still_answers_200() {
    let server = server_with_origins("*").await;
    let (status, headers) = preflight(&server, "/score", REFUSED).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "access-control-allow-origin"), Some("*"));
    let (_, headers, _) = simple(
        &server,
        Method::GET,
        "/v2",
        "https://anyone.example",
        String::new(),
    )
    .await;
    assert_eq!(header(&headers, "access-control-allow-origin"), Some("*"));
    // With CORS on, the CORS layer answers every OPTIONS (200, as SPEC's `OPTIONS /score`).
    let response = client()
        .request(Method::OPTIONS, server.url("/score"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn without_origins_no_answer_carries_cors_headers() {
    let server = Server::start(&[], &[]);
    server.wait_ready(Duration::from_secs(20)).await;
    assert!(server.logs().contains("CORS off"), "{}", server.logs());
    let (_, headers) = preflight(&server, "/score", ALLOWED).await;
    assert_eq!(header(&headers, "access-control-allow-origin"), None);
    let (_, headers, _) = simple(&server, Method::POST, "/score", ALLOWED, sample_request()).await;
    assert_eq!(header(&headers, "access-control-allow-origin"), None);
}

#[test]
fn a_pattern_origin_stops_the_server_at_start_naming_the_setting() {
    let Err((logs, status)) = Server::try_start(&[], &[("AML_CORS_ORIGINS", r"https://.*\.contoso\.com")])
    else {
        panic!("the server started with a pattern origin");
    };
    assert_eq!(status.code(), Some(2), "{logs}");
    assert!(logs.contains("AML_CORS_ORIGINS"), "{logs}");
    assert!(logs.contains("regular expressions are not"), "{logs}");
}
