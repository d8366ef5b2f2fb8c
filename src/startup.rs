//! The application as `main` and the tests run it: bind first (so liveness answers while `init`
//! runs), then serve, run `init` beside it, and drain on shutdown.

use std::{
    future::{Future, IntoFuture},
    net::SocketAddr,
    time::Duration,
};

use anyhow::Context;
use tokio::{net::TcpListener, sync::watch};

use crate::{api, config::Config, init};

/// `init` failed; the cause was logged. `main` exits 3, as the Azure ML server does.
#[derive(Debug, thiserror::Error)]
#[error("init failed")]
pub struct InitFailed;

/// A bound, not yet serving, application.
pub struct Application {
    listener: TcpListener,
    state: api::AppState,
    config: Config,
}

impl Application {
    /// Binds the configured address (port 0 picks a free one).
    pub async fn bind(config: Config) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        let state = api::AppState::new(
            config.scoring_timeout,
            config.max_body_bytes,
            &config.model_name,
            config.batching.is_some(),
        );
        Ok(Application {
            listener,
            state,
            config,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has a local address")
    }

    /// Serves until `shutdown` resolves (then drains in-flight requests, bounded by the scoring
    /// timeout) or until `init` fails.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), InitFailed> {
        let address = self.local_addr();
        tracing::info!(%address, "listening");
        tracing::info!(config = ?self.config, "configuration");
        let readiness = self.state.readiness.clone();
        let (stop_tx, stop_rx) = watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        });
        let graceful = {
            let mut stop = stop_rx.clone();
            async move {
                let _ = stop.wait_for(|stopping| *stopping).await;
                readiness.mark_stopping();
            }
        };
        let drain_bound = self.config.scoring_timeout + Duration::from_secs(1);
        let drain_deadline = async move {
            let mut stop = stop_rx;
            let _ = stop.wait_for(|stopping| *stopping).await;
            tokio::time::sleep(drain_bound).await;
        };
        let server = axum::serve(self.listener, api::router(self.state.clone()))
            .with_graceful_shutdown(graceful)
            .into_future();
        let init = init::run(
            self.config,
            self.state.readiness.clone(),
            self.state.metrics.clone(),
        );
        tokio::pin!(server, init, drain_deadline);
        let mut init_done = false;
        loop {
            tokio::select! {
                served = &mut server => {
                    if let Err(error) = served {
                        tracing::error!(%error, "server stopped with an error");
                    }
                    tracing::info!("stopped");
                    return Ok(());
                }
                outcome = &mut init, if !init_done => {
                    init_done = true;
                    if outcome.is_err() {
                        return Err(InitFailed);
                    }
                }
                () = &mut drain_deadline => {
                    tracing::warn!(bound_ms = drain_bound.as_millis() as u64, "in-flight requests did not finish in time; stopping anyway");
                    return Ok(());
                }
            }
        }
    }
}
