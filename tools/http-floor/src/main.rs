//! The "HTTP floor" of the benchmark: the same axum + tokio stack as the server, answering every
//! `POST /score` with a constant 39-byte JSON body (the sample's answer), so that the benchmark
//! can show how much of a request's cost is scoring and how much is HTTP. It also answers
//! `POST /modeldata/log` with 200 and an empty body, the body read: the stand-in collector sidecar
//! of `scripts/bench-collection.sh`, as cheap as the server's own stack so that the stand-in
//! does not take the load generator's core.
//!
//! `cargo run --release -p http-floor -- 5002`

use axum::{http::header, routing::post, Router};

const ANSWER: &str = "[11055.977245525679, 4503.079536107787]";

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(5002);
    let app = Router::new()
        .route(
            "/score",
            post(|_body: axum::body::Bytes| async { ([(header::CONTENT_TYPE, "application/json")], ANSWER) }),
        )
        .route("/modeldata/log", post(|_body: axum::body::Bytes| async {}));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await
}
