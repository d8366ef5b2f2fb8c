//! A telemetry collector stand-in on 127.0.0.1 port 0, over plain HTTP (an OTLP collector) or
//! HTTPS with a test CA (Application Insights' ingestion: its exporter sends over TLS only):
//! records every request (path, headers, body) and answers 200 with an empty body.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    body::Bytes,
    http::{HeaderMap, Uri},
    Router,
};
use hyper_util::{rt::TokioIo, service::TowerToHyperService};
use tokio_rustls::{
    rustls::{
        self,
        pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer},
    },
    TlsAcceptor,
};

/// One request the stand-in received.
#[derive(Clone)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

pub struct StandIn {
    pub addr: SocketAddr,
    /// The CA that signed its certificate (HTTPS only), for `AML_SCORER_CA_FILE`.
    pub ca_file: Option<PathBuf>,
    received: Arc<Mutex<Vec<Received>>>,
    server: tokio::task::JoinHandle<()>,
    _certificates: Option<tempfile::TempDir>,
}

impl StandIn {
    /// Over plain HTTP.
    pub async fn start() -> StandIn {
        Self::serve(None).await
    }

    /// Over HTTPS, with a certificate for 127.0.0.1 from a fresh test CA.
    pub async fn start_tls() -> StandIn {
        let dir = tempfile::tempdir().unwrap();
        crate::common::azurite::make_certificates(dir.path());
        Self::serve(Some(dir)).await
    }

    async fn serve(certificates: Option<tempfile::TempDir>) -> StandIn {
        let received = Arc::new(Mutex::new(Vec::new()));
        let record = {
            let received = received.clone();
            move |uri: Uri, headers: HeaderMap, body: Bytes| {
                let received = received.clone();
                async move {
                    let path = uri.path().to_owned();
                    received.lock().unwrap().push(Received { path, headers, body });
                    // Application Insights' 200 needs no body; an empty body is an empty
                    // ExportTraceServiceResponse to an OTLP exporter.
                    ""
                }
            }
        };
        let app = Router::new().fallback(record);
        let acceptor = certificates.as_ref().map(|dir| acceptor(dir.path()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (service, acceptor) = (TowerToHyperService::new(app.clone()), acceptor.clone());
                tokio::spawn(async move {
                    let http = hyper::server::conn::http1::Builder::new();
                    let _ = match acceptor {
                        Some(acceptor) => match acceptor.accept(stream).await {
                            Ok(tls) => http.serve_connection(TokioIo::new(tls), service).await,
                            Err(_) => return,
                        },
                        None => http.serve_connection(TokioIo::new(stream), service).await,
                    };
                });
            }
        });
        StandIn {
            addr,
            ca_file: certificates.as_ref().map(|dir| dir.path().join("ca.pem")),
            received,
            server,
            _certificates: certificates,
        }
    }

    /// Every request so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until `done` holds for what was received (the exporters batch every 2 s).
    pub async fn wait_until(&self, timeout: Duration, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let received = self.received();
            if done(&received) || Instant::now() >= deadline {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// TLS with the leaf certificate `make_certificates` wrote in `dir`.
fn acceptor(dir: &Path) -> TlsAcceptor {
    let chain = vec![CertificateDer::from_pem_file(dir.join("leaf.pem")).unwrap()];
    let key = PrivateKeyDer::from_pem_file(dir.join("leaf.key")).unwrap();
    let config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
    TlsAcceptor::from(Arc::new(config))
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.server.abort();
    }
}
