//! `aml-scorer`: parse and validate the configuration, start logging, run the application until
//! it stops.

use std::process::ExitCode;

use aml_scorer::{
    api,
    config::{Cli, Config, Host},
    memory, probe, shutdown,
    startup::{Application, InitFailed},
    telemetry,
};
use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The Azure ML inference server exits 3 when `init` fails; so do we.
const EXIT_INIT_FAILED: u8 = 3;
/// Invalid settings exit like clap's own usage errors.
const EXIT_BAD_CONFIG: u8 = 2;

fn main() -> ExitCode {
    memory::keep_freed_pages();
    let cli = Cli::parse();
    if cli.probe {
        return if probe::is_ready(cli.port) {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    let config = match cli.validate(&Host::read()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("aml-scorer: {error}");
            return ExitCode::from(EXIT_BAD_CONFIG);
        }
    };
    telemetry::init(&config.log, api::ACCESS_LOG_TARGET);
    let exit = run(config);
    // Log lines are written by a thread of their own: the last ones (why init failed, say)
    // must be out before the process ends.
    telemetry::flush();
    exit
}

/// Runs the server until it stops; the exit code says why.
fn run(config: Config) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("aml-scorer: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let app = match Application::bind(config).await {
            Ok(app) => app,
            Err(error) => {
                tracing::error!(error = format!("{error:#}"), "cannot start");
                return ExitCode::FAILURE;
            }
        };
        match app.run_until_stopped(shutdown::signal()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(InitFailed::Step) => ExitCode::from(EXIT_INIT_FAILED),
            Err(InitFailed::Setting) => ExitCode::from(EXIT_BAD_CONFIG),
        }
    })
}
