//! The application as `main` and the tests run it: bind first (so liveness answers while `init`
//! runs), then serve, run `init` beside it, and drain on shutdown.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{
    api,
    config::Config,
    grpc, init, serve,
    telemetry::{Metrics, RequestTracing},
};

pub use init::InitFailed;

/// How long the shutdown waits for collected payloads still queued to be sent.
const COLLECTION_FLUSH_BOUND: Duration = Duration::from_secs(5);

/// A bound, not yet serving, application.
pub struct Application {
    listener: TcpListener,
    /// `None` with `--grpc-port off`.
    grpc_listener: Option<TcpListener>,
    config: Config,
}

impl Application {
    /// Binds the configured address (port 0 picks a free one).
    pub async fn bind(config: Config) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        let grpc_listener = match config.grpc_listen {
            Some(address) => Some(
                TcpListener::bind(address)
                    .await
                    .with_context(|| format!("binding {address} for gRPC (AML_SCORER_GRPC_PORT)"))?,
            ),
            None => None,
        };
        Ok(Application {
            listener,
            grpc_listener,
            config,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has a local address")
    }

    /// The gRPC address actually bound, if gRPC is on.
    pub fn grpc_addr(&self) -> Option<SocketAddr> {
        self.grpc_listener.as_ref().map(|listener| {
            listener
                .local_addr()
                .expect("a bound listener has a local address")
        })
    }

    /// Serves until `shutdown` resolves (then drains in-flight requests, bounded by the scoring
    /// timeout) or until `init` fails.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), InitFailed> {
        let address = self.local_addr();
        // Logged before `listening`: whoever waits for that line (the tests) has this one too.
        match self.grpc_addr() {
            Some(address) => tracing::info!(%address, "listening for gRPC"),
            None => tracing::info!("gRPC off (AML_SCORER_GRPC_PORT=off)"),
        }
        let Application {
            listener,
            grpc_listener,
            config,
        } = self;
        tracing::info!(%address, "listening");
        tracing::info!(?config, "configuration");
        // The runtime's worker threads and the scoring slots both follow this count, which
        // honours the container's CPU quota (cgroup `cpu.max`, as Azure ML and Kubernetes set it).
        tracing::info!(
            threads = std::thread::available_parallelism().map_or(1, usize::from),
            cpu_quota = crate::cgroup::cpu_quota(),
            "cores"
        );
        let metrics = Arc::new(Metrics::default());
        tracing::info!(
            bytes = config.api.inflight.bytes,
            chosen_by = %config.api.inflight.chosen_by,
            "in-flight memory budget"
        );
        match &config.api.cors {
            Some(origins) => tracing::info!(%origins, "CORS on"),
            None => tracing::info!("CORS off (AML_CORS_ORIGINS not set)"),
        }
        // Its settings were checked with the configuration; what the exporters read themselves
        // (OTEL_EXPORTER_OTLP_HEADERS, ...) is checked here, and stops the start as any setting.
        let request_tracing = match RequestTracing::start(&config.traces, &metrics) {
            Ok(request_tracing) => request_tracing.map(Arc::new),
            Err(error) => {
                tracing::error!(error = format!("{error:#}"), "cannot start request telemetry");
                return Err(InitFailed::Setting);
            }
        };
        let collector = crate::collect::Collector::start(config.collect.clone(), metrics.clone());
        let state = api::AppState::new(config.api, &config.model.name, metrics.clone())
            .with_request_tracing(request_tracing.clone());
        let readiness = state.readiness.clone();
        let access = state.access.clone();
        let summaries = tokio::spawn(access.clone().report_periodically());

        // One token means "stop": readiness turns 503, the listener closes, requests drain.
        let stopping = CancellationToken::new();
        let graceful = {
            let (stopping, readiness) = (stopping.clone(), readiness.clone());
            async move {
                stopping.cancelled().await;
                readiness.mark_stopping();
            }
        };
        let server = {
            let stop = CancellationToken::new();
            let grpc = grpc_listener.map(|listener| {
                // A call may take its body's time and then the scoring's; its response may then
                // stall up to the send timeout.
                let call_deadline = state.body.timeout + config.scoring.timeout;
                serve::Grpc {
                    listener,
                    service: grpc::service(state.clone(), state.body.max_bytes, call_deadline),
                    busy_bound: call_deadline + config.connections.send_timeout,
                }
            });
            let serving = serve::serve(
                listener,
                api::router(state),
                grpc,
                config.connections,
                stop.clone(),
            );
            async move {
                tokio::join!(serving, async move {
                    graceful.await;
                    stop.cancel();
                });
            }
        };
        let init = async {
            let sink = collector.clone().map(|c| c as Arc<dyn crate::model::Collect>);
            let ready = |scorer: crate::model::Scorer| readiness.start_scoring(scorer.with_collection(sink));
            match init::run(
                &config.model,
                config.scoring,
                config.startup_blob.as_ref(),
                metrics,
                ready,
            )
            .await
            {
                // Done: keep serving until the server itself stops.
                Ok(()) => std::future::pending().await,
                Err(failed) => failed,
            }
        };
        let drain_bound = config.scoring.timeout + Duration::from_secs(1);
        let drain_deadline = async {
            shutdown.await;
            stopping.cancel();
            tokio::time::sleep(drain_bound).await;
        };

        // Each branch means "stop", for its own reason.
        let stopped = tokio::select! {
            () = server => {
                tracing::info!("stopped");
                Ok(())
            }
            failed = init => Err(failed),
            () = drain_deadline => {
                tracing::warn!(bound_ms = drain_bound.as_millis() as u64, "in-flight requests did not finish in time; stopping anyway");
                Ok(())
            }
        };
        // The last, partial window's summary: what was served since the previous line.
        summaries.abort();
        access.summary.report();
        if let Some(collector) = collector {
            collector.flush(COLLECTION_FLUSH_BOUND).await;
        }
        if let Some(request_tracing) = request_tracing {
            // Bounded (FLUSH_BOUND); blocking, and the exporters send on this runtime's workers.
            let _ = tokio::task::spawn_blocking(move || request_tracing.shutdown()).await;
        }
        stopped
    }
}
