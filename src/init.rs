//! `init`, top to bottom: load the model, then (when storage is configured) get a managed-identity
//! token and read the blob. Each step is timed; a failure logs one line naming the step, the
//! target and the cause, and ends `init` (the process then exits 3).

use std::{sync::Arc, time::Instant};

use crate::{
    api::Readiness,
    azure,
    config::Config,
    model::{BatchingPredictor, OnnxModel, Predictor},
    telemetry::Metrics,
};

/// `init` failed at a step; already logged.
#[derive(Debug)]
pub struct StepFailed;

/// Runs every step and marks the server ready.
pub async fn run(config: Config, readiness: Arc<Readiness>, metrics: Arc<Metrics>) -> Result<(), StepFailed> {
    let started = Instant::now();
    let model_path = config.model_path.clone();
    let target = model_path.display().to_string();
    let step = Instant::now();
    let loaded = tokio::task::spawn_blocking(move || OnnxModel::load(&model_path))
        .await
        .map_err(|e| fail("model", &target, &e))?
        .map_err(|e| fail("model", &target, &e))?;
    metrics.init_step("model", step.elapsed());
    let model_ms = ms(step);
    tracing::info!(step = "model", path = %target, input = loaded.input_shape(), output = loaded.output_shape(), ms = model_ms, "model loaded");
    let input = loaded.input();
    let (input_shape, output_shape) = (loaded.input_shape().to_owned(), loaded.output_shape().to_owned());
    let predictor: Arc<dyn Predictor> = Arc::new(loaded);
    let predictor: Arc<dyn Predictor> = match config.batching {
        None => predictor,
        Some((max_rows, wait)) => {
            let workers = std::thread::available_parallelism().map_or(1, usize::from);
            tracing::info!(
                max_rows,
                wait_us = wait.as_micros() as u64,
                workers,
                "dynamic batching on"
            );
            Arc::new(BatchingPredictor::start(predictor, max_rows, wait, workers))
        }
    };
    readiness.set_predictor(predictor);

    let step = Instant::now();
    let blob_ms = match &config.blob {
        None => {
            tracing::info!(
                step = "blob",
                reason = "STORAGE_ACCOUNT_NAME, STORAGE_CONTAINER_NAME and FILE_NAME are not set",
                "blob step skipped"
            );
            None
        }
        Some(target) => {
            let described = format!(
                "{}/{}/{} at {}",
                target.account, target.container, target.blob, target.endpoint
            );
            azure::read_startup_blob(&config, target, &metrics)
                .await
                .map_err(|e| fail(e.step(), &described, &e))?;
            Some(ms(step))
        }
    };
    readiness.mark_ready();
    tracing::info!(
        input = %input_shape,
        output = %output_shape,
        input_width = input.width,
        input_type = %input.element,
        model_ms,
        blob_ms,
        total_ms = ms(started),
        "ready"
    );
    Ok(())
}

fn ms(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0
}

fn fail(step: &str, target: &str, cause: &dyn std::fmt::Display) -> StepFailed {
    // One line with everything a user needs: which step, on what, and why.
    tracing::error!(
        step,
        subject = target,
        "init failed at step {step} ({target}): {cause}"
    );
    StepFailed
}
