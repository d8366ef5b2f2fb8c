//! A local managed-identity endpoint that speaks the protocols of Azure ML (`MSI_ENDPOINT` +
//! `MSI_SECRET`), App Service (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`) and IMDS, and issues
//! unsigned JWTs that Azurite (`--oauth basic`) accepts. Tests script faults into it and read
//! what it was asked; `local-identity` (the binary) runs it for local `init` runs. It is a test
//! tool: it never talks to Azure and its tokens are worthless there.

mod answer;
mod jwt;

use std::{
    collections::VecDeque,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use axum::{
    extract::{RawQuery, State},
    http::{HeaderMap, StatusCode},
    response::Response,
    routing::get,
    Router,
};

pub use answer::{Answer, ExpiresOnForm};

/// Which platform's identity protocol to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Azure ML: `GET {MSI_ENDPOINT}?api-version=2017-09-01&resource=..&clientid=..`, header `secret`.
    AzureMl,
    /// App Service: `GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&..&client_id=..`, header `X-IDENTITY-HEADER`.
    AppService,
    /// IMDS: `GET /metadata/identity/oauth2/token?..&client_id=..`, header `Metadata: true`.
    Imds,
}

/// The path each mode serves tokens on.
pub fn token_path(mode: Mode) -> &'static str {
    match mode {
        Mode::AzureMl => "/msi/token",
        Mode::AppService => "/msi/identity",
        Mode::Imds => "/metadata/identity/oauth2/token",
    }
}

/// One request as the endpoint saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
}

impl Seen {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How the endpoint behaves.
#[derive(Debug, Clone)]
pub struct Options {
    pub mode: Mode,
    /// The value of `MSI_SECRET` / `IDENTITY_HEADER` it expects.
    pub secret: String,
    /// Tenant id placed in the token's issuer.
    pub tenant: String,
    /// Client ids of user-assigned identities it knows; any other requested id is refused.
    pub client_ids: Vec<String>,
    pub token_lifetime: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            mode: Mode::AzureMl,
            secret: "local-msi-secret".to_owned(),
            tenant: "72f988bf-86f1-41af-91ab-2d7cd011db47".to_owned(),
            client_ids: Vec::new(),
            token_lifetime: Duration::from_secs(3600),
        }
    }
}

struct Shared {
    options: Options,
    script: Mutex<VecDeque<(Answer, Option<Instant>)>>,
    seen: Mutex<Vec<Seen>>,
}

/// A running endpoint; dropping it does not stop it (it lives as long as the runtime).
#[derive(Clone)]
pub struct IdentityEndpoint {
    shared: Arc<Shared>,
    pub addr: SocketAddr,
}

impl IdentityEndpoint {
    /// Serves on `listen` (port 0 picks one) in the current tokio runtime.
    pub async fn start(listen: SocketAddr, options: Options) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let path = token_path(options.mode);
        let shared = Arc::new(Shared {
            options,
            script: Mutex::default(),
            seen: Mutex::default(),
        });
        let app = Router::new().route(path, get(token)).with_state(shared.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(IdentityEndpoint { shared, addr })
    }

    /// The URL to put in `MSI_ENDPOINT` / `IDENTITY_ENDPOINT` (IMDS: the host).
    pub fn url(&self) -> String {
        match self.shared.options.mode {
            Mode::Imds => format!("http://{}", self.addr),
            mode => format!("http://{}{}", self.addr, token_path(mode)),
        }
    }

    /// The next requests get these answers, in order; after them, tokens.
    pub fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.shared
            .script
            .lock()
            .unwrap()
            .extend(answers.into_iter().map(|a| (a, None)));
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }
}

/// Mints a token like the endpoint's (for test set-up, e.g. uploading to Azurite).
pub fn mint_token(tenant: &str, audience: &str, lifetime: Duration) -> String {
    jwt::mint(tenant, audience, None, now_secs(), lifetime.as_secs() as i64)
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

async fn token(State(shared): State<Arc<Shared>>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let query: Vec<(String, String)> = query
        .as_deref()
        .map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let seen = Seen {
        path: token_path(shared.options.mode).to_owned(),
        query,
        headers: headers
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect(),
    };
    shared.seen.lock().unwrap().push(seen.clone());
    if let Some(refusal) = answer::check_protocol(&shared.options, &seen) {
        return refusal;
    }
    let next = next_answer(&shared);
    answer::respond(&shared.options, &seen, next, now_secs()).await
}

/// Pops the next scripted answer; a timed status stays at the front until its time is up.
fn next_answer(shared: &Shared) -> Answer {
    let mut script = shared.script.lock().unwrap();
    loop {
        let Some((front, started)) = script.front_mut() else {
            return Answer::Token;
        };
        if let Answer::StatusFor { status, duration } = front {
            let started = *started.get_or_insert_with(Instant::now);
            if started.elapsed() < *duration {
                return Answer::Status(*status);
            }
            script.pop_front();
            continue;
        }
        return script.pop_front().map(|(a, _)| a).unwrap_or(Answer::Token);
    }
}

/// Status helper for answers.
pub(crate) fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}
